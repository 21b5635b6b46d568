"""More than one machine: ingest on a (local) Ray cluster, a real Chroma server on
loopback, chapters from a served VLM with a bounded number of requests in flight.

Ray is kept small (2 CPUs, no dashboard, a 100 MB object store) and shut down at
the end of the module; every Chroma server is a real `chroma run` on a free port.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from media import LECTURE, make_lecture
from typer.testing import CliRunner

from index.library import TEXT_KINDS  # the kinds that get text vectors (windows too)
from ui.cli import app

runner = CliRunner()


def vidqa(*args: str, code: int = 0):
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=100 * 1024**2,
        log_to_driver=False,
        logging_level="warning",
    )
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def lectures(tmp_path_factory):
    """Three short narrated slide lectures (different content) with sidecar subtitles."""
    if not (shutil.which("ffmpeg") and shutil.which("espeak-ng")):
        pytest.skip("needs ffmpeg and espeak-ng to generate test media")
    root = tmp_path_factory.mktemp("lectures")
    parts = (LECTURE[0:3], LECTURE[3:6], LECTURE[6:8])
    return [
        make_lecture(root / f"talk{i}", part, with_srt=True, stem=f"talk{i}")
        for i, part in enumerate(parts)
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chroma_executable() -> str:
    local = Path(sys.executable).with_name("chroma")
    found = str(local) if local.exists() else shutil.which("chroma")
    if not found:
        pytest.skip("the chroma CLI (chromadb package) is not installed")
    return found


def _start_chroma(path: Path):
    """A real `chroma run` on loopback: (URL, process); waits for its heartbeat."""
    import httpx

    port = _free_port()
    proc = subprocess.Popen(
        [
            _chroma_executable(),
            "run",
            "--path",
            str(path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                return url, proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.25)
    _stop(proc)
    pytest.fail(f"chroma run did not come up on {url}")


def _stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def chroma_server(tmp_path):
    url, proc = _start_chroma(tmp_path / "chroma-server")
    try:
        yield url
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def server_library(lectures, tmp_path_factory):
    """A Chroma server and a VIDQA_HOME (catalog) with the first lecture ingested through
    the CLI against it; shared by the read-only tests below."""
    root = tmp_path_factory.mktemp("server-library")
    url, proc = _start_chroma(root / "chroma-server")
    home = root / "home"
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("VIDQA_HOME", str(home))
            mp.setenv("VIDQA_CHROMA_URL", url)
            report = json.loads(vidqa("ingest", str(lectures[0]), "--json").stdout)
        assert [r["status"] for r in report["results"]] == ["ingested"]
        yield home, url
    finally:
        _stop(proc)


# --- helpers -------------------------------------------------------------------------------


def _library():
    from index.library import Library

    return Library()


def _embedded_spans(library) -> int:
    return sum(
        1 for v in library.videos() for s in library.spans(v.id, TEXT_KINDS) if s.text.strip()
    )


def _server_vectors(url: str, library) -> int:
    """Vectors the Chroma server holds in the library's namespace, over every collection."""
    import chromadb

    from index.vectors import namespace

    host, port = url.removeprefix("http://").split(":")
    client = chromadb.HttpClient(
        host=host, port=int(port), database=namespace(library.catalog.library_id())
    )
    return sum(c.count() for c in client.list_collections())


def _counts(library) -> dict[str, dict[str, int]]:
    return {v.id: library.catalog.counts(v.id) for v in library.videos()}


def _our_processes(title: str) -> list[int]:
    """Pids of processes titled `title` (Ray names a worker after its task) that descend
    from this test process, so another Ray on the machine is never touched."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")[0].decode()
        except OSError:
            continue
        if cmdline.startswith(title) and _descends_from(int(entry.name), os.getpid()):
            found.append(int(entry.name))
    return found


def _descends_from(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])  # field 4: the parent's pid
    return False


# --- Ray ingest ----------------------------------------------------------------------------


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(
    ray_cluster, lectures, chroma_server, monkeypatch, tmp_path
):
    """Three files on two Ray workers into a Chroma server; the worker reading frames is
    SIGKILLed once mid-task. Ray re-runs the task, the driver writes each video once."""
    from index.library import Library
    from ingest.pipeline import ClusterOptions, ingest
    from vidqa.settings import settings

    monkeypatch.setenv("VIDQA_CHROMA_URL", chroma_server)
    killed: list[int] = []
    stages: set[tuple[str, str]] = set()

    def progress(path: str, stage: str, done: float, total: float) -> None:
        stages.add((Path(path).name, stage))
        if stage == "frames" and not killed:
            for pid in _our_processes("ray::frames"):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                break

    library = Library()
    report = ingest(lectures, library=library, progress=progress, cluster=ClusterOptions(workers=2))
    assert killed, "no frames task was caught running"
    assert [r.status for r in report.results] == ["ingested"] * 3, report.results
    assert {r.path for r in report.results} == {str(p) for p in lectures}
    # every file exactly once, every text span's vector on the server, nothing extra
    assert len(library.videos()) == 3
    assert (
        library.text_vectors.count()
        == _embedded_spans(library)
        == _server_vectors(chroma_server, library)
    )
    assert not settings().chroma_path.exists()  # the vectors went to the server, not a local store
    # each video holds what an in-process ingest of the same file gives
    local = Library(replace(settings(), home=tmp_path / "local", chroma_url=None))
    ingest(lectures, library=local)
    assert _counts(library) == _counts(local)
    for video in library.videos():
        for span in library.spans(video.id, ("frame",)):
            assert (settings().home / span.extra["thumb"]).is_file()
    # the cluster reported each file's stages
    for path in lectures:
        assert {stage for name, stage in stages if name == path.name} >= {
            "probe",
            "transcript",
            "frames",
            "chapters",
            "embedding",
            "index",
            "done",
        }


def test_cli_workers_2_ingests_and_reingest_is_unchanged(ray_cluster, lectures, monkeypatch):
    """The workers compute every vector and SPLADE row the write stores: the driver, the one
    writer, embeds nothing (it embedded the windows and SPLADE's rows of every video)."""
    from models.sparse_embed import SparseEmbedder
    from models.text_embed import TextEmbedder

    on_driver: list[str] = []
    for cls in (TextEmbedder, SparseEmbedder):

        def counted(self, texts, *args, _real=cls.embed, **kwargs):
            on_driver.extend(texts)
            return _real(self, texts, *args, **kwargs)

        monkeypatch.setattr(cls, "embed", counted)
    first = json.loads(vidqa("ingest", *map(str, lectures[:2]), "--workers", "2", "--json").stdout)
    assert [r["status"] for r in first["results"]] == ["ingested", "ingested"]
    assert on_driver == []
    library = _library()
    for video in library.videos():  # every re-scored text's vector and SPLADE row is stored
        want, stored = library.sentence_vector_counts(video.id)
        assert want == stored > 0
    assert library.sparse is not None  # SPLADE's rows were among them
    again = json.loads(vidqa("ingest", *map(str, lectures[:2]), "--workers", "2", "--json").stdout)
    assert [r["status"] for r in again["results"]] == ["unchanged", "unchanged"]
    library = _library()
    assert len(library.videos()) == 2
    assert library.text_vectors.count() == _embedded_spans(library)


def test_a_bad_file_fails_alone_on_the_cluster(ray_cluster, lectures, broken_files):
    result = vidqa(
        "ingest",
        str(broken_files["not_media"]),
        str(lectures[2]),
        "--workers",
        "2",
        "--json",
        code=1,
    )
    report = json.loads(result.stdout)
    statuses = {Path(r["path"]).name: r["status"] for r in report["results"]}
    assert statuses == {broken_files["not_media"].name: "failed", lectures[2].name: "ingested"}
    (error,) = [r["error"] for r in report["results"] if r["error"]]
    assert str(broken_files["not_media"]) in error and "\n" not in error
    assert len(_library().videos()) == 1


def test_workers_without_ray_installed_is_one_line(lectures, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ModuleNotFoundError
    result = vidqa("ingest", str(lectures[0]), "--workers", "2", code=1)
    assert (
        "Error: --workers above 1 and --ray need Ray: pip install 'vidqa[scale]'" in result.output
    )
    assert "Traceback" not in result.output


# --- a served VLM writes the chapters --------------------------------------------------------

CHAPTER_REPLY = json.dumps(
    {
        "chapters": [
            {
                "start": 0,
                "end": 1e6,
                "title": "The whole talk",
                "summary": "A short narrated lecture.",
                "key_points": ["one slide a topic"],
                "keywords": ["lecture"],
            }
        ],
        "summary": "Three slides, each on its own topic.",
        "assessment": "Clear and short.",
    }
)


def test_served_vlm_chapters_keep_requests_in_flight_bounded(ray_cluster, lectures, openai_server):
    from ingest.pipeline import ClusterOptions, IngestOptions, ingest

    url, server = openai_server
    server.default, server.delay = CHAPTER_REPLY, 1.0  # each request keeps the server busy 1 s
    report = ingest(
        lectures,
        options=IngestOptions(vlm=f"openai:{url}", frames=False),
        cluster=ClusterOptions(workers=2, vlm_concurrency=1),
    )
    assert [r.status for r in report.results] == ["ingested"] * 3, report.results
    chat = [r for r in server.requests if r[0] == "POST"]
    assert len(chat) == 3 and server.max_in_flight == 1
    library = _library()
    for video in library.videos():
        summary = library.summary(video.id)
        assert summary.source == "vlm:Qwen3-VL-8B-Instruct"
        assert summary.chapters[0].title == "The whole talk"
        assert summary.chapters[-1].end == pytest.approx(video.duration)


# --- a Chroma server behind every command ----------------------------------------------------


def test_search_and_ask_answer_from_the_chroma_server(server_library, monkeypatch):
    home, url = server_library
    monkeypatch.setenv("VIDQA_HOME", str(home))
    monkeypatch.setenv("VIDQA_CHROMA_URL", url)
    hits = json.loads(vidqa("search", "photosynthesis chloroplasts", "--json").stdout)
    assert "chloroplasts" in hits[0]["text"].lower()
    answer = json.loads(vidqa("ask", "what turns sunlight into glucose?", "--json").stdout)
    assert any("glucose" in c["text"].lower() for c in answer["citations"])
    assert not (home / "chroma").exists()  # nothing fell back to an embedded store
    library = _library()
    assert library.text_vectors.count() == _embedded_spans(library) == _server_vectors(url, library)


def test_the_app_searches_the_chroma_server(server_library, monkeypatch):
    from streamlit.testing.v1 import AppTest

    home, url = server_library
    monkeypatch.setenv("VIDQA_HOME", str(home))
    monkeypatch.setenv("VIDQA_CHROMA_URL", url)

    def search_page():
        from ui.app_pages import search

        search.render()

    at = AppTest.from_function(search_page, default_timeout=60).run()
    at.text_input(key="search_query").input("storming the Bastille in Paris").run()
    assert not at.exception
    assert "**talk0** ·" in "\n".join(m.value for m in at.markdown)
    assert "Bastille" in at.caption[0].value  # the best hit, read back from the server


def test_cluster_view_shows_stages_in_flight_per_file_and_files_per_stage():
    from ui.progress import ClusterView

    view = ClusterView()
    view.update("a.mp4", "probe", 1, 1)
    view.update("a.mp4", "transcript", 30, 120)
    view.update("a.mp4", "frames", 90, 120)
    view.update("b.mp4", "probe", 0, 1)
    assert view.running("a.mp4") == "transcript 25% · frames 75%"
    assert view.running("b.mp4") == "probe 0%"
    assert view.stage_counts()["probe"] == 1 and view.stage_counts()["transcript"] == 0
    view.update("a.mp4", "done", 1, 1)
    assert view.running("a.mp4") == "done" and view.file_fraction("a.mp4") == 1.0


class _FakeRay:
    """What chapter_placement reads of a cluster: its resources."""

    def __init__(self, **resources):
        self.resources = resources

    def cluster_resources(self):
        return self.resources


@pytest.mark.parametrize(
    ("vlm", "resources", "placed", "limit"),
    [
        ("openai:http://gpu-box:8000/v1", {"CPU": 64, "GPU": 8}, {"num_cpus": 0.25}, 3),
        ("qwen3-vl-2b", {"CPU": 64, "GPU": 8}, {"num_cpus": 1, "num_gpus": 1}, float("inf")),
        ("auto", {"CPU": 64, "GPU": 1}, {"num_cpus": 1, "num_gpus": 1}, float("inf")),
        ("auto", {"CPU": 64}, {"num_cpus": 1}, float("inf")),
        ("none", {"CPU": 64, "GPU": 8}, {"num_cpus": 1}, float("inf")),
    ],
)
def test_chapters_go_to_gpus_or_to_the_served_model_with_a_bound(vlm, resources, placed, limit):
    from ingest.cluster import chapter_placement
    from ingest.pipeline import ClusterOptions, IngestOptions

    got = chapter_placement(
        _FakeRay(**resources), IngestOptions(vlm=vlm), ClusterOptions(workers=4, vlm_concurrency=3)
    )
    assert got == (placed, limit)

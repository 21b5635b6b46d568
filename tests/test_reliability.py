"""Nothing lost: kill -9 at every step of ingest, replace and remove; two writers; readers
during writes; a Chroma server killed and restarted. After each: every video is visible
exactly once, searchable by words and by vectors, and catalog and vector counts agree.

Children are real `vidqa` processes (tests/crash_child.py) that SIGKILL themselves at a
named point of the real code path; embeddings come from tests/hash_embed.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import hash_embed
import pytest
from typer.testing import CliRunner

from index.library import TEXT_KINDS, Library
from ui.cli import app
from vidqa.settings import settings

pytestmark = pytest.mark.slow

CHILD = Path(__file__).with_name("crash_child.py")
REPO = Path(__file__).resolve().parents[1]
FAST = ("--no-frames", "--vlm", "none")
PHRASE = "molten magma lava"  # words of one lecture sentence (STEP 4)
WAIT_S = 120  # s, longest any child may run
runner = CliRunner()


@pytest.fixture(autouse=True)
def _hash_embeddings(monkeypatch):
    hash_embed.install(monkeypatch)


def _env(home: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "VIDQA_CHROMA_URL"}
    return {**env, "VIDQA_HOME": str(home), "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", **extra}


def _spawn(home: Path, points: list[str], *args: str, **env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(CHILD), *points, "--", *args],
        env=_env(home, **env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=WAIT_S)
    return proc.returncode, out, err


def _library(home: Path) -> Library:
    return Library(replace(settings(), home=home))


def _vidqa(home: Path, *args: str, code: int = 0):
    os.environ["VIDQA_HOME"] = str(home)  # the autouse fixture restores it
    result = runner.invoke(app, list(args), catch_exceptions=False)
    _forget_chroma_clients()  # like the process exiting: later reads open fresh clients
    assert result.exit_code == code, (args, result.stdout, result.stderr)
    return result


def _forget_chroma_clients() -> None:
    """Embedded Chroma shares one in-memory index per path within a process; a command
    run in-process leaves it open, and it would never see what a child process wrote."""
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


def assert_whole(home: Path, titles: list[str]) -> None:
    """Each title visible exactly once, complete, searchable by words and by vector."""
    lib = _library(home)
    try:
        videos = lib.videos()
        assert sorted(v.title for v in videos) == sorted(titles)
        for video in videos:
            spans = lib.spans(video.id, TEXT_KINDS)
            assert spans and len({(s.kind, s.start, s.end) for s in spans}) == len(spans)
            assert lib.missing_vectors(video.id) == {}
            hits = [
                h
                for h in lib.search(PHRASE, kinds=("transcript",), k=50)
                if h.span.video_id == video.id
            ]
            assert hits and {"dense", "keyword"} <= set(hits[0].matched), hits
    finally:
        lib.close()


def assert_clean(home: Path) -> None:
    """After `doctor --repair`: no findings, and every vector has exactly one catalog row."""
    _vidqa(home, "doctor", "--repair")
    report = json.loads(_vidqa(home, "doctor", "--json").stdout)
    assert report["healthy"] and report["findings"] == [], report
    lib = _library(home)
    try:
        texts = [s for v in lib.videos() for s in lib.spans(v.id, TEXT_KINDS) if s.text.strip()]
        assert lib.text_vectors.count() == len(texts)
    finally:
        lib.close()


@pytest.fixture(scope="module")
def base_home(lecture_with_srt, tmp_path_factory):
    """A library holding the srt lecture, ingested once; tests copy it."""
    home = tmp_path_factory.mktemp("reliability-base")
    with pytest.MonkeyPatch.context() as mp:
        hash_embed.install(mp)
        mp.setenv("VIDQA_HOME", str(home))
        result = runner.invoke(
            app, ["ingest", str(lecture_with_srt), *FAST, "--json"], catch_exceptions=False
        )
    assert result.exit_code == 0, result.output
    return home


def _copy(base: Path, to: Path) -> Path:
    shutil.copytree(base, to)
    return to


# -- kill -9 at every step -----------------------------------------------------------------

FORCE_POINTS = [
    ["stage:probe"],
    ["stage:transcript"],
    ["stage:spans"],
    ["stage:chapters"],
    ["stage:index"],
    ["after:Catalog.stage"],  # new spans staged, no vectors yet
    ["after:Library._embed_spans"],  # new vectors written, not flipped
    ["after:Catalog.flip"],  # flipped, old generation not yet deleted
    ["after:VectorStore.delete"],  # old vectors deleted, old rows not
]


def test_kill_during_force_reingest_keeps_exactly_one_ready_version(
    base_home, lecture_with_srt, tmp_path
):
    # every crash runs at once, each in its own copy of the library
    runs = []
    for n, points in enumerate(FORCE_POINTS):
        home = _copy(base_home, tmp_path / f"force-{n}")
        runs.append(
            (points, home, _spawn(home, points, "ingest", str(lecture_with_srt), "--force", *FAST))
        )
    frames_home = _copy(base_home, tmp_path / "frames")  # the frames stage needs frames on
    runs.append(
        (
            ["stage:frames"],
            frames_home,
            _spawn(
                frames_home,
                ["stage:frames"],
                "ingest",
                str(lecture_with_srt),
                "--force",
                "--vlm",
                "none",
            ),
        )
    )
    for points, home, proc in runs:
        code, _, err = _finish(proc)
        assert code == -signal.SIGKILL, (points, err)
        assert_whole(home, ["lecture"])
    for points, home, _ in runs:
        report = json.loads(_vidqa(home, "ingest", str(lecture_with_srt), *FAST, "--json").stdout)
        assert report["results"][0]["status"] == "unchanged", (points, report)
        assert_clean(home)
        assert_whole(home, ["lecture"])


def test_kill_during_remove_never_leaves_a_ready_video_without_vectors(
    base_home, lecture_with_srt, tmp_path
):
    lib = _library(base_home)
    video_id = lib.videos()[0].id
    lib.close()
    runs = []
    for n, points in enumerate([["after:Catalog.set_status"], ["after:VectorStore.delete"]]):
        home = _copy(base_home, tmp_path / f"remove-{n}")
        runs.append((points, home, _spawn(home, points, "remove", video_id[:8], "--yes")))
    for points, home, proc in runs:
        code, _, err = _finish(proc)
        assert code == -signal.SIGKILL, (points, err)
        assert json.loads(_vidqa(home, "list", "--json").stdout) == []  # gone for readers
        assert json.loads(_vidqa(home, "search", "lava", "--json").stdout) == []
        report = json.loads(_vidqa(home, "ingest", str(lecture_with_srt), *FAST, "--json").stdout)
        assert report["results"][0]["status"] == "ingested", (points, report)  # not "unchanged"
        assert_whole(home, ["lecture"])
        assert_clean(home)


def test_a_ready_video_missing_vectors_is_repaired_not_unchanged(
    base_home, lecture_with_srt, tmp_path
):
    home = _copy(base_home, tmp_path / "lost")
    lib = _library(home)
    video = lib.videos()[0]
    lib.text_vectors.delete([s.id for s in lib.spans(video.id, TEXT_KINDS)][:3])  # lost writes
    lib.close()
    report = json.loads(_vidqa(home, "doctor", "--json", code=1).stdout)
    assert [f["problem"] for f in report["findings"]] == ["missing_vectors"]
    _vidqa(home, "doctor", "--repair")
    assert_whole(home, ["lecture"])
    lib = _library(home)
    lib.text_vectors.delete([s.id for s in lib.spans(video.id, TEXT_KINDS)][:3])
    lib.close()
    result = _vidqa(home, "ingest", str(lecture_with_srt), *FAST, "--json")
    (row,) = json.loads(result.stdout)["results"]
    assert row["status"] == "ingested" and "incomplete" in " ".join(row["notes"])
    assert_whole(home, ["lecture"])
    assert_clean(home)


def test_kill_between_new_version_and_old_removal_of_a_changed_file(
    base_home, lecture_with_srt, tmp_path
):
    home = _copy(base_home, tmp_path / "changed")
    media = tmp_path / "media"
    media.mkdir()
    target = media / "lecture.mp4"
    shutil.copy(lecture_with_srt, target)
    shutil.copy(lecture_with_srt.with_suffix(".srt"), media / "lecture.srt")
    _vidqa(home, "ingest", str(target), *FAST)
    with open(target, "ab") as f:  # new content at the same path
        f.write(b"\0" * 4096)
    # two titles "lecture": the base's (another path) and this one; after the change, still two
    code, _, err = _finish(_spawn(home, ["after:Catalog.flip"], "ingest", str(target), *FAST))
    assert code == -signal.SIGKILL, err
    assert_whole(home, ["lecture", "lecture"])
    report = json.loads(_vidqa(home, "ingest", str(target), *FAST, "--json").stdout)
    assert report["results"][0]["status"] == "unchanged"
    assert_clean(home)
    assert_whole(home, ["lecture", "lecture"])


def _wait_paused(proc: subprocess.Popen, crash_dir: Path) -> None:
    while not (crash_dir / "paused").exists() and proc.poll() is None:
        time.sleep(0.05)  # polling for the child's handshake, not a timed guess
    assert proc.poll() is None, _finish(proc)


def test_re_adding_a_file_while_its_removal_runs_keeps_it(base_home, lecture_with_srt, tmp_path):
    """The app's remove-then-re-add: the ingest must not see the video as 'unchanged' and
    then lose it to the removal that was still running."""
    home = _copy(base_home, tmp_path / "readd")
    lib = _library(home)
    video_id = lib.videos()[0].id
    lib.close()
    removing, adding = tmp_path / "removing", tmp_path / "adding"
    removing.mkdir(), adding.mkdir()
    remover = _spawn(
        home, ["pause:Catalog.set_status"], "remove", video_id, "--yes", CRASH_DIR=str(removing)
    )
    _wait_paused(remover, removing)  # marked 'removing', nothing deleted yet
    adder = _spawn(
        home,
        ["pausestage:transcript"],
        "ingest",
        str(lecture_with_srt),
        *FAST,
        "--json",
        CRASH_DIR=str(adding),
    )
    _wait_paused(adder, adding)  # it looked the video up while the removal was under way
    (adding / "go").touch()
    (removing / "go").touch()
    assert _finish(remover)[0] == 0
    code, out, err = _finish(adder)
    assert code == 0, err
    assert json.loads(out)["results"][0]["status"] == "ingested"
    assert_whole(home, ["lecture"])
    assert_clean(home)


# -- two writers, readers during writes --------------------------------------------------


def test_two_writers_at_once_both_land_whole(base_home, lecture_with_srt, tmp_path):
    home = _copy(base_home, tmp_path / "two")
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(lecture_with_srt, other / "second.mp4")
    shutil.copy(lecture_with_srt.with_suffix(".srt"), other / "second.srt")
    with open(other / "second.mp4", "ab") as f:
        f.write(b"\0" * 1024)  # other content, so another video
    a = _spawn(home, [], "ingest", str(lecture_with_srt), "--force", *FAST)
    b = _spawn(home, [], "ingest", str(other / "second.mp4"), *FAST)
    for proc in (a, b):
        code, _, err = _finish(proc)
        assert code == 0, err
    assert_whole(home, ["lecture", "second"])
    assert_clean(home)


def _reader_loop(home: Path, stop: threading.Event, seen: list, problems: list) -> None:
    from ui.app_logic import LibraryReader

    reader = LibraryReader(replace(settings(), home=home))

    def look(lib):
        videos = lib.videos()
        hits = [h for h in lib.search(PHRASE, kinds=("transcript",), k=50)]
        counts = [lib.catalog.counts(v.id).get("transcript", 0) for v in videos]
        return [v.title for v in videos], hits, counts

    while not stop.is_set():
        titles, hits, counts = reader.run(look)
        seen.append(titles)
        if titles != ["lecture"] or not any("dense" in h.matched for h in hits) or not all(counts):
            problems.append((titles, len(hits), counts))


def test_readers_see_exactly_one_version_throughout_a_replace(
    base_home, lecture_with_srt, tmp_path
):
    home = _copy(base_home, tmp_path / "readers")
    stop, seen, problems = threading.Event(), [], []
    thread = threading.Thread(target=_reader_loop, args=(home, stop, seen, problems))
    thread.start()
    try:
        for point in ("pause:Library._embed_spans", "pause:Catalog.flip"):
            crash_dir = tmp_path / point.replace(":", "-")
            crash_dir.mkdir()
            proc = _spawn(
                home,
                [point],
                "ingest",
                str(lecture_with_srt),
                "--force",
                *FAST,
                CRASH_DIR=str(crash_dir),
            )
            _wait_paused(proc, crash_dir)
            before = len(seen)
            while len(seen) < before + 3:  # the loop reads a few times while the writer waits
                time.sleep(0.05)
            (crash_dir / "go").touch()
            code, _, err = _finish(proc)
            assert code == 0, err
    finally:
        stop.set()
        thread.join(WAIT_S)
    assert not problems, problems[:5]
    assert_whole(home, ["lecture"])
    assert_clean(home)


# -- a real Chroma server ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChromaServer:
    """`chroma run` on loopback, started and killed like a user's server."""

    def __init__(self, path: Path):
        self.path, self.port = path, _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> ChromaServer:
        chroma = Path(sys.executable).with_name("chroma")
        if not chroma.exists():
            pytest.skip("the chroma CLI is not installed next to this Python")
        self.proc = subprocess.Popen(
            [
                str(chroma),
                "run",
                "--path",
                str(self.path),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                assert self.proc.poll() is None, "chroma run exited"
                time.sleep(0.1)
        raise AssertionError("chroma run did not start listening")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(WAIT_S)


@pytest.fixture()
def chroma_server(tmp_path):
    server = ChromaServer(tmp_path / "chroma-server").start()
    try:
        yield server
    finally:
        server.kill()


def _one_line_unreachable(result, url: str) -> None:
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert f"cannot reach the Chroma server at {url}" in result.stderr, result.stderr


def test_chroma_server_killed_mid_query_and_mid_ingest_then_restarted(
    chroma_server, lecture_with_srt, tmp_path, monkeypatch
):
    monkeypatch.setenv("VIDQA_CHROMA_URL", chroma_server.url)
    home = tmp_path / "served"
    _vidqa(home, "ingest", str(lecture_with_srt), *FAST)
    assert_whole(home, ["lecture"])
    video_id = json.loads(_vidqa(home, "list", "--json").stdout)[0]["id"]

    chroma_server.kill()  # mid-query: every command that needs vectors says so in one line
    for args in (
        ["search", "lava"],
        ["ask", "how do volcanoes erupt?"],
        ["doctor"],
        ["remove", video_id[:8], "--yes"],
    ):
        _one_line_unreachable(_vidqa(home, *args, code=1), chroma_server.url)
    assert [v["id"] for v in json.loads(_vidqa(home, "list", "--json").stdout)] == [video_id]

    chroma_server.start()
    other = tmp_path / "batch"
    other.mkdir()
    for name in ("one", "two"):
        shutil.copy(lecture_with_srt, other / f"{name}.mp4")
        shutil.copy(lecture_with_srt.with_suffix(".srt"), other / f"{name}.srt")
        with open(other / f"{name}.mp4", "ab") as f:
            f.write(name.encode() * 100)  # distinct content
    # the server dies mid-ingest (after the first file's spans are staged): each file fails
    # with the one-line error, the batch goes on, --json still reports
    proc = _spawn(
        home,
        ["stopserver:Catalog.stage"],
        "ingest",
        str(other),
        *FAST,
        "--json",
        VIDQA_CHROMA_URL=chroma_server.url,
        CHROMA_PID=str(chroma_server.proc.pid),
    )
    code, out, err = _finish(proc)
    assert code == 1, err
    report = json.loads(out)
    assert report["failed"] == 2 and report["total"] == 2
    for row in report["results"]:
        assert f"cannot reach the Chroma server at {chroma_server.url}" in row["error"]
    chroma_server.proc.wait(WAIT_S)
    chroma_server.start()  # restarted on the same data
    assert_whole(home, ["lecture"])
    _vidqa(home, "ingest", str(other), *FAST)
    assert_whole(home, ["lecture", "one", "two"])
    assert_clean(home)


def test_two_libraries_on_one_server_never_share_vectors(
    chroma_server, lecture_with_srt, tmp_path, monkeypatch
):
    monkeypatch.setenv("VIDQA_CHROMA_URL", chroma_server.url)
    homes = [tmp_path / "alice", tmp_path / "bob"]
    for home in homes:  # the same file: the same content id in both libraries
        _vidqa(home, "ingest", str(lecture_with_srt), *FAST)
    video_id = json.loads(_vidqa(homes[0], "list", "--json").stdout)[0]["id"]
    _vidqa(homes[0], "remove", video_id, "--yes")
    assert json.loads(_vidqa(homes[0], "list", "--json").stdout) == []
    assert_whole(homes[1], ["lecture"])  # bob's vectors are all still there
    assert_clean(homes[1])

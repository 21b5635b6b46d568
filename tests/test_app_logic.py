"""The app's plain logic: names, containment, playback decisions, chips, grouping, jobs, and
reading the library while another process ingests into it."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index.records import Chapter, Hit, Span, Video, VideoSummary
from ingest.chapters import chapter_spans
from ui import app_logic as logic
from ui import render
from vidqa.settings import settings


@pytest.fixture(scope="session")
def library_home(tmp_path_factory, lecture_with_srt):
    """A library holding the lecture (transcript from its .srt, so no ASR is needed).

    Shared with test_app.py; tests that write to it work on a copy."""
    from index.library import Library
    from ingest.pipeline import IngestOptions, ingest

    home = tmp_path_factory.mktemp("logic-home")
    with pytest.MonkeyPatch.context() as mp:
        for name, value in (
            ("VIDQA_HOME", str(home)),
            ("HF_HUB_OFFLINE", "1"),
            ("TRANSFORMERS_OFFLINE", "1"),
            ("VIDQA_DEVICE", "cpu"),
        ):
            mp.setenv(name, value)
        library = Library()
        report = ingest(
            [lecture_with_srt], library=library, options=IngestOptions(vlm="none", frames=False)
        )
        library.close()
    assert [r.status for r in report.results] == ["ingested"], report.results[0].error
    return home


def _video(path: Path | None, **kw) -> Video:
    base = dict(
        id="abc123",
        path=str(path) if path else None,
        title="Intro talk",
        duration=58.0,
        has_video=True,
        status="ready",
    )
    return Video(**{**base, **kw})


# ---------------------------------------------------------------- names and paths


@pytest.mark.parametrize(
    "name, expected",
    [
        ("talk.mp4", "talk.mp4"),
        ("../../etc/passwd.mp4", "passwd.mp4"),
        ("C:\\Users\\me\\Lecture 1.MKV", "Lecture_1.mkv"),
        ("..hidden.mp4", "hidden.mp4"),
        (".mp4", "upload.mp4"),
        ("a;rm -rf ~;.mp3", "a_rm_-rf.mp3"),
        ("讲座 第一课.mp4", "讲座_第一课.mp4"),
        ("x\x00y\n.webm", "xy.webm"),
    ],
)
def test_safe_upload_name(name, expected):
    assert logic.safe_upload_name(name) == expected


@pytest.mark.parametrize("name", ["notes.txt", "video", "evil.mp4.sh", "../"])
def test_safe_upload_name_rejects_non_media(name):
    with pytest.raises(ValueError, match="not a media file name"):
        logic.safe_upload_name(name)


def test_long_names_are_cut_and_keep_their_extension():
    name = logic.safe_upload_name("a" * 500 + ".mp4")
    assert len(name) == logic.MAX_NAME_CHARS and name.endswith(".mp4")


def test_save_upload_stays_in_media_dir_and_never_overwrites(tmp_path):
    cfg = settings()
    first = logic.save_upload("../../x/talk.mp4", 3, io.BytesIO(b"abc"), cfg)
    second = logic.save_upload("talk.mp4", 3, io.BytesIO(b"def"), cfg)
    assert first == cfg.media_dir / "talk.mp4" and second == cfg.media_dir / "talk-1.mp4"
    assert first.read_bytes() == b"abc" and second.read_bytes() == b"def"
    outside = tmp_path / "outside.mp4"
    (cfg.media_dir / "link.mp4").symlink_to(outside)  # a planted link is skipped, not followed
    third = logic.save_upload("link.mp4", 1, io.BytesIO(b"z"), cfg)
    assert third.name == "link-1.mp4" and not outside.exists()
    assert all(logic.is_inside(p, cfg.media_dir) for p in (first, second, third))


def test_path_ingest_only_on_loopback(monkeypatch):
    assert logic.path_ingest_allowed("127.0.0.1") and logic.path_ingest_allowed("localhost")
    assert logic.path_ingest_allowed("::1") and logic.path_ingest_allowed("127.0.0.2")
    assert not logic.path_ingest_allowed("0.0.0.0") and not logic.path_ingest_allowed("10.1.2.3")
    # No address: `streamlit run ui/app.py` bound every interface (it was taken for loopback).
    assert not logic.path_ingest_allowed(None) and not logic.path_ingest_allowed("")
    monkeypatch.setenv("VIDQA_ALLOW_PATH_INGEST", "1")  # a trusted network, said explicitly
    assert logic.path_ingest_allowed(None) and logic.path_ingest_allowed("0.0.0.0")


def test_save_upload_size_limit():
    with pytest.raises(ValueError, match="limit"):
        logic.save_upload("big.mp4", logic.MAX_UPLOAD_MB * 1024 * 1024 + 1, io.BytesIO(b""))
    assert not settings().media_dir.exists() or not any(settings().media_dir.iterdir())


def test_is_inside_resolves_links(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "escape").symlink_to(tmp_path)
    assert logic.is_inside(root / "a.mp4", root)
    assert not logic.is_inside(root / ".." / "a.mp4", root)
    assert not logic.is_inside(root / "escape" / "a.mp4", root)


# ---------------------------------------------------------------- playback


def test_player_window_is_whole_seconds_around_the_span():
    assert logic.player_window(25.4, 39.2, 100.0) == (25, 40)
    assert logic.player_window(57.6, 57.9, 57.8) == (57, 58)
    assert logic.player_window(3.0, 3.0, 10.0) == (3, 4)  # end always after start
    assert logic.player_window(-1.0, None, 10.0) == (0, None)


def test_only_ready_library_media_is_served(lecture, tmp_path):
    assert logic.servable_path(_video(lecture)) == lecture
    assert logic.servable_path(_video(lecture, status="indexing")) is None
    assert logic.servable_path(_video(None)) is None
    assert logic.servable_path(_video(tmp_path / "gone.mp4")) is None
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    assert (
        logic.servable_path(_video(secret)) is None
    )  # not a media file, whatever the catalog says
    # whole seconds for st.video, and the exact cited start for the page to seek to
    assert logic.playback_for(_video(lecture), 25.4, 39.2) == logic.Playback(
        lecture, 25, 40, seek=25.4
    )
    assert logic.playback_for(_video(lecture), 25.0, 39.2).seek is None


def test_large_files_play_as_cached_clips(lecture, monkeypatch):
    monkeypatch.setattr(logic, "INLINE_PLAY_MAX_BYTES", 1000)
    video = _video(lecture)
    playback = logic.playback_for(video, 9.2, 16.0)
    clip = settings().home / "clips" / "abc123" / "9200-16000.mp4"
    assert playback == logic.Playback(clip, 0, None, offset=9.2)
    assert clip.is_file() and logic.is_inside(clip, settings().home)
    mtime = clip.stat().st_mtime_ns
    assert logic.cached_clip(video, 9.2, 16.0) == clip and clip.stat().st_mtime_ns == mtime
    with pytest.raises(ValueError, match="cannot name a folder"):
        logic.clip_path("../x", 0, 1)


def test_thumbnail_prefers_ingest_frames_then_grabs_a_poster(lecture):
    video = _video(lecture)
    poster = logic.thumbnail_for(video, at=20.0)
    assert poster == settings().home / "posters" / "abc123" / "20.jpg" and poster.stat().st_size > 0
    frames = settings().thumbs_dir / "abc123"
    frames.mkdir(parents=True)
    for ms in (1000, 30000):
        (frames / f"{ms}.jpg").write_bytes(b"jpg")
    assert logic.thumbnail_for(video, at=25.0) == frames / "30000.jpg"
    assert logic.thumbnail_for(_video(lecture, has_video=False, id="b")) is None


# ---------------------------------------------------------------- display data


def test_chips_and_grouping():
    assert render.chip_label("Intro talk", 1500.0, 1540.9) == "Intro talk · 25:00–25:40"
    assert render.chip_label("x" * 60, 0, 1).startswith("x" * 39 + "…")
    videos = {"a": _video(None, id="a", title="A"), "b": _video(None, id="b", title="B")}
    hits = [
        Hit(Span("b", 1, 2, "transcript", "one", "srt"), 0.9, ["dense", "keyword"]),
        Hit(Span("a", 3, 4, "ocr", "two  lines\n", "ocr"), 0.8, ["keyword"], ["ocr", "transcript"]),
        Hit(Span("b", 5, 6, "chapter", "three", "transcript"), 0.7, ["dense"]),
        Hit(Span("gone", 5, 6, "chapter", "x", "transcript"), 0.6, ["dense"]),
    ]
    groups = render.group_hits(hits, videos)
    assert [(g.title, [h.when for h in g.hits]) for g in groups] == [
        ("B", ["0:01–0:02", "0:05–0:06"]),
        ("A", ["0:03–0:04"]),
    ]
    assert [h.evidence for h in groups[0].hits] == ["said · dense+keyword", "chapter · dense"]
    assert groups[1].hits[0].text == "two lines"
    assert groups[1].hits[0].evidence == "on screen+said · keyword"


def test_on_screen_text_found_by_search_shows_what_was_said_then():
    slide = Span("a", 44, 56, "ocr", "BAKING", "ocr", {"said": [42.8, 48.5, "Bake it hot."]})
    hit = Hit(slide, 0.8, ["keyword"], ["ocr", "transcript"])
    assert render.hit_view(hit).said == "said then (0:42–0:48): “Bake it hot.”"
    assert render.hit_view(hit, "zh").said == "当时说（0:42–0:48）：“Bake it hot.”"
    row = render.hit_row(hit, "bread", None)
    assert row["said"] == [42.8, 48.5, "Bake it hot."]
    assert render.hit_line(row).splitlines()[1:] == [
        "    BAKING",
        "    said then (0:42–0:48): “Bake it hot.”",
    ]
    plain = Hit(Span("a", 1, 2, "transcript", "one", "srt"), 0.9, ["dense"])
    assert render.hit_view(plain).said is None and "said" not in render.hit_row(plain, "b", None)


def test_a_chapter_reads_the_same_in_the_app_and_in_vidqa_summary():
    chapter = Chapter(300.0, 600.0, "Rocks", "About rocks.", ["granite"], ["rock"], "vlm:x")
    summary = VideoSummary([chapter], "", "", "vlm:x", [(0.0, 600.0)])
    (span,) = chapter_spans(summary, "v")  # what the app reads back from the index
    view = render.chapter_view(render.chapter_of(span))
    assert view == render.chapter_view(chapter)
    assert view["label"] == "5:00–10:00 · Rocks" and view["key_points"] == ["granite"]
    assert "### 1. Rocks (5:00–10:00)" in render.summary_markdown(summary, "Talk")


def test_answer_markdown_and_stream():
    text = "At 0:20:\n[1] costs $5 and $6"
    # brackets are escaped too now: an answer quotes media text, shown literally (issue #10)
    assert logic.answer_markdown(text) == "At 0:20:  \n\\[1\\] costs \\$5 and \\$6"
    assert "".join(logic.stream_chunks(text)) == text


# Markdown, HTML and Streamlit syntax a subtitle, OCR line, summary or title could carry.
HOSTILE = [
    "![x](http://host/x.png)",
    "[click](http://host/a)",
    "<img src=http://host/y.png>",
    "<http://host/b>",
    "http://host/c.png",
    ":red[alert] :material/home: :smile:",
    "**bold** _it_ `code` ~~gone~~",
    "# heading",
    "1. list",
    "- item",
    "$x^2$",
    "&lt;b&gt; <script>alert(1)</script>",
    "a | b\n--|--",
    "see www.host.example",
]
LIVE_MARKDOWN = re.compile(r"(?<!\\)(!\[|\]\(|<[A-Za-z/]|https?:|www\.|[*_`~$#|&]|:[a-z])")


@pytest.mark.parametrize("text", HOSTILE)
def test_media_text_never_renders_as_markdown(text):
    for rendered in (logic.md_text(text), logic.answer_markdown(text)):
        assert not LIVE_MARKDOWN.search(rendered), rendered
        # what a reader sees is the text itself
        seen = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", rendered).replace(logic.WORD_JOINER, "")
        assert seen.replace("  \n", "\n") == text
    assert logic.md_text("Intro talk · 0:05–0:20") == "Intro talk · 0:05–0:20"  # clocks stay plain


def test_streamlit_command_is_headless_loopback_without_stats():
    cmd = logic.streamlit_command(8600, "127.0.0.1")
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4].endswith("ui/app.py")
    flags = dict(zip(cmd[5::2], cmd[6::2], strict=True))
    assert flags["--server.port"] == "8600" and flags["--server.address"] == "127.0.0.1"
    assert flags["--server.headless"] == "true" and flags["--browser.gatherUsageStats"] == "false"


# ---------------------------------------------------------------- ingest jobs


def test_fold_events_tracks_stages_results_and_failures():
    events = [
        {"event": "files", "paths": ["/a.mp4", "/b.mp4"]},
        {"event": "progress", "path": "/a.mp4", "stage": "probe", "done": 0, "total": 1},
        {"event": "progress", "path": "/a.mp4", "stage": "transcript", "done": 15, "total": 60},
        {"event": "progress", "path": "/b.mp4", "stage": "probe", "done": 0, "total": 1},
        {"event": "result", "path": "/b.mp4", "status": "failed", "error": "/b.mp4: not media"},
    ]
    files, ended = logic.fold_events(events)
    assert not ended
    assert files[0].stages == {"probe": 1.0, "transcript": 0.25} and files[0].stage == "transcript"
    assert (files[1].status, files[1].error) == ("failed", "/b.mp4: not media")
    assert logic.fold_events([*events, {"event": "end", "failed": 1}])[1]


def test_ingest_job_reports_progress_and_failures(
    library_home, lecture_with_srt, broken_files, tmp_path, monkeypatch
):
    home = tmp_path / "home"
    shutil.copytree(library_home, home)
    monkeypatch.setenv("VIDQA_HOME", str(home))
    job = logic.start_ingest_job([str(lecture_with_srt), str(broken_files["not_media"])])
    deadline = time.monotonic() + 60
    while not (state := logic.read_job(job)).finished and time.monotonic() < deadline:
        time.sleep(0.2)
    assert state.finished, (home / "jobs" / job / "log.txt").read_text()
    by_name = {f.name: f for f in state.files}
    assert by_name["lecture.mp4"].status == "unchanged"  # already in the library: no models load
    assert by_name["lecture.mp4"].stages == {"probe": 1.0, "done": 1.0}
    broken = by_name[broken_files["not_media"].name]
    assert broken.status == "failed" and broken.error and "\n" not in broken.error
    assert [j.id for j in logic.recent_jobs()] == [job]


def test_a_dead_worker_is_reported():
    folder = settings().home / "jobs" / "20000101-000000-dead00"
    folder.mkdir(parents=True)
    (folder / "pid").write_text("999999999")
    (folder / "log.txt").write_text("Traceback...\nMemoryError\n")
    (folder / "events.jsonl").write_text(json.dumps({"event": "files", "paths": ["/a.mp4"]}) + "\n")
    state = logic.read_job(folder.name)
    assert state.finished and state.error == "ingest worker stopped: MemoryError"
    assert state.failed[0].error == state.error


# ---------------------------------------------------------------- reading during a write


def _copy_with_srt(src: Path, out_dir: Path, stem: str) -> Path:
    """A different file (new content id) with the same speech and its own .srt sidecar."""
    out = out_dir / f"{stem}.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(src),
            "-c",
            "copy",
            "-metadata",
            f"title={stem}",
            str(out),
        ],
        check=True,
    )
    shutil.copy(src.with_suffix(".srt"), out.with_suffix(".srt"))
    return out


def test_queries_keep_working_while_a_cli_ingest_writes(
    library_home, lecture_with_srt, tmp_path, monkeypatch
):
    home = tmp_path / "home"
    shutil.copytree(library_home, home)
    monkeypatch.setenv("VIDQA_HOME", str(home))
    second = _copy_with_srt(lecture_with_srt, tmp_path, "second")
    reader = logic.LibraryReader()
    assert reader.run(lambda lib: lib.search("glaciers carve fjords", k=1))  # Chroma open, warm
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "ingest", str(second), "--vlm", "none", "--no-frames"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "VIDQA_HOME": str(home)},
    )
    queries = 0
    while proc.poll() is None:
        hits = reader.run(lambda lib: lib.search("volcanoes magma lava", k=5))
        assert hits and "olcano" in hits[0].span.text
        queries += 1
        time.sleep(0.5)  # leave the CPU to the writer
    assert proc.returncode == 0, proc.stderr
    hits = reader.run(lambda lib: lib.search("volcanoes magma lava", k=10))
    titles = {
        reader.run(lambda lib, h=h: lib.catalog.video(h.span.video_id).title)
        for h in hits
        if "dense" in h.matched
    }
    assert titles == {"lecture", "second"}  # the other process's vectors, found by similarity
    assert queries > 0 and reader.reopened >= 1


def test_a_selection_answers_a_time_question_per_video_and_keeps_topical_ones(
    library_home, monkeypatch
):
    monkeypatch.setenv("VIDQA_HOME", str(library_home))
    reader = logic.LibraryReader()
    state: dict = {}
    with reader.open() as library:
        (video,) = library.videos()
        conversation = logic.conversation_for(state, [video.id])
        answer = conversation.ask("why do volcanoes erupt", library).answer
        assert answer.citations and "olcano" in answer.citations[0].text
        assert logic.conversation_for(state, []) is conversation and conversation.scope == ()
        view = render.answer_view(conversation.ask("xylophone submarine", library).answer)
    assert view["status"] == "not_found" and view["citations"] == []
    assert all(r["label"].startswith("near miss · lecture · ") for r in view["related"])
    assert len(conversation.turns) == 2


def test_questions_are_refused_when_empty_and_cut_for_display_when_huge():
    assert logic.question_problem("   \n\t") == "Type a question first."
    assert logic.question_problem("what was said at 0:20?") is None
    shown = logic.shown_question("why? " + "x" * 99_995)
    assert len(shown) < logic.DISPLAY_QUESTION_CHARS + 60 and shown.endswith(
        "(100,000 characters, shown cut)"
    )


# ---------------------------------------------------------------- the app's process


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")  # a zombie is dead, just not reaped yet
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads children from /proc")
def test_sigterm_to_vidqa_ui_stops_its_streamlit_child(tmp_path):
    import signal

    from test_browser import _free_port, _wait_healthy

    port, log = _free_port(), tmp_path / "ui.log"
    with open(log, "wb") as out:  # its own session: only the parent gets the signal
        proc = subprocess.Popen(
            [sys.executable, "-m", "ui.cli", "ui", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    children = []
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", proc, log)
        children = _children(proc.pid)
        assert children, "vidqa ui runs streamlit as a child process"
        proc.send_signal(signal.SIGTERM)  # the parent only, as a service manager would
        proc.wait(timeout=20)
        deadline = time.monotonic() + 10
        while any(map(_alive, children)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(map(_alive, children)), f"streamlit {children} outlived vidqa ui"
    finally:
        for pid in [proc.pid, *children]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()


# ---------------------------------------------------------------- what piles up in VIDQA_HOME


def _wait_job(job: str, seconds: float = 60) -> logic.JobState:
    deadline = time.monotonic() + seconds
    while not (state := logic.read_job(job)).finished and time.monotonic() < deadline:
        time.sleep(0.2)
    assert state.finished, (settings().home / "jobs" / job / "log.txt").read_text()
    return state


def test_a_failed_upload_leaves_no_file(broken_files):
    cfg = settings()
    saved = logic.save_upload("notes.mp4", 10, io.BytesIO(broken_files["not_media"].read_bytes()))
    state = _wait_job(logic.start_ingest_job([str(saved)], uploads=[str(saved)]))
    assert [f.status for f in state.files] == ["failed"]
    assert not saved.exists() and list(cfg.media_dir.iterdir()) == []


def test_an_upload_that_breaks_off_leaves_no_file():
    class Broken(io.BytesIO):
        def read(self, *args):
            raise OSError("connection reset")

    with pytest.raises(OSError):
        logic.save_upload("talk.mp4", 10, Broken(b"x"))
    assert list(settings().media_dir.iterdir()) == []


def test_the_same_upload_twice_keeps_one_file(library_home, monkeypatch):
    monkeypatch.setenv("VIDQA_HOME", str(library_home.parent / "fresh-home"))
    first = logic.save_upload("talk.mp4", 5, io.BytesIO(b"12345"))
    second = logic.save_upload("talk.mp4", 5, io.BytesIO(b"12345"))
    assert second.name == "talk-1.mp4"

    class NoVideos:
        class catalog:  # noqa: N801 - stands in for Library.catalog
            video = staticmethod(lambda video_id: None)

    assert logic.reuse_known_upload(second, NoVideos()) == first and not second.exists()
    other = logic.save_upload("talk.mp4", 5, io.BytesIO(b"54321"))  # other content: kept
    assert logic.reuse_known_upload(other, NoVideos()) == other and other.exists()


def test_old_job_folders_are_pruned_but_never_a_running_one():
    root = settings().home / "jobs"
    old = time.time() - (logic.JOB_MAX_AGE_DAYS + 1) * 86_400
    for n in range(6):
        folder = root / f"2000010{n}-000000-aaaaa{n}"
        folder.mkdir(parents=True)
        (folder / "pid").write_text("999999999")  # its worker is gone
        (folder / "events.jsonl").write_text(json.dumps({"event": "end", "failed": 0}) + "\n")
    running = root / "19990101-000000-runnin"  # the oldest, but its worker is alive
    running.mkdir()
    (running / "pid").write_text(str(os.getpid()))
    (running / "events.jsonl").write_text("")
    for folder in root.iterdir():
        os.utime(folder, (old, old) if folder.name.startswith("200001000") else None)
    pruned = logic.prune_jobs(keep=3)
    assert sorted(pruned) == [
        "20000100-000000-aaaaa0",
        "20000101-000000-aaaaa1",
        "20000102-000000-aaaaa2",
    ]  # beyond the newest 3 (00 also too old)
    assert sorted(p.name for p in root.iterdir()) == [
        "19990101-000000-runnin",
        "20000103-000000-aaaaa3",
        "20000104-000000-aaaaa4",
        "20000105-000000-aaaaa5",
    ]
    os.utime(root / "20000105-000000-aaaaa5", (old, old))
    assert logic.prune_jobs(keep=3) == ["20000105-000000-aaaaa5"]  # too old, though recent by name


def test_a_removal_is_visible_while_it_runs(library_home, lecture_with_srt, tmp_path, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(library_home, home)
    monkeypatch.setenv("VIDQA_HOME", str(home))
    with logic.LibraryReader().open() as library:
        (video,) = library.videos()
    import threading

    seen = []
    done = threading.Event()

    def watch():
        while not done.is_set():
            seen.extend(r.video_id for r in logic.removals_in_progress())
            if logic.being_removed(lecture_with_srt) is not None:
                seen.append("by path")
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        out = logic.remove_video(video.id)
    finally:
        done.set()
        watcher.join()
    assert "removed" in out
    assert video.id in seen and "by path" in seen  # seen while `vidqa remove` ran
    assert logic.removals_in_progress() == [] and logic.being_removed(lecture_with_srt) is None


@pytest.mark.parametrize(
    ("source", "en", "zh"),
    [
        (
            "transcript+ocr+scenes",
            "the transcript, on-screen text and scene changes (no VLM)",
            "字幕、屏幕文字、场景切换（未用视觉语言模型）",
        ),
        ("vlm:Qwen/Qwen3-VL-2B-Instruct", "Qwen3-VL-2B-Instruct", "Qwen3-VL-2B-Instruct"),
        (
            "vlm:/models/qwen3-vl-4b+transcript",
            "qwen3-vl-4b and the transcript",
            "qwen3-vl-4b、字幕",
        ),
    ],
)
def test_where_chapters_came_from_reads_as_words(source, en, zh):
    """The Video page and `vidqa summary` said "transcript+ocr+scenes"."""
    from ui.render import describe_source

    assert describe_source(source) == en and describe_source(source, "zh") == zh


def test_span_counts_read_as_words_in_list_and_ingest():
    from ui.render import span_counts, video_line

    assert span_counts({"ocr": 8, "chapter": 1, "window": 4, "transcript": 4}) == (
        "4 transcript spans, 4 windows, 1 chapter, 8 on-screen texts"
    )
    assert span_counts({}) == "no spans"
    row = {
        "id": "b57de0c42bcf4ea0",
        "title": "lecture",
        "duration": 57.9,
        "transcript_source": "srt",
        "spans": {"frame": 1, "transcript": 2},
        "status": "ready",
        "path": "/talks/lecture.mp4",
        "ingested_at": "2026-12-02T05:38:04+00:00",
    }
    assert video_line(row).endswith("(2 transcript spans, 1 frame)")

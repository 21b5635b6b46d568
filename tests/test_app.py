"""Each page of the Streamlit app, run headless with streamlit.testing.v1.AppTest."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_app_logic import library_home  # noqa: F401 - the shared, once-ingested library

from ui import app_logic as logic
from vidqa.settings import settings

APP = Path(__file__).resolve().parents[1] / "ui" / "app.py"
TIMEOUT = 60  # s; the first run of a page imports the embedder and Chroma
PAGES = ("library", "add", "video", "ask", "search")


def _page(name: str) -> None:
    import importlib

    importlib.import_module(f"ui.app_pages.{name}").render()


def page(name: str) -> AppTest:
    return AppTest.from_function(_page, args=(name,), default_timeout=TIMEOUT)


@pytest.fixture
def home(library_home, monkeypatch):  # noqa: F811 - the imported fixture
    monkeypatch.setenv("VIDQA_HOME", str(library_home))
    return library_home


def _video_proto(at: AppTest):
    videos = at.get("video")
    assert len(videos) == 1
    return videos[0].proto


def _shown(markdown: str) -> str:
    """Markdown source as a reader sees it: backslash escapes of punctuation resolved (media
    text is escaped so it shows literally, ui.app_logic.md_text)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace(logic.WORD_JOINER, "")


def _texts(elements) -> str:
    return "\n".join(_shown(e.value) for e in elements)


def _said(media: Path, first_word: str) -> dict:
    """The true timeline entry of the sentence that starts with `first_word`."""
    from media import load_timeline

    return next(t for t in load_timeline(media) if t["spoken"].startswith(first_word))


def _only_video_id() -> str:
    from index.catalog import Catalog

    catalog = Catalog(settings().catalog_path)
    try:
        (video,) = catalog.videos()
    finally:
        catalog.close()
    return video.id


def _fake_job(name: str, events: list[dict], pid: int) -> None:
    folder = settings().home / "jobs" / name
    folder.mkdir(parents=True)
    (folder / "pid").write_text(str(pid))
    (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))


# ---------------------------------------------------------------- empty library


@pytest.mark.parametrize("name", PAGES)
def test_every_page_handles_an_empty_library(name):
    at = page(name).run()
    assert not at.exception
    if name == "add":
        assert "No ingest has run yet." in _texts(at.caption)
    else:
        assert "empty" in _texts(at.info)


def test_the_app_starts_on_the_library_with_navigation():
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Library"]


# ---------------------------------------------------------------- library and add


def test_library_lists_videos_problems_and_confirms_removal(home, monkeypatch):
    _fake_job(
        "20000101-000000-aaaaaa",
        [
            {"event": "files", "paths": ["/data/broken.mp4"]},
            {
                "event": "result",
                "path": "/data/broken.mp4",
                "status": "failed",
                "error": "/data/broken.mp4: not a media file (no audio or video stream)",
            },
            {"event": "end", "failed": 1},
        ],
        pid=os.getpid(),
    )
    removed = []
    monkeypatch.setattr(logic, "remove_video", lambda vid: removed.append(vid) or f"removed {vid}")
    at = page("library").run()
    assert not at.exception
    card = _texts(at.markdown)
    assert "**lecture**" in card and "0:57" in card and "`srt`" in card and "chapter" in card
    assert "not a media file (no audio or video stream)" in _texts(at.error)
    video_id = _only_video_id()
    assert len(at.image) == 1  # a poster grabbed from the video
    at.button(key=f"remove-{video_id}").click().run()
    assert "Remove **lecture**" in _texts(at.warning) and not removed
    at.button(key=f"cancel-remove-{video_id}").click().run()
    assert not at.warning
    at.button(key=f"remove-{video_id}").click().run()
    at.button(key=f"really-remove-{video_id}").click().run()
    assert removed == [video_id] and f"removed {video_id}" in _texts(at.success)


@pytest.fixture
def loopback():
    """The app as `vidqa ui` serves it: bound to 127.0.0.1 (AppTest leaves it unset)."""
    from streamlit import config

    previous = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    try:
        yield
    finally:
        config.set_option("server.address", previous)


def test_add_page_saves_uploads_inside_home_and_reports_bad_paths(monkeypatch, loopback):
    started = []
    monkeypatch.setattr(
        logic,
        "start_ingest_job",
        lambda paths, force=False, **kw: started.append((paths, force)) or "job",
    )
    at = page("add").run()
    at.file_uploader(key="uploads").set_value([("../../evil name.mp4", b"data", "video/mp4")]).run()
    at.button[0].click().run()
    media = settings().media_dir
    assert started == [([str(media / "evil_name.mp4")], False)]
    assert (media / "evil_name.mp4").read_bytes() == b"data"
    at.text_input(key="add_path").input("/no/such/folder").run()
    at.button(key="ingest_path").click().run()
    assert "/no/such/folder: no such file or folder on this machine" in _texts(at.error)
    assert len(started) == 1


def test_add_page_shows_live_per_stage_progress_and_failures():
    _fake_job(
        "20000101-000000-bbbbbb",
        [
            {"event": "files", "paths": ["/data/a.mp4", "/data/b.mp4"]},
            {"event": "progress", "path": "/data/a.mp4", "stage": "probe", "done": 0, "total": 1},
            {
                "event": "progress",
                "path": "/data/a.mp4",
                "stage": "transcript",
                "done": 30,
                "total": 60,
            },
            {
                "event": "result",
                "path": "/data/b.mp4",
                "status": "failed",
                "error": "/data/b.mp4: file not found",
            },
        ],
        pid=os.getpid(),
    )  # alive: still running
    at = page("add").run()
    assert not at.exception
    bars = [(p.value, p.proto.text) for p in at.get("progress")]
    assert bars == [(100, "probe · 100%"), (50, "transcript · 50%")]
    assert "**b.mp4**: /data/b.mp4: file not found" in _texts(at.error)


def test_add_page_shows_what_an_ingest_noted():
    note = "low ASR confidence (mean word probability 0.28) with the English-only model tiny.en"
    _fake_job(
        "20000101-000000-cccccc",
        [
            {"event": "files", "paths": ["/data/zh.mp4"]},
            {
                "event": "result",
                "path": "/data/zh.mp4",
                "status": "ingested",
                "video_id": "ab12",
                "title": "zh",
                "notes": [note],
            },
            {"event": "end", "failed": 0},
        ],
        pid=os.getpid(),
    )
    at = page("add").run()
    assert not at.exception
    assert f"Note: {note}" in _texts(at.caption)


# ---------------------------------------------------------------- video, ask, search


def test_video_page_chapters_transcript_and_search_seek(home, lecture_with_srt):
    at = page("video").run()
    assert not at.exception and at.title[0].value == "lecture"
    assert _video_proto(at).start_time == 0
    assert len(at.dataframe) == 1  # the transcript, timestamps first
    chapter = next(b for b in at.button if b.key and b.key.startswith("chapter-"))
    chapter.click().run()
    assert _video_proto(at).start_time == 0
    at.text_input(key="video_search").input("glaciers carve valleys").run()
    hit = at.button(key="video-hit-0")
    assert "said" in hit.label
    hit.click().run()
    played, truth = at.session_state["video_play"], _said(lecture_with_srt, "Glaciers")
    assert played["start"] <= truth["start"] and played["end"] >= truth["end"]
    assert _video_proto(at).start_time == math.floor(played["start"])
    assert _scrolls(at)  # the click brings the player into view once ...
    at.text_input(key="video_search").input("glaciers carve deep valleys").run()
    assert not _scrolls(at)  # ... and later reruns leave the page where the user put it


def _scrolls(at) -> bool:
    return any("scrollIntoView" in h.proto.body for h in at.get("html"))


def test_ask_streams_an_answer_and_a_citation_click_plays_the_clip(home):
    at = page("ask").run()
    assert not at.exception and not at.get("video")
    at.chat_input(key="ask_input").set_value("what was said at 0:20?").run()
    assert not at.exception
    assert "At 0:20" in _texts(at.markdown)
    chips = [b for b in at.button if b.key and b.key.startswith("chip-")]
    assert chips and all(b.label.startswith(f"[{n}] lecture · 0:") for n, b in enumerate(chips, 1))
    chips[0].click().run()
    played = at.session_state["ask_play"]
    proto = _video_proto(at)
    assert proto.start_time == math.floor(played["start"]) and proto.end_time == math.ceil(
        played["end"]
    )
    assert played["start"] <= 20 + 5 and played["end"] >= 20 - 5
    assert len(at.get("download_button")) == 1
    assert len([b for b in at.button if b.key and b.key.startswith("chip-")]) == len(chips)


def test_ask_reports_errors_in_the_chat(home, monkeypatch):
    from qa.chat import Conversation
    from vidqa.errors import VideoNotFound

    def refuse(self, question, library):
        raise VideoNotFound(
            f"the question names a time: choose one video ({len(self.scope)} given)"
        )

    monkeypatch.setattr(Conversation, "ask", refuse)
    at = page("ask").run()
    at.radio(key="ask_scope").set_value("One video").run()
    at.chat_input(key="ask_input").set_value("what was said at 0:20?").run()
    assert not at.exception
    assert "choose one video (1 given)" in _texts(at.error)
    assert [m.name for m in at.chat_message] == ["user", "assistant"]


def test_search_groups_results_by_video_and_plays_a_hit(home, lecture_with_srt):
    lecture = lecture_with_srt
    at = page("search").run()
    at.text_input(key="search_query").input("volcanoes erupt magma").run()
    assert not at.exception
    assert "**lecture** ·" in _texts(at.markdown)
    video_id = _only_video_id()
    at.button(key=f"hit-{video_id}-0").click().run()
    played, truth = at.session_state["search_play"], _said(lecture, "Volcanoes")
    assert played["start"] <= truth["start"] and played["end"] >= truth["end"]
    assert _video_proto(at).start_time == math.floor(played["start"])


def test_search_by_image_explains_when_frames_are_not_indexed(home):
    import io

    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(png, format="PNG")
    at = page("search").run()
    at.file_uploader(key="search_image").set_value(("red.png", png.getvalue(), "image/png")).run()
    assert not at.exception
    assert "CLIP" in _texts(at.info)


# ---------------------------------------------------------------- media text is text


def build_hostile_library(home: Path, url: str) -> str:
    """A library whose one video carries Markdown/HTML in every text that comes from media
    (title, transcript, on-screen text, chapter title/summary/key points, video summary),
    all pointing at `url`. Returns the video id."""
    from media import make_tone_video

    from index.library import Library
    from index.records import Span, Video, VideoSummary
    from vidqa.probe import content_id, probe

    media = home.parent / "media-in"
    media.mkdir(parents=True, exist_ok=True)
    path = make_tone_video(media / "talk [x](y) *z*.mp4", seconds=9)
    vid = content_id(path)
    image, link = f"![x]({url}/x.png)", f"[click]({url}/a)"
    hostile = f"{image} {link} <img src={url}/y.png> :red[alert] **bold** $x$ volcanoes"
    spans = [
        Span(vid, 0.5, 3.0, "transcript", image, "srt"),
        Span(vid, 3.5, 6.0, "transcript", f"{link} <{url}/b> volcanoes erupt", "srt"),
        Span(vid, 6.5, 8.5, "transcript", f":red[alert] {url}/c.png volcanoes", "srt"),
        Span(vid, 1.0, 8.0, "ocr", f"{image} volcanoes on screen", "ocr"),
        Span(
            vid,
            0.0,
            9.0,
            "chapter",
            hostile,
            "transcript",
            {"title": image, "summary": hostile, "key_points": [link, image]},
        ),
    ]
    info = probe(path)
    video = Video(
        vid,
        str(path),
        path.stem,
        info.duration,
        has_video=True,
        has_audio=True,
        transcript_source="srt",
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VIDQA_HOME", str(home))
        library = Library()
        try:
            library.add_video(video, spans, summary=VideoSummary([], hostile, link, "test", []))
        finally:
            library.close()
    return vid


# Markdown or HTML from the media, left live: an image, a link, a tag, a URL, a directive.
LIVE = re.compile(r"(?<!\\)(!\[|\]\(|<img|<http|https?:|:red\[|\*\*bold)")


def _all_text(at: AppTest) -> list[str]:
    """Every string the app handed to an element that renders Markdown."""
    values = [
        e.value
        for kind in (
            "markdown",
            "caption",
            "title",
            "header",
            "subheader",
            "error",
            "info",
            "warning",
            "success",
        )
        for e in getattr(at, kind)
    ]
    values += [s for b in at.button for s in (b.label, b.proto.help)]
    values += [e.label for e in at.expander]
    return values


@pytest.fixture
def hostile_home(tmp_path, monkeypatch):
    home = tmp_path / "hostile-home"
    vid = build_hostile_library(home, "http://media.invalid")
    monkeypatch.setenv("VIDQA_HOME", str(home))
    return vid


def test_media_text_is_shown_as_text_on_every_page(hostile_home):
    shown = []
    for name, act in [
        ("library", None),
        ("video", None),
        ("video", lambda at: at.text_input(key="video_search").input("volcanoes")),
        ("search", lambda at: at.text_input(key="search_query").input("volcanoes")),
        ("ask", lambda at: at.chat_input(key="ask_input").set_value("what was said at 0:01?")),
    ]:
        at = page(name).run()
        if act is not None:
            act(at).run()
        assert not at.exception, (name, at.exception)
        texts = _all_text(at)
        live = [t for t in texts if LIVE.search(t)]
        assert not live, (name, live)
        shown += map(_shown, texts)
    everything = "\n".join(shown)
    # ... and the text itself is there, literally, as a reader sees it
    assert "talk [x](y) *z*" in everything  # the title
    assert "![x](http://media.invalid/x.png)" in everything  # transcript, chapter, OCR
    assert "[click](http://media.invalid/a)" in everything


# ---------------------------------------------------------------- add: what may be ingested


def test_path_ingest_is_off_unless_bound_to_loopback_or_allowed(monkeypatch):
    at = page("add").run()  # server.address unset: `streamlit run ui/app.py` binds every interface
    assert "Ingest by path is off" in _texts(at.info) and "VIDQA_ALLOW_PATH_INGEST=1" in _texts(
        at.info
    )
    assert not [t for t in at.text_input if t.key == "add_path"]
    monkeypatch.setenv("VIDQA_ALLOW_PATH_INGEST", "1")
    at = page("add").run()
    assert at.text_input(key="add_path") is not None and "Ingest by path is off" not in _texts(
        at.info
    )


def test_a_text_file_by_path_is_refused_like_the_cli_does(broken_files, monkeypatch, loopback):
    started = []
    monkeypatch.setattr(logic, "start_ingest_job", lambda paths, **kw: started.append(paths))
    at = page("add").run()
    at.text_input(key="add_path").input(str(broken_files["text"])).run()
    at.button(key="ingest_path").click().run()
    assert f"{broken_files['text']}: not a media file (a text file" in _texts(at.error)
    assert started == []


def test_a_file_cannot_be_added_again_while_its_removal_runs(
    home, lecture_with_srt, monkeypatch, loopback
):
    started = []
    monkeypatch.setattr(logic, "start_ingest_job", lambda paths, **kw: started.append(paths))
    marker = settings().home / "removing" / f"{_only_video_id()}.json"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(
        json.dumps(
            {
                "video_id": _only_video_id(),
                "title": "lecture",
                "path": str(lecture_with_srt),
                "pid": os.getpid(),
            }
        )
    )
    try:
        at = page("add").run()
        assert "Removing **lecture**… it can be added again" in _texts(at.info)
        at.text_input(key="add_path").input(str(lecture_with_srt)).run()
        at.button(key="ingest_path").click().run()
        assert "lecture is still being removed" in _texts(at.error) and started == []
        at.file_uploader(key="uploads").set_value(
            [("again.mp4", lecture_with_srt.read_bytes(), "video/mp4")]
        ).run()
        at.button[0].click().run()  # the same content, uploaded
        assert "again.mp4: lecture is still being removed" in _texts(at.error) and started == []
        assert not (settings().media_dir / "again.mp4").exists()
        library = page("library").run()
        assert "Removing…" in _texts(library.caption)
        assert not [b for b in library.button if b.key == f"remove-{_only_video_id()}"]
    finally:
        marker.unlink()
    at = page("add").run()  # the removal ended: adding works again
    at.text_input(key="add_path").input(str(lecture_with_srt)).run()
    at.button(key="ingest_path").click().run()
    assert started == [[str(lecture_with_srt.resolve())]]


def test_a_reupload_of_library_content_keeps_no_copy(home, lecture_with_srt, monkeypatch):
    started = []
    monkeypatch.setattr(
        logic,
        "start_ingest_job",
        lambda paths, uploads=(), **kw: started.append((paths, list(uploads))),
    )
    data = lecture_with_srt.read_bytes()
    at = page("add").run()
    at.file_uploader(key="uploads").set_value([("lecture.mp4", data, "video/mp4")]).run()
    at.button[0].click().run()
    # the library's own file is ingested (it says "unchanged"); no lecture.mp4 piles up
    assert started == [([str(lecture_with_srt.resolve())], [])]
    assert not settings().media_dir.exists() or not any(settings().media_dir.iterdir())

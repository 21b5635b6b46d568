"""Each page of the Streamlit app, run headless with streamlit.testing.v1.AppTest."""

from __future__ import annotations

import json
import math
import os
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


def _texts(elements) -> str:
    return "\n".join(e.value for e in elements)


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
    _fake_job("20000101-000000-aaaaaa", [
        {"event": "files", "paths": ["/data/broken.mp4"]},
        {"event": "result", "path": "/data/broken.mp4", "status": "failed",
         "error": "/data/broken.mp4: not a media file (no audio or video stream)"},
        {"event": "end", "failed": 1}], pid=os.getpid())
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


def test_add_page_saves_uploads_inside_home_and_reports_bad_paths(monkeypatch):
    started = []
    monkeypatch.setattr(logic, "start_ingest_job",
                        lambda paths, force=False, **kw: started.append((paths, force)) or "job")
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
    _fake_job("20000101-000000-bbbbbb", [
        {"event": "files", "paths": ["/data/a.mp4", "/data/b.mp4"]},
        {"event": "progress", "path": "/data/a.mp4", "stage": "probe", "done": 0, "total": 1},
        {"event": "progress", "path": "/data/a.mp4", "stage": "transcript", "done": 30,
         "total": 60},
        {"event": "result", "path": "/data/b.mp4", "status": "failed",
         "error": "/data/b.mp4: file not found"}], pid=os.getpid())  # alive: still running
    at = page("add").run()
    assert not at.exception
    bars = [(p.value, p.proto.text) for p in at.get("progress")]
    assert bars == [(100, "probe · 100%"), (50, "transcript · 50%")]
    assert "**b.mp4**: /data/b.mp4: file not found" in _texts(at.error)


def test_add_page_shows_what_an_ingest_noted():
    note = "low ASR confidence (mean word probability 0.28) with the English-only model tiny.en"
    _fake_job("20000101-000000-cccccc", [
        {"event": "files", "paths": ["/data/zh.mp4"]},
        {"event": "result", "path": "/data/zh.mp4", "status": "ingested", "video_id": "ab12",
         "title": "zh", "notes": [note]},
        {"event": "end", "failed": 0}], pid=os.getpid())
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


def test_ask_streams_an_answer_and_a_citation_click_plays_the_clip(home):
    at = page("ask").run()
    assert not at.exception and not at.get("video")
    at.chat_input(key="ask_input").set_value("what was said at 0:20?").run()
    assert not at.exception
    assert "At 0:20" in _texts(at.markdown)
    chips = [b for b in at.button if b.key and b.key.startswith("chip-")]
    assert chips and all(b.label.startswith("lecture · 0:") for b in chips)
    chips[0].click().run()
    played = at.session_state["ask_play"]
    proto = _video_proto(at)
    assert proto.start_time == math.floor(played["start"]) and proto.end_time == math.ceil(played["end"])
    assert played["start"] <= 20 + 5 and played["end"] >= 20 - 5
    assert len(at.get("download_button")) == 1
    assert len([b for b in at.button if b.key and b.key.startswith("chip-")]) == len(chips)


def test_ask_reports_errors_in_the_chat(home, monkeypatch):
    from qa.chat import Conversation
    from vidqa.errors import VideoNotFound

    def refuse(self, question, library):
        raise VideoNotFound(f"the question names a time: choose one video ({len(self.scope)} given)")

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

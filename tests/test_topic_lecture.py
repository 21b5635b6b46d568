"""A generated 3-topic slide lecture, ingested without a VLM: one chapter per topic titled
from its slide, a code shown 20 s into a slide found by `vidqa search` at its own 20 s,
and the app's chapter labels in full. The demo lecture's eight 7 s topics: a chapter each."""

from __future__ import annotations

import json
import shutil

import pytest
from media import (
    HEARD_SHARE,
    heard_share,
    ingest_without_vlm,
    load_timeline,
    make_topic_lecture,
)
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from ingest.ocr import similar

CUE_SLACK_S = 4.5  # s: a boundary lands on the first sentence under the new slide (+ sampling)
SAMPLE_SLACK_S = 2.5  # s: on-screen text is read on the 2 s sample grid


@pytest.fixture(scope="module")
def topic_home(tmp_path_factory):
    """The topic lecture (sidecar .srt, silent audio) ingested once, frames and OCR on."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs ffmpeg to generate test media")
    media = make_topic_lecture(tmp_path_factory.mktemp("topics"))
    home = tmp_path_factory.mktemp("topics-home")
    chapters, on_screen = ingest_without_vlm(media, home)
    return home, media, load_timeline(media), chapters, on_screen


def test_one_chapter_per_topic_titled_by_its_slide(topic_home):
    _, _, timeline, chapters, _ = topic_home
    assert len(chapters) == len(timeline)
    for chapter, topic in zip(chapters, timeline, strict=True):
        assert abs(chapter.start - (topic["start"] if chapter.start else 0.0)) <= CUE_SLACK_S
        assert similar(chapter.extra["title"], topic["title"]), (chapter.extra, topic["title"])
        assert chapter.source.startswith("transcript+ocr")
        assert "scenes" in chapter.source
        summary = chapter.extra["summary"]
        spoken = " ".join(cue["spoken"] for cue in topic["cues"])
        assert summary and all(part.strip(". ") in spoken for part in summary.split(". "))


def test_code_shown_mid_slide_is_found_at_its_own_time(topic_home, monkeypatch):
    from ui.cli import app

    home, _, timeline, _, on_screen = topic_home
    monkeypatch.setenv("VIDQA_HOME", str(home))
    result = CliRunner().invoke(app, ["search", "XK-4471", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    top = json.loads(result.output)[0]  # the on-screen text itself, not the speech beside it
    assert top["kind"] == "ocr" and "XK-4471" in top["text"]
    slide = timeline[1]
    shown, gone = slide["start"] + 20.0, slide["start"] + 40.0
    assert abs(top["start"] - shown) <= SAMPLE_SLACK_S
    assert abs(top["end"] - gone) <= SAMPLE_SLACK_S
    # the slide without the code is its own span before and after: no span claims the code
    # for the whole slide, and no span without it covers the code's 20 s
    with_code = [s for s in on_screen if "XK-4471" in s.text]
    assert len(with_code) == 1
    for span in on_screen:
        if "XK-4471" not in span.text and "Volcanoes" in span.text:
            assert span.end <= shown + SAMPLE_SLACK_S or span.start >= gone - SAMPLE_SLACK_S


def _video_page() -> None:
    from ui.app_pages import video

    video.render()


def test_app_shows_chapter_labels_in_full(topic_home, monkeypatch):
    from vidqa.timefmt import fmt_range

    home, _, _, chapters, _ = topic_home
    monkeypatch.setenv("VIDQA_HOME", str(home))
    at = AppTest.from_function(_video_page, default_timeout=60).run()
    assert not at.exception
    labels = [b.label for b in at.button if b.key and b.key.startswith("chapter-")]
    assert labels == [f"{fmt_range(c.start, c.end)} · {c.extra['title']}" for c in chapters]
    assert all("…" not in label for label in labels)


# --- the demo lecture (`make demo`): eight unrelated topics of ~7 s, one slide each ---


@pytest.fixture(scope="module")
def demo_chapters(lecture, tmp_path_factory):
    """The sample lecture (no sidecar: tiny.en hears it) ingested without a VLM, with the real
    frames and OCR: (its chapters, the video's summary, the true timeline)."""
    from dataclasses import replace

    from index.library import Library
    from ingest.pipeline import IngestOptions, ingest
    from vidqa.settings import settings

    home = tmp_path_factory.mktemp("demo-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VIDQA_HOME", str(home))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("VIDQA_DEVICE", "cpu")
        library = Library(replace(settings(), home=home))
        report = ingest([lecture], library=library, options=IngestOptions(vlm="none"))
        (result,) = report.results
        assert result.status == "ingested", result
        chapters = library.spans(result.video_id, ("chapter",))
        summary = library.summary(result.video_id)
        library.close()
    return chapters, summary, load_timeline(lecture)


def test_demo_lecture_gets_a_chapter_per_topic_titled_as_a_person_would(demo_chapters):
    chapters, _, timeline = demo_chapters
    assert abs(len(chapters) - len(timeline)) <= 1, [c.extra["title"] for c in chapters]
    for chapter in chapters:
        title = chapter.extra["title"]
        # the slide it was said under, e.g. "STEP 5 JAZZ" -> "Step 5: Jazz": not shouted
        topic = min(timeline, key=lambda t: abs(t["start"] - chapter.start))
        assert similar(title.replace(":", ""), topic["slide"]), (title, topic["slide"])
        assert title != title.upper() and title.startswith("Step ")
        assert abs(chapter.start - (topic["start"] if chapter.start else 0.0)) <= CUE_SLACK_S
        assert chapter.source.startswith("transcript+ocr")
    # each chapter sums up its own topic, and the video's summary is not the whole talk
    for chapter in chapters:
        topic = min(timeline, key=lambda t: abs(t["start"] - chapter.start))
        assert heard_share(chapter.extra["summary"], topic["spoken"]) >= HEARD_SHARE
    told = [t for t in timeline if heard_share(demo_chapters[1].summary, t["spoken"]) >= 0.5]
    assert 1 <= len(told) < len(timeline) / 2 + 1


def test_demo_lecture_from_subtitles_gets_the_same_chapters(lecture_library):
    chapters = lecture_library.library.spans(lecture_library.video.id, ("chapter",))
    titles = [c.extra["title"] for c in chapters]
    assert len(titles) == len(lecture_library.timeline), titles
    for title, topic in zip(titles, lecture_library.timeline, strict=True):
        assert similar(title.replace(":", ""), topic["slide"]), (title, topic["slide"])

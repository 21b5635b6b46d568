"""Slides asked by number ("slide 3", "the last slide", "第三张幻灯片"): counted as a viewer
counts them, one per run of on-screen text under one title (qa/slides.py). The answer on a
real slide lecture with real OCR is in test_visual_index.py."""

from __future__ import annotations

from types import SimpleNamespace

from index.records import Span, Video
from qa.slides import LAST, asked_slide, asks_list, pick, slides_of


def test_a_slide_is_asked_by_number_ordinal_or_as_the_last():
    asked = {
        "what is on slide 3?": 3,
        "explain slide #5": 5,
        "what does slide number two say?": 2,
        "what did she say on the 2nd slide?": 2,
        "what does the third slide say?": 3,
        "what was on the last slide?": LAST,
        "第三张幻灯片讲了什么？": 3,
        "第12页PPT是什么": 12,
        "最后一张幻灯片是什么？": LAST,
    }
    assert {q: asked_slide(q).number for q in asked} == asked
    for question in ("what is step 3?", "what slides did he show?", "at 3:00 on the slide"):
        assert asked_slide(question) is None, question


def test_bullets_revealed_under_one_title_are_one_slide():
    def ocr(start, end, title, text=None):
        return Span("v", start, end, "ocr", text or title, "ocr", {"title": title})

    spans = [
        ocr(0, 6, "SOURDOUGH BASICS"),
        ocr(6, 10, "Sourdough  basics", "Sourdough basics\n- flour"),  # a bullet revealed
        ocr(10, 16, "THE STARTER"),
        ocr(18, 22, "MIXING"),
        ocr(24, 26, "MIXING"),  # read again after a frame without text
        ocr(26, 30, "THE STARTER"),  # back to an earlier slide: shown again, counted again
    ]
    library = SimpleNamespace(spans=lambda video_id, kinds: list(reversed(spans)))
    slides = slides_of(library, Video("v", None, "bread", 30.0))
    assert [(s.start, s.end, s.title) for s in slides] == [
        (0, 10, "SOURDOUGH BASICS"),
        (10, 16, "THE STARTER"),
        (18, 26, "MIXING"),
        (26, 30, "THE STARTER"),
    ]
    assert pick(slides, asked_slide("slide 3")).title == "MIXING"
    assert pick(slides, asked_slide("the last slide")).start == 26
    assert pick(slides, asked_slide("slide 5")) is None


TALKS = {  # title -> (cues, slides as (start, end, title))
    "bread": (
        [(0, 9, "Welcome, today we bake bread."), (10, 19, "Mix flour and water.")],
        [(0, 10, "BREAD"), (10, 20, "MIXING")],
    ),
    "gears": (
        [(0, 14, "Let us tune the gears."), (15, 29, "Turn the barrel adjuster.")],
        [(0, 15, "GEARS"), (15, 30, "BARREL ADJUSTER")],
    ),
}


def _two_talks(tmp_path, monkeypatch):
    """A library (this test's VIDQA_HOME) of the two talks, from their subtitles only."""
    from dataclasses import replace

    from media import srt_text

    from index.library import Library
    from ingest.pipeline import ingest_transcript
    from vidqa.settings import settings

    home = tmp_path / "home"
    monkeypatch.setenv("VIDQA_HOME", str(home))
    library = Library(replace(settings(), home=home))
    for title, (cues, _) in TALKS.items():
        (tmp_path / f"{title}.srt").write_text(srt_text(cues), encoding="utf-8")
        ingest_transcript(
            tmp_path / f"{title}.srt", video_id=title, title=title, duration=30.0, library=library
        )
    return library


def _add_slides(library) -> None:
    for title, (_, shown) in TALKS.items():  # as OCR would have read them
        ocr = [Span(title, a, b, "ocr", t, "ocr", {"title": t}) for a, b, t in shown]
        library.add_spans(title, ocr, replace_kinds=("ocr",))


def _ask(*args: str) -> dict:
    import json

    from typer.testing import CliRunner

    from ui.cli import app

    result = CliRunner().invoke(app, ["ask", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_slide_asked_of_a_library_is_answered_in_each_video_that_has_it(tmp_path, monkeypatch):
    """No video chosen: slide 2 of each video with on-screen text, each at its own time;
    a library without on-screen text says so instead of guessing."""
    library = _two_talks(tmp_path, monkeypatch)
    try:
        assert _ask("what is on slide 2?")["answer"] == (
            "No video here shows a slide 2 (slides are counted by the text on them)."
        )
        _add_slides(library)
    finally:
        library.close()
    got = _ask("what is on slide 2?")
    lines = got["answer"].splitlines()
    assert (
        lines[0] == "The question names a slide but not a video; slide 2 of each of the 2 videos:"
    )
    shown = {(c["title"], c["start"], c["text"]) for c in got["citations"] if c["kind"] == "ocr"}
    assert shown == {("bread", 10.0, "MIXING"), ("gears", 15.0, "BARREL ADJUSTER")}
    said = {c["text"] for c in got["citations"] if c["kind"] == "transcript"}
    assert said == {"Mix flour and water.", "Turn the barrel adjuster."}


def test_the_next_slide_after_a_slide_asked_of_each_video_is_asked_of_each(tmp_path, monkeypatch):
    """ "What is on slide 1?" over two videos, then "and the next slide?": slide 2 of each
    video, not only of the first one cited."""
    from qa.chat import Conversation

    library = _two_talks(tmp_path, monkeypatch)
    try:
        _add_slides(library)
        chat = Conversation(backend="none")
        first = chat.ask("what is on slide 1?", library).answer
        assert {c.title for c in first.citations if c.kind == "ocr"} == {"bread", "gears"}
        second = chat.ask("and the next slide?", library).answer
        shown = {(c.title, c.text) for c in second.citations if c.kind == "ocr"}
        assert shown == {("bread", "MIXING"), ("gears", "BARREL ADJUSTER")}
    finally:
        library.close()


def test_how_many_slides_lists_each_slide_where_it_showed(tmp_path, monkeypatch):
    """ "How many slides are there?" was "Not found": it is the deck, counted as slides are
    counted, each slide cited where it showed; of each video with none chosen."""
    library = _two_talks(tmp_path, monkeypatch)
    try:
        none = _ask("how many slides are in the gears talk?")
        assert none["answer"].startswith("“gears” shows no slides with text on screen"), none
        assert none["citations"] == []
        anywhere = _ask("how many slides are there?")
        assert anywhere["answer"].startswith("No video here shows slides with text on screen")
        _add_slides(library)
    finally:
        library.close()
    gears = _ask("how many slides are in the gears talk?")
    assert gears["answer"].splitlines() == [
        "“gears” (0:30) shows 2 slides with text on screen (counted by the text on them):",
        "[1] 0:00–0:15 GEARS",
        "[2] 0:15–0:30 BARREL ADJUSTER",
        "(The question points at “gears”.)",
    ]
    assert [(c["start"], c["end"], c["kind"]) for c in gears["citations"]] == [
        (0.0, 15.0, "ocr"),
        (15.0, 30.0, "ocr"),
    ]
    each = _ask("一共有几张幻灯片？")
    assert each["status"] == "per_video"
    assert "“bread”（0:30）有 2 张带文字的幻灯片（按屏幕上的文字计数）：" in each["answer"]
    assert {c["text"] for c in each["citations"]} == {"BREAD", "MIXING", "GEARS", "BARREL ADJUSTER"}
    one = _ask("list the slides", "--video", "bread")
    assert [c["text"] for c in one["citations"]] == ["BREAD", "MIXING"]
    assert "points at" not in one["answer"]


def test_the_deck_is_asked_for_not_slides_about_something():
    for asked in ("how many slides are there?", "list all the slides", "一共有几张幻灯片？"):
        assert asks_list(asked), asked
    for other in ("which slides mention glaciers?", "what is on slide 3?", "slide the dough in"):
        assert not asks_list(other), other


def test_the_slide_after_or_before_one_named_by_its_words(tmp_path, monkeypatch):
    """ "What is on the slide after the bread slide?" was a search for those words (it
    quoted the bread slide itself): it is the next slide counted, in the video where they are
    found; a slide named by words the videos never say is not found."""
    library = _two_talks(tmp_path, monkeypatch)
    try:
        _add_slides(library)
    finally:
        library.close()
    after = _ask("what is on the slide after the bread slide?")
    assert after["answer"].startswith(
        "Slide 2 of 2 (counted by the text on screen), at 0:10–0:20 in “bread”:"
    )
    assert [c["text"] for c in after["citations"] if c["kind"] == "ocr"] == ["MIXING"]
    before = _ask("which slide comes before the barrel adjuster?")
    assert before["answer"].startswith(
        "Slide 1 of 2 (counted by the text on screen), at 0:00–0:15 in “gears”:"
    )
    nowhere = _ask("what is on the slide after the pizza slide?")
    assert nowhere["status"] == "not_found" and nowhere["citations"] == []

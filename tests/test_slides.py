"""Slides asked by number ("slide 3", "the last slide", "第三张幻灯片"): counted as a viewer
counts them, one per run of on-screen text under one title (qa/slides.py). The answer on a
real slide lecture with real OCR is in test_visual_index.py."""

from __future__ import annotations

from types import SimpleNamespace

from index.records import Span, Video
from qa.slides import LAST, asked_slide, pick, slides_of


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


def test_a_slide_asked_of_a_library_is_answered_in_each_video_that_has_it(tmp_path, monkeypatch):
    """No video chosen: slide 2 of each video with on-screen text, each at its own time;
    a library without on-screen text says so instead of guessing."""
    import json
    from dataclasses import replace

    from media import srt_text
    from typer.testing import CliRunner

    from index.library import Library
    from ingest.pipeline import ingest_transcript
    from ui.cli import app
    from vidqa.settings import settings

    talks = {  # title -> (cues, slides as (start, end, title))
        "bread": (
            [(0, 9, "Welcome, today we bake bread."), (10, 19, "Mix flour and water.")],
            [(0, 10, "BREAD"), (10, 20, "MIXING")],
        ),
        "gears": (
            [(0, 14, "Let us tune the gears."), (15, 29, "Turn the barrel adjuster.")],
            [(0, 15, "GEARS"), (15, 30, "BARREL ADJUSTER")],
        ),
    }
    home = tmp_path / "home"
    monkeypatch.setenv("VIDQA_HOME", str(home))
    library = Library(replace(settings(), home=home))
    try:
        for title, (cues, _) in talks.items():
            (tmp_path / f"{title}.srt").write_text(srt_text(cues), encoding="utf-8")
            ingest_transcript(
                tmp_path / f"{title}.srt",
                video_id=title,
                title=title,
                duration=30.0,
                library=library,
            )
        no_slides = CliRunner().invoke(app, ["ask", "what is on slide 2?", "--json"])
        assert json.loads(no_slides.stdout)["answer"] == (
            "No video here shows a slide 2 (slides are counted by the text on them)."
        )
        for title, (_, shown) in talks.items():  # as OCR would have read them
            ocr = [Span(title, a, b, "ocr", t, "ocr", {"title": t}) for a, b, t in shown]
            library.add_spans(title, ocr, replace_kinds=("ocr",))
    finally:
        library.close()
    got = json.loads(CliRunner().invoke(app, ["ask", "what is on slide 2?", "--json"]).stdout)
    lines = got["answer"].splitlines()
    assert (
        lines[0] == "The question names a slide but not a video; slide 2 of each of the 2 videos:"
    )
    shown = {(c["title"], c["start"], c["text"]) for c in got["citations"] if c["kind"] == "ocr"}
    assert shown == {("bread", 10.0, "MIXING"), ("gears", 15.0, "BARREL ADJUSTER")}
    said = {c["text"] for c in got["citations"] if c["kind"] == "transcript"}
    assert said == {"Mix flour and water.", "Turn the barrel adjuster."}

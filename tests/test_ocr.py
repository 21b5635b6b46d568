"""ingest/ocr.py: normalisation, fuzzy dedupe, and rapidocr reading known words
(PIL-rendered frames, and the generated lecture's slides at the right times)."""

from __future__ import annotations

import numpy as np
import pytest
from media import find_font, load_timeline
from PIL import Image, ImageDraw, ImageFont

from ingest.frames import SceneDetector, representative_frames, sample_frames
from ingest.ocr import (
    SOURCE,
    OcrSpan,
    OcrText,
    dedupe_ocr,
    normalise_text,
    ocr_frames,
    ocr_spans,
    ocr_video,
    similar,
)
from vidqa.decode import FrameBatch
from vidqa.probe import probe


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("STEP3", "STEP 3"),
        ("STEP3NEURAL  NETWORKS", "STEP 3 NEURAL NETWORKS"),
        ("over12layers", "over 12 layers"),
        ("3Steps", "3 Steps"),
        ("H264 mp4 3D 2nd", "H264 mp4 3D 2nd"),  # short letter runs stay one token
        ("ＳＴＥＰ３\n  next\tline ", "STEP 3 next line"),
        ("2023年度报告", "2023年度报告"),  # Chinese is written without spaces: none added
        ("第3章Python列表", "第3章Python列表"),
    ],
)
def test_normalise_text(raw, expected):
    assert normalise_text(raw) == expected


def test_similar_is_fuzzy_and_case_blind():
    assert similar("STEP 3 NEURAL NETWORKS", "step 3 neural netw0rks")
    assert not similar("STEP 3 NEURAL NETWORKS", "STEP 4 VOLCANOES")
    assert not similar("", "STEP 4")


def test_dedupe_merges_runs_and_ends_spans_at_the_next_change():
    items = [
        OcrText(0, "STEP 1 A"),
        OcrText(2, "STEP 1 A"),
        OcrText(4, "STEP l A"),
        OcrText(6, ""),
        OcrText(8, "STEP 2 B"),
        OcrText(20, "STEP 2 B, longer read"),
        OcrText(22, "STEP 1 A"),
    ]
    spans = dedupe_ocr(items, interval=2.0)
    assert spans == [
        OcrSpan(0, 6, "STEP 1 A"),
        OcrSpan(8, 20, "STEP 2 B"),
        OcrSpan(20, 22, "STEP 2 B, longer read"),
        OcrSpan(22, 24, "STEP 1 A"),
    ]
    assert dedupe_ocr([], interval=2.0) == []
    with pytest.raises(ValueError, match="interval"):
        dedupe_ocr(items, interval=0)
    (span,) = ocr_spans("vid1", spans[:1])
    assert (span.kind, span.start, span.end, span.source) == ("ocr", 0, 6, SOURCE)


def test_a_frame_read_as_empty_between_two_reads_of_one_slide_does_not_split_it():
    """A transition between two sentences said under one slide reads as no text: the slide
    is one span (one citation, one slide when counted), not two; a longer gap, or another
    slide after the empty read, still ends it."""
    items = [
        OcrText(40, "ACTION ITEMS"),  # scene representatives: sparse where nothing changes
        OcrText(44, ""),  # the transition
        OcrText(46, "ACTION ItEmS"),
        OcrText(48, ""),
        OcrText(50, "NEXT STEPS"),
        OcrText(52, ""),
        OcrText(54, ""),
        OcrText(60, "NEXT STEPS"),  # back after a long cut: shown again
    ]
    spans = dedupe_ocr(items, interval=2.0)
    assert [(s.start, s.end, s.text.upper()) for s in spans] == [
        (40, 48, "ACTION ITEMS"),
        (50, 52, "NEXT STEPS"),
        (60, 62, "NEXT STEPS"),
    ]


def _slide(text: str, size=(640, 360)) -> np.ndarray:
    image = Image.new("RGB", size, (31, 78, 121))
    draw = ImageDraw.Draw(image)
    path = find_font()
    font = ImageFont.truetype(path, 30) if path else ImageFont.load_default(size=30)
    draw.text((60, 160), text, font=font, fill="white")
    return np.asarray(image)


def test_ocr_reads_rendered_words_at_their_times():
    frames = [
        _slide("STEP 3 NEURAL NETWORKS"),
        _slide("STEP 3 NEURAL NETWORKS"),
        np.full((360, 640, 3), 32, np.uint8),
        _slide("ARCHITECTURE DIAGRAM"),
    ]
    batch = FrameBatch(
        np.stack(frames), np.array([10.0, 12.0, 14.0, 16.0]), np.arange(4), 25.0, "test"
    )
    items = ocr_frames(batch)
    assert [i.time for i in items] == [10.0, 12.0, 14.0, 16.0]
    assert "STEP 3" in items[0].text and "NEURAL" in items[0].text and items[2].text == ""
    assert items[0].score > 0.8 and len(items[0].boxes) == 1
    xs = [x for x, _ in items[0].boxes[0]]
    assert 0.05 < min(xs) < max(xs) < 1.0  # boxes are fractions of the frame width
    spans = dedupe_ocr(items, interval=2.0)
    assert [(s.start, s.end) for s in spans] == [(10.0, 14.0), (16.0, 18.0)]
    assert "ARCHITECTURE" in spans[1].text


def test_lecture_slides_are_read_at_the_right_times(lecture):
    """Scene representatives -> OCR at full size -> spans that cover each slide's time."""
    timeline = load_timeline(lecture)
    detector = SceneDetector()
    reps = representative_frames(sample_frames(lecture, probe(lecture), fps=0.5), detector=detector)
    times = np.concatenate([r.times for r in reps])
    spans = dedupe_ocr(ocr_video(lecture, times), interval=2.0)
    for n, slide in enumerate(timeline, 1):
        hits = [s for s in spans if f"STEP {n}" in s.text]
        assert hits, f"STEP {n} not read; spans: {spans}"
        first_word = slide["slide"].split()[2][:5]
        assert any(first_word in s.text for s in hits)
        middle = (slide["start"] + slide["end"]) / 2
        assert any(s.start - 2.1 <= middle <= s.end + 2.1 for s in hits)
        assert all(slide["start"] - 0.1 <= s.start <= slide["end"] for s in hits)


def test_a_line_added_under_the_same_slide_starts_a_new_span():
    slide = "Why Volcanoes Erupt\nmagma, pressure and lava"
    items = [
        OcrText(0, slide),
        OcrText(20, slide + "\nSample XK-4471"),
        OcrText(40, slide),
        OcrText(42, slide.replace("magma", "rnagma")),
    ]  # OCR noise is still the same text
    spans = dedupe_ocr(items, interval=2.0)
    assert [(s.start, s.end) for s in spans] == [(0, 20), (20, 40), (40, 44)]
    assert "XK-4471" in spans[1].text


def test_slide_title_is_the_large_or_set_apart_upper_line():
    from ingest.ocr import title_of

    def box(top, height):
        return [(0.1, top), (0.9, top), (0.9, top + height), (0.1, top + height)]

    slide = OcrText(
        0,
        "Why Volcanoes Erupt\nmagma and lava\nXK-4471",
        boxes=[box(0.12, 0.1), box(0.45, 0.07), box(0.75, 0.07)],
        lines=["Why Volcanoes Erupt", "magma and lava", "XK-4471"],
    )
    assert title_of(slide) == "Why Volcanoes Erupt"
    spaced = OcrText(
        0,
        "How Plants Make Food\nchloroplasts and light",  # same height, set apart
        boxes=[box(0.14, 0.09), box(0.46, 0.09)],
        lines=["How Plants Make Food", "chloroplasts and light"],
    )
    assert title_of(spaced) == "How Plants Make Food"
    menu = OcrText(
        0,
        "",
        boxes=[box(0.02, 0.04), box(0.07, 0.04)],
        lines=["File Edit Image Layer", "Select Filter View"],
    )
    assert title_of(menu) == ""  # a menu bar right on top of a toolbar is not a title
    lone = OcrText(0, "STEP 4 VOLCANOES", boxes=[box(0.45, 0.1)], lines=["STEP 4 VOLCANOES"])
    assert title_of(lone) == "STEP 4 VOLCANOES"
    # a Chinese title of two characters is a whole word ("magma"); two Latin letters are noise
    magma = OcrText(0, "岩浆", boxes=[box(0.45, 0.1)], lines=["岩浆"])
    assert title_of(magma) == "岩浆"
    noise = OcrText(0, "ab", boxes=[box(0.45, 0.1)], lines=["ab"])
    assert title_of(noise) == ""
    said = "今天我们来讨论火山为什么会喷发以及岩浆是怎样从地下深处一路上升到地表的"  # a sentence
    assert title_of(OcrText(0, said, boxes=[box(0.45, 0.1)], lines=[said])) == ""
    (span,) = dedupe_ocr([slide], interval=2.0)
    assert span.title == "Why Volcanoes Erupt"
    assert ocr_spans("v", [span])[0].extra == {"title": "Why Volcanoes Erupt"}

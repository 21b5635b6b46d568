"""On-screen text: OCR of frames (rapidocr, PP-OCRv4 shipped in its wheel) into
timestamped text spans.

    ocr_frames(batch)            -> [OcrText(time, text, boxes, score, lines)] per frame
    ocr_video(path, times)       -> the same, decoding frames at OCR_MAX_SIDE
    dedupe_ocr(items, interval=) -> [OcrSpan(start, end, text)] one per stretch of same text
    ocr_spans(video_id, spans)   -> index.records.Span(kind="ocr")

Recognition needs resolution: text under ~30 px tall loses its spaces ("STEP 3"
reads "STEP3"), so decode OCR frames larger than the CLIP/scene frames and
normalise text (`normalise_text`) before it is indexed; keyword search must
normalise queries with the same function.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from index.records import Span
from vidqa.decode import FrameBatch, iter_frames
from vidqa.text import CJK, CJK_CHAR

OCR_MAX_SIDE = 1280  # px: frames are decoded this large for OCR (recognition crops keep it)
DET_LIMIT_SIDE = 640  # px: the detector sees the frame shrunk to this longest side
MIN_LINE_SCORE = 0.6  # recognition confidence below which a line is dropped
MIN_LINE_ALNUM = 2  # a line needs at least this many letters/digits to count
SIMILARITY = 0.8  # difflib ratio at or above which two frames show "the same" text
# The same text read again this soon (s) after a frame read as empty is still one span: a
# transition or a blurred frame between two sentences said under one slide.
BRIDGE_S = 4.0
OCR_BATCH = 8  # frames decoded at a time by ocr_video (memory: 8 x 1280x720x3 B = 22 MB)
SOURCE = "ocr:rapidocr-ppocrv4"  # Span.source for on-screen text
TITLE_TOP = 0.5  # a slide title starts in the upper half of the frame (fraction of height)
TITLE_MAX_WORDS = 12
TITLE_MIN_LETTERS = 3  # a shorter read ("ab", "x1") is noise, not a title
TITLE_GAP = 1.5  # or the top line has this many of its heights of space below it
TITLE_SIZE = 1.15  # with several lines, a title is this much taller than the others' median

# A run of >= 3 letters glued to digits, or digits glued to >= 3 letters: "STEP3", "3Steps".
# Not Chinese/Japanese: "2023年度报告" is written without spaces, and OCR reads it so.
_LETTER = f"(?:(?![{CJK}])[^\\W\\d_])"
_LETTERS_DIGITS = re.compile(f"({_LETTER}{{3,}})(?=\\d)|(\\d)(?={_LETTER}{{3,}})")
_SPACES = re.compile(r"\s+")


class OcrSpan(NamedTuple):
    start: float  # s
    end: float  # s
    text: str
    title: str = ""  # the slide title among the lines (title_of), "" when none stands out


@dataclass
class OcrText:
    time: float  # s, the frame's presentation time
    text: str  # normalised lines, top to bottom, joined by "\n"; "" when none
    boxes: list[list[tuple[float, float]]] = field(default_factory=list)  # quads, 0..1 of w/h
    score: float = 0.0  # mean recognition confidence of the kept lines
    lines: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- text


def normalise_text(text: str) -> str:
    """NFKC, letter/digit runs split ("STEP3" -> "STEP 3"), whitespace collapsed.

    Short letter runs stay glued ("H264", "3D", "2nd", "mp4") since they are
    usually one token.
    """
    text = unicodedata.normalize("NFKC", text)
    text = _LETTERS_DIGITS.sub(lambda m: (m.group(1) or m.group(2)) + " ", text)
    return _SPACES.sub(" ", text).strip()


def _keep_line(text: str, score: float) -> bool:
    return score >= MIN_LINE_SCORE and sum(c.isalnum() for c in text) >= MIN_LINE_ALNUM


def same_text(a: str, b: str, threshold: float = SIMILARITY) -> bool:
    """Two reads of the same screen: similar overall, and no line in one is missing from the
    other (a code or bullet that appears under a slide's text is new text, not noise)."""
    if not similar(a, b, threshold):
        return False
    lines_a, lines_b = a.split("\n"), b.split("\n")
    return all(any(similar(x, y, threshold) for y in lines_b) for x in lines_a) and all(
        any(similar(x, y, threshold) for x in lines_a) for y in lines_b
    )


def similar(a: str, b: str, threshold: float = SIMILARITY) -> bool:
    """Fuzzy equality of two OCR texts (case- and whitespace-insensitive)."""
    a, b = _SPACES.sub(" ", a.lower()), _SPACES.sub(" ", b.lower())
    if a == b:
        return True
    if not a or not b:
        return False
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= threshold


# ---------------------------------------------------------------- engine


@lru_cache(maxsize=1)
def _engine():
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR(det_limit_side_len=DET_LIMIT_SIDE, det_limit_type="max")


def _read_one(image: np.ndarray, time: float) -> OcrText:
    """OCR one RGB frame; lines sorted top to bottom, then left to right."""
    bgr = np.ascontiguousarray(image[..., ::-1])  # rapidocr takes arrays as BGR
    result, _ = _engine()(bgr, use_cls=False)  # slides are upright: skip the 180-degree check
    height, width = image.shape[:2]
    rows = []
    for quad, text, score in result or []:
        line = normalise_text(text)
        if _keep_line(line, float(score)):
            box = [(float(x) / width, float(y) / height) for x, y in quad]
            rows.append((box, line, float(score)))
    rows.sort(key=lambda r: (round(min(y for _, y in r[0]) * 20), min(x for x, _ in r[0])))
    lines = [line for _, line, _ in rows]
    return OcrText(
        time=time,
        text="\n".join(lines),
        boxes=[box for box, _, _ in rows],
        score=float(np.mean([s for _, _, s in rows])) if rows else 0.0,
        lines=lines,
    )


def ocr_frames(batch: FrameBatch) -> list[OcrText]:
    """One OcrText per frame of `batch` (text "" where nothing legible was found)."""
    return [_read_one(frame, float(t)) for frame, t in zip(batch.frames, batch.times, strict=True)]


def ocr_video(
    path: str | Path,
    times: Sequence[float],
    *,
    max_side: int = OCR_MAX_SIDE,
    batch: int = OCR_BATCH,
    backend: str = "auto",
) -> list[OcrText]:
    """OCR the frames nearest `times` (s), decoded at up to `max_side` px, in time order."""
    out: list[OcrText] = []
    for fb in iter_frames(path, times, batch=batch, max_side=max_side, backend=backend):
        out.extend(ocr_frames(fb))
    return out


# ---------------------------------------------------------------- titles


def _height(box: list[tuple[float, float]]) -> float:
    ys = [y for _, y in box]
    return max(ys) - min(ys)


def title_of(item: OcrText) -> str:
    """The slide title of a read: the upper, largest short line (or the only line), if any.

    A lone line anywhere short enough counts (a title slide); among several, the
    tallest in the upper half must stand out from the body text by TITLE_SIZE.
    """
    rows = [
        (box, line)
        for box, line in zip(item.boxes, item.lines, strict=False)
        if _words(line) <= TITLE_MAX_WORDS and _letters(line) >= TITLE_MIN_LETTERS
    ]
    if not rows or not item.boxes:
        return ""
    if len(item.lines) == 1:
        return rows[0][1]
    upper = [(box, line) for box, line in rows if min(y for _, y in box) < TITLE_TOP]
    if not upper:
        return ""
    box, line = max(upper, key=lambda r: _height(r[0]))
    others = [_height(b) for b in item.boxes if b is not box]
    if _height(box) >= TITLE_SIZE * float(np.median(others)):
        return line
    return _set_apart(item)


def _words(line: str) -> float:
    """Words in a line: Chinese and Japanese are written without spaces, so a line of them
    is one "word" to split(); two of their characters count as one (a word's usual length),
    and a 40-character sentence is not taken for a title."""
    cjk = len(CJK_CHAR.findall(line))
    return len(CJK_CHAR.sub(" ", line).split()) + cjk / 2


def _letters(line: str) -> int:
    """Letters in a line, a Chinese/Japanese/Korean character counting two: each is a
    syllable, and two make a whole title ("岩浆", "总结"), which three letters do not."""
    return sum(2 if CJK_CHAR.match(c) else 1 for c in line if c.isalpha())


def _set_apart(item: OcrText) -> str:
    """The top line when a gap of TITLE_GAP line heights separates it from the rest
    (a slide title over its body; a menu bar sits right on top of its toolbar)."""
    tops = sorted(
        (min(y for _, y in b), max(y for _, y in b), line)
        for b, line in zip(item.boxes, item.lines, strict=False)
    )
    (top, bottom, line), following = tops[0], tops[1][0]
    if top < TITLE_TOP and following - bottom >= TITLE_GAP * (bottom - top):
        return line if _words(line) <= TITLE_MAX_WORDS else ""
    return ""


# ---------------------------------------------------------------- spans


def dedupe_ocr(
    items: Iterable[OcrText],
    *,
    interval: float,
    similarity: float = SIMILARITY,
) -> list[OcrSpan]:
    """Merge consecutive frames showing the same text (`same_text`) into timestamped spans.

    `items`: every OCR'd frame, including those with no text (they end a span, unless
    the same text is read again within BRIDGE_S after: a missed read does not split a
    slide). A span ends at the next OCR'd frame that shows different text; the last
    span ends `interval` s (the sampling interval) after its last frame. So OCR
    every sampled frame, or the representative frames of every scene (a new
    scene then ends the span at the scene change). The longest reading of the
    text wins (a partial read of the same slide is usually shorter).
    """
    if interval <= 0:
        raise ValueError(f"interval is the sampling interval in seconds, got {interval}")
    spans: list[OcrSpan] = []
    current: list[OcrText] = []
    blank: OcrText | None = None  # a frame read as empty inside the current run
    for item in sorted(items, key=lambda i: i.time):
        soon = bool(current) and (blank is None or item.time - blank.time <= BRIDGE_S)
        if soon and item.text and same_text(current[-1].text, item.text, similarity):
            current.append(item)  # the same text again: a missed read does not split it
            blank = None
            continue
        if current and not item.text and blank is None:
            blank = item  # ends the run, unless the same text is read again soon after
            continue
        if current:
            spans.append(_close(current, (blank or item).time))
        current, blank = ([item] if item.text else []), None
    if current:
        spans.append(_close(current, blank.time if blank else current[-1].time + interval))
    return spans


def _close(run: list[OcrText], end: float) -> OcrSpan:
    best = max(run, key=lambda i: (len(i.text), i.score))
    return OcrSpan(run[0].time, max(end, run[0].time), best.text, title_of(best))


def ocr_spans(video_id: str, spans: Iterable[OcrSpan], source: str = SOURCE) -> list:
    """index.records.Span(kind="ocr") for each deduplicated span."""

    return [
        Span(
            video_id=video_id,
            start=s.start,
            end=s.end,
            kind="ocr",
            text=s.text,
            source=source,
            extra={"title": s.title} if s.title else {},
        )
        for s in spans
    ]

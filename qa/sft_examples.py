"""Fine-tuning examples from what the library knows about a video: a clip, a question, an answer.

Pure functions over stored spans, no I/O (qa/export.py cuts the clips and writes the files):
  chapter_examples -> "Summarise this part of the video." -> the chapter summary
  timed_examples   -> "What is said between 0:12 and 0:31?" -> those sentences (clip-relative times)
  ocr_examples     -> "What text is shown on screen?" -> the on-screen text
  split_videos     -> train/val by video, never one video in both
Every example's clip is [start, end] of its source video, never longer than `max_s`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from index.records import Span
from index.windows import sentences_of
from vidqa.text import join_words
from vidqa.timefmt import fmt_ts

ExampleKind = Literal["chapters", "timed", "ocr"]
EXAMPLE_KINDS: tuple[ExampleKind, ...] = ("chapters", "timed", "ocr")
SUMMARISE_PROMPT = "Summarise this part of the video."
SAID_PROMPT = "What is said between {start} and {end}?"
OCR_PROMPT = "What text is shown on screen?"
MIN_CLIP_S = 1.0  # s: a shorter moment gets this much video (2 frames at the usual 2 fps)
USER_SOURCE = "user"  # Span.source of a chapter a person wrote or edited
VLM_SOURCE_PREFIX = "vlm:"


@dataclass(frozen=True)
class Example:
    """One training example: a clip of `video_id` ([start, end], absolute s), asked and answered."""

    video_id: str
    kind: ExampleKind
    start: float
    end: float
    prompt: str  # the user turn, without the <video> tag
    answer: str
    source: str  # where the answer came from (Span.source)

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Sentence:
    start: float  # absolute s
    end: float
    text: str


@dataclass
class Examples:
    """A video's examples and what was left out (one line each, for the user)."""

    items: list[Example]
    notes: list[str]


def clip_bounds(start: float, end: float, duration: float, max_s: float) -> tuple[float, float]:
    """[start, end] inside the video, at least MIN_CLIP_S (where the video allows), at most max_s."""
    start = max(0.0, min(start, duration))
    end = min(max(end, start + MIN_CLIP_S), start + max_s, duration)
    if end - start < MIN_CLIP_S:  # a moment in the video's last second: reach back instead
        start = max(0.0, end - MIN_CLIP_S)
    return round(start, 3), round(end, 3)


# --- chapters -------------------------------------------------------------------------


def trusted_chapter(source: str) -> bool:
    """A chapter summary worth learning from: written by the VLM, or by a person."""
    return source.startswith(VLM_SOURCE_PREFIX) or source == USER_SOURCE


def chapter_examples(
    video_id: str,
    chapters: list[Span],
    duration: float,
    max_s: float,
    include_fallback: bool = False,
) -> Examples:
    """One example per chapter with a summary that fits in one clip.

    A chapter longer than `max_s` is skipped, not split: its summary describes all of
    it, so no shorter clip would be answered truthfully by it.
    """
    items, skipped_long, skipped_source = [], 0, 0
    for span in chapters:
        summary = str(span.extra.get("summary") or "").strip()
        if not summary:
            continue
        if not include_fallback and not trusted_chapter(span.source):
            skipped_source += 1
            continue
        if span.end - span.start > max_s:
            skipped_long += 1
            continue
        start, end = clip_bounds(span.start, span.end, duration, max_s)
        items.append(
            Example(video_id, "chapters", start, end, SUMMARISE_PROMPT, summary, span.source)
        )
    notes = []
    if skipped_source:
        notes.append(
            f"{skipped_source} chapters from the transcript fallback skipped (not "
            "written by a VLM or a person; --include-fallback adds them)"
        )
    if skipped_long:
        notes.append(
            f"{skipped_long} chapters longer than {max_s:g} s skipped, not split (a "
            "summary describes the whole chapter; raise --max-clip-s to include them)"
        )
    return Examples(items, notes)


# --- transcript -----------------------------------------------------------------------


def span_sentences(span: Span) -> list[Sentence]:
    """A transcript span's sentences, timed: the same split search cites (index.windows)."""
    return [Sentence(start, end, text) for start, end, text in sentences_of(span) if text.strip()]


def sentence_windows(sentences: list[Sentence], max_s: float) -> tuple[list[list[Sentence]], int]:
    """Consecutive sentences packed greedily into windows of at most `max_s` seconds.

    Returns (windows, how many single sentences were longer than max_s and left out).
    """
    windows: list[list[Sentence]] = []
    current: list[Sentence] = []
    too_long = 0
    for sentence in sentences:
        if sentence.end - sentence.start > max_s:
            too_long += 1
            continue
        if current and sentence.end - current[0].start > max_s:
            windows.append(current)
            current = []
        current.append(sentence)
    if current:
        windows.append(current)
    return windows, too_long


def timed_examples(
    video_id: str, transcript: list[Span], duration: float, max_s: float, rng: random.Random
) -> Examples:
    """One example per sentence window: the clip is the window, the question asks for a run of
    its sentences by clip-relative time (whole seconds), the answer is what is said then."""
    sentences = [s for span in transcript for s in span_sentences(span)]
    windows, too_long = sentence_windows(sentences, max_s)
    items = []
    for window in windows:
        start, end = clip_bounds(window[0].start, window[-1].end, duration, max_s)
        first = rng.randrange(len(window))
        last = rng.randrange(first, len(window))
        asked = window[first : last + 1]
        # whole seconds, as people ask; rounding moves each end by at most 0.5 s
        ask_start, ask_end = round(asked[0].start - start), round(asked[-1].end - start)
        prompt = SAID_PROMPT.format(start=fmt_ts(max(0, ask_start)), end=fmt_ts(ask_end))
        answer = join_words([s.text.strip() for s in asked])
        items.append(Example(video_id, "timed", start, end, prompt, answer, transcript[0].source))
    notes = (
        [f"{too_long} sentences longer than {max_s:g} s left out of transcript examples"]
        if too_long
        else []
    )
    return Examples(items, notes)


# --- on-screen text -------------------------------------------------------------------


def ocr_examples(video_id: str, ocr: list[Span], duration: float, max_s: float) -> Examples:
    """One example per stretch of on-screen text (the first max_s seconds of a longer one)."""
    items = []
    for span in ocr:
        text = span.text.strip()
        if not text:
            continue
        start, end = clip_bounds(span.start, span.end, duration, max_s)
        items.append(Example(video_id, "ocr", start, end, OCR_PROMPT, text, span.source))
    return Examples(items, [])


# --- splitting --------------------------------------------------------------------------


def split_videos(video_ids: list[str], val: float, seed: int) -> tuple[list[str], list[str]]:
    """(train, val) video ids: shuffled by `seed`, about `val` of them held out, never both.

    With two or more videos and val > 0 at least one video is held out and one kept.
    """
    if not 0 <= val < 1:
        raise ValueError(f"val is the fraction of videos held out, 0 <= val < 1, got {val}")
    ids = sorted(set(video_ids))
    random.Random(seed).shuffle(ids)
    n_val = 0
    if val > 0 and len(ids) >= 2:
        n_val = min(len(ids) - 1, max(1, round(val * len(ids))))
    return sorted(ids[n_val:]), sorted(ids[:n_val])

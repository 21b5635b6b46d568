"""Transcript -> searchable spans of about 15 s, cut at sentence ends and pauses.

Pure functions over `Transcript`, no I/O. Steps:
  1. words: ASR word timings, or (for subtitles) words timed proportionally by
     characters inside their cue;
  2. pieces: sentences, split at sentence punctuation (also CJK 。！？), at pauses
     longer than `max_gap`, and into parts when one sentence is longer than `max_s`;
  3. spans: pieces merged greedily towards `target_s`, closing at a sentence end
     when that is nearest the target, never across a pause, never over `max_s`;
     then spans shorter than `min_s` join a neighbour when they can.
"""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass, replace
from itertools import pairwise

from index.records import Span, Word
from vidqa.text import CJK, ends_sentence, join_words, spaced_by_rule

TARGET_S = 15.0  # preferred span length (s): a few sentences, one idea
MAX_S = 30.0  # hard cap (s): a citation should point at a moment, not a chapter
MIN_S = 3.0  # shorter spans join a neighbour when a pause and MAX_S allow (s)
MAX_GAP_S = 2.0  # a silence longer than this ends a span (s)
WORD_TIME_DECIMALS = 2  # extra["words"] times, rounded to 10 ms

# Whitespace-separated tokens, with CJK runs broken into single characters.
TOKEN = re.compile(f"[{CJK}]|[^\\s{CJK}]+")


@dataclass
class Piece:
    """A sentence, or part of one, about to be merged into a span."""

    start: float
    end: float
    words: list[Word]
    final: bool  # ends a sentence: a good place to end a span
    timed: bool  # word times are real (ASR), not spread over a subtitle cue

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def text(self) -> str:
        return join_words([w.text for w in self.words], [w.space for w in self.words])


# --- text helpers -----------------------------------------------------------------


def spread_words(start: float, end: float, text: str) -> list[Word]:
    """Tokens of `text` timed in proportion to their character offsets in [start, end]."""
    matches = list(TOKEN.finditer(text))
    if not matches:
        return []
    length = len(text)
    duration = max(0.0, end - start)
    return [
        Word(
            start + duration * m.start() / length,
            start + duration * m.end() / length,
            m.group(),
            text[m.start() - 1].isspace() if m.start() else None,
        )
        for m in matches
    ]


# --- pieces -----------------------------------------------------------------------


def _segment_words(segment) -> tuple[list[Word], bool]:
    if segment.words:
        return list(segment.words), True
    return spread_words(segment.start, segment.end, segment.text), False


def split_sentences(words: list[Word], max_gap: float, timed: bool) -> list[Piece]:
    """Cut after sentence punctuation and at pauses longer than `max_gap`."""
    pieces: list[Piece] = []
    current: list[Word] = []
    for word in words:
        if current and word.start - current[-1].end > max_gap:
            pieces.append(Piece(current[0].start, current[-1].end, current, False, timed))
            current = []
        current.append(word)
        if ends_sentence(word.text):
            pieces.append(Piece(current[0].start, word.end, current, True, timed))
            current = []
    if current:
        pieces.append(Piece(current[0].start, current[-1].end, current, False, timed))
    return pieces


def split_long(piece: Piece, target_s: float, max_s: float) -> list[Piece]:
    """Cut a piece longer than `max_s` at word boundaries into near-equal parts of
    about `target_s`, each at most `max_s`.

    A single word longer than `max_s` (whisper sometimes stretches the first word
    after a silence) keeps its end and loses the excess at its start.
    """
    if piece.duration <= max_s:
        return [piece]
    words = [
        w if w.end - w.start <= max_s else replace(w, start=w.end - max_s) for w in piece.words
    ]
    duration = words[-1].end - words[0].start
    parts = max(math.ceil(duration / max_s), round(duration / target_s))
    share = duration / parts
    out: list[Piece] = []
    current: list[Word] = []
    for word in words:
        too_long = current and word.end - current[0].start > max_s
        if current and (too_long or current[-1].end - current[0].start >= share):
            out.append(Piece(current[0].start, current[-1].end, current, False, piece.timed))
            current = []
        current.append(word)
    out.append(Piece(current[0].start, current[-1].end, current, piece.final, piece.timed))
    return out


def make_pieces(segments, target_s: float, max_s: float, max_gap: float) -> list[Piece]:
    pieces: list[Piece] = []
    for segment in segments:
        words, timed = _segment_words(segment)
        for piece in split_sentences(words, max_gap, timed):
            pieces.extend(split_long(piece, target_s, max_s))
    return sorted(pieces, key=lambda p: (p.start, p.end))


# --- merging ----------------------------------------------------------------------


def _should_close(
    group: list[Piece], piece: Piece, target_s: float, max_s: float, max_gap: float
) -> bool:
    start, end = group[0].start, max(p.end for p in group)
    current, merged = end - start, max(end, piece.end) - start
    if piece.start - end > max_gap or merged > max_s:
        return True
    if group[-1].final:  # a sentence end: stop here if that is nearest the target
        return abs(merged - target_s) > abs(current - target_s)
    return current >= target_s  # mid-sentence: only stop once the target is reached


def group_pieces(
    pieces: list[Piece], target_s: float, max_s: float, max_gap: float
) -> list[list[Piece]]:
    groups: list[list[Piece]] = []
    for piece in pieces:
        if groups and not _should_close(groups[-1], piece, target_s, max_s, max_gap):
            groups[-1].append(piece)
        else:
            groups.append([piece])
    return groups


def _bounds(group: list[Piece]) -> tuple[float, float]:
    return group[0].start, max(p.end for p in group)


def _can_join(first: list[Piece], second: list[Piece], max_s: float, max_gap: float) -> bool:
    (start, end), (next_start, next_end) = _bounds(first), _bounds(second)
    return next_start - end <= max_gap and max(end, next_end) - start <= max_s


def absorb_short(
    groups: list[list[Piece]], min_s: float, max_s: float, max_gap: float
) -> list[list[Piece]]:
    """Join spans shorter than `min_s` to the previous span, else the next, when allowed."""
    out: list[list[Piece]] = []
    pending = deque(groups)
    while pending:
        group = pending.popleft()
        start, end = _bounds(group)
        if end - start < min_s:
            if out and _can_join(out[-1], group, max_s, max_gap):
                out[-1] = out[-1] + group
                continue
            if pending and _can_join(group, pending[0], max_s, max_gap):
                pending[0] = group + pending[0]
                continue
        out.append(group)
    return out


# --- spans ------------------------------------------------------------------------


def _check_options(target_s: float, max_s: float, min_s: float, max_gap: float) -> None:
    if not 0 <= min_s <= target_s <= max_s or target_s <= 0:
        raise ValueError(
            f"span lengths need 0 <= min_s <= target_s <= max_s and target_s > 0, got "
            f"min_s={min_s} s, target_s={target_s} s, max_s={max_s} s"
        )
    if max_gap < 0:
        raise ValueError(f"max_gap must be >= 0 s, got {max_gap} s")


def _earlier(t: float) -> float:
    """`t` rounded down to WORD_TIME_DECIMALS: a clip cut from a stored time never starts
    after the word or sentence does (rounding to nearest cut off its first 5 ms)."""
    scale = 10**WORD_TIME_DECIMALS
    return math.floor(round(t * scale, 6)) / scale


def _later(t: float) -> float:
    """`t` rounded up to WORD_TIME_DECIMALS: a stored end never cuts a word short."""
    scale = 10**WORD_TIME_DECIMALS
    return math.ceil(round(t * scale, 6)) / scale


def _to_span(group: list[Piece], video_id: str, source: str) -> Span:
    start, end = _bounds(group)
    words = [w for p in group for w in p.words]
    extra = {}
    if all(p.timed for p in group):
        extra["words"] = [
            _stored_word(w, before) for w, before in zip(words, [None, *words[:-1]], strict=True)
        ]
    else:  # subtitles: no word times, but each sentence keeps its cue's times
        extra["sentences"] = [[_earlier(p.start), _later(p.end), p.text] for p in group]
    return Span(
        video_id=video_id,
        start=round(float(start), 3),
        end=round(float(end), 3),
        kind="transcript",
        text=join_words([w.text for w in words], [w.space for w in words]),
        source=source,
        extra=extra,
    )


def _stored_word(word: Word, before: Word | None) -> list:
    """[start, end, text], and whether a space preceded it where the CJK rule would guess
    wrong (vidqa.text.join_stored_words reads it back)."""
    stored = [_earlier(word.start), _later(word.end), word.text]
    if (
        before is not None
        and word.space is not None
        and word.space != spaced_by_rule(before.text, word.text)
    ):
        stored.append(word.space)
    return stored


def _remove_overlaps(spans: list[Span]) -> list[Span]:
    """Overlapping subtitle cues can make neighbours overlap: end each at the next start."""
    for span, following in pairwise(spans):
        if span.end > following.start:
            span.end = max(span.start, following.start)
    return spans


def make_spans(
    transcript,
    video_id: str,
    *,
    target_s: float = TARGET_S,
    max_s: float = MAX_S,
    min_s: float = MIN_S,
    max_gap: float = MAX_GAP_S,
) -> list[Span]:
    """Time-ordered, non-overlapping transcript spans of about `target_s` seconds."""
    _check_options(target_s, max_s, min_s, max_gap)
    pieces = make_pieces(transcript.segments, target_s, max_s, max_gap)
    groups = absorb_short(group_pieces(pieces, target_s, max_s, max_gap), min_s, max_s, max_gap)
    spans = [_to_span(g, video_id, transcript.source) for g in groups]
    return _remove_overlaps(spans)

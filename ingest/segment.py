"""Where chapters begin, without a VLM: every signal ingest has, fused at sentence starts.

    sentences_from(segments)               -> [Sentence] (segments joined at sentence ends)
    find_boundaries(sentences, vectors, …) -> indices of the sentences that start a chapter
    texttiling_boundaries(sentences)       -> the same from nltk's TextTiling (the baseline)

Topic shifts come from change points in the sequence of sentence embeddings
(MiniLM, the indexing embedder): ruptures' kernel change-point detection finds
the segmentation that best separates the embeddings' means, with a penalty per
boundary so the number of chapters follows the content. The picture adds to it:
  - the slide title OCR read on screen joins each sentence's features, so a new
    title pulls a boundary to it;
  - a boundary within CUE_TOLERANCE_S of a new slide title, else a scene change,
    else a longer pause in speech, moves onto the sentence that starts there.
Without those cues (audio only, a screen recording with no slides) the text decides alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from vidqa.text import ends_sentence

PENALTY = 0.55  # per boundary, x mean squared spread x log(sentences): tuned on pstuts-dev
MIN_SIZE = 3  # sentences in the shortest chapter, at least
TITLE_WEIGHT = 0.5  # norm of the slide-title part of a sentence's features (embedding: 1)
TITLE_DIM = 64
CUE_LEAD_S = 1.0  # s: a sentence starting this soon before a slide change belongs to it
MAX_SENTENCE_S = 30.0  # s: an unpunctuated run of segments is cut into sentences this long
CUE_TOLERANCE_S = 10.0  # s: a boundary moves onto a slide/scene change or pause this close
PAUSE_FLOOR_S = 1.5  # s: silences up to this long say nothing about topics
PAUSE_SNAP_S, PAUSE_SNAP = 3.0, 2.0  # a boundary moves to a pause this long and this many
# times the silence where it is (shorter pauses are breaths, not topic changes)
MIN_CHAPTER_S = (10.0, 90.0)  # s, bounds of the shortest chapter (duration / 12 between)
MAX_CHAPTERS_PER_MIN = 1.0  # guard rail on a runaway penalty: one boundary per minute at most
SCENE_CUE_MIN_S = 20.0  # s: scene changes guide chapters only when scenes last this long on
# average (slides); in a cut-heavy camera video the nearest cut says nothing about topics


@dataclass(frozen=True)
class Sentence:
    start: float  # s
    end: float  # s
    text: str


@dataclass
class Cues:
    """What the picture says about where topics change (all times in s)."""

    scene_changes: list[float] = field(default_factory=list)
    titles: list[tuple[float, float, str]] = field(default_factory=list)  # OCR slide titles

    def title_changes(self) -> list[float]:
        """Times a different slide title appears (the first one excluded)."""
        out, last = [], None
        for start, _, title in sorted(self.titles):
            key = _title_key(title)
            if last is not None and key != last:
                out.append(start)
            last = key
        return out


def _title_key(title: str) -> str:
    return re.sub(r"\W+", "", title.lower())


# --- sentences


def sentences_from(segments, start: float = 0.0, end: float = float("inf")) -> list[Sentence]:
    """Segments in [start, end) joined into sentences: cut after sentence punctuation,
    at a pause longer than PAUSE_FLOOR_S, or when a run reaches MAX_SENTENCE_S."""
    from vidqa.text import join_words

    out: list[Sentence] = []
    run: list = []
    for seg in segments:
        text = (seg.text or "").strip()
        if not text or seg.end <= start or seg.start >= end:
            continue
        if run and (seg.start - run[-1].end > PAUSE_FLOOR_S
                    or seg.end - run[0].start > MAX_SENTENCE_S):
            out.append(_sentence(run, join_words))
            run = []
        run.append(seg)
        if ends_sentence(text):
            out.append(_sentence(run, join_words))
            run = []
    if run:
        out.append(_sentence(run, join_words))
    return out


def _sentence(run, join) -> Sentence:
    return Sentence(float(run[0].start), float(run[-1].end), join([s.text.strip() for s in run]))


# --- change points


def _title_vectors(starts: np.ndarray, titles: Sequence[tuple[float, float, str]], dim: int
                   ) -> np.ndarray:
    """One fixed random unit vector per slide title, on the sentences spoken under it."""
    import zlib

    out = np.zeros((len(starts), dim))
    for start, end, title in titles:
        rng = np.random.default_rng(zlib.crc32(_title_key(title).encode()))
        vector = rng.standard_normal(dim)
        inside = (starts >= start - CUE_TOLERANCE_S) & (starts < end)
        out[inside] = vector / np.linalg.norm(vector)
    return out


def features(sentences: Sequence[Sentence], vectors: np.ndarray, cues: Cues) -> np.ndarray:
    """Sentence embeddings, plus the slide title on screen (weighted) when OCR read one."""
    x = np.asarray(vectors, np.float64)
    if cues.titles:
        starts = np.array([s.start for s in sentences])
        x = np.hstack([x, TITLE_WEIGHT * _title_vectors(starts, cues.titles, TITLE_DIM)])
    return x


def change_points(x: np.ndarray, min_size: int, penalty: float | None = None) -> list[int]:
    """Optimal segmentation of the rows of `x` (ruptures' kernel change-point detection
    with a linear kernel: least squares around each segment's mean), penalised per
    boundary by PENALTY x the rows' mean squared spread x log(rows)."""
    import ruptures

    n = len(x)
    spread = float(((x - x.mean(axis=0)) ** 2).sum(axis=1).mean())
    pen = (PENALTY if penalty is None else penalty) * max(spread, 1e-6) * np.log(n)
    found = ruptures.KernelCPD(kernel="linear", min_size=min_size).fit(x).predict(pen=pen)
    return [i for i in found if 0 < i < n]


def min_chapter_s(duration: float) -> float:
    low, high = MIN_CHAPTER_S
    return min(max(duration / 12, low), high)


def _snap(i: int, starts: np.ndarray, gaps: np.ndarray, cues: Cues, changes: list[float]) -> int:
    """Move boundary i onto the sentence starting at a nearby slide title change, else a scene
    change, else the longest pause, all within CUE_TOLERANCE_S of it."""
    t = starts[i]
    for events in (changes, cues.scene_changes):
        near = [e for e in events if abs(e - t) <= CUE_TOLERANCE_S]
        if near:
            e = min(near, key=lambda e: abs(e - t))
            after = int(np.searchsorted(starts, e - CUE_LEAD_S))  # first sentence under it
            if 0 < after < len(starts):
                return after
    window = np.flatnonzero(np.abs(starts - t) <= CUE_TOLERANCE_S)
    best = max(window, key=lambda j: gaps[j], default=i)
    return int(best) if gaps[best] > max(PAUSE_SNAP * gaps[i], PAUSE_SNAP_S) else i


def find_boundaries(sentences: Sequence[Sentence], vectors: np.ndarray,
                    span: tuple[float, float], cues: Cues | None = None,
                    penalty: float | None = None) -> tuple[list[int], list[str]]:
    """(indices of sentences that start a new chapter, the signals used)."""
    cues = _informative(cues or Cues(), span)
    if len(sentences) < 2 * MIN_SIZE:
        return [], ["transcript"]
    starts = np.array([s.start for s in sentences])
    gaps = np.array([0.0] + [b.start - a.end for a, b in pairwise(sentences)])
    length = span[1] - span[0]
    per_sentence = max(length / len(sentences), 1e-3)
    min_size = max(MIN_SIZE, round(min_chapter_s(length) / per_sentence))
    if len(sentences) < 2 * min_size:
        return [], ["transcript"]
    found = change_points(features(sentences, vectors, cues), min_size, penalty)
    changes = cues.title_changes()
    cap = int(length / 60 * MAX_CHAPTERS_PER_MIN)
    found = sorted(found, key=lambda i: -_strength(i, starts, changes, cues))[:cap]
    snapped = sorted({_snap(i, starts, gaps, cues, changes) for i in found})
    used = ["transcript", *(["ocr"] if cues.titles else []),
            *(["scenes"] if cues.scene_changes else []),
            *(["pauses"] if (gaps > PAUSE_FLOOR_S).any() else [])]
    return snapped, used


def _informative(cues: Cues, span: tuple[float, float]) -> Cues:
    """The cues, without scene changes when there are too many of them to mean anything."""
    inside = [t for t in cues.scene_changes if span[0] < t < span[1]]
    if len(inside) > (span[1] - span[0]) / SCENE_CUE_MIN_S:
        return Cues(scene_changes=[], titles=cues.titles)
    return Cues(scene_changes=inside, titles=cues.titles)


def _strength(i: int, starts: np.ndarray, changes: list[float], cues: Cues) -> int:
    """How many picture cues back boundary i (ranks boundaries when there are too many)."""
    t = starts[i]
    return sum(any(abs(e - t) <= CUE_TOLERANCE_S for e in events)
               for events in (changes, cues.scene_changes))


# --- the baseline


def texttiling_boundaries(sentences: Sequence[Sentence], stopwords: Sequence[str]) -> list[int]:
    """nltk's TextTiling (Hearst 1997) over the sentences as paragraphs: the classic baseline.

    nltk wants its stopwords corpus, which cannot be downloaded offline: pass a list.
    """
    from nltk.tokenize.texttiling import TextTilingTokenizer

    text = "\n\n".join(s.text.replace("\n", " ") for s in sentences)
    try:
        tiles = TextTilingTokenizer(stopwords=list(stopwords)).tokenize(text)
    except ValueError:  # too short to tile ("No paragraph breaks were found" etc.)
        return []
    out, count = [], 0
    for tile in tiles[:-1]:
        count += len([p for p in re.split(r"\n\s*\n", tile) if p.strip()])
        out.append(count)
    return [i for i in out if 0 < i < len(sentences)]

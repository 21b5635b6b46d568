"""Where chapters begin, without a VLM: every signal ingest has, fused at sentence starts.

    sentences_from(segments)               -> [Sentence] (segments joined at sentence ends)
    find_boundaries(sentences, vectors, …) -> indices of the sentences that start a chapter
    texttiling_boundaries(sentences)       -> the same from nltk's TextTiling (the baseline)

Topic shifts come from change points in the sequence of sentence embeddings
(MiniLM for English, e5 otherwise: index/text_model.for_texts): ruptures' kernel change-point detection finds
the segmentation that best separates the embeddings' means, with a penalty per
boundary so the number of chapters follows the content. The picture adds to it:
  - the slide title OCR read on screen joins each sentence's features, so a new
    title pulls a boundary to it;
  - a boundary within CUE_TOLERANCE_S of a new slide title, else a scene change,
    else a longer pause in speech, moves onto the sentence that starts there.
Without those cues (audio only, a screen recording with no slides) the text decides alone.

Chapters are at least min_chapter_s long (10-90 s), except where two independent signals
agree: a new slide title on screen and a change of subject in the sentences said under it
(slide_boundaries). Such a boundary may open a chapter down to SLIDE_MIN_CHAPTER_S, so a
talk that spends 7 s on each of eight slides gets eight chapters; video without slide titles
(camera, screen recordings) keeps the floor.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from vidqa.text import ends_sentence, join_words
from vidqa.vectors import unit_rows

SENTENCE_INSIDE = re.compile(r"[.!?。！？]\s*\S")  # a sentence end with more text after it

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
SLIDE_SYNC_S = 2.5  # s: a title change this close to a scene change is a slide change (OCR reads
# frames on a 2 s grid, scene changes land on keyframes)
SLIDE_MIN_CHAPTER_S = 5.0  # s: shortest chapter a confirmed slide change may open (a title is
# legible in well under that; below it a chapter is a flash, not a topic)
SHIFT_CONTEXT = 3  # sentences on each side of a slide change compared for a topic shift
SHIFT_PERCENTILE = 10  # of within-video positions: how unlike the talk must be either side
# Cosine between the mean embeddings of the 1, 2, 3 sentences either side at or below which
# the talk changed subject: the 10th percentile of adjacent positions inside one video on
# pstuts-dev (508 positions in its 11 videos of 6+ sentences), so a slide change within one
# subject passes for a topic change about 1 time in 10 (joins of two Photoshop tutorials pass
# ~1 in 4). Calibrated per kind of embedder by bench/shift_calibration.py:
SHIFT_MAX_SIMILARITY = (0.11, 0.28, 0.36)  # raw cosines of an isotropic embedder (MiniLM)
# An anisotropic embedder (multilingual-e5: any two sentences at 0.8-0.95, higher in Chinese
# than in English) has no raw threshold that holds across languages: its vectors are centred
# on the video's mean sentence first, which removes what every sentence shares (language,
# register), and compared with these (e5, centred):
SHIFT_MAX_CENTRED = (-0.17, -0.17, -0.22)
# Mean cosine between a video's sentences above which its embedder is anisotropic: MiniLM
# 0.23-0.34 per pstuts-dev video, e5 0.78-0.88 on any text (unrelated English topics too).
ANISOTROPIC = 0.55


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
    out: list[Sentence] = []
    run: list = []
    for seg in _sentence_pieces(segments):
        text = (seg.text or "").strip()
        if not text or seg.end <= start or seg.start >= end:
            continue
        if run and (
            seg.start - run[-1].end > PAUSE_FLOOR_S or seg.end - run[0].start > MAX_SENTENCE_S
        ):
            out.append(_sentence(run, join_words))
            run = []
        run.append(seg)
        if ends_sentence(text):
            out.append(_sentence(run, join_words))
            run = []
    if run:
        out.append(_sentence(run, join_words))
    return out


def _sentence_pieces(segments):
    """Each segment, or its sentences when ASR timed its words and it holds several (whisper
    joins sentences said without a long pause). A subtitle cue stays whole: its author's
    unit, and without word times a split would guess where the second sentence starts."""
    for seg in segments:
        words = list(getattr(seg, "words", None) or ())
        if not words or not SENTENCE_INSIDE.search((seg.text or "").strip()):
            yield seg
            continue
        piece: list = []
        for word in words:
            piece.append(word)
            if ends_sentence(word.text) or word is words[-1]:
                yield Sentence(
                    float(piece[0].start),
                    float(piece[-1].end),
                    # as ASR spaced them: "$40" ",000" is "$40,000", not "$40 ,000"
                    join_words([w.text.strip() for w in piece], [w.space for w in piece]),
                )
                piece = []


def _sentence(run, join) -> Sentence:
    return Sentence(float(run[0].start), float(run[-1].end), join([s.text.strip() for s in run]))


# --- change points


def _title_vectors(
    starts: np.ndarray, titles: Sequence[tuple[float, float, str]], dim: int
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


def _snap(i: int, starts: np.ndarray, gaps: np.ndarray, cues: Cues, slides: list[int]) -> int:
    """Move boundary i onto the first sentence under a nearby new slide title (`slides`,
    from title_runs), else onto a scene change, else onto the longest pause, all within
    CUE_TOLERANCE_S of it."""
    t = starts[i]
    near = [j for j in slides if abs(starts[j] - t) <= CUE_TOLERANCE_S]
    if near:
        return min(near, key=lambda j: abs(starts[j] - t))
    near = [e for e in cues.scene_changes if abs(e - t) <= CUE_TOLERANCE_S]
    if near:
        e = min(near, key=lambda e: abs(e - t))
        after = int(np.searchsorted(starts, e - CUE_LEAD_S))  # first sentence under it
        if 0 < after < len(starts):
            return after
    window = np.flatnonzero(np.abs(starts - t) <= CUE_TOLERANCE_S)
    best = max(window, key=lambda j: gaps[j], default=i)
    return int(best) if gaps[best] > max(PAUSE_SNAP * gaps[i], PAUSE_SNAP_S) else i


def find_boundaries(
    sentences: Sequence[Sentence],
    vectors: np.ndarray,
    span: tuple[float, float],
    cues: Cues | None = None,
    penalty: float | None = None,
) -> tuple[list[int], list[str]]:
    """(indices of sentences that start a new chapter, the signals used).

    Change points in the text give chapters of at least min_chapter_s; slide changes the
    talk agrees with (slide_boundaries) may open shorter ones, down to SLIDE_MIN_CHAPTER_S.
    """
    raw = cues or Cues()
    cues = _informative(raw, span)
    if len(sentences) < 2:
        return [], ["transcript"]
    runs = title_runs(sentences, raw.titles)  # where each slide's sentences begin
    slides = slide_boundaries(sentences, vectors, raw, runs)
    text = _text_boundaries(sentences, vectors, span, cues, penalty, runs[1:-1])
    found = _merge(sentences, slides, text, min_chapter_s(span[1] - span[0]))
    gaps = [b.start - a.end for a, b in pairwise(sentences)]
    used = [
        "transcript",
        *(["ocr"] if cues.titles else []),
        *(["scenes"] if cues.scene_changes or slides else []),
        *(["pauses"] if any(g > PAUSE_FLOOR_S for g in gaps) else []),
    ]
    return found, used


def _text_boundaries(
    sentences: Sequence[Sentence],
    vectors: np.ndarray,
    span: tuple[float, float],
    cues: Cues,
    penalty: float | None,
    slides: list[int],
) -> list[int]:
    """Change points of the sentences' features, at least min_chapter_s apart, snapped
    (onto the first sentence under a new slide, `slides`, when one is near)."""
    if len(sentences) < 2 * MIN_SIZE:
        return []
    starts = np.array([s.start for s in sentences])
    gaps = np.array([0.0] + [b.start - a.end for a, b in pairwise(sentences)])
    length = span[1] - span[0]
    per_sentence = max(length / len(sentences), 1e-3)
    min_size = max(MIN_SIZE, round(min_chapter_s(length) / per_sentence))
    if len(sentences) < 2 * min_size:
        return []
    found = change_points(features(sentences, vectors, cues), min_size, penalty)
    changes = cues.title_changes()
    cap = int(length / 60 * MAX_CHAPTERS_PER_MIN)
    found = sorted(found, key=lambda i: -_strength(i, starts, changes, cues))[:cap]
    return sorted({_snap(i, starts, gaps, cues, slides) for i in found})


# --- slide changes the talk agrees with


def sentence_titles(
    sentences: Sequence[Sentence], titles: Sequence[tuple[float, float, str]]
) -> list[str]:
    """The slide title on screen for most of each sentence ("" when none was): OCR reads
    frames on a grid, so a title's span is only near the true slide times; most of a
    sentence is still under its own slide."""
    out = []
    for sentence in sentences:
        cover: dict[str, float] = {}
        for start, end, title in titles:
            overlap = min(end, sentence.end) - max(start, sentence.start)
            if overlap > 0:
                cover[title] = cover.get(title, 0.0) + overlap
        out.append(max(cover, key=cover.__getitem__) if cover else "")
    return out


def title_runs(
    sentences: Sequence[Sentence], titles: Sequence[tuple[float, float, str]]
) -> list[int]:
    """[0, the index of each sentence that starts under a new slide title, len(sentences)].
    Which slide a sentence is under comes from sentence_titles, not from when OCR first
    read the new title: frames are read on a grid, so the title is read up to a grid step
    after the slide changed, often after the sentence that opened it had begun."""
    keys = [_title_key(t) for t in sentence_titles(sentences, titles)]
    for i in range(1, len(keys)):  # a sentence between slides stays with the one before
        keys[i] = keys[i] or keys[i - 1]
    return [
        0,
        *(i for i in range(1, len(keys)) if keys[i - 1] and keys[i] != keys[i - 1]),
        len(keys),
    ]


def slide_boundaries(
    sentences: Sequence[Sentence], vectors: np.ndarray, cues: Cues, runs: list[int]
) -> list[tuple[int, float]]:
    """(sentence index, similarity) where a new slide title comes with a topic shift in the
    talk: the sentences under the old title and under the new one (SHIFT_CONTEXT each side
    at most) are at most SHIFT_MAX_SIMILARITY alike. Two independent signals agreeing is
    what lets such a boundary open a chapter shorter than the usual floor. Video without
    slide titles (camera, screen recordings) gets none."""
    if not cues.titles:
        return []
    unit, limits = _comparable(vectors)
    out = []
    for before, at, after in zip(runs, runs[1:], runs[2:], strict=False):
        left = unit[max(before, at - SHIFT_CONTEXT) : at]
        right = unit[at : min(after, at + SHIFT_CONTEXT)]
        similarity = float(unit_rows(left.mean(axis=0)) @ unit_rows(right.mean(axis=0)))
        if similarity <= limits[min(len(left), len(right)) - 1]:
            out.append((at, similarity))
    return out


def _comparable(vectors: np.ndarray) -> tuple[np.ndarray, tuple[float, ...]]:
    """The sentence vectors as topic shifts are measured on, and the thresholds that go with
    them: unit rows for an isotropic embedder, centred ones for an anisotropic one."""
    unit = unit_rows(np.asarray(vectors, np.float64))
    if mean_cosine(unit) > ANISOTROPIC:
        return centred(unit), SHIFT_MAX_CENTRED
    return unit, SHIFT_MAX_SIMILARITY


def mean_cosine(unit: np.ndarray) -> float:
    """Mean cosine over all pairs of distinct unit rows (0 for fewer than two)."""
    n = len(unit)
    total = unit.sum(axis=0)
    return float((total @ total - n) / (n * (n - 1))) if n > 1 else 0.0


def centred(vectors: np.ndarray) -> np.ndarray:
    """Unit rows minus their mean: what sets sentences apart, without what they all share."""
    unit = unit_rows(np.asarray(vectors, np.float64))
    return unit - unit.mean(axis=0)


def _merge(
    sentences: Sequence[Sentence], slides: list[tuple[int, float]], text: list[int], floor: float
) -> list[int]:
    """Slide boundaries (clearest shift first) at least SLIDE_MIN_CHAPTER_S from each other
    and from the ends, then text boundaries at least `floor` from every slide boundary."""
    starts = [s.start for s in sentences]
    first, last = sentences[0].start, sentences[-1].end
    kept: list[int] = []
    for i, _ in sorted(slides, key=lambda item: item[1]):
        t = starts[i]
        if (
            t - first >= SLIDE_MIN_CHAPTER_S
            and last - t >= SLIDE_MIN_CHAPTER_S
            and all(abs(t - starts[j]) >= SLIDE_MIN_CHAPTER_S for j in kept)
        ):
            kept.append(i)
    extra = [i for i in text if i in kept or all(abs(starts[i] - starts[j]) >= floor for j in kept)]
    return sorted(set(kept) | set(extra))


def _informative(cues: Cues, span: tuple[float, float]) -> Cues:
    """The cues, without scene changes when there are too many of them to mean anything."""
    inside = [t for t in cues.scene_changes if span[0] < t < span[1]]
    if len(inside) > (span[1] - span[0]) / SCENE_CUE_MIN_S:
        return Cues(scene_changes=[], titles=cues.titles)
    return Cues(scene_changes=inside, titles=cues.titles)


def _strength(i: int, starts: np.ndarray, changes: list[float], cues: Cues) -> int:
    """How many picture cues back boundary i (ranks boundaries when there are too many)."""
    t = starts[i]
    return sum(
        any(abs(e - t) <= CUE_TOLERANCE_S for e in events)
        for events in (changes, cues.scene_changes)
    )


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

"""A long stretch of talk in a few of its own sentences, for answers without a VLM.

"Summarize 1:00:00-1:10:00" with no model to write a summary used to quote the first 600
characters of the range: the first minute of ten. Instead, each chapter the range overlaps
(its part inside the range) gives its most central sentences (closest to the part's mean
direction, as chapter summaries are chosen at ingest), in proportion to its share of the
range's sentences and at least one, and they are quoted in time order, each cited at its
own time. Vectors are the ones ingest stored for search (index/sentence_vectors.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from index.library import Library
from index.records import Span
from index.windows import sentences_of
from vidqa.vectors import central

KEY_SENTENCES = 6  # quoted at most for one range


@dataclass(frozen=True)
class Digest:
    sentences: list[Span]  # the key sentences, in time order, each its own span
    total: int  # sentences said in the range


def key_sentences(spans: list[Span], library: Library, k: int = KEY_SENTENCES) -> Digest:
    """The `k` sentences of the transcript `spans` (one video's, in time order) that best
    stand for them, spread over the chapters they belong to."""
    said = [
        replace(span, start=start, end=end, text=text, extra={})
        for span in spans
        if span.kind == "transcript"
        for start, end, text in sentences_of(span)
        if text.strip()
    ]
    if len(said) <= k:
        return Digest(said, len(said))
    vectors = library.sentence_vectors.vectors([(s.video_id, s.text) for s in said])
    chapters = library.spans(said[0].video_id, ("chapter",))
    parts = _parts(said, chapters)
    quota = _quota([len(p) for p in parts], k)
    picked: list[int] = []
    for part, n in zip(parts, quota, strict=True):
        picked += [part[i] for i in central(vectors[part], n)]
    return Digest([said[i] for i in sorted(picked)], len(said))


def _parts(said: list[Span], chapters: list[Span]) -> list[list[int]]:
    """Sentence indices grouped by the chapter their middle falls in (one group without)."""
    groups: dict[int, list[int]] = {}
    for i, sentence in enumerate(said):
        middle = (sentence.start + sentence.end) / 2
        chapter = next(
            (n for n, c in enumerate(chapters) if c.start <= middle < c.end), len(chapters)
        )
        groups.setdefault(chapter, []).append(i)
    return [groups[n] for n in sorted(groups)]


def _quota(sizes: list[int], k: int) -> list[int]:
    """Sentences per part: proportional to its size (largest remainders), at least one for
    as many of the largest parts as `k` allows."""
    order = sorted(range(len(sizes)), key=lambda i: -sizes[i])
    quota = [0] * len(sizes)
    for i in order[:k]:
        quota[i] = 1
    spare = k - sum(quota)
    if spare > 0:
        total = sum(sizes)
        share = [spare * s / total for s in sizes]
        extra = [int(x) for x in share]
        for i in sorted(range(len(sizes)), key=lambda i: extra[i] - share[i])[: spare - sum(extra)]:
            extra[i] += 1
        quota = [min(q + e, s) for q, e, s in zip(quota, extra, sizes, strict=True)]
    return quota

"""From ranked regions to cited moments: multi-granularity fusion at sentence level.

Retrievers (dense, BM25) rank regions of three sizes: sentence spans (~15 s), the
overlapping windows around them (~30 s, index/windows.py) and chapters. Each
(retriever, level) list gives reciprocal-rank credit; a region passes its credit to
every sentence inside it, so a sentence that sits in a matching span *and* a matching
window outranks one that only one level found. The best candidate sentences are then
ranked once more by their own similarity to the question (one more RRF list), and a
hit cites the sentence that won -- never a whole window, so citations stay tight.
On-screen text and chapters take part in that last list too: they get no window credit,
so without it a code shown only on screen, found first by both retrievers, would rank
below sentences that merely resemble the question.
Chapters, on-screen text and frames keep their own hits and merge with the sentences
of the same moment afterwards (index/fusion.merge_close).

Measured on pstuts-dev (bench/README.md, `vidqa eval retrieval --ablate`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from index.fusion import RRF_K, rrf
from index.records import Hit, Span
from index.windows import sentences_of

WINDOW_WEIGHT = 0.25  # a window list's RRF weight against a span list's 1.0. A sentence takes one
# window's credit per list (its best, not the sum over the two overlapping windows), and at 0.5 the
# noisy BM25 window matches of Chinese bigram queries still outweighed dense (tests/test_chinese.py);
# pstuts-dev within-video hit@1 barely moves with this weight (bench/README, 0.5 vs 1)
SENTENCE_WEIGHT = 1.0  # the sentence-similarity list's RRF weight
SPARSE_WEIGHT = 1.0  # the SPLADE list's (0.5-2 all gave within-video hit@1 0.390-0.398)
SENTENCE_POOL = 40  # candidate sentences re-scored by their own similarity to the question
ADJACENT_S = 1.5  # a sentence this close to a better-ranked one of its video is the same moment (s)
SENTENCE_KINDS = ("transcript", "window")  # regions whose credit flows to their sentences


@dataclass(frozen=True)
class SearchOptions:
    """Which retrieval components run; `vidqa eval retrieval --ablate` switches them one by one."""

    dense: bool = True
    keyword: bool = True
    windows: bool = True  # also rank overlapping windows (needs `sentences`)
    sentences: bool = True  # cite and re-score at sentence level; off: whole spans, as before
    window_weight: float = WINDOW_WEIGHT
    sentence_pool: int = SENTENCE_POOL
    sparse: bool = True  # SPLADE re-scores the pool too (models/sparse_embed.py), when installed

    def __post_init__(self):
        if not (self.dense or self.keyword):
            raise ValueError("search needs at least one of dense and keyword retrieval")
        if self.window_weight < 0 or self.sentence_pool < 0:
            raise ValueError(
                f"window_weight and sentence_pool must be >= 0, got "
                f"{self.window_weight} and {self.sentence_pool}"
            )


@dataclass
class Moment:
    """One sentence and the credit every region containing it passed on."""

    video_id: str
    start: float
    end: float
    text: str
    region: Span  # the smallest region it came from: what `focused_from` points at
    score: float = 0.0
    matched: list[str] = field(default_factory=list)


def level_rankings(
    name: str, ids: list[str], by_id: dict[str, Span], limit: int
) -> dict[str, list[str]]:
    """Split one retriever's ranking into a span/chapter list and a window list."""
    plain = [i for i in ids if i in by_id and by_id[i].kind != "window"][:limit]
    windows = [i for i in ids if i in by_id and by_id[i].kind == "window"][:limit]
    return {name: plain, f"{name}:window": windows} if windows else {name: plain}


def _label(ranking: str) -> list[str]:
    retriever, _, level = ranking.partition(":")
    return [retriever, level] if level else [retriever]


def fuse(
    rankings: dict[str, list[str]],
    by_id: dict[str, Span],
    options: SearchOptions,
    vectors: Callable[[list[tuple[str, str]]], np.ndarray] | None = None,
    query_vector: np.ndarray | None = None,
    sparse: Callable[[list[tuple[str, str]]], np.ndarray] | None = None,
) -> list[Hit]:
    """Hits best first: sentence moments (transcript and windows) and other regions.

    `vectors((video id, text) pairs)` gives the re-scored texts' unit vectors (stored at
    ingest, index/sentence_vectors.py); without it no sentence is re-scored. `sparse(pairs)`
    gives their SPLADE scores for the question: a second re-scoring list."""
    weights = {name: options.window_weight for name in rankings if name.endswith(":window")}
    fused = rrf(rankings, weights=weights)
    if not options.sentences:
        return [
            Hit(by_id[i], score, _matched(names), [by_id[i].kind])
            for i, score, names in fused
            if by_id[i].kind != "window"
        ]
    moments: dict[tuple, Moment] = {}
    credit: dict[tuple, dict[str, float]] = {}  # sentence -> list -> best credit from that list
    others: list[Hit] = []
    sentences: dict[str, list] = {}
    for i, score, names in fused:
        span = by_id[i]
        if span.kind not in SENTENCE_KINDS:
            others.append(Hit(span, score, _matched(names), [span.kind]))
            continue
        sentences[i] = sentences_of(span)
        for start, end, text in sentences[i]:
            moment = moments.setdefault(
                (span.video_id, round(start, 2), round(end, 2)),
                Moment(span.video_id, start, end, text, span),
            )
            moment.matched = list(dict.fromkeys(moment.matched + _matched(names)))
            if span.kind == "transcript":
                moment.region = span
    # From each list a sentence takes the credit of its best region there, not the sum: half-
    # overlapping windows hold most sentences twice, and summing would reward being covered
    # by two windows (every sentence but the first and last few of a video) over matching.
    for name, ids in rankings.items():
        weight = weights.get(name, 1.0)
        for rank, i in enumerate(ids):
            for start, end, _ in sentences.get(i, ()):
                key = (by_id[i].video_id, round(start, 2), round(end, 2))
                lists = credit.setdefault(key, {})
                lists[name] = max(lists.get(name, 0.0), weight / (RRF_K + rank + 1))
    for key, moment in moments.items():
        moment.score = sum(credit.get(key, {}).values())
    ranked = sorted(moments.values(), key=lambda m: (-m.score, m.video_id, m.start))
    if vectors is not None and query_vector is not None and options.sentence_pool:
        # On-screen text and chapters compete in the same re-scoring list as the sentences:
        # a sentence already collects credit from its span and the windows around it, so
        # without this list a region found first by both retrievers (a code shown only on
        # screen) ranks below sentences that merely resemble the question.
        texts = [h for h in others if h.span.text.strip()][: options.sentence_pool]
        regions = [
            Moment(h.span.video_id, h.span.start, h.span.end, h.span.text, h.span, h.score)
            for h in texts
        ]
        _rescore(ranked[: options.sentence_pool] + regions, vectors, query_vector, sparse)
        for hit, region in zip(texts, regions, strict=True):
            hit.score = region.score
            if "sentence" in region.matched:
                hit.matched = list(dict.fromkeys(hit.matched + ["similarity"]))
        ranked.sort(key=lambda m: (-m.score, m.video_id, m.start))
    hits = [Hit(_cited(m), m.score, m.matched, ["transcript"]) for m in fold_adjacent(ranked)]
    return sorted(hits + others, key=lambda h: -h.score)


def _matched(names: list[str]) -> list[str]:
    return list(dict.fromkeys(label for name in names for label in _label(name)))


def _rescore(pool: list[Moment], vectors, query_vector: np.ndarray, sparse=None) -> None:
    """One more RRF list: the pool's sentences by their own cosine to the question; and,
    with `sparse`, another by their SPLADE score (pstuts-dev hit@1 +0.016, bench/README)."""
    if not pool:
        return
    items = [(m.video_id, m.text) for m in pool]
    lists = [(vectors(items) @ query_vector, SENTENCE_WEIGHT, "sentence")]
    if sparse is not None:
        lists.append((sparse(items), SPARSE_WEIGHT, "splade"))
    for values, weight, label in lists:
        ranked = [j for j in np.argsort(-values, kind="stable") if np.isfinite(values[j])]
        for rank, j in enumerate(ranked):  # NaN: a text this list cannot score, no credit
            pool[j].score += weight / (RRF_K + rank + 1)
            pool[j].matched = list(dict.fromkeys(pool[j].matched + [label]))
    pool.sort(key=lambda m: (-m.score, m.video_id, m.start))


def fold_adjacent(ranked: list[Moment], gap: float = ADJACENT_S) -> list[Moment]:
    """Drop a sentence that touches a better-ranked one of the same video: same moment.

    The better sentence keeps its own bounds, so a citation stays one sentence long.
    """
    kept: list[Moment] = []
    kept_in: dict[str, list[Moment]] = {}  # video id -> its kept sentences, best first
    for moment in sorted(ranked, key=lambda m: (-m.score, m.video_id, m.start)):
        near = next(
            (
                k
                for k in kept_in.get(moment.video_id, ())
                if moment.start - gap <= k.end and k.start - gap <= moment.end
            ),
            None,
        )
        if near is None:
            kept.append(moment)
            kept_in.setdefault(moment.video_id, []).append(moment)
        else:
            near.matched = list(dict.fromkeys(near.matched + moment.matched))
    return kept


def _cited(moment: Moment) -> Span:
    region = moment.region
    return Span(
        video_id=moment.video_id,
        start=moment.start,
        end=moment.end,
        kind="transcript",
        text=moment.text,
        source=region.source,
        id=region.id,
        extra={
            "sentences": [[moment.start, moment.end, moment.text]],
            "focused_from": [region.start, region.end],
        },
    )

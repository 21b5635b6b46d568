"""Reciprocal-rank fusion: combine ranked lists without calibrating their scores."""

from __future__ import annotations

from dataclasses import replace

RRF_K = 60  # the constant from Cormack et al. (2009); damps the head of each list


def rrf(
    rankings: dict[str, list[str]], *, k: int = RRF_K, weights: dict[str, float] | None = None
) -> list[tuple[str, float, list[str]]]:
    """(id, fused score, names of the rankings that contained it), best first."""
    scores: dict[str, float] = {}
    matched: dict[str, list[str]] = {}
    for name, ids in rankings.items():
        weight = (weights or {}).get(name, 1.0)
        for rank, item in enumerate(ids):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank + 1)
            matched.setdefault(item, []).append(name)
    order = sorted(scores, key=lambda i: (-scores[i], i))
    return [(i, scores[i], matched[i]) for i in order]


MERGE_SLACK_S = 2.0  # hits of one video this close in time are the same moment (s)


def _same_moment(a, b, slack: float) -> bool:
    """Spans of different kinds within `slack` s; same-kind spans only if they truly overlap
    (neighbouring transcript spans are different moments)."""
    if a.video_id != b.video_id:
        return False
    if a.kind == b.kind:
        return a.start < b.end and b.start < a.end
    return a.start - slack <= b.end and b.start - slack <= a.end


# What a citation shows; a window is normally cited as its sentences (index/moments.py).
SPAN_PREFERENCE = {"transcript": 0, "ocr": 1, "window": 1, "chapter": 2, "frame": 3}


def _better_span(current, other):
    """What was said beats on-screen text beats a chapter beats a bare frame; then shorter."""

    def rank(span):
        return (SPAN_PREFERENCE.get(span.kind, 9) if span.text else 10, span.end - span.start)

    return other if rank(other) < rank(current) else current


def merge_close(hits: list, slack: float = MERGE_SLACK_S) -> list:
    """Fold each hit into a better-ranked hit of the same moment (index.records.Hit, best first).

    The merged hit keeps the more specific (shorter) span, so a citation stays
    precise when a long chapter and a short transcript span both match, and
    records every retriever and evidence kind that pointed at the moment. When on-screen
    text wins over a sentence search also found there, the OCR span keeps that sentence
    as `extra["said"]`: a slide title ("BAKING") is where, the sentence is what was said.
    """
    kept: list = []
    # Only hits of one video can be the same moment: comparing within a video, not with every
    # kept hit, took merging from 20 ms to ~1 ms over 150 hits of a 100 h library.
    kept_in: dict[str, list] = {}  # video id -> its kept hits, best first
    words: dict[int, bool] = {}  # id(kept hit) -> its span's own words matched the query
    said: dict[int, list] = {}  # id(kept hit) -> transcript spans folded into it, best first
    for hit in hits:
        for prior in kept_in.get(hit.span.video_id, ()):
            if _same_moment(prior.span, hit.span, slack):
                for span in (prior.span, hit.span):
                    if span.kind == "transcript" and span not in said.setdefault(id(prior), []):
                        said[id(prior)].append(span)
                prior.matched = list(dict.fromkeys(prior.matched + hit.matched))
                prior.kinds = list(dict.fromkeys(prior.kinds + (hit.kinds or [hit.span.kind])))
                hit_words = "keyword" in hit.matched
                if hit_words != words[id(prior)]:
                    # The span whose words matched wins (a code only on screen): a citation
                    # must show the match, not a neighbour that only resembles the query.
                    if hit_words:
                        prior.span, words[id(prior)] = hit.span, True
                else:
                    prior.span = _better_span(prior.span, hit.span)
                break
        else:
            hit.kinds = hit.kinds or [hit.span.kind]
            words[id(hit)] = "keyword" in hit.matched
            kept.append(hit)
            kept_in.setdefault(hit.span.video_id, []).append(hit)
    for hit in kept:
        if hit.span.kind != "ocr":
            continue
        # Said while the text was on screen: most of the sentence inside the OCR span's time
        # (the slack above lets a sentence just before a slide merge with it, not describe it).
        during = (s for s in said.get(id(hit), []) if said_under(s.start, s.end, hit.span))
        if (sentence := next(during, None)) is not None:
            spoken = [sentence.start, sentence.end, sentence.text]  # a copy: spans may be cached
            hit.span = replace(hit.span, extra={**hit.span.extra, "said": spoken})
    return kept


def said_under(start: float, end: float, shown) -> bool:
    """Most of what was said from `start` to `end` (s) lies inside the time of `shown`,
    on-screen text: it was said while that text showed."""
    inside = min(end, shown.end) - max(start, shown.start)
    return max(inside, 0.0) >= 0.5 * max(end - start, 1e-6)

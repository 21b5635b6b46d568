"""Reciprocal-rank fusion: combine ranked lists without calibrating their scores."""

from __future__ import annotations

RRF_K = 60  # the constant from Cormack et al. (2009); damps the head of each list


def rrf(rankings: dict[str, list[str]], *, k: int = RRF_K,
        weights: dict[str, float] | None = None) -> list[tuple[str, float, list[str]]]:
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

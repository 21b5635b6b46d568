"""Row-vector helpers shared by ingest (chapters, topic shifts) and qa (key sentences)."""

from __future__ import annotations

import numpy as np


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (zero rows stay zero)."""
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norm == 0, 1, norm)


def central(vectors: np.ndarray, k: int) -> list[int]:
    """Indices of the `k` rows closest to the rows' mean direction, in their original order."""
    if not len(vectors):
        return []
    unit = unit_rows(np.asarray(vectors, np.float64))
    scores = unit @ unit_rows(unit.mean(axis=0))
    return sorted(np.argsort(-scores, kind="stable")[:k].tolist())

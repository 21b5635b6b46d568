"""Vectors of re-scored sentences that have none stored, kept between queries.

Search re-scores its best candidate sentences by their own cosine to the question
(index/moments.py). Their vectors are stored at ingest (index/sentence_vectors.py); a
library ingested before that, until `vidqa doctor --repair` fills them, embeds them per
query, and on a 2-core CPU that batch costs more than the rest of the search. The
sentences come from the library, not from the user, so the same ones recur from one
question to the next: a bounded LRU of text -> vector keeps them; misses are embedded in
one batch.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

MAX_ENTRIES = 20_000  # ~30 MB of 384-d float32 vectors: a few hundred hours' candidate sentences


class PassageCache:
    """`embed(texts)` through a bounded least-recently-used cache (thread-safe)."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray], max_entries: int = MAX_ENTRIES):
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        self._embed = embed
        self._max = max_entries
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            found = {t: self._vectors[t] for t in texts if t in self._vectors}
            for t in found:
                self._vectors.move_to_end(t)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            found.update(zip(missing, self._embed(missing), strict=True))
            self._remember({t: found[t] for t in missing})
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if not texts:
            return self._embed([])
        return np.stack([found[t] for t in texts])

    def _remember(self, fresh: dict[str, np.ndarray]) -> None:
        with self._lock:
            self._vectors.update(fresh)
            while len(self._vectors) > self._max:
                self._vectors.popitem(last=False)

    def __len__(self) -> int:
        return len(self._vectors)

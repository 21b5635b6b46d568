"""Vectors of the texts search re-scores, embedded once at ingest and read back by key.

Search ranks its best candidate sentences (and on-screen text and chapters) once more by
their own cosine to the question (index/moments.py). Embedding those 40-80 texts per
query cost more than the rest of a search on a 2-core CPU; they come from the library,
so ingest embeds them once and the catalog keeps the vectors, keyed by
(video, text model, text hash). float32, not float16: the stored vectors must give the
scores, hence the ranking, that embedding on the fly gives.

The text model is part of the key, so a library that switched model (index/text_model.py)
never scores with the old model's vectors. A text without a stored vector (a library
ingested before this table, or before a switch finished re-embedding) is embedded on the
fly and kept in memory (index/passage_cache.py): old libraries keep working, slower, until
`vidqa doctor --repair` or a re-ingest fills the table.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable

import numpy as np

from index.passage_cache import PassageCache
from index.records import Span
from index.windows import sentences_of
from models.sparse_embed import reads

KEY_BYTES = 16  # blake2b digest of the text: collisions are out of reach at any library size
DTYPE = np.float32  # as the embedder returns them: float16 would move scores by ~1e-3
RESCORED_KINDS = ("chapter", "ocr", "frame")  # regions re-scored by their whole text

Item = tuple[str, str]  # (video id, text)


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=KEY_BYTES).digest()


def rescored_texts(spans: Iterable[Span]) -> list[Item]:
    """(video id, text) of everything search may re-score: the sentences of transcript spans
    (windows hold the same sentences) and the whole text of chapters, OCR and frame captions."""
    out: dict[Item, None] = {}
    for span in spans:
        if span.kind == "transcript":
            out.update(((span.video_id, text), None) for _, _, text in sentences_of(span))
        elif span.kind in RESCORED_KINDS and span.text.strip():
            out[(span.video_id, span.text)] = None
    return list(out)


def sparse_texts(items: list[Item]) -> list[Item]:
    """The items SPLADE re-scores (models/sparse_embed.reads: English)."""
    return [item for item in items if reads(item[1])]


def video_texts(catalog, video_id: str) -> list[Item]:
    """What search may re-score in the current version of a video (index/catalog.Catalog)."""
    return rescored_texts(catalog.spans(video_id, ("transcript", *RESCORED_KINDS)))


class SentenceStore:
    """The catalog's `sentence_vectors` table (migration 005), one text model at a time."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def put(self, model: str, items: list[Item], vectors: np.ndarray) -> None:
        rows = [
            (video_id, model, text_key(text), np.asarray(vector, dtype=DTYPE).tobytes())
            for (video_id, text), vector in zip(items, vectors, strict=True)
        ]
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO sentence_vectors VALUES (?, ?, ?, ?)", rows)

    def embed_and_put(
        self,
        model: str,
        items: list[Item],
        embed: Callable[[list[str]], np.ndarray],
        known: dict[str, np.ndarray] | None = None,
    ) -> int:
        """Store `items`' vectors, embedding (once per distinct text) those not in `known`
        (text -> vector: the spans' own, just embedded). Returns how many were stored."""
        known = dict(known or {})
        fresh = list(dict.fromkeys(text for _, text in items if text not in known))
        if fresh:
            known.update(zip(fresh, embed(fresh), strict=True))
        if items:
            self.put(model, items, np.stack([known[text] for _, text in items]))
        return len(items)

    def get(self, model: str, items: list[Item]) -> dict[Item, np.ndarray]:
        """The stored vectors of `items` under `model`; missing ones are absent."""
        # One primary-key lookup per item: a row-value `(video_id, key) IN (VALUES ...)` made
        # SQLite scan the whole table (42 ms for 40 sentences at 100 h against 1.4 ms).
        out: dict[Item, np.ndarray] = {}
        for video_id, text in dict.fromkeys(items):
            row = self.db.execute(
                "SELECT vector FROM sentence_vectors WHERE video_id = ? AND model = ? AND key = ?",
                (video_id, model, text_key(text)),
            ).fetchone()
            if row is not None:
                out[(video_id, text)] = np.frombuffer(row[0], dtype=DTYPE)
        return out

    def missing(self, model: str, items: list[Item]) -> list[Item]:
        found = self.get(model, items)
        return [item for item in items if item not in found]

    def keep_only(self, model: str, video_id: str, items: list[Item]) -> int:
        """Delete the video's vectors under `model` whose text is not in `items` (an older
        version's sentences); returns how many went."""
        keep = {text_key(text) for _, text in items}
        stale = [
            (video_id, model, key)
            for (key,) in self.db.execute(
                "SELECT key FROM sentence_vectors WHERE video_id = ? AND model = ?",
                (video_id, model),
            )
            if key not in keep
        ]
        with self.db:
            self.db.executemany(
                "DELETE FROM sentence_vectors WHERE video_id = ? AND model = ? AND key = ?", stale
            )
        return len(stale)

    def drop_other_models(self, *models: str) -> None:
        """After a switch of text model: the old model's vectors are never read again (the
        new model's and SPLADE's rows are `models`)."""
        marks = ", ".join("?" * len(models))
        with self.db:
            self.db.execute(f"DELETE FROM sentence_vectors WHERE model NOT IN ({marks})", models)


class SentenceVectors:
    """What search calls to get the vectors of its re-scored texts: stored ones from the
    catalog, the rest embedded on the fly through an in-memory LRU (old libraries)."""

    def __init__(self, store: SentenceStore, model: str, embed: Callable[[list[str]], np.ndarray]):
        self.store, self.model = store, model
        self.fallback = PassageCache(embed)
        self.stored = self.embedded = 0  # texts served each way since this object was made

    def vectors(self, items: list[Item]) -> np.ndarray:
        found = self.store.get(self.model, items)
        missing = [item for item in items if item not in found]
        if missing:
            fresh = self.fallback.embed([text for _, text in missing])
            found.update(zip(missing, fresh, strict=True))
        self.stored += len(items) - len(missing)
        self.embedded += len(missing)
        if not items:
            return self.fallback.embed([])
        return np.stack([found[item] for item in items])

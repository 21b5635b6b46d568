"""Chroma, behind four calls: upsert, delete, query, count.

Collections are named after the embedding model *and* its dimension
(``vidqa-text-all-MiniLM-L6-v2-384d``), so switching models starts a new
collection instead of mixing vectors. Vectors only: text lives in the catalog.
An embedded PersistentClient is not process-safe; for several processes point
VIDQA_CHROMA_URL at a Chroma server (``chroma run --path DIR``).
"""

from __future__ import annotations

from urllib.parse import urlparse

import numpy as np

from vidqa.errors import ConfigError
from vidqa.settings import Settings

UPSERT_BATCH = 2000  # below chroma's max batch size on every backend



def make_client(cfg: Settings):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if cfg.chroma_url:
        url = urlparse(cfg.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError(f"VIDQA_CHROMA_URL={cfg.chroma_url!r}: expected http(s)://host:port")
        return chromadb.HttpClient(
            host=url.hostname, port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https", settings=chroma_settings,
        )
    cfg.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(cfg.chroma_path), settings=chroma_settings)


class VectorStore:
    def __init__(self, client, name: str):
        self.name = name
        self.collection = client.get_or_create_collection(
            name=name,
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,  # we always pass vectors; never let chroma fetch a model
        )

    def upsert(self, ids: list[str], vectors: np.ndarray, metadatas: list[dict]) -> None:
        for i in range(0, len(ids), UPSERT_BATCH):
            self.collection.upsert(
                ids=ids[i : i + UPSERT_BATCH],
                embeddings=vectors[i : i + UPSERT_BATCH],
                metadatas=metadatas[i : i + UPSERT_BATCH],
            )

    def delete(self, ids: list[str]) -> None:
        for i in range(0, len(ids), UPSERT_BATCH):
            self.collection.delete(ids=ids[i : i + UPSERT_BATCH])

    def delete_video(self, video_id: str) -> None:
        self.collection.delete(where={"video_id": video_id})

    def count(self) -> int:
        return self.collection.count()

    def query(
        self, vector: np.ndarray, *, n: int, video_id: str | None = None,
        kinds: tuple[str, ...] | None = None,
    ) -> list[tuple[str, float]]:
        """(span id, cosine similarity) best first."""
        total = self.count()
        if total == 0:
            return []
        clauses = []
        if video_id:
            clauses.append({"video_id": video_id})
        if kinds:
            clauses.append({"kind": {"$in": list(kinds)}})
        where = clauses[0] if len(clauses) == 1 else ({"$and": clauses} if clauses else None)
        result = self.collection.query(
            query_embeddings=[vector], n_results=min(n, total), where=where,
            include=["distances"],
        )
        return [(i, 1.0 - d) for i, d in zip(result["ids"][0], result["distances"][0], strict=True)]

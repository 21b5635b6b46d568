"""Sentence embeddings for transcript/chapter/OCR text (sentence-transformers)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from models.resolve import hub_failure, resolve
from vidqa.errors import MissingDependency
from vidqa.text import collection_slug
from vidqa.settings import settings

BATCH_SIZE = 64


@dataclass
class TextEmbedder:
    name: str  # the name the user configured, e.g. sentence-transformers/all-MiniLM-L6-v2
    dim: int
    model: object  # a SentenceTransformer

    @property
    def slug(self) -> str:
        """Safe for a Chroma collection name; includes the dimension so models never mix."""
        return f"{collection_slug(self.name.rsplit('/', 1)[-1])[:40]}-{self.dim}d"

    def embed(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return vectors.astype(np.float32, copy=False)


@lru_cache(maxsize=4)
def _load(name: str, device: str) -> TextEmbedder:
    try:
        from sentence_transformers import SentenceTransformer
    except ModuleNotFoundError as e:
        raise MissingDependency("sentence-transformers is not installed: pip install vidqa") from e
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a per-command "Loading weights" bar is noise in a CLI
    resolved = resolve(name)
    try:
        model = SentenceTransformer(resolved.ref, device=device)
    except OSError as e:  # hub download failed (offline, private, typo)
        raise hub_failure(name, "", e) from e
    # renamed in sentence-transformers 6; keep working on 3.x-5.x too
    get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dim = get_dim()
    return TextEmbedder(name=name, dim=int(dim), model=model)


def load_text_embedder(name: str | None = None, device: str | None = None) -> TextEmbedder:
    from models.device import pick_device

    return _load(name or settings().embed_model, pick_device(device))


def embed_texts(texts: list[str]) -> np.ndarray:
    """L2-normalised float32 embeddings with the configured model."""
    return load_text_embedder().embed(texts)

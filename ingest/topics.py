"""Chapters without a VLM: topic shifts in the transcript, extractive texts.

TextTiling over sentence embeddings: the transcript is cut into blocks of a few
seconds to half a minute, neighbouring runs of blocks are compared by cosine
similarity, and chapter boundaries go where the similarity has its deepest
valleys. Titles, summaries, key points and keywords are picked from the
chapter's own sentences (word weights: frequency x inverse chapter frequency).
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Callable
from itertools import pairwise

import numpy as np

from vidqa.errors import MissingDependency, ModelNotFound

BLOCK_S = (5.0, 30.0)  # s, bounds of the transcript blocks compared (duration / 40 between)
TILE = 2  # blocks on each side of a candidate boundary
CHAPTER_S = 180.0  # s, typical chapter length: caps the number of chapters
MIN_CHAPTER_S = (10.0, 120.0)  # s, bounds of the shortest chapter (duration / 12 between)
TITLE_WORDS = 8
HASH_DIM = 1024  # buckets of the word-overlap fallback vectors
STOP = set("""about above after again all also and any are because been before being below between
both but can could did does doing down during each few for from further had has have having her here
hers him his how into its itself just let like more most nor not now off once only other our out
over own same she should some such than that the their them then there these they this those through
too under until very was were what when where which while who whom why will with would you your
yours okay yeah going gonna really right well thing things get got know see say said one two""".split())

Embed = Callable[[list[str]], np.ndarray]


def content_words(text: str) -> list[str]:
    """Lower-case words of 3+ characters that are not stop words."""
    return [w for w in re.findall(r"[a-z0-9']+", text.lower()) if len(w) > 2 and w not in STOP]


def hashed_vectors(texts: list[str], dim: int = HASH_DIM) -> np.ndarray:
    """Bag-of-words vectors (hashed, L2-normalised): word-overlap similarity, no model."""
    out = np.zeros((len(texts), dim), np.float32)
    for i, text in enumerate(texts):
        for word in content_words(text):
            out[i, zlib.crc32(word.encode()) % dim] += 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1, norms)


def text_vectors(texts: list[str]) -> np.ndarray:
    """Sentence embeddings (models.text_embed); word overlap when no embedder is installed."""
    from models.text_embed import embed_texts

    try:
        return embed_texts(texts)
    except (ModelNotFound, MissingDependency):
        return hashed_vectors(texts)


def blocks(segments, start: float, end: float) -> list[tuple[float, float, str]]:
    """(start, end, text) runs of whole segments, each about `size` seconds long."""
    size = min(max((end - start) / 40, BLOCK_S[0]), BLOCK_S[1])
    out, texts, first = [], [], None
    for s in segments:
        if s.end <= start or s.start >= end:
            continue
        first = s.start if first is None else first
        texts.append(s.text.strip())
        if s.end - first >= size:
            out.append((max(start, first), min(end, s.end), " ".join(texts)))
            texts, first = [], None
    if texts:
        out.append((max(start, first), end, " ".join(texts)))
    return out


def depth_scores(vectors: np.ndarray, tile: int = TILE) -> np.ndarray:
    """TextTiling depth at each boundary i (between block i-1 and i); 0 at i = 0."""
    n = len(vectors)
    sims = np.ones(n)
    for i in range(1, n):
        left, right = vectors[max(0, i - tile):i].mean(axis=0), vectors[i:i + tile].mean(axis=0)
        sims[i] = left @ right / max(np.linalg.norm(left) * np.linalg.norm(right), 1e-9)
    depth = np.zeros(n)
    for i in range(1, n):
        lo, hi = i, i
        while lo > 1 and sims[lo - 1] >= sims[lo]:
            lo -= 1
        while hi < n - 1 and sims[hi + 1] >= sims[hi]:
            hi += 1
        depth[i] = (sims[lo] - sims[i]) + (sims[hi] - sims[i])
    return depth


def boundaries(runs, vectors: np.ndarray, span: tuple[float, float]) -> list[float]:
    """Times of the deepest similarity valleys, at most one per CHAPTER_S, well apart."""
    depth = depth_scores(vectors)
    if len(runs) < 3 or not depth[1:].any():
        return []
    cutoff = max(depth[1:].mean() - depth[1:].std() / 2, 0.0)
    length = span[1] - span[0]
    max_count = max(1, round(length / CHAPTER_S)) - 1
    min_len = min(max(length / 12, MIN_CHAPTER_S[0]), MIN_CHAPTER_S[1])
    chosen: list[float] = []
    for i in np.argsort(-depth, kind="stable"):
        t = runs[i][0]
        if i == 0 or depth[i] <= cutoff or len(chosen) >= max_count:
            continue
        if all(abs(t - c) >= min_len for c in [*chosen, *span]):
            chosen.append(t)
    return sorted(chosen)


def sentences(segments, start: float, end: float) -> list[str]:
    text = " ".join(s.text.strip() for s in segments if s.end > start and s.start < end)
    return [p.strip() for p in re.split(r"(?<=[.!?])\s+", text) if len(p.split()) >= 3]


def _title(sentence: str) -> str:
    words = sentence.rstrip(".!?").split()
    return " ".join(words[:TITLE_WORDS]) + ("…" if len(words) > TITLE_WORDS else "")


def extractive(segments, start: float, end: float, idf: dict[str, float] | None = None) -> dict:
    """Title, summary, key points and keywords picked from the sentences in [start, end]."""
    found = sentences(segments, start, end)
    idf = idf or {}
    weights: dict[str, float] = {}
    for word in content_words(" ".join(found)):
        weights[word] = weights.get(word, 0.0) + idf.get(word, 1.0)

    def score(sentence: str) -> float:
        words = re.findall(r"[a-z0-9']+", sentence.lower())
        return sum(weights.get(w, 0.0) for w in words) / math.sqrt(max(len(words), 1))

    ranked = sorted(range(len(found)), key=lambda i: -score(found[i]))
    keywords = sorted(weights, key=lambda w: -weights[w])[:6]
    return {"start": float(start), "end": float(end),
            "title": _title(found[ranked[0]]) if found else "",
            "summary": " ".join(found[i] for i in sorted(ranked[:2])),
            "key_points": [found[i] for i in sorted(ranked[2:5])], "keywords": keywords}


def topic_chapters(segments, start: float, end: float, *, embed: Embed | None = None
                   ) -> list[dict]:
    """Chapter dicts (start, end, title, summary, key_points, keywords) for [start, end]."""
    runs = blocks(segments, start, end)
    cuts = []
    if len(runs) >= 3:
        cuts = boundaries(runs, (embed or text_vectors)([r[2] for r in runs]), (start, end))
    edges = [float(start), *cuts, float(end)]
    spans = list(pairwise(edges))
    docs = [set(content_words(" ".join(sentences(segments, a, b)))) for a, b in spans]
    idf = {w: math.log((1 + len(docs)) / (1 + sum(w in d for d in docs))) + 1
           for d in docs for w in d}
    chapters = [extractive(segments, a, b, idf) for a, b in spans]
    for i, chapter in enumerate(chapters, 1):
        chapter["title"] = chapter["title"] or f"Part {i}"
    return chapters

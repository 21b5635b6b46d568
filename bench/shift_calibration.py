"""Calibrate ingest/segment.py's topic-shift thresholds for each text embedder.

A slide change opens a chapter when the sentences either side of it are "unusually unlike":
at or below the 10th percentile of the cosine between the mean embeddings of the n = 1, 2, 3
sentences either side of every position inside one video, over the eval set's videos.
Raw cosines are not comparable across models or languages (multilingual-e5's sit at 0.8-0.95
for any two sentences, higher in Chinese than in English; MiniLM's near 0.1-0.4), so each
model is measured both raw and with each video's vectors centred on their mean
(ingest.segment.centred), and prints its mean cosine between a video's sentences, which tells
isotropic embedders (raw thresholds) from anisotropic ones (centred) in ingest.segment.

    .venv/bin/python bench/shift_calibration.py [../shared/eval/pstuts-dev]

prints, per model, the raw and centred thresholds for n = 1, 2, 3, the range of its mean
cosine per video, and how many videos and positions were measured.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.chapter_eval import _video_sentences  # noqa: E402
from ingest.segment import SHIFT_CONTEXT, SHIFT_PERCENTILE, centred, mean_cosine  # noqa: E402
from models import text_embed  # noqa: E402
from vidqa.evalset import read_jsonl  # noqa: E402
from vidqa.settings import ENGLISH_EMBED_MODEL  # noqa: E402
from vidqa.vectors import unit_rows  # noqa: E402


def similarities(vectors: np.ndarray, n: int, raw: bool = False) -> list[float]:
    """Cosine of the mean of the n sentences before each position with the n after it."""
    unit = unit_rows(np.asarray(vectors, np.float64)) if raw else centred(vectors)
    out = []
    for at in range(n, len(unit) - n + 1):
        left, right = unit[at - n : at].mean(axis=0), unit[at : at + n].mean(axis=0)
        out.append(float(unit_rows(left) @ unit_rows(right)))
    return out


def calibrate(root: Path, model: str) -> dict:
    embedder = text_embed.load_text_embedder(model)
    contexts = range(1, SHIFT_CONTEXT + 1)
    raw: dict[int, list[float]] = {n: [] for n in contexts}
    centre: dict[int, list[float]] = {n: [] for n in contexts}
    shared = []
    for row in read_jsonl(root / "videos.jsonl"):
        sentences, _ = _video_sentences(root, row)
        if len(sentences) < 2 * SHIFT_CONTEXT:
            continue
        vectors = np.asarray(embedder.embed([s.text for s in sentences]))
        shared.append(mean_cosine(unit_rows(vectors)))
        for n in contexts:
            raw[n] += similarities(vectors, n, raw=True)
            centre[n] += similarities(vectors, n)

    def tenth(found: dict[int, list[float]]) -> list[float]:
        return [round(float(np.percentile(found[n], SHIFT_PERCENTILE)), 2) for n in contexts]

    return {
        "model": model,
        "raw": tenth(raw),
        "centred": tenth(centre),
        "mean_cosine_per_video": [round(min(shared), 2), round(max(shared), 2)],
        "videos": len(shared),
        "positions": len(raw[1]),
    }


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared/eval/pstuts-dev")
    for model in (ENGLISH_EMBED_MODEL, text_embed.MULTILINGUAL_MODEL):
        print(json.dumps(calibrate(root, model)))


if __name__ == "__main__":
    main()

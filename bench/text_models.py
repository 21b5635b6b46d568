"""Text embedders compared on a transcript eval set: the same questions through the product's
own search, one fresh library per model, in one run.

    .venv/bin/python bench/text_models.py [DIR] [--every 1] [--model NAME ...]

Baseline: all-MiniLM-L6-v2, the default before e5 (libraries from before keep it). Each
model is set as VIDQA_EMBED_MODEL would set it (no automatic switch) and scored on the same
questions.
Prints hit@1 / hit@5 / MRR within the question's video, right video @1/@5 and library hit@1,
the search latency, how fast the model embeds passages (what ingest pays: 512 of the set's
transcript spans), the time to build and search, and each model's ratio to the baseline.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DEFAULT_SET = REPO.parent / "shared" / "eval" / "pstuts-dev"
KEYS = ("hit@1", "hit@5", "mrr", "library_video_hit@1", "library_video_hit@5", "library_hit@1")
PASSAGES = 512  # transcript spans embedded to time what ingest pays per text
OTHERS = ("intfloat/multilingual-e5-small",)  # the default search model


def measure(model: str, root: Path, questions: list) -> dict:
    from index.library import Library
    from ingest.evalset import load_set
    from qa.evaluate import score
    from vidqa.settings import settings

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vidqa-text-models-") as home:
        cfg = replace(settings(), home=Path(home), embed_model=model, embed_model_set=True)
        library = Library(cfg)
        try:
            load_set(root, library)
            result = score(library, questions)
            seconds = round(time.perf_counter() - started, 1)
            result["passages_per_s"] = passages_per_second(library)
        finally:
            library.close()
    return {**result, "seconds": seconds}


def passages_per_second(library) -> float:
    """Embedding throughput on the library's own transcript spans, as ingest embeds them."""
    texts = [
        s.text
        for v in library.videos()
        for s in library.catalog.spans(v.id, ("transcript",))
        if s.text.strip()
    ][:PASSAGES]
    library.embedder.embed(texts[:16])  # warm
    started = time.perf_counter()
    library.embedder.embed(texts)
    return round(len(texts) / (time.perf_counter() - started), 1)


def main() -> dict:
    from vidqa.settings import ENGLISH_EMBED_MODEL

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", nargs="?", type=Path, default=DEFAULT_SET)
    parser.add_argument("--every", type=int, default=1, help="every Nth question (1: all)")
    parser.add_argument("--model", action="append", help=f"models to compare (default {OTHERS})")
    args = parser.parse_args()

    from qa.evaluate import load_questions

    questions = load_questions(args.dir, None)[:: max(1, args.every)]
    models = [ENGLISH_EMBED_MODEL, *(args.model or OTHERS)]
    results = {m: measure(m, args.dir, questions) for m in models}
    base = results[ENGLISH_EMBED_MODEL]
    print(f"{args.dir.name}: {len(questions)} questions (every {args.every})")
    print(
        f"{'model':34} {'hit@1':>6} {'hit@5':>6} {'MRR':>6} {'vid@1':>6} {'vid@5':>6} "
        f"{'lib@1':>6} {'p50 ms':>7} {'emb/s':>6} {'run s':>6}"
    )
    for name, r in results.items():
        label = name.rsplit("/", 1)[-1] + (" (baseline)" if r is base else "")
        print(
            f"{label:34} "
            + " ".join(f"{r[k]:>6.3f}" for k in KEYS)
            + f" {r['p50_ms']:>7.1f} {r['passages_per_s']:>6.0f} {r['seconds']:>6.0f}"
        )
        if r is not base:
            keys = (*KEYS, "p50_ms", "passages_per_s")
            ratios = " ".join(f"{r[k] / base[k]:>5.2f}x" if base[k] else "     -" for k in keys)
            print(f"{'  ratio to the baseline':34} {ratios}")
    out = {"bench": "text_models", "questions": len(questions), "results": results}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()

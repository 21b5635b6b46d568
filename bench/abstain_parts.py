"""Two things asked at once: the "Not found" decision with and without judging each part.

    .venv/bin/python bench/abstain_parts.py [--cache DIR]

"What did they say about the budget and hiring?" has no one passage that holds both, so the
rule declined it although the library answers each part. qa/abstain.assess now also
answers when every part (qa/abstain.conjuncts) passes the same rule over the same
candidates. This reads the rows bench/abstain_fit.py cached (run that first, same --cache)
and prints, per set and kind of question, the share answered by the shipped rule alone
(**baseline**) and with the parts, measured in the same run, and the questions it flips.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.text_embed import load_text_embedder  # noqa: E402
from qa import abstain, abstain_fit  # noqa: E402

SETS = ("pstuts-dev", "general_lectures")


def _passes(question: str, texts: list[str], stats, rule, embedder) -> bool:
    sims = abstain.cosines(question, texts, embedder)
    return rule.answers(abstain.features(question, texts, sims, stats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/vidqa-abstain"))
    args = parser.parse_args()
    for name in SETS:
        path = args.cache / f"{name}-multilingual-e5-small-rows.json"
        measured = abstain_fit.load(path)
        if measured is None:
            sys.exit(f"{path}: no cached rows; run bench/abstain_fit.py --cache {args.cache}")
        embedder = load_text_embedder(measured.slug.rsplit("-", 1)[0])
        rule, _ = abstain.threshold_for(embedder.slug)
        counts: dict[str, Counter] = defaultdict(Counter)
        for row in measured.rows:
            alone = rule.answers(measured.strength(row))
            parts = abstain.conjuncts(row.question) if row.texts else []
            stats = measured._stats_without(row.without)
            both = alone or (
                bool(parts) and all(_passes(p, row.texts, stats, rule, embedder) for p in parts)
            )
            c = counts[row.kind]
            c["n"], c["parts"] = c["n"] + 1, c["parts"] + bool(parts)
            c["alone"], c["both"] = c["alone"] + alone, c["both"] + both
            if both != alone:
                print(f"  flipped ({name}, {row.kind}): {row.question}")
        print(f"{name} (judge {measured.slug}):")
        for kind, c in counts.items():
            print(
                f"  {kind:24} n={c['n']:4}  with two parts {c['parts']:3}  answered "
                f"{c['alone'] / c['n']:.3f} (baseline) -> {c['both'] / c['n']:.3f} with parts"
            )


if __name__ == "__main__":
    main()

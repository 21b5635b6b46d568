"""Two things asked at once: the "Not found" decision with and without judging each part.

    .venv/bin/python bench/abstain_parts.py [--cache DIR]

"What did they say about the budget and hiring?" has no one passage that holds both, so the
rule declined it although the library answers each part. qa/abstain.assess also answers
when a part (qa/abstain.conjuncts) passes the same rule over the same candidates: both
parts, or one, and then the answer says the other is not found. This reads the rows
bench/abstain_fit.py cached (run that first, same --cache) and prints, per set and kind of
question, the share answered by the rule on the whole question alone (**baseline**), with
every part required, and with one part enough (shipped), measured in the same run, and the
questions each flips.
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
            passed = [_passes(p, row.texts, stats, rule, embedder) for p in parts]
            every = alone or (bool(parts) and all(passed))
            one = alone or any(passed)
            c = counts[row.kind]
            c["n"], c["parts"] = c["n"] + 1, c["parts"] + bool(parts)
            c["alone"], c["every"], c["one"] = (
                c["alone"] + alone,
                c["every"] + every,
                c["one"] + one,
            )
            if one != alone:
                rule_name = "every part" if every != alone else "one part"
                print(f"  flipped by {rule_name} ({name}, {row.kind}): {row.question}")
        print(f"{name} (judge {measured.slug}):")
        for kind, c in counts.items():
            print(
                f"  {kind:24} n={c['n']:4}  with two parts {c['parts']:3}  answered "
                f"{c['alone'] / c['n']:.3f} (baseline) -> {c['every'] / c['n']:.3f} every part"
                f" -> {c['one'] / c['n']:.3f} one part (shipped)"
            )


if __name__ == "__main__":
    main()

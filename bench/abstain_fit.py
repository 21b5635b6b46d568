"""Fit and compare answer/abstain rules from cached per-question measurements.

    .venv/bin/python bench/abstain_fit.py [DIR] [--sample N] [--cache DIR] [--write KIND]

The first run ingests DIR (default ../shared/eval/pstuts-dev) and the general-lectures set
once into libraries under --cache (default /tmp/vidqa-abstain) and searches every question
once (both halves of the sample, the hand-labelled held-out questions, off-topic ones, the
second set); later runs read the rows and fit in seconds. It goes through the same code as
`vidqa eval calibrate` / `vidqa eval answers` (qa/evaluate_answers.measure_dir with a cache
folder), so the evaluate-half figures printed here are those `vidqa eval answers --sample N
--cache-dir DIR` reports for the same rule.

Printed, per rule kind (cosine_coverage: the rule before issue 11 round 3, the baseline;
logistic: a logistic model over all features of qa/abstain.Strength; shipped: the rule
qa/abstain_thresholds.json holds now, refitted on nothing):
  cv        grouped cross-validation by video over both halves: each video's questions are
            decided by a rule fitted on the other videos' (cut: 0.90 of their answerable);
  evaluate  fitted on the calibrate half, scored on the evaluate half and the second set.
--write KIND stores KIND's calibrate-half rule in qa/abstain_thresholds.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.evalset import load_set  # noqa: E402
from qa import abstain, abstain_fit, evaluate_answers  # noqa: E402

KINDS = ("cosine_coverage", "logistic")


def _measure(root: Path, sample: int, cache: Path):
    halves = {
        half: evaluate_answers.measure_dir(
            root, half, load=load_set, sample=sample, cache_dir=cache
        )
        for half in ("calibrate", "evaluate")
    }
    rows, _ = evaluate_answers._questions(root, "evaluate", sample)
    foreign = [r["question"] for r in rows[: evaluate_answers.SECOND_SET_FOREIGN]]
    second = evaluate_answers.measure_second_set(foreign, load_set, cache_dir=cache)
    return halves, second


def _both(halves) -> abstain_fit.Measurements:
    cal, ev = halves["calibrate"].rows, halves["evaluate"].rows
    return abstain_fit.Measurements(cal.rows + ev.rows, ev.stats, ev.slug, ev.search)


def report(halves, second, kind: str) -> tuple[dict, abstain.Rule]:
    both = _both(halves)
    decided = abstain_fit.cross_validate(kind, both)
    cv = abstain_fit.rates_of(both, lambda r: decided[f"{r.kind}:{r.qid}"])
    rule = abstain_fit.fit(kind, halves["calibrate"].rows, halves["calibrate"].rows.rows)
    evaluate = evaluate_answers.rates(halves["evaluate"], rule)
    return {
        "cv": cv,
        "evaluate": evaluate,
        "second_set": evaluate_answers.second_set_rates(second, rule),
    }, rule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default="../shared/eval/pstuts-dev", type=Path)
    parser.add_argument("--sample", type=int, default=evaluate_answers.DEFAULT_SAMPLE)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/vidqa-abstain"))
    parser.add_argument("--write", choices=KINDS)
    args = parser.parse_args()
    started = time.perf_counter()
    halves, second = _measure(args.root, args.sample, args.cache)
    measured_s = time.perf_counter() - started
    out, rules = {}, {}
    for kind in KINDS:
        out[kind], rules[kind] = report(halves, second, kind)
    shipped, _ = abstain.threshold_for(halves["calibrate"].slug)  # the table's rule, as it ships
    out["shipped"] = {
        "rule": shipped.__dict__,
        "evaluate": evaluate_answers.rates(halves["evaluate"], shipped),
        "second_set": evaluate_answers.second_set_rates(second, shipped),
    }
    fit_s = time.perf_counter() - started - measured_s
    print(json.dumps(out, indent=1))
    base, new = out["cosine_coverage"]["cv"], out["logistic"]["cv"]
    print(
        f"cv answer {new['answer_rate']:.3f} vs {base['answer_rate']:.3f}; labelled unanswerable "
        f"declined {new['abstain_rate_labelled_unanswerable']:.3f} vs "
        f"{base['abstain_rate_labelled_unanswerable']:.3f} "
        f"(x{new['abstain_rate_labelled_unanswerable'] / max(base['abstain_rate_labelled_unanswerable'], 1e-9):.2f} "
        "against cosine_coverage, the baseline)",
        file=sys.stderr,
    )
    print(f"measured/loaded in {measured_s:.1f} s, fitted in {fit_s:.1f} s", file=sys.stderr)
    if args.write:
        rule = rules[args.write]
        rule = type(rule)(
            **{
                **rule.__dict__,
                "calibrated_on": f"{args.root.name}: calibrate half of --sample {args.sample}, "
                "held-out-video and off-topic",
            }
        )
        print("written to", abstain.save_threshold(halves["calibrate"].slug, rule), file=sys.stderr)


if __name__ == "__main__":
    main()

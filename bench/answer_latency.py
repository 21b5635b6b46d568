"""Evidence assembly and end-to-end extractive answer latency (issue 5), CPU.

    .venv/bin/python bench/answer_latency.py [--small] [--queries 100]

Two libraries, built once and cached under $VIDQA_BENCH_DIR (see query_latency.py
for the synthetic lectures): one 2 h video, and the ~100 h library (--small: 10 h).
For each, a time-anchored question ("what was said at 1:05:30?", one video) and a
topical one (library-wide), timed as:
  index    the bare index call the answer is built on (baseline): Library.spans_between
           for the time question, Library.search for the topical one;
  evidence qa.answer.gather: question classes, time parsing, focusing, search;
  answer   qa.answer.ask(vlm="none"): the whole LangChain chain to a cited answer.
The ratio is each row's p50 over the baseline's p50 in the same run.
Time to first token with Qwen3-VL needs a GPU: bench/answer_ttft.py.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # sibling bench helpers
from asr_rtf import bench_dir, loadavg, setup_paths  # noqa: E402
from query_latency import (  # noqa: E402
    SEED,
    TextMaker,
    open_library,
    percentiles,
    synthetic_video,
    timed_ms,
    torch_threads,
)

LONG_VIDEO_MIN = 120.0  # the "2 h video"
POINT_CONTEXT_S = 5.0  # qa/retrieve.py


def long_video_library():
    """A library holding one synthetic 2 h lecture (cached)."""
    from index.library import Library

    home = bench_dir() / f"one-video-{LONG_VIDEO_MIN:g}m-seed{SEED}"
    os.environ["VIDQA_HOME"] = str(home)
    library = Library()
    if not library.videos():
        video, spans = synthetic_video(0, TextMaker(SEED), LONG_VIDEO_MIN)
        library.add_video(video, spans)
    return library


def jobs_for(library, n: int, rng: random.Random) -> dict:
    from qa.answer import ask, gather
    from vidqa.timefmt import fmt_ts

    videos = library.videos()
    maker = TextMaker(SEED + 2)
    topics = list(maker.topics)
    timed = [(v := rng.choice(videos), rng.uniform(0, v.duration)) for _ in range(n)]
    time_q = [(f"what was said at {fmt_ts(t)}?", v.id[:12], v.id, t) for v, t in timed]
    topical = [maker.query(rng.choice(topics)) for _ in range(n)]
    return {
        "time: index": (
            lambda q, ref, vid, t: library.spans_between(
                vid, t - POINT_CONTEXT_S, t + POINT_CONTEXT_S
            ),
            time_q,
        ),
        "time: evidence": (lambda q, ref, vid, t: gather(q, library, video=ref), time_q),
        "time: answer": (
            lambda q, ref, vid, t: ask(q, library=library, video=ref, vlm="none"),
            time_q,
        ),
        "topical: index": (lambda q: library.search(q, k=5), [(q,) for q in topical]),
        "topical: evidence": (lambda q: gather(q, library), [(q,) for q in topical]),
        "topical: answer": (lambda q: ask(q, library=library, vlm="none"), [(q,) for q in topical]),
    }


def measure(name: str, library, n: int) -> dict:
    times, outputs = timed_ms(jobs_for(library, n, random.Random(SEED)))
    answers = outputs["time: answer"] + outputs["topical: answer"]
    cited = sum(bool(a.citations) for a in answers) / len(answers)
    rows = {}
    for key, values in times.items():
        kind = key.split(":")[0]
        base = percentiles(times[f"{kind}: index"])["p50_ms"]
        rows[key] = {
            **percentiles(values),
            "ratio_to_index_p50": round(percentiles(values)["p50_ms"] / base, 2),
        }
    return {
        "library": name,
        "videos": len(library.videos()),
        "answers_with_citations": cited,
        "rows": rows,
    }


def print_table(result: dict) -> None:
    print(
        f"\n{result['library']} ({result['videos']} videos); answers with citations: "
        f"{result['answers_with_citations']:.0%}"
    )
    print(f"  {'':20} {'p50 ms':>8} {'p95 ms':>8} {'x index p50':>12}")
    for key, row in result["rows"].items():
        print(
            f"  {key:20} {row['p50_ms']:8.1f} {row['p95_ms']:8.1f} {row['ratio_to_index_p50']:12.2f}"
        )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="10 h library instead of 100 h")
    parser.add_argument("--queries", type=int, default=100, help="questions per row")
    parser.add_argument("--torch-threads", type=int, default=None)
    args = parser.parse_args(argv)
    setup_paths()
    threads = torch_threads(args.torch_threads)
    started = time.perf_counter()
    results = [measure(f"one {LONG_VIDEO_MIN / 60:g} h video", long_video_library(), args.queries)]
    big, meta, _ = open_library(10.0 if args.small else 100.0, rebuild=False)
    results.append(measure(f"{meta['hours']:g} h library", big, args.queries))
    for result in results:
        print_table(result)
    print("\nQwen3-VL time to first token: needs a GPU (bench/answer_ttft.py), not measured here.")
    summary = {
        "results": results,
        "torch_threads": threads,
        "loadavg": loadavg(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()

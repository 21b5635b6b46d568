"""Chapters as a search level on a transcript eval set: the same library searched before and
after its transcript chapters (no VLM) are built, through the product's own search.

    .venv/bin/python bench/chapter_routing.py [DIR] [--every 4]

Eval sets are ingested without chapters (`vidqa eval retrieval` measures transcript
retrieval), but a real library has them: every video gets transcript chapters at ingest,
and search ranks chapter spans beside sentences and windows, so a chapter's title, summary
and keywords can pick the video. Baseline: the library as `vidqa eval retrieval` builds it,
measured in the same run on the same questions. Then each video is re-summarised without a
VLM (`ingest.pipeline.resummarize`, what `vidqa summarize --vlm none` runs) and the same
questions are searched again. Prints hit@1 within the video, right video @1/@5 and library
hit@1 for both, and the differences.
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
KEYS = ("hit@1", "hit@5", "library_video_hit@1", "library_video_hit@5", "library_hit@1")


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", nargs="?", type=Path, default=DEFAULT_SET)
    parser.add_argument("--every", type=int, default=4, help="every Nth question (1: all)")
    args = parser.parse_args()

    from index.library import Library
    from ingest.evalset import load_set
    from ingest.pipeline import IngestOptions, resummarize
    from qa.evaluate import load_questions, score
    from vidqa.evalset import read_jsonl
    from vidqa.settings import settings

    questions = load_questions(args.dir, None)[:: max(1, args.every)]
    with tempfile.TemporaryDirectory(prefix="vidqa-chapters-") as home:
        library = Library(replace(settings(), home=Path(home)))
        load_set(args.dir, library)
        started = time.perf_counter()
        before = score(library, questions)
        searched_s = time.perf_counter() - started
        chapters = 0
        for video in library.videos():
            summary = resummarize(video, library, IngestOptions(vlm="none", frames=False))
            chapters += len(summary.chapters)
        after = score(library, questions)
        library.close()
    n_videos = len(read_jsonl(args.dir / "videos.jsonl"))
    print(
        f"{args.dir.name}: {len(questions)} questions (every {args.every}), {n_videos} videos, "
        f"{chapters} transcript chapters; {searched_s:.0f} s per pass"
    )
    print(f"{'':24} {'hit@1':>7} {'hit@5':>7} {'video@1':>8} {'video@5':>8} {'lib hit@1':>9}")
    for name, result in (("without chapters (base)", before), ("with chapters", after)):
        print(f"{name:24} " + " ".join(f"{result[k]:>7.3f}" for k in KEYS))
    diff = {k: round(after[k] - before[k], 4) for k in KEYS}
    print(f"{'difference':24} " + " ".join(f"{diff[k]:>+7.3f}" for k in KEYS))
    out = {
        "bench": "chapter_routing",
        "questions": len(questions),
        "chapters": chapters,
        "without": before,
        "with": after,
        "difference": diff,
    }
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()

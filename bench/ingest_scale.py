"""Ingest of 8 lectures in one process (--workers 1) against a local Ray (--workers 2).

    .venv/bin/python bench/ingest_scale.py [--small] [--files 8] [--minutes 2] [--workers 2]

Eight generated narrated slide lectures (tests/media.py; a different sentence
order each, so each has its own content id), transcribed by speech recognition
(no sidecar subtitles: ASR is the stage that dominates a real ingest), frames and
OCR on, no VLM (transcript chapters), each side into a fresh VIDQA_HOME.
Baseline, same run, same files: `ingest.pipeline.ingest` in this process
(`--workers 1`). Then the same call with `ClusterOptions(workers=N)` on a local
Ray started before the clock (its start-up is reported apart). Both sides first
ingest short warm-up clips, so model loads (whisper, OCR, MiniLM, one set per
Ray worker) are not in the timed runs.

Per-stage throughput: media seconds per stage-second of one worker, from the
progress callback (in process: stage transitions; on Ray: a stage's first event
from its worker to the driver seeing its task return, so queueing is excluded).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # sibling bench helpers
from asr_rtf import SENTENCES, bench_dir, loadavg, media_seconds, setup_paths, warmup_clip  # noqa: E402

DEFAULT_FILES = 8
DEFAULT_MINUTES = 2.0  # per lecture
SMALL_FILES, SMALL_MINUTES = 4, 0.5
WPM, GAP_S = 150, 0.8  # tests/media.py speech rate and gap, for sizing the scripts
STAGES = ("probe", "transcript", "frames", "chapters", "embedding", "index")
RAY_OBJECT_STORE = 256 * 1024**2  # bytes


def lecture_script(index: int, minutes: float) -> list[tuple[str, str]]:
    """About `minutes` of narration, starting at a different sentence for each lecture."""
    out, seconds = [], 0.0
    while seconds < minutes * 60:
        text = SENTENCES[(index * 5 + len(out)) % len(SENTENCES)]
        out.append((f"TALK {index + 1} PART {len(out) + 1}", text))
        seconds += len(text.split()) / WPM * 60 + GAP_S
    return out


def lectures(count: int, minutes: float) -> list[Path]:
    """Cached under <bench dir>/scale-<min>m/: lecture-<i>.mp4 (rendered aside, then renamed)."""
    setup_paths()
    from media import make_lecture

    folder = bench_dir() / f"scale-{minutes:g}m"
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(count):
        path = folder / f"lecture-{i}.mp4"
        if not path.exists():
            made = make_lecture(
                folder, lecture_script(i, minutes), stem=f".lecture-{i}-{os.getpid()}"
            )
            made.replace(path)
        out.append(path)
    return out


class StageTimes:
    """progress(path, stage, done, total) -> stage-seconds summed over files.

    A stage of a file runs from its first event to the next of: its completion
    event (done == total, sent by the Ray driver), the file's next stage in process
    (in-process stages run one after another), or 'done'.
    """

    def __init__(self, sequential: bool):
        self.sequential = sequential
        self.open: dict[tuple[str, str], float] = {}
        self.closed: set[tuple[str, str]] = set()
        self.seconds: dict[str, float] = defaultdict(float)

    def __call__(self, path: str, stage: str, done: float, total: float) -> None:
        now = time.perf_counter()
        stage = "transcript" if stage == "spans" else stage  # spans are cut inside that task
        if self.sequential or stage == "done":  # close the file's other open stages
            for key in [k for k in self.open if k[0] == path and k[1] != stage]:
                self._close(key, now)
        key = (path, stage)
        if stage not in STAGES or key in self.closed:
            return  # a worker's first event can reach the driver after its task returned
        if not self.sequential and total and done >= total:
            self._close(key, now)
        elif key not in self.open:
            self.open[key] = now

    def _close(self, key: tuple[str, str], now: float) -> None:
        if key in self.open:
            self.seconds[key[1]] += now - self.open.pop(key)
        self.closed.add(key)


def run_side(files: list[Path], warmups: list[Path], cluster) -> dict:
    from index.library import Library
    from ingest.pipeline import IngestOptions, ingest

    options = IngestOptions(vlm="none")
    with tempfile.TemporaryDirectory(prefix="scale-home-", dir=bench_dir()) as home:
        os.environ["VIDQA_HOME"] = home
        library = Library()
        try:
            ingest(warmups, library=library, options=options, cluster=cluster)
            clock = StageTimes(sequential=not cluster.uses_ray)
            started = time.perf_counter()
            report = ingest(
                files, library=library, options=options, progress=clock, cluster=cluster
            )
            wall = time.perf_counter() - started
        finally:
            library.close()
    failed = [r.error for r in report.results if r.status != "ingested"]
    if failed:
        raise RuntimeError(f"ingest failed: {failed}")
    return {
        "wall_s": wall,
        "stages": dict(clock.seconds),
        "sources": sorted({r.transcript_source for r in report.results}),
    }


def start_ray(workers: int) -> float:
    import ray

    started = time.perf_counter()
    ray.init(
        num_cpus=workers,
        include_dashboard=False,
        object_store_memory=RAY_OBJECT_STORE,
        log_to_driver=False,
        logging_level="warning",
    )
    return time.perf_counter() - started


def report(
    media_s: float, n: int, base: dict, scaled: dict, workers: int, ray_start: float, cores: int
) -> dict:
    ratio = base["wall_s"] / scaled["wall_s"]
    print(
        f"{n} lectures, {media_s:.0f} s of narrated video in all ({media_s / n:.0f} s each), "
        f"transcript by {', '.join(base['sources'])}, frames + OCR on, no VLM; "
        f"{cores} cores, load average {loadavg()} (shared box: figures are noisy)"
    )
    print(f"{'':28} {'wall s':>8} {'media s per wall s':>19}")
    print(f"{'--workers 1 (baseline)':28} {base['wall_s']:8.1f} {media_s / base['wall_s']:19.2f}")
    print(
        f"{f'--workers {workers} (local Ray)':28} {scaled['wall_s']:8.1f} "
        f"{media_s / scaled['wall_s']:19.2f}"
    )
    print(
        f"speed-up --workers {workers} / --workers 1: {ratio:.2f}x "
        f"(at most {min(workers, cores)}x on {cores} cores); Ray start-up {ray_start:.1f} s, "
        "not in the wall time"
    )
    print(
        f"{'stage':12} {'w1 stage-s':>11} {'media s/stage-s':>16} {'wN stage-s':>11} "
        f"{'media s/stage-s':>16}"
    )
    for stage in STAGES:
        a, b = base["stages"].get(stage, 0.0), scaled["stages"].get(stage, 0.0)
        print(
            f"{stage:12} {a:11.2f} {media_s / a if a else 0:16.1f} {b:11.2f} "
            f"{media_s / b if b else 0:16.1f}"
        )
    return {
        "bench": "ingest_scale",
        "files": n,
        "media_s": round(media_s, 1),
        "workers": workers,
        "cores": cores,
        "loadavg": loadavg(),
        "ray_start_s": round(ray_start, 2),
        "wall_s_workers_1": round(base["wall_s"], 2),
        f"wall_s_workers_{workers}": round(scaled["wall_s"], 2),
        "speedup": round(ratio, 3),
        "stage_s_workers_1": {k: round(v, 2) for k, v in base["stages"].items()},
        f"stage_s_workers_{workers}": {k: round(v, 2) for k, v in scaled["stages"].items()},
        "transcript": base["sources"],
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=DEFAULT_FILES)
    parser.add_argument("--minutes", type=float, default=DEFAULT_MINUTES, help="per lecture")
    parser.add_argument("--workers", type=int, default=2, help="Ray side (default 2)")
    parser.add_argument(
        "--small", action="store_true", help=f"{SMALL_FILES} lectures of {SMALL_MINUTES:g} min"
    )
    args = parser.parse_args(argv)
    setup_paths()
    from ingest.pipeline import ClusterOptions

    files_n, minutes = (SMALL_FILES, SMALL_MINUTES) if args.small else (args.files, args.minutes)
    files = lectures(files_n, minutes)
    warmups = [warmup_clip(f) for f in files[: args.workers]]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    base = run_side(files, warmups[:1], ClusterOptions())
    ray_start = start_ray(args.workers)
    try:
        scaled = run_side(files, warmups, ClusterOptions(workers=args.workers))
    finally:
        import ray

        ray.shutdown()
    media_s = sum(media_seconds(f) for f in files)
    summary = report(
        media_s, len(files), base, scaled, args.workers, ray_start, len(os.sched_getaffinity(0))
    )
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()

"""Ingest wall time per hour of audio on the speech path, by stage, against bare ASR.

    .venv/bin/python bench/ingest_speed.py [--small] [--minutes 3] [--repeats 3] [--no-frames]

A narrated slide video (tests/media.py, cached under $VIDQA_BENCH_DIR) goes
through `ingest.pipeline.ingest` into a fresh temporary VIDQA_HOME; the
progress callback's stage transitions split the wall time. Baseline, measured
in the same run on the same file: `models.asr.transcribe` alone, so the ratio
pipeline / ASR-only is the cost of probing, hashing, spans, frames (OCR, CLIP;
off with --no-frames), chapters, embedding and indexing on top of speech
recognition. A 10 s clip is ingested first so model loads (whisper, VAD,
MiniLM, chroma) are reported as cold start, not per hour. Also printed: OCR frames
read per minute of video (scene starts plus frames whose picture changed inside a
scene; before OCR re-read changing scenes it was one per scene, the `frame` span count).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # sibling bench helpers
from asr_rtf import bench_dir, loadavg, media_seconds, narration, setup_paths, warmup_clip  # noqa: E402

DEFAULT_MINUTES = 3.0  # video length (min)
DEFAULT_REPEATS = 3  # timed runs per side; the median is reported
SMALL_MINUTES = 1.0
HOUR_S = 3600.0


class StageClock:
    """progress(path, stage, done, total) -> wall seconds per stage, in order first seen.

    A stage runs from its first callback to the next stage's first callback;
    'done' closes the last one. Repeated calls within a stage (ASR progress) are ignored.
    """

    def __init__(self):
        self.marks: list[tuple[str, float]] = []

    def __call__(self, path: str, stage: str, done: float, total: float) -> None:
        if not self.marks or self.marks[-1][0] != stage:
            self.marks.append((stage, time.perf_counter()))

    def stages(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for (stage, at), (_, next_at) in pairwise(self.marks):
            out[stage] = out.get(stage, 0.0) + next_at - at
        return out


def ingest_timed(path: Path, library, options) -> tuple[float, dict[str, float], object]:
    from ingest.pipeline import ingest

    clock = StageClock()
    started = time.perf_counter()
    report = ingest([path], library=library, options=options, progress=clock)
    wall = time.perf_counter() - started
    result = report.results[0]
    if result.status != "ingested":
        raise RuntimeError(f"ingest of {path} ended {result.status}: {result.error}")
    return wall, clock.stages(), result


def asr_only(path: Path) -> float:
    from models.asr import transcribe

    started = time.perf_counter()
    transcribe(path)  # same default model as ingest: VIDQA_ASR_MODEL, else by device
    return time.perf_counter() - started


def measure(video: Path, repeats: int, frames: bool) -> dict:
    """Cold start on a short clip, then ingest and bare ASR alternately, `repeats` times.

    Alternating spreads a noisy neighbour's load over both sides; the run with the
    median pipeline time supplies the stage split, so the stages add up to it.
    """
    from index.library import Library
    from ingest.pipeline import IngestOptions

    with tempfile.TemporaryDirectory(prefix="home-", dir=bench_dir()) as home:
        os.environ["VIDQA_HOME"] = home  # settings() reads it at call time
        library = Library()
        try:
            options = IngestOptions(force=True, frames=frames)  # force: else 'unchanged'
            cold, _, _ = ingest_timed(warmup_clip(video), library, options)
            runs, asr = [], []
            for _ in range(repeats):
                runs.append(ingest_timed(video, library, options))
                asr.append(asr_only(video))
        finally:
            library.close()
    wall, stages, result = sorted(runs, key=lambda run: run[0])[len(runs) // 2]
    return {
        "cold_start_s": cold,
        "wall_s": wall,
        "stages": stages,
        "repeats": repeats,
        "asr_only_s": statistics.median(asr),
        "spans": result.spans,
        "source": result.transcript_source,
        "notes": list(result.notes),
        "ocr_frames": getattr(result, "ocr_frames", None),
    }


def report(duration: float, m: dict, minutes: float) -> dict:
    per_hour = HOUR_S / duration
    ratio = m["wall_s"] / m["asr_only_s"]
    overhead = sum(v for k, v in m["stages"].items() if k != "transcript")
    print(
        f"video: {duration:.1f} s narrated slides ({minutes:g} min requested), "
        f"transcript {m['source']}, spans {m['spans']}, median of {m['repeats']}, "
        f"load average {loadavg()}"
    )
    print(f"cold start (10 s clip, model loads included): {m['cold_start_s']:.2f} s")
    if m.get("ocr_frames") is not None:
        print(
            f"OCR frames read: {m['ocr_frames']} ({m['ocr_frames'] / duration * 60:.1f} "
            "per minute of video)"
        )
    for note in m["notes"]:
        print(f"ingest note: {note}")
    print(f"{'stage':12} {'wall s':>8} {'share':>6} {'s per hour of audio':>20}")
    for stage, seconds in m["stages"].items():
        print(f"{stage:12} {seconds:8.2f} {seconds / m['wall_s']:6.1%} {seconds * per_hour:20.0f}")
    print(f"{'pipeline':12} {m['wall_s']:8.2f} {1:6.0%} {m['wall_s'] * per_hour:20.0f}")
    print(
        f"{'ASR only':12} {m['asr_only_s']:8.2f} {'':6} {m['asr_only_s'] * per_hour:20.0f}"
        "   (baseline: models.asr.transcribe on the same file)"
    )
    print(
        f"ratio pipeline/ASR-only: {ratio:.2f}x; stages other than transcript: "
        f"{overhead:.2f} s = {overhead / m['asr_only_s']:.1%} of ASR-only "
        "(less noisy than the ratio, which compares two separately timed ASR runs)"
    )
    return {
        "bench": "ingest_speed",
        "audio_s": round(duration, 2),
        "repeats": m["repeats"],
        "loadavg": loadavg(),
        "cold_start_s": round(m["cold_start_s"], 3),
        "wall_s": round(m["wall_s"], 3),
        "stages_s": {k: round(v, 3) for k, v in m["stages"].items()},
        "s_per_hour": round(m["wall_s"] * per_hour, 1),
        "asr_only_s": round(m["asr_only_s"], 3),
        "asr_only_s_per_hour": round(m["asr_only_s"] * per_hour, 1),
        "ratio_pipeline_over_asr": round(ratio, 3),
        "non_asr_stages_s": round(overhead, 3),
        "spans": m["spans"],
        "source": m["source"],
        "notes": m["notes"],
        "ocr_frames": m.get("ocr_frames"),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--minutes",
        type=float,
        default=DEFAULT_MINUTES,
        help=f"video length (default {DEFAULT_MINUTES:g})",
    )
    parser.add_argument("--small", action="store_true", help=f"{SMALL_MINUTES:g} min video")
    parser.add_argument(
        "--repeats",
        type=int,
        default=DEFAULT_REPEATS,
        help=f"timed runs per side, median reported (default {DEFAULT_REPEATS})",
    )
    parser.add_argument(
        "--no-frames",
        dest="frames",
        action="store_false",
        help="skip the frames stage (IngestOptions.frames): speech path only",
    )
    args = parser.parse_args(argv)
    setup_paths()
    minutes = SMALL_MINUTES if args.small else args.minutes
    video = narration(minutes, audio_only=False)
    measured = measure(video, max(1, args.repeats), args.frames)
    summary = {**report(media_seconds(video), measured, minutes), "frames": args.frames}
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()

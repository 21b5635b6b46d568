"""Frame sampling speed: vidqa's sampler against ffmpeg baselines, in the same run.

    .venv/bin/python bench/sampling.py                # 10 min 720p H.264, 2 s GOP
    .venv/bin/python bench/sampling.py --minutes 2 --repeat 3

The test file is generated once under /tmp (testsrc2, libx264 veryfast, fixed
2 s GOP). Every contender produces the same RGB frames at 448 px wide:
  vidqa         ingest.frames.sample_frames (its plan: key frames or seek)
  vidqa-seek    vidqa.decode.iter_frames at the sample times (forced seek plan)
  ffmpeg-fps    ffmpeg -vf fps=F,scale=448:-2 (decodes every frame)
  ffmpeg-key    ffmpeg -skip_frame nokey (decodes key frames only)
Goals (issue 4): vidqa <= 1.5x ffmpeg-key when key frames are dense enough for
the rate, and never slower than ffmpeg-fps. Times are the best of --repeat runs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

WIDTH, HEIGHT = 1280, 720  # px, generated test video
RATE = 30  # fps of the generated video
GOP_S = 2  # s between key frames
OUT_WIDTH = 448  # px, width every contender decodes to
CRF = 26  # libx264 quality of the generated file (about 2 Mbit/s for testsrc2 at 720p)


def test_video(minutes: float) -> Path:
    path = Path(f"/tmp/vidqa_bench_{HEIGHT}p_{minutes:g}min_gop{GOP_S}.mp4")
    if path.exists():
        return path
    print(
        f"generating {path} ({minutes:g} min, {WIDTH}x{HEIGHT}, {GOP_S} s GOP)...", file=sys.stderr
    )
    tmp = path.with_suffix(".part.mp4")
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-y",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={WIDTH}x{HEIGHT}:rate={RATE}",
            "-t",
            str(minutes * 60),
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            str(CRF),
            "-g",
            str(GOP_S * RATE),
            "-keyint_min",
            str(GOP_S * RATE),
            "-sc_threshold",
            "0",
            "-pix_fmt",
            "yuv420p",
            str(tmp),
        ],
        check=True,
    )
    tmp.replace(path)
    return path


def ffmpeg_null(path: Path, *, fps: float | None, keyframes_only: bool) -> int:
    """Decode with ffmpeg to raw RGB at OUT_WIDTH, discarding it; returns frames written."""
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-stats_period", "3600"]
    if keyframes_only:
        cmd += ["-skip_frame", "nokey"]
    cmd += ["-i", str(path)]
    scale = f"scale={OUT_WIDTH}:-2"
    if fps:
        cmd += ["-vf", f"fps={fps},{scale}"]
    else:
        cmd += ["-fps_mode", "passthrough", "-vf", scale]
    cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE) as proc:
        total = 0
        while chunk := proc.stdout.read(1 << 20):
            total += len(chunk)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}")
    return total // (OUT_WIDTH * round(OUT_WIDTH * HEIGHT / WIDTH / 2) * 2 * 3)


def vidqa_sampler(path: Path, fps: float) -> tuple[int, str]:
    from ingest.frames import sample_frames, sample_plan
    from vidqa.probe import probe

    info = probe(path)
    frames = sum(len(b) for b in sample_frames(path, info, fps=fps, max_side=OUT_WIDTH))
    return frames, sample_plan(info, fps)


def vidqa_seek(path: Path, fps: float) -> int:
    from ingest.frames import sample_times
    from vidqa.decode import iter_frames
    from vidqa.probe import probe

    times = sample_times(probe(path).duration, fps)
    return sum(len(b) for b in iter_frames(path, times, max_side=OUT_WIDTH))


def best_of(repeat: int, fn, *args, **kwargs):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return best, result


def run(path: Path, fps: float, repeat: int) -> list[dict]:
    key_s, key_n = best_of(repeat, ffmpeg_null, path, fps=None, keyframes_only=True)
    fps_s, fps_n = best_of(repeat, ffmpeg_null, path, fps=fps, keyframes_only=False)
    ours_s, (ours_n, plan) = best_of(repeat, vidqa_sampler, path, fps)
    seek_s, seek_n = best_of(repeat, vidqa_seek, path, fps)
    rows = [
        ("vidqa", f"sample_frames ({plan})", ours_s, ours_n),
        ("vidqa-seek", "iter_frames at sample times", seek_s, seek_n),
        ("ffmpeg-fps", f"-vf fps={fps:g}", fps_s, fps_n),
        ("ffmpeg-key", "-skip_frame nokey", key_s, key_n),
    ]
    return [
        {
            "fps": fps,
            "name": n,
            "how": h,
            "seconds": s,
            "frames": f,
            "vs_key": s / key_s,
            "vs_fps": s / fps_s,
        }
        for n, h, s, f in rows
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the test video")
    parser.add_argument("--fps", type=float, nargs="+", default=[0.5, 1.0])
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs per contender")
    parser.add_argument("--path", type=Path, help="use this video instead of generating one")
    args = parser.parse_args(argv)
    path = args.path or test_video(args.minutes)
    print(f"{path}  (decode to {OUT_WIDTH} px wide RGB; best of {args.repeat})")
    print(
        f"{'fps':>4}  {'contender':<11} {'how':<30} {'s':>7} {'frames':>7} {'/key':>6} {'/fps':>6}"
    )
    failed = False
    for fps in args.fps:
        for row in run(path, fps, args.repeat):
            print(
                f"{row['fps']:>4g}  {row['name']:<11} {row['how']:<30} {row['seconds']:7.2f} "
                f"{row['frames']:7d} {row['vs_key']:6.2f} {row['vs_fps']:6.2f}"
            )
            if row["name"] == "vidqa":
                dense = "keyframes" in row["how"]
                failed |= row["vs_fps"] > 1.0 or (dense and row["vs_key"] > 1.5)
    print("goals met" if not failed else "GOALS MISSED (see /key and /fps of the vidqa rows)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

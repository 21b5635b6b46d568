"""Visual index throughput: CLIP frames/s on CPU, OCR frames/s, peak RSS of streaming.

    .venv/bin/python bench/visual_throughput.py                 # 2 h 1080p RSS run
    .venv/bin/python bench/visual_throughput.py --minutes 10    # shorter video

CLIP is the real ViT-B-32 architecture with RANDOM weights (no weights are
available offline here): the speed is the real one, the vectors are meaningless.
OCR reads PIL-rendered 1280x720 slides (a title and four bullet lines).
Peak RSS (VmHWM) is measured in a child process that streams a long 1080p H.264
file (a generated 1 min chunk looped, 2 s GOP) through sample_frames and scene
detection: the key-frame plan (0.5 fps) over the whole file, the seek plan (1 fps,
pyav and decord) over its first --seek-minutes. Baseline: the child after imports.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

CLIP_FRAMES = 128  # frames embedded per measurement
CLIP_BATCH = 32
CLIP_SIDE = 448  # px, longest side of the frames given to CLIP (as sampled for the index)
OCR_FRAMES = 6
RSS_LIMIT_MB = 2048  # issue 4: streaming a 2 h 1080p video stays under 2 GB
CHUNK_S = 60  # s, generated 1080p chunk that is looped into the long file
SLIDE_LINES = [
    "Encoder maps tokens to vectors of size 512",
    "Decoder attends over 12 layers",
    "Training takes 3 days on 8 GPUs",
    "Loss drops below 0.25 after epoch 40",
]

CHILD = r"""
import json, sys, time
from ingest.frames import SceneDetector, sample_frames, sample_plan
from vidqa.probe import probe

def peak_mb():  # VmHWM: this process's own peak (ru_maxrss would include the parent's at exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

path, fps, backend, limit = sys.argv[1], float(sys.argv[2]), sys.argv[3], float(sys.argv[4])
info = probe(path)
base = peak_mb()
start = time.perf_counter()
detector, frames, last = SceneDetector(), 0, 0.0
for batch in sample_frames(path, info, fps=fps, backend=backend):
    detector.feed(batch)
    frames += len(batch)
    last = float(batch.times[-1])
    if last >= limit:
        break
print(json.dumps({"plan": sample_plan(info, fps), "frames": frames, "baseline_mb": base,
                  "peak_mb": peak_mb(), "seconds": time.perf_counter() - start,
                  "scenes": len(detector.boundaries), "reached_s": last}))
"""


def bench_frames(n: int, side: int = CLIP_SIDE) -> list[np.ndarray]:
    """Varied RGB frames (noise over gradients) at `side` x 9/16 `side`."""
    rng = np.random.default_rng(0)
    height = side * 9 // 16
    ramp = np.linspace(0, 255, side, dtype=np.float32)[None, :, None]
    return [
        np.clip(ramp + rng.normal(0, 40, (height, side, 3)), 0, 255).astype(np.uint8)
        for _ in range(n)
    ]


def clip_throughput(device: str) -> dict:
    import torch

    from models.clip import random_clip

    embedder = random_clip("ViT-B-32", device=device)
    frames = bench_frames(CLIP_FRAMES)
    embedder.embed_images(frames[:CLIP_BATCH], batch_size=CLIP_BATCH)  # warm-up
    start = time.perf_counter()
    vectors = embedder.embed_images(frames, batch_size=CLIP_BATCH)
    total = time.perf_counter() - start
    start = time.perf_counter()
    for lo in range(0, len(frames), CLIP_BATCH):
        embedder._pixels_batched(frames[lo : lo + CLIP_BATCH])
    prep = time.perf_counter() - start
    return {
        "model": embedder.name,
        "device": device,
        "threads": torch.get_num_threads(),
        "frames": len(vectors),
        "frames_per_s": len(frames) / total,
        "preprocess_share": prep / total,
    }


def slide(n: int) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from media import find_font

    font_path = find_font()

    def font(size):
        return ImageFont.truetype(font_path, size) if font_path else ImageFont.load_default(size)

    image = Image.new("RGB", (1280, 720), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    draw.text((80, 60), f"STEP {n} Architecture Diagram", font=font(44), fill=(20, 20, 20))
    for i, line in enumerate(SLIDE_LINES):
        draw.text((100, 180 + i * 50), f"- {line}", font=font(22), fill=(30, 30, 30))
    return np.asarray(image)


def ocr_throughput() -> dict:
    from ingest.ocr import ocr_frames
    from vidqa.decode import FrameBatch

    frames = np.stack([slide(n) for n in range(OCR_FRAMES)])
    batch = FrameBatch(
        frames, np.arange(OCR_FRAMES, dtype=float), np.arange(OCR_FRAMES), 1.0, "bench"
    )
    ocr_frames(FrameBatch(frames[:1], batch.times[:1], batch.indices[:1], 1.0, "bench"))
    start = time.perf_counter()
    items = ocr_frames(batch)
    total = time.perf_counter() - start
    expected = [f"STEP {n} Architecture Diagram" for n in range(OCR_FRAMES)]
    titles = sum(e in item.text for e, item in zip(expected, items, strict=True))
    return {
        "frames": OCR_FRAMES,
        "frames_per_s": OCR_FRAMES / total,
        "size": "1280x720",
        "titles_read_exactly": f"{titles}/{OCR_FRAMES}",
    }


def long_video(minutes: float) -> Path:
    path = Path(f"/tmp/vidqa_bench_1080p_{minutes:g}min.mp4")
    if path.exists():
        return path
    chunk = Path("/tmp/vidqa_bench_1080p_chunk.mp4")
    if not chunk.exists():
        print(f"generating {chunk}...", file=sys.stderr)
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
                "testsrc2=size=1920x1080:rate=30",
                "-t",
                str(CHUNK_S),
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-crf",
                "30",
                "-g",
                "60",
                "-keyint_min",
                "60",
                "-sc_threshold",
                "0",
                "-pix_fmt",
                "yuv420p",
                str(chunk),
            ],
            check=True,
        )
    loops = max(1, round(minutes * 60 / CHUNK_S))
    print(f"looping it into {path} ({loops} x {CHUNK_S} s)...", file=sys.stderr)
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-y",
            "-v",
            "error",
            "-stream_loop",
            str(loops - 1),
            "-i",
            str(chunk),
            "-c",
            "copy",
            str(path),
        ],
        check=True,
    )
    return path


def streaming_rss(path: Path, fps: float, backend: str, limit_s: float) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(fps), backend, str(limit_s)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        return {"fps": fps, "backend": backend, "error": out.stderr.strip().splitlines()[-1]}
    return {"fps": fps, "backend": backend, **json.loads(out.stdout.strip().splitlines()[-1])}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=120.0, help="long 1080p video length")
    parser.add_argument(
        "--seek-minutes",
        type=float,
        default=5.0,
        help="stop the seek-plan runs (1 fps) after this much video",
    )
    parser.add_argument("--device", default="cpu", help="CLIP device (the goal is CPU)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["clip", "ocr", "rss"])
    args = parser.parse_args(argv)
    ok = True
    if "clip" not in args.skip:
        r = clip_throughput(args.device)
        print(
            f"CLIP {r['model']} (RANDOM weights) on {r['device']} x{r['threads']} threads: "
            f"{r['frames_per_s']:.1f} frames/s at {CLIP_SIDE} px "
            f"(batched tensor preprocessing {r['preprocess_share']:.0%} of it)"
        )
    if "ocr" not in args.skip:
        r = ocr_throughput()
        print(
            f"OCR rapidocr PP-OCRv4: {r['frames_per_s']:.2f} frames/s on {r['size']} slides "
            f"(titles read exactly: {r['titles_read_exactly']})"
        )
    if "rss" not in args.skip:
        path = long_video(args.minutes)
        whole, seek = args.minutes * 60, args.seek_minutes * 60
        for fps, backend, limit in (
            (0.5, "auto", whole),
            (1.0, "pyav", seek),
            (1.0, "decord", seek),
        ):
            r = streaming_rss(path, fps, backend, limit)
            if "error" in r:
                print(f"RSS {args.minutes:g} min 1080p @{fps:g} fps {backend}: {r['error']}")
                continue
            ok &= r["peak_mb"] < RSS_LIMIT_MB
            print(
                f"RSS {args.minutes:g} min 1080p @{fps:g} fps plan={r['plan']} "
                f"backend={backend}: peak {r['peak_mb']:.0f} MB (after imports "
                f"{r['baseline_mb']:.0f} MB), {r['frames']} frames up to "
                f"{r['reached_s'] / 60:.1f} min, {r['seconds']:.1f} s"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

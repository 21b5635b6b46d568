"""Time to first token of a grounded Qwen3-VL answer, at the evidence sizes vidqa chooses.

    python bench/answer_ttft.py               # CUDA: Qwen3-VL-2B architecture, random bf16 weights
    python bench/answer_ttft.py --tiny        # CPU smoke check: the tiny random model, fp32

A --minutes long 1280x720 lecture (ffmpeg testsrc2 and a sidecar .srt of varied
sentences, so no ASR) is generated under $VIDQA_BENCH_DIR and ingested with
`--vlm none`. Then, for a time-point, a time-range and a topical question, the
real chain runs: `qa.answer.ask(question, vlm=backend, stream=True)`: retrieval,
evidence frames decoded around the cited times and sized by the planner, the
processor, prefill. TTFT is measured from the call to the first generated token.
Baseline, in the same run: a bare prefill (one forward pass) of the very inputs
that answer sent, so the ratio TTFT / prefill is what evidence assembly and the
processor add on top of the model. Weights are RANDOM (no download): the timings
are real, the answers are junk and fall back to extractive.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # sibling bench helpers
from asr_rtf import SENTENCES, bench_dir, loadavg, setup_paths  # noqa: E402
from vlm_prefill import build_model, measure  # noqa: E402

DEFAULT_MINUTES = 20.0
SENTENCE_S = 6.0  # one subtitle cue per sentence
SIZE = (1280, 720)
MAX_NEW_TOKENS = 1  # TTFT only: nothing after the first token is timed


def make_video(minutes: float) -> Path:
    """A silent 720p lecture with a sidecar .srt, built once per length and cached."""
    folder = bench_dir() / f"ttft-{minutes:g}m"
    video = folder / "lecture.mp4"
    if video.exists():
        return video
    folder.mkdir(parents=True, exist_ok=True)
    seconds = minutes * 60
    cues, t, i = [], 0.0, 0
    while t < seconds:
        end = min(t + SENTENCE_S, seconds)
        cues.append(f"{i + 1}\n{_srt(t)} --> {_srt(end - 0.2)}\n{SENTENCES[i % len(SENTENCES)]}\n")
        t, i = end, i + 1
    (folder / "lecture.srt").write_text("\n".join(cues), encoding="utf-8")
    partial = folder / "partial.mp4"
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
            f"testsrc2=size={SIZE[0]}x{SIZE[1]}:rate=25:duration={seconds}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "50",
            "-pix_fmt",
            "yuv420p",
            str(partial),
        ],
        check=True,
    )
    partial.rename(video)
    return video


def _srt(t: float) -> str:
    ms = round(t * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def make_backend(tiny: bool, attn: str | None):
    """TransformersVLM around a random model built in memory (no weights on disk)."""
    import torch
    from tiny_qwen3vl import build_processor

    device = "cpu" if tiny else "cuda"
    dtype = torch.float32 if tiny else torch.bfloat16
    attn = attn or "sdpa"
    backend = TimedVLM(
        "random-qwen3-vl-tiny" if tiny else "random-qwen3-vl-2b",
        device=device,
        attn_implementation=attn,
    )
    backend._processor, backend._model = build_processor(), build_model(tiny, device, dtype, attn)
    backend.device = device
    return backend


def _timed_class():
    from transformers.generation.streamers import BaseStreamer

    from models.qwen_transformers import TransformersVLM

    class FirstToken(BaseStreamer):
        """Notes when generate() hands over its first new token (the prompt comes first)."""

        def __init__(self):
            self.calls, self.at = 0, None

        def put(self, value):
            self.calls += 1
            if self.calls == 2 and self.at is None:
                self.at = time.perf_counter()

        def end(self):
            pass

    class TimedVLM(TransformersVLM):
        """Keeps the prepared inputs and the first-token time of its last stream."""

        def generate(self, messages, *, max_new_tokens=MAX_NEW_TOKENS, stream=False):
            self.last_messages = messages
            return super().generate(messages, max_new_tokens=MAX_NEW_TOKENS, stream=stream)

        def _stream(self, kwargs):
            import torch

            first = FirstToken()
            with torch.inference_mode():
                self.model.generate(**kwargs, streamer=first)
            self.first_token_at = first.at
            yield ""

    return TimedVLM


TimedVLM = None  # bound in main(), after the heavy imports


def questions(duration: float) -> dict[str, str]:
    point = duration * 0.6
    start, end = duration * 0.3, duration * 0.3 + 300
    clock = lambda s: f"{int(s // 60)}:{int(s % 60):02d}"  # noqa: E731
    return {
        "time point": f"what was said at {clock(point)}?",
        "time range": f"summarize {clock(start)} to {clock(min(end, duration))}",
        "topical": "how do glaciers carve valleys?",
    }


def run(args) -> dict:
    global TimedVLM
    setup_paths()
    os.environ["VIDQA_HOME"] = str(bench_dir() / f"ttft-{args.minutes:g}m" / "home")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    if not args.tiny and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: use --tiny for a CPU smoke check")
    from index.library import Library
    from ingest.pipeline import IngestOptions, ingest
    from qa.answer import ask

    TimedVLM = _timed_class()
    video = make_video(args.minutes)
    (result,) = ingest([video], options=IngestOptions(vlm="none")).results
    if result.status not in ("ingested", "unchanged"):
        raise SystemExit(f"ingest failed: {result.error}")
    backend = make_backend(args.tiny, args.attn)
    library = Library()
    device = backend.device
    rows = {}
    for n, (label, question) in enumerate(questions(result.duration).items()):
        runs = []
        for _ in range(args.repeats + (1 if n == 0 else 0)):  # one warm-up on the first
            backend.first_token_at = None
            start = time.perf_counter()
            stream = ask(question, library=library, vlm=backend, stream=True)
            for _piece in stream:
                pass
            if backend.first_token_at is None:
                raise SystemExit(f"{label}: the VLM was not called ({stream.answer.answer[:120]})")
            ttft = backend.first_token_at - start
            prefill, peak = measure(backend.model, backend.prepare(backend.last_messages), device)
            runs.append(
                {
                    "ttft_s": ttft,
                    "prefill_s": prefill,
                    "peak_gib": peak,
                    "prompt_tokens": backend.last_input_tokens,
                }
            )
        runs = runs[1:] if n == 0 else runs
        best = min(runs, key=lambda r: r["ttft_s"])
        rows[label] = {**best, "question": question, "ratio": best["ttft_s"] / best["prefill_s"]}
    header = {
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "model": "tiny (random)" if args.tiny else "Qwen3-VL-2B architecture (random bf16)",
        "video_min": round(result.duration / 60, 1),
        "context": backend.context_limit,
        "loadavg": loadavg(),
    }
    print(", ".join(f"{k}: {v}" for k, v in header.items()))
    print(
        "\n| question | prompt tokens | TTFT s | bare prefill s (baseline) | TTFT / prefill | peak GiB |"
    )
    print("|---|---|---|---|---|---|")
    for label, r in rows.items():
        peak = f"{r['peak_gib']:.1f}" if r["peak_gib"] is not None else "–"
        print(
            f"| {label}: {r['question']} | {r['prompt_tokens']:,} | {r['ttft_s']:.2f} | "
            f"{r['prefill_s']:.2f} | {r['ratio']:.2f}x | {peak} |"
        )
    out = {"bench": "answer_ttft", **header, "rows": rows}
    print(json.dumps(out))
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny random model on the CPU")
    parser.add_argument(
        "--minutes",
        type=float,
        default=None,
        help=f"lecture length (default {DEFAULT_MINUTES:g}; 3 with --tiny)",
    )
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per question (best)")
    parser.add_argument("--attn", choices=("sdpa", "flash_attention_2", "eager"))
    args = parser.parse_args(argv)
    args.minutes = args.minutes or (3.0 if args.tiny else DEFAULT_MINUTES)
    return run(args)


if __name__ == "__main__":
    main()

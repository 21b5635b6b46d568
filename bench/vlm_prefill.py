"""Prefill time and peak memory of Qwen3-VL-2B for 32K / 128K / 256K-token video prompts.

    python bench/vlm_prefill.py                 # CUDA, the published 2B architecture, bf16
    python bench/vlm_prefill.py --tiny          # CPU smoke check: tiny random model, fp32
    python bench/vlm_prefill.py --tokens 32768 65536 --attn sdpa --json out.json

The model is built from Qwen/Qwen3-VL-2B-Instruct's published config with RANDOM
weights (no download): speed and memory do not depend on the weights. The prompt
is what the processor would make of a video: per temporal group "<t seconds>"
text, <|vision_start|>, one <|video_pad|> per 32x32 px, <|vision_end|>, plus some
text; pixel values are random. Prefill = one forward pass that fills the KV cache
and returns the last position's logits (logits_to_keep=1).

FLOPs counted: 2 x params x tokens for every linear layer (vision tower per patch,
mergers per video token, language model per token), attention 4 x n^2 x width per
layer (halved for the causal language model; per frame in the vision tower). The
FLOP-bound time uses a measured bf16 (fp32 with --tiny) matmul rate.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(
    0, str(Path(__file__).resolve().parents[1] / "tests")
)  # tiny_qwen3vl, a test helper

VIDEO_PAD, VISION_START, VISION_END = 151656, 151652, 151653  # Qwen3-VL token ids
TEXT_VOCAB = 151_000  # random text ids are drawn below the special tokens
TEXT_TOKENS = 1024  # instructions + transcript stand-in
FRAME = (640, 352)  # px per frame: 20 x 11 = 220 tokens per temporal group
TIMESTAMP_TOKENS = 9  # "<1234.5 seconds>"
DEFAULT_TOKENS = (32_768, 131_072, 262_144)
TINY_TOKENS = (512, 1024, 2048)

# Qwen/Qwen3-VL-2B-Instruct (text = Qwen3-1.7B: MLP 6144; vision: 24 blocks, width 1024).
QWEN3_VL_2B = {
    "text_config": {
        "vocab_size": 151936,
        "hidden_size": 2048,
        "intermediate_size": 6144,
        "num_hidden_layers": 28,
        "num_attention_heads": 16,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "max_position_embeddings": 262144,
        "rms_norm_eps": 1e-6,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 5_000_000.0,
            "mrope_section": [24, 20, 20],
            "mrope_interleaved": True,
        },
    },
    "vision_config": {
        "depth": 24,
        "hidden_size": 1024,
        "intermediate_size": 4096,
        "num_heads": 16,
        "out_hidden_size": 2048,
        "num_position_embeddings": 2304,
        "patch_size": 16,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "deepstack_visual_indexes": [5, 11, 17],
        "hidden_act": "gelu_pytorch_tanh",
    },
    "tie_word_embeddings": True,
}


def build_model(tiny: bool, device: str, dtype, attn: str):
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration

    if tiny:
        from tiny_qwen3vl import tiny_config

        config = tiny_config()
    else:
        config = Qwen3VLConfig(
            **{k: dict(v) if isinstance(v, dict) else v for k, v in QWEN3_VL_2B.items()}
        )
    import torch

    with torch.device(device):
        model = Qwen3VLForConditionalGeneration._from_config(
            config, dtype=dtype, attn_implementation=attn
        )
    return model.eval()


def build_prompt(target: int, device: str, dtype, frame=FRAME):
    """Model inputs of about `target` tokens: text, then a video of G temporal groups."""
    import torch

    grid_w, grid_h = frame[0] // 16, frame[1] // 16  # patches
    per_group = (grid_w // 2) * (grid_h // 2)  # merged tokens
    text = min(TEXT_TOKENS, target // 4)
    groups = max(1, (target - text) // (per_group + 2 + TIMESTAMP_TOKENS))
    gen = torch.Generator().manual_seed(0)
    ids = [torch.randint(0, TEXT_VOCAB, (text,), generator=gen)]
    for _ in range(groups):
        ids.append(torch.randint(0, TEXT_VOCAB, (TIMESTAMP_TOKENS,), generator=gen))
        ids.append(torch.tensor([VISION_START] + [VIDEO_PAD] * per_group + [VISION_END]))
    input_ids = torch.cat(ids).unsqueeze(0).to(device)
    patches = groups * grid_w * grid_h
    return {
        "input_ids": input_ids,
        "attention_mask": torch.ones_like(input_ids),
        "mm_token_type_ids": (input_ids == VIDEO_PAD).long() * 2,
        "pixel_values_videos": torch.randn(patches, 3 * 2 * 16 * 16, generator=gen).to(
            device=device, dtype=dtype
        ),
        "video_grid_thw": torch.tensor([[groups, grid_h, grid_w]], device=device),
    }


def _linear_params(config) -> tuple[int, int, int]:
    """(vision block params, merger params per merger, text params without embeddings)."""
    v, t = config.vision_config, config.get_text_config()
    vision = v.depth * (4 * v.hidden_size**2 + 2 * v.hidden_size * v.intermediate_size)
    merged = v.hidden_size * v.spatial_merge_size**2
    merger = merged * merged + merged * v.out_hidden_size
    q_out, kv_out = t.num_attention_heads * t.head_dim, t.num_key_value_heads * t.head_dim
    text = t.num_hidden_layers * (
        2 * t.hidden_size * q_out
        + 2 * t.hidden_size * kv_out
        + 3 * t.hidden_size * t.intermediate_size
    )
    return vision, merger, text


def prefill_flops(config, inputs) -> float:
    v, t = config.vision_config, config.get_text_config()
    n = inputs["input_ids"].shape[1]
    groups, grid_h, grid_w = (int(x) for x in inputs["video_grid_thw"][0])
    patches, per_frame = groups * grid_h * grid_w, grid_h * grid_w
    video_tokens = patches // v.spatial_merge_size**2
    vision, merger, text = _linear_params(config)
    mergers = 1 + len(v.deepstack_visual_indexes)
    linear = 2 * (vision * patches + merger * mergers * video_tokens + text * n)
    vision_attn = 4 * groups * per_frame**2 * v.hidden_size * v.depth
    text_attn = 4 * n * n * t.num_attention_heads * t.head_dim * t.num_hidden_layers / 2
    return float(linear + vision_attn + text_attn)


def matmul_rate(device: str, dtype, size: int, repeats: int = 10) -> float:
    """Measured dense matmul FLOP/s at `size` x `size`."""
    import torch

    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    _sync(device)
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def _sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def measure(model, inputs, device: str) -> tuple[float, float | None]:
    """(seconds, peak GiB or None on CPU) for one prefill."""
    import torch

    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    _sync(device)
    start = time.perf_counter()
    with torch.inference_mode():
        model(**inputs, use_cache=True, logits_to_keep=1)
    _sync(device)
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None
    return seconds, peak


def run(args) -> list[dict]:
    import importlib.util

    import torch

    device = "cpu" if args.tiny else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: use --tiny for a CPU smoke check")
    dtype = torch.float32 if args.tiny else torch.bfloat16
    attn = args.attn or (
        "flash_attention_2"
        if device == "cuda" and importlib.util.find_spec("flash_attn")
        else "sdpa"
    )
    model = build_model(args.tiny, device, dtype, attn)
    rate = matmul_rate(device, dtype, 1024 if args.tiny else 8192)
    frame = (64, 64) if args.tiny else FRAME
    measure(model, build_prompt(256 if args.tiny else 4096, device, dtype, frame), device)
    rows = []
    for target in args.tokens or (TINY_TOKENS if args.tiny else DEFAULT_TOKENS):
        inputs = build_prompt(target, device, dtype, frame)
        n = int(inputs["input_ids"].shape[1])
        try:
            seconds, peak = measure(model, inputs, device)
        except torch.OutOfMemoryError:
            rows.append({"tokens": n, "error": "out of memory"})
            continue
        flops = prefill_flops(model.config, inputs)
        rows.append(
            {
                "tokens": n,
                "seconds": seconds,
                "tokens_per_s": n / seconds,
                "peak_gib": peak,
                "tflop": flops / 1e12,
                "flop_bound_s": flops / rate,
                "ratio": seconds / (flops / rate),
            }
        )
        del inputs
    header = {
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "dtype": str(dtype),
        "attention": attn,
        "matmul_tflops": rate / 1e12,
        "model": "tiny (random)" if args.tiny else "Qwen3-VL-2B architecture (random)",
    }
    print_table(header, rows)
    if args.json:
        Path(args.json).write_text(json.dumps({**header, "rows": rows}, indent=1))
    return rows


def print_table(header: dict, rows: list[dict]) -> None:
    print(
        ", ".join(
            f"{k}: {v:.1f}" if isinstance(v, float) else f"{k}: {v}" for k, v in header.items()
        )
    )
    print("\n| prompt tokens | prefill s | tokens/s | peak GiB | TFLOP | FLOP-bound s | ratio |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['tokens']:,} | {r['error']} | | | | | |")
            continue
        peak = f"{r['peak_gib']:.1f}" if r["peak_gib"] is not None else "–"
        print(
            f"| {r['tokens']:,} | {r['seconds']:.2f} | {r['tokens_per_s']:,.0f} | {peak} | "
            f"{r['tflop']:.1f} | {r['flop_bound_s']:.2f} | {r['ratio']:.2f} |"
        )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny random model on the CPU")
    parser.add_argument("--tokens", type=int, nargs="+", help="prompt lengths to measure")
    parser.add_argument("--attn", choices=("sdpa", "flash_attention_2", "eager"))
    parser.add_argument("--json", help="also write the results to this file")
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()

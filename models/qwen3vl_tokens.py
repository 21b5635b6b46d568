"""Qwen3-VL's token geometry: how many prompt tokens frames cost, in exact numbers.

Pure arithmetic, no model and no tokenizer. It follows how transformers'
Qwen3VLProcessor expands one ``<|video_pad|>``:

    per temporal group of TEMPORAL_PATCH frames:
        "<{t:.1f} seconds>"  <|vision_start|>  <|video_pad|> * (h/32 * w/32)  <|vision_end|>

where t is the mean time of the group's frames. Served backends that send each
frame as an image ("images" mode) pay the same per frame instead of per pair.
The ingest planner, both VLM backends and grounded answers all count with it.
"""

from __future__ import annotations

import math
from typing import Literal, get_args

import numpy as np

PATCH_SIZE = 16  # px, side of one ViT patch
SPATIAL_MERGE = 2  # patches merged per side into one LLM token
FACTOR = PATCH_SIZE * SPATIAL_MERGE  # 32 px: one token per 32x32 px
TEMPORAL_PATCH = 2  # frames that share one set of tokens (video mode)
VISION_WRAP_TOKENS = 2  # <|vision_start|> + <|vision_end|> per group
# "<", ".", the decimal digit, " seconds", ">" -- plus one token per integer digit
# (the Qwen tokenizer splits numbers into single digits).
TIMESTAMP_FIXED_TOKENS = 5

MAX_FPS = 2.0  # frames/s, Qwen's training and evaluation rate
MAX_FRAMES = 2048  # frames per request (Qwen's long-video evaluation setting)
MIN_GROUP_TOKENS = 128  # tokens per group, about 480x256 px (qwen-vl-utils VIDEO_MIN_TOKEN_NUM)
MAX_GROUP_TOKENS = 768  # tokens per group (qwen-vl-utils VIDEO_MAX_TOKEN_NUM)
TIME_TICKS_PER_S = 1000  # frame-index resolution used to pass times as video metadata
# video: frames in pairs that share tokens; images: a served backend sends each frame alone.
FrameMode = Literal["video", "images"]
MODES: tuple[FrameMode, ...] = get_args(FrameMode)


def round_by_factor(number: float, factor: int = FACTOR) -> int:
    return round(number / factor) * factor


def floor_by_factor(number: float, factor: int = FACTOR) -> int:
    return math.floor(number / factor) * factor


def ceil_by_factor(number: float, factor: int = FACTOR) -> int:
    return math.ceil(number / factor) * factor


def smart_resize(
    height: int,
    width: int,
    *,
    factor: int = FACTOR,
    min_pixels: int = MIN_GROUP_TOKENS * FACTOR * FACTOR,
    max_pixels: int = MAX_GROUP_TOKENS * FACTOR * FACTOR,
) -> tuple[int, int]:
    """(h, w), multiples of `factor`, aspect kept, with min_pixels <= h*w <= max_pixels."""
    if height <= 0 or width <= 0:
        raise ValueError(f"frame size must be positive, got {width}x{height} px")
    if max(height, width) / min(height, width) > 200:
        raise ValueError(f"aspect ratio of {width}x{height} px exceeds 200")
    h_bar = max(factor, round_by_factor(height, factor))
    w_bar = max(factor, round_by_factor(width, factor))
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar = max(factor, floor_by_factor(height / beta, factor))
        w_bar = max(factor, floor_by_factor(width / beta, factor))
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = ceil_by_factor(height * beta, factor)
        w_bar = ceil_by_factor(width * beta, factor)
    return h_bar, w_bar


def frame_size(
    width: int, height: int, max_tokens: int, min_tokens: int = MIN_GROUP_TOKENS
) -> tuple[int, int]:
    """(w, h) in px for at most `max_tokens` tokens per group, never above native size."""
    native = round_by_factor(height) * round_by_factor(width) // (FACTOR * FACTOR)
    cap = max(1, min(max_tokens, max(native, min_tokens)))
    h, w = smart_resize(
        height,
        width,
        min_pixels=min(min_tokens, cap) * FACTOR * FACTOR,
        max_pixels=cap * FACTOR * FACTOR,
    )
    return w, h


def grid_tokens(width: int, height: int) -> int:
    """LLM tokens for one group of a frame already sized to multiples of 32 px."""
    if width % FACTOR or height % FACTOR:
        raise ValueError(f"frame {width}x{height} px is not a multiple of {FACTOR} px")
    return (width // FACTOR) * (height // FACTOR)


def timestamp_text(seconds: float) -> str:
    return f"<{seconds:.1f} seconds>"


def timestamp_tokens(seconds: float) -> int:
    """Tokens of '<t seconds>' as the Qwen tokenizer splits it (one per digit)."""
    return TIMESTAMP_FIXED_TOKENS + len(f"{seconds:.1f}".split(".")[0])


def quantize_times(times) -> np.ndarray:
    """Times as the backend passes them (integer ticks at TIME_TICKS_PER_S), in seconds."""
    return np.round(np.asarray(times, dtype=float) * TIME_TICKS_PER_S) / TIME_TICKS_PER_S


def group_times(times, mode: FrameMode = "video") -> list[float]:
    """The time printed for each token group, as Qwen3VLProcessor computes it."""
    t = list(quantize_times(times))
    if mode == "images" or not t:
        return t
    if len(t) % TEMPORAL_PATCH:
        t += [t[-1]] * (TEMPORAL_PATCH - len(t) % TEMPORAL_PATCH)
    return [(t[i] + t[i + TEMPORAL_PATCH - 1]) / 2 for i in range(0, len(t), TEMPORAL_PATCH)]


def video_tokens(times, width: int, height: int, mode: FrameMode = "video") -> int:
    """Exact prompt tokens the frames at `times`, sized width x height px, expand to."""
    per_group = grid_tokens(width, height) + VISION_WRAP_TOKENS
    return sum(per_group + timestamp_tokens(t) for t in group_times(times, mode))


def centred_times(start: float, end: float, n_frames: int) -> np.ndarray:
    """`n_frames` times centred in equal slices of [start, end] (absolute seconds)."""
    if n_frames < 1 or end <= start:
        raise ValueError(f"cannot sample {n_frames} frames from {start:.1f}-{end:.1f} s")
    step = (end - start) / n_frames
    return start + step * (np.arange(n_frames) + 0.5)


def kv_bytes_per_token(layers: int, kv_heads: int, head_dim: int, dtype_bytes: int = 2) -> int:
    """KV-cache bytes per token: keys and values for every layer."""
    return layers * kv_heads * head_dim * 2 * dtype_bytes


def memory_context_cap(free_bytes: int, bytes_per_token: int, usable: float = 0.7) -> int:
    """Tokens whose KV cache fits in `usable` of the free memory (rest: activations)."""
    if bytes_per_token <= 0:
        raise ValueError("bytes_per_token must be positive")
    return max(0, int(free_bytes * usable) // bytes_per_token)

"""Context budget planner: how much of a video Qwen3-VL sees, in exact tokens.

The caller counts its text (prompt template + instructions, transcript) with the
real tokenizer and passes the counts in; this module adds the vision side with
models/qwen3vl_tokens.py and picks the frame rate, frame size and windows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from models.qwen3vl_tokens import (
    MAX_FPS,
    MAX_FRAMES,
    MAX_GROUP_TOKENS,
    MIN_GROUP_TOKENS,
    MODES,
    TEMPORAL_PATCH,
    VISION_WRAP_TOKENS,
    FrameMode,
    centred_times,
    frame_size,
    grid_tokens,
    timestamp_tokens,
    video_tokens,
)
from vidqa.settings import DEFAULT_CONTEXT_TOKENS

DEFAULT_OUTPUT_TOKENS = 4096  # tokens reserved for the answer
DEFAULT_PROMPT_TOKENS = 800  # tokens of template + instructions when not measured
MIN_FPS = 0.1  # frames/s; below this a window is split instead
DEFAULT_OVERLAP_S = 30.0  # s shared by neighbouring windows
MIN_WINDOW_S = 20.0  # s; a context that cannot hold this much is rejected


@dataclass(frozen=True)
class PlanOptions:
    max_fps: float = MAX_FPS
    min_fps: float = MIN_FPS
    max_frames: int = MAX_FRAMES
    min_group_tokens: int = MIN_GROUP_TOKENS
    max_group_tokens: int = MAX_GROUP_TOKENS
    overlap_s: float = DEFAULT_OVERLAP_S
    mode: FrameMode = "video"

    def __post_init__(self):
        if not 0 < self.min_fps <= self.max_fps <= MAX_FPS:
            raise ValueError(
                f"need 0 < min_fps <= max_fps <= {MAX_FPS} frames/s, got "
                f"{self.min_fps} and {self.max_fps}"
            )
        if self.max_frames < TEMPORAL_PATCH:
            raise ValueError(f"max_frames must be at least {TEMPORAL_PATCH}, got {self.max_frames}")
        if not 1 <= self.min_group_tokens <= self.max_group_tokens:
            raise ValueError(
                "need 1 <= min_group_tokens <= max_group_tokens, got "
                f"{self.min_group_tokens} and {self.max_group_tokens}"
            )
        if self.overlap_s < 0:
            raise ValueError(f"overlap must be >= 0 s, got {self.overlap_s}")
        if self.mode not in MODES:
            raise ValueError(f"mode {self.mode!r} is not one of {MODES}")


@dataclass(frozen=True)
class Plan:
    """What to send: the same sampling for every window, tokens counted per window."""

    fps: float  # frames per second of video actually sampled
    width: int  # px per frame (multiple of 32); 0 when there is no picture
    height: int
    n_frames: int  # frames per window
    windows: list[tuple[float, float]]  # absolute seconds, overlapping when split
    predicted_tokens: int  # prompt tokens of the largest window
    window_tokens: list[int] = field(default_factory=list)  # prompt tokens per window
    context: int = DEFAULT_CONTEXT_TOKENS
    output_tokens: int = DEFAULT_OUTPUT_TOKENS
    mode: FrameMode = "video"

    @property
    def tokens_per_group(self) -> int:
        return grid_tokens(self.width, self.height) if self.n_frames else 0

    def times(self, window: tuple[float, float]) -> np.ndarray:
        """Frame times for one window (empty when the plan has no frames)."""
        if not self.n_frames:
            return np.zeros(0)
        return centred_times(window[0], window[1], self.n_frames)


def _frames_per_group(mode: FrameMode) -> int:
    return TEMPORAL_PATCH if mode == "video" else 1


def _even(n: float, mode: FrameMode) -> int:
    k = _frames_per_group(mode)
    return max(k, int(n) // k * k)


def _fit_window(
    length: float, end_time: float, budget: int, width: int, height: int, opts: PlanOptions
) -> tuple[int, int, int] | None:
    """(n_frames, w, h) for a window of `length` s within `budget` vision tokens, or None."""
    k = _frames_per_group(opts.mode)
    overhead = VISION_WRAP_TOKENS + timestamp_tokens(end_time)
    n_min = _even(math.ceil(length * opts.min_fps / k) * k, opts.mode)
    n = _even(min(opts.max_frames, length * opts.max_fps), opts.mode)
    per_group = budget // math.ceil(n / k) - overhead
    if per_group < opts.min_group_tokens:
        w, h = frame_size(width, height, opts.min_group_tokens, opts.min_group_tokens)
        groups = budget // (grid_tokens(w, h) + overhead)
        n = _even(groups * k, opts.mode) if groups * k >= k else 0
        if n < n_min:
            return None
        return n, w, h
    w, h = frame_size(width, height, min(per_group, opts.max_group_tokens), opts.min_group_tokens)
    return n, w, h


def _window_budget(
    length: float, duration: float, context: int, fixed: int, transcript_tokens: int
) -> int:
    share = math.ceil(transcript_tokens * min(1.0, length / duration)) if duration > 0 else 0
    return context - fixed - share


def _fits(length, duration, context, fixed, transcript_tokens, width, height, opts) -> bool:
    budget = _window_budget(length, duration, context, fixed, transcript_tokens)
    if budget <= 0:
        return False
    if not width:
        return True
    return _fit_window(length, duration, budget, width, height, opts) is not None


def _longest_window(duration, context, fixed, transcript_tokens, width, height, opts) -> float:
    """Largest window length (s) that fits, by bisection to 1 s."""
    args = (duration, context, fixed, transcript_tokens, width, height, opts)
    if _fits(duration, *args):
        return duration
    low, high = 0.0, duration
    while high - low > 1.0:
        mid = (low + high) / 2
        low, high = (mid, high) if _fits(mid, *args) else (low, mid)
    return low


def split_windows(duration: float, length: float, overlap: float) -> list[tuple[float, float]]:
    """Equal windows of at most `length` s covering [0, duration], sharing `overlap` s."""
    duration = float(duration)
    if length >= duration:
        return [(0.0, duration)]
    overlap = min(overlap, length / 4)
    count = math.ceil((duration - overlap) / (length - overlap))
    size = (duration + (count - 1) * overlap) / count
    step = size - overlap
    return [(round(i * step, 3), round(min(duration, i * step + size), 3)) for i in range(count)]


def plan_video(
    duration: float,
    width: int | None,
    height: int | None,
    transcript_tokens: int,
    context: int = DEFAULT_CONTEXT_TOKENS,
    *,
    prompt_tokens: int = DEFAULT_PROMPT_TOKENS,
    output_tokens: int = DEFAULT_OUTPUT_TOKENS,
    options: PlanOptions | None = None,
) -> Plan:
    """Choose fps, frame size and windows so every request fits in `context` tokens.

    Coverage first: one window over the whole video when it fits at >= min_fps and
    >= min_group_tokens per group; then as many frames as max_fps and max_frames
    allow, then as many pixels per frame as the rest of the budget buys. A video
    without a picture (width/height None or 0) gets a text-only plan.
    """
    opts = options or PlanOptions()
    if duration <= 0:
        raise ValueError(f"duration must be positive, got {duration} s")
    if transcript_tokens < 0 or prompt_tokens < 0 or output_tokens < 0:
        raise ValueError("token counts must be >= 0")
    if not (width and height):
        width = height = 0
    fixed = prompt_tokens + output_tokens
    length = _longest_window(duration, context, fixed, transcript_tokens, width, height, opts)
    if length < min(duration, MIN_WINDOW_S):
        raise ValueError(
            f"a {context}-token context cannot hold {min(duration, MIN_WINDOW_S):.0f} s of this "
            f"video (prompt {prompt_tokens}, answer {output_tokens}, transcript "
            f"{transcript_tokens} tokens for {duration:.0f} s); raise --context or shorten"
        )
    windows = split_windows(duration, length, opts.overlap_s)
    return _finish_plan(
        windows,
        duration,
        context,
        fixed,
        transcript_tokens,
        width,
        height,
        prompt_tokens,
        output_tokens,
        opts,
    )


def _finish_plan(
    windows,
    duration,
    context,
    fixed,
    transcript_tokens,
    width,
    height,
    prompt_tokens,
    output_tokens,
    opts,
) -> Plan:
    size = max(end - start for start, end in windows)
    budget = _window_budget(size, duration, context, fixed, transcript_tokens)
    n, w, h = 0, 0, 0
    if width:
        fitted = _fit_window(size, duration, budget, width, height, opts)
        if fitted is None:  # cannot happen for size <= the longest fitting window
            raise ValueError(f"no frame budget for {size:.0f} s windows in {context} tokens")
        n, w, h = fitted
    plan = Plan(
        fps=n / size,
        width=w,
        height=h,
        n_frames=n,
        windows=windows,
        predicted_tokens=0,
        context=context,
        output_tokens=output_tokens,
        mode=opts.mode,
    )
    counts = []
    for start, end in windows:
        share = math.ceil(transcript_tokens * (end - start) / duration)
        vision = video_tokens(plan.times((start, end)), w, h, opts.mode) if n else 0
        counts.append(prompt_tokens + share + vision)
    return replace(plan, predicted_tokens=max(counts), window_tokens=counts)

"""Context budget planner: how much of a video Qwen3-VL sees, in exact tokens.

Pure arithmetic, no model and no tokenizer. The caller counts its text (prompt
template + instructions, transcript) with the real tokenizer and passes the
counts in; this module adds the vision side the way transformers'
Qwen3VLProcessor expands one ``<|video_pad|>``:

    per temporal group of TEMPORAL_PATCH frames:
        "<{t:.1f} seconds>"  <|vision_start|>  <|video_pad|> * (h/32 * w/32)  <|vision_end|>

where t is the mean time of the group's frames. Served backends that send each
frame as an image ("images" mode) pay the same per frame instead of per pair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

PATCH_SIZE = 16  # px, side of one ViT patch
SPATIAL_MERGE = 2  # patches merged per side into one LLM token
FACTOR = PATCH_SIZE * SPATIAL_MERGE  # 32 px: one token per 32x32 px
TEMPORAL_PATCH = 2  # frames that share one set of tokens (video mode)
VISION_WRAP_TOKENS = 2  # <|vision_start|> + <|vision_end|> per group
# "<", ".", the decimal digit, " seconds", ">" -- plus one token per integer digit
# (the Qwen tokenizer splits numbers into single digits).
TIMESTAMP_FIXED_TOKENS = 5

DEFAULT_CONTEXT = 262_144  # tokens, Qwen3-VL's native window
DEFAULT_OUTPUT_TOKENS = 4096  # tokens reserved for the answer
DEFAULT_PROMPT_TOKENS = 800  # tokens of template + instructions when not measured
MAX_FPS = 2.0  # frames/s, Qwen's training and evaluation rate
MIN_FPS = 0.1  # frames/s; below this a window is split instead
MAX_FRAMES = 2048  # frames per request (Qwen's long-video evaluation setting)
MIN_GROUP_TOKENS = 128  # tokens per group, about 480x256 px (qwen-vl-utils VIDEO_MIN_TOKEN_NUM)
MAX_GROUP_TOKENS = 768  # tokens per group (qwen-vl-utils VIDEO_MAX_TOKEN_NUM)
DEFAULT_OVERLAP_S = 30.0  # s shared by neighbouring windows
MIN_WINDOW_S = 20.0  # s; a context that cannot hold this much is rejected
TIME_TICKS_PER_S = 1000  # frame-index resolution used to pass times as video metadata
MODES = ("video", "images")


def round_by_factor(number: float, factor: int = FACTOR) -> int:
    return round(number / factor) * factor


def floor_by_factor(number: float, factor: int = FACTOR) -> int:
    return math.floor(number / factor) * factor


def ceil_by_factor(number: float, factor: int = FACTOR) -> int:
    return math.ceil(number / factor) * factor


def smart_resize(height: int, width: int, *, factor: int = FACTOR,
                 min_pixels: int = MIN_GROUP_TOKENS * FACTOR * FACTOR,
                 max_pixels: int = MAX_GROUP_TOKENS * FACTOR * FACTOR) -> tuple[int, int]:
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


def frame_size(width: int, height: int, max_tokens: int,
               min_tokens: int = MIN_GROUP_TOKENS) -> tuple[int, int]:
    """(w, h) in px for at most `max_tokens` tokens per group, never above native size."""
    native = round_by_factor(height) * round_by_factor(width) // (FACTOR * FACTOR)
    cap = max(1, min(max_tokens, max(native, min_tokens)))
    h, w = smart_resize(height, width, min_pixels=min(min_tokens, cap) * FACTOR * FACTOR,
                        max_pixels=cap * FACTOR * FACTOR)
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


def group_times(times, mode: str = "video") -> list[float]:
    """The time printed for each token group, as Qwen3VLProcessor computes it."""
    t = list(quantize_times(times))
    if mode == "images" or not t:
        return t
    if len(t) % TEMPORAL_PATCH:
        t += [t[-1]] * (TEMPORAL_PATCH - len(t) % TEMPORAL_PATCH)
    return [(t[i] + t[i + TEMPORAL_PATCH - 1]) / 2 for i in range(0, len(t), TEMPORAL_PATCH)]


def video_tokens(times, width: int, height: int, mode: str = "video") -> int:
    """Exact prompt tokens the frames at `times`, sized width x height px, expand to."""
    per_group = grid_tokens(width, height) + VISION_WRAP_TOKENS
    return sum(per_group + timestamp_tokens(t) for t in group_times(times, mode))


def sample_times(start: float, end: float, n_frames: int) -> np.ndarray:
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


@dataclass(frozen=True)
class PlanOptions:
    max_fps: float = MAX_FPS
    min_fps: float = MIN_FPS
    max_frames: int = MAX_FRAMES
    min_group_tokens: int = MIN_GROUP_TOKENS
    max_group_tokens: int = MAX_GROUP_TOKENS
    overlap_s: float = DEFAULT_OVERLAP_S
    mode: str = "video"  # video (pairs share tokens) | images (one image per frame)

    def __post_init__(self):
        if not 0 < self.min_fps <= self.max_fps <= MAX_FPS:
            raise ValueError(f"need 0 < min_fps <= max_fps <= {MAX_FPS} frames/s, got "
                             f"{self.min_fps} and {self.max_fps}")
        if self.max_frames < TEMPORAL_PATCH:
            raise ValueError(f"max_frames must be at least {TEMPORAL_PATCH}, got {self.max_frames}")
        if not 1 <= self.min_group_tokens <= self.max_group_tokens:
            raise ValueError("need 1 <= min_group_tokens <= max_group_tokens, got "
                             f"{self.min_group_tokens} and {self.max_group_tokens}")
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
    context: int = DEFAULT_CONTEXT
    output_tokens: int = DEFAULT_OUTPUT_TOKENS
    mode: str = "video"

    @property
    def tokens_per_group(self) -> int:
        return grid_tokens(self.width, self.height) if self.n_frames else 0

    def times(self, window: tuple[float, float]) -> np.ndarray:
        """Frame times for one window (empty when the plan has no frames)."""
        if not self.n_frames:
            return np.zeros(0)
        return sample_times(window[0], window[1], self.n_frames)


def _frames_per_group(mode: str) -> int:
    return TEMPORAL_PATCH if mode == "video" else 1


def _even(n: float, mode: str) -> int:
    k = _frames_per_group(mode)
    return max(k, int(n) // k * k)


def _fit_window(length: float, end_time: float, budget: int, width: int, height: int,
                opts: PlanOptions) -> tuple[int, int, int] | None:
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


def _window_budget(length: float, duration: float, context: int, fixed: int,
                   transcript_tokens: int) -> int:
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


def plan_video(duration: float, width: int | None, height: int | None, transcript_tokens: int,
               context: int = DEFAULT_CONTEXT, *, prompt_tokens: int = DEFAULT_PROMPT_TOKENS,
               output_tokens: int = DEFAULT_OUTPUT_TOKENS,
               options: PlanOptions | None = None) -> Plan:
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
            f"{transcript_tokens} tokens for {duration:.0f} s); raise --context or shorten")
    windows = split_windows(duration, length, opts.overlap_s)
    return _finish_plan(windows, duration, context, fixed, transcript_tokens, width, height,
                        prompt_tokens, output_tokens, opts)


def _finish_plan(windows, duration, context, fixed, transcript_tokens, width, height,
                 prompt_tokens, output_tokens, opts) -> Plan:
    size = max(end - start for start, end in windows)
    budget = _window_budget(size, duration, context, fixed, transcript_tokens)
    n, w, h = 0, 0, 0
    if width:
        fitted = _fit_window(size, duration, budget, width, height, opts)
        if fitted is None:  # cannot happen for size <= the longest fitting window
            raise ValueError(f"no frame budget for {size:.0f} s windows in {context} tokens")
        n, w, h = fitted
    plan = Plan(fps=n / size, width=w, height=h, n_frames=n, windows=windows,
                predicted_tokens=0, context=context, output_tokens=output_tokens, mode=opts.mode)
    counts = []
    for start, end in windows:
        share = math.ceil(transcript_tokens * (end - start) / duration)
        vision = video_tokens(plan.times((start, end)), w, h, opts.mode) if n else 0
        counts.append(prompt_tokens + share + vision)
    return replace(plan, predicted_tokens=max(counts), window_tokens=counts)

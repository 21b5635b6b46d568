"""The context planner: pure token arithmetic, checked against the real processor."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from ingest import planner
from ingest.planner import PlanOptions, plan_video, split_windows
from models import qwen3vl_tokens as tokens
from models.qwen3vl_tokens import (
    FACTOR,
    frame_size,
    group_times,
    kv_bytes_per_token,
    memory_context_cap,
    smart_resize,
    timestamp_tokens,
    video_tokens,
)

RATE = 2.5  # transcript tokens per second of speech (~150 words/min)


@pytest.fixture(scope="module")
def processor():
    from tiny_qwen3vl import build_processor

    return build_processor()


def test_smart_resize_keeps_bounds_and_multiples():
    for height, width in [(360, 640), (720, 1280), (1080, 1920), (1920, 1080), (90, 160)]:
        h, w = smart_resize(height, width, min_pixels=128 * 1024, max_pixels=768 * 1024)
        assert h % FACTOR == 0 and w % FACTOR == 0
        assert 128 * 1024 * 0.8 <= h * w <= 768 * 1024
        assert abs(w / h - width / height) < 0.25


def test_frame_size_never_upscales_beyond_the_minimum():
    assert frame_size(640, 360, 10_000) == (640, 352)  # native, rounded to 32 px
    w, h = frame_size(1920, 1080, 200)
    assert (w // FACTOR) * (h // FACTOR) <= 200
    w, h = frame_size(160, 90, 768)  # tiny video: lifted to the minimum tokens, no more
    assert (w // FACTOR) * (h // FACTOR) <= 2 * tokens.MIN_GROUP_TOKENS


def test_timestamp_tokens_match_the_tokenizer():
    from models.vlm import qwen_tokenizer

    tok = qwen_tokenizer()
    for t in [0.25, 9.96, 12.5, 99.95, 1500.25, 3599.9, 10800.0, 123456.7]:
        text = "<|vision_end|>" + tokens.timestamp_text(t) + "<|vision_start|>"
        assert len(tok(text)["input_ids"]) - 2 == timestamp_tokens(t), t


def test_group_times_average_pairs_and_pad_the_last():
    assert group_times([10.0, 10.5, 11.0]) == [10.25, 11.0]
    assert group_times([10.0, 10.5], mode="images") == [10.0, 10.5]


@pytest.mark.parametrize("duration", [600, 3600, 3 * 3600])
@pytest.mark.parametrize("context", [32_768, 131_072, 262_144])
def test_plans_fit_the_context(duration, context):
    plan = plan_video(duration, 1280, 720, int(duration * RATE), context)
    assert max(plan.window_tokens) == plan.predicted_tokens
    assert plan.predicted_tokens + plan.output_tokens <= context
    assert 0 < plan.fps <= 2.0 and plan.width % FACTOR == 0 and plan.height % FACTOR == 0
    assert plan.n_frames <= tokens.MAX_FRAMES and plan.n_frames % 2 == 0
    assert plan.windows[0][0] == 0 and plan.windows[-1][1] == duration
    for (a0, a1), (b0, b1) in pairwise(plan.windows):
        assert a0 < b0 < a1 < b1  # overlapping, monotonic
    if context == 262_144 and duration == 600:
        assert plan.fps == 2.0 and len(plan.windows) == 1


def test_long_video_in_small_context_is_split():
    plan = plan_video(3 * 3600, 1280, 720, int(3 * 3600 * RATE), 32_768)
    assert len(plan.windows) >= 2
    assert plan.fps >= planner.MIN_FPS


def test_more_context_never_means_less_coverage():
    small = plan_video(3600, 1920, 1080, 9000, 65_536)
    large = plan_video(3600, 1920, 1080, 9000, 262_144)
    assert large.n_frames * large.tokens_per_group > small.n_frames * small.tokens_per_group
    assert large.fps >= small.fps


def test_images_mode_pays_per_frame():
    video = plan_video(120, 640, 360, 0, 20_000)
    images = plan_video(120, 640, 360, 0, 20_000, options=PlanOptions(mode="images"))
    assert images.n_frames * images.tokens_per_group <= video.n_frames * video.tokens_per_group


def test_text_only_plan_and_too_small_context():
    plan = plan_video(300, None, None, 500, 8000)
    assert plan.n_frames == 0 and plan.predicted_tokens == planner.DEFAULT_PROMPT_TOKENS + 500
    with pytest.raises(ValueError, match="cannot hold"):
        plan_video(3600, 1280, 720, 9000, 2000)
    with pytest.raises(ValueError, match="min_fps"):
        PlanOptions(min_fps=3.0)


def test_split_windows_cover_with_overlap():
    windows = split_windows(1000.0, 300.0, 30.0)
    assert windows[0][0] == 0.0 and windows[-1][1] == 1000.0
    assert all(end - start <= 300.0 + 1e-6 for start, end in windows)
    assert all(b[0] < a[1] for a, b in pairwise(windows))


def test_kv_cache_cap_for_qwen3_vl_2b():
    per_token = kv_bytes_per_token(layers=28, kv_heads=8, head_dim=128, dtype_bytes=2)
    assert per_token == 114_688  # 112 KiB
    assert memory_context_cap(40 * 2**30, per_token, usable=1.0) == 374_491
    assert memory_context_cap(8 * 2**30, per_token) < 262_144


def _real_tokens(processor, duration, width, height, context, window=None, fps=None):
    """(planned tokens, processor input_ids length) for one window of a synthetic video."""
    from index.records import Segment
    from ingest.chapters import build_messages, transcript_lines
    from models.vlm import VideoClip, render_chat

    segments = [
        Segment(t, t + 4.0, f"Sentence {i} about topic {i % 7} at second {t:.0f}.")
        for i, t in enumerate(np.arange(0.0, duration - 4.0, 5.0))
    ]

    def count(text: str) -> int:
        return len(processor.tokenizer(text, add_special_tokens=False)["input_ids"])

    prompt = count(render_chat(build_messages((0.0, duration), duration, "", "clip"))) - 1
    transcript = count("\n".join(transcript_lines(segments)))
    options = PlanOptions(max_fps=fps or tokens.MAX_FPS, min_fps=min(fps or 0.1, 0.1))
    plan = plan_video(
        duration, width, height, transcript, context, prompt_tokens=prompt, options=options
    )
    assert len(plan.windows) == 1
    times = plan.times(plan.windows[0])
    frames = np.zeros((len(times), plan.height, plan.width, 3), np.uint8)
    clip = VideoClip(frames, times)
    text = "\n".join(transcript_lines(segments))
    messages = build_messages(plan.windows[0], duration, text, clip)
    from models.qwen_transformers import _metadata

    inputs = processor(
        text=[render_chat(messages)],
        videos=[frames],
        video_metadata=[_metadata(clip)],
        do_sample_frames=False,
        do_resize=False,
    )
    return plan.predicted_tokens, len(inputs["input_ids"][0]), plan


@pytest.mark.parametrize(
    "duration,width,height,context,fps",
    [
        (12.0, 1280, 720, 262_144, None),  # 2 fps, near-native pixels
        (90.0, 640, 360, 12_000, None),  # budget-bound pixels
        (240.0, 480, 640, 16_000, 0.5),  # portrait, capped fps
        (600.0, 1920, 1080, 20_000, None),  # budget-bound fps
    ],
)
def test_planner_matches_the_processor(processor, duration, width, height, context, fps):
    predicted, real, plan = _real_tokens(processor, duration, width, height, context, fps=fps)
    assert abs(predicted - real) <= 0.01 * real, (predicted, real, plan)
    assert predicted == real  # exact today: text counted with the real tokenizer
    assert real + plan.output_tokens <= context


def test_exact_vision_tokens_for_an_offset_window(processor):
    """A window at 25:00 prints <1500.x seconds>: more digits, counted exactly."""
    from models.qwen_transformers import _metadata
    from models.vlm import VideoClip

    times = tokens.centred_times(1500.0, 1560.0, 40)
    frames = np.zeros((40, 256, 448, 3), np.uint8)
    clip = VideoClip(frames, times)
    inputs = processor(
        text=["<|video_pad|>"],
        videos=[frames],
        video_metadata=[_metadata(clip)],
        do_sample_frames=False,
        do_resize=False,
    )
    assert len(inputs["input_ids"][0]) == video_tokens(times, 448, 256)
    decoded = processor.tokenizer.decode(inputs["input_ids"][0][:10])
    assert decoded.startswith("<1501.5 seconds>")  # (1500.75 + 1502.25) / 2

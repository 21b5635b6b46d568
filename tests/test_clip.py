"""models/clip.py with a tiny randomly initialised open_clip model, loaded from a local
file exactly like real weights. Random weights: shapes, norms and search plumbing only."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from models.clip import TINY_CONFIG, load_clip, tiny_clip_checkpoint
from vidqa.decode import read_frames
from vidqa.errors import ModelNotFound

DIM = TINY_CONFIG["embed_dim"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(model_name, weights_path) of a random tiny open_clip model on disk."""
    return tiny_clip_checkpoint(tmp_path_factory.mktemp("clip"))


def test_tiny_checkpoint_loads_through_the_local_file_path(tiny):
    name, weights = tiny
    assert weights.is_file() and weights.with_suffix(".json").is_file()
    embedder = load_clip(name, str(weights), device="cpu")
    assert "random" in embedder.name and embedder.name.startswith(name + "/")
    assert embedder.dim == DIM
    assert load_clip(name, str(weights), device="cpu") is embedder  # loaded once


def test_embeddings_are_unit_float32_vectors(tiny):
    embedder = load_clip(tiny[0], str(tiny[1]), device="cpu")
    images = [
        np.zeros((50, 80, 3), np.uint8),
        Image.new("RGB", (30, 60), (200, 10, 10)),
        np.full((224, 224, 3), 128, np.uint8),
    ]
    vectors = embedder.embed_images(images, batch_size=2)
    assert vectors.shape == (3, DIM) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    texts = embedder.embed_texts(["the slide with the architecture diagram", "a red car"])
    assert texts.shape == (2, DIM) and np.allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    assert embedder.embed_texts([]).shape == (0, DIM)
    with pytest.raises(ValueError, match="RGB uint8"):
        embedder.embed_images([np.zeros((10, 10), np.float32)])


def test_text_and_image_search_over_decoded_frames(tiny, clips):
    embedder = load_clip(tiny[0], str(tiny[1]), device="cpu")
    batch = read_frames(clips["ramp"], [0.0, 1.0, 2.0, 3.0], max_side=224)
    frames = embedder.embed_images(list(batch.frames))
    query = embedder.embed_texts(["a gray frame"])[0]
    ranked = np.argsort(-(frames @ query))
    assert sorted(ranked.tolist()) == [0, 1, 2, 3]
    # image -> frame: a screenshot of frame 2 finds frame 2
    shot = embedder.embed_images([Image.fromarray(batch.frames[2])])[0]
    assert int(np.argmax(frames @ shot)) == 2


def test_settings_choose_the_model(tiny, monkeypatch):
    monkeypatch.setenv("VIDQA_CLIP_MODEL", tiny[0])
    monkeypatch.setenv("VIDQA_CLIP_PRETRAINED", str(tiny[1]))
    monkeypatch.setenv("VIDQA_DEVICE", "cpu")
    assert load_clip().dim == DIM


def test_unavailable_weights_fail_with_an_actionable_message(tiny, tmp_path):
    with pytest.raises(ModelNotFound, match="no such model file"):
        load_clip("ViT-B-32", str(tmp_path / "missing.pt"), device="cpu")
    with pytest.raises(ModelNotFound, match="no pretrained tag 'nope' for ViT-B-32"):
        load_clip("ViT-B-32", "nope", device="cpu")
    with pytest.raises(ModelNotFound, match="no model 'ViT-Nope'"):
        load_clip("ViT-Nope", "laion2b_s34b_b79k", device="cpu")
    stray = tmp_path / "weights.pt"
    shutil.copy(tiny[1], stray)
    with pytest.raises(ModelNotFound, match="no model config 'mystery-net'"):
        load_clip("mystery-net", str(stray), device="cpu")


def test_batched_preprocessing_matches_open_clips_pil_pipeline(tiny, clips):
    embedder = load_clip(tiny[0], str(tiny[1]), device="cpu")
    frames = list(read_frames(clips["odd"], [0.1, 0.5], max_side=200).frames)
    fast = embedder._pixels_batched(frames)
    assert fast is not None  # same-size arrays take the tensor path
    slow = np.stack([embedder.preprocess(Image.fromarray(f)).numpy() for f in frames])
    assert fast.shape == slow.shape
    assert float(np.abs(fast.numpy() - slow).mean()) < 0.02
    mixed = [frames[0], Image.fromarray(frames[1])]
    assert embedder._pixels_batched(mixed) is None  # PIL input: open_clip's own pipeline
    vectors = embedder.embed_images(mixed)
    assert np.allclose(vectors, embedder.embed_images(frames), atol=0.02)

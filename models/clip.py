"""open_clip behind a small embedder interface: frames and text in one vector space.

    emb = load_clip()                      # settings(): ViT-B-32 / laion2b_s34b_b79k
    emb.embed_images([rgb_array, ...])     # (N, dim) float32, L2-normalised
    emb.embed_texts(["a red car"])         # (N, dim), same space

`pretrained` is an open_clip tag (downloaded to the Hugging Face cache) or a
local state-dict file. A model name open_clip does not know may be defined by a
`<name>.json` open_clip config next to that file; `tiny_clip_checkpoint` writes
such a pair (random weights) so tests take exactly the production load path.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from vidqa.errors import ModelNotFound
from vidqa.settings import settings

IMAGE_BATCH = 64  # images per forward pass
TEXT_BATCH = 256  # texts per forward pass
TINY_MODEL = "vidqa-tiny-clip-random"  # randomly initialised: for tests, never for search quality
TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def _open_clip():
    import open_clip  # a required dependency, imported only when CLIP runs

    return open_clip


def _looks_like_path(value: str) -> bool:
    return value.startswith(("/", "./", "../", "~")) or Path(value).suffix in (
        ".pt",
        ".pth",
        ".bin",
        ".safetensors",
        ".npz",
    )


def _register_sibling_config(name: str, weights: Path) -> None:
    """Register `<name>.json` next to the weights when open_clip doesn't know `name`."""
    open_clip = _open_clip()
    if name in open_clip.list_models() or name.startswith(("hf-hub:", "local-dir:")):
        return
    config = weights.parent / f"{name}.json"
    if not config.is_file():
        raise ModelNotFound(
            f"open_clip has no model config {name!r} and {config} does not exist "
            f"(known: ViT-B-32, ViT-B-16, ... see open_clip.list_models())"
        )
    open_clip.add_model_config(config)


def _resolve_pretrained(name: str, pretrained: str) -> tuple[str, str]:
    """(weights, label): a local weights file and its file name, or an open_clip tag
    (whose weights are then in the HF cache) twice."""
    from models.resolve import resolve

    if _looks_like_path(pretrained) or Path(pretrained).expanduser().exists():
        path = Path(resolve(pretrained, "clip").ref)
        if not path.is_file():
            raise ModelNotFound(f"{pretrained}: CLIP weights must be a state-dict file")
        _register_sibling_config(name, path)
        return str(path), path.name
    open_clip = _open_clip()
    if name not in open_clip.list_models():
        raise ModelNotFound(f"open_clip has no model {name!r} (see open_clip.list_models())")
    tags = open_clip.list_pretrained_tags_by_model(name)
    if pretrained not in tags:
        raise ModelNotFound(
            f"open_clip has no pretrained tag {pretrained!r} for {name} "
            f"(known: {', '.join(tags) or 'none'}); or pass a local weights file"
        )
    from open_clip.pretrained import download_pretrained, get_pretrained_cfg

    from models.resolve import hub_offline

    cfg = get_pretrained_cfg(name, pretrained)
    source = cfg.get("hf_hub", "").rstrip("/") or cfg.get("url", "?")
    missing = (
        f"CLIP weights {name}/{pretrained} could not be downloaded from {source} "
        "({}): download them once with network access, or set "
        "VIDQA_CLIP_PRETRAINED to a local state-dict file"
    )
    if hub_offline():  # only the HF cache can help; asking the hub would retry for a minute
        cached = _cached_hf_weights(cfg)
        if cached is None:
            raise ModelNotFound(missing.format("offline"))
        return cached, pretrained
    try:
        download_pretrained(cfg)
    except (FileNotFoundError, RuntimeError, OSError) as e:
        raise ModelNotFound(missing.format(type(e).__name__)) from e
    return pretrained, pretrained


def _cached_hf_weights(cfg: dict) -> str | None:
    """The weights file open_clip would download for `cfg`, if the HF cache has it."""
    import os

    from huggingface_hub import try_to_load_from_cache
    from open_clip.pretrained import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

    model_id, filename = os.path.split(cfg.get("hf_hub", ""))
    if not model_id:
        return None
    filename = filename or HF_WEIGHTS_NAME
    # open_clip prefers a .safetensors sibling: the default name has its own, others swap suffix
    safe = (
        HF_SAFE_WEIGHTS_NAME
        if filename == HF_WEIGHTS_NAME
        else re.sub(r"\.(bin|pth)$", ".safetensors", filename)
    )
    for candidate in dict.fromkeys((safe, filename)):
        found = try_to_load_from_cache(model_id, candidate)
        if isinstance(found, str):
            return found
    return None


class ClipEmbedder:
    """Image and text embeddings from one open_clip model, L2-normalised float32.

    Build it with `load_clip` (weights by tag or file) or `random_clip` (benchmarks).
    """

    def __init__(self, model, preprocess, tokenizer, *, name: str, dim: int, device: str):
        model.eval()
        self.model = model
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.name = name  # "<architecture>/<tag or weights file name>"
        self.dim = dim
        self.device = device

    def __repr__(self) -> str:
        return f"ClipEmbedder({self.name!r}, dim={self.dim}, device={self.device!r})"

    def embed_images(self, images, batch_size: int = IMAGE_BATCH) -> np.ndarray:
        """RGB uint8 arrays (H, W, 3) or PIL images -> (N, dim) unit vectors."""
        import torch
        from PIL import Image

        out = []
        for lo in range(0, len(images), batch_size):
            chunk = images[lo : lo + batch_size]
            pixels = self._pixels_batched(chunk)
            if pixels is None:
                pil = [
                    im if isinstance(im, Image.Image) else Image.fromarray(_as_rgb(im))
                    for im in chunk
                ]
                pixels = torch.stack([self.preprocess(im.convert("RGB")) for im in pil])
            with torch.inference_mode():
                out.append(self.model.encode_image(pixels.to(self.device)).float())
        return self._finish(out)

    def _pixels_batched(self, chunk):
        """The model input for same-size RGB arrays in one tensor op, or None.

        Applies the same Resize (shorter side) / CenterCrop / Normalize as open_clip's
        PIL preprocessing (~10x faster on CPU); None when the images are PIL or differ
        in size, or the preprocessing is not that standard pipeline.
        """
        steps = _standard_steps(self.preprocess)
        if steps is None or not all(isinstance(im, np.ndarray) for im in chunk):
            return None
        if len({im.shape for im in chunk}) != 1:
            return None
        import torch

        short, mode, crop, mean, std = steps
        x = torch.from_numpy(np.stack([_as_rgb(im) for im in chunk])).permute(0, 3, 1, 2)
        x = x.float().div_(255.0)
        h, w = x.shape[-2:]
        size = (short, int(short * w / h)) if h <= w else (int(short * h / w), short)
        x = torch.nn.functional.interpolate(
            x, size=size, mode=mode, antialias=True, align_corners=False
        ).clamp_(0.0, 1.0)
        top, left = (size[0] - crop[0]) // 2, (size[1] - crop[1]) // 2
        x = x[:, :, top : top + crop[0], left : left + crop[1]]
        return (x - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)

    def embed_texts(self, texts: list[str], batch_size: int = TEXT_BATCH) -> np.ndarray:
        """Strings -> (N, dim) unit vectors in the image space."""
        import torch

        out = []
        for lo in range(0, len(texts), batch_size):
            tokens = self.tokenizer(list(texts[lo : lo + batch_size])).to(self.device)
            with torch.inference_mode():
                out.append(self.model.encode_text(tokens).float())
        return self._finish(out)

    def _finish(self, chunks) -> np.ndarray:
        import torch

        if not chunks:
            return np.zeros((0, self.dim), np.float32)
        vectors = torch.nn.functional.normalize(torch.cat(chunks), dim=-1)
        return vectors.cpu().numpy().astype(np.float32)


STANDARD_PIPELINE = ["Resize", "CenterCrop", "MaybeConvertMode", "MaybeToTensor", "Normalize"]


def _standard_steps(preprocess):
    """(short side, interpolation, crop (h, w), mean, std) of open_clip's usual
    inference transform, or None when `preprocess` is anything else."""
    import torch

    steps = list(getattr(preprocess, "transforms", []))
    if [type(step).__name__ for step in steps] != STANDARD_PIPELINE:
        return None
    resize, crop, _, _, norm = steps
    size = resize.size if isinstance(resize.size, int) else None
    if isinstance(resize.size, (list, tuple)) and len(resize.size) == 1:
        size = resize.size[0]
    mode = getattr(resize.interpolation, "value", None)
    if size is None or resize.max_size is not None or mode not in ("bicubic", "bilinear"):
        return None
    crop_hw = tuple(crop.size) if len(crop.size) == 2 else (crop.size[0], crop.size[0])
    return (
        size,
        mode,
        crop_hw,
        torch.tensor(norm.mean, dtype=torch.float32),
        torch.tensor(norm.std, dtype=torch.float32),
    )


def _as_rgb(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 array (H, W, 3), got {image.dtype} {image.shape}")
    return image


def load_clip(
    name: str | None = None, pretrained: str | None = None, device: str | None = None
) -> ClipEmbedder:
    """The CLIP embedder for `name`/`pretrained` (settings() defaults), loaded once."""
    from models.device import pick_device

    current = settings()
    name = name or current.clip_model
    pretrained = pretrained or current.clip_pretrained
    device = pick_device(device)
    if _looks_like_path(pretrained):
        pretrained = str(Path(pretrained).expanduser().resolve())
    return _load_cached(name, pretrained, device)


@lru_cache(maxsize=4)
def _load_cached(name: str, pretrained: str, device: str) -> ClipEmbedder:
    open_clip = _open_clip()
    weights, label = _resolve_pretrained(name, pretrained)
    model, _, preprocess = open_clip.create_model_and_transforms(
        name, pretrained=weights, device=device
    )
    return ClipEmbedder(
        model,
        preprocess,
        open_clip.get_tokenizer(name),
        name=f"{name}/{label}",
        dim=int(open_clip.get_model_config(name)["embed_dim"]),
        device=device,
    )


def random_clip(name: str = "ViT-B-32", device: str = "cpu", seed: int = 0) -> ClipEmbedder:
    """A real open_clip architecture with random weights: for speed measurements only."""
    import torch

    open_clip = _open_clip()
    if name not in open_clip.list_models():
        raise ModelNotFound(f"open_clip has no model {name!r} (see open_clip.list_models())")
    torch.manual_seed(seed)
    model, _, preprocess = open_clip.create_model_and_transforms(name, device=device)
    return ClipEmbedder(
        model,
        preprocess,
        open_clip.get_tokenizer(name),
        name=f"{name}/random-weights",
        dim=int(open_clip.get_model_config(name)["embed_dim"]),
        device=device,
    )


def tiny_clip_checkpoint(directory: str | Path, *, seed: int = 0) -> tuple[str, Path]:
    """Write a tiny, randomly initialised open_clip model: (model_name, weights_path).

    `<dir>/<name>.json` holds the architecture, `<dir>/<name>.pt` the state dict;
    `load_clip(name, str(path))` loads it like any local checkpoint. Random
    weights: the vectors have the right shape and norm but no meaning.
    """
    import torch

    open_clip = _open_clip()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / f"{TINY_MODEL}.json"
    weights = directory / f"{TINY_MODEL}.pt"
    config.write_text(json.dumps(TINY_CONFIG, indent=2))
    if not weights.exists():
        open_clip.add_model_config(config)
        torch.manual_seed(seed)
        model = open_clip.create_model(TINY_MODEL, pretrained=None)
        torch.save(model.state_dict(), weights)
    return TINY_MODEL, weights

"""One place that decides where models run and in which dtype."""

from __future__ import annotations

import importlib.util
from functools import cache

from vidqa.errors import ConfigError
from vidqa.settings import settings


@cache
def _available(kind: str) -> bool:
    import torch

    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        return bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    return kind == "cpu"


def pick_device(preference: str | None = None) -> str:
    """'cuda' > 'mps' > 'cpu' for auto; an explicit choice is checked, not silently replaced."""
    pref = (preference or settings().device).lower()
    if pref == "auto":
        for kind in ("cuda", "mps"):
            if _available(kind):
                return kind
        return "cpu"
    if not _available(pref):
        raise ConfigError(f"device {pref!r} was requested but is not available on this machine")
    return pref


def has_gpu() -> bool:
    """The one GPU check (VLM "auto" in ingest and in answers); False without torch."""
    if importlib.util.find_spec("torch") is None:
        return False
    return pick_device("auto") != "cpu"


def torch_dtype(device: str):
    """bf16 on CUDA (Qwen3-VL's training dtype), fp32 elsewhere (bf16 matmul on CPU is slow)."""
    import torch

    return torch.bfloat16 if device == "cuda" else torch.float32

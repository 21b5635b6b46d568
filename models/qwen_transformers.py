"""Qwen3-VL run locally with transformers (AutoModelForImageTextToText + AutoProcessor).

Frames go to the processor already decoded, with ``do_sample_frames=False`` and
video metadata whose frame indices are the absolute times in milliseconds
(fps = 1000), so the prompt carries ``<1500.2 seconds>`` for a window that
starts at 25:00 -- not ``<0.2 seconds>``.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Iterator

import numpy as np

from models.qwen3vl_tokens import (
    FACTOR,
    TIME_TICKS_PER_S,
    group_times,
    kv_bytes_per_token,
    memory_context_cap,
    round_by_factor,
)
from models.vlm import (
    DEFAULT_MAX_NEW_TOKENS,
    VIDEO_PAD,
    VideoClip,
    VLMBackend,
    chat_template,
    render_chat,
)
from vidqa.errors import BackendError, MissingDependency

log = logging.getLogger(__name__)

CPU_NOTICE = (
    "Qwen3-VL is running on the CPU: this will be slow (minutes per window); "
    "use a GPU or a served model (--vlm openai:<url>)"
)
PREQUANTIZED = {"awq": ("awq", "autoawq"), "gptq": ("gptqmodel", "gptqmodel")}


def _require(module: str, package: str, why: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise MissingDependency(f"{why} needs {package}: pip install {package}")


class TransformersVLM(VLMBackend):
    input_mode = "video"

    def __init__(
        self,
        model: str,
        *,
        quantization: str | None = None,
        device: str | None = None,
        context: int | None = None,
        attn_implementation: str | None = None,
    ):
        self.name = model
        self.quantization = quantization
        self._device_pref = device
        self._context_override = context
        self._attn = attn_implementation
        self._model = None
        self._processor = None
        self._lock = threading.Lock()
        self.device: str | None = None
        self.last_prompt: str | None = None  # decoded prompt of the last call, pads collapsed
        self.last_input_tokens: int | None = None

    # --- loading ---------------------------------------------------------------------

    def _load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            from transformers import AutoModelForImageTextToText, AutoProcessor

            from models.device import pick_device
            from models.resolve import hub_failure, resolve

            self.device = pick_device(self._device_pref)
            ref = resolve(self.name, "vlm").ref
            try:
                processor = AutoProcessor.from_pretrained(ref)
                model = AutoModelForImageTextToText.from_pretrained(ref, **self._load_kwargs())
            except OSError as e:
                raise hub_failure(self.name, "vlm", e) from e
            except ValueError as e:  # e.g. a checkpoint that is not an image-text model
                raise BackendError(f"{self.name}: cannot be loaded as Qwen3-VL ({e})") from e
            if not getattr(processor, "chat_template", None):
                processor.chat_template = chat_template()
            if self.device != "cuda" and self.quantization is None:
                model = model.to(self.device)
            self._processor, self._model = processor, model.eval()
            if self.device == "cpu":
                self.notice = CPU_NOTICE
                log.warning(CPU_NOTICE)

    def _load_kwargs(self) -> dict:
        from models.device import torch_dtype

        kwargs = {"dtype": torch_dtype(self.device), "attn_implementation": self._attention()}
        lowered = self.name.lower()
        for marker, (module, package) in PREQUANTIZED.items():
            if marker in lowered:
                _require(module, package, f"the pre-quantized {marker.upper()} model {self.name}")
        if self.quantization:
            if self.device != "cuda":
                raise BackendError(
                    f"{self.quantization} quantization needs a CUDA GPU, "
                    f"but the device is {self.device}"
                )
            _require("bitsandbytes", "bitsandbytes", f"{self.quantization} quantization")
            from transformers import BitsAndBytesConfig

            kwargs["quantization_config"] = BitsAndBytesConfig(
                load_in_4bit=self.quantization == "4bit",
                load_in_8bit=self.quantization == "8bit",
                bnb_4bit_compute_dtype=kwargs["dtype"],
            )
        if self.device == "cuda":
            kwargs["device_map"] = "cuda"
        return kwargs

    def _attention(self) -> str:
        if self._attn:
            return self._attn
        if self.device == "cuda" and importlib.util.find_spec("flash_attn") is not None:
            return "flash_attention_2"
        return "sdpa"

    # --- properties --------------------------------------------------------------------

    @property
    def processor(self):
        self._load()
        return self._processor

    @property
    def model(self):
        self._load()
        return self._model

    @property
    def context_limit(self) -> int:
        """min(model positions, what the KV cache fits in free GPU memory, --context)."""
        text = self.model.config.get_text_config()
        limit = int(text.max_position_embeddings)
        if self.device == "cuda":
            import torch

            free, _ = torch.cuda.mem_get_info()
            per_token = kv_bytes_per_token(
                text.num_hidden_layers,
                text.num_key_value_heads,
                _head_dim(text),
                self.model.dtype.itemsize,
            )
            limit = min(limit, memory_context_cap(free, per_token))
        if self._context_override:
            limit = min(limit, self._context_override)
        return limit

    def count_tokens(self, text: str) -> int:
        return len(self.processor.tokenizer(text, add_special_tokens=False)["input_ids"])

    # --- generation ----------------------------------------------------------------------

    def prepare(self, messages: list[dict]):
        """Processor inputs (tensors on the model's device) for `messages`."""
        text = render_chat(messages)
        clips = [
            item["video"]
            for m in messages
            if isinstance(m.get("content"), list)
            for item in m["content"]
            if item.get("type") == "video"
        ]
        kwargs = {}
        if clips:
            kwargs = {
                "videos": [_fit_frames(c.frames) for c in clips],
                "video_metadata": [_metadata(c) for c in clips],
                "do_sample_frames": False,
                "do_resize": False,
            }
        inputs = self.processor(text=[text], return_tensors="pt", **kwargs)
        _check_groups(inputs, clips, self.processor)
        self.last_input_tokens = int(inputs["input_ids"].shape[1])
        self.last_prompt = _collapse_pads(self.processor.tokenizer.decode(inputs["input_ids"][0]))
        return inputs.to(self.model.device)

    def generate(
        self,
        messages: list[dict],
        *,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        stream: bool = False,
    ) -> str | Iterator[str]:
        inputs = self.prepare(messages)
        if self.last_input_tokens + max_new_tokens > self.context_limit:
            raise BackendError(
                f"prompt of {self.last_input_tokens} tokens + {max_new_tokens} to "
                f"generate exceeds the {self.context_limit}-token context"
            )
        kwargs = {**inputs, "max_new_tokens": max_new_tokens, "do_sample": False}
        if stream:
            return self._stream(kwargs)
        import torch

        try:
            with torch.inference_mode():
                output = self.model.generate(**kwargs)
        except RuntimeError as e:  # CUDA OOM and friends
            raise BackendError(f"{self.name}: generation failed: {e}") from e
        new = output[0][inputs["input_ids"].shape[1] :]
        return self.processor.tokenizer.decode(new, skip_special_tokens=True)

    def _stream(self, kwargs: dict) -> Iterator[str]:
        import torch
        from transformers import TextIteratorStreamer

        streamer = TextIteratorStreamer(
            self.processor.tokenizer, skip_prompt=True, skip_special_tokens=True
        )

        def run():
            with torch.inference_mode():
                self.model.generate(**kwargs, streamer=streamer)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        yield from streamer
        thread.join()


def _head_dim(text_config) -> int:
    head_dim = getattr(text_config, "head_dim", None)
    return int(head_dim or text_config.hidden_size // text_config.num_attention_heads)


def _metadata(clip: VideoClip) -> dict:
    """Video metadata whose frame indices are absolute milliseconds (fps = 1000)."""
    indices = np.round(np.asarray(clip.times, dtype=float) * TIME_TICKS_PER_S).astype(int)
    return {
        "fps": TIME_TICKS_PER_S,
        "frames_indices": indices.tolist(),
        "total_num_frames": int(indices[-1]) + 1 if len(indices) else 0,
    }


def _fit_frames(frames: np.ndarray) -> np.ndarray:
    """Frames sized to multiples of 32 px (bicubic), as the processor gets do_resize=False."""
    height, width = frames.shape[1:3]
    new_h, new_w = max(FACTOR, round_by_factor(height)), max(FACTOR, round_by_factor(width))
    if (new_h, new_w) == (height, width):
        return frames
    import torch

    tensor = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
    tensor = torch.nn.functional.interpolate(
        tensor, size=(new_h, new_w), mode="bicubic", antialias=True, align_corners=False
    )
    return tensor.clamp(0, 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def _check_groups(inputs, clips: list[VideoClip], processor) -> None:
    """One <|vision_start|> per temporal group: catches double-wrapped placeholders."""
    if not clips:
        return
    start_id = processor.tokenizer.convert_tokens_to_ids("<|vision_start|>")
    found = int((inputs["input_ids"][0] == start_id).sum())
    expected = sum(len(group_times(c.times)) for c in clips)
    if found != expected:
        raise BackendError(
            f"prompt has {found} <|vision_start|> tokens for {expected} frame "
            "groups: this transformers version expands video placeholders "
            "differently than vidqa expects"
        )


def _collapse_pads(text: str) -> str:
    import re

    pattern = f"(?:{re.escape(VIDEO_PAD)})+"
    return re.sub(pattern, lambda m: f"{VIDEO_PAD}x{len(m.group(0)) // len(VIDEO_PAD)}", text)

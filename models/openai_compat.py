"""A served Qwen3-VL on an OpenAI-compatible chat API (vLLM, SGLang, ...).

    vllm serve Qwen/Qwen3-VL-8B-Instruct --max-model-len 262144
    vidqa ingest talk.mp4 --vlm openai:http://localhost:8000/v1

Each frame is sent as a JPEG image preceded by its absolute time as text
(``<1500.2 seconds>``), the marker Qwen3-VL was trained to read. Every frame is
a separate image to the server, so the planner counts it in "images" mode.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing

from models.qwen3vl_tokens import timestamp_text
from models.vlm import DEFAULT_MAX_NEW_TOKENS, VideoClip, VLMBackend
from vidqa.errors import BackendError
from vidqa.settings import DEFAULT_CONTEXT_TOKENS, settings

DEFAULT_TIMEOUT_S = 600.0  # s per request: a 256K-token prefill takes minutes
DEFAULT_RETRIES = 3  # extra attempts after the first
DEFAULT_BACKOFF_S = 1.0  # s, doubled after each failed attempt
DEFAULT_CONCURRENCY = 2  # requests in flight per server
RETRY_STATUS = (408, 429, 500, 502, 503, 504)
JPEG_QUALITY = 90

_limits: dict[str, threading.BoundedSemaphore] = {}
_limits_lock = threading.Lock()


def _limit(base_url: str, concurrency: int) -> threading.BoundedSemaphore:
    """One semaphore per server, shared by every backend object talking to it."""
    with _limits_lock:
        if base_url not in _limits:
            _limits[base_url] = threading.BoundedSemaphore(concurrency)
        return _limits[base_url]


def encode_jpeg(frame, quality: int = JPEG_QUALITY) -> str:
    """A data: URL holding `frame` (H x W x 3 uint8) as JPEG."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def clip_parts(clip: VideoClip) -> list[dict]:
    """Content parts for a clip: '<t seconds>' text then the frame, for every frame."""
    parts = []
    for frame, t in zip(clip.frames, clip.times, strict=True):
        parts.append({"type": "text", "text": timestamp_text(float(t))})
        parts.append({"type": "image_url", "image_url": {"url": encode_jpeg(frame)}})
    return parts


def to_openai_messages(messages: list[dict]) -> list[dict]:
    """Replace video items with interleaved timestamp text and images."""
    out = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            parts = []
            for item in content:
                parts.extend(clip_parts(item["video"]) if item.get("type") == "video" else [item])
            content = parts
        out.append({**message, "content": content})
    return out


class OpenAICompatVLM(VLMBackend):
    input_mode = "images"

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF_S,
        concurrency: int = DEFAULT_CONCURRENCY,
        context: int | None = None,
        api_key: str | None = None,
    ):
        import httpx

        self.base_url = base_url.rstrip("/")
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self._semaphore = _limit(self.base_url, concurrency)
        key = api_key or settings().openai_api_key  # VIDQA_OPENAI_API_KEY, else OPENAI_API_KEY
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers)
        self._model = model
        self._context = context
        self._served: dict | None = None

    # --- server metadata ---------------------------------------------------------------

    def _models(self) -> dict:
        if self._served is None:
            response = self._request("GET", "/models")
            data = response.json().get("data") or []
            if not data:
                raise BackendError(f"{self.base_url}/models lists no models")
            wanted = self._model or data[0]["id"]
            match = [m for m in data if m.get("id") == wanted]
            self._served = match[0] if match else {"id": wanted}
        return self._served

    @property
    def name(self) -> str:  # type: ignore[override]
        return self._model or self._models()["id"]

    @property
    def context_limit(self) -> int:
        """--context if given, else the server's max_model_len (vLLM), else 262,144."""
        if self._context:
            return self._context
        served = self._models().get("max_model_len")
        return int(served) if served else DEFAULT_CONTEXT_TOKENS

    # --- requests ----------------------------------------------------------------------

    def _retrying(self, method: str, url: str, attempt: Callable[[], Iterator]) -> Iterator:
        """Run `attempt` (a generator) with retries on timeouts, connection errors and
        5xx/429, backoff doubling, but only until it has yielded something: a stream
        that breaks after its first piece is an error, never re-sent."""
        import httpx

        last, error = "", None
        for n in range(self.retries + 1):
            if n:
                time.sleep(self.backoff * 2 ** (n - 1))
            started = False
            try:
                with closing(attempt()) as items:  # a caller that stops early frees the slot
                    for item in items:
                        started = True
                        yield item
                return
            except (httpx.TimeoutException, httpx.TransportError, _Retryable) as e:
                if isinstance(e, httpx.TimeoutException):
                    last, error = f"timed out after {self.timeout:g} s", e
                elif isinstance(e, httpx.TransportError):
                    last, error = f"connection failed ({type(e).__name__}: {e})", e
                else:
                    last, error = str(e), None
                if started:
                    raise BackendError(f"{method} {url}: the stream broke off: {last}") from e
        tries = self.retries + 1
        raise BackendError(f"{method} {url}: {last} ({tries} attempts)") from error

    def _check(self, method: str, url: str, response) -> None:
        """Raise _Retryable for statuses worth another try, BackendError for the rest."""
        if response.status_code in RETRY_STATUS:
            raise _Retryable(f"HTTP {response.status_code}: {response.text[:300]}")
        if response.status_code >= 400:
            raise BackendError(
                f"{method} {url}: HTTP {response.status_code}: {response.text[:500]}"
            )

    def _request(self, method: str, path: str, body: dict | None = None):
        """One whole response, with retries."""
        url = self.base_url + path

        def attempt() -> Iterator:
            with self._semaphore:
                response = self._client.request(method, url, json=body)
            self._check(method, url, response)
            yield response

        return next(self._retrying(method, url, attempt))

    def _body(self, messages: list[dict], max_new_tokens: int, stream: bool) -> dict:
        return {
            "model": self.name,
            "messages": to_openai_messages(messages),
            "max_tokens": max_new_tokens,
            "temperature": 0.0,
            "stream": stream,
        }

    def generate(
        self,
        messages: list[dict],
        *,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        stream: bool = False,
    ) -> str | Iterator[str]:
        body = self._body(messages, max_new_tokens, stream)
        if stream:
            return self._stream(body)
        payload = self._request("POST", "/chat/completions", body).json()
        try:
            return payload["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError) as e:
            raise BackendError(f"{self.base_url}: unexpected response {str(payload)[:300]}") from e

    def _stream(self, body: dict) -> Iterator[str]:
        """Server-sent events: each delta's text as soon as it arrives.

        The request holds its slot of the server's concurrency limit until the
        stream ends or the caller stops iterating.
        """
        url = self.base_url + "/chat/completions"

        def attempt() -> Iterator[str]:
            with self._semaphore, self._client.stream("POST", url, json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    self._check("POST", url, response)
                yield from sse_text(response.iter_lines(), url)

        return self._retrying("POST", url, attempt)


class _Retryable(Exception):
    """A response worth another attempt (HTTP 5xx, 429, 408)."""


def sse_text(lines: Iterable[str], url: str) -> Iterator[str]:
    """The content pieces of an OpenAI chat-completions event stream, until [DONE]."""
    finished = False
    for line in lines:
        if not line.startswith("data:"):
            continue  # blank separators, ": keep-alive" comments, "event:" fields
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            return
        try:
            event = json.loads(data)
        except json.JSONDecodeError as e:
            raise BackendError(f"{url}: unreadable stream event {data[:200]!r}") from e
        if event.get("error"):
            raise BackendError(f"{url}: the server failed mid-answer: {str(event['error'])[:300]}")
        for choice in event.get("choices") or []:
            content = (choice.get("delta") or {}).get("content")
            if content:
                yield content
            finished = finished or bool(choice.get("finish_reason"))
    if not finished:
        raise BackendError(f"{url}: the stream ended before the answer was complete")

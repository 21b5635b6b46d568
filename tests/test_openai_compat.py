"""The OpenAI-compatible backend against a recording HTTP server on loopback
(conftest `openai_server`)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from models.openai_compat import OpenAICompatVLM
from models.vlm import VideoClip, get_vlm
from vidqa.errors import BackendError

MODEL = "Qwen/Qwen3-VL-8B-Instruct"  # what the loopback server says it serves


def _messages(start: float = 1500.0):
    times = start + np.array([0.25, 0.75, 1.25])
    frames = np.full((3, 64, 96, 3), 128, np.uint8)
    return [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "video", "video": VideoClip(frames, times)},
                {"type": "text", "text": "What happens?"},
            ],
        },
    ]


def test_frames_go_as_images_with_absolute_timestamps(openai_server):
    url, recorder = openai_server
    recorder.plan = ["It is a test pattern."]
    backend = get_vlm(f"openai:{url}")
    assert isinstance(backend, OpenAICompatVLM) and backend.input_mode == "images"
    assert backend.generate(_messages(), max_new_tokens=64) == "It is a test pattern."
    assert backend.name == MODEL and backend.context_limit == 131072
    assert backend.source == "vlm:Qwen3-VL-8B-Instruct"
    method, path, body = recorder.requests[-1]
    assert (method, path, body["model"], body["max_tokens"]) == (
        "POST",
        "/v1/chat/completions",
        MODEL,
        64,
    )
    parts = body["messages"][1]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url"] * 3 + ["text"]
    assert [p["text"] for p in parts[0:6:2]] == [
        "<1500.2 seconds>",
        "<1500.8 seconds>",
        "<1501.2 seconds>",
    ]
    assert all(p["image_url"]["url"].startswith("data:image/jpeg;base64,") for p in parts[1:6:2])
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}


def test_model_from_the_spec_and_context_override(openai_server):
    url, recorder = openai_server
    backend = get_vlm(f"openai:{url}#my-served-name", context=65536)
    assert backend.name == "my-served-name" and backend.context_limit == 65536
    backend.generate([{"role": "user", "content": "hi"}], max_new_tokens=8)
    assert recorder.requests[-1][2]["model"] == "my-served-name"
    assert not [r for r in recorder.requests if r[0] == "GET"]  # nothing to look up


def test_retries_on_503_then_succeeds(openai_server):
    url, recorder = openai_server
    recorder.plan = [503, 503, "fine"]
    backend = OpenAICompatVLM(url, model=MODEL, backoff=0.01, retries=3)
    assert backend.generate([{"role": "user", "content": "hi"}]) == "fine"
    assert len([r for r in recorder.requests if r[0] == "POST"]) == 3


def test_gives_up_after_retries_with_the_status(openai_server):
    url, recorder = openai_server
    recorder.plan = [503] * 5
    backend = OpenAICompatVLM(url, model=MODEL, backoff=0.01, retries=2)
    with pytest.raises(BackendError, match=r"HTTP 503.*\(3 attempts\)"):
        backend.generate([{"role": "user", "content": "hi"}])


def test_client_errors_are_not_retried(openai_server):
    url, recorder = openai_server
    recorder.plan = [400]
    backend = OpenAICompatVLM(url, model=MODEL, backoff=0.01)
    with pytest.raises(BackendError, match="HTTP 400"):
        backend.generate([{"role": "user", "content": "hi"}])
    assert len(recorder.requests) == 1


def test_timeout_message(openai_server):
    url, recorder = openai_server
    recorder.plan = ["sleep:1.0", "sleep:1.0"]
    backend = OpenAICompatVLM(url, model=MODEL, timeout=0.2, retries=1, backoff=0.01)
    with pytest.raises(BackendError, match=r"timed out after 0.2 s \(2 attempts\)"):
        backend.generate([{"role": "user", "content": "hi"}])


def test_unreachable_server_is_a_backend_error():
    backend = OpenAICompatVLM("http://127.0.0.1:9/v1", model=MODEL, retries=0)
    with pytest.raises(BackendError, match="connection failed"):
        backend.generate([{"role": "user", "content": "hi"}])


def test_streaming_yields_each_piece_as_it_arrives(openai_server):
    url, recorder = openai_server
    recorder.stream_chunks = ["Hel", "lo", "!"]
    recorder.gate = threading.Event()  # the server holds the rest until the test sets it
    backend = OpenAICompatVLM(url, model=MODEL)
    pieces = backend.generate([{"role": "user", "content": "hi"}], stream=True)
    assert next(pieces) == "Hel"
    assert not recorder.stream_done.is_set()  # the first piece came before the server finished
    recorder.gate.set()
    assert list(pieces) == ["lo", "!"]
    assert recorder.stream_done.wait(5)  # the server thread marks it just after its last write
    body = recorder.requests[-1][2]
    assert body["stream"] is True and body["messages"] == [{"role": "user", "content": "hi"}]


def test_streaming_retries_before_the_first_piece(openai_server):
    url, recorder = openai_server
    recorder.plan = [503, 429, "Fine then."]
    backend = OpenAICompatVLM(url, model=MODEL, backoff=0.01, retries=3)
    assert "".join(backend.generate([{"role": "user", "content": "hi"}], stream=True)) == (
        "Fine then."
    )
    assert len([r for r in recorder.requests if r[0] == "POST"]) == 3


def test_a_stream_that_breaks_off_is_an_error_and_is_not_resent(openai_server):
    url, recorder = openai_server
    recorder.plan = ["cut"]
    recorder.stream_chunks = ["The answer", " is"]
    backend = OpenAICompatVLM(url, model=MODEL, backoff=0.01, retries=3)
    pieces = backend.generate([{"role": "user", "content": "hi"}], stream=True)
    assert next(pieces) == "The answer"
    with pytest.raises(BackendError, match="stream ended before the answer was complete"):
        next(pieces)
    assert len([r for r in recorder.requests if r[0] == "POST"]) == 1


def test_streaming_client_errors_are_not_retried(openai_server):
    url, recorder = openai_server
    recorder.plan = [400]
    backend = OpenAICompatVLM(url, model=MODEL, backoff=0.01)
    with pytest.raises(BackendError, match="HTTP 400"):
        list(backend.generate([{"role": "user", "content": "hi"}], stream=True))
    assert len(recorder.requests) == 1


def test_api_key_comes_from_the_settings(openai_server, monkeypatch):
    url, recorder = openai_server
    monkeypatch.delenv("VIDQA_OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fallback")
    OpenAICompatVLM(url, model=MODEL).generate([{"role": "user", "content": "hi"}])
    monkeypatch.setenv("VIDQA_OPENAI_API_KEY", "sk-vidqa")
    OpenAICompatVLM(url, model=MODEL).generate([{"role": "user", "content": "hi"}])
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.delenv("VIDQA_OPENAI_API_KEY")
    OpenAICompatVLM(url, model=MODEL).generate([{"role": "user", "content": "hi"}])
    assert recorder.auth == ["Bearer sk-fallback", "Bearer sk-vidqa", None]

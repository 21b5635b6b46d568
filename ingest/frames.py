"""Frame sampling for the visual index: which frames, scene changes, thumbnails.

    sample_frames(path, info)  -> FrameBatches at ~`fps`, resized at decode, streamed
    SceneDetector.feed(batch)  -> the representative frames of new scenes in a batch
    save_thumbnails(video_id, batch) -> small JPEGs under settings().thumbs_dir

Decoding itself is vidqa/decode.py. The plan is "keyframes" (decode only key
frames, ~10x cheaper) when the stream has a key frame at least every sampling
interval, else "seek" (nearest frame to each sample time, seeking past GOPs).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from vidqa.decode import DecodeStats, FrameBatch, iter_frames, keyframes
from vidqa.settings import settings

SAMPLE_FPS = 0.5  # frames per second kept for the visual index
MAX_SIDE = 448  # px, longest side of sampled frames (CLIP/OCR input, not the thumbnail)
BATCH = 32  # frames per FrameBatch
KEYFRAME_SLACK = 1.1  # a GOP up to 10% longer than the sampling interval still counts as dense
MAX_KEYFRAME_OVERSAMPLE = 8  # more key frames per sample than this (intra-only codecs): seek
KEYFRAME_GAP_PERCENTILE = 95  # key-frame spacing that must fit the sampling interval (%)
SIGNATURE_SIDE = 64  # px: frames are compared as SIGNATURE_SIDE^2 RGB thumbnails
PIXEL_DELTA = 0.1  # a signature pixel "changed" when a channel moves by this (0..1)
SCENE_THRESHOLD = 0.06  # fraction of changed signature pixels that starts a new scene
MAX_REPRESENTATIVE_GAP_S = 60.0  # a long static scene still gets a representative this often
OCR_STEP_S = 3.0  # s: inside a scene, re-read on-screen text at most this often. On the 2 s
# sample grid that is every other sample, so text on screen for 5 s (two samples) is read.
TEXT_CHANGE = 0.002  # fraction of changed signature pixels that may be new text (~8 of 64x64)
THUMB_WIDTH = 320  # px
THUMB_QUALITY = 80  # JPEG quality


# ---------------------------------------------------------------- sampling


def sample_plan(info, fps: float = SAMPLE_FPS, keyframe_times: Sequence[float] = ()) -> str:
    """ "keyframes" when key frames are dense enough for `fps` sampling, else "seek".

    The key-frame spacing comes from the whole demuxer index (`keyframe_times`,
    e.g. `MediaInfo.keyframe_times`) when given, else from
    `info.keyframe_interval` (probe's estimate from the first seconds).
    """
    if fps <= 0:
        raise ValueError(f"sampling rate must be positive, got {fps} fps")
    interval = 1.0 / fps
    gop = keyframe_gap(keyframe_times) or getattr(info, "keyframe_interval", None)
    if not gop or gop <= 0:
        return "seek"
    if gop > interval * KEYFRAME_SLACK:
        return "seek"
    if gop * MAX_KEYFRAME_OVERSAMPLE < interval:
        return "seek"  # e.g. every frame is a key frame: decoding them all would be wasted
    return "keyframes"


def keyframe_gap(keyframe_times: Sequence[float]) -> float | None:
    """The KEYFRAME_GAP_PERCENTILE spacing (s) of key frames; None with fewer than 3."""
    if len(keyframe_times) < 3:
        return None
    gaps = np.diff(np.sort(np.asarray(keyframe_times, np.float64)))
    return float(np.percentile(gaps, KEYFRAME_GAP_PERCENTILE))


def sample_times(duration: float, fps: float = SAMPLE_FPS) -> np.ndarray:
    """Sample times (s) every 1/fps from 0 up to, not including, `duration`."""
    if fps <= 0:
        raise ValueError(f"sampling rate must be positive, got {fps} fps")
    if not duration or duration <= 0:
        return np.zeros(1)  # unknown duration: at least the first frame
    return np.arange(0.0, duration, 1.0 / fps)


def sample_frames(
    path: str | Path,
    info,
    *,
    fps: float = SAMPLE_FPS,
    max_side: int = MAX_SIDE,
    batch: int = BATCH,
    backend: str = "auto",
    stats: DecodeStats | None = None,
) -> Iterator[FrameBatch]:
    """FrameBatches at about `fps` (real timestamps), longest side <= `max_side`.

    `info` is vidqa.probe's MediaInfo (has_video, duration, keyframe spacing); the decoders
    take it as it is, so the file is probed once.
    An audio-only file yields nothing. The same frame is never yielded twice.
    The key-frame plan always decodes with PyAV (`backend` applies to the seek plan).
    Undecodable packets are skipped and counted in `stats`.
    """
    if not info.has_video:
        return
    if sample_plan(info, fps, info.keyframe_times) == "keyframes":
        batches = keyframes(
            path, max_side=max_side, every=1.0 / fps, batch=batch, info=info, stats=stats
        )
    else:
        times = sample_times(info.duration, fps)
        batches = iter_frames(
            path, times, batch=batch, max_side=max_side, backend=backend, info=info, stats=stats
        )
    last = -1.0
    for fb in batches:
        fb, last = _drop_repeats(fb, last)
        if len(fb):
            yield fb


def _drop_repeats(fb: FrameBatch, last_time: float) -> tuple[FrameBatch, float]:
    """Drop frames already yielded (nearest-frame lookups repeat on sparse/VFR streams)."""
    keep = np.zeros(len(fb), bool)
    for i, t in enumerate(fb.times):
        if t > last_time + 1e-6:
            keep[i] = True
            last_time = float(t)
    if keep.all():
        return fb, last_time
    return _subset(fb, keep), last_time


def _subset(fb: FrameBatch, mask: np.ndarray) -> FrameBatch:
    if not mask.any():
        return FrameBatch.empty(fb.native_fps, fb.backend)
    return FrameBatch(fb.frames[mask], fb.times[mask], fb.indices[mask], fb.native_fps, fb.backend)


# ---------------------------------------------------------------- scene changes


def signatures(frames: np.ndarray, side: int = SIGNATURE_SIDE) -> np.ndarray:
    """(N, side, side, 3) float32 in 0..1: box-averaged colour thumbnails to compare.

    Colour, not gray: two slide templates of equal brightness (blue vs red) must differ.
    """
    from PIL import Image

    out = np.empty((len(frames), side, side, 3), np.float32)
    for i, frame in enumerate(frames):
        small = Image.fromarray(frame).resize((side, side), Image.BOX)
        out[i] = np.asarray(small, np.float32) / 255.0
    return out


def change_score(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of signature pixels where some channel moved by more than PIXEL_DELTA."""
    return float(np.mean(np.abs(a - b).max(axis=-1) > PIXEL_DELTA))


class SceneDetector:
    """Streaming scene-change detector over sampled FrameBatches.

    feed() returns the representative frames found in a batch: the first frame
    of each scene, plus one every `max_gap` seconds inside a long scene.
    `boundaries` collects the start times of scenes after the first (chapter hints),
    `scores` the change score of each boundary.
    """

    def __init__(
        self, threshold: float = SCENE_THRESHOLD, max_gap: float = MAX_REPRESENTATIVE_GAP_S
    ):
        if not 0 < threshold < 1:
            raise ValueError(f"scene threshold is a fraction of pixels in (0, 1), got {threshold}")
        self.threshold = threshold
        self.max_gap = max_gap
        self.boundaries: list[float] = []
        self.scores: list[float] = []
        self._prev: np.ndarray | None = None
        self._last_rep = -np.inf

    def feed(self, batch: FrameBatch) -> FrameBatch:
        keep = np.zeros(len(batch), bool)
        for i, sig in enumerate(signatures(batch.frames)):
            t = float(batch.times[i])
            if self._prev is None:
                keep[i] = True
            else:
                score = change_score(self._prev, sig)
                if score >= self.threshold:
                    self.boundaries.append(t)
                    self.scores.append(score)
                    keep[i] = True
            if t - self._last_rep >= self.max_gap:
                keep[i] = True
            if keep[i]:
                self._last_rep = t
            self._prev = sig
        return _subset(batch, keep)


def representative_frames(
    batches: Iterable[FrameBatch],
    *,
    threshold: float = SCENE_THRESHOLD,
    max_gap: float = MAX_REPRESENTATIVE_GAP_S,
    detector: SceneDetector | None = None,
) -> Iterator[FrameBatch]:
    """The representative frames of `batches` (one per scene, see SceneDetector).

    Pass your own `detector` to read its `boundaries` after the pass.
    """
    detector = detector or SceneDetector(threshold, max_gap)
    for fb in batches:
        reps = detector.feed(fb)
        if len(reps):
            yield reps


def scene_boundaries(
    batches: Iterable[FrameBatch],
    *,
    threshold: float = SCENE_THRESHOLD,
    min_gap: float = 0.0,
) -> list[float]:
    """Times (s) where a new scene starts, at least `min_gap` s apart (chapter hints)."""
    detector = SceneDetector(threshold)
    for fb in batches:
        detector.feed(fb)
    return thin_times(detector.boundaries, min_gap)


def thin_times(times: Iterable[float], min_gap: float) -> list[float]:
    """Keep times in order, dropping any within `min_gap` s of the last one kept."""
    kept: list[float] = []
    for t in times:
        if not kept or t - kept[-1] >= min_gap:
            kept.append(float(t))
    return kept


class OcrSchedule:
    """Which sampled frames to OCR: each scene's first frame, and inside a scene any frame
    that differs from the last one read (a cheap signature test: a caption, a code, a new
    bullet) once OCR_STEP_S has passed. Static slides cost one read; a busy picture at
    most one read per `step` seconds."""

    def __init__(self, step: float = OCR_STEP_S, threshold: float = TEXT_CHANGE):
        self.step, self.threshold = step, threshold
        self.times: list[float] = []
        self._last_sig: np.ndarray | None = None

    def feed(self, batch: FrameBatch, scene_starts: Sequence[float]) -> None:
        starts = {round(float(t), 3) for t in scene_starts}
        for sig, t in zip(signatures(batch.frames), batch.times, strict=True):
            t = float(t)
            new_scene = round(t, 3) in starts
            due = bool(self.times) and t - self.times[-1] >= self.step - 1e-6
            if (
                new_scene
                or self._last_sig is None
                or (due and change_score(self._last_sig, sig) >= self.threshold)
            ):
                self.times.append(t)
                self._last_sig = sig


# ---------------------------------------------------------------- thumbnails


def thumbnail_path(video_id: str, time: float, root: Path | None = None) -> Path:
    """Where the thumbnail of `video_id` at `time` (s) lives: <thumbs>/<id>/<ms>.jpg."""
    if not video_id or "/" in video_id or video_id.startswith("."):
        raise ValueError(f"video id {video_id!r} cannot be used as a directory name")
    if root is None:
        root = settings().thumbs_dir
    return Path(root) / video_id / f"{round(float(time) * 1000)}.jpg"


def save_thumbnails(
    video_id: str,
    batch: FrameBatch,
    *,
    width: int = THUMB_WIDTH,
    quality: int = THUMB_QUALITY,
    root: Path | None = None,
) -> list[Path]:
    """Write one JPEG per frame, `width` px wide (never upscaled); paths in batch order."""
    from PIL import Image

    paths = []
    for frame, t in zip(batch.frames, batch.times, strict=True):
        path = thumbnail_path(video_id, float(t), root)
        path.parent.mkdir(parents=True, exist_ok=True)
        image = Image.fromarray(frame)
        if image.width > width:
            height = max(1, round(image.height * width / image.width))
            image = image.resize((width, height), Image.BILINEAR)
        tmp = path.with_suffix(".tmp")
        image.save(tmp, format="JPEG", quality=quality)
        tmp.replace(path)
        paths.append(path)
    return paths

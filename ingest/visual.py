"""The visual stage of ingest: scenes -> frame spans (+ thumbnails, CLIP vectors) and on-screen text.

Frames are sampled at ~0.5 fps (key frames only when the GOP allows), streamed
in small batches, and reduced to one representative per scene (and at least one
a minute), so cost follows how much the picture changes, not the running time.
Each representative becomes a "frame" span covering its scene, with a JPEG
thumbnail. OCR reads each scene's first frame, and inside a scene every sampled
frame whose picture changed since the last read (frames.OcrSchedule), at higher
resolution; identical consecutive reads merge into one "ocr" span with its true
start and end (searchable like the transcript), so a code shown 20 s into a
slide is found at its own time. CLIP
vectors are computed when CLIP weights resolve; without them, OCR still works and
the notes say that search by picture is off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.records import Span
from models import clip as clip_models
from vidqa.decode import DecodeStats
from vidqa.errors import MissingDependency, ModelNotFound
from vidqa.settings import settings

FRAME_SOURCE = "frames"


@dataclass
class VisualResult:
    spans: list[Span] = field(default_factory=list)  # kind frame (time order), then kind ocr
    vectors: np.ndarray | None = None  # CLIP rows, aligned with the frame spans
    clip_name: str | None = None
    boundaries: list[float] = field(default_factory=list)  # scene changes: chapter hints (s)
    ocr_frames: int = 0  # frames read by OCR (scene starts + text changes inside scenes)
    notes: list[str] = field(default_factory=list)


def load_clip_or_note(notes: list[str]):
    """The configured CLIP embedder, or None with a note saying why (search by picture off)."""
    try:
        return clip_models.load_clip()
    except (ModelNotFound, MissingDependency) as e:
        notes.append(f"no CLIP model ({e}); search by picture is off, on-screen text still indexed")
        return None


def _frame_spans(
    video_id: str, times: list[float], thumbs: list[Path], duration: float, home: Path
) -> list[Span]:
    ends = [*times[1:], duration]
    return [
        Span(
            video_id,
            t,
            max(t, end),
            "frame",
            "",
            FRAME_SOURCE,
            {"thumb": str(thumb.relative_to(home))},
        )
        for t, end, thumb in zip(times, ends, thumbs, strict=True)
    ]


def visual_spans(
    path: Path, info, video_id: str, *, clip="auto", ocr: bool = True, progress=None
) -> VisualResult:
    """Frame and OCR spans for a video file; an audio-only file gives an empty result."""
    from ingest.frames import OcrSchedule, SceneDetector, sample_frames, save_thumbnails

    result = VisualResult()
    if not info.has_video:
        return result
    embedder = load_clip_or_note(result.notes) if clip == "auto" else clip
    detector, schedule, times, thumbs, vectors = SceneDetector(), OcrSchedule(), [], [], []
    stats = DecodeStats()
    for batch in sample_frames(path, info, stats=stats):
        reps = detector.feed(batch)
        schedule.feed(batch, reps.times)
        if len(reps):
            times += [float(t) for t in reps.times]
            thumbs += save_thumbnails(video_id, reps)
            if embedder is not None:
                vectors.append(embedder.embed_images(list(reps.frames)))
        if progress and times:
            progress(times[-1], info.duration)
    if stats.note():
        result.notes.append(stats.note())
    result.boundaries = list(detector.boundaries)
    result.spans = _frame_spans(video_id, times, thumbs, info.duration, settings().home)
    if embedder is not None and vectors:
        result.vectors, result.clip_name = np.concatenate(vectors), embedder.name
    if ocr and schedule.times:
        result.spans += _ocr(path, video_id, schedule.times, info.duration)
        result.ocr_frames = len(schedule.times)
    return result


def _ocr(path: Path, video_id: str, times: list[float], duration: float) -> list[Span]:
    from ingest.frames import SAMPLE_FPS
    from ingest.ocr import dedupe_ocr, ocr_spans, ocr_video

    items = ocr_video(path, times)
    # The last representative's scene runs to the end of the video.
    last = max(duration - times[-1], 1.0 / SAMPLE_FPS)
    return [s for s in ocr_spans(video_id, dedupe_ocr(items, interval=last)) if s.text.strip()]

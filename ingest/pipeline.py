"""`ingest()`: the one entry point from files on disk to a ready video in the library.

Per file: probe -> content id (skip if unchanged) -> transcript -> spans ->
extra stages -> one atomic write. A failure in one file is recorded with its
one-line reason and the batch goes on; nothing already indexed is touched.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from index.library import Library
from index.records import Span, Video
from vidqa.errors import VidqaError

# progress(path, stage, done, total): stages are probe, transcript, spans, chapters, index, done
Progress = Callable[[str, str, float, float], None]


@dataclass(frozen=True)
class IngestOptions:
    language: str | None = None  # forces ASR/subtitle language; None = detect
    asr_model: str | None = None  # None = by device (see models.asr.default_asr_model)
    vlm: str = "auto"  # chapter summaries: auto | none | preset | hf id | path | openai:<url>
    context: int = 262_144  # VLM context budget, tokens
    force: bool = False  # re-ingest even when the content id is already ready
    frames: bool = True  # sample frames: thumbnails, on-screen text (OCR), CLIP vectors


@dataclass
class FileResult:
    path: str
    status: str  # ingested | unchanged | failed
    video_id: str | None = None
    title: str | None = None
    duration: float | None = None
    transcript_source: str | None = None
    spans: dict[str, int] = field(default_factory=dict)  # kind -> count
    error: str | None = None
    notes: list[str] = field(default_factory=list)  # what was skipped or degraded, and why
    seconds: float = 0.0
    ocr_frames: int = 0  # frames read by OCR (scene starts and text changes inside scenes)


@dataclass
class IngestReport:
    results: list[FileResult]

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "failed"]


def _noop(path: str, stage: str, done: float, total: float) -> None:
    pass


def ingest(paths: Sequence[str | Path], *, library: Library | None = None,
           options: IngestOptions = IngestOptions(), progress: Progress | None = None) -> IngestReport:
    """Ingest files and folders (recursively); returns one result per file, failures included."""
    from ingest.probe import discover

    library = library or Library()
    results = [ingest_file(p, library, options, progress or _noop) for p in discover(list(paths))]
    return IngestReport(results)


def ingest_file(path: Path, library: Library, options: IngestOptions, progress: Progress) -> FileResult:
    started = time.monotonic()
    result = FileResult(path=str(path), status="failed")
    try:
        def step(stage: str, done: float = 0.0, total: float = 1.0) -> None:
            progress(str(path), stage, done, total)

        _ingest_one(Path(path), library, options, step, result)
    except VidqaError as e:
        result.status, result.error = "failed", str(e)
    except (OSError, ValueError, RuntimeError) as e:  # decoder/ASR failures, with the file named
        result.status, result.error = "failed", f"{path}: {type(e).__name__}: {e}"
    result.seconds = round(time.monotonic() - started, 3)
    progress(str(path), "done", 1.0, 1.0)
    return result


def _ingest_one(path: Path, library: Library, options: IngestOptions, step, result: FileResult) -> None:
    from ingest.probe import content_id, probe
    from ingest.spans import make_spans
    from ingest.transcript import get_transcript

    step("probe")
    info = probe(path)
    video_id = content_id(path)
    result.video_id, result.title, result.duration = video_id, path.stem, info.duration
    if library.has_ready(video_id) and not options.force:
        missing = library.missing_vectors(video_id)  # e.g. an interrupted removal's leftovers
        if not missing:
            old = library.catalog.video(video_id)
            result.status, result.transcript_source = "unchanged", old.transcript_source
            result.spans = library.catalog.counts(video_id)
            return
        result.notes.append("re-indexed: the stored version was incomplete (" + ", ".join(
            f"{found} of {want} vectors in {name}" for name, (want, found) in missing.items()) + ")")
    step("transcript", 0.0, info.duration)
    transcript = get_transcript(
        path, info, language=options.language, asr_model=options.asr_model,
        progress=lambda done, total: step("transcript", done, total),
    )
    result.notes += transcript.notes
    step("spans")
    spans = make_spans(transcript, video_id)
    video = Video(
        id=video_id, path=str(path.resolve()), title=path.stem, duration=info.duration,
        has_video=info.has_video, has_audio=info.has_audio, width=info.width, height=info.height,
        fps=info.fps, transcript_source=transcript.source, language=transcript.language,
        size=info.size, mtime=info.mtime, models={"transcript": transcript.source},
    )
    scenes: list[float] = []
    frames = _frames(path, info, video, spans, result, step, scenes) if options.frames else None
    step("chapters")
    summary = summarize(path if info.has_video else None, transcript, options,
                        duration=info.duration, width=info.width, height=info.height,
                        scene_changes=scenes, titles=slide_titles(spans))
    video.models["chapters"] = summary["source"]
    result.notes += summary.get("notes", [])
    spans += chapter_spans_from(summary, video_id)
    step("index")
    library.add_video(video, spans, summary=summary, frames=frames)
    result.status, result.transcript_source = "ingested", transcript.source
    result.spans = library.catalog.counts(video_id)


def _frames(path: Path, info, video: Video, spans: list[Span], result: FileResult, step,
            scenes: list[float]):
    """Add frame and on-screen-text spans and collect scene changes into `scenes`;
    returns (CLIP model, vectors) when CLIP ran."""
    from ingest.visual import visual_spans

    if not info.has_video:
        return None
    step("frames", 0.0, info.duration)
    visual = visual_spans(path, info, video.id, progress=lambda d, t: step("frames", d, t))
    spans += visual.spans
    scenes += visual.boundaries
    result.ocr_frames = visual.ocr_frames
    result.notes += visual.notes
    if visual.vectors is None:
        return None
    video.models["frames"] = visual.clip_name
    return visual.clip_name, visual.vectors


def slide_titles(spans: Sequence[Span]) -> list[tuple[float, float, str]]:
    """(start, end, title) of the on-screen text spans where OCR read a slide title."""
    return [(s.start, s.end, s.extra["title"]) for s in spans
            if s.kind == "ocr" and (s.extra or {}).get("title")]


def summarize(path: Path | None, transcript, options: IngestOptions, *, duration: float,
              width: int | None, height: int | None, scene_changes=(), titles=()) -> dict:
    """Chapters + summary as a plain dict (stored with the video); VLM or transcript fallback.

    Scene changes and slide titles (from the frames stage) guide transcript chapters:
    boundaries move onto slide changes and a slide's title names its chapter.
    """
    from dataclasses import asdict

    from ingest.chapters import summarize_video
    from ingest.segment import Cues

    cues = Cues(scene_changes=list(scene_changes), titles=list(titles))
    summary = summarize_video(path, transcript, duration=duration, width=width, height=height,
                              vlm=options.vlm, context=options.context, cues=cues)
    summary.scene_changes = [round(t, 2) for t in scene_changes]
    return asdict(summary)


def chapter_spans_from(summary: dict, video_id: str) -> list[Span]:
    from ingest.chapters import chapter_spans, summary_from_dict

    return chapter_spans(summary_from_dict(summary), video_id)


def resummarize(video: Video, library: Library, options: IngestOptions) -> dict:
    """Rebuild chapters for an ingested video from its stored transcript (no ASR)."""
    from ingest.transcript import Segment

    segments = [Segment(s.start, s.end, s.text) for s in library.spans(video.id, ("transcript",))]
    path = Path(video.path) if video.path and video.has_video and Path(video.path).exists() else None
    old = library.summary(video.id)
    summary = summarize(path, segments, options, duration=video.duration, width=video.width,
                        height=video.height, scene_changes=(old or {}).get("scene_changes", ()),
                        titles=slide_titles(library.spans(video.id, ("ocr",))))
    library.set_summary(video.id, summary, chapter_spans_from(summary, video.id))
    return summary


def ingest_transcript(subtitles: Path, *, video_id: str, title: str, duration: float | None,
                      library: Library, path: str | None = None) -> FileResult:
    """Index a transcript with no media file (eval sets, or subtitles of a video kept elsewhere)."""
    from ingest.spans import make_spans
    from ingest.transcript import transcript_from_subtitles

    transcript = transcript_from_subtitles(subtitles)
    spans = make_spans(transcript, video_id)  # no chapters: eval sets measure transcript retrieval
    end = max((s.end for s in spans), default=0.0)
    video = Video(id=video_id, path=path, title=title, duration=float(duration or end),
                  transcript_source=transcript.source, language=transcript.language)
    library.add_video(video, spans)
    return FileResult(path=str(subtitles), status="ingested", video_id=video_id, title=title,
                      duration=video.duration, transcript_source=transcript.source,
                      spans=library.catalog.counts(video_id))

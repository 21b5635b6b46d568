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
from typing import Literal

import numpy as np

from index.library import Library
from index.records import Segment, Span, Video, VideoSummary, Word
from vidqa.errors import VidqaError
from vidqa.probe import MediaInfo, content_id, discover, probe
from vidqa.settings import DEFAULT_CONTEXT_TOKENS

# progress(path, stage, done, total): stages are probe, transcript, spans, frames, chapters,
# (on Ray: embedding,) index, done
Progress = Callable[[str, str, float, float], None]


@dataclass(frozen=True)
class IngestOptions:
    language: str | None = None  # forces ASR/subtitle language; None = detect
    asr_model: str | None = None  # None = by device (see models.asr.default_asr_model)
    vlm: str = "auto"  # chapter summaries: auto | none | preset | hf id | path | openai:<url>
    context: int = DEFAULT_CONTEXT_TOKENS  # VLM context budget, tokens
    force: bool = False  # re-ingest even when the content id is already ready
    frames: bool = True  # sample frames: thumbnails, on-screen text (OCR), CLIP vectors


@dataclass(frozen=True)
class ClusterOptions:
    """Where the stages run. One worker and no address: in this process, no Ray."""

    workers: int = 1  # stage tasks in flight (a local Ray gets this many CPUs)
    address: str | None = None  # an existing Ray cluster ("auto", "ray://head:10001")
    vlm_concurrency: int = 2  # chapter requests in flight to a served VLM, cluster-wide

    def __post_init__(self):
        if self.workers < 1:
            raise ValueError(f"--workers must be at least 1, got {self.workers}")
        if self.vlm_concurrency < 1:
            raise ValueError(f"--vlm-concurrency must be at least 1, got {self.vlm_concurrency}")

    @property
    def uses_ray(self) -> bool:
        return self.workers > 1 or bool(self.address)


FileStatus = Literal["ingested", "unchanged", "failed"]


@dataclass
class FileResult:
    path: str
    status: FileStatus
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


def ingest(
    paths: Sequence[str | Path],
    *,
    library: Library | None = None,
    options: IngestOptions = IngestOptions(),
    progress: Progress | None = None,
    cluster: ClusterOptions = ClusterOptions(),
) -> IngestReport:
    """Ingest files and folders (recursively); returns one result per file, failures included.

    With `cluster.workers` > 1 or a Ray address the stages run as Ray tasks
    (ingest/cluster.py) and this process stays the one writer.
    """
    library = library or Library()
    files = discover(list(paths))
    if cluster.uses_ray:
        from ingest.cluster import ingest_on_ray

        return ingest_on_ray(files, library, options, progress or _noop, cluster)
    return IngestReport([ingest_file(p, library, options, progress or _noop) for p in files])


def ingest_file(
    path: Path, library: Library, options: IngestOptions, progress: Progress
) -> FileResult:
    started = time.monotonic()
    result = FileResult(path=str(path), status="failed")
    try:

        def step(stage: str, done: float = 0.0, total: float = 1.0) -> None:
            progress(str(path), stage, done, total)

        _ingest_one(Path(path), library, options, step, result)
    except (VidqaError, OSError, ValueError, RuntimeError) as e:
        result.status, result.error = "failed", failure_message(path, e)
    result.seconds = round(time.monotonic() - started, 3)
    progress(str(path), "done", 1.0, 1.0)
    return result


def failure_message(path, error: Exception) -> str:
    """The one line a failed file reports: vidqa's own message, else the error named."""
    if isinstance(error, VidqaError):
        return str(error)
    return f"{path}: {type(error).__name__}: {error}"  # decoder/ASR failures, with the file named


def _ingest_one(
    path: Path, library: Library, options: IngestOptions, step, result: FileResult
) -> None:
    info, video_id = identify(path, step)
    result.video_id, result.title, result.duration = video_id, path.stem, info.duration
    if is_unchanged(library, video_id, options, result):
        return
    transcript, spans = transcript_stage(path, info, video_id, options, step)
    result.notes += transcript.notes
    visual = frames_stage(path, info, video_id, step) if options.frames else None
    result.notes += visual.notes if visual else []
    result.ocr_frames = visual.ocr_frames if visual else 0
    summary = chapters_stage(path, info, transcript, visual, options, step)
    result.notes += summary.notes
    write(assemble(path, info, video_id, transcript, spans, visual, summary), library, result, step)


# -- stages: each takes plain data and returns plain data, so ingest/cluster.py can run it
# on a Ray worker; only `write` touches the library.
@dataclass
class Prepared:
    """Everything one video's write needs, whether built here or by Ray tasks."""

    video: Video
    spans: list[Span]
    summary: VideoSummary
    frames: tuple[str, np.ndarray] | None = None  # (CLIP model, one row per frame span)
    text_vectors: object | None = (
        None  # cluster.KnownVectors from a worker; None: embed in the write
    )
    sparse_rows: object | None = None  # SPLADE's rows from a worker, the same way


def identify(path: Path, step) -> tuple[MediaInfo, str]:
    step("probe")
    return probe(path), content_id(path)


def is_unchanged(
    library: Library, video_id: str, options: IngestOptions, result: FileResult
) -> bool:
    """True (and `result` says so) when this content's ready version is complete; a version
    missing vectors (an interrupted removal's leftovers, say) is noted and re-indexed."""
    if options.force or not library.has_ready(video_id):
        return False
    if missing := library.missing_vectors(video_id):
        result.notes.append(
            "re-indexed: the stored version was incomplete ("
            + ", ".join(
                f"{found} of {want} vectors in {name}" for name, (want, found) in missing.items()
            )
            + ")"
        )
        return False
    old = library.catalog.video(video_id)
    result.status, result.transcript_source = "unchanged", old.transcript_source
    result.spans = library.catalog.counts(video_id)
    return True


def transcript_stage(path: Path, info: MediaInfo, video_id: str, options: IngestOptions, step):
    """(transcript, transcript spans)."""
    from ingest.spans import make_spans
    from ingest.transcript import get_transcript

    step("transcript", 0.0, info.duration)
    transcript = get_transcript(
        path,
        info,
        language=options.language,
        asr_model=options.asr_model,
        progress=lambda done, total: step("transcript", done, total),
    )
    step("spans")
    return transcript, make_spans(transcript, video_id)


def frames_stage(path: Path, info: MediaInfo, video_id: str, step):
    """Frame and on-screen-text spans, scene changes, CLIP vectors; None without a picture."""
    from ingest.visual import visual_spans

    if not info.has_video:
        return None
    step("frames", 0.0, info.duration)
    return visual_spans(path, info, video_id, progress=lambda d, t: step("frames", d, t))


def chapters_stage(
    path: Path, info: MediaInfo, transcript, visual, options: IngestOptions, step
) -> VideoSummary:
    step("chapters")
    return summarize(
        path if info.has_video else None,
        transcript,
        options,
        duration=info.duration,
        width=info.width,
        height=info.height,
        scene_changes=visual.boundaries if visual else [],
        titles=slide_titles(visual.spans) if visual else [],
    )


def assemble(
    path: Path,
    info: MediaInfo,
    video_id: str,
    transcript,
    spans: list[Span],
    visual,
    summary: VideoSummary,
) -> Prepared:
    from ingest.chapters import chapter_spans

    video = Video(
        id=video_id,
        path=str(path.resolve()),
        title=path.stem,
        duration=info.duration,
        has_video=info.has_video,
        has_audio=info.has_audio,
        width=info.width,
        height=info.height,
        fps=info.fps,
        transcript_source=transcript.source,
        language=transcript.language,
        size=info.size,
        mtime=info.mtime,
        models={"transcript": transcript.source},
    )
    spans = list(spans) + (visual.spans if visual else [])
    frames = None
    if visual is not None and visual.vectors is not None:
        video.models["frames"] = visual.clip_name
        frames = (visual.clip_name, visual.vectors)
    video.models["chapters"] = summary.source
    return Prepared(video, spans + chapter_spans(summary, video_id), summary, frames)


def write(prepared: Prepared, library: Library, result: FileResult, step) -> None:
    """The one write per video (Library.add_video, under its lock)."""
    from ingest.cluster import worker_embedder, worker_sparse

    step("index")
    library.add_video(
        prepared.video,
        prepared.spans,
        summary=prepared.summary,
        frames=prepared.frames,
        embedder=worker_embedder(library, prepared.text_vectors),
        sparse=worker_sparse(library, prepared.sparse_rows),
    )
    result.status, result.transcript_source = "ingested", prepared.video.transcript_source
    result.spans = library.catalog.counts(prepared.video.id)


def slide_titles(spans: Sequence[Span]) -> list[tuple[float, float, str]]:
    """(start, end, title) of the on-screen text spans where OCR read a slide title."""
    return [
        (s.start, s.end, s.extra["title"])
        for s in spans
        if s.kind == "ocr" and (s.extra or {}).get("title")
    ]


def summarize(
    path: Path | None,
    transcript,
    options: IngestOptions,
    *,
    duration: float,
    width: int | None,
    height: int | None,
    scene_changes=(),
    titles=(),
) -> VideoSummary:
    """Chapters + summary (stored with the video); VLM or transcript fallback.

    Scene changes and slide titles (from the frames stage) guide transcript chapters:
    boundaries move onto slide changes and a slide's title names its chapter.
    """
    from ingest.chapters import summarize_video
    from ingest.segment import Cues

    cues = Cues(scene_changes=list(scene_changes), titles=list(titles))
    summary = summarize_video(
        path,
        transcript,
        duration=duration,
        width=width,
        height=height,
        vlm=options.vlm,
        context=options.context,
        cues=cues,
    )
    summary.scene_changes = [round(t, 2) for t in scene_changes]
    return summary


def resummarize(video: Video, library: Library, options: IngestOptions) -> VideoSummary:
    """Rebuild chapters for an ingested video from its stored transcript (no ASR)."""
    from ingest.chapters import chapter_spans

    segments = [
        Segment(
            s.start, s.end, s.text, [Word(*w) for w in (s.extra or {}).get("words", ())]
        )  # ASR timings
        for s in library.spans(video.id, ("transcript",))
    ]
    path = (
        Path(video.path) if video.path and video.has_video and Path(video.path).exists() else None
    )
    old = library.summary(video.id)
    summary = summarize(
        path,
        segments,
        options,
        duration=video.duration,
        width=video.width,
        height=video.height,
        scene_changes=old.scene_changes if old else (),
        titles=slide_titles(library.spans(video.id, ("ocr",))),
    )
    library.set_summary(video.id, summary, chapter_spans(summary, video.id))
    return summary


def ingest_transcript(
    subtitles: Path,
    *,
    video_id: str,
    title: str,
    duration: float | None,
    library: Library,
    path: str | None = None,
) -> FileResult:
    """Index a transcript with no media file (eval sets, or subtitles of a video kept elsewhere)."""
    from ingest.spans import make_spans
    from ingest.transcript import transcript_from_subtitles

    transcript = transcript_from_subtitles(subtitles)
    spans = make_spans(transcript, video_id)  # no chapters: eval sets measure transcript retrieval
    end = max((s.end for s in spans), default=0.0)
    video = Video(
        id=video_id,
        path=path,
        title=title,
        duration=float(duration or end),
        transcript_source=transcript.source,
        language=transcript.language,
    )
    library.add_video(video, spans)
    return FileResult(
        path=str(subtitles),
        status="ingested",
        video_id=video_id,
        title=title,
        duration=video.duration,
        transcript_source=transcript.source,
        spans=library.catalog.counts(video_id),
    )

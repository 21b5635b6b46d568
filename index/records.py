"""The record types at the seams: what ingest writes, what index stores, what qa cites."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Literal, TypedDict, get_args

# What a span's text is: the words spoken, a chapter summary, text read off the
# screen, a sampled frame (text is then a caption or empty; the vector is CLIP), or an
# overlapping window of the words spoken (searched for recall, cited as its sentences).
SpanKind = Literal["transcript", "chapter", "ocr", "frame", "window"]
SPAN_KINDS: tuple[SpanKind, ...] = get_args(SpanKind)
VideoStatus = Literal["indexing", "ready"]
# start s, end s, text: one ASR word or one sentence (JSON stores it as a 3-item list).
TimedText = tuple[float, float, str]


class SpanExtra(TypedDict, total=False):
    """What a span carries besides its text, by kind; stored as JSON in the catalog."""

    words: list[TimedText]  # transcript from ASR: every word with its times
    sentences: list[TimedText]  # transcript from subtitles, windows, moments: cue-timed
    focused_from: list[float]  # [start, end] of the span a citation was narrowed from
    title: str  # chapter title; ocr: the slide title read off the screen
    said: TimedText  # ocr, as a search hit: the sentence search found at the same moment
    summary: str  # chapter
    key_points: list[str]  # chapter
    keywords: list[str]  # chapter
    chapter: int  # chapter number, from 1
    thumb: str  # frame: thumbnail path relative to the library home


@dataclass
class Word:
    start: float
    end: float
    text: str
    space: bool | None = None  # whitespace preceded it in the source; None: not known


@dataclass
class Segment:
    """A stretch of a transcript: one subtitle cue or one ASR segment, in seconds."""

    start: float  # seconds
    end: float
    text: str
    words: list[Word] = field(default_factory=list)  # ASR word timings; empty for subtitles


@dataclass
class Span:
    """A searchable, citable piece of one video, in absolute seconds."""

    video_id: str
    start: float
    end: float
    kind: SpanKind
    text: str
    source: str  # e.g. "asr:tiny.en", "srt", "vtt", "embedded", "vlm:Qwen3-VL-2B", "transcript"
    extra: SpanExtra = field(default_factory=dict)
    id: str = ""  # assigned by the index: "<video_id>/<kind>/<n>"

    def __post_init__(self):
        if self.kind not in SPAN_KINDS:
            raise ValueError(f"span kind {self.kind!r} is not one of {SPAN_KINDS}")
        if self.end < self.start:
            raise ValueError(f"span ends ({self.end:.3f} s) before it starts ({self.start:.3f} s)")


@dataclass
class Video:
    """One media file in the library. `id` is a content hash, not the path."""

    id: str
    path: str | None  # None when only a transcript was ingested (eval sets)
    title: str
    duration: float
    has_video: bool = False
    has_audio: bool = False
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    transcript_source: str | None = None  # srt | vtt | embedded | asr:<model> | none
    language: str | None = None
    status: VideoStatus = "ready"
    models: dict = field(default_factory=dict)  # stage -> model id used, for provenance
    ingested_at: str | None = None
    size: int | None = None
    mtime: float | None = None


@dataclass
class Hit:
    """A search result: a span, its fused score and which retrievers matched it."""

    span: Span
    score: float
    matched: list[str] = field(default_factory=list)  # retrievers: dense | keyword | clip | image
    kinds: list[str] = field(default_factory=list)  # evidence kinds merged in: transcript, ocr, ...


# --- chapters and summaries ---------------------------------------------------------------

TRANSCRIPT_SOURCE = "transcript"  # chapters found without a VLM


@dataclass
class Chapter:
    start: float  # absolute seconds
    end: float
    title: str
    summary: str = ""
    key_points: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    source: str = TRANSCRIPT_SOURCE  # vlm:<model> | transcript[+ocr][+scenes][+pauses]

    @property
    def text(self) -> str:
        """What gets indexed: title, summary, key points and keywords."""
        keywords = "Keywords: " + ", ".join(self.keywords) if self.keywords else ""
        lines = [self.title, self.summary, *(f"- {p}" for p in self.key_points), keywords]
        return "\n".join(line for line in lines if line)


@dataclass
class VideoSummary:
    chapters: list[Chapter]
    summary: str
    assessment: str
    source: str  # vlm:<model> | transcript | vlm:<model>+transcript
    windows: list[tuple[float, float]]
    notes: list[str] = field(default_factory=list)  # fallbacks, repairs, CPU warnings
    plan: dict | None = None  # fps, frame size, frames and tokens per window
    scene_changes: list[float] = field(default_factory=list)  # s, from the frames stage


def summary_from_dict(data: dict) -> VideoSummary:
    """A summary as the catalog stores it (JSON of `summary_to_dict`), from any version:
    a field added since (e.g. scene_changes) takes its default, one since dropped is ignored."""
    chapters = [Chapter(**_known(Chapter, c)) for c in data.get("chapters", [])]
    windows = [tuple(w) for w in data.get("windows", [])]
    return VideoSummary(**{**_known(VideoSummary, data), "chapters": chapters, "windows": windows})


def summary_to_dict(summary: VideoSummary) -> dict:
    """The JSON-ready form stored in the catalog and printed by `vidqa summary --json`."""
    return asdict(summary)


def _known(cls, data: dict) -> dict:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}

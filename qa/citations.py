"""What users see: citations (video + start–end + quoted text) and answers that carry them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Literal

from index.records import Span, Video
from vidqa.text import join_words
from vidqa.timefmt import fmt_range

MERGE_GAP_S = 1.0  # adjacent spans closer than this become one playable clip (s)
MAX_CLIP_S = 90.0  # ...unless the clip would grow longer than this (s)


def clip_label(title: str, start: float, end: float) -> str:
    """'Intro talk · 25:00–25:40': how a cited clip is named, in answers, the CLI and the app."""
    return f"{title} · {fmt_range(start, end)}"


@dataclass
class Citation:
    video_id: str
    title: str
    path: str | None
    start: float
    end: float
    text: str
    kind: str = "transcript"

    @property
    def label(self) -> str:
        return clip_label(self.title, self.start, self.end)

    def overlaps(self, other: Citation) -> bool:
        return self.video_id == other.video_id and self.start < other.end and other.start < self.end

    def to_json(self) -> dict:
        data = asdict(self)  # with its kind: said (transcript), on screen (ocr), a frame, ...
        data["start"], data["end"] = round(self.start, 2), round(self.end, 2)
        return data


AnswerMode = Literal["extractive", "vlm"]
# answered: cites evidence; not_found: the library does not say (near misses in `related`);
# per_video: a time question with no video chosen, answered for the few most relevant videos
Status = Literal["answered", "not_found", "per_video"]


@dataclass(frozen=True)
class VideoChoice:
    """A video a user may pick to narrow a question to (a button in the app)."""

    video_id: str
    title: str
    start: float | None = None  # the moment answered in it, when the answer was at a time
    end: float | None = None


@dataclass
class Answer:
    answer: str
    mode: AnswerMode
    citations: list[Citation] = field(default_factory=list)
    evidence: object | None = None  # qa.retrieve.Evidence, for callers that show more
    notes: list[str] = field(default_factory=list)  # corrections and fallbacks, in words
    status: Status = "answered"
    related: list[Citation] = field(default_factory=list)  # near misses of a not_found answer
    choices: list[VideoChoice] = field(default_factory=list)  # per_video: the videos answered
    # Of two things asked at once, the one not found, in the words asked; the answer is about
    # the other. In the text of a quoted answer and in `notes` of a VLM's, and here for both.
    not_found: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        data = {
            "answer": self.answer,
            "mode": self.mode,
            "status": self.status,
            "citations": [c.to_json() for c in self.citations],
            "related": [c.to_json() for c in self.related],
        }
        if self.choices:
            data["choices"] = [asdict(c) for c in self.choices]
        if self.not_found:
            data["not_found"] = self.not_found
        if self.notes:
            data["notes"] = self.notes
        return data


class AnswerStream:
    """Every answer vidqa gives: iterate for its text as it is ready (a VLM's validated
    sentences, or a quoted answer in one piece), then read `.answer` for the final Answer.
    Reading `.answer` first consumes the rest of the text."""

    def __init__(self) -> None:
        self._answer: Answer | None = None
        self._started = self._finished = False
        self._callbacks: list[Callable[[Answer], None]] = []
        self.evidence = None  # copied onto the final Answer when it has none
        self.notes: list[str] = []  # from before the model ran (e.g. no frames); put first
        self.not_found: list[str] = []  # known before the model ran: copied onto the Answer

    def _produce(self) -> Iterator[str]:  # yields text, sets self._answer
        raise NotImplementedError

    def __iter__(self) -> Iterator[str]:
        if self._started:
            return
        self._started = True
        yield from self._produce()
        answer = self._answer
        answer.notes[:0] = self.notes
        answer.not_found = answer.not_found or self.not_found
        if answer.evidence is None:
            answer.evidence = self.evidence
        self._finished = True
        for callback in self._callbacks:
            callback(answer)

    @property
    def answer(self) -> Answer | None:
        if not self._finished:
            for _ in self:
                pass
        return self._answer

    def on_done(self, callback: Callable[[Answer], None]) -> AnswerStream:
        """Call `callback(answer)` once the text has all been read (a chat records its turn)."""
        if self._finished:
            callback(self._answer)
        else:
            self._callbacks.append(callback)
        return self


class ReadyAnswer(AnswerStream):
    """An answer that is complete before anyone reads it (quoted evidence, map-reduce)."""

    def __init__(self, answer: Answer) -> None:
        super().__init__()
        self._ready = answer

    def _produce(self) -> Iterator[str]:
        self._answer = self._ready
        yield self._ready.answer


def citations_from_spans(
    spans: list[Span], videos: dict[str, Video], *, merge: bool
) -> list[Citation]:
    """One citation per span, or per run of adjacent spans of one video when `merge`."""
    out: list[Citation] = []
    for span in spans:
        video = videos[span.video_id]
        last = out[-1] if out else None
        if (
            merge
            and last
            and last.video_id == span.video_id
            and last.kind == span.kind
            and 0 <= span.start - last.end <= MERGE_GAP_S
            and span.end - last.start <= MAX_CLIP_S
        ):
            last.end = span.end
            last.text = join_words([last.text, span.text])  # 。用来, not 。 用来
            continue
        out.append(
            Citation(
                span.video_id, video.title, video.path, span.start, span.end, span.text, span.kind
            )
        )
    return out

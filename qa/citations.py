"""What users see: citations (video + start–end + quoted text) and answers that carry them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from index.records import Span, Video
from vidqa.timefmt import fmt_range

MERGE_GAP_S = 1.0  # adjacent spans closer than this become one playable clip (s)
MAX_CLIP_S = 90.0  # ...unless the clip would grow longer than this (s)


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
        return f"{self.title} · {fmt_range(self.start, self.end)}"

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("kind")
        data["start"], data["end"] = round(self.start, 2), round(self.end, 2)
        return data


@dataclass
class Answer:
    answer: str
    mode: str  # extractive | vlm
    citations: list[Citation] = field(default_factory=list)
    evidence: object | None = None  # qa.retrieve.Evidence, for callers that show more
    notes: list[str] = field(default_factory=list)  # corrections and fallbacks, in words

    def to_json(self) -> dict:
        data = {"answer": self.answer, "mode": self.mode,
                "citations": [c.to_json() for c in self.citations]}
        if self.notes:
            data["notes"] = self.notes
        return data


def citations_from_spans(spans: list[Span], videos: dict[str, Video], *, merge: bool) -> list[Citation]:
    """One citation per span, or per run of adjacent spans of one video when `merge`."""
    out: list[Citation] = []
    for span in spans:
        video = videos[span.video_id]
        last = out[-1] if out else None
        if (merge and last and last.video_id == span.video_id and last.kind == span.kind
                and 0 <= span.start - last.end <= MERGE_GAP_S and span.end - last.start <= MAX_CLIP_S):
            last.end, last.text = span.end, f"{last.text} {span.text}"
            continue
        out.append(Citation(span.video_id, video.title, video.path, span.start, span.end,
                            span.text, span.kind))
    return out

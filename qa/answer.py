"""Evidence -> an answer with citations. Extractive here; the VLM path plugs in beside it.

Citations are built only from retrieved spans, so every timestamp a user sees
points at text that exists in the index.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from index.library import Library
from index.records import Span, Video
from qa.retrieve import Evidence, retrieve
from vidqa.timefmt import fmt_range, fmt_ts

MERGE_GAP_S = 1.0  # adjacent spans closer than this become one playable clip (s)
MAX_CLIP_S = 90.0  # ...unless the clip would grow longer than this (s)
QUOTE_CHARS = 600  # longest quote in an extractive answer
SEARCH_CITATIONS = 3


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
    evidence: Evidence | None = None

    def to_json(self) -> dict:
        return {"answer": self.answer, "mode": self.mode,
                "citations": [c.to_json() for c in self.citations]}


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


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rsplit(" ", 1)[0] + "…"


def extractive_answer(question: str, evidence: Evidence, library: Library) -> Answer:
    """Quote the evidence; say plainly when there is none."""
    if not evidence.spans:
        return Answer(evidence.note or "No matching passage was found.", "extractive", [], evidence)
    ids = {s.video_id for s in evidence.spans}
    videos = {i: library.catalog.video(i) for i in ids}
    if evidence.mode == "time":
        citations = citations_from_spans(evidence.spans, videos, merge=True)
        where = (fmt_ts(evidence.time.start) if evidence.time.is_point
                 else fmt_range(evidence.time.start, evidence.time.end))
        lines = [f'At {where} in "{evidence.video.title}":']
        lines += [f"[{n}] {fmt_range(c.start, c.end)} “{_quote(c.text)}”" for n, c in enumerate(citations, 1)]
    else:
        citations = citations_from_spans(evidence.spans[:SEARCH_CITATIONS], videos, merge=False)
        best = citations[0]
        lines = [(f'Best match in "{best.title}" at {fmt_range(best.start, best.end)}: '
                  f"“{_quote(best.text)}” [1]")]
        lines += [f"See also [{n}] {c.label}: “{_quote(c.text)[:160]}”"
                  for n, c in enumerate(citations[1:], 2)]
    if evidence.note:
        lines.append(f"({evidence.note})")
    return Answer("\n".join(lines), "extractive", citations, evidence)


def ask(question: str, *, library: Library | None = None, video: str | None = None,
        k: int = 5) -> Answer:
    """Answer `question` from the library (optionally one video, by id or title)."""
    library = library or Library()
    scoped = library.find_video(video) if video else None
    evidence = retrieve(question, library, video=scoped, k=k)
    return extractive_answer(question, evidence, library)

"""Evidence -> an answer with citations. Extractive here; the VLM path plugs in beside it.

Citations are built only from retrieved spans, so every timestamp a user sees
points at text that exists in the index.
"""

from __future__ import annotations

from index.library import Library
from qa.citations import Answer, Citation, citations_from_spans  # noqa: F401  (re-exported)
from qa.retrieve import Evidence, retrieve
from vidqa.timefmt import fmt_range, fmt_ts

QUOTE_CHARS = 600  # longest quote in an extractive answer
SEARCH_CITATIONS = 3
WHOLE_CITATIONS = 30  # an overview lists at most this many passages


def _quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """The passage on one line, cut with '…' at a word, after Chinese/Japanese clause
    punctuation, or (text without either) between characters, never inside one."""
    import unicodedata

    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    end = limit - 1
    while end > 0 and unicodedata.combining(text[end]):  # keep an accent with its letter
        end -= 1
    cut, half = text[:end], limit // 2
    space = cut.rfind(" ", half)
    pause = max(cut.rfind(mark, half) for mark in "，、；：。！？")
    head = cut[:pause + 1] if pause >= 0 and pause >= space else cut[:space] if space >= 0 else cut
    return head.rstrip(" ,;:，、；：") + "…"


def _shown(citation) -> str:
    """A quoted passage, saying what it is when it is not speech (a frame may have no text)."""
    quote = f"“{_quote(citation.text)}”" if citation.text.strip() else ""
    if citation.kind == "ocr":
        return f"on screen: {quote}"
    if citation.kind == "frame":
        return f"video frame {quote}".rstrip()
    return quote


def _without_bare_frames(citations: list[Citation]) -> list[Citation]:
    """Drop a textless frame when on-screen text covers the same moment: quoting
    "video frame" beside the words on that frame tells the reader nothing more."""
    read = {(c.video_id, c.start, c.end) for c in citations if c.kind == "ocr"}
    return [c for c in citations if not (c.kind == "frame" and not c.text.strip()
                                         and (c.video_id, c.start, c.end) in read)]


def extractive_answer(question: str, evidence: Evidence, library: Library) -> Answer:
    """Quote the evidence; say plainly when there is none."""
    if not evidence.spans:
        return Answer(evidence.note or "No matching passage was found.", "extractive", [], evidence)
    ids = {s.video_id for s in evidence.spans}
    videos = {i: library.catalog.video(i) for i in ids}
    if evidence.mode == "whole":
        citations = citations_from_spans(evidence.spans, videos, merge=True)[:WHOLE_CITATIONS]
        kind = "chapters" if evidence.spans[0].kind == "chapter" else "transcript"
        lines = [f'"{evidence.video.title}" ({fmt_ts(evidence.video.duration)}), from its {kind}:']
        lines += [f"[{n}] {fmt_range(c.start, c.end)} {_quote(c.text, 240)}"
                  for n, c in enumerate(citations, 1)]
    elif evidence.mode == "time":
        citations = _without_bare_frames(citations_from_spans(evidence.spans, videos, merge=True))
        where = (fmt_ts(evidence.time.start) if evidence.time.is_point
                 else fmt_range(evidence.time.start, evidence.time.end))
        lines = [f'At {where} in "{evidence.video.title}":']
        lines += [f"[{n}] {fmt_range(c.start, c.end)} {_shown(c)}" for n, c in enumerate(citations, 1)]
    else:
        citations = citations_from_spans(evidence.spans[:SEARCH_CITATIONS], videos, merge=False)
        best = citations[0]
        lines = [(f'Best match in "{best.title}" at {fmt_range(best.start, best.end)}: '
                  f"“{_quote(best.text)}” [1]")]
        lines += [f"See also [{n}] {c.label}: “{_quote(c.text, 160)}”"
                  for n, c in enumerate(citations[1:], 2)]
    if evidence.note:
        lines.append(f"({evidence.note})")
    return Answer("\n".join(lines), "extractive", citations, evidence)


def whole_video_evidence(library: Library, video) -> Evidence:
    """Summaries and "list all ..." questions read the whole video: chapters, else the transcript."""
    spans = library.spans(video.id, ("chapter",)) or library.spans(video.id, ("transcript",))
    note = None if spans else f"nothing has been indexed for {video.title}"
    return Evidence("whole", spans=spans, video=video, note=note)


def gather(question: str, library: Library, *, video: str | None = None, k: int = 5,
           time=None, kinds: tuple[str, ...] = ("transcript",)) -> Evidence:
    """The evidence for a question: by time, by whole video, or by hybrid search."""
    from qa.classify import classify

    scoped = library.find_video(video) if video else None
    scoped = scoped or library.only_video()
    kind = classify(question, scoped.duration if scoped else None).kind
    if time is None and kind == "whole_video" and scoped is not None:
        return whole_video_evidence(library, scoped)
    return retrieve(question, library, video=scoped, k=k, time=time, kinds=kinds)


def ask(question: str, *, library: Library | None = None, video: str | None = None, k: int = 5,
        vlm=None, stream: bool = False, time=None, kinds: tuple[str, ...] = ("transcript",)):
    """Answer `question` from the library (optionally one video, by id or title).

    `vlm`: a models.vlm backend, a spec string ("none", "auto", "openai:..."), or None for
    the configured default (VIDQA_VLM). With no VLM the answer is extractive. With
    `stream=True` and a VLM, returns a qa.grounded.AnswerStream (iterate, then `.answer`).
    Runs the same LangChain chain that `qa.chain.build_chain` gives LangChain users.
    """
    from qa.chain import build_chain

    chain = build_chain(library=library or Library(), vlm=vlm, k=k, stream=stream)
    return chain.invoke({"question": question, "video": video, "time": time, "kinds": kinds})


def resolve_backend(vlm):
    """A VLM backend for `vlm` (backend, spec string, or None = VIDQA_VLM), or None."""
    if vlm is not None and not isinstance(vlm, str):
        return vlm
    from vidqa.settings import settings

    spec = vlm if isinstance(vlm, str) else settings().vlm
    if spec == "none" or (spec == "auto" and not _gpu_likely()):
        return None  # decided without importing torch: the CPU default stays fast
    from models.vlm import get_vlm

    return get_vlm(spec)


def _gpu_likely() -> bool:
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return False
    from models.device import has_gpu

    return has_gpu()

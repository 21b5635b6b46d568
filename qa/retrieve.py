"""Question -> evidence: time-anchored questions fetch by time, the rest by hybrid search."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from index.fusion import said_under
from index.library import Library
from index.moments import SearchOptions
from index.records import Hit, Span, Video
from index.windows import sentences_of
from qa import abstain
from qa.timeparse import TimeRef, parse_time_reference
from qa.wording import Lang, language, say
from vidqa.errors import VideoNotFound
from vidqa.text import ends_sentence, join_stored_words, join_words
from vidqa.timefmt import fmt_ts

POINT_CONTEXT_S = 5.0  # a point question also gets what was said just before/after (s)
POINT_CANDIDATES = 5  # hits searched to see which video a question's words point at
NEAREST_GAP_S = 30.0  # a point in silence falls back to spans within this distance (s)
SLACK_S = 0.05  # sentence times are stored rounded to 10 ms


def focus_span(span: Span, start: float, end: float) -> Span:
    """The whole sentences of `span` that overlap [start, end].

    Spans are ~15 s; a question about one moment wants the sentences around it,
    not the whole span. Sentences are timed by ASR word timings, or by subtitle
    cue times; a span with neither is returned unchanged.
    """
    if span.extra.get("words"):
        return _focus_words(span, start, end)
    sentences = [s for s in span.extra.get("sentences") or [] if s[1] >= start and s[0] <= end]
    if not sentences:
        return span
    return replace(
        span,
        start=sentences[0][0],
        end=sentences[-1][1],
        text=join_words([s[2] for s in sentences]),
        extra={**span.extra, "sentences": sentences, "focused_from": [span.start, span.end]},
    )


def _focus_words(span: Span, start: float, end: float) -> Span:
    words = span.extra["words"]
    inside = [i for i, w in enumerate(words) if w[1] >= start and w[0] <= end]
    if not inside:
        return span
    first, last = inside[0], inside[-1]
    while first > 0 and not ends_sentence(words[first - 1][2]):
        first -= 1
    while last < len(words) - 1 and not ends_sentence(words[last][2]):
        last += 1
    chosen = words[first : last + 1]
    return replace(
        span,
        start=chosen[0][0],
        end=chosen[-1][1],
        text=join_stored_words(chosen),
        extra={**span.extra, "words": chosen, "focused_from": [span.start, span.end]},
    )


EvidenceMode = Literal["time", "search", "whole", "none"]


@dataclass
class Evidence:
    mode: EvidenceMode
    spans: list[Span] = field(default_factory=list)  # time order (time) or rank order (search)
    hits: list[Hit] = field(default_factory=list)
    time: TimeRef | None = None
    video: Video | None = None
    note: str | None = None  # why the evidence is empty or partial, in words
    picked: bool = False  # no video chosen: the question named (or its words pointed at) this one
    strength: object | None = None  # qa.abstain.Strength of search evidence, once measured
    query: str | None = None  # what was searched, when not the question (a video's name taken out)
    # a how-to question whose best match announces the procedure: what follows it; a
    # question asking what came after (before) a moment: what was said then (qa/steps.py)
    steps: list[Span] = field(default_factory=list)
    steps_kind: Literal["chapters", "sentences", "after", "before"] = "sentences"
    steps_more: int = 0  # steps found beyond those listed

    def cited(self) -> list[Span]:
        """The spans an answer cites, in the order it cites them: the best match, the steps
        that follow it, then the rest; for a moment the question named, it and what was said
        next to it, in time order (other matches of its words are not what was asked)."""
        if self.steps_kind == "before":
            return [*self.steps, *self.spans[:1]]
        if self.steps_kind == "after":
            return [*self.spans[:1], *self.steps]
        return [*self.spans[:1], *self.steps, *self.spans[1:]]


def search_in(query: str, library: Library, videos: Sequence[Video], k: int) -> list[Hit]:
    """The best `k` hits in `videos`: () is the whole library, searched at once (a search per
    video is for a chosen few: in a library of 400 it would be 400 searches)."""
    if len(videos) <= 1:
        return library.search(query, k=k, video_id=videos[0].id if videos else None)
    hits = [h for v in videos for h in library.search(query, k=k, video_id=v.id)]
    return sorted(hits, key=lambda h: h.score, reverse=True)[:k]


def ranked_videos(videos: Sequence[Video], hits) -> list[Video]:
    """`videos` in the order of their first search hit, the rest after them."""
    by_id = {v.id: v for v in videos}
    first = [by_id[i] for i in dict.fromkeys(h.span.video_id for h in hits) if i in by_id]
    return list({v.id: v for v in [*first, *videos]}.values())


def pointed_at(
    text: str, library: Library, videos: Sequence[Video], searched: Sequence[Video] = ()
) -> tuple[Video | None, list[Video]]:
    """The one of `videos` the words of `text` point at ("what did she say about glaciers",
    "the meeting"): every hit in `searched` (() is the library) that passes the not-found
    rule is in it. Also `videos` in the order of their hits, for when it is none."""
    if not abstain.content_words(text):
        return None, list(videos)
    hits = search_in(text, library, searched, POINT_CANDIDATES)
    found = {h.span.video_id for h in abstain.confident_hits(text, hits, library)} if hits else ()
    order = ranked_videos(videos, hits)
    return (order[0] if len(found) == 1 and order[0].id in found else None), order


def spans_at_time(
    library: Library,
    video: Video,
    ref: TimeRef,
    kinds: tuple[str, ...] = ("transcript",),
    lang: Lang = "en",
) -> tuple[list[Span], str | None]:
    """What was said (or shown: `kinds`) at `ref`, and a note in `lang` when nothing was."""
    if ref.start > video.duration + 1.0:
        length, asked = fmt_ts(video.duration), fmt_ts(ref.start)
        return [], say(lang, "too_short", title=video.title, length=length, asked=asked)
    start, end = ref.start, ref.end
    if ref.is_point:
        start, end = max(0.0, start - POINT_CONTEXT_S), end + POINT_CONTEXT_S
    spans = library.spans_between(video.id, start, end, kinds)
    if spans and ref.is_point:
        spans = shown_at(spans, ref.start)
    if spans:
        return [focus_span(s, start, end) for s in spans], None
    near = library.spans_between(
        video.id, ref.start - NEAREST_GAP_S, ref.end + NEAREST_GAP_S, kinds
    )
    where = fmt_ts(ref.start) if ref.is_point else f"{fmt_ts(ref.start)}–{fmt_ts(ref.end)}"
    if near:
        return near, say(lang, "nothing_said_nearest", where=where)
    return [], say(lang, "nothing_said_around", where=where, title=video.title)


def sentences_between(
    library: Library, video_id: str, start: float, end: float, keep=None
) -> list[Span]:
    """The sentences said around `start`–`end` that `keep(start, end)` accepts (default:
    those inside it), one transcript Span each, in time order: a time lookup, never by
    similarity. A sentence stored in two spans is listed once."""
    keep = keep or (lambda a, b: a >= start - SLACK_S and b <= end + SLACK_S)
    found: dict[tuple[float, float], Span] = {}
    for said in library.spans_between(video_id, start, end):
        for a, b, text in sentences_of(said):
            if text.strip() and keep(a, b):
                key = (round(a, 2), round(b, 2))
                found.setdefault(key, Span(video_id, a, b, "transcript", text, said.source))
    return sorted(found.values(), key=lambda s: s.start)


def said_while(library: Library, video_id: str, shown) -> list[Span]:
    """The sentences said while `shown` (on-screen text, a slide: anything with a start and
    an end) showed, by index.fusion.said_under's rule, in time order."""
    return sentences_between(
        library, video_id, shown.start, shown.end, lambda a, b: said_under(a, b, shown)
    )


SCREEN_ONLY = ("ocr", "frame")  # kinds that say what was on screen, not what was said


def shown_at(spans: list[Span], t: float) -> list[Span]:
    """What was on screen at `t`, not around it: speech keeps its context (the sentence being
    said and its neighbours), but slides change every few seconds, so the slide before or
    after a moment within POINT_CONTEXT_S would be quoted as shown then. Per screen kind:
    the spans showing at `t`, else the nearest one (a moment between two samples)."""
    keep: set[int] = set()
    for kind in SCREEN_ONLY:
        screen = [s for s in spans if s.kind == kind]
        showing = [s for s in screen if s.start <= t <= s.end]
        nearest = [min(screen, key=lambda s: max(s.start - t, t - s.end))] if screen else []
        keep |= {id(s) for s in showing or nearest}
    return [s for s in spans if s.kind not in SCREEN_ONLY or id(s) in keep]


def retrieve(
    question: str,
    library: Library,
    *,
    video: Video | None = None,
    k: int = 5,
    time: TimeRef | None = None,
    kinds: tuple[str, ...] = ("transcript",),
    options: SearchOptions | None = None,
) -> Evidence:
    """The evidence a question needs, never by similarity when it names a time.

    `time` (already resolved, e.g. a chat follow-up) skips parsing the question;
    `kinds` says what a time lookup returns (transcript, or ocr/frame for "on screen");
    `options` switches search components (evaluation ablations).
    """
    video = video or library.only_video()  # one video: "the last 2 minutes" is resolvable
    ref = time or parse_time_reference(question, video.duration if video else None)
    if ref is not None:
        if video is None:  # the video the rest of the question points at, as answers pick it
            videos = library.videos()
            if not videos:
                raise VideoNotFound("the library is empty: add a video first")
            video, _ = pointed_at(question.replace(ref.text, " "), library, videos)
            if video is None:
                raise VideoNotFound(
                    f"the question names a time but the library has {len(videos)} videos: "
                    "say which one with --video ID_OR_TITLE"
                )
            ref = time or parse_time_reference(question, video.duration) or ref
        spans, note = spans_at_time(library, video, ref, kinds, language(question))
        return Evidence("time", spans=spans, time=ref, video=video, note=note)
    hits = library.search(question, k=k, video_id=video.id if video else None, options=options)
    if not hits:
        return Evidence("none", video=video, note=say(language(question), "nothing_matches"))
    return Evidence("search", spans=[h.span for h in hits], hits=hits, video=video)

"""Question -> answer: the one path `vidqa ask`, `vidqa chat`, the app and LangChain all take.

    stream = answer("what was said at 1:05?", library=library)    # always an AnswerStream
    for piece in stream: print(piece, end="")                      # text as it is ready
    stream.answer                                                  # the final Answer

1. request: the question, capped, in its language, with its scope (qa.chat.Conversation
   makes one from a follow-up instead: "and 20 seconds later?")
2. gather: evidence by time, by whole video, or by search; a time question that names no
   video among several gets the video it points at, or one evidence per video
3. decide: topical evidence too weak to answer -> "Not found", with labelled near misses
4. respond: quote the evidence, or have a VLM write a grounded answer (qa/grounded.py)

Citations are built only from retrieved spans, so every timestamp a user sees points at
text that exists in the index.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from index.library import Library
from index.records import Video
from models.device import has_gpu
from models.vlm import get_vlm
from qa import abstain, grounded, slides, steps
from qa.citations import (  # noqa: F401
    Answer,
    AnswerStream,
    Citation,
    ReadyAnswer,
    VideoChoice,
    citations_from_spans,
)
from qa.classify import SPOKEN_KINDS, asks_for_summary, classify, time_kinds
from qa.digest import key_sentences
from qa.retrieve import (
    POINT_CANDIDATES,
    Evidence,
    pointed_at,
    ranked_videos,
    retrieve,
    said_while,
    search_in,
    sentences_between,
    spans_at_time,
)
from qa.timeparse import VIDEO_NOUN, TimeRef, first_or_last, parse_time_reference
from qa.wording import Lang, language, passages_language, say
from vidqa.errors import VideoNotFound
from vidqa.settings import settings
from vidqa.text import join_words
from vidqa.timefmt import fmt_range, fmt_ts

QUOTE_CHARS = 600  # longest quote in an extractive answer
SEARCH_CITATIONS = 3
SAID_UNDER_MAX = 40  # sentences said under one slide compared with the question
SAID_WHOLE_MAX = 3  # a cited slide with this few sentences said under it is quoted with all
WHOLE_CITATIONS = 30  # an overview lists at most this many passages
NEAR_MISSES = 3  # passages shown, labelled, under "Not found"
MAX_QUESTION_CHARS = 2000  # longer questions are cut before retrieval (chars)
TIME_VIDEOS = 3  # a time question with no video chosen is answered for this many videos
OVERVIEW_VIDEOS = 5  # "summarize the videos" with none chosen: an overview of this many
# "the meeting", "this budget talk": one video, of a kind its words may tell
ONE_VIDEO = re.compile(rf"\b(?:the|this|that)\s+(?:[\w-]+\s+){{0,3}}?{VIDEO_NOUN}\b", re.I)
# "... in the meeting", "from the bread tutorial": a topic asked of one kind of video ("in
# this video" is the one being watched, and names none)
IN_ONE_VIDEO = re.compile(
    rf"\s*\b(?:in|from|during|at)\s+(?P<video>the\s+(?:[\w-]+\s+){{0,3}}?{VIDEO_NOUN})\b", re.I
)


@dataclass(frozen=True)
class Request:
    """A question resolved to what to fetch."""

    question: str  # what to search for / ask the model (capped)
    videos: tuple[Video, ...] = ()  # the scope; () = the whole library
    video: Video | None = None  # the one video to ask about, when known
    time: TimeRef | None = None  # already resolved (a follow-up): skips parsing
    kinds: tuple[str, ...] = SPOKEN_KINDS  # what a time lookup returns
    k: int = 5
    lang: Lang = "en"
    notes: tuple[str, ...] = ()
    # a follow-up of an answer given in each of several videos: each one's own moment, moved
    times: tuple[tuple[Video, TimeRef], ...] = ()


def make_request(
    question: str,
    library: Library,
    scope: Sequence[str] = (),
    *,
    k: int = 5,
    time: TimeRef | None = None,
    kinds: tuple[str, ...] | None = None,
    times: dict[str, TimeRef] | None = None,
) -> Request:
    """`scope`: video ids, id prefixes or titles; empty for the whole library. `kinds`: what
    a time lookup returns; None reads it from the question (qa.classify.time_kinds)."""
    lang = language(question)
    notes: tuple[str, ...] = ()
    if len(question) > MAX_QUESTION_CHARS:
        question = question[:MAX_QUESTION_CHARS]
        notes = (say(lang, "question_cut", n=f"{MAX_QUESTION_CHARS:,}"),)
    found = {v.id: v for v in (library.find_video(ref) for ref in scope if ref)}
    videos = tuple(found.values())
    video = videos[0] if len(videos) == 1 else None if videos else library.only_video()
    kinds = tuple(kinds) if kinds else time_kinds(question)
    moved = tuple(
        (v, ref) for vid, ref in (times or {}).items() if (v := library.catalog.video(vid))
    )
    return Request(question, videos, video, time, kinds, k, lang, notes, moved)


def answer(
    question: str,
    *,
    library: Library | None = None,
    scope: Sequence[str] = (),
    backend=None,
    history=None,
    k: int = 5,
    time: TimeRef | None = None,
    kinds: tuple[str, ...] | None = None,
    stream: bool = True,
) -> AnswerStream:
    """Answer `question` from the library, or the videos in `scope`.

    `backend`: a models.vlm backend, a spec ("none", "auto", "openai:..."), or None for the
    configured default (VIDQA_VLM); with no VLM the answer quotes the evidence.
    `history`: a qa.chat.Conversation; the question is then read as a follow-up and the
    turn recorded once the answer is complete. `stream=False` asks a VLM for its whole
    reply at once; the result is an AnswerStream either way.
    """
    library = library or Library()
    if history is not None:
        request = history.resolve(question, library)
    else:
        request = make_request(question, library, scope, k=k, time=time, kinds=kinds)
    result = respond(
        request, gather_all(request, library), library, resolve_backend(backend), stream=stream
    )
    if history is not None:
        result.on_done(lambda final: history.record(question, final))
    return result


def ask(
    question: str,
    *,
    library: Library | None = None,
    video: str | None = None,
    k: int = 5,
    vlm=None,
    stream: bool = False,
    time=None,
    kinds: tuple[str, ...] | None = None,
):
    """`answer()` for one video or the library: the final Answer, or the stream with `stream`."""
    result = answer(
        question,
        library=library,
        scope=(video,) if video else (),
        backend=vlm,
        k=k,
        time=time,
        kinds=kinds,
        stream=stream,
    )
    return result if stream else result.answer


# --- gather -------------------------------------------------------------------------------


def whole_video_evidence(library: Library, video) -> Evidence:
    """Summaries and "list all ..." questions read the whole video: chapters, else the transcript."""
    spans = library.spans(video.id, ("chapter",)) or library.spans(video.id, ("transcript",))
    note = None if spans else f"nothing has been indexed for {video.title}"
    return Evidence("whole", spans=spans, video=video, note=note)


def gather(
    question: str,
    library: Library,
    *,
    video: str | None = None,
    k: int = 5,
    time=None,
    kinds: tuple[str, ...] | None = None,
) -> Evidence:
    """The evidence for a question about one video or the library (the first, when a
    time question is answered for several videos)."""
    request = make_request(
        question, library, (video,) if video else (), k=k, time=time, kinds=kinds
    )
    return gather_all(request, library)[0]


def gather_all(request: Request, library: Library) -> list[Evidence]:
    """One Evidence, or one per video for a time or summary question that names none of
    several."""
    found = _gather(request, library)
    if (which := first_or_last(request.question)) is not None:
        found = [_one_sentence(e, which, library) for e in found]
    return found


def _one_sentence(evidence: Evidence, which: str, library: Library) -> Evidence:
    """ "What was the last thing said?": the last sentence of the video's end (its first,
    of its beginning), not the whole last stretch; other evidence as it is."""
    ref = evidence.time
    if evidence.mode != "time" or ref is None or not ref.edge or evidence.video is None:
        return evidence
    said = sentences_between(
        library, evidence.video.id, ref.start, ref.end, lambda a, b: b > ref.start and a < ref.end
    )
    if not said:
        return evidence
    one = said[0] if which == "first" else said[-1]
    return replace(evidence, spans=[one], time=replace(ref, start=one.start, end=one.end))


def _gather(request: Request, library: Library) -> list[Evidence]:
    if request.times:  # "and 10 seconds later?" after an answer in each of several videos
        return [_at_time(library, v, ref, request.kinds, request.lang) for v, ref in request.times]
    video = request.video
    scope = [] if video else _in_scope(request, library)
    # "the last 20 seconds" needs a length: with no video chosen, the longest for now (each
    # video's own is applied when answering in it)
    question = classify(request.question, video.duration if video else _longest(scope))
    ref = request.time or question.time
    if ref is None and slides.asks_list(request.question):
        return _slide_listing(request, library, scope)
    if ref is None and (asked := slides.asked_slide(request.question)) is not None:
        return _slide_evidence(request, library, scope, asked)
    if ref is None and (around := steps.asked_around(request.question)) is not None:
        return _next_slide(request, library, scope, around) or [_around(request, library, around)]
    if ref is None and question.kind == "whole_video":
        if video is not None:
            return [whole_video_evidence(library, video)]
        return _whole_across_videos(request, library, scope)
    if ref is None:
        if video is None and (topic := _topic_in_one_video(request, library, scope)) is not None:
            named, query = topic
            evidence = _search(replace(request, question=query, video=named), library)
            evidence.picked, evidence.query = True, query
            return [evidence]
        return [_search(request, library)]
    if video is None:
        return _time_across_videos(request, ref, library, scope)
    if request.time is None:  # "the last 2 minutes" needs this video's length
        ref = parse_time_reference(request.question, video.duration) or ref
    return [_at_time(library, video, ref, request.kinds, request.lang)]


def _around(request: Request, library: Library, around: steps.Around) -> Evidence:
    """ "What did they discuss after the budget?": the moment the anchor's words find (judged
    by the not-found rule on those words alone), then what was said next to it."""
    evidence = _search(replace(request, question=around.anchor), library)
    evidence.query = around.anchor
    if evidence.spans:
        evidence.steps_kind, evidence.steps, evidence.steps_more = steps.around(
            library, evidence.spans[0], around.side
        )
        if not evidence.steps:
            evidence.note = say(request.lang, f"nothing_{around.side}")
    return evidence


def _next_slide(
    request: Request, library: Library, scope: Sequence[Video], around: steps.Around
) -> list[Evidence] | None:
    """ "What is on the slide after the budget slide?": the slide counted after (before) the
    one showing where the anchor's words are found with confidence; None when it asks for
    no slide or the anchor is not found (then it is asked as a moment)."""
    words = slides.named_slide(around.anchor) or (around.anchor if around.slide else None)
    if words is None:
        return None
    side = around.side
    videos = (request.video,) if request.video else request.videos
    hits = abstain.confident_hits(words, search_in(words, library, videos, request.k), library)
    if not hits:
        return None
    best = hits[0].span
    video = library.catalog.video(best.video_id)
    showing, total = slides.number_at(library, video, (best.start + best.end) / 2)
    number = showing + (1 if side == "after" else -1)
    if not total or not 0 < number <= total:
        return None
    asked = slides.SlideAsk(number, f"slide {number}")
    evidence = _slide_evidence(replace(request, video=video), library, scope, asked)
    evidence[0].picked = request.video is None and len(scope) > 1
    return evidence


def _slide_listing(request: Request, library: Library, scope: Sequence[Video]) -> list[Evidence]:
    """ "How many slides are there?": the chosen or named video's slides, counted as
    qa/slides.py counts them, each cited where it showed; else each video's, for a few."""
    named = None if request.video else _video_named(request, library, scope)
    video = request.video or named
    if video is not None:
        spans = slides.as_spans(video, slides.slides_of(library, video))
        note = None if spans else say(request.lang, "no_slides", title=video.title)
        return [Evidence("whole", spans=spans, video=video, note=note, picked=named is not None)]
    found = []
    for v in scope:  # the first few videos that show slides, not videos without any
        if spans := slides.as_spans(v, slides.slides_of(library, v)):
            found.append(Evidence("whole", spans=spans, video=v))
            if len(found) == OVERVIEW_VIDEOS:
                break
    return found or [Evidence("whole", note=say(request.lang, "no_slides_anywhere"))]


def _slide_evidence(
    request: Request, library: Library, scope: Sequence[Video], asked: slides.SlideAsk
) -> list[Evidence]:
    """ "What is on slide 3?": what was shown and said while that slide showed, in the
    chosen or named video, else in each of the few videos that have one."""
    video = request.video or _video_named(request, library, scope)
    found: list[Evidence] = []
    shown: list[slides.Slide] = []
    for v in [video] if video is not None else scope:
        shown = slides.slides_of(library, v)
        slide = slides.pick(shown, asked)
        if slide is None:
            continue
        n = len(shown) if asked.number == slides.LAST else asked.number
        ref = TimeRef(slide.start, slide.end, asked.text, slide=(n, len(shown)))
        spans = slides.shown_and_said(library, v, slide)
        found.append(Evidence("time", spans=spans, time=ref, video=v))
        if len(found) == TIME_VIDEOS:
            break
    if len(found) == 1 and request.video is None:
        found[0].picked = True  # named, or the only video with that slide: said in the answer
    if found:
        return found
    if video is not None:  # `shown`: its slides, counted in the loop
        note = say(request.lang, "no_slide", title=video.title, total=len(shown), asked=asked.text)
    else:
        note = say(request.lang, "no_slide_anywhere", asked=asked.text)
    return [Evidence("time", video=video, note=note, picked=True)]


def _in_scope(request: Request, library: Library) -> list[Video]:
    """The videos a question with none chosen is about; an empty library is an error, not
    "nothing matches"."""
    videos = list(request.videos) or library.videos()
    if not videos:
        raise VideoNotFound("the library is empty: add a video first")
    return videos


def _longest(videos: Sequence[Video]) -> float:
    return max(v.duration for v in videos)


def _at_time(library: Library, video: Video, ref: TimeRef, kinds, lang: Lang = "en") -> Evidence:
    spans, note = spans_at_time(library, video, ref, kinds, lang)
    return Evidence("time", spans=spans, time=ref, video=video, note=note)


def _search(request: Request, library: Library) -> Evidence:
    videos = (request.video,) if request.video else request.videos  # (): the whole library
    hits = search_in(request.question, library, videos, request.k)
    if not hits:
        return Evidence("none", video=request.video, note=say(request.lang, "nothing_matches"))
    evidence = Evidence("search", spans=[h.span for h in hits], hits=hits, video=request.video)
    best = evidence.spans[0]
    if (
        best.kind == "transcript"
        and steps.asks_how_to(request.question)
        and steps.announces(best.text)
    ):
        evidence.steps_kind, evidence.steps, evidence.steps_more = steps.steps_after(library, best)
    return evidence


def _time_across_videos(
    request: Request, ref: TimeRef, library: Library, videos: Sequence[Video]
) -> list[Evidence]:
    """The video the rest of the question points at, else the few most relevant, each."""
    rest = request.question.replace(ref.text, " ")
    if (named := _named(rest, videos)) is not None:
        evidence = _at_time(
            library, named, _reparse(request, ref, named), request.kinds, request.lang
        )
        evidence.picked = True  # said in the answer, so a wrong pick is seen
        return [evidence]
    chosen, order = None, list(videos)
    if one := ONE_VIDEO.search(rest):  # "the first minute of the meeting"
        chosen, _ = pointed_at(one[0], library, videos, request.videos)
    if chosen is None:
        chosen, order = pointed_at(rest, library, videos, request.videos)
    if chosen is not None:
        evidence = _at_time(
            library, chosen, _reparse(request, ref, chosen), request.kinds, request.lang
        )
        evidence.picked = True
        return [evidence]
    # Each video's own reading of the time ("the last minute" of each), parsed only until
    # TIME_VIDEOS long enough are found, not for every video of a large library.
    chosen: list[tuple[Video, TimeRef]] = []
    for v in order:
        own = _reparse(request, ref, v)
        if v.duration + 1.0 >= own.start:
            chosen.append((v, own))
            if len(chosen) == TIME_VIDEOS:
                break
    if not chosen:  # the time is past the end of every video: say so for the first few
        chosen = [(v, _reparse(request, ref, v)) for v in order[:TIME_VIDEOS]]
    return [_at_time(library, v, own, request.kinds, request.lang) for v, own in chosen]


def _named(text: str, videos: Sequence[Video]) -> Video | None:
    """The one video whose title the question spells out ("in the keynote, ..."), if any.

    Titles are often file names ("team_meeting", "2024-05-lecture-3"): punctuation and
    underscores count as spaces on both sides, so "the team meeting" names "team_meeting".
    An English title must match whole words ("art" is not named by "start"); a Chinese one
    has no spaces to match, so any occurrence counts. Else words of one title in front of a
    word for a video name it (_called: "the chemistry lecture")."""
    asked = f" {_plain(text)} "

    def names(title: str) -> bool:
        plain = _plain(title)
        if len(plain) < 3:
            return False
        return f" {plain} " in asked if plain.isascii() else plain in asked

    named = [v for v in videos if names(v.title)]
    if named:
        return named[0] if len(named) == 1 else None
    return _called(asked, videos)


def _named_for_topic(question: str, videos: Sequence[Video]) -> Video | None:
    """The video a topical question is about, when it calls it by name: its title after
    "in / from / of / the" ("in team_meeting", "the keynote"), or its own title words in
    front of a word for a video ("the pasta video", "the chemistry lecture"). A title's
    words anywhere else are the topic: "where did he choose a color?" asks about choosing
    a color, not about the video titled "Choose a color", and "in this tutorial" is the
    video being watched, not a name (on pstuts-dev's 2,524 questions, title words alone
    named a video 34 times, 10 of them the right one; this rule names none)."""
    if len(videos) < 2:
        return None
    asked = f" {_plain(question)} "
    called = [
        v
        for v in videos
        if len(title := _plain(v.title)) >= 3
        and (
            (f" {title} " in asked and _title_pattern(title).search(asked))
            # a file name typed as it is ("team_meeting", "talk-2"): a name, never a topic
            or (re.search(r"[^\w\s]|[_\d]", v.title) and _typed(v.title, question))
        )
    ]
    if called:
        return called[0] if len(called) == 1 else None
    return _called(asked, videos)


def _called(asked: str, videos: Sequence[Video]) -> Video | None:
    """The video `asked` (plain words, space-padded) calls by its title's words in front of
    a word for a video: "the pasta video", "the chemistry lecture", "the meeting" (one
    title holds "meeting"). Every word in front must be the title's: "the next meeting" is
    a topic, and "this tutorial" is the one being watched."""
    for m in re.finditer(rf" the ((?:[\w-]+ ){{0,3}})({VIDEO_NOUN}s?)(?= )", asked):
        named = _named_by_words(m.group(0), videos)
        if named is not None and abstain.content_words(m.group(1)) <= abstain.content_words(
            named.title
        ):
            return named
    return None


# Patterns made from titles are compiled once per title: per question, a library of 400
# videos compiled 800 and overflowed `re`'s cache of 512, so every question recompiled them
# all (about 135 ms of a 285 ms topical `ask` at 100 h, bench/query_latency.py).
@functools.lru_cache(maxsize=4096)
def _title_pattern(title: str) -> re.Pattern:
    """`title` (plain words) after in/from/of/the, or before a word for a video."""
    name = re.escape(title)
    return re.compile(rf" (?:in|from|of|the) {name} | {name} {VIDEO_NOUN}s? ")


@functools.lru_cache(maxsize=4096)
def _as_typed(title: str) -> re.Pattern:
    return re.compile(rf"(?<!\w){re.escape(title.strip())}(?!\w)", re.IGNORECASE)


def _typed(title: str, question: str) -> bool:
    """`title` appears in `question` as typed (any case), not inside a longer word."""
    return bool(_as_typed(title).search(question))


def _topic_in_one_video(
    request: Request, library: Library, videos: Sequence[Video]
) -> tuple[Video, str] | None:
    """(video, what to search it for) when a topical question asks it of one of several
    videos: by name ("is there anything about eggs in the chemistry lecture?": searched for
    the rest, as "chemistry lecture" would match its "in this lecture we..."), or as "in the
    meeting" / "from the bread tutorial" whose words point at one video ("meeting" is no
    topic of it); None otherwise ("in the video" names none: its words are no topic)."""
    if (named := _named_for_topic(request.question, videos)) is not None:
        return named, _without_title(request.question, named)
    if len(videos) < 2 or (m := IN_ONE_VIDEO.search(request.question)) is None:
        return None
    rest = (request.question[: m.start()] + request.question[m.end() :]).strip()
    if not abstain.content_words(rest):
        return None
    chosen, _ = pointed_at(m["video"], library, videos, request.videos)
    return (chosen, rest) if chosen is not None else None


def _without_title(question: str, video: Video) -> str:
    """The question without the words that name `video`, to search for the rest (the
    question itself when nothing would be left)."""
    title = abstain.content_words(video.title)
    pieces = re.split(r"([\W_]+)", question)  # words, and what separates them
    rest = "".join(
        p for p in pieces if not (words := abstain.content_words(p)) or not words <= title
    )
    return rest if abstain.content_words(rest) else question


# Words a title may hold that say nothing about which video it is ("lecture_3_video").
_GENERIC_TITLE_WORDS = ("video", "clip", "recording", "part", "episode", "final", "copy")


def _named_by_words(text: str, videos: Sequence[Video]) -> Video | None:
    """The video a question names by words of its title that no other title has: "the
    chemistry lecture" names "chemistry_lecture_3", "the pasta video" names "fresh_pasta".
    None on a tie ("the lecture" with two lectures) or when no such word is asked."""
    if len(videos) < 2:
        return None
    generic = abstain.content_words(" ".join(_GENERIC_TITLE_WORDS))
    words = {
        v.id: {w for w in abstain.content_words(v.title) if not w.isdigit()} - generic
        for v in videos
    }
    seen: dict[str, int] = {}
    for own in words.values():
        for w in own:
            seen[w] = seen.get(w, 0) + 1
    asked = abstain.content_words(text)
    score = {v.id: sum(seen[w] == 1 for w in words[v.id] & asked) for v in videos}
    best = max(score.values())
    top = [v for v in videos if score[v.id] == best]
    return top[0] if best and len(top) == 1 else None


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[\W_]+", " ", text.lower()).split())


def _video_named(request: Request, library: Library, videos: Sequence[Video]) -> Video | None:
    """The one video the question names by its title, or by "the X" whose words point at it:
    "summarize the meeting" is the one video that speaks of a meeting ("the team videos"
    asks for several)."""
    named = _named(request.question, videos)
    if named is None and (one := ONE_VIDEO.search(request.question)):
        named, _ = pointed_at(one[0], library, videos, request.videos)
    return named


def _whole_across_videos(
    request: Request, library: Library, videos: Sequence[Video]
) -> list[Evidence]:
    """ "Summarize the videos" with none chosen: the video the question names, else an
    overview of each (the few the rest of the question is most about, in a large library)."""
    if (named := _video_named(request, library, videos)) is not None:
        evidence = whole_video_evidence(library, named)
        evidence.picked = True
        return [evidence]
    if len(videos) > OVERVIEW_VIDEOS and abstain.content_words(request.question):
        hits = search_in(
            request.question, library, request.videos, POINT_CANDIDATES * OVERVIEW_VIDEOS
        )
        videos = ranked_videos(videos, hits)
    return [whole_video_evidence(library, v) for v in videos[:OVERVIEW_VIDEOS]]


def _reparse(request: Request, ref: TimeRef, video: Video) -> TimeRef:
    if request.time is not None:
        return ref
    return parse_time_reference(request.question, video.duration) or ref


# --- respond ------------------------------------------------------------------------------


def respond(
    request: Request, evidence: list[Evidence], library: Library, backend, *, stream: bool = True
) -> AnswerStream:
    first = evidence[0]
    verdict = _judged(request, first, library) if first.mode == "search" else None
    if len(evidence) > 1 or (first.mode == "time" and request.video is None and not first.picked):
        result = ReadyAnswer(per_video_answer(request, evidence, library, backend))
    elif first.mode == "none" or (verdict is not None and not verdict.answers):
        # "none": search found nothing at all
        result = ReadyAnswer(not_found_answer(request, first, library))
    else:
        asked = request  # what a VLM is asked: the part found, when one of two is
        unfound = []
        if verdict is not None and verdict.found is not None:
            first, asked = _found_part(request, first, library, verdict)
            unfound = [verdict.unfound.strip()]
        if backend is None or not first.spans:
            result = ReadyAnswer(
                extractive_answer(
                    first, library, request.lang, question=first.query or request.question
                )
            )
        else:
            result = model_answer(asked, first, library, backend, stream=stream)
            if first.picked:
                result.notes.append(say(request.lang, "points_at", title=first.video.title))
            if first.note:
                result.notes.append(first.note)
        result.not_found = unfound
    result.evidence = first
    result.notes[:0] = list(request.notes)
    return result


def _judged(request: Request, evidence: Evidence, library: Library) -> abstain.Verdict:
    question = evidence.query or request.question
    verdict = abstain.assess(question, [s.text for s in evidence.spans], library)
    evidence.strength = verdict.strength
    return verdict


def _found_part(
    request: Request, evidence: Evidence, library: Library, verdict: abstain.Verdict
) -> tuple[Evidence, Request]:
    """Two things asked at once and one found: the answer is about that one, searched on its
    own (the best match of both may be a near miss of the other), and says the other is not
    in the videos, in the words it was asked. Also the request a VLM answers."""
    asked = request
    if evidence.steps_kind in ("after", "before"):  # what came next to a moment: as found
        found = evidence
    else:
        asked = replace(request, question=verdict.found)
        video = evidence.video if evidence.picked else request.video
        found = _search(replace(request, question=verdict.found, video=video), library)
        if not found.spans:
            found = evidence
        found.picked, found.query, found.strength = (
            evidence.picked,
            verdict.found,
            evidence.strength,
        )
    where = (
        say(request.lang, "in_title", title=found.video.title)
        if found.picked
        else say(request.lang, "in_this_video" if request.video else "in_these_videos")
    )
    found.note = say(request.lang, "part_not_found", where=where, asked=verdict.unfound.strip())
    return found, asked


def model_answer(
    request: Request, evidence: Evidence, library: Library, backend, *, stream: bool
) -> AnswerStream:
    """A VLM's answer from numbered evidence and frames, validated (qa/grounded.py)."""
    question = request.question

    def fallback() -> Answer:
        return extractive_answer(evidence, library, request.lang, question=question)

    items, videos, time_range = grounded.evidence_items(evidence, library)
    budget = backend.context_limit - grounded.OUTPUT_TOKENS
    text_tokens = backend.count_tokens(
        grounded.SYSTEM_PROMPT + grounded.evidence_text(items) + question
    )
    if text_tokens > budget:  # whole video / long range: map over chunks, then reduce
        return ReadyAnswer(
            grounded.map_reduce(
                question, items, backend, budget, time_range, fallback, request.lang
            )
        )
    notes: list[str] = []
    clips = grounded.frames_or_note(items, videos, budget - text_tokens, notes, request.lang)
    messages = grounded.answer_messages(question, items, clips)
    raw = backend.generate(messages, max_new_tokens=grounded.OUTPUT_TOKENS, stream=stream)
    if stream:
        result = grounded.AnswerStream(iter(raw), items, time_range, fallback, request.lang)
    else:
        result = ReadyAnswer(grounded.final_answer(raw, items, time_range, fallback, request.lang))
    result.notes = notes
    return result


# --- extractive answers ---------------------------------------------------------------------


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
    head = cut[: pause + 1] if pause >= 0 and pause >= space else cut[:space] if space >= 0 else cut
    return head.rstrip(" ,;:，、；：") + "…"


def _whole_lines(
    evidence: Evidence, videos, lang: Lang, first: int = 1, limit: int = WHOLE_CITATIONS
) -> tuple[list[Citation], list[str]]:
    """A video's overview: its chapters, else its transcript in clips, numbered from `first`.

    Chapters are cited one by one, each at its own time: they are contiguous, so merged they
    became one 0:00-to-the-end citation that quoted only the first chapter."""
    kind = evidence.spans[0].kind
    listed = kind in ("chapter", "ocr")  # chapters, slides: one line each, never merged
    spans = evidence.spans[:limit] if listed else evidence.spans
    citations = citations_from_spans(spans, videos, merge=not listed)[:limit]
    shown = [_chapter_line(s, lang) for s in spans] if kind == "chapter" else None
    lines = [
        f"[{first + i}] {fmt_range(c.start, c.end)} {shown[i] if shown else _quote(c.text, 240)}"
        for i, c in enumerate(citations)
    ]
    if listed and len(evidence.spans) > len(spans):  # an overview of several videos
        more = "more_chapters" if kind == "chapter" else "more_slides"
        lines.append(say(lang, more, n=len(evidence.spans) - len(spans)))
    return citations, lines


def _whole_heading(evidence: Evidence, citations: list[Citation], lang: Lang) -> str:
    """ "“lecture” (0:57), from its chapters:" """
    title, duration = evidence.video.title, fmt_ts(evidence.video.duration)
    if citations[0].kind == "ocr":  # "how many slides are there?"
        n = len(evidence.spans)
        return say(lang, "whole_slides", title=title, duration=duration, n=n)
    source = say(lang, "chapters" if citations[0].kind == "chapter" else "transcript")
    return say(lang, "whole", title=title, duration=duration, source=source)


def _chapter_line(span, lang: Lang) -> str:
    """A chapter in an overview: its title and summary (the indexed text adds key points and
    keywords for search, which read as clutter here)."""
    title, summary = span.extra.get("title"), span.extra.get("summary")
    if not title:
        return _quote(span.text, 240)
    return f"{title}{say(lang, 'title_sep')}{_quote(summary, 200)}" if summary else title


def _shown(citation: Citation, lang: Lang = "en") -> str:
    """A quoted passage, saying what it is when it is not speech (a frame may have no text)."""
    quote = f"“{_quote(citation.text)}”" if citation.text.strip() else ""
    if citation.kind == "ocr":
        return join_words([say(lang, "on_screen"), quote])  # "on screen: “…”", "屏幕上：“…”"
    if citation.kind == "frame":
        return join_words([say(lang, "frame"), quote] if quote else [say(lang, "frame")])
    return quote


def _without_bare_frames(citations: list[Citation]) -> list[Citation]:
    """Drop a textless frame when on-screen text was read during it: quoting "video frame"
    beside the words on screen tells the reader nothing more. (A frame covers its whole scene,
    the text only the samples it was read in, so overlap, not equal times.) Kept when nothing
    on screen was read: then it is the clip to watch."""
    read = [c for c in citations if c.kind == "ocr"]

    def covered(frame: Citation) -> bool:
        return any(r.overlaps(frame) for r in read)

    return [c for c in citations if not (c.kind == "frame" and not c.text.strip() and covered(c))]


def _videos(library: Library, spans) -> dict[str, Video]:
    return {i: library.catalog.video(i) for i in {s.video_id for s in spans}}


def _when(ref: TimeRef) -> str:
    return fmt_ts(ref.start) if ref.is_point else fmt_range(ref.start, ref.end)


def _digest_wanted(evidence: Evidence, citations: list[Citation], question: str | None) -> bool:
    """A range of talk is quoted by its key sentences when the question asks for a summary
    ("总结", "summarize"), or when its quotes would be cut (they would show only its start)."""
    if evidence.time.is_point or not all(c.kind == "transcript" for c in citations):
        return False
    cut = any(len(c.text) > QUOTE_CHARS for c in citations)
    return cut or bool(question and asks_for_summary(question))


def _time_lines(evidence: Evidence, citations: list[Citation], first: int, lang: Lang) -> list[str]:
    return [
        f"[{n}] {fmt_range(c.start, c.end)} {_shown(c, lang)}"
        for n, c in enumerate(citations, first)
    ]


def extractive_answer(
    evidence: Evidence, library: Library, lang: Lang = "en", *, question: str | None = None
) -> Answer:
    """Quote the evidence; say plainly when there is none.

    With `question`, a search answer lists under "Also" only passages that pass the
    not-found rule on their own: the best match answered, its runners-up may not."""
    if not evidence.spans:
        return Answer(evidence.note or say(lang, "no_evidence"), "extractive", [], evidence)
    videos = _videos(library, evidence.spans)
    if evidence.mode == "whole":
        citations, listed = _whole_lines(evidence, videos, lang)
        lines = [_whole_heading(evidence, citations, lang), *listed]
    elif evidence.mode == "time":
        citations = _without_bare_frames(citations_from_spans(evidence.spans, videos, merge=True))
        when, title = _when(evidence.time), evidence.video.title
        if _digest_wanted(evidence, citations, question):  # "summarize 1:00:00-1:10:00", no VLM
            digest = key_sentences(evidence.spans, library)
            citations = citations_from_spans(digest.sentences, videos, merge=False)
            lines = [say(lang, "key_sentences", when=when, title=title, n=len(citations))]
            lines[0] += say(lang, "of_sentences", total=digest.total)
        elif evidence.time.slide:  # "slide 3 of 8": counted by the text on screen
            n, total = evidence.time.slide
            lines = [say(lang, "at_slide", n=n, total=total, when=when, title=title)]
        else:
            lines = [say(lang, "at_time", when=when, title=title)]
        lines += _time_lines(evidence, citations, 1, lang)
    else:
        spans = evidence.spans[:SEARCH_CITATIONS]
        if question is not None and len(spans) > 1:
            keep = abstain.each_answers(question, [s.text for s in spans[1:]], library)
            spans = [spans[0], *(s for s, ok in zip(spans[1:], keep, strict=True) if ok)]
        best, *others = citations_from_spans(spans, videos, merge=False)
        cited = [best]
        at = say(lang, "in_video_at", title=best.title, when=fmt_range(best.start, best.end))
        quoted = f"“{_quote(best.text)}” [1]"
        if said := _said_then(spans[0], best, library, question):  # on screen, and said then
            cited.append(said)
            when = fmt_range(said.start, said.end)
            quoted = join_words(
                [say(lang, "on_screen"), quoted + say(lang, "said_then", when=when)]
            )
            quoted += f"“{_quote(said.text)}” [2]"
        lines = [join_words([at, quoted])]  # "：“…”", ": “…”"
        if evidence.steps:  # "how do I ...?" found the sentence announcing it: what follows
            found, listed = _step_lines(evidence, videos, lang, len(cited) + 1)
            lines += [say(lang, f"steps_{evidence.steps_kind}"), *listed]
            cited += found
            others = [c for c in others if not any(c.overlaps(s) for s in found)]
            if evidence.steps_kind in ("after", "before"):
                others = []  # other matches of the moment named, not what came next to it
        if others:
            lines.append(say(lang, "also"))
            lines += [
                f"[{n}] {c.label}{say(lang, 'colon')}“{_quote(c.text, 160)}”"
                for n, c in enumerate(others, len(cited) + 1)
            ]
        citations = cited + others
    if evidence.picked:
        lines.append(say(lang, "points_at", title=evidence.video.title))
    if evidence.note:
        lines.append(say(lang, "aside", note=evidence.note))
    return Answer("\n".join(lines), "extractive", citations, evidence)


def _step_lines(
    evidence: Evidence, videos, lang: Lang, first: int
) -> tuple[list[Citation], list[str]]:
    """The steps after an announcing sentence, numbered from `first`: chapters by title and
    summary, sentences quoted, each at its own time."""
    found = citations_from_spans(evidence.steps, videos, merge=False)
    if evidence.steps_kind == "chapters":
        shown = [_chapter_line(s, lang) for s in evidence.steps]
    else:
        shown = [f"“{_quote(c.text, 240)}”" for c in found]
    lines = [
        f"[{n}] {fmt_range(c.start, c.end)} {text}"
        for n, (c, text) in enumerate(zip(found, shown, strict=True), first)
    ]
    if evidence.steps_more:
        lines.append(say(lang, f"more_{evidence.steps_kind}", n=evidence.steps_more))
    return found, lines


def _said_then(span, shown: Citation, library: Library, question: str | None) -> Citation | None:
    """What was said while cited on-screen text showed: a slide title names the place, the
    sentences say what the question asked. All of them when the slide carried only a few
    (one citation over them: a slide is one topic), else the one search found there
    (index/fusion.merge_close), else the one nearest the question."""
    if span.kind != "ocr":
        return None
    under = said_while(library, span.video_id, span)
    if 1 <= len(under) <= SAID_WHOLE_MAX:
        said = (under[0].start, under[-1].end, join_words([s.text for s in under]))
    else:
        said = span.extra.get("said") or _nearest(under[:SAID_UNDER_MAX], library, question)
    if not said:
        return None
    start, end, text = said
    return replace(shown, start=start, end=end, text=text, kind="transcript")


def _nearest(sentences: list, library: Library, question: str | None):
    """(start, end, text) of the sentence nearest `question` by the judge's cosine."""
    if not sentences:
        return None
    best = sentences[0]
    if len(sentences) > 1 and question is not None:
        texts = [s.text for s in sentences]
        sims = abstain.cosines(question, texts, abstain.judge(question, texts, library))
        best = sentences[max(range(len(sentences)), key=sims.__getitem__)]
    return best.start, best.end, best.text


def not_found_answer(request: Request, evidence: Evidence, library: Library) -> Answer:
    """ "Not found in these videos", and the closest passages, labelled as near misses."""
    one = request.video is not None
    related = citations_from_spans(
        evidence.spans[:NEAR_MISSES], _videos(library, evidence.spans), merge=False
    )
    if evidence.picked:  # the question named the video: say which was searched
        lines = [say(request.lang, "not_found_in", title=evidence.video.title)]
    else:
        lines = [say(request.lang, "not_found_one" if one else "not_found_many")]
    if related:
        lines.append(say(request.lang, "near_misses"))
        colon = say(request.lang, "colon")
        lines += [f"- {c.label}{colon}“{_quote(c.text, 160)}”" for c in related]
    notes = []
    spoken = passages_language([s.text for s in evidence.spans[:NEAR_MISSES]])
    if spoken is not None and spoken != request.lang:
        notes.append(say(request.lang, "other_language"))
    return Answer(
        "\n".join(lines), "extractive", [], evidence, notes, status="not_found", related=related
    )


def _running_to(videos: Sequence[Video], t: float) -> int:
    """How many of `videos` last until `t` (_time_across_videos' rule)."""
    return sum(v.duration + 1.0 >= t for v in videos)


def per_video_answer(
    request: Request, evidence: list[Evidence], library: Library, backend=None
) -> Answer:
    """A time question with no video chosen, answered at that time in each of a few videos,
    or a summary question, answered by each one's overview: by the VLM for each video when
    there is one, else by quoting each video's passages (its chapters, for an overview)."""
    lang = request.lang
    scope = request.videos or library.videos()
    total = len(scope)
    whole = evidence[0].mode == "whole"
    # "the beginning" is each video's own first tenth even where two come out the same
    own_times = evidence[0].time is not None and bool(evidence[0].time.edge)
    own_times = own_times or len({(e.time.start, e.time.end) for e in evidence if e.time}) > 1
    slide = not whole and evidence[0].time.slide is not None
    key = (
        "per_video_moved"  # a chat follow-up moved each video's own last moment
        if request.times and own_times
        else "overview"
        if whole
        else "per_video_slide"
        if slide
        else "per_video_own"
        if own_times
        else "per_video"
    )
    if key == "per_video_moved":
        pass
    elif len(evidence) == total:
        key += "_all"
    elif key == "per_video" and len(evidence) == _running_to(scope, evidence[0].time.start):
        key += "_long_one" if len(evidence) == 1 else "_long"  # the rest end before then
    when = None if whole else _when(evidence[0].time)
    phrase = None if whole else _phrase(evidence[0].time, lang)
    lines = [say(lang, key, when=when, phrase=phrase, n=len(evidence), total=total)]
    citations: list[Citation] = []
    mode = "extractive"
    for ev in evidence:
        lines.append("")
        videos = _videos(library, ev.spans)
        if whole and backend is None and ev.spans:  # each video's chapters, a few lines each
            limit = max(WHOLE_CITATIONS // len(evidence), 1)
            found, listed = _whole_lines(ev, videos, lang, len(citations) + 1, limit)
            lines += [_whole_heading(ev, found, lang), *listed]
            citations += found
            continue
        lines.append(say(lang, "in_video", title=ev.video.title))
        if backend is not None and ev.spans:
            own = model_answer(request, ev, library, backend, stream=False).answer
            lines.append(_renumbered(own.answer, len(citations)))
            found, mode = own.citations, own.mode if own.mode == "vlm" else mode
        else:
            found = _without_bare_frames(citations_from_spans(ev.spans, videos, merge=True))
            lines += _time_lines(ev, found, len(citations) + 1, lang)
        if ev.note:
            lines.append(say(lang, "aside", note=ev.note))
        citations += found
    # each video with the moment answered in it: a chat's "10 s later" moves from each one's
    choices = [
        VideoChoice(ev.video.id, ev.video.title, *((ev.time.start, ev.time.end) if ev.time else ()))
        for ev in evidence
    ]
    # The answer's time is the one every video was asked at (a chat's "10 s later" moves
    # from it in each); none when each had its own ("the last 10 seconds").
    first = replace(evidence[0], time=None) if own_times else evidence[0]
    return Answer("\n".join(lines), mode, citations, first, status="per_video", choices=choices)


def _phrase(ref: TimeRef, lang: Lang) -> str:
    """The question's own words for a time that differs by video ("the last 10 seconds");
    "the end" for "how does it end?", whose words make no phrase."""
    if ref.edge:
        return say(lang, f"edge_{ref.edge}")
    return re.sub(r"^(in|during|within|over)\s+", "", ref.text.strip(), flags=re.I)


def _renumbered(text: str, offset: int) -> str:
    """One video's answer cites [1], [2]...; in the combined answer they follow the videos
    before it."""
    if not offset:
        return text
    return re.sub(r"\[(\d+)\]", lambda m: f"[{int(m.group(1)) + offset}]", text)


# --- the answer model -----------------------------------------------------------------------


def resolve_backend(vlm):
    """A VLM backend for `vlm` (backend, spec string, or None = VIDQA_VLM), or None."""
    if vlm is not None and not isinstance(vlm, str):
        return vlm
    spec = vlm if isinstance(vlm, str) else settings().vlm
    if spec == "none" or (spec == "auto" and not has_gpu()):
        return None  # decided without importing torch: the CPU default stays fast
    return get_vlm(spec)


__all__ = [
    "Answer",
    "AnswerStream",
    "Request",
    "answer",
    "ask",
    "gather",
    "make_request",
    "retrieve",
]

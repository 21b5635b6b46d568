"""Slides by number: "what is on slide 3?", "the last slide", "第三张幻灯片讲了什么？"; and
all of them: "how many slides are there?", "list the slides", "有多少张幻灯片？".

A deck's own slide numbers are small and rarely read by OCR, so slides are counted as a
viewer counts them: each run of on-screen text under one title, in time order (a bullet
revealed under the same title is the same slide). A slide with no text on it is not seen,
so the answer shows the text it counted and the time, and the rest is a time lookup: what
was on screen and what was said while that slide showed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from index.library import Library
from index.records import Span, Video
from qa.retrieve import said_while
from qa.timeparse import parse_number

LAST = -1

_EN_ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "last": LAST,
    "final": LAST,
}
_WORD_NUMBER = r"\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
_SLIDE_EN = re.compile(
    rf"\bslide\s*(?:#|no\.?\s*|number\s+)?(?P<n>{_WORD_NUMBER})\b"
    rf"|\b(?P<ord>{'|'.join(_EN_ORDINALS)}|\d+(?:st|nd|rd|th))\s+slide\b",
    re.IGNORECASE,
)
_ZH_NUMBER = r"[\d一二三四五六七八九十两百]+"
_ZH_SLIDE = r"(?:幻灯片|PPT|ppt|slide)"
_SLIDE_ZH = re.compile(
    rf"第(?P<n>{_ZH_NUMBER})(?:张|页|个)?{_ZH_SLIDE}|{_ZH_SLIDE}\s*(?P<n2>\d+)"
    rf"|(?P<last>最后一(?:张|页|个)?){_ZH_SLIDE}"
)


# "the next slide", "上一张": counted from the slide showing at the last moment of a chat
_NEIGHBOUR = re.compile(
    r"\b(?P<dir>next|following|previous|prior)\s+slide\b|(?P<zh>[上下])一(?:张|页)(?:幻灯片|PPT|ppt)?",
    re.IGNORECASE,
)


# Asking for the deck itself, not for slides about something ("which slides mention X").
_LIST = re.compile(
    r"\bhow\s+many\s+slides\b|\b(?:number|count)\s+of\s+slides\b|"
    r"\b(?:list|name|show)\s+(?:me\s+)?(?:all\s+)?(?:of\s+)?(?:the\s+|every\s+)?slides\b|"
    r"\ball\s+(?:of\s+)?the\s+slides\b|\bevery\s+slide\b|\bslide\s+titles\b|"
    rf"(?:多少|几)(?:张|页|个)?{_ZH_SLIDE}|(?:所有|全部|列出|每一?张)的?{_ZH_SLIDE}|"
    rf"{_ZH_SLIDE}(?:有|都有|分别是|都是)(?:哪些|什么|多少|几)",
    re.IGNORECASE,
)


def asks_list(question: str) -> bool:
    """ "How many slides are there?", "list the slides", "一共有几张幻灯片？"."""
    return bool(_LIST.search(question))


@dataclass(frozen=True)
class SlideAsk:
    number: int  # from 1; LAST for "the last slide"
    text: str  # the words that asked, for the answer's heading


@dataclass(frozen=True)
class Slide:
    start: float
    end: float
    title: str
    source: str = "ocr"  # what read it (the OCR spans' source)


def asked_slide(question: str) -> SlideAsk | None:
    """The slide a question asks about by number, if any."""
    if m := _SLIDE_EN.search(question):
        if m["n"]:
            number = parse_number(m["n"])
        else:
            word = m["ord"].lower()
            number = _EN_ORDINALS.get(word) or int(re.match(r"\d+", word)[0])
        return SlideAsk(int(number), m[0]) if number else None
    if m := _SLIDE_ZH.search(question):
        if m["last"]:
            return SlideAsk(LAST, m[0])
        number = parse_number(m["n"] or m["n2"])
        return SlideAsk(int(number), m[0]) if number else None
    return None


def as_spans(video: Video, slides: list[Slide]) -> list[Span]:
    """Each slide as one on-screen-text span, its time the run of reads it was counted from."""
    return [Span(video.id, s.start, s.end, "ocr", s.title, s.source) for s in slides]


def slides_of(library: Library, video: Video) -> list[Slide]:
    """The video's slides: runs of on-screen text under one title, in time order."""
    runs: list[Slide] = []
    for span in sorted(library.spans(video.id, ("ocr",)), key=lambda s: s.start):
        title = _title(span)
        if not title:
            continue
        if runs and runs[-1].title.casefold() == title.casefold():
            runs[-1] = replace(runs[-1], end=max(runs[-1].end, span.end))
        else:
            runs.append(Slide(span.start, span.end, title, span.source))
    return runs


_NAMES_SLIDE = re.compile(
    r"\s*\b(?:slides?|screen)\b\s*|\s*(?:那张|这张)?(?:幻灯片|PPT|ppt)\s*", re.I
)


def named_slide(anchor: str) -> str | None:
    """ "the budget slide" -> "the budget": a moment named as a slide, by its words; None
    when the words name no slide."""
    if not _NAMES_SLIDE.search(anchor):
        return None
    words = _NAMES_SLIDE.sub(" ", anchor).strip()
    return words or None


def number_at(library: Library, video: Video, t: float) -> tuple[int, int]:
    """(the number of the slide showing at `t` (s), 0 before the first; slides counted)."""
    shown = slides_of(library, video)
    return sum(s.start <= t for s in shown), len(shown)


def asks_neighbour(message: str) -> bool:
    """The message asks for the next or previous slide ("and the next slide?", "上一张幻灯片")."""
    return _NEIGHBOUR.search(message) is not None


def neighbour(message: str, library: Library, video: Video, t: float) -> str | None:
    """A chat's "and the next slide?" about `video`, after a moment `t` (s): the message
    with the slide written as its number ("and slide 4?"), or None when it asks no such
    thing or there is no slide before the first."""
    m = _NEIGHBOUR.search(message)
    if m is None:
        return None
    step = 1 if (m["dir"] or "").lower() in ("next", "following") or m["zh"] == "下" else -1
    number = number_at(library, video, t)[0] + step
    if number < 1:
        return None
    written = f"第{number}张幻灯片" if m["zh"] else f"slide {number}"
    return message[: m.start()] + written + message[m.end() :]


def pick(slides: list[Slide], asked: SlideAsk) -> Slide | None:
    if asked.number == LAST:
        return slides[-1] if slides else None
    return slides[asked.number - 1] if 0 < asked.number <= len(slides) else None


def shown_and_said(library: Library, video: Video, slide: Slide) -> list[Span]:
    """The slide's on-screen text and the sentences said while it showed, in time order
    (the slides before and after it, which touch its ends, are not this slide)."""
    shown: dict[str, Span] = {}  # the same text read again later on the slide: listed once
    for s in library.spans_between(video.id, slide.start, slide.end, ("ocr",)):
        if slide.start <= s.start and s.end <= slide.end:
            shown.setdefault(" ".join(s.text.split()).casefold(), s)
    said = said_while(library, video.id, slide)
    return sorted([*shown.values(), *said], key=lambda s: (s.start, s.kind != "ocr"))


def _title(span: Span) -> str:
    title = span.extra.get("title") or span.text.strip().split("\n", 1)[0]
    return " ".join(title.split())

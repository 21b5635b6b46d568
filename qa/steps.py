"""What follows a found moment: the procedure after the sentence announcing it, and what
comes after (or before) a moment the question names.

"how do I make sourdough bread?" matches "Today I will show you how to make a simple
sourdough loaf at home." best: it holds the question's words, but it names the procedure
instead of giving it. Tutorials tell their steps in order after such a sentence, so the
answer lists what follows it, each step cited at its own time (a time lookup: every
citation is still a passage of the index). An announcement at the start of a video
introduces the whole video, whose chapters are then its steps.

"What did they discuss after the budget?" names a moment by what was said in it: search
finds the moment ("the budget"), and the answer is what was said next (or, with
"before", just before), by the same time lookup.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

from index.library import Library
from index.records import Span
from qa.abstain import DEICTIC_WORDS, content_words
from qa.retrieve import sentences_between
from qa.timeparse import edge_length, relative_shift

STEPS_MAX = 8  # steps listed after an announcement: sentences, or chapters
STEPS_SPAN_S = 120.0  # ...said within this long after it (s)
STEPS_CHAPTERS = 3  # fewer chapters than this are too coarse to read as steps

AROUND_MAX = 5  # sentences listed after (before) a moment the question names
AROUND_S = 60.0  # ...said within this long after (before) it (s)

StepsKind = Literal["chapters", "sentences", "after", "before"]
Side = Literal["after", "before"]

# Asking how to do something, or for its steps. "how long/many/much/often" ask for a
# quantity and do not match; "how does it end?" is a time question and never gets here.
HOW_TO = re.compile(
    r"\bhow\s+(?:do|does|did|can|could|should|would|to)\b|"
    r"\b(?:what|which)\s+(?:are|were)\s+the\s+steps\b|\bsteps?\s+(?:to|for|of)\b|"
    r"\blist\s+the\s+steps\b|\bwalk\s+(?:me|us)\s+through\b|\bprocedure\b|\binstructions\b|"
    r"怎么|怎样|如何|步骤|流程",
    re.IGNORECASE,
)

# A sentence that says a procedure is coming rather than doing it.
ANNOUNCES = re.compile(
    r"\b(?:show|teach|walk|demonstrate|explain)(?:s|ing)?\s+(?:you|us|everyone|everybody)\b|"
    r"\b(?:i'll|we'll|i\s+will|we\s+will|let\s+me|let's|let\s+us|(?:i'm|we're|i\s+am|we\s+are)"
    r"\s+going\s+to|gonna)\s+(?:show|teach|learn|look\s+at|walk|go\s+through|cover|demonstrate)\b|"
    r"\bhow\s+to\b|\bhere'?s\s+how\b|\bin\s+this\s+(?:video|lesson|tutorial|lecture|session|"
    r"section|part|clip)\b|"
    r"教(?:大家|你|你们)|给大家(?:演示|介绍|讲)|演示(?:一下|如何|怎么)|今天(?:我们|我)|"
    r"这(?:个|节|期)(?:视频|课|教程)|本(?:节|期|视频|教程)|接下来(?:我们|我)|下面(?:我们|我)",
    re.IGNORECASE,
)


# "what did she say after the demo?", "what happened right before the break", "what
# follows the recap?". A time ("after 5 minutes") is read as a time before this is tried.
_AROUND = re.compile(
    r"^\W*(?:and\s+|so\s+)?(?:what|what's|whats)\s+"
    r"(?:(?:happens|happened|comes|came|is\s+\w+|was\s+\w+|were\s+\w+|"
    r"(?:do|does|did)\s+(?:he|she|they|we|you|i|it|the\s+\w+)\s+"
    r"(?:say|do|talk\s+about|discuss|cover|show|explain|mention|present))\s+)?"
    r"(?:right\s+|just\s+|immediately\s+|straight\s+|directly\s+)?(after|before)\s+(.+?)"
    r"[\s?.!]*$",
    re.IGNORECASE,
)
# "what is on the slide after the budget slide?", "which slide comes before glaciers"
_SLIDE_AROUND = re.compile(
    r"^\W*(?:and\s+)?(?:what|what's|whats|which)\s+(?:(?:is|was|are|were)\s+)?(?:on\s+)?"
    r"(?:the\s+)?slides?\s+(?:(?:comes?|came|is|was|shown|showed)\s+)?"
    r"(?:right\s+|just\s+|immediately\s+|directly\s+)?(after|before)\s+(.+?)[\s?.!]*$",
    re.IGNORECASE,
)
_FOLLOWS = re.compile(r"^\W*what\s+(follows|followed|precedes|preceded)\s+(.+?)[\s?.!]*$", re.I)
# "讲完预算之后讲了什么？", "休息之前他们在说什么"
_AROUND_ZH = re.compile(
    r"^(?:在)?(.+?)(之后|以后|后面|过后|之前|以前|前面)"
    r"(?:(?:他|她|他们|她们|我们|大家|老师|主讲人)?(?:又|接着|在)?"
    r"(?:讲|说|谈|聊|做|演示|发生|介绍|讨论)了?(?:些)?(?:什么|啥)|呢|是什么)[\s？?。！!]*$"
)
_THAT_ZH = re.compile(r"[那这此它](?:个|时|时候|里|一刻)?")  # "那之前呢？": the last moment
_DONE_ZH = re.compile(r"^(?:讲|说|聊|谈|做|演示|介绍|讨论)完|(?:讲|说|聊|谈|做|演示|介绍|讨论)完$")


class Around(NamedTuple):
    side: Side
    anchor: str  # the words that name the moment: "the budget"
    slide: bool = False  # the question asks for the slide next to it, not what was said


def asked_around(question: str) -> Around | None:
    """("after", "the budget") for "what did they discuss after the budget?"; None when the
    question names no moment that way ("after that" is a chat follow-up, qa/chat.py)."""
    text = question.strip()
    slide = False
    if m := _SLIDE_AROUND.match(text):
        side, anchor, slide = m[1].lower(), m[2], True
    elif m := _AROUND.match(text):
        side, anchor = m[1].lower(), m[2]
    elif m := _FOLLOWS.match(text):
        side, anchor = ("after" if m[1].lower().startswith("follow") else "before"), m[2]
    elif m := _AROUND_ZH.match(text):
        side, anchor = ("before" if m[2] in ("之前", "以前", "前面") else "after"), m[1]
        anchor = _DONE_ZH.sub("", anchor)
    else:
        return None
    anchor = anchor.strip()
    words = content_words(anchor)
    if not words or words <= DEICTIC_WORDS or _THAT_ZH.fullmatch(anchor):
        return None
    if relative_shift(text) is not None:  # "两分钟之前说了什么": an amount, not a moment
        return None
    return Around(side, anchor, slide)


def around(library: Library, span: Span, side: Side) -> tuple[StepsKind, list[Span], int]:
    """The sentences said just after (before) `span`, nearest first in time order, and how
    many more were said within AROUND_S than are listed."""
    if side == "after":
        video = library.catalog.video(span.video_id)
        end = min(span.end + AROUND_S, video.duration if video else span.end + AROUND_S)
        found = sentences_between(library, span.video_id, span.end, end)
        return "after", found[:AROUND_MAX], max(len(found) - AROUND_MAX, 0)
    found = sentences_between(library, span.video_id, max(0.0, span.start - AROUND_S), span.start)
    return "before", found[-AROUND_MAX:], max(len(found) - AROUND_MAX, 0)


def asks_how_to(question: str) -> bool:
    return bool(HOW_TO.search(question))


def announces(text: str) -> bool:
    return bool(ANNOUNCES.search(text))


def steps_after(library: Library, span: Span) -> tuple[StepsKind, list[Span], int]:
    """What follows the announcing sentence `span`: the video's chapters when it opens a
    video with a few chapters, else the sentences said after it; and how many more there
    were than are listed."""
    video = library.catalog.video(span.video_id)
    chapters = library.spans(span.video_id, ("chapter",))
    if span.start < edge_length(video.duration) and len(chapters) >= STEPS_CHAPTERS:
        return "chapters", chapters[:STEPS_MAX], max(len(chapters) - STEPS_MAX, 0)
    end = min(span.end + STEPS_SPAN_S, video.duration)
    after = sentences_between(library, span.video_id, span.end, end)
    return "sentences", after[:STEPS_MAX], max(len(after) - STEPS_MAX, 0)

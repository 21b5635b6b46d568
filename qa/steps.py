"""How-to questions: when search finds the sentence that announces a procedure, the answer
goes on with the procedure.

"how do I make sourdough bread?" matches "Today I will show you how to make a simple
sourdough loaf at home." best: it holds the question's words, but it names the procedure
instead of giving it. Tutorials tell their steps in order after such a sentence, so the
answer lists what follows it, each step cited at its own time (a time lookup: every
citation is still a passage of the index). An announcement at the start of a video
introduces the whole video, whose chapters are then its steps.
"""

from __future__ import annotations

import re
from typing import Literal

from index.library import Library
from index.records import Span
from qa.retrieve import sentences_between
from qa.timeparse import edge_length

STEPS_MAX = 8  # steps listed after an announcement: sentences, or chapters
STEPS_SPAN_S = 120.0  # ...said within this long after it (s)
STEPS_CHAPTERS = 3  # fewer chapters than this are too coarse to read as steps

StepsKind = Literal["chapters", "sentences"]

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

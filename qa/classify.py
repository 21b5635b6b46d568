"""What kind of question is this? It decides how evidence is fetched.

time_point   "what was said at 25:00?"          -> spans at that time
time_range   "summarize 1:00:00–1:10:00"         -> spans in that range (map-reduce if long)
whole_video  "list every reference in the video" -> all chapters / the whole transcript
topical      "where does she demo the API?"      -> hybrid search (one video or the library)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from qa.timeparse import TimeRef, parse_time_reference

# Asking for a summary, of a range or of the whole video.
_SUMMARY_EN = (
    r"summari[sz]e|summary|overview|outline|recap|tl;?dr|main (points|ideas)|"
    r"key (points|takeaways)"
)
_SUMMARY_ZH = "总结|概括|概述|摘要|梳理|要点|大纲"
SUMMARY = re.compile(rf"\b({_SUMMARY_EN})\b|{_SUMMARY_ZH}", re.IGNORECASE)

# Asking about the whole video rather than a moment: summaries and exhaustive lists.
_ABOUT = r"(this|these|the) (videos?|talks?|lectures?|recordings?|meetings?|tutorials?)"
WHOLE_VIDEO = re.compile(
    rf"\b({_SUMMARY_EN}|main topics|(list|name|give me) (all|every|each)|all the|every "
    r"(reference|book|paper|link|tool|example|question)|chapters?|"
    rf"what (is|are) {_ABOUT} about|what (does|do) (it|{_ABOUT}) cover|"
    r"(what|which) (topics|subjects)|topics (are |were )?(covered|discussed)|"
    # the steps of the video itself, none named: "list the steps", "what are the steps?"
    r"(list|name|give me|what (are|were)) (all )?the (steps|stages|phases)(?! (to|for|of|in|on|when)\b)|"
    # a meeting's outcome, with no topic named: "what was decided?", "what decisions were made?"
    r"(what|which) (decisions|conclusions) (were|did|have)|"
    r"what (was|were|did (we|they|you|he|she)) (decided|agreed|decide|agree)(?! (on|about|to|that)\b))\b"
    rf"|{_SUMMARY_ZH}|所有|全部|列出|列举|讲了哪些|这个视频(讲|说)了什么|主要内容|哪些(主题|话题)"
    r"|(做了|作出了|有)哪些决定|^(一共|总共)?(有哪些|有几个|分几个?|都有哪些)步骤|^步骤(有哪些|是什么)",
    re.IGNORECASE,
)


def asks_for_summary(question: str) -> bool:
    return bool(SUMMARY.search(question))


# Asking what was on screen: a time lookup then returns on-screen text and frames as well.
ON_SCREEN = re.compile(
    r"on (the )?screen|shown|showing|slide|displayed|visible|屏幕|画面|幻灯片|显示", re.I
)
SPOKEN_KINDS = ("transcript",)
SCREEN_KINDS = ("ocr", "frame", "transcript")


def time_kinds(question: str) -> tuple[str, ...]:
    """The span kinds a time lookup for `question` returns: what was said, and what was on
    screen too when the question asks about the screen ("what is on the slide at 5:00?")."""
    return SCREEN_KINDS if ON_SCREEN.search(question) else SPOKEN_KINDS


QuestionKind = Literal["time_point", "time_range", "whole_video", "topical"]


@dataclass(frozen=True)
class Classified:
    text: str
    kind: QuestionKind
    time: TimeRef | None = None


def classify(question: str, duration: float | None = None) -> Classified:
    ref = parse_time_reference(question, duration)
    if ref is not None:
        return Classified(question, "time_point" if ref.is_point else "time_range", ref)
    if WHOLE_VIDEO.search(question):
        return Classified(question, "whole_video")
    return Classified(question, "topical")

import dataclasses

import pytest

from qa.timeparse import (
    TimeRef,
    next_to,
    parse_en_number,
    parse_time_reference,
    parse_zh_number,
    relative_shift,
)

POINTS = [
    ("what was said at 25:00?", 1500),
    ("1:02:03", 3723),
    ("at 25m", 1500),
    ("25 minutes in", 1500),
    ("at 1h05m", 3900),
    ("1h 5m 30s", 3930),
    ("at 90 seconds", 90),
    ("at 90s", 90),
    ("around the 3 minute mark", 180),
    ("what happens at the 3-minute mark?", 180),
    ("at minute 12", 720),
    ("at minute twelve", 720),
    ("at hour 2", 7200),
    ("at 2:15", 135),
    ("at 00:25:00", 1500),
    ("25:00.5", 1500.5),
    ("at 25 minutes", 1500),
    ("after 25 minutes", 1500),
    ("at twenty-five minutes", 1500),
    ("at 5 mins", 300),
    ("25 minutes into the video, what is on screen?", 1500),
    ("half a minute in", 30),
    ("half an hour in", 1800),
    ("an hour and a half in", 5400),
    ("at 1 hour, 5 minutes and 30 seconds", 3930),
    ("five minutes", 300),
    ("John 3:16", 196),
    ("what ratio is shown at 12:30", 750),
    # Chinese
    ("第25分钟", 1500),
    ("第25分钟提到了什么", 1500),
    ("25分钟左右说了什么", 1500),
    ("一小时左右，屏幕上显示了什么", 3600),
    ("2分15秒", 135),
    ("二十五分钟", 1500),
    ("一小时十分", 4200),
    ("十二分三十秒", 750),
    ("两分钟", 120),
    ("25分钟处", 1500),
    ("25:00的时候说了什么", 1500),
    ("1小时", 3600),
    ("半小时处", 1800),
    ("1个半小时", 5400),
    ("半个小时的时候说了什么", 1800),
    ("一分半", 90),
    ("1小时零5分处", 3900),
    ("跳到3分20秒", 200),
    ("从25分钟开始讲了什么", 1500),
    ("在第一百二十秒", 120),
]


@pytest.mark.parametrize("question,seconds", POINTS)
def test_points(question, seconds):
    ref = parse_time_reference(question)
    assert ref is not None
    assert (ref.start, ref.end) == (seconds, seconds)
    assert ref.is_point
    assert ref.text in question


RANGES = [
    ("between 12:30 and 13:00", 750, 780),
    ("from 1:00:00 to 1:10:00", 3600, 4200),
    ("1:00:00-1:10:00", 3600, 4200),
    ("1:00:00–1:10:00", 3600, 4200),
    ("summarize 12:30 to 13:00", 750, 780),
    ("from minute 5 to minute 7", 300, 420),
    ("in the first five minutes", 0, 300),
    ("the first 30 seconds", 0, 30),
    ("the first 2 minutes", 0, 120),
    ("the first hour", 0, 3600),
    ("the first half hour", 0, 1800),
    ("between 10 and 12 minutes", 600, 720),
    ("between ten and twelve minutes", 600, 720),
    ("from 5 to 7 minutes", 300, 420),
    ("between 1 hour and 1 hour 10 minutes", 3600, 4200),
    ("between 13:00 and 12:30", 750, 780),
    # Chinese
    ("1小时到1小时10分之间", 3600, 4200),
    ("请总结1小时到1小时10分之间发生了什么", 3600, 4200),
    ("前五分钟", 0, 300),
    ("视频前5分钟讲了什么", 0, 300),
    ("从10分到12分", 600, 720),
    ("10到12分钟之间", 600, 720),
    ("从12:30到13:00", 750, 780),
]


@pytest.mark.parametrize("question,start,end", RANGES)
def test_ranges(question, start, end):
    ref = parse_time_reference(question)
    assert ref is not None
    assert (ref.start, ref.end) == (start, end)
    assert not ref.is_point
    assert ref.text in question


NOT_TIMES = [
    "3:2 aspect ratio",
    "16:9 video",
    "25 dollars",
    "$25",
    "$25m budget",
    "in 2019",
    "the 1990s",
    "version 3.10",
    "ratio of 4:3",
    "score was 3:1",
    "the score was 3:10",
    "aspect ratio 4:30",
    "top 5 tips",
    "chapter 3",
    "step 2",
    "25%",
    "2 hours of content?",
    "a 2 hour lecture",
    "is the talk 5 minutes long?",
    "25 minutes in length",
    "explain it in 5 minutes",
    "meeting at 4:30 pm",
    "wait a second",
    "two minutes later",
    "30 seconds before",
    "what is the video about?",
    "",
    # Chinese
    "两小时的讲座",
    "这个十分重要",
    "在两分钟内讲完",
    "25分钟时间够吗",
    "5分钟前",
    "一分钟之后",
    "比分3:10",
    "他讲了25分钟左右",
    "这个视频25分钟左右吗",
]


@pytest.mark.parametrize("question", NOT_TIMES)
def test_not_times(question):
    assert parse_time_reference(question) is None


LAST_N = [
    ("the last 2 minutes", 600, 480, 600),
    ("in the last minute", 600, 540, 600),
    ("the final 30 seconds", 90.5, 60.5, 90.5),
    ("the last 10 minutes", 300, 0, 300),  # clamped to [0, duration]
    ("最后两分钟", 600, 480, 600),
    ("最后一分钟说了什么", 600, 540, 600),
]


@pytest.mark.parametrize("question,duration,start,end", LAST_N)
def test_last_n_uses_duration(question, duration, start, end):
    ref = parse_time_reference(question, duration=duration)
    assert ref is not None
    assert (ref.start, ref.end) == (start, end)
    assert isinstance(ref.end, float)


@pytest.mark.parametrize("question", [q for q, *_ in LAST_N])
def test_last_n_without_duration_is_none(question):
    assert parse_time_reference(question) is None


EDGES = [  # (question, video length s, start, end): the first or last tenth, 20 s to 2 min
    ("what was said at the end?", 600, 540, 600),
    ("what did they decide at the very end of the meeting?", 600, 540, 600),
    ("how does it end?", 3600, 3480, 3600),
    ("how did the pasta video start?", 3600, 0, 120),
    ("what was said in the beginning?", 100, 0, 20),
    ("what were her closing remarks?", 600, 540, 600),
    ("what was the last thing she said?", 71, 51, 71),
    ("开头讲了什么？", 600, 0, 60),
    ("最后讲了什么", 600, 540, 600),
    ("快结束时说了什么", 600, 540, 600),
    ("最后两分钟讲了什么", 600, 480, 600),  # "the last N" keeps its length
]


@pytest.mark.parametrize("question,duration,start,end", EDGES)
def test_the_beginning_and_the_end_are_a_share_of_the_video(question, duration, start, end):
    ref = parse_time_reference(question, duration=duration)
    assert ref is not None and (ref.start, ref.end) == (start, end), ref
    assert parse_time_reference(question) is None  # no length, no guess


@pytest.mark.parametrize(
    "question",
    [
        "what does he add at the end of the list?",  # the list's end, not the video's
        "how does the loop end?",
        "what is the first thing to install?",
        "what was the last line of code?",
        "how do I start the server?",
        "where does she start the demo?",
        "what happens in the end of the story?",
    ],
)
def test_an_edge_of_something_else_is_no_time(question):
    assert parse_time_reference(question, duration=600) is None


def test_the_words_naming_the_video_stay_out_of_an_edge_reference():
    """ "the end of the pasta video" is "the end": "pasta" is left to pick the video."""
    assert parse_time_reference("the end of the pasta video", 600).text == "the end"
    assert parse_time_reference("how does the pasta video end?", 600).text == "how does "


def test_point_beyond_duration_is_kept():
    ref = parse_time_reference("at 25:00", duration=60)
    assert (ref.start, ref.end) == (1500, 1500)


def test_first_n_ignores_duration():
    ref = parse_time_reference("the first 5 minutes", duration=1000)
    assert (ref.start, ref.end) == (0, 300)


@pytest.mark.parametrize(
    "question,text",
    [
        ("what was said at 25:00?", "at 25:00"),
        ("around the 3 minute mark, who spoke?", "around the 3 minute mark"),
        ("at 3:20 in the video", "at 3:20"),
        ("第25分钟提到了什么", "第25分钟"),
        ("请总结1小时到1小时10分之间发生了什么", "1小时到1小时10分之间"),
        ("in the first five minutes, what happens?", "in the first five minutes"),
    ],
)
def test_text_is_the_matched_substring(question, text):
    assert parse_time_reference(question).text == text


def test_earliest_reference_wins():
    ref = parse_time_reference("at 25:00 and then at 30:00")
    assert (ref.start, ref.text) == (1500, "at 25:00")


def test_timeref_is_frozen_and_validated():
    ref = TimeRef(1.0, 2.0, "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.start = 3.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="start <= end"):
        TimeRef(5.0, 1.0, "x")
    with pytest.raises(ValueError):
        TimeRef(-1.0, 1.0, "x")


@pytest.mark.parametrize(
    "token,value",
    [
        ("25", 25),
        ("2.5", 2.5),
        ("five", 5),
        ("twenty-five", 25),
        ("sixty", 60),
        ("a", 1),
        ("eighteen", 18),
        ("banana", None),
        ("twenty-twelve", None),
    ],
)
def test_parse_en_number(token, value):
    assert parse_en_number(token) == value


@pytest.mark.parametrize(
    "token,value",
    [
        ("二十五", 25),
        ("十二", 12),
        ("十", 10),
        ("两", 2),
        ("一百零五", 105),
        ("一百二十", 120),
        ("三十", 30),
        ("二〇", 20),
        ("25", 25),
        ("分", None),
        ("", None),
    ],
)
def test_parse_zh_number(token, value):
    assert parse_zh_number(token) == value


SHIFTS = [
    ("two minutes later", 120),
    ("what about 30 seconds before?", -30),
    ("30 seconds earlier", -30),
    ("5 minutes ago", -300),
    ("an hour later", 3600),
    ("skip ahead 30 seconds", 30),
    ("go back 10 seconds", -10),
    ("一分钟之后", 60),
    ("一分钟后", 60),
    ("10秒前", -10),
    ("两分钟以前说了什么", -120),
]


@pytest.mark.parametrize("text,seconds", SHIFTS)
def test_relative_shift(text, seconds):
    assert relative_shift(text) == seconds


@pytest.mark.parametrize(
    "text,side",
    [
        ("just before that", "before"),
        ("what happened right before?", "before"),
        ("那之前呢", "before"),
        ("right after that", "after"),
        ("just after", "after"),
        ("稍后呢", "after"),
        ("two minutes later", None),  # an amount: relative_shift's
        ("what is this video about?", None),
    ],
)
def test_next_to_names_a_side_without_an_amount(text, side):
    assert next_to(text) == side
    if side is not None:
        assert relative_shift(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "what is this video about?",
        "at 25:00",
        "25 minutes in",
        "2 minutes after the start",
        "前五分钟",
        "the first 2 minutes",
        "",
    ],
)
def test_relative_shift_none(text):
    assert relative_shift(text) is None


def test_find_time_references_lists_every_moment_in_an_answer():
    from qa.timeparse import find_time_references

    text = "在25分30秒提到了它，1小时到1小时10分之间讨论了细节；讲了5分钟。At 3:00 she stops."
    found = [(text[s:e], lo, hi) for s, e, lo, hi in find_time_references(text)]
    assert found == [
        ("在25分30秒", 1530, 1530),
        ("1小时到1小时10分之间", 3600, 4200),
        ("At 3:00", 180, 180),
    ]
    assert find_time_references("the last 2 minutes") == []  # needs the video's length


def test_the_first_or_last_thing_said():
    from qa.timeparse import first_or_last

    assert first_or_last("what was the last thing she said?") == "last"
    assert first_or_last("what were his opening words?") == "first"
    assert first_or_last("最后一句话是什么？") == "last"
    assert first_or_last("第一句话说了什么") == "first"
    assert first_or_last("what is the last slide?") is None
    assert first_or_last("how does it end?") is None

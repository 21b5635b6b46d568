"""Chinese on screen: a generated slide lecture whose slides are in Chinese (drawn with a CJK
font), with Chinese subtitles, ingested without a VLM. OCR reads the slides at the times
they are shown, chapters are titled by them as written (no spaces between Chinese
characters), `vidqa search` finds a word that is only on screen at its slide, and a time question about
the screen (in Chinese or English) quotes the slide shown then."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from media import (
    Topic,
    find_font,
    heard_characters,
    ingest_without_vlm,
    load_timeline,
    make_topic_lecture,
)
from typer.testing import CliRunner

from ingest.ocr import similar

pytestmark = pytest.mark.skipif(
    shutil.which("ffmpeg") is None or find_font(cjk=True) is None,
    reason="needs ffmpeg and a font with Chinese glyphs (apt-get install fonts-wqy-zenhei)",
)

SAMPLE_SLACK_S = 2.5  # s: on-screen text is read on the 2 s sample grid
CUE_SLACK_S = 4.5  # s: a chapter starts at the first sentence under its slide (+ sampling)
CJK_GAP = re.compile(r"[\u4e00-\u9fff][ \t]+[\u4e00-\u9fff]")  # a space inside a line of Chinese

# The bodies are never said: what is found by them was read off the screen.
TOPICS = (
    Topic(
        "第一章 光合作用",
        "叶绿体与气孔",
        (
            "绿色植物利用阳光制造养分。",
            "这个过程需要水和二氧化碳。",
            "植物把它们变成葡萄糖，同时放出氧气。",
            "地球上大部分生物的能量都来自这里。",
        ),
    ),
    Topic(
        "第二章 Python 列表",
        "切片与推导式",
        (
            "列表可以按顺序保存一组数据。",
            "我们用下标读取其中的每一个元素。",
            "列表的长度可以随时改变。",
            "往末尾追加元素是最常见的操作。",
        ),
    ),
    Topic(
        "第三章 火山喷发",
        "地壳下的熔岩",
        (
            "地下深处的岩石熔化成岩浆。",
            "岩浆里溶解的气体越积越多。",
            "压力足够大的时候，火山就会喷发。",
            "火山灰可以飘到很远的地方。",
        ),
    ),
)


def vidqa(*args: str):
    from ui.cli import app

    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def slides(tmp_path_factory):
    """(home, timeline, chapters, on-screen spans) of the lecture, ingested once."""
    media = make_topic_lecture(tmp_path_factory.mktemp("zh-slides"), TOPICS, stem="幻灯片")
    home = tmp_path_factory.mktemp("zh-slides-home")
    chapters, on_screen = ingest_without_vlm(media, home)
    return home, load_timeline(media), chapters, on_screen


def _shown(timeline: list[dict], i: int) -> tuple[float, float]:
    """When slide i is on screen (the first from 0 s)."""
    return (timeline[i]["start"] if i else 0.0), timeline[i]["end"]


@pytest.mark.parametrize("i", range(len(TOPICS)))
def test_each_slide_is_read_while_it_is_shown(slides, i):
    _, timeline, _, on_screen = slides
    topic, (shown, gone) = TOPICS[i], _shown(timeline, i)
    written = topic.title + topic.body
    reads = [s for s in on_screen if heard_characters(s.text, written) >= 0.8]
    assert reads, (written, [s.text for s in on_screen])
    for span in reads:  # read only while shown, from the first sample after it appears
        assert shown - 0.1 <= span.start <= gone and span.end <= gone + SAMPLE_SLACK_S, span
    assert min(s.start for s in reads) <= shown + SAMPLE_SLACK_S
    assert not any(CJK_GAP.search(s.text) for s in reads), [s.text for s in reads]


def test_chapters_are_titled_by_their_slides_as_written(slides):
    _, timeline, chapters, _ = slides
    assert len(chapters) == len(TOPICS), [c.extra["title"] for c in chapters]
    for i, (chapter, topic) in enumerate(zip(chapters, TOPICS, strict=True)):
        title = chapter.extra["title"]
        assert similar(title, topic.title), (title, topic.title)
        assert not CJK_GAP.search(title), title
        assert abs(chapter.start - _shown(timeline, i)[0]) <= CUE_SLACK_S, (chapter, timeline[i])


def test_a_word_only_on_screen_is_found_at_its_slide(slides, monkeypatch):
    home, timeline, _, _ = slides
    monkeypatch.setenv("VIDQA_HOME", str(home))
    hits = vidqa("search", "推导式", "--json")  # on slide 2, never said
    assert hits and hits[0]["kind"] == "ocr" and "推导式" in hits[0]["text"], hits[:2]
    shown, gone = _shown(timeline, 1)
    assert abs(hits[0]["start"] - shown) <= SAMPLE_SLACK_S
    assert abs(hits[0]["end"] - gone) <= SAMPLE_SLACK_S


@pytest.mark.parametrize(
    "question, label",
    [
        ("第{t}秒屏幕上显示了什么？", "屏幕上：“"),
        ("what was on the slide at 0:{t:02d}?", "on screen: “"),
    ],
    ids=["zh", "en"],
)
def test_a_time_question_about_the_screen_quotes_the_slide(slides, monkeypatch, question, label):
    home, timeline, _, _ = slides
    monkeypatch.setenv("VIDQA_HOME", str(home))
    shown, gone = _shown(timeline, 2)
    moment = round((shown + gone) / 2)
    answer = vidqa("ask", question.format(t=moment), "--json")
    assert answer["status"] == "answered", answer
    assert label in answer["answer"], answer["answer"]
    read = [c for c in answer["citations"] if c["kind"] == "ocr"]
    assert read and all(c["start"] <= moment <= c["end"] for c in read), answer["citations"]
    assert heard_characters(read[0]["text"], TOPICS[2].title + TOPICS[2].body) >= 0.8, read

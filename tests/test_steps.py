"""How-to questions: when search finds the sentence that announces a procedure ("in this
video I will show you how to fix a flat tyre"), the answer goes on with what follows it,
each step cited at its own time (qa/steps.py), through `vidqa ask` on a subtitled tutorial.
And "what did he say after the tyre levers?": the moment named, then what was said next.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from media import srt_text
from typer.testing import CliRunner

from qa.steps import announces, asked_around, asks_how_to
from ui.cli import app
from vidqa.timefmt import fmt_range

runner = CliRunner()
TUTORIAL = [  # (start s, end s, text)
    (0, 8, "Hi everyone, in this video I will show you how to fix a flat tyre on a road bike."),
    (9, 16, "First, shift to the smallest cog and open the brake."),
    (17, 24, "Open the quick release lever and pull the wheel out of the frame."),
    (25, 32, "Use two tyre levers to lift one side of the tyre off the rim."),
    (33, 40, "Pull out the old inner tube and check the tyre for thorns."),
    (41, 48, "Put a little air in the new tube and tuck it under the tyre."),
    (49, 56, "Push the tyre bead back onto the rim with your thumbs."),
    (57, 64, "Pump it up to the pressure printed on the sidewall."),
    (65, 72, "Refit the wheel and close the brake before you ride."),
    (73, 80, "Next, let me show you how to adjust the rear derailleur."),
    (81, 88, "Turn the barrel adjuster a quarter turn at a time."),
    (89, 96, "Shift through every gear and listen for a clicking chain."),
    (97, 104, "If the chain rubs, turn the limit screw slightly."),
    (105, 112, "That is all for today, thanks for watching."),
]
CUES = {(float(a), float(b)) for a, b, _ in TUTORIAL}


def _bike_library(home: Path):
    """A library in `home` holding the tutorial, from its subtitles (no media file)."""
    from index.library import Library
    from ingest.pipeline import ingest_transcript
    from vidqa.settings import settings

    home.mkdir(parents=True, exist_ok=True)
    subtitles = home / "bike.srt"
    subtitles.write_text(srt_text(TUTORIAL), encoding="utf-8")
    library = Library(replace(settings(), home=home))
    ingest_transcript(
        subtitles, video_id="bike-0000", title="bike_repair", duration=113.0, library=library
    )
    return library


@pytest.fixture(scope="module")
def bike_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("bike-home")
    _bike_library(home).close()
    return home


def _ask(home: Path, question: str, monkeypatch) -> dict:
    monkeypatch.setenv("VIDQA_HOME", str(home))
    result = runner.invoke(app, ["ask", question, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _line(n: int, cue) -> str:
    return f"[{n}] {fmt_range(cue[0], cue[1])} “{cue[2]}”"


def test_a_how_to_question_gets_the_steps_that_follow_the_announcement(bike_home, monkeypatch):
    got = _ask(bike_home, "how do I fix a flat tyre?", monkeypatch)
    first, heading, *steps = got["answer"].splitlines()
    assert first == f"In “bike_repair” at 0:00–0:08: “{TUTORIAL[0][2]}” [1]"
    assert heading == "What it says next:"
    # the eight sentences said next, in order, each at its own time; five more are counted
    assert steps == [
        *(_line(n, cue) for n, cue in enumerate(TUTORIAL[1:9], 2)),
        "(… and 5 more sentences)",
    ]
    cited = [(c["start"], c["end"]) for c in got["citations"]]
    assert cited == [(float(a), float(b)) for a, b, _ in TUTORIAL[:9]]
    assert set(cited) <= CUES  # every step is a passage of the index, none invented


def test_an_announcement_mid_video_is_followed_to_its_own_steps(bike_home, monkeypatch):
    got = _ask(bike_home, "how do I adjust the rear derailleur?", monkeypatch)
    first, heading, *steps = got["answer"].splitlines()
    assert first == f"In “bike_repair” at 1:13–1:20: “{TUTORIAL[9][2]}” [1]"
    assert heading == "What it says next:"
    assert steps == [_line(n, cue) for n, cue in enumerate(TUTORIAL[10:], 2)]


def test_a_how_to_question_answered_by_one_step_lists_no_steps(bike_home, monkeypatch):
    got = _ask(bike_home, "how do I get the tyre off the rim?", monkeypatch)
    assert got["answer"].splitlines()[0] == f"In “bike_repair” at 0:25–0:32: “{TUTORIAL[3][2]}” [1]"
    assert "What it says next:" not in got["answer"]
    # a question that is not a how-to, matched by the announcement, quotes it alone
    got = _ask(bike_home, "is there anything about a flat tyre on a road bike?", monkeypatch)
    assert "What it says next:" not in got["answer"]


def test_an_announcement_that_opens_a_chaptered_video_is_followed_by_its_chapters(
    tmp_path, monkeypatch
):
    from index.records import Chapter, VideoSummary
    from ingest.chapters import chapter_spans

    home = tmp_path / "home"
    library = _bike_library(home)
    try:
        chapters = [  # as a VLM would write them
            Chapter(
                0.0, 24.0, "Getting the wheel out", "Shift down, open the brake and the lever."
            ),
            Chapter(24.0, 73.0, "Changing the tube", "Lever the tyre off, swap the tube, pump."),
            Chapter(73.0, 113.0, "Adjusting the derailleur", "Barrel adjuster and limit screw."),
        ]
        summary = VideoSummary(chapters, "Fixing a flat and tuning gears.", "", "vlm:test", [])
        library.set_summary("bike-0000", summary, chapter_spans(summary, "bike-0000"))
    finally:
        library.close()
    got = _ask(home, "how do I fix a flat tyre?", monkeypatch)
    assert got["answer"].splitlines() == [
        f"In “bike_repair” at 0:00–0:08: “{TUTORIAL[0][2]}” [1]",
        "The video's chapters:",
        "[2] 0:00–0:24 Getting the wheel out — Shift down, open the brake and the lever.",
        "[3] 0:24–1:13 Changing the tube — Lever the tyre off, swap the tube, pump.",
        "[4] 1:13–1:53 Adjusting the derailleur — Barrel adjuster and limit screw.",
    ]
    # the steps with no procedure named are the video's own: its chapters ("list the steps"
    # quoted the one sentence search found)
    for asked in ("list the steps", "what are the steps?", "有哪些步骤？"):
        lines = _ask(home, asked, monkeypatch)["answer"].splitlines()
        assert lines[0] in (
            "“bike_repair” (1:53), from its chapters:",
            "“bike_repair”（1:53），摘自章节：",
        ), lines
        assert len(lines) == 4 and lines[1].startswith("[1] 0:00–0:24 Getting the wheel out")


def test_how_to_questions_and_announcements_are_told_apart():
    assert all(
        asks_how_to(q)
        for q in (
            "How do I fix a flat?",
            "how to bake bread",
            "what are the steps?",
            "walk me through the setup",
            "怎么补胎？",
            "安装步骤是什么？",
        )
    )
    assert not any(
        asks_how_to(q)
        for q in ("how long does the dough rest?", "how many eggs?", "what did Tom suggest?")
    )
    assert all(
        announces(t)
        for t in (
            "Today I'll show you how to bake bread.",
            "In this lesson we cover loops.",
            "Let me show you the settings page.",
            "今天教大家怎么补胎。",
        )
    )
    assert not any(
        announces(t)
        for t in ("Bake it for twenty minutes.", "The crust is going to be dark.", "把轮胎撬下来。")
    )


def test_what_was_said_after_a_moment_the_question_names(bike_home, monkeypatch):
    """It was answered with the moment itself ("Use two tyre levers ..."), not what came after."""
    got = _ask(bike_home, "what did he say after the tyre levers?", monkeypatch)
    first, heading, *after = got["answer"].splitlines()
    assert first == f"In “bike_repair” at 0:25–0:32: “{TUTORIAL[3][2]}” [1]"
    assert heading == "What was said next:"
    # the five sentences said next, then a count of the rest said within a minute of it
    assert after == [
        *(_line(n, cue) for n, cue in enumerate(TUTORIAL[4:9], 2)),
        "(… and 2 more sentences)",
    ]
    assert [(c["start"], c["end"]) for c in got["citations"]] == [
        (float(a), float(b)) for a, b, _ in TUTORIAL[3:9]
    ]


def test_what_was_said_just_before_a_moment(bike_home, monkeypatch):
    got = _ask(bike_home, "what was said right before the derailleur?", monkeypatch)
    first, heading, *before = got["answer"].splitlines()
    assert first == f"In “bike_repair” at 1:13–1:20: “{TUTORIAL[9][2]}” [1]"
    assert heading == "What was said just before:"
    assert before == [
        *(_line(n, cue) for n, cue in enumerate(TUTORIAL[4:9], 2)),
        "(… and 2 earlier sentences)",
    ]


def test_a_vlm_reads_the_moment_and_what_was_said_next_in_time_order(
    bike_home, monkeypatch, fake_vlm
):
    """The model gets the moment found and the sentences after it, in time order, and none
    of the other places the moment's words match; its citations are checked against them."""
    fake_vlm.enqueue("He pulls out the old tube and checks for thorns [2].")
    monkeypatch.setenv("VIDQA_HOME", str(bike_home))
    result = runner.invoke(
        app, ["ask", "what did he say after the tyre levers?", "--json", "--vlm", "x"]
    )
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    prompt = fake_vlm.prompt_text()
    said = [cue[2] for cue in TUTORIAL]
    shown = [text for text in said if text in prompt]
    assert shown == said[3:9]  # the moment, then the five sentences said next, in order
    assert [(c["start"], c["end"]) for c in got["citations"]] == [(33.0, 40.0)]


def test_after_a_moment_the_videos_never_mention_is_not_found(bike_home, monkeypatch):
    got = _ask(bike_home, "what happened after the pizza delivery?", monkeypatch)
    assert got["status"] == "not_found", got["answer"]
    assert got["citations"] == []


def test_in_a_chat_a_named_moment_wins_over_the_last_one(bike_home, monkeypatch):
    """ "Right after" in a chat meant the last answer's moment, even with a moment named."""
    from index.library import Library
    from qa.chat import Conversation

    monkeypatch.setenv("VIDQA_HOME", str(bike_home))
    library = Library()
    try:
        chat = Conversation(backend="none")
        assert chat.ask("what was said at 1:40?", library).answer.citations[0].start > 80
        named = chat.ask("what did he say right after the tyre levers?", library).answer
        assert [c.start for c in named.citations[:2]] == [25.0, 33.0], named.text
        later = chat.ask("and right after that?", library).answer  # the last moment again
        assert later.citations and all(c.start >= 32.0 for c in later.citations), later.text
    finally:
        library.close()


def test_questions_about_what_came_after_a_moment_are_told_apart():
    assert asked_around("What did she say after the demo?") == ("after", "the demo", False)
    assert asked_around("what happened right before the break") == ("before", "the break", False)
    assert asked_around("what follows the recap?") == ("after", "the recap", False)
    assert asked_around("讲完预算之后讲了什么？") == ("after", "预算", False)
    assert asked_around("休息之前他们在讨论什么") == ("before", "休息", False)
    assert asked_around("what is on the slide after the budget?") == ("after", "the budget", True)
    assert asked_around("which slide comes before glaciers") == ("before", "glaciers", True)
    for other in (
        "what happened after that?",  # a chat follow-up: the last moment
        "what did they decide about the budget?",
        "how do I fix a flat tyre?",
        "is the release after Thursday?",
        "那之前呢？",
        "两分钟之前说了什么",
        "what happened 2 minutes after that?",
    ):
        assert asked_around(other) is None, other

"""Chat: follow-ups resolved against the last cited moment, sessions that persist and
resume, and `vidqa chat` end to end on the generated lecture (transcript from its .srt)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from typer.testing import CliRunner

from index.library import Library
from ingest.pipeline import ingest_transcript
from qa.answer import ask
from qa.chat import Session, Turn, load_session, resolve_followup, save_session, session_path
from qa.timeparse import NEXT_TO_S
from ui.cli import app
from vidqa.errors import VideoNotFound, VidqaError
from vidqa.settings import settings

runner = CliRunner()


def turn_at(video_id: str, t: float, question: str = "what was said at 0:40?") -> Turn:
    return Turn(question, {"answer": "…", "mode": "extractive", "citations": []}, video_id, [t, t])


@pytest.mark.parametrize(
    "message, expected",
    [
        ("and two minutes later?", 40 + 120),
        ("what about 30 seconds before that?", 40 - 30),
        ("10秒后呢？", 40 + 10),
        ("两分钟之前说了什么", 0.0),  # clamped at the start of the video
    ],
)
def test_relative_times_move_from_the_last_moment(lecture_library, message, expected):
    video = lecture_library.video
    session = Session("rel", turns=[turn_at(video.id, 40.0)])
    follow = resolve_followup(message, session, lecture_library.library)
    assert follow.video == video and follow.question == message
    assert (follow.time.start, follow.time.end) == (expected, expected)
    assert follow.kinds == ("transcript",)


@pytest.mark.parametrize(
    "message, side",
    [
        ("and just before that?", "before"),
        ("what was said right before that?", "before"),
        ("那之前呢？", "before"),
        ("and right after that?", "after"),
        ("紧接着说了什么？", "after"),
    ],
)
def test_just_before_or_after_is_the_stretch_next_to_the_last_moment(
    lecture_library, message, side
):
    video = lecture_library.video
    session = Session(
        "next", turns=[Turn("q", {"answer": "…", "citations": []}, video.id, [40, 46])]
    )
    follow = resolve_followup(message, session, lecture_library.library)
    assert follow.video == video
    if side == "before":  # up to the moment, never the moment itself
        assert follow.time.start == 40 - NEXT_TO_S and 39.9 <= follow.time.end < 40
    else:
        assert 46 < follow.time.start <= 46.1 and follow.time.end == 46 + NEXT_TO_S


def test_then_and_on_screen_reuse_the_last_moment(lecture_library):
    video = lecture_library.video
    cited = {
        "answer": "…",
        "mode": "vlm",
        "citations": [
            {
                "video_id": video.id,
                "title": "lecture",
                "path": None,
                "start": 30.4,
                "end": 44.29,
                "text": "Jazz musicians …",
            }
        ],
    }
    session = Session("then", turns=[Turn("where is jazz mentioned?", cited)])  # no time asked
    said = resolve_followup("what did she say then?", session, lecture_library.library)
    assert (said.video, said.time.start, said.time.end) == (video, 30.4, 44.29)
    assert said.kinds == ("transcript",)
    shown = resolve_followup("what was on screen then?", session, lecture_library.library)
    assert (shown.time.start, shown.time.end) == (30.4, 44.29)
    assert {"ocr", "frame"} <= set(shown.kinds)
    # A new explicit time is not a follow-up; a message with no anchor is a new question.
    fresh = resolve_followup("what was said at 0:10?", session, lecture_library.library)
    assert fresh.time is None and fresh.question == "what was said at 0:10?"
    assert (
        resolve_followup("who stormed the Bastille?", session, lecture_library.library).time is None
    )
    # With no history there is nothing to be relative to.
    assert (
        resolve_followup("and 10 seconds later?", Session("empty"), lecture_library.library).time
        is None
    )


@pytest.fixture(scope="module")
def talks(lecture_with_srt, tmp_path_factory):
    """A library of its own holding the lecture's transcript twice, as talk-a and talk-b."""
    library = Library(replace(settings(), home=tmp_path_factory.mktemp("talks-home")))
    srt = lecture_with_srt.with_suffix(".srt")
    for name in ("talk-a", "talk-b"):
        ingest_transcript(srt, video_id=f"{name}-0000", title=name, duration=57.9, library=library)
    return library


def test_that_video_and_the_other_video(talks):
    a, b = talks.find_video("talk-a"), talks.find_video("talk-b")
    session = Session("two", turns=[turn_at(b.id, 20.0, "what was said at 0:20?")])
    scoped = resolve_followup("in that video, where is jazz mentioned?", session, talks)
    assert scoped.video == b and scoped.time is None
    other = resolve_followup("and in the other video?", session, talks)
    assert other.video == a and other.question == "what was said at 0:20?"
    answer = ask(other.question, library=talks, video=other.video.id, vlm="none")
    assert answer.citations and {c.video_id for c in answer.citations} == {a.id}
    assert any(c.start <= 20 <= c.end for c in answer.citations)


def test_how_does_it_end_is_asked_of_the_video_just_cited(talks):
    """ "And how does it end?" after a moment in talk-b is talk-b's end, not the end of each
    video; a clock time stays a question of the whole scope."""
    b = talks.find_video("talk-b")
    session = Session("edge", turns=[turn_at(b.id, 20.0, "what was said at 0:20?")])
    end = resolve_followup("and how does it end?", session, talks)
    assert end.video == b
    answer = ask(end.question, library=talks, video=end.video.id, vlm="none")
    assert {c.video_id for c in answer.citations} == {b.id}
    assert all(c.end > 57.9 - 20 for c in answer.citations), answer.citations
    assert resolve_followup("what was said at 0:30?", session, talks).video is None


def test_a_time_asked_of_each_video_moves_in_each_video(talks):
    """ "what was said at 0:20?" with no video is answered in each; "and 10 seconds later?"
    is 0:30 in each again, not 0:30-and-a-bit in the first one cited."""
    from qa.chat import Conversation

    chat = Conversation(backend="none")
    first = chat.ask("what was said at 0:20?", talks).answer
    assert first.status == "per_video" and chat.turns[-1].time == [20.0, 20.0]
    later = chat.ask("and 10 seconds later?", talks).answer
    assert later.status == "per_video", later.answer
    assert {c.video_id for c in later.citations} == {"talk-a-0000", "talk-b-0000"}
    for video in ("talk-a-0000", "talk-b-0000"):
        assert any(c.start <= 30 <= c.end for c in later.citations if c.video_id == video)
    shown = chat.ask("what was on screen then?", talks).answer  # still 0:30, in each
    assert shown.status == "per_video" and "0:30" in shown.answer.splitlines()[0]
    # a topical answer cites one moment: a follow-up moves from it, in its video
    _ = chat.ask("where is jazz mentioned?", talks).answer  # the turn is kept when done
    after = resolve_followup("and 10 seconds later?", chat.session, talks)
    assert after.video is not None and after.time is not None


def test_the_other_video_is_ambiguous_among_three(talks, lecture_with_srt):
    ingest_transcript(
        lecture_with_srt.with_suffix(".srt"),
        video_id="talk-c-0000",
        title="talk-c",
        duration=57.9,
        library=talks,
    )
    try:
        session = Session("three", turns=[turn_at("talk-a-0000", 20.0)])
        with pytest.raises(VideoNotFound, match="ambiguous: 2 other videos"):
            resolve_followup("what about the other video?", session, talks)
    finally:
        talks.remove("talk-c-0000")


def test_sessions_persist_resume_and_reject_corrupt_files(lecture_library):
    session = Session(
        "keep-me",
        video_id=lecture_library.video.id,
        turns=[turn_at(lecture_library.video.id, 12.5)],
    )
    path = save_session(session)
    assert path == session_path("keep-me") and path.parent.name == "sessions"
    again = load_session("keep-me")
    assert again == session and again.last_moment == (lecture_library.video.id, 12.5, 12.5)
    assert load_session("never-saved", "vid") == Session("never-saved", "vid")
    path.write_text('{"turns": [{"question": "q"', encoding="utf-8")
    with pytest.raises(VidqaError, match="not a vidqa chat session"):
        load_session("keep-me")
    path.write_text('{"turns": [{"asked": "q"}]}', encoding="utf-8")
    with pytest.raises(VidqaError, match="not a vidqa chat session"):
        load_session("keep-me")
    with pytest.raises(VidqaError, match="session name"):
        session_path("../escape")


def _chat(home, monkeypatch, text: str, code: int = 0):
    monkeypatch.setenv("VIDQA_HOME", str(home))
    result = runner.invoke(
        app, ["chat", "--session", "s1", "--vlm", "none"], input=text, catch_exceptions=False
    )
    assert result.exit_code == code, result.output
    return result


def test_cli_chat_follows_up_and_resumes(lecture_library, monkeypatch):
    _, t = lecture_library.sentence_at(2)
    first = _chat(
        lecture_library.home,
        monkeypatch,
        f"what was said at {t // 60}:{t % 60:02d}?\nand 10 seconds later?\n",
    )
    assert "session 's1' (0 earlier turns)" in first.stderr
    answers = first.stdout.split("At ")[1:]
    assert len(answers) == 2 and answers[1].startswith(
        f"{(t + 10) // 60}:{(t + 10) % 60:02d} in “lecture”"
    )
    data = json.loads(session_path("s1").read_text(encoding="utf-8"))
    asked = [turn["time"] for turn in data["turns"]]
    assert asked == [[t, t], [t + 10, t + 10]]
    for turn, at in zip(data["turns"], (t, t + 10), strict=True):
        assert any(c["start"] <= at <= c["end"] for c in turn["answer"]["citations"])
        assert turn["video_id"] == lecture_library.video.id
    clip_lines = [line for line in first.stdout.splitlines() if "(vidqa clip " in line]
    assert len(clip_lines) >= 2 and all("lecture.mp4" in line for line in clip_lines)

    second = _chat(lecture_library.home, monkeypatch, "what was on screen then?\n")
    assert "session 's1' (2 earlier turns)" in second.stderr
    data = json.loads(session_path("s1").read_text(encoding="utf-8"))
    assert len(data["turns"]) == 3 and data["turns"][2]["time"] == [t + 10, t + 10]
    moment = t + 10
    slides = lecture_library.library.spans_between(
        lecture_library.video.id, moment - 5, moment + 5, ("ocr",)
    )
    assert slides or not lecture_library.library.spans(lecture_library.video.id, ("ocr",))
    showing = [s for s in slides if s.start <= moment <= s.end] or sorted(
        slides, key=lambda s: max(s.start - moment, moment - s.end)
    )[:1]
    # when ingest read the slides, the answer shows the one on screen then, not its neighbours
    for slide in slides:
        quoted = f"on screen: “{slide.text.strip()}”" in second.stdout
        assert quoted == (slide in showing), (slide, second.stdout)
    assert "“”" not in second.stdout


def test_cli_chat_right_before_that_quotes_what_was_said_just_before(lecture_library, monkeypatch):
    """ "What was said right before that?" after an answer: the sentence said just before
    the cited one, not the cited one again and not one from half a minute earlier."""
    from media import LECTURE

    monkeypatch.setenv("VIDQA_HOME", str(lecture_library.home))
    result = runner.invoke(
        app,
        ["chat", "--session", "next-to", "--vlm", "none"],
        input="where does the speaker talk about jazz musicians?\n"
        "what was said right before that?\n",
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    turns = json.loads(session_path("next-to").read_text(encoding="utf-8"))["turns"]
    jazz, volcanoes = LECTURE[4][1], LECTURE[3][1]
    assert turns[0]["answer"]["citations"][0]["text"] == jazz
    before = " ".join(c["text"] for c in turns[1]["answer"]["citations"])
    assert before.endswith(volcanoes) and jazz not in before
    assert LECTURE[1][1] not in before  # two sentences back: not "right before"
    assert turns[1]["time"][1] < turns[0]["answer"]["citations"][0]["start"]

"""Chat sessions: history, the last cited moment, and follow-ups resolved against it.

"what about two minutes later?"  -> the last moment + 120 s
"and just before that?"          -> the last moment - 30 s
"what was on screen then?"       -> the last moment, on-screen text and frames
"in the other video?"            -> the previous question, asked of the other video
"in that video, ..."             -> scoped to the last cited video

Sessions are JSON files under $VIDQA_HOME/sessions/<name>.json, resumable by name.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from index.library import Library
from index.records import Video
from qa.timeparse import TimeRef, parse_time_reference, relative_shift
from vidqa.errors import VideoNotFound, VidqaError
from vidqa.settings import settings

THEN = re.compile(r"\b(then|at that (point|moment|time)|there)\b|那时|那个时候|当时|这时|那里", re.I)
ON_SCREEN = re.compile(r"on (the )?screen|shown|showing|slide|displayed|visible|屏幕|画面|幻灯片|显示",
                       re.I)
OTHER_VIDEO = re.compile(r"\b(the )?other (video|one|talk|lecture)\b|另一个视频|另外一个视频|另一个", re.I)
THAT_VIDEO = re.compile(r"\b(that|this|the same) (video|talk|lecture)\b|那个视频|这个视频|该视频", re.I)
SCREEN_KINDS = ("ocr", "frame", "transcript")
NAME = re.compile(r"^[\w.-]{1,64}$")


@dataclass
class Turn:
    question: str
    answer: dict  # Answer.to_json()
    video_id: str | None = None
    time: list[float] | None = None  # [start, end] the question was resolved to


@dataclass
class Session:
    name: str
    video_id: str | None = None  # the chat's scope (--video), None for the library
    turns: list[Turn] = field(default_factory=list)

    @property
    def last_moment(self) -> tuple[str, float, float] | None:
        """(video id, start, end) of the most recent cited or asked moment."""
        for turn in reversed(self.turns):
            if turn.time and turn.video_id:
                return turn.video_id, turn.time[0], turn.time[1]
            if turn.answer.get("citations"):
                c = turn.answer["citations"][0]
                return c["video_id"], c["start"], c["end"]
        return None


def session_path(name: str) -> Path:
    if not NAME.match(name):
        raise VidqaError(f"session name {name!r}: use letters, digits, '.', '_' or '-' (max 64)")
    return settings().sessions_dir / f"{name}.json"


def load_session(name: str, video_id: str | None = None) -> Session:
    path = session_path(name)
    if not path.exists():
        return Session(name, video_id)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        turns = [Turn(**t) for t in data.get("turns", [])]
    except (json.JSONDecodeError, TypeError) as e:
        raise VidqaError(f"{path}: not a vidqa chat session ({e})") from e
    return Session(name, video_id or data.get("video_id"), turns)


def save_session(session: Session) -> Path:
    path = session_path(session.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(session), ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)  # atomic: a crash never leaves half a session
    return path


@dataclass
class Followup:
    """A chat message resolved into what to retrieve."""

    question: str  # what to search for / ask the model
    video: Video | None
    time: TimeRef | None = None
    kinds: tuple[str, ...] = ("transcript",)


def _other_video(library: Library, current: str | None) -> Video:
    others = [v for v in library.videos() if v.id != current]
    if len(others) != 1:
        raise VideoNotFound(f"'the other video' is ambiguous: {len(others)} other videos in the "
                            "library; name it with --video or in the question")
    return others[0]


def resolve_followup(message: str, session: Session, library: Library) -> Followup:
    """Turn a chat message into a retrieval request, using the session's last moment."""
    scope = library.catalog.video(session.video_id) if session.video_id else None
    last = session.last_moment
    last_video = library.catalog.video(last[0]) if last else None
    video = last_video if (THAT_VIDEO.search(message) and last_video) else scope
    if OTHER_VIDEO.search(message):
        previous = session.turns[-1].question if session.turns else message
        return Followup(previous, _other_video(library, last[0] if last else None))
    if parse_time_reference(message, (video or last_video).duration if (video or last_video) else None):
        return Followup(message, video or scope)
    shift = relative_shift(message)
    if last and shift is not None:
        t = max(0.0, (last[1] if shift < 0 else last[2]) + shift)
        return Followup(message, last_video, TimeRef(t, t, ""), _kinds(message))
    if last and (THEN.search(message) or ON_SCREEN.search(message)):
        return Followup(message, last_video, TimeRef(last[1], last[2], ""), _kinds(message))
    return Followup(message, video)


def _kinds(message: str) -> tuple[str, ...]:
    return SCREEN_KINDS if ON_SCREEN.search(message) else ("transcript",)

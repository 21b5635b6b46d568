"""Chat sessions: history, the last cited moment, and follow-ups resolved against it.

"what about two minutes later?"  -> the last moment + 120 s (in each video again, when the
                                   last answer was a time asked of each)
"and just before that?"          -> the 10 s before the last moment
"what was on screen then?"       -> the last moment, on-screen text and frames
"in the other video?"            -> the previous question, asked of the other video
"in that video, ..."             -> scoped to the last cited video
"and the next slide?"            -> the slide after the one showing at the last moment

A Conversation holds the turns and asks through qa.answer.answer; `vidqa chat` keeps it
as a JSON file under $VIDQA_HOME/sessions/<name>.json, resumable by name, and the app keeps
one per browser session.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from index.library import Library
from index.records import Video
from qa import slides, steps
from qa.classify import ON_SCREEN, time_kinds
from qa.timeparse import NEXT_TO_S, TimeRef, next_to, parse_time_reference, relative_shift
from vidqa.errors import VideoNotFound, VidqaError
from vidqa.settings import settings

THEN = re.compile(
    r"\b(then|at that (point|moment|time)|there)\b|那时|那个时候|当时|这时|那里", re.I
)
OTHER_VIDEO = re.compile(
    r"\b(the )?other (video|one|talk|lecture)\b|另一个视频|另外一个视频|另一个", re.I
)
THAT_VIDEO = re.compile(
    r"\b(that|this|the same) (video|talk|lecture)\b|那个视频|这个视频|该视频", re.I
)
NAME = re.compile(r"^[\w.-]{1,64}$")
# "Just before that" ends this far before the cited start: a time lookup returns what
# overlaps its range, and the cited sentence itself begins exactly there.
EDGE_S = 0.05


@dataclass
class Turn:
    question: str
    answer: dict  # Answer.to_json()
    video_id: str | None = None  # None with a time: that time was answered in each video
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
    kinds: tuple[str, ...] | None = None  # what a time lookup returns; None: as the question says
    times: dict[str, TimeRef] | None = None  # per video id: a follow-up of a per-video answer


def _other_video(library: Library, current: str | None, among: tuple[str, ...] = ()) -> Video:
    candidates = [library.catalog.video(i) for i in among] if len(among) > 1 else library.videos()
    others = [v for v in candidates if v is not None and v.id != current]
    if len(others) != 1:
        raise VideoNotFound(
            f"'the other video' is ambiguous: {len(others)} other videos to "
            "choose from; name the video in the question"
        )
    return others[0]


def resolve_followup(
    message: str, session: Session, library: Library, scope: tuple[str, ...] = ()
) -> Followup:
    """Turn a chat message into a retrieval request, using the session's last moment.

    `scope`: the video ids the conversation is about (several: 'the other video' is one
    of them); a session's own video (`vidqa chat --video`) wins."""
    only = session.video_id or (scope[0] if len(scope) == 1 else None)
    scope_video = library.catalog.video(only) if only else None
    last = session.last_moment
    last_video = library.catalog.video(last[0]) if last else None
    video = last_video if (THAT_VIDEO.search(message) and last_video) else scope_video
    if OTHER_VIDEO.search(message):  # the last question again, of the other video
        previous = session.turns[-1] if session.turns else None
        asked = TimeRef(*previous.time, "") if previous and previous.time else None
        return Followup(
            previous.question if previous else message,
            _other_video(library, last[0] if last else None, scope),
            asked,
            time_kinds(previous.question) if previous else None,
        )
    previous = session.turns[-1] if session.turns else None
    each = _per_video_times(previous) if previous else None
    if each and not (only or THAT_VIDEO.search(message)) and slides.asks_neighbour(message):
        # "what is on slide 2?" answered in each video, then "and the next slide?": slide 3 of
        # each, when each video's moment was the same slide number (else the first cited's)
        videos = {vid: library.catalog.video(vid) for vid in each}
        asked = {
            slides.neighbour(message, library, videos[vid], (a + b) / 2)
            for vid, (a, b) in each.items()
            if videos[vid] is not None
        }
        if len(asked) == 1 and (rewritten := asked.pop()) is not None:
            return Followup(rewritten, None)
    if last_video and (asked := slides.neighbour(message, library, last_video, sum(last[1:]) / 2)):
        return Followup(asked, last_video)  # "and the next slide?" -> "and slide 4?"
    ref = parse_time_reference(
        message, (video or last_video).duration if (video or last_video) else None
    )
    if ref is not None:
        # "and how does it end?": "it" is the video just cited; a clock time ("at 0:30") is
        # asked of the scope, as in vidqa ask
        return Followup(message, video or (last_video if ref.edge else None))
    if steps.asked_around(message) is not None:
        # "what did she say right after the demo?" names its own moment: not the last one
        return Followup(message, video)
    if each and not (only or THAT_VIDEO.search(message)):
        # "at the end of each of the 2 videos", then "and 10 seconds before?": each video's
        # own moment moved, not the first one cited
        moved = {vid: ref for vid, (a, b) in each.items() if (ref := _moved(message, a, b))}
        if moved:
            return Followup(message, None, kinds=time_kinds(message), times=moved)
    if last and (ref := _moved(message, last[1], last[2])) is not None:
        return Followup(message, last_video, ref, time_kinds(message))
    return Followup(message, video)


def _moved(message: str, start: float, end: float) -> TimeRef | None:
    """The moment `start`-`end` as `message` moves it: "10 seconds later", "just before
    that", "what was on screen then?"; None when it does not refer to it."""
    shift = relative_shift(message)
    if shift is not None:
        t = max(0.0, (start if shift < 0 else end) + shift)
        return TimeRef(t, t, "")
    side = next_to(message)
    if side == "before":  # the stretch next to it, without the moment itself
        return TimeRef(max(0.0, start - NEXT_TO_S), max(0.0, start - EDGE_S), "")
    if side == "after":
        return TimeRef(end + EDGE_S, end + NEXT_TO_S, "")
    if THEN.search(message) or ON_SCREEN.search(message):
        return TimeRef(start, end, "")
    return None


def _per_video_times(turn: Turn) -> dict[str, tuple[float, float]] | None:
    """The moment answered in each video of an answer given in each of several videos (its
    choices carry them; a session saved before they did has the one time all shared)."""
    if turn.video_id is not None or turn.answer.get("status") != "per_video":
        return None
    choices = turn.answer.get("choices") or []
    times = {c["video_id"]: (c["start"], c["end"]) for c in choices if c.get("start") is not None}
    if not times and turn.time:
        times = {c["video_id"]: tuple(turn.time) for c in choices}
    return times or None


class Conversation:
    """Turns, and follow-ups resolved against them; asks through qa.answer.answer.

    `scope`: video ids (or titles) the questions are about, () for the library.
    `name`: keep the turns in $VIDQA_HOME/sessions/<name>.json (None: in memory only).
    """

    def __init__(
        self,
        *,
        scope: tuple[str, ...] = (),
        backend=None,
        k: int = 5,
        name: str | None = None,
        session: Session | None = None,
    ):
        self.scope = tuple(scope)
        self.backend = backend
        self.k = k
        self.name = name
        self.session = session or Session(
            name or "app", scope[0] if len(scope) == 1 and name else None
        )

    @classmethod
    def resume(
        cls, name: str, *, video_id: str | None = None, backend=None, k: int = 5
    ) -> Conversation:
        """The saved session `name` (a new one if there is none), scoped to `video_id` if given."""
        session = load_session(name, video_id)
        scope = (session.video_id,) if session.video_id else ()
        return cls(scope=scope, backend=backend, k=k, name=name, session=session)

    @property
    def turns(self) -> list[Turn]:
        return self.session.turns

    def ask(self, message: str, library: Library):
        """The answer to `message` read as a follow-up: a qa.citations.AnswerStream."""
        from qa.answer import answer

        return answer(
            message, library=library, scope=self.scope, backend=self.backend, history=self, k=self.k
        )

    def resolve(self, message: str, library: Library):
        """`message` -> a qa.answer.Request, using the last cited or asked moment."""
        from qa.answer import make_request

        ids = tuple(library.find_video(v).id for v in self.scope)
        follow = resolve_followup(message, self.session, library, ids)
        scope = (follow.video.id,) if follow.video else ids
        return make_request(
            follow.question,
            library,
            scope,
            k=self.k,
            time=follow.time,
            kinds=follow.kinds,
            times=follow.times,
        )

    def record(self, message: str, answer) -> None:
        """Keep the turn (and save the session when it has a name)."""
        ev = answer.evidence
        video = (
            ev.video.id if ev is not None and ev.video and answer.status != "per_video" else None
        )
        time = [ev.time.start, ev.time.end] if ev is not None and ev.time else None
        if video is None and answer.status != "per_video":
            time = None  # a time with no video means "in each video" (Turn.video_id)
        self.session.turns.append(Turn(message, answer.to_json(), video, time))
        if self.name:
            save_session(self.session)

    def clear(self) -> None:
        self.session.turns.clear()

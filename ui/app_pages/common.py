"""Pieces every page uses: the shared library reader, navigation, the player, citation chips,
the app's language."""

from __future__ import annotations

import mimetypes

import streamlit as st

from qa.clips import clip_name
from ui import app_logic as logic
from ui import i18n
from ui import render as views
from vidqa.errors import VidqaError
from vidqa.settings import settings
from vidqa.timefmt import fmt_ts

PAGES_KEY = "_vidqa_pages"  # session state: page name -> st.Page, set by app.py each run
LANG_KEY = "ui_lang"  # session state: the language switch's choice ("en" | "zh")


def lang() -> i18n.Lang:
    """The language the user chose with the switch, else their browser's."""
    chosen = st.session_state.get(LANG_KEY)
    return chosen if chosen in i18n.LANGS else i18n.browser_language(st.context.locale)


def t(key: str, **values) -> str:
    """The app's string `key` in the user's language."""
    return i18n.tr(lang(), key, **values)


def source_words(source: str | None) -> str:
    """What chapters were found from, in the user's language, safe as Markdown."""
    return logic.md_text(views.describe_source(source, lang()))


def count(n: int, noun: str) -> str:
    return i18n.count(lang(), n, noun)


def language_switch() -> None:
    """English / 中文 in the sidebar, starting from the browser's language."""
    st.session_state.setdefault(LANG_KEY, i18n.browser_language(st.context.locale))
    st.sidebar.segmented_control(
        t("language"),
        i18n.LANGS,
        key=LANG_KEY,
        format_func=i18n.LANG_NAMES.__getitem__,
        selection_mode="single",
        required=True,
    )


@st.cache_resource(show_spinner=False)
def _reader(home: str) -> logic.LibraryReader:
    return logic.LibraryReader(settings())


def reader() -> logic.LibraryReader:
    """The process-wide reader of the library at $VIDQA_HOME (one per home)."""
    return _reader(str(settings().home))


def videos() -> list:
    with reader().open() as library:
        return library.videos()


def video(video_id: str | None):
    """A ready video by id, or None: ids come from our own widgets, never a typed path."""
    if not video_id:
        return None
    with reader().open() as library:
        found = library.catalog.video(video_id)
    return found if found is not None and found.status == "ready" else None


def goto(name: str, **state) -> None:
    """Set session state, then switch to page `name` (a no-op where there is no navigation)."""
    st.session_state.update(state)
    page = st.session_state.get(PAGES_KEY, {}).get(name)  # absent when a page runs alone
    if page is not None:
        st.switch_page(page)


def request_play(
    slot: str,
    video_id: str,
    start: float,
    end: float | None = None,
    autoplay: bool = True,
    origin: str | None = None,
) -> None:
    """Ask the player in `slot` to show [start, end] of a video (a button's on_click);
    `origin` says where the click came from (the Ask page plays under that answer)."""
    nonce = st.session_state.get(slot, {}).get("nonce", 0) + 1
    st.session_state[slot] = {
        "video_id": video_id,
        "start": float(start),
        "end": None if end is None else float(end),
        "autoplay": autoplay,
        "nonce": nonce,
        "origin": origin,
        "scroll": True,  # once, on the run after the click: later reruns leave the page be
    }


def player(slot: str, fallback_video_id: str | None = None) -> dict | None:
    """The player for `slot`: the requested clip, else the start of `fallback_video_id`."""
    request = st.session_state.get(slot)
    if request is None or (fallback_video_id and request["video_id"] != fallback_video_id):
        if not fallback_video_id:
            return None
        request = {
            "video_id": fallback_video_id,
            "start": 0.0,
            "end": None,
            "autoplay": False,
            "nonce": 0,
        }
    target = video(request["video_id"])
    if target is None:
        st.info(t("gone"))
        return None
    try:
        playback = logic.playback_for(target, request["start"], request["end"])
    except (VidqaError, OSError, ValueError) as e:  # a failed cut is one line, not a traceback
        st.error(logic.md_text(t("cannot_play", title=target.title, error=e)))
        return None
    if playback is None:
        st.info(t("not_playable", title=logic.md_text(target.title)))
        return None
    scroll = bool(request.get("scroll"))
    if scroll:  # this run scrolls; the next one (any widget) must not pull the page back
        st.session_state[slot] = {**request, "scroll": False}
    _media(target, playback, request, f"{slot}-{request['nonce']}", scroll)
    return request


def _media(target, playback: logic.Playback, request: dict, key: str, scroll: bool = False) -> None:
    mime = mimetypes.guess_type(playback.path.name)[0] or "video/mp4"
    with st.container(key=f"player-{key}"):  # a new key per click remounts, so re-clicks re-seek
        if target.has_video:
            st.video(
                str(playback.path),
                format=mime if mime.startswith("video/") else "video/mp4",
                start_time=playback.start,
                end_time=playback.end,
                autoplay=request["autoplay"],
            )
        else:
            st.audio(
                str(playback.path),
                format=mime,
                start_time=playback.start,
                end_time=playback.end,
                autoplay=request["autoplay"],
            )
        if playback.seek is not None or scroll:  # exact start (st.video took whole seconds)
            st.html(
                logic.player_script(f"player-{key}", playback.seek, scroll),
                unsafe_allow_javascript=True,
            )
    if playback.offset:
        st.caption(t("playing_clip", when=fmt_ts(playback.offset)))


def chips(
    citations: list[dict],
    slot: str,
    key: str,
    origin: str | None = None,
    *,
    numbered: bool = False,
) -> None:
    """One button per citation ('Intro talk · 25:00–25:40'); a click plays it in `slot`.
    `numbered`: '[3] Intro talk · …', as the answer's text cites it (an overview has dozens)."""
    with st.container(horizontal=True, key=f"chips-{key}"):
        for n, c in enumerate(citations):
            st.button(
                (f"[{n + 1}] " if numbered else "") + logic.md_text(c["label"]),
                key=f"chip-{key}-{n}",
                icon=":material/play_circle:",
                help=logic.md_text(views.one_line(c["text"])[:300]),
                on_click=request_play,
                args=(slot, c["video_id"], c["start"], c["end"]),
                kwargs={"origin": origin},
            )


def download_clip(request: dict | None) -> None:
    """A button that cuts the playing clip (cached under $VIDQA_HOME/clips) and downloads it."""
    if not request or request.get("end") is None:
        return
    target = video(request["video_id"])
    if target is None or logic.servable_path(target) is None:
        return
    start, end = request["start"], request["end"]
    st.download_button(
        t("download_clip"),
        data=lambda: logic.cached_clip(target, start, end).read_bytes(),
        file_name=clip_name(target.title, start, end),
        mime="video/mp4",
        icon=":material/download:",
        on_click="ignore",
        key=f"download-{request['nonce']}",
    )

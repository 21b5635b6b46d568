"""Ask: a conversation (qa.chat.Conversation, as in `vidqa chat`) about one video, a selection
or the library; citations play as clips right where they were clicked."""

from __future__ import annotations

import streamlit as st

from ui import app_logic as logic
from ui import i18n
from ui import render as views
from ui.app_pages import common
from vidqa.errors import VidqaError

SLOT = "ask_play"  # this page's player request in session state
PENDING = "ask_pending"  # a question to ask again about one chosen video
SCOPES = ("Library", "One video", "Selection")  # values kept in English: other pages set them
SCOPE_KEYS = dict(zip(SCOPES, ("scope_library", "scope_one", "scope_selection"), strict=True))
PLAYER_KEY = "ask-player"
# The player sits under the answer whose citation was clicked; on a wide screen it is
# pinned beside the chat instead, so it stays in view however far up that answer is.
PINNED_PLAYER_CSS = f"""<style>
@media (min-width: 1100px) {{
  .stMainBlockContainer {{ padding-right: calc(min(36vw, 620px) + 3rem) !important; }}
  .st-key-{PLAYER_KEY} {{ position: fixed; top: 4.5rem; right: 1.5rem; width: min(36vw, 620px);
    z-index: 99; padding: 0.5rem; border-radius: 0.5rem;
    background: var(--background-color, #fff); box-shadow: 0 2px 12px rgba(0, 0, 0, 0.15); }}
}}
</style>"""


def render() -> None:
    st.title(common.t("page_ask"))
    videos = common.videos()
    if not videos:
        st.info(common.t("ask_empty"))
        return
    video_ids = _scope(videos)
    history: list[dict] = st.session_state.setdefault("chat", [])
    question = st.chat_input(common.t("ask_placeholder"), key="ask_input")
    if not history and not question:
        st.caption(common.t("ask_hint"))
    # A question sent while the previous one was still being answered stops that run
    # (Streamlit reruns the page at once): its question is in the history, its answer never
    # came. Answer it now, before the new one, rather than leave it unanswered.
    unanswered = history.pop() if history and history[-1]["role"] == "user" else None
    for n, message in enumerate(history):
        _show(message, n)
    if unanswered is not None and unanswered.get("retried"):  # stopped twice: say so, move on
        history += [
            unanswered,
            {"role": "assistant", "text": "", "error": common.t("not_answered")},
        ]
        _show(history[-2], len(history) - 2)
        _show(history[-1], len(history) - 1)
    elif unanswered is not None:
        asked = unanswered.get("asked", unanswered["text"])
        _answer(asked, unanswered.get("scope", []), history, retried=True)
    pending = st.session_state.pop(PENDING, None)
    if pending is not None:
        _answer(pending["question"], [pending["video_id"]], history)
    elif question is not None:
        problem = logic.question_problem(question, common.lang())
        if problem:
            st.warning(problem)
        else:
            _answer(question, video_ids, history)
    if history:
        st.button(common.t("new_chat"), icon=":material/refresh:", on_click=_clear)


def _clear() -> None:
    st.session_state["chat"] = []
    st.session_state.pop(SLOT, None)
    st.session_state.pop("ask_conversation", None)


def _scope(videos: list) -> list[str]:
    """The video ids to ask about: [] means the whole library."""
    ids = [v.id for v in videos]
    titles = {v.id: v.title for v in videos}
    if st.session_state.get("ask_video") not in ids:
        st.session_state.pop("ask_video", None)
    if any(i not in ids for i in st.session_state.get("ask_selection", [])):
        st.session_state["ask_selection"] = [
            i for i in st.session_state["ask_selection"] if i in ids
        ]
    lang = common.lang()  # read now: Streamlit may call format_func outside this run
    scope = st.radio(
        common.t("ask_about"),
        SCOPES,
        key="ask_scope",
        horizontal=True,
        format_func=lambda s: i18n.tr(lang, SCOPE_KEYS[s]),
    )
    if scope == "One video":
        return [
            st.selectbox(common.t("video"), ids, key="ask_video", format_func=titles.__getitem__)
        ]
    if scope == "Selection":
        return st.multiselect(
            common.t("videos"), ids, key="ask_selection", format_func=titles.__getitem__
        )
    return []


def _show(message: dict, n: int) -> None:
    with st.chat_message(message["role"]):
        if message.get("error"):
            st.error(message["error"])
        elif message["role"] == "user":
            st.text(message["text"])  # what the user typed, shown as typed (cut when huge)
        else:
            st.markdown(logic.answer_markdown(message["text"]))
        _extras(message, str(n))
    request = st.session_state.get(SLOT)
    if request is not None and request.get("origin") == str(n):
        _player(request)


def _extras(message: dict, key: str) -> None:
    for note in message.get("notes", []):
        st.caption(note)
    if message.get("citations"):
        common.chips(message["citations"], SLOT, key=key, origin=key, numbered=True)
    if message.get("related"):
        common.chips(message["related"], SLOT, key=f"near-{key}", origin=key)
    for c in message.get("choices", []):
        st.button(
            common.t("ask_only", title=c["title"]),
            key=f"choose-{key}-{c['video_id']}",
            icon=":material/filter_alt:",
            on_click=_choose,
            args=(message.get("question", ""), c["video_id"]),
        )


def _choose(question: str, video_id: str) -> None:
    st.session_state[PENDING] = {"question": question, "video_id": video_id}


def _player(request: dict) -> None:
    st.html(PINNED_PLAYER_CSS)
    with st.container(key=PLAYER_KEY):
        if common.player(SLOT) is not None:
            target = common.video(request["video_id"])
            st.caption(
                views.chip_label(target.title, request["start"], request["end"] or request["start"])
            )
            common.download_clip(request)


def _answer(
    question: str, video_ids: list[str], history: list[dict], *, retried: bool = False
) -> None:
    shown = logic.shown_question(question, common.lang())
    history.append(
        {"role": "user", "text": shown, "asked": question, "scope": video_ids, "retried": retried}
    )
    _show(history[-1], len(history) - 1)
    conversation = logic.conversation_for(st.session_state, video_ids)
    with st.chat_message("assistant"):
        try:
            with st.spinner(common.t("looking")):
                stream = common.reader().run(lambda library: conversation.ask(question, library))
            st.write_stream(logic.answer_markdown(piece) for piece in stream)
            answer = stream.answer
        except VidqaError as e:
            history.append({"role": "assistant", "text": "", "error": str(e)})
            st.error(str(e))
            return
        view = {**views.answer_view(answer), "question": question}
        history.append(view)
        _extras(view, str(len(history) - 1))

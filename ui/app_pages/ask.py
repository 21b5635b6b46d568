"""Ask: a chat scoped to one video, a selection or the library; citations play as clips."""

from __future__ import annotations

import streamlit as st

from ui import app_logic as logic
from ui.app_pages import common
from vidqa.errors import VidqaError

SLOT = "ask_play"  # this page's player request in session state
SCOPES = ("Library", "One video", "Selection")


def render() -> None:
    st.title("Ask")
    videos = common.videos()
    if not videos:
        st.info("The library is empty: add a video first, then ask about it here.")
        return
    video_ids = _scope(videos)
    history: list[dict] = st.session_state.setdefault("chat", [])
    question = st.chat_input("Ask about your videos, e.g. “what was said at 0:20?”",
                             key="ask_input")
    chat, side = st.columns([3, 2], gap="medium")
    with chat:
        if not history and not question:
            st.caption("Answers cite clips; click a citation to play it.")
        for n, message in enumerate(history):
            _show(message, n)
        if question:
            _answer(question, video_ids, history)
    with side:
        request = common.player(SLOT)
        if request is None:
            st.caption("The cited clip plays here.")
        else:
            st.caption(logic.chip_label(common.video(request["video_id"]).title,
                                        request["start"], request["end"] or request["start"]))
            common.download_clip(request)
        st.button("New chat", icon=":material/refresh:", on_click=_clear)


def _clear() -> None:
    st.session_state["chat"] = []
    st.session_state.pop(SLOT, None)


def _scope(videos: list) -> list[str]:
    """The video ids to ask about: [] means the whole library."""
    ids = [v.id for v in videos]
    titles = {v.id: v.title for v in videos}
    if st.session_state.get("ask_video") not in ids:
        st.session_state.pop("ask_video", None)
    if any(i not in ids for i in st.session_state.get("ask_selection", [])):
        st.session_state["ask_selection"] = [i for i in st.session_state["ask_selection"] if i in ids]
    scope = st.radio("Ask about", SCOPES, key="ask_scope", horizontal=True)
    if scope == "One video":
        return [st.selectbox("Video", ids, key="ask_video", format_func=titles.__getitem__)]
    if scope == "Selection":
        return st.multiselect("Videos", ids, key="ask_selection", format_func=titles.__getitem__)
    return []


def _show(message: dict, n: int) -> None:
    with st.chat_message(message["role"]):
        if message.get("error"):
            st.error(message["error"])
        else:
            st.markdown(logic.answer_markdown(message["text"]))
        if message.get("citations"):
            common.chips(message["citations"], SLOT, key=str(n))


def _answer(question: str, video_ids: list[str], history: list[dict]) -> None:
    history.append({"role": "user", "text": question})
    _show(history[-1], len(history) - 1)
    with st.chat_message("assistant"):
        try:
            with st.spinner("Looking through the videos…"):
                result = common.reader().run(
                    lambda library: logic.answer_question(question, library, video_ids, stream=True))
        except VidqaError as e:
            history.append({"role": "assistant", "text": "", "error": str(e)})
            st.error(str(e))
            return
        if hasattr(result, "citations"):  # extractive: already complete
            answer = result
            st.write_stream(logic.stream_chunks(logic.answer_markdown(answer.answer)))
        else:  # a VLM's validated sentences, as the model writes them
            st.write_stream(result)
            answer = result.answer
        for note in answer.notes:
            st.caption(note)
        citations = [logic.citation_state(c) for c in answer.citations]
        history.append({"role": "assistant", "text": answer.answer, "mode": answer.mode,
                        "citations": citations})
        common.chips(citations, SLOT, key=str(len(history) - 1))

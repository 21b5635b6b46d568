"""The vidqa Streamlit app. Run it with `vidqa ui` (bound to loopback). `streamlit run
ui/app.py` binds every interface: ingest by server path is then off unless
VIDQA_ALLOW_PATH_INGEST=1.

Pages: Library, Add videos, Video, Ask, Search (ui/app_pages/); the logic they share with
tests lives in ui/app_logic.py.
"""

from __future__ import annotations

import streamlit as st

from ui.app_pages import add, ask, common, library, search, video


def main() -> None:
    st.set_page_config(page_title="vidqa", page_icon=":material/movie:", layout="wide")
    common.language_switch()
    t = common.t
    pages = {
        "library": st.Page(
            library.render,
            title=t("page_library"),
            icon=":material/video_library:",
            url_path="library",
            default=True,
        ),
        "add": st.Page(
            add.render, title=t("page_add"), icon=":material/add_circle:", url_path="add"
        ),
        "video": st.Page(
            video.render, title=t("page_video"), icon=":material/movie:", url_path="video"
        ),
        "ask": st.Page(ask.render, title=t("page_ask"), icon=":material/chat:", url_path="ask"),
        "search": st.Page(
            search.render, title=t("page_search"), icon=":material/search:", url_path="search"
        ),
    }
    st.session_state[common.PAGES_KEY] = pages
    st.navigation(list(pages.values())).run()


main()

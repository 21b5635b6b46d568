"""Video: the player, chapters and transcript (a click seeks), and search within the video."""

from __future__ import annotations

from functools import partial

import streamlit as st

from ui import app_logic as logic
from ui import render as views
from ui.app_pages import common
from vidqa.timefmt import fmt_ts

SLOT = "video_play"  # this page's player request in session state
SEARCH_K = 10


def render() -> None:
    videos = common.videos()
    if not videos:
        st.title(common.t("page_video"))
        st.info(common.t("empty_add_first"))
        return
    target = _pick(videos)
    st.title(logic.md_text(target.title))
    st.caption(
        f"{fmt_ts(target.duration)} · "
        f"{common.t('transcript_is', source=target.transcript_source or 'none')} · `{target.id}`"
    )
    _summary(target)
    left, right = st.columns([1, 1], gap="medium")
    with left:
        request = common.player(SLOT, fallback_video_id=target.id)
        common.download_clip(request)
    with right:
        chapters_tab, transcript_tab, search_tab = st.tabs(
            [common.t("tab_chapters"), common.t("tab_transcript"), common.t("tab_search")],
            key="video-tabs",  # keyed: the open tab survives a rerun (a click that lands mid-run)
        )
        with chapters_tab:
            _chapters(target)
        with transcript_tab:
            _transcript(target)
        with search_tab:
            _search(target)


def _pick(videos: list):
    """The selected video: set by other pages through 'video_id', kept across pages."""
    ids = [v.id for v in videos]
    requested = st.session_state.pop("video_id", None)
    if requested in ids:
        st.session_state["video_pick"] = requested
    elif st.session_state.get("video_pick") not in ids:
        last = st.session_state.get("last_video")
        st.session_state["video_pick"] = last if last in ids else ids[0]
    titles = {v.id: v.title for v in videos}
    picked = st.sidebar.selectbox(
        common.t("video"), ids, key="video_pick", format_func=titles.__getitem__
    )
    st.session_state["last_video"] = picked
    return next(v for v in videos if v.id == picked)


def _summary(target) -> None:
    """The stored whole-video summary, where the chapter stage wrote one."""
    with common.reader().open() as library:
        stored = library.summary(target.id)
    if stored and (stored.summary or stored.assessment):
        with st.expander(common.t("summary", source=common.source_words(stored.source))):
            st.markdown(logic.answer_markdown(stored.summary or ""))
            if stored.assessment:
                st.markdown(
                    f"**{common.t('assessment')}** {logic.answer_markdown(stored.assessment)}"
                )


def _chapters(target) -> None:
    with common.reader().open() as library:
        spans = library.spans(target.id, kinds=("chapter",))
    if not spans:
        st.caption(common.t("no_chapters"))
        return
    for n, view in enumerate(views.chapter_view(views.chapter_of(s)) for s in spans):
        # One full-width button: in a narrow column its time range was cut to "0:00–…".
        st.button(
            logic.md_text(view["label"]),
            key=f"chapter-{n}",
            icon=":material/play_arrow:",
            width="stretch",
            on_click=common.request_play,
            args=(SLOT, target.id, view["start"], None),
        )
        body = st.container()
        if view["summary"]:
            body.markdown(logic.answer_markdown(view["summary"]))
        for point in view["key_points"]:
            body.markdown(f"- {logic.md_text(point)}")
        body.caption(common.t("source", source=common.source_words(view["source"])))


def _transcript(target) -> None:
    with common.reader().open() as library:
        rows = views.transcript_rows(library.spans(target.id))
    if not rows:
        st.caption(common.t("no_transcript"))
        return
    st.caption(common.t("click_line"))
    columns = {
        "time": st.column_config.TextColumn(common.t("col_time"), width="small"),
        "text": st.column_config.TextColumn(common.t("col_text"), width="large"),
    }
    st.dataframe(
        rows,
        key="transcript_table",
        hide_index=True,
        column_order=("time", "text"),
        column_config=columns,
        on_select=partial(_seek_to_row, target.id, rows),
        selection_mode="single-row",
        height=420,
    )


def _seek_to_row(video_id: str, rows: list[dict]) -> None:
    selected = st.session_state["transcript_table"].selection.rows
    if selected:
        common.request_play(SLOT, video_id, rows[selected[0]]["start"], None)


def _search(target) -> None:
    query = st.text_input(common.t("search_video"), key="video_search")
    if not query.strip():
        return
    with st.spinner(common.t("searching")):
        hits = common.reader().run(lambda lib: lib.search(query, k=SEARCH_K, video_id=target.id))
    groups = views.group_hits(hits, {target.id: target}, common.lang())
    if not groups:
        st.caption(common.t("nothing_in_video"))
        return
    for n, hit in enumerate(groups[0].hits):
        st.button(
            f"{hit.when} · {hit.evidence}",
            key=f"video-hit-{n}",
            type="tertiary",
            icon=":material/play_arrow:",
            on_click=common.request_play,
            args=(SLOT, target.id, hit.start, hit.end),
        )
        st.caption(logic.md_text(hit.text[:300]))
        if hit.said:
            st.caption(logic.md_text(hit.said))

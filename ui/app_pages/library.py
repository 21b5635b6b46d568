"""Library: every video with its thumbnail, facts and ingest state; open, ask, re-ingest, remove."""

from __future__ import annotations

import streamlit as st

from index import text_model
from ui import app_logic as logic
from ui import render as views
from ui.app_pages import common
from vidqa.errors import VidqaError
from vidqa.settings import DEFAULT_EMBED_MODEL


def render() -> None:
    st.title(common.t("page_library"))
    if "flash" in st.session_state:
        st.success(logic.md_text(st.session_state.pop("flash")))
    with common.reader().open() as library:
        everything = library.videos(include_incomplete=True)
        rows = [(v, views.video_card_row(v, library.catalog.counts(v.id))) for v in everything]
    _problems([v for v, _ in rows if v.status != "ready"])
    ready = [(v, row) for v, row in rows if v.status == "ready"]
    if not ready:
        st.info(common.t("library_empty"))
        if st.button(common.t("add_videos"), icon=":material/add:"):
            common.goto("add")
        return
    st.caption(common.count(len(ready), "video"))
    _outdated_model()
    for target, row in ready:
        _video_card(target, row)


def _outdated_model() -> None:
    """A library from an earlier vidqa searches with MiniLM: offer `vidqa reindex` here."""
    with common.reader().open() as library:
        model = text_model.outdated(library.cfg, library.catalog)
    if model is None:
        return
    st.info(common.t("outdated_model", model=model, default=DEFAULT_EMBED_MODEL))
    if not st.button(common.t("reindex"), key="reindex", icon=":material/autorenew:"):
        return
    label = common.t("reindexing")
    bar = st.progress(0.0, text=label)
    try:  # each update passes the label again: without it Streamlit clears the text
        moved = logic.reindex(lambda done, total: bar.progress(done / max(total, 1), text=label))
    except VidqaError as e:
        st.error(logic.md_text(str(e)))
        return
    videos = common.count(moved, "video")
    st.session_state["flash"] = common.t("reindexed", videos=videos, model=DEFAULT_EMBED_MODEL)
    st.rerun()


def _problems(incomplete: list) -> None:
    failures = [f for job in logic.recent_jobs() for f in job.failed]
    if not incomplete and not failures:
        return
    with st.expander(
        common.t("problems", n=len(incomplete) + len(failures)),
        expanded=True,
        icon=":material/error:",
    ):
        for v in incomplete:
            st.warning(common.t("incomplete", title=logic.md_text(v.title), status=v.status))
        for f in failures:
            st.error(
                common.t("failed_file", name=logic.md_text(f.name), error=logic.md_text(f.error))
            )


def _video_card(target, row: dict) -> None:
    with st.container(border=True, key=f"video-{target.id}"):
        thumb, info, actions = st.columns([1, 3, 1], vertical_alignment="center")
        image = logic.thumbnail_for(target)
        if image is not None:
            thumb.image(str(image))
        else:
            thumb.markdown(":material/music_note:" if not target.has_video else ":material/movie:")
        info.markdown(
            f"**{logic.md_text(row['title'])}**  \n{row['duration']} · "
            f"{common.t('transcript_is', source=row['transcript'])} · "
            f"{common.count(row['chapters'], 'chapter')} · "
            f"{common.count(row['spans'], 'span')}"
        )
        info.caption(
            f"`{target.id}` · {row['status']} · {common.t('ingested_at', when=row['ingested'])}  \n"
            f"{logic.md_text(row['path'])}"
        )
        _actions(actions, target)


def _actions(column, target) -> None:
    if target.id in {r.video_id for r in logic.removals_in_progress()}:
        column.caption(common.t("removing"))  # another session is removing it
        return
    if column.button(common.t("open"), key=f"open-{target.id}", icon=":material/play_arrow:"):
        common.goto("video", video_id=target.id)
    if column.button(common.t("ask"), key=f"ask-{target.id}", icon=":material/chat:"):
        common.goto("ask", ask_scope="One video", ask_video=target.id)
    if column.button(
        common.t("reingest"),
        key=f"reingest-{target.id}",
        icon=":material/refresh:",
        disabled=logic.servable_path(target) is None,
    ):
        job = logic.start_ingest_job([target.path], force=True)
        st.session_state.setdefault("jobs", []).insert(0, job)
        common.goto("add")
    if st.session_state.get("confirm_remove") != target.id:
        column.button(
            common.t("remove"),
            key=f"remove-{target.id}",
            icon=":material/delete:",
            on_click=st.session_state.update,
            args=({"confirm_remove": target.id},),
        )
        return
    column.warning(common.t("remove_confirm", title=logic.md_text(target.title)))
    if column.button(common.t("yes_remove"), key=f"really-remove-{target.id}", type="primary"):
        st.session_state.pop("confirm_remove", None)
        try:
            with st.spinner(common.t("removing_title", title=logic.md_text(target.title))):
                st.session_state["flash"] = logic.remove_video(target.id)
        except VidqaError as e:
            st.error(logic.md_text(str(e)))
        st.rerun()
    column.button(
        common.t("cancel"),
        key=f"cancel-remove-{target.id}",
        on_click=st.session_state.pop,
        args=("confirm_remove", None),
    )

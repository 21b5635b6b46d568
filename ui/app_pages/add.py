"""Add videos: upload (stored under $VIDQA_HOME/media) or a path on this machine; live progress."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui import app_logic as logic
from ui import i18n
from ui.app_pages import common
from vidqa.settings import settings

LIVE_REFRESH_S = 1.0  # how often running jobs (and removals) are redrawn (s)
JOBS_SHOWN = 5


def render() -> None:
    from vidqa.probe import MEDIA_EXTENSIONS

    t = common.t
    st.title(t("page_add"))
    force = st.toggle(t("force"), key="add_force")
    frames = st.toggle(t("index_frames"), value=True, key="add_frames")
    if logic.removals_in_progress():
        _removals()
    upload_tab, path_tab = st.tabs([t("tab_upload"), t("tab_path")], key="add-tabs")
    with upload_tab:
        files = st.file_uploader(
            t("upload_label"),
            type=sorted(e.lstrip(".") for e in MEDIA_EXTENSIONS),
            accept_multiple_files=True,
            max_upload_size=logic.MAX_UPLOAD_MB,
            key="uploads",
        )
        st.caption(t("upload_limit", mb=logic.MAX_UPLOAD_MB, where=settings().media_dir))
        if st.button(t("ingest_uploads"), disabled=not files, icon=":material/upload:"):
            _ingest_uploads(files, force, frames)
    with path_tab:
        if not logic.path_ingest_allowed(st.get_option("server.address")):
            st.info(t("path_off"))
        else:
            raw = st.text_input(t("path_label"), key="add_path", placeholder="/data/lectures")
            if st.button(t("ingest_path"), icon=":material/folder_open:", key="ingest_path"):
                _ingest_path(raw.strip(), force, frames)
    for message in st.session_state.pop("add_errors", []):
        st.error(logic.md_text(message))
    st.subheader(t("progress"))
    jobs = logic.recent_jobs(limit=JOBS_SHOWN)
    if any(not j.finished for j in jobs):
        _live_jobs()
    else:
        _show_jobs(jobs)


def _start(paths: list[str], force: bool, frames: bool, uploads: list[str] = ()) -> None:
    job = logic.start_ingest_job(paths, force=force, frames=frames, uploads=uploads)
    st.session_state.setdefault("jobs", []).insert(0, job)


@st.fragment(run_every=LIVE_REFRESH_S)
def _removals() -> None:
    """While a removal runs, its file cannot be added again (it would find the old copy)."""
    removals = logic.removals_in_progress()
    if not removals:
        st.rerun()  # finished: redraw the page with adding enabled again
    for removal in removals:
        st.info(
            common.t("removal_running", title=logic.md_text(removal.title)),
            icon=":material/hourglass_top:",
        )


def _removing_error(name: str, path) -> str | None:
    removal = logic.being_removed(path)
    if removal is None:
        return None
    return common.t("still_removing", name=name, title=removal.title)


def _ingest_uploads(files, force: bool, frames: bool) -> None:
    saved, uploads, errors = [], [], []
    with common.reader().open() as library:
        for f in files:
            try:
                dest = logic.save_upload(f.name, f.size, f)
                path = logic.reuse_known_upload(dest, library)  # a re-upload keeps no copy
            except (ValueError, OSError) as e:
                errors.append(f"{f.name}: {e}")
                continue
            if problem := _removing_error(f.name, path):
                errors.append(problem)
                if path == dest:
                    dest.unlink(missing_ok=True)
                continue
            saved.append(str(path))
            if path == dest:
                uploads.append(str(dest))
    st.session_state["add_errors"] = errors
    if saved:
        _start(saved, force, frames, uploads)


def _ingest_path(raw: str, force: bool, frames: bool) -> None:
    from vidqa.probe import discover

    if not raw:
        st.session_state["add_errors"] = [common.t("type_path")]
        return
    path = Path(raw).expanduser()
    if not path.exists():
        st.session_state["add_errors"] = [common.t("no_such_path", path=raw)]
        return
    if path.is_dir() and not discover([path]):
        st.session_state["add_errors"] = [common.t("no_media_in_folder", path=raw)]
        return
    if path.is_file():
        from vidqa.errors import MediaError
        from vidqa.probe import probe

        try:
            probe(path)  # the same check `vidqa ingest` makes: notes.txt is not a video
        except MediaError as e:
            st.session_state["add_errors"] = [str(e)]
            return
        if problem := _removing_error(raw, path):
            st.session_state["add_errors"] = [problem]
            return
    _start([str(path.resolve())], force, frames)


@st.fragment(run_every=LIVE_REFRESH_S)
def _live_jobs() -> None:
    jobs = logic.recent_jobs(limit=JOBS_SHOWN)
    _show_jobs(jobs)
    if all(j.finished for j in jobs):
        st.rerun()  # everything finished: redraw the whole app once, then stop polling


def _show_jobs(jobs: list[logic.JobState]) -> None:
    if not jobs:
        st.caption(common.t("no_jobs"))
    for job in jobs:
        _job(job)


def _job(job: logic.JobState) -> None:
    t = common.t
    state = (
        t("job_running")
        if not job.finished
        else t("job_failed", n=len(job.failed))
        if job.failed
        else t("job_done")
    )
    with st.container(border=True, key=f"job-{job.id}"):
        st.markdown(
            f"**{t('job_title', id=job.id)}** · {common.count(len(job.files), 'file')} · {state}"
        )
        if job.error and not job.files:
            st.error(logic.md_text(job.error))
        for f in job.files:
            _file(f, job.id)


def _file(f: logic.FileProgress, job_id: str) -> None:
    if f.status == "failed":
        st.error(f"**{logic.md_text(f.name)}**: {logic.md_text(f.error)}", icon=":material/error:")
        return
    if f.status in ("ingested", "unchanged"):
        line, button = st.columns([4, 1], vertical_alignment="center")
        line.success(
            f"**{logic.md_text(f.name)}**: {common.t('status_' + f.status)}",
            icon=":material/check_circle:",
        )
        if f.video_id and button.button(common.t("open"), key=f"open-{job_id}-{f.path}"):
            common.goto("video", video_id=f.video_id)
        for note in f.notes:
            st.caption(common.t("note", text=logic.md_text(note)))
        return
    st.markdown(f"**{logic.md_text(f.name)}** · {i18n.stage_name(common.lang(), f.stage)}")
    for stage, fraction in f.stages.items():
        if stage != "done":
            st.progress(fraction, text=f"{i18n.stage_name(common.lang(), stage)} · {fraction:.0%}")

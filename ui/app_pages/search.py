"""Search: library-wide results grouped by video, by text or by an example image."""

from __future__ import annotations

import streamlit as st

from ui import app_logic as logic
from ui import render as views
from ui.app_pages import common
from vidqa.errors import VidqaError

SLOT = "search_play"  # this page's player request in session state
IMAGE_TYPES = ["png", "jpg", "jpeg", "webp"]


def render() -> None:
    st.title(common.t("page_search"))
    videos = common.videos()
    if not videos:
        st.info(common.t("empty_add_first"))
        return
    query = st.text_input(common.t("search_label"), key="search_query")
    with st.expander(common.t("search_image")):
        image = st.file_uploader(common.t("image_label"), type=IMAGE_TYPES, key="search_image")
    k = st.slider(common.t("results"), 5, 50, 20, key="search_k")
    request = common.player(SLOT)
    common.download_clip(request)
    hits = _image_hits(image, k) if image is not None else _text_hits(query, k)
    if hits is None:
        return
    groups = views.group_hits(hits, {v.id: v for v in videos}, common.lang())
    if not groups:
        st.caption(common.t("no_results"))
    for g in groups:
        _group(g, next(v for v in videos if v.id == g.video_id))


def _text_hits(query: str, k: int) -> list | None:
    if not query.strip():
        return None
    with st.spinner(common.t("searching")):
        return common.reader().run(lambda library: logic.confident_search(query, library, k))


def _image_hits(upload, k: int) -> list | None:
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        picture = np.asarray(Image.open(upload).convert("RGB"))
    except (UnidentifiedImageError, OSError) as e:
        st.error(logic.md_text(common.t("not_image", name=upload.name, error=e)))
        return None
    try:
        with st.spinner(common.t("searching_frames")):
            return common.reader().run(lambda library: library.search_image(picture, k=k))
    except VidqaError as e:  # no CLIP weights, or no frames embedded yet
        st.info(logic.md_text(str(e)))
        return None


def _group(group: views.VideoGroup, target) -> None:
    with st.container(border=True, key=f"group-{group.video_id}"):
        thumb, body = st.columns([1, 4])
        image = logic.thumbnail_for(target, group.hits[0].start)
        if image is not None:
            thumb.image(str(image))
        body.markdown(
            f"**{logic.md_text(group.title)}** · {common.count(len(group.hits), 'result')}"
        )
        if body.button(
            common.t("open_video"),
            key=f"open-{group.video_id}",
            type="tertiary",
            icon=":material/open_in_new:",
        ):
            common.goto("video", video_id=group.video_id)
        for n, hit in enumerate(group.hits):
            body.button(
                f"{hit.when} · {hit.evidence}",
                key=f"hit-{group.video_id}-{n}",
                icon=":material/play_arrow:",
                on_click=common.request_play,
                args=(SLOT, group.video_id, hit.start, hit.end),
            )
            body.caption(logic.md_text(hit.text[:300]))
            if hit.said:
                body.caption(logic.md_text(hit.said))

"""The library: what ingest writes to and qa/ui read from.

Writes are atomic per video: spans go into the catalog with status 'indexing',
vectors into Chroma, and only then does the video flip to 'ready'. Readers only
see ready videos, so a crash at any point leaves the previous state intact.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

import numpy as np

from index.catalog import Catalog
from index.fusion import merge_close
from index.moments import SearchOptions, fuse, level_rankings
from index.records import Hit, Span, Video
from vidqa.errors import VideoNotFound
from vidqa.settings import Settings, settings

TEXT_KINDS = ("transcript", "chapter", "ocr", "window")  # embedded and BM25-indexed
SEARCH_KINDS = ("transcript", "chapter", "ocr", "frame")  # what a caller asks for; windows ride on transcript
CANDIDATES = 50  # per retriever, before fusion
KIND_OVERFETCH = 4  # dense candidates fetched per kept one when only some kinds are wanted


class Library:
    def __init__(self, cfg: Settings | None = None):
        self.cfg = cfg or settings()
        self.cfg.home.mkdir(parents=True, exist_ok=True)
        self.catalog = Catalog(self.cfg.catalog_path)

    def close(self) -> None:
        self.reset_vectors()
        self.catalog.close()

    # Loaded on first use: listing videos or a time lookup needs neither torch nor chroma.
    @cached_property
    def embedder(self):
        from models.text_embed import load_text_embedder

        return load_text_embedder(self.cfg.embed_model)

    @cached_property
    def _client(self):
        from index.vectors import make_client

        self._seen_version = self.catalog.data_version()
        return make_client(self.cfg)

    def refresh(self) -> bool:
        """Reopen Chroma if another process committed since our client opened; True if it did.

        An embedded Chroma client never sees vectors another process added (queries then
        fail with "Error finding id"), and a stale client that writes can lose the other
        process's vectors. Every vidqa write also commits to the catalog, whose
        `PRAGMA data_version` tells us when that happened. Loaded models are kept.
        """
        if "_client" not in self.__dict__ or self.catalog.data_version() == self._seen_version:
            return False
        self.reset_vectors()
        return True

    def reset_vectors(self) -> None:
        """Close the Chroma client; the next vector access opens a fresh one."""
        self.__dict__.pop("text_vectors", None)
        client = self.__dict__.pop("_client", None)
        if client is not None:
            client.close()

    @cached_property
    def text_vectors(self):
        from index.vectors import VectorStore

        return VectorStore(self._client, f"vidqa-text-{self.embedder.slug}")

    def frame_vectors(self, clip_name: str, dim: int):
        """The CLIP collection for one model; named by model and dimension so models never mix."""
        from index.vectors import VectorStore

        return VectorStore(self._client, frames_collection(clip_name, dim))

    @cached_property
    def clip(self):
        """The configured CLIP model, or None when its weights are not available here."""
        from models.clip import load_clip
        from vidqa.errors import MissingDependency, ModelNotFound

        try:
            return load_clip(self.cfg.clip_model, self.cfg.clip_pretrained)
        except (ModelNotFound, MissingDependency):
            return None

    @contextmanager
    def writing(self) -> Iterator[None]:
        """One writer at a time across processes (the app and a CLI ingest, say)."""
        with open(self.cfg.home / "write.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self.refresh()  # never write through a client that missed another's writes
                yield
                self._seen_version = self.catalog.data_version()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # -- reading videos -----------------------------------------------------
    def videos(self, *, include_incomplete: bool = False) -> list[Video]:
        return self.catalog.videos(include_incomplete=include_incomplete)

    def only_video(self) -> Video | None:
        """The library's video when it holds exactly one (then "the video" is unambiguous)."""
        videos = self.catalog.videos(limit=2)
        return videos[0] if len(videos) == 1 else None

    def has_ready(self, video_id: str) -> bool:
        video = self.catalog.video(video_id)
        return video is not None and video.status == "ready"

    def find_video(self, ref: str) -> Video:
        """A ready video by exact id, unique id prefix, exact title, or unique title substring."""
        by_id = self.catalog.videos_by_id_prefix(ref) if len(ref) >= 4 else []
        candidates = (
            lambda: [v for v in by_id if v.id == ref],
            lambda: by_id,
            lambda: [v for v in self.videos() if v.title == ref],
            lambda: [v for v in self.videos() if v.title.lower() == ref.lower()],
            lambda: [v for v in self.videos() if ref.lower() in v.title.lower()],
        )
        for matches in candidates:  # cheapest first: ids are indexed, titles are scanned
            match = matches()
            if len(match) == 1:
                return match[0]
            if len(match) > 1:
                names = ", ".join(f"{v.id[:8]} ({v.title})" for v in match[:5])
                raise VideoNotFound(f"{ref!r} matches several videos: {names}; use an id")
        raise VideoNotFound(f"no video in the library matches {ref!r} (see 'vidqa list')")

    # -- writing ------------------------------------------------------------
    def add_video(self, video: Video, spans: list[Span], *, summary: dict | None = None,
                  frames: tuple[str, np.ndarray] | None = None,
                  progress: Callable[[str], None] | None = None) -> list[Span]:
        """Replace everything stored for `video` (same id) atomically; drop stale versions at its path.

        `frames`: (CLIP model name, vectors) with one row per "frame" span, in order.
        """
        spans = with_windows(spans)
        video.status = "indexing"
        video.ingested_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self.writing():
            self.text_vectors.delete_video(video.id)
            stored = self.catalog.put_video(video, spans, summary)
            if progress:
                progress("embedding")
            self._embed_spans(stored)
            if frames is not None:
                self._add_frames(video.id, [s for s in stored if s.kind == "frame"], *frames)
            self.catalog.set_status(video.id, "ready")
            video.status = "ready"
            if video.path:  # a changed file replaces the records of its old content
                for old in self.catalog.videos_at_path(video.path):
                    if old.id != video.id:
                        self._remove_locked(old.id)
        return stored

    def add_spans(self, video_id: str, spans: list[Span], *, replace_kinds: Iterable[str] = ()) -> None:
        """Add spans (chapters, OCR, ...) to a ready video, replacing earlier spans of those kinds."""
        replace_kinds = tuple(replace_kinds)
        with self.writing():
            old_ids = [i for k in replace_kinds for i in self.catalog.span_ids(video_id, k)]
            stored = self.catalog.add_spans(video_id, spans, replace_kinds=replace_kinds)
            self.text_vectors.delete(old_ids)
            self._embed_spans(stored)

    def _add_frames(self, video_id: str, spans: list[Span], clip_name: str, vectors: np.ndarray) -> None:
        if len(spans) != len(vectors):
            raise ValueError(f"{len(spans)} frame spans but {len(vectors)} CLIP vectors")
        store = self.frame_vectors(clip_name, vectors.shape[1])
        store.delete_video(video_id)
        store.upsert([s.id for s in spans], vectors,
                     [{"video_id": video_id, "kind": "frame", "start": s.start, "end": s.end}
                      for s in spans])

    def set_summary(self, video_id: str, summary: dict, chapters: list[Span]) -> None:
        """Replace a video's summary and chapter spans (e.g. rebuilt with another model)."""
        self.add_spans(video_id, chapters, replace_kinds=("chapter",))
        self.catalog.put_summary(video_id, summary)

    def summary(self, video_id: str) -> dict | None:
        return self.catalog.summary(video_id)

    def _embed_spans(self, spans: list[Span]) -> None:
        texts = [s for s in spans if s.kind in TEXT_KINDS and s.text.strip()]
        if not texts:
            return
        vectors = self.embedder.embed([s.text for s in texts])
        self.text_vectors.upsert(
            [s.id for s in texts], vectors,
            [{"video_id": s.video_id, "kind": s.kind, "start": s.start, "end": s.end} for s in texts],
        )

    def remove(self, video_id: str) -> bool:
        with self.writing():
            return self._remove_locked(video_id)

    def _remove_locked(self, video_id: str) -> bool:
        if self.catalog.video(video_id) is None:
            return False
        self.text_vectors.delete(self.catalog.span_ids(video_id))
        for store in self._frame_stores():
            store.delete_video(video_id)
        self.catalog.delete_video(video_id)
        return True

    def _frame_stores(self):
        from index.vectors import VectorStore

        return [VectorStore(self._client, c.name) for c in self._client.list_collections()
                if c.name.startswith("vidqa-frames-")]

    # -- reading spans --------------------------------------------------------
    def spans(self, video_id: str, kinds: Iterable[str] = ("transcript",)) -> list[Span]:
        return self.catalog.spans(video_id, kinds)

    def spans_between(self, video_id: str, start: float, end: float,
                      kinds: Iterable[str] = ("transcript",)) -> list[Span]:
        """Spans overlapping [start, end]: the time lookup, by metadata, never by similarity."""
        return self.catalog.spans_overlapping(video_id, start, end, kinds)

    def search(self, query: str, *, k: int = 10, video_id: str | None = None,
               kinds: Iterable[str] = SEARCH_KINDS, options: SearchOptions | None = None) -> list[Hit]:
        """Hybrid search: dense text + BM25 over sentence spans, the windows around them,
        chapters and OCR, plus CLIP text->frame when frames were embedded; fused by RRF
        across levels and cited by the best sentence (index/moments.py), same-moment hits merged."""
        self.refresh()
        options = options or SearchOptions()
        kinds = tuple(kinds)
        text_kinds = tuple(k for k in kinds if k in TEXT_KINDS)
        if "transcript" in text_kinds and options.windows and options.sentences:
            text_kinds += ("window",)  # windows are found as transcript, cited as its sentences
        elif not (options.windows and options.sentences):
            text_kinds = tuple(k for k in text_kinds if k != "window")
        text_kinds = tuple(dict.fromkeys(text_kinds))
        rankings: dict[str, list[str]] = {}
        by_id: dict[str, Span] = {}
        vector = None
        if text_kinds:
            vector = self.embedder.embed([query])[0] if options.dense else None
            dense = self._dense_ids(vector, text_kinds, video_id) if options.dense else []
            keyword = (self.catalog.keyword_search(query, limit=CANDIDATES * 2, video_id=video_id,
                                                   kinds=text_kinds) if options.keyword else [])
            by_id.update((i, s) for i, s in self.catalog.spans_by_id(dense).items()
                         if s.kind in text_kinds)
            by_id.update((s.id, s) for s, _ in keyword)
            if options.dense:
                rankings.update(level_rankings("dense", dense, by_id, CANDIDATES))
            if options.keyword:
                rankings.update(level_rankings("keyword", [s.id for s, _ in keyword], by_id, CANDIDATES))
        if "frame" in kinds and (store := self._frame_store_for_clip()) is not None:
            ranked = store.query(self.clip.embed_texts([query])[0], n=CANDIDATES, video_id=video_id)
            by_id.update(self.catalog.spans_by_id([i for i, _ in ranked]))
            rankings["clip"] = [i for i, _ in ranked if i in by_id]
        embed = self.embedder.embed if vector is not None else None
        hits = fuse(rankings, by_id, options, embed, vector)
        return merge_close(hits)[:k]

    def _dense_ids(self, vector, kinds: tuple[str, ...], video_id: str | None) -> list[str]:
        """Span ids by embedding similarity. Kinds are filtered afterwards, from the catalog:
        a Chroma metadata filter scans (68 ms against 4 ms unfiltered over 24k spans).
        Windows share the collection with spans, hence twice the candidates."""
        n = CANDIDATES * 2 if set(kinds) >= set(TEXT_KINDS) else CANDIDATES * 2 * KIND_OVERFETCH
        return [i for i, _ in self.text_vectors.query(vector, n=n, video_id=video_id)]

    def search_image(self, image, *, k: int = 10, video_id: str | None = None) -> list[Hit]:
        """Frames that look like `image` (a path, PIL image or HxWx3 array), via CLIP."""
        self.refresh()
        store = self._frame_store_for_clip()
        if store is None:
            from vidqa.errors import ModelNotFound

            raise ModelNotFound("search by picture needs CLIP weights and frames embedded at ingest "
                                "(set VIDQA_CLIP_PRETRAINED to a local weights file, then re-ingest)")
        ranked = store.query(self.clip.embed_images([_load_image(image)])[0], n=k, video_id=video_id)
        by_id = self.catalog.spans_by_id([i for i, _ in ranked])
        return [Hit(by_id[i], score, ["image"], ["frame"]) for i, score in ranked if i in by_id]

    def _frame_store_for_clip(self):
        """The frame collection of the configured CLIP model, if it has vectors and CLIP loads.

        CLIP is loaded only when some frames were embedded: a library ingested without
        CLIP weights must not pay for (or wait on the network for) a model it cannot use.
        """
        names = {c.name for c in self._client.list_collections()}
        if not any(n.startswith(FRAMES_PREFIX) for n in names) or self.clip is None:
            return None
        name = frames_collection(self.clip.name, self.clip.dim)
        if name not in names:
            return None
        store = self.frame_vectors(self.clip.name, self.clip.dim)
        return store if store.count() else None


FRAMES_PREFIX = "vidqa-frames-"


def with_windows(spans: list[Span]) -> list[Span]:
    """`spans` plus overlapping windows over their transcript, unless windows are given."""
    from index.windows import make_windows

    if any(s.kind == "window" for s in spans):
        return spans
    return [*spans, *make_windows(spans)]


def frames_collection(clip_name: str, dim: int) -> str:
    from vidqa.text import collection_slug

    return f"{FRAMES_PREFIX}{collection_slug(clip_name)}-{dim}d"


def _load_image(image):
    if isinstance(image, (str, Path)):
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(image) as img:
                return np.asarray(img.convert("RGB"))
        except (OSError, UnidentifiedImageError) as e:
            from vidqa.errors import MediaError

            raise MediaError(image, f"not a readable image ({e})") from e
    return image

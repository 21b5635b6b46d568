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

from index.catalog import Catalog
from index.fusion import rrf
from index.records import Hit, Span, Video
from vidqa.errors import VideoNotFound
from vidqa.settings import Settings, settings

TEXT_KINDS = ("transcript", "chapter", "ocr")
CANDIDATES = 50  # per retriever, before fusion


class Library:
    def __init__(self, cfg: Settings | None = None):
        self.cfg = cfg or settings()
        self.cfg.home.mkdir(parents=True, exist_ok=True)
        self.catalog = Catalog(self.cfg.catalog_path)

    def close(self) -> None:
        self.catalog.close()

    # Loaded on first use: listing videos or a time lookup needs neither torch nor chroma.
    @cached_property
    def embedder(self):
        from models.text_embed import load_text_embedder

        return load_text_embedder(self.cfg.embed_model)

    @cached_property
    def _client(self):
        from index.vectors import make_client

        return make_client(self.cfg)

    @cached_property
    def text_vectors(self):
        from index.vectors import VectorStore

        return VectorStore(self._client, f"vidqa-text-{self.embedder.slug}")

    @contextmanager
    def writing(self) -> Iterator[None]:
        """One writer at a time across processes (the app and a CLI ingest, say)."""
        with open(self.cfg.home / "write.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # -- reading videos -----------------------------------------------------
    def videos(self, *, include_incomplete: bool = False) -> list[Video]:
        return self.catalog.videos(include_incomplete=include_incomplete)

    def has_ready(self, video_id: str) -> bool:
        video = self.catalog.video(video_id)
        return video is not None and video.status == "ready"

    def find_video(self, ref: str) -> Video:
        """A ready video by exact id, unique id prefix, exact title, or unique title substring."""
        videos = self.videos()
        for match in (
            [v for v in videos if v.id == ref],
            [v for v in videos if v.id.startswith(ref)] if len(ref) >= 4 else [],
            [v for v in videos if v.title == ref],
            [v for v in videos if v.title.lower() == ref.lower()],
            [v for v in videos if ref.lower() in v.title.lower()],
        ):
            if len(match) == 1:
                return match[0]
            if len(match) > 1:
                names = ", ".join(f"{v.id[:8]} ({v.title})" for v in match[:5])
                raise VideoNotFound(f"{ref!r} matches several videos: {names}; use an id")
        raise VideoNotFound(f"no video in the library matches {ref!r} (see 'vidqa list')")

    # -- writing ------------------------------------------------------------
    def add_video(self, video: Video, spans: list[Span], *, summary: dict | None = None,
                  progress: Callable[[str], None] | None = None) -> list[Span]:
        """Replace everything stored for `video` (same id) atomically; drop stale versions at its path."""
        video.status = "indexing"
        video.ingested_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self.writing():
            self.text_vectors.delete_video(video.id)
            stored = self.catalog.put_video(video, spans, summary)
            if progress:
                progress("embedding")
            self._embed_spans(stored)
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
        self.catalog.delete_video(video_id)
        return True

    # -- reading spans --------------------------------------------------------
    def spans(self, video_id: str, kinds: Iterable[str] = ("transcript",)) -> list[Span]:
        return self.catalog.spans(video_id, kinds)

    def spans_between(self, video_id: str, start: float, end: float,
                      kinds: Iterable[str] = ("transcript",)) -> list[Span]:
        """Spans overlapping [start, end]: the time lookup, by metadata, never by similarity."""
        return self.catalog.spans_overlapping(video_id, start, end, kinds)

    def search(self, query: str, *, k: int = 10, video_id: str | None = None,
               kinds: Iterable[str] = TEXT_KINDS) -> list[Hit]:
        """Hybrid search: dense (sentence embeddings) + keyword (BM25), fused by RRF."""
        kinds = tuple(kinds)
        vector = self.embedder.embed([query])[0]
        dense = self.text_vectors.query(vector, n=CANDIDATES, video_id=video_id, kinds=kinds)
        keyword = self.catalog.keyword_search(query, limit=CANDIDATES, video_id=video_id, kinds=kinds)
        by_id = self.catalog.spans_by_id([i for i, _ in dense])
        by_id.update((s.id, s) for s, _ in keyword)
        fused = rrf({
            "dense": [i for i, _ in dense if i in by_id],
            "keyword": [s.id for s, _ in keyword],
        })
        return [Hit(by_id[i], score, matched) for i, score, matched in fused[:k]]

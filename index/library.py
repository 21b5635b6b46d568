"""The library: what ingest writes to and qa/ui read from.

The write path, one writer at a time (`writing()`, a file lock):
  1. stage: the new version's spans go into the catalog under a fresh generation,
     invisible to readers (a ready video keeps showing its current version);
  2. vectors: upserted into Chroma under ids that name that generation;
  3. flip: one catalog transaction makes the new generation the video's (and marks an
     older file at the same path 'removing');
  4. clean up: spans, vectors and thumbnails of any other generation are deleted.
Removal marks the video 'removing' first, then deletes vectors, then rows. A crash at
any point leaves exactly one ready version (old or new) of each video; the next writer
(`recover()`) or `vidqa doctor --repair` finishes the interrupted clean-up.
"""

from __future__ import annotations

import fcntl
import logging
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

import numpy as np

from index import text_model
from index.catalog import Catalog
from index.fusion import merge_close
from index.moments import SearchOptions, fuse, level_rankings
from index.records import SPAN_KINDS, Hit, Span, Video, VideoSummary
from index.sentence_vectors import (
    SentenceStore,
    SentenceVectors,
    rescored_texts,
    sparse_texts,
    video_texts,
)
from models import clip as clip_models
from models import text_embed
from models.sparse_embed import reads
from vidqa.errors import (
    ConfigError,
    MediaError,
    MissingDependency,
    ModelNotFound,
    VideoNotFound,
)
from vidqa.settings import Settings, settings
from vidqa.text import collection_slug

TEXT_KINDS = ("transcript", "chapter", "ocr", "window")  # embedded and BM25-indexed
log = logging.getLogger(__name__)
SEARCH_KINDS = (
    "transcript",
    "chapter",
    "ocr",
    "frame",
)  # what a caller asks for; windows ride on transcript
CANDIDATES = 50  # per retriever, before fusion
KIND_OVERFETCH = 4  # dense candidates fetched per kept one when only some kinds are wanted
SEARCH_ATTEMPTS = 3  # a search that overlapped another process's commit runs again


class Library:
    def __init__(self, cfg: Settings | None = None):
        self.cfg = cfg or settings()
        self.cfg.home.mkdir(parents=True, exist_ok=True)
        self.catalog = Catalog(self.cfg.catalog_path)
        self.reopens = 0  # times refresh() reopened Chroma after another process's commit

    def close(self) -> None:
        self.reset_vectors()
        self.catalog.close()

    # Loaded on first use: listing videos or a time lookup needs neither torch nor chroma.
    @cached_property
    def embedder(self):
        self._loaded_text_model = self.text_model()
        return text_embed.load_text_embedder(self._loaded_text_model)

    def text_model(self) -> str:
        """The text embedder this library searches with (index/text_model.py: the one its
        catalog records, multilingual-e5-small for a new library; VIDQA_EMBED_MODEL when set)."""
        return text_model.chosen(self.cfg, self.catalog)

    @cached_property
    def sentence_vectors(self):
        """The re-scored sentences' vectors: stored at ingest, else embedded and kept in memory
        (index/sentence_vectors.py)."""
        return SentenceVectors(
            SentenceStore(self.catalog.db), self.embedder.slug, self.embedder.embed
        )

    @cached_property
    def sparse(self):
        """SPLADE for search's second re-scoring list (models/sparse_embed.py); None when
        turned off (VIDQA_SPARSE_MODEL=none) or not installed."""
        from models.sparse_embed import load_sparse_embedder

        return load_sparse_embedder(self.cfg.sparse_model)

    @cached_property
    def sparse_vectors(self):
        """The re-scored English texts' SPLADE rows, stored at ingest like `sentence_vectors`."""
        if self.sparse is None:
            return None
        return SentenceVectors(SentenceStore(self.catalog.db), self.sparse.slug, self.sparse.embed)

    @cached_property
    def _client(self):
        from index.vectors import make_client

        self._seen_version = self.catalog.data_version()
        return make_client(self.cfg, self.catalog.library_id())

    def refresh(self) -> bool:
        """Reopen Chroma if another process committed since our client opened; True if it did.

        An embedded Chroma client never sees vectors another process added (queries then
        fail with "Error finding id"), and a stale client that writes can lose the other
        process's vectors. Every vidqa write also commits to the catalog, whose
        `PRAGMA data_version` tells us when that happened. Loaded models are kept.
        """
        if "_client" not in self.__dict__ or self.catalog.data_version() == self._seen_version:
            return False
        if self.__dict__.get("_loaded_text_model", self.text_model()) != self.text_model():
            # another process switched the library's model: its vectors, cached ones included
            self.__dict__.pop("embedder", None)
            self.__dict__.pop("sentence_vectors", None)
        self.reset_vectors()
        self.reopens += 1
        return True

    def reset_vectors(self) -> None:
        """Close the Chroma client; the next vector access opens a fresh one."""
        self.__dict__.pop("text_vectors", None)
        client = self.__dict__.pop("_client", None)
        if client is not None:
            client.close()

    @cached_property
    def text_vectors(self):
        return self._client.store(f"{TEXT_PREFIX}{self.embedder.slug}")

    def frame_vectors(self, clip_name: str, dim: int):
        """The CLIP collection for one model; named by model and dimension so models never mix."""
        return self._client.store(frames_collection(clip_name, dim))

    @cached_property
    def clip(self):
        """The configured CLIP model, or None when its weights are not available here."""
        try:
            return clip_models.load_clip(self.cfg.clip_model, self.cfg.clip_pretrained)
        except (ModelNotFound, MissingDependency):
            return None

    @contextmanager
    def writing(self, *, recover: bool = True) -> Iterator[None]:
        """One writer at a time across processes (the app and a CLI ingest, say).

        Holding it, nothing is half-written except by a writer that crashed; unless told
        not to, that writer's unfinished removals and versions are cleaned up first."""
        with open(self.cfg.home / "write.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self.refresh()  # never write through a client that missed another's writes
                if recover:
                    self._recover_locked()
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

    def find_video(self, ref: str, *, exact: bool = False) -> Video:
        """A ready video by exact id, unique id prefix (>= 4 characters), exact title, or
        (unless `exact`) case-insensitive title or unique title substring.

        Read-only commands (ask, search, clip, --video) keep the loose matches: a wrong
        guess there only shows the wrong video's answer, and the error lists candidates.
        Destructive ones (remove) pass `exact`: a stray letter must never pick a video."""
        ref = ref.strip()
        if not ref:
            raise VideoNotFound(
                "the video reference is empty: give an id (4+ characters) or a "
                f"title; {self._candidates()}"
            )
        by_id = self.catalog.videos_by_id_prefix(ref) if len(ref) >= 4 else []
        candidates = [
            lambda: [v for v in by_id if v.id == ref],
            lambda: by_id,
            lambda: [v for v in self.videos() if v.title == ref],
        ]
        if not exact:
            candidates += [
                lambda: [v for v in self.videos() if v.title.lower() == ref.lower()],
                lambda: [v for v in self.videos() if ref.lower() in v.title.lower()],
            ]
        for matches in candidates:  # cheapest first: ids are indexed, titles are scanned
            match = matches()
            if len(match) == 1:
                return match[0]
            if len(match) > 1:
                names = ", ".join(f"{v.id[:8]} ({v.title})" for v in match[:5])
                raise VideoNotFound(f"{ref!r} matches several videos: {names}; use an id")
        if exact:
            raise VideoNotFound(
                f"no video has the id prefix or exact title {ref!r}; {self._candidates()}"
            )
        raise VideoNotFound(f"no video in the library matches {ref!r} (see 'vidqa list')")

    def _candidates(self, shown: int = 5) -> str:
        videos = self.catalog.videos(limit=shown + 1)
        if not videos:
            return "the library is empty"
        names = ", ".join(f"{v.id[:8]} ({v.title})" for v in videos[:shown])
        return f"videos: {names}" + (", ... (see 'vidqa list')" if len(videos) > shown else "")

    # -- writing ------------------------------------------------------------
    def add_video(
        self,
        video: Video,
        spans: list[Span],
        *,
        summary: VideoSummary | None = None,
        frames: tuple[str, np.ndarray] | None = None,
        progress: Callable[[str], None] | None = None,
        embedder=None,
        sparse=None,
    ) -> list[Span]:
        """Store a new version of `video` (same id) next to the current one, then switch to it
        atomically; a changed file at the same path replaces the old content's record.

        `frames`: (CLIP model name, vectors) with one row per "frame" span, in order.
        `embedder`: embeds the text spans instead of `self.embedder` (same model and slug:
        vectors a cluster's workers already computed); `sparse`, the same for SPLADE's rows
        (`texts_to_embed` says what both must hold).
        """
        spans = with_windows(spans)
        video.ingested_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self.writing():
            generation = self.catalog.next_generation()
            stored = self.catalog.stage(video, spans, generation)
            if progress:
                progress("embedding")
            self._fit_text_model(video, stored)
            if embedder is not None and embedder.name != self.text_model():
                embedder = None  # the workers' vectors are of the model this write switched from
            text_index = self._embed_spans(stored, embedder, sparse)
            if text_index:
                video.models["text_index"] = text_index
            if frames is not None:
                video.models["frame_index"] = self._add_frames(
                    video.id, [s for s in stored if s.kind == "frame"], *frames
                )
            replaced = self.catalog.flip(video, generation, summary)
            video.status = "ready"
            self._drop_stale(video.id)
            self._drop_stale_sentences(video.id, embedder)
            for old in replaced:
                self._remove_locked(old)
        return stored

    def add_spans(
        self,
        video_id: str,
        spans: list[Span],
        *,
        replace_kinds: Iterable[str] = (),
        summary: VideoSummary | None = None,
    ) -> None:
        """Add spans (chapters, OCR, ...) to a ready video, replacing earlier spans of those
        kinds (and its summary, if given) in one switch: readers see the old or the new set."""
        with self.writing():
            if not self.has_ready(video_id):
                raise VideoNotFound(f"video {video_id} is not in the library (or not ready)")
            generation = self.catalog.next_generation()
            stored = self.catalog.stage_spans(video_id, spans, generation)
            self._embed_spans(stored)
            self.catalog.flip_spans(video_id, generation, replace_kinds, summary)
            self._drop_stale(video_id)
            self._drop_stale_sentences(video_id)

    def _add_frames(
        self, video_id: str, spans: list[Span], clip_name: str, vectors: np.ndarray
    ) -> str:
        if len(spans) != len(vectors):
            raise ValueError(f"{len(spans)} frame spans but {len(vectors)} CLIP vectors")
        store = self.frame_vectors(clip_name, vectors.shape[1])
        store.upsert(
            [s.id for s in spans],
            vectors,
            [
                {"video_id": video_id, "kind": "frame", "start": s.start, "end": s.end}
                for s in spans
            ],
        )
        return store.name

    def set_summary(self, video_id: str, summary: VideoSummary, chapters: list[Span]) -> None:
        """Replace a video's summary and chapter spans (e.g. rebuilt with another model)."""
        self.add_spans(video_id, chapters, replace_kinds=("chapter",), summary=summary)

    def summary(self, video_id: str) -> VideoSummary | None:
        """The video's chapters and whole-video summary, as ingest or `summarize` stored them."""
        return self.catalog.summary(video_id)

    def _fit_text_model(self, video: Video, spans: list[Span]) -> None:
        """Before `video`'s text is embedded: switch the library to the multilingual model if
        this is its first non-English text, embedding what it holds again (index/text_model.py)."""
        text_model.record(self.cfg, self.catalog)
        target = text_model.wanted(self.cfg, self.catalog, video, spans)
        if target is None:
            return
        try:
            embedder = text_embed.load_text_embedder(target)
        except (MissingDependency, ModelNotFound) as e:  # stays searchable as it was + keywords
            log.warning(
                "%s: not English, but the multilingual text model is unavailable (%s)",
                video.title,
                e,
            )
            return
        self._switch_text_model(embedder, [v.id for v in self.catalog.videos() if v.id != video.id])

    def use_text_model(
        self, model: str, videos_done: Callable[[int, int], None] | None = None
    ) -> int:
        """Search with `model` from now on: every video's text (transcript, windows, chapters,
        on-screen text) is embedded again with it; returns how many videos were. The library
        searches with its old model until the last vector is written, and a failure part way
        (bad weights, a full disk, Ctrl-C) leaves it exactly as it was."""
        if not text_model.automatic(self.cfg):
            raise ConfigError(
                f"VIDQA_EMBED_MODEL is set ({self.cfg.embed_model}): every search uses it, "
                "whatever the library records; unset it to choose the library's model"
            )
        embedder = text_embed.load_text_embedder(model)
        collection = f"{TEXT_PREFIX}{embedder.slug}"
        with self.writing():
            videos = self.catalog.videos()
            if all(v.models.get("text_index") == collection for v in videos):
                # nothing to embed (already there, or no video yet): the record is all
                self.catalog.set_library_value(text_model.TEXT_MODEL_KEY, embedder.name)
                return 0
            self._switch_text_model(embedder, [v.id for v in videos], videos_done)
        return len(videos)

    def _switch_text_model(
        self,
        embedder,
        video_ids: list[str],
        videos_done: Callable[[int, int], None] | None = None,
    ) -> None:
        """Embed the videos' text into `embedder`'s collection, then, in one catalog
        transaction, record the model and point the videos at it; only then drop what the old
        model left. Until that transaction the library searches with its old model, so a crash
        mid-switch leaves it as it was (its half-filled new collection is what `vidqa doctor
        --repair` drops)."""
        videos_done = videos_done or (lambda done, total: None)  # (videos done, of total)
        videos_done(0, len(video_ids))
        for done, video_id in enumerate(video_ids, 1):
            self._embed_with(self.catalog.spans(video_id, TEXT_KINDS), embedder)
            videos_done(done, len(video_ids))
        collection = self._client.store(f"{TEXT_PREFIX}{embedder.slug}").name
        self.catalog.switch_text_index(
            text_model.TEXT_MODEL_KEY, embedder.name, collection, video_ids
        )
        for name in ("text_vectors", "sentence_vectors"):  # cached for the old model
            self.__dict__.pop(name, None)
        self.embedder, self._loaded_text_model = embedder, embedder.name
        self._sentence_store.drop_other_models(
            embedder.slug, *([self.sparse.slug] if self.sparse is not None else [])
        )
        # Only now, with every video pointing at the new collection, the old one goes: a
        # crash before this line leaves it for `vidqa doctor --repair`, never a gap.
        self.drop_unused_text_indexes()

    def unused_text_indexes(self) -> list[str]:
        """Text collections nothing reads: a model the library switched away from."""
        videos = self.catalog.videos()
        if any(not v.models.get("text_index") for v in videos):
            return []  # a version from before collections were recorded may be in any of them
        used = {v.models["text_index"] for v in videos} | {self.text_vectors.name}
        return [name for name in self._client.names(TEXT_PREFIX) if name not in used]

    def drop_unused_text_indexes(self) -> list[str]:
        names = self.unused_text_indexes()
        for name in names:
            self._client.drop(name)
        return names

    def _embed_spans(self, spans: list[Span], embedder=None, sparse=None) -> str | None:
        """Embed the text spans; returns the collection they went to (None: no text).
        `embedder`, `sparse`: vectors and SPLADE rows lent by a cluster's workers."""
        return self._embed_with(spans, embedder, sparse)

    def _embed_with(self, spans: list[Span], embedder, sparse=None) -> str | None:
        texts = _embedded(spans)
        if not texts:
            return None
        vectors = (embedder or self.embedder).embed([s.text for s in texts])
        # A lent embedder names the collection itself: the library's model may stay unloaded.
        store = (
            self._client.store(f"{TEXT_PREFIX}{embedder.slug}") if embedder else self.text_vectors
        )
        store.upsert(
            [s.id for s in texts],
            vectors,
            [
                {"video_id": s.video_id, "kind": s.kind, "start": s.start, "end": s.end}
                for s in texts
            ],
        )
        self._store_sentences(spans, embedder or self.embedder, texts, vectors, sparse)
        return store.name

    def _store_sentences(
        self, spans: list[Span], embedder, texts: list[Span], vectors, sparse=None
    ) -> None:
        """The vectors search re-scores (index/sentence_vectors.py); a sentence that is a whole
        span reuses the span's vector. `sparse`: SPLADE's rows lent by a cluster's workers."""
        known = dict(zip((s.text for s in texts), vectors, strict=True))
        self._sentence_store.embed_and_put(
            embedder.slug, rescored_texts(spans), embedder.embed, known
        )
        sparse = sparse or self.sparse
        if sparse is not None:
            self._sentence_store.embed_and_put(
                sparse.slug, sparse_texts(rescored_texts(spans)), sparse.embed
            )

    @property
    def _sentence_store(self):
        return SentenceStore(self.catalog.db)

    def _drop_stale_sentences(self, video_id: str, embedder=None) -> None:
        """The sentence vectors (and SPLADE rows) of texts the video's current version no
        longer has."""
        for model, items, _ in self._rescored(video_id, embedder):
            self._sentence_store.keep_only(model, video_id, items)

    def _rescored(self, video_id: str, embedder=None) -> list[tuple[str, list, object]]:
        """(model key, texts to store under it, how to embed them) for the video's current
        version: the text model's vectors, and SPLADE's rows of its English texts.
        `embedder`: the one ingesting, when not the library's (while the text model is
        switched, the new one writes before it becomes the library's)."""
        embedder = embedder or self.embedder
        items = video_texts(self.catalog, video_id)
        out = [(embedder.slug, items, embedder.embed)]
        if self.sparse is not None:
            out.append((self.sparse.slug, sparse_texts(items), self.sparse.embed))
        return out

    def sentence_vector_counts(self, video_id: str) -> tuple[int, int]:
        """(vectors search may read for the video's re-scored texts, of them stored): the
        library's text model's, and SPLADE's for its English texts."""
        want = found = 0
        for model, items, _ in self._rescored(video_id):
            want += len(items)
            found += len(items) - len(self._sentence_store.missing(model, items))
        return want, found

    def fill_sentence_vectors(self, video_id: str | None = None) -> int:
        """Embed and store the re-scored texts that have no vector under the library's model
        or no SPLADE row (a library ingested before they were stored); returns how many were
        added."""
        store, added = self._sentence_store, 0
        with self.writing(recover=False):
            for vid in [video_id] if video_id else [v.id for v in self.catalog.videos()]:
                for model, items, embed in self._rescored(vid):
                    added += store.embed_and_put(model, store.missing(model, items), embed)
        return added

    def remove(self, video_id: str) -> bool:
        with self.writing():
            return self._remove_locked(video_id)

    def _remove_locked(self, video_id: str) -> bool:
        """Mark (readers stop seeing it), delete vectors, delete rows, delete thumbnails."""
        if self.catalog.video(video_id) is None:
            return False
        stores = self._client.stores()  # an unreachable server fails here, before any change
        self.catalog.set_status(video_id, "removing")
        ids = self.catalog.all_span_ids(video_id)
        for store in stores:
            store.delete(ids)
        self.catalog.delete_video(video_id)
        for folder in (self.cfg.thumbs_dir / video_id, self.cfg.home / "posters" / video_id):
            if _is_video_folder(folder):
                shutil.rmtree(folder, ignore_errors=True)
        return True

    def _drop_stale(self, video_id: str | None = None) -> int:
        """Delete spans outside their video's generation: vectors first, then rows; then the
        thumbnails no current frame span points at. Returns how many spans went."""
        stale = self.catalog.stale_spans(video_id)
        if not stale:
            return 0
        ids = [span_id for _, span_id, _ in stale]
        for store in self._client.stores():
            store.delete(ids)
        self.catalog.delete_span_rows(ids)
        for vid in {v for v, _, _ in stale}:
            self._drop_unused_thumbnails(vid)
        return len(ids)

    def _drop_unused_thumbnails(self, video_id: str) -> None:
        folder = self.cfg.thumbs_dir / video_id
        if not _is_video_folder(folder):
            return
        used = {
            self.cfg.home / s.extra["thumb"]
            for s in self.catalog.spans(video_id, ("frame",))
            if s.extra.get("thumb")
        }
        for image in folder.glob("*.jpg"):
            if image not in used:
                image.unlink(missing_ok=True)

    def recover(self) -> dict[str, int]:
        """Finish what a crashed writer left: removals, and garbage of unfinished versions."""
        with self.writing():
            pass
        return self._recovered

    def _recover_locked(self) -> None:
        removing = self.catalog.videos_with_status("removing")
        stale = self.catalog.stale_spans()
        self._recovered = {"removals": len(removing), "stale_spans": len(stale)}
        for video in removing:
            self._remove_locked(video.id)
        if stale:
            self._drop_stale()

    # -- checking -------------------------------------------------------------
    def vector_counts(self, video_id: str) -> dict[str, tuple[int, int]]:
        """collection -> (vectors the video's current version needs, vectors present)."""
        video = self.catalog.video(video_id)
        if video is None:
            return {}
        spans = self.catalog.spans(video_id, SPAN_KINDS)
        want = {
            "text": [s.id for s in spans if s.kind in TEXT_KINDS and s.text.strip()],
            "frame": [s.id for s in spans if s.kind == "frame"]
            if video.models.get("frames")
            else [],
        }
        out = {}
        for role, ids in want.items():
            if not ids:
                continue
            names = self._index_names(video, role)
            found = max((len(self._client.store(n).present(ids)) for n in names), default=0)
            out[names[0] if len(names) == 1 else f"{role} vectors"] = (len(ids), found)
        return out

    def missing_vectors(self, video_id: str) -> dict[str, tuple[int, int]]:
        """Like vector_counts, only the collections that lack some; empty when complete."""
        return {
            n: (want, found)
            for n, (want, found) in self.vector_counts(video_id).items()
            if found < want
        }

    def reembed(self, video_id: str) -> int:
        """Write the text vectors of the video's current version again (after a lost write)."""
        with self.writing(recover=False):
            spans = self.catalog.spans(video_id, TEXT_KINDS)
            self._embed_spans(spans)
        return len(spans)

    def _index_names(self, video: Video, role: str) -> list[str]:
        """The collections that should hold the video's vectors of one role (text | frame).

        Versions written before the collection was recorded are looked for in every
        collection of that role."""
        recorded = video.models.get(f"{role}_index")
        return (
            [recorded]
            if recorded
            else self._client.names(TEXT_PREFIX if role == "text" else FRAMES_PREFIX)
        )

    # -- reading spans --------------------------------------------------------
    def spans(self, video_id: str, kinds: Iterable[str] = ("transcript",)) -> list[Span]:
        return self.catalog.spans(video_id, kinds)

    def spans_between(
        self, video_id: str, start: float, end: float, kinds: Iterable[str] = ("transcript",)
    ) -> list[Span]:
        """Spans overlapping [start, end]: the time lookup, by metadata, never by similarity."""
        return self.catalog.spans_overlapping(video_id, start, end, kinds)

    def search(
        self,
        query: str,
        *,
        k: int = 10,
        video_id: str | None = None,
        kinds: Iterable[str] = SEARCH_KINDS,
        options: SearchOptions | None = None,
    ) -> list[Hit]:
        """Hybrid search: dense text + BM25 over sentence spans, the windows around them,
        chapters and OCR, plus CLIP text->frame when frames were embedded; fused by RRF
        across levels and cited by the best sentence (index/moments.py), same-moment hits merged.

        Vectors and catalog are read at different instants: if another process switched a
        video to a new version in between (its old vector ids then resolve to nothing),
        the search runs again on a fresh client, so no reader sees a half-switched result."""
        options = options or SearchOptions()
        for _ in range(SEARCH_ATTEMPTS):
            self.refresh()
            version = self.catalog.data_version()
            hits = self._search_once(
                query, k=k, video_id=video_id, kinds=tuple(kinds), options=options
            )
            if self.catalog.data_version() == version:
                break
        return hits

    def _search_once(
        self,
        query: str,
        *,
        k: int,
        video_id: str | None,
        kinds: tuple[str, ...],
        options: SearchOptions,
    ) -> list[Hit]:
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
            vector = self.embedder.embed([query], query=True)[0] if options.dense else None
            dense = self._dense_ids(vector, text_kinds, video_id) if options.dense else []
            keyword = (
                self.catalog.keyword_search(
                    query, limit=CANDIDATES * 2, video_id=video_id, kinds=text_kinds
                )
                if options.keyword
                else []
            )
            by_id.update(
                (i, s) for i, s in self.catalog.spans_by_id(dense).items() if s.kind in text_kinds
            )
            by_id.update((s.id, s) for s, _ in keyword)
            if options.dense:
                rankings.update(level_rankings("dense", dense, by_id, CANDIDATES))
            if options.keyword:
                rankings.update(
                    level_rankings("keyword", [s.id for s, _ in keyword], by_id, CANDIDATES)
                )
        if "frame" in kinds and (store := self._frame_store_for_clip()) is not None:
            ranked = store.query(self.clip.embed_texts([query])[0], n=CANDIDATES, video_id=video_id)
            by_id.update(self.catalog.spans_by_id([i for i, _ in ranked]))
            rankings["clip"] = [i for i, _ in ranked if i in by_id]
        vectors = self.sentence_vectors.vectors if vector is not None else None
        hits = fuse(rankings, by_id, options, vectors, vector, self._sparse_scores(query, options))
        return merge_close(hits)[:k]

    def _sparse_scores(self, query: str, options: SearchOptions):
        """items -> their SPLADE scores for `query`, or None: turned off, not installed, or a
        question SPLADE's English vocabulary cannot read."""
        if not (options.sparse and options.sentences) or self.sparse_vectors is None:
            return None
        if not reads(query):
            return None

        def score(items: list[tuple[str, str]]) -> np.ndarray:
            # Text SPLADE cannot read (a Chinese sentence of a mixed library) has no stored
            # row and gets no credit from this list (NaN), rather than being encoded per query.
            readable = [i for i, (_, text) in enumerate(items) if reads(text)]
            out = np.full(len(items), np.nan, dtype=np.float32)
            rows = self.sparse_vectors.vectors([items[i] for i in readable])
            out[readable] = self.sparse.score(query, rows)
            return out

        return score

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
            raise ModelNotFound(
                "search by picture needs CLIP weights and frames embedded at ingest "
                "(set VIDQA_CLIP_PRETRAINED to a local weights file, then re-ingest)"
            )
        ranked = store.query(
            self.clip.embed_images([_load_image(image)])[0], n=k, video_id=video_id
        )
        by_id = self.catalog.spans_by_id([i for i, _ in ranked])
        return [Hit(by_id[i], score, ["image"], ["frame"]) for i, score in ranked if i in by_id]

    def _frame_store_for_clip(self):
        """The frame collection of the configured CLIP model, if it has vectors and CLIP loads.

        CLIP is loaded only when some frames were embedded: a library ingested without
        CLIP weights must not pay for (or wait on the network for) a model it cannot use.
        """
        names = set(self._client.names())
        if not any(n.startswith(FRAMES_PREFIX) for n in names) or self.clip is None:
            return None
        name = frames_collection(self.clip.name, self.clip.dim)
        if name not in names:
            return None
        store = self.frame_vectors(self.clip.name, self.clip.dim)
        return store if store.count() else None


FRAMES_PREFIX = "vidqa-frames-"
TEXT_PREFIX = "vidqa-text-"


def _is_video_folder(folder: Path) -> bool:
    """A per-video folder (named by a content id), never the root or a stray path."""
    name = folder.name
    return folder.is_dir() and bool(name) and not name.startswith(".") and "/" not in name


def _embedded(spans: list[Span]) -> list[Span]:
    """The spans that get a text vector."""
    return [s for s in spans if s.kind in TEXT_KINDS and s.text.strip()]


def texts_to_embed(spans: list[Span]) -> tuple[list[str], list[str]]:
    """What `Library.add_video` embeds for a video's spans, each text once: the text model's
    (every text span, the windows it adds included, and the texts search re-scores) and
    SPLADE's (the English among the re-scored). A cluster's workers compute both ahead of
    the write (ingest/cluster.py), so the one writer embeds nothing."""
    spans = with_windows(spans)
    rescored = rescored_texts(spans)
    texts = [s.text for s in _embedded(spans)] + [text for _, text in rescored]
    return list(dict.fromkeys(texts)), list(dict.fromkeys(t for _, t in sparse_texts(rescored)))


def with_windows(spans: list[Span]) -> list[Span]:
    """`spans` plus overlapping windows over their transcript, unless windows are given."""
    from index.windows import make_windows

    if any(s.kind == "window" for s in spans):
        return spans
    return [*spans, *make_windows(spans)]


def frames_collection(clip_name: str, dim: int) -> str:
    return f"{FRAMES_PREFIX}{collection_slug(clip_name)}-{dim}d"


def _load_image(image):
    if isinstance(image, (str, Path)):
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(image) as img:
                return np.asarray(img.convert("RGB"))
        except (OSError, UnidentifiedImageError) as e:
            raise MediaError(image, f"not a readable image ({e})") from e
    return image

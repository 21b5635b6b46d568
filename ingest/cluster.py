"""Ingest on a Ray cluster: the stages run as tasks, this process stays the one writer.

Per file: probe -> {transcript, frames} -> chapters -> embedding, each a Ray task
on a CPU worker (chapters with `num_gpus=1` when a local Qwen3-VL runs on GPU
workers, or as a light CPU task when the VLM is served). Tasks only compute:
they return plain data, and the driver writes each finished video with
`Library.add_video` under its lock, so a task that fails, is retried or loses its
worker can neither duplicate nor lose a video. A worker that dies is retried by
Ray (MAX_RETRIES); an error in our code fails that file with its one-line
reason and the batch goes on, exactly as in-process.

Media is read where it lies: every node must see the same path (a shared
filesystem). Shipping files through the object store would copy each video to
every stage that reads it (transcript, frames and chapters all decode it), a
10,000-hour library is ~10 TB, and the decoders need seekable files.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.library import texts_to_embed
from index.records import VideoSummary
from ingest.pipeline import (
    ClusterOptions,
    FileResult,
    IngestOptions,
    IngestReport,
    Prepared,
    Progress,
    assemble,
    chapters_stage,
    failure_message,
    frames_stage,
    identify,
    is_unchanged,
    transcript_stage,
    write,
)
from models import text_embed
from models.sparse_embed import load_sparse_embedder
from models.vlm import parse_spec
from vidqa.errors import ConfigError, MissingDependency, VidqaError
from vidqa.settings import settings

MAX_RETRIES = 3  # Ray re-runs a task this often when its worker dies
FILES_PER_WORKER = 2  # files in flight per worker slot: keeps every stage fed, memory bounded
POLL_S = 0.2  # s between looks at finished tasks and progress
REPORT_EVERY_S = 0.5  # s: a worker reports a stage's progress at most this often
SERVED_CHAPTER_CPUS = 0.25  # a served-VLM chapter task mostly waits on HTTP
LOCAL_OBJECT_STORE = 256 * 1024**2  # bytes: tasks return spans and vectors, never media
# Settings a worker must share with the driver (its VIDQA_HOME is a private temp dir).
WORKER_ENV = (
    "VIDQA_EMBED_MODEL",
    "VIDQA_SPARSE_MODEL",
    "VIDQA_ASR_MODEL",
    "VIDQA_CLIP_MODEL",
    "VIDQA_CLIP_PRETRAINED",
    "VIDQA_VLM",
    "VIDQA_DEVICE",
    "VIDQA_OPENAI_API_KEY",
    "OPENAI_API_KEY",
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
)


# --- vectors computed on a worker, lent to the write ---------------------------------


@dataclass
class KnownVectors:
    """A text embedder that answers from vectors computed on a worker, by exact text.

    `Library.add_video` embeds through `library.embedder`; lending it this one for
    the write keeps the write path (and its lock) as it is while the embedding runs
    on the cluster. A text it does not know is embedded here with the real model.
    """

    name: str  # the model the worker used (must be the library's)
    dim: int
    slug: str
    table: dict[str, np.ndarray]
    fallback: Callable[[], object] | None = None  # the real embedder, loaded on a miss

    def embed(self, texts: list[str], **_) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.table]
        if missing:
            self.table.update(zip(missing, self.fallback().embed(missing), strict=True))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.table[t] for t in texts]).astype(np.float32, copy=False)


def worker_sparse(library, known: KnownVectors | None) -> KnownVectors | None:
    """SPLADE's rows from a worker, ready for `library.add_video` (misses: the library's own
    SPLADE); None when the library's SPLADE is another model, or off."""
    if known is None or known.name != library.cfg.sparse_model:
        return None
    known.fallback = lambda: library.sparse
    return known


def worker_embedder(library, known: KnownVectors | None) -> KnownVectors | None:
    """`known` ready to embed for `library.add_video` (misses load the library's own model)."""
    if known is None:
        return None
    if known.name != library.text_model():
        if library.cfg.embed_model_set:
            raise ConfigError(
                f"the workers embedded with {known.name} but this library uses "
                f"{library.text_model()}: set VIDQA_EMBED_MODEL alike everywhere"
            )
        return None  # the library chose another model itself (index/text_model.py): embed here
    known.fallback = lambda: library.embedder
    return known


# --- what runs on a worker -------------------------------------------------------------


@dataclass
class Failed:
    """A stage's own error (bad media, a model that would not load): the file fails."""

    message: str


@contextmanager
def _worker_env(env: dict[str, str]) -> Iterator[Path]:
    """The driver's model settings, and a private VIDQA_HOME so a task never touches a library."""
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="vidqa-task-") as home:
        for name in WORKER_ENV:
            os.environ.pop(name, None)
        os.environ.update(env)
        os.environ["VIDQA_HOME"] = home
        os.environ.pop("VIDQA_CHROMA_URL", None)
        try:
            yield Path(home)
        finally:
            os.environ.clear()
            os.environ.update(saved)


def _reporter(board, path: str) -> Callable:
    """step(stage, done, total) for a worker: throttled, fire-and-forget to the board."""
    last: dict[str, float] = {}

    def step(stage: str, done: float = 0.0, total: float = 1.0) -> None:
        now = time.monotonic()
        if now - last.get(stage, -1e9) >= REPORT_EVERY_S:
            last[stage] = now
            board.put.remote(path, stage, float(done), float(total), os.getpid())

    return step


def run_stage(stage: str, env: dict, board, path: str, *args):
    """One stage of one file on a worker; errors of our own come back as Failed."""
    with _worker_env(env) as home:
        step = _reporter(board, path)
        try:
            return STAGES[stage](Path(path), home, step, *args)
        except (VidqaError, OSError, ValueError, RuntimeError) as e:
            return Failed(failure_message(path, e))


def _probe(path: Path, home: Path, step):
    if not path.is_file():  # the media must lie on a path this node sees too
        raise ConfigError(
            f"{path}: not found on Ray node {os.uname().nodename}: "
            "put media on a path every node mounts"
        )
    return identify(path, step)


def _transcript(path: Path, home: Path, step, info, video_id: str, options: IngestOptions):
    return transcript_stage(path, info, video_id, options, step)


def _frames(path: Path, home: Path, step, info, video_id: str):
    """The visual result, plus the thumbnails it wrote ({path under home: JPEG bytes})."""
    visual = frames_stage(path, info, video_id, step)
    thumbs = {str(p.relative_to(home)): p.read_bytes() for p in home.rglob("*.jpg")}
    return visual, thumbs


def _chapters(path: Path, home: Path, step, info, transcript, visual, options: IngestOptions):
    return chapters_stage(path, info, transcript, visual, options, step)


def _embedding(
    path: Path, home: Path, step, texts: list[str], sparse_texts: list[str]
) -> tuple[KnownVectors, KnownVectors | None]:
    """The text model's vectors and SPLADE's rows (None: SPLADE off or not installed) of
    `index.library.texts_to_embed`."""
    step("embedding")
    embedder = text_embed.load_text_embedder()
    table = dict(zip(texts, embedder.embed(texts), strict=True))
    vectors = KnownVectors(embedder.name, embedder.dim, embedder.slug, table)
    sparse = load_sparse_embedder()
    if sparse is None:
        return vectors, None
    rows = sparse.embed(sparse_texts)
    return vectors, KnownVectors(
        sparse.name, rows.shape[1], sparse.slug, dict(zip(sparse_texts, rows, strict=True))
    )


STAGES: dict[str, Callable] = {
    "probe": _probe,
    "transcript": _transcript,
    "frames": _frames,
    "chapters": _chapters,
    "embedding": _embedding,
}


class ProgressBoard:
    """A Ray actor the workers post progress to; the driver takes it every POLL_S."""

    def __init__(self):
        self.events: list[tuple] = []

    def put(self, *event) -> None:
        self.events.append(event)

    def take(self) -> list[tuple]:
        events, self.events = self.events, []
        return events


# --- the driver ------------------------------------------------------------------------


def _import_ray():
    try:
        import ray
    except ModuleNotFoundError as e:
        raise MissingDependency(
            "--workers above 1 and --ray need Ray: pip install 'vidqa[scale]'"
        ) from e
    return ray


def _connect(ray, cluster: ClusterOptions) -> bool:
    """Join `cluster.address`, or start a small local Ray; True when we started it."""
    if ray.is_initialized():
        return False
    quiet = {"include_dashboard": False, "log_to_driver": False, "logging_level": "warning"}
    if cluster.address:
        try:
            ray.init(address=cluster.address, **quiet)
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise ConfigError(f"--ray {cluster.address}: cannot join the Ray cluster ({e})") from e
        return True
    ray.init(num_cpus=cluster.workers, object_store_memory=LOCAL_OBJECT_STORE, **quiet)
    return True


def worker_env() -> dict[str, str]:
    return {name: os.environ[name] for name in WORKER_ENV if name in os.environ}


@dataclass(eq=False)  # identity: a job is itself, whatever its fields hold
class _File:
    path: Path
    result: FileResult
    started: float = field(default_factory=time.monotonic)
    info: object = None
    transcript: object = None
    spans: list = field(default_factory=list)
    visual: object = None
    thumbs: dict = field(default_factory=dict)
    prepared: Prepared | None = None
    waiting: set[str] = field(default_factory=set)  # stages in flight


def ingest_on_ray(
    files: list[Path], library, options: IngestOptions, progress: Progress, cluster: ClusterOptions
) -> IngestReport:
    ray = _import_ray()
    started_here = _connect(ray, cluster)
    try:
        return _Driver(ray, library, options, progress, cluster).run(files)
    finally:
        if started_here:
            ray.shutdown()


class _Driver:
    """Submits each file's stages as their inputs arrive, writes finished videos one by one."""

    def __init__(
        self, ray, library, options: IngestOptions, progress: Progress, cluster: ClusterOptions
    ):
        self.ray, self.library, self.options, self.progress = ray, library, options, progress
        self.env = worker_env()
        self.board = ray.remote(num_cpus=0)(ProgressBoard).remote()
        self.task = ray.remote(max_retries=MAX_RETRIES)(run_stage)
        slots = int(ray.cluster_resources().get("CPU", cluster.workers))
        self.max_files = max(1, FILES_PER_WORKER * max(cluster.workers, slots))
        self.chapter_resources, self.chapter_limit = chapter_placement(ray, options, cluster)
        self.pending: dict = {}  # ObjectRef -> (file, stage)
        self.chapter_queue: deque[_File] = deque()
        self.chapters_running = 0

    def run(self, files: list[Path]) -> IngestReport:
        queue, active = deque(files), []
        results = [None] * len(files)
        order = {str(p): i for i, p in enumerate(files)}
        while queue or self.pending or self.chapter_queue:
            while queue and len(active) < self.max_files:
                job = _File(queue[0], FileResult(path=str(queue.popleft()), status="failed"))
                active.append(job)
                self._submit(job, "probe")
            self._start_chapters()
            if not self.pending:
                continue
            ready, _ = self.ray.wait(list(self.pending), num_returns=1, timeout=POLL_S)
            self._relay_progress()
            for ref in ready:
                job, stage = self.pending.pop(ref)
                self._finished(job, stage, ref)
            for job in [j for j in active if self._settled(j)]:
                active.remove(job)
                results[order[job.result.path]] = job.result
        self._relay_progress()
        return IngestReport(results)

    # -- submitting ---------------------------------------------------------------------
    def _submit(self, job: _File, stage: str, *args, resources: dict | None = None) -> None:
        task = self.task.options(name=stage, **(resources or {"num_cpus": 1}))
        ref = task.remote(stage, self.env, self.board, str(job.path), *args)
        self.pending[ref] = (job, stage)
        job.waiting.add(stage)

    def _start_chapters(self) -> None:
        while self.chapter_queue and self.chapters_running < self.chapter_limit:
            job = self.chapter_queue.popleft()
            self.chapters_running += 1
            self._submit(
                job,
                "chapters",
                job.info,
                job.transcript,
                job.visual,
                self.options,
                resources=self.chapter_resources,
            )

    # -- results --------------------------------------------------------------------------
    def _finished(self, job: _File, stage: str, ref) -> None:
        job.waiting.discard(stage)
        if stage == "chapters":
            self.chapters_running -= 1
        from ray.exceptions import RayError

        try:
            value = self.ray.get(ref)
        except RayError as e:  # its worker died MAX_RETRIES + 1 times, or our code broke
            value = Failed(f"{job.path}: the {stage} task failed on the cluster: {_first_line(e)}")
        if job.result.error:
            return  # the file already failed in another stage: drop the rest
        if isinstance(value, Failed):
            job.result.error = value.message
            return
        self.progress(str(job.path), stage, 1.0, 1.0)
        getattr(self, f"_after_{stage}")(job, value)

    def _after_probe(self, job: _File, value) -> None:
        job.info, video_id = value
        result = job.result
        result.video_id, result.title, result.duration = video_id, job.path.stem, job.info.duration
        if is_unchanged(self.library, video_id, self.options, result):
            return
        self._submit(job, "transcript", job.info, video_id, self.options)
        if self.options.frames and job.info.has_video:
            self._submit(job, "frames", job.info, video_id)

    def _after_transcript(self, job: _File, value) -> None:
        job.transcript, job.spans = value
        job.result.notes += job.transcript.notes
        self._maybe_chapters(job)

    def _after_frames(self, job: _File, value) -> None:
        job.visual, job.thumbs = value
        job.result.notes += job.visual.notes if job.visual else []
        job.result.ocr_frames = job.visual.ocr_frames if job.visual else 0
        self._maybe_chapters(job)

    def _maybe_chapters(self, job: _File) -> None:
        if not job.waiting:  # transcript and frames are both in
            self.chapter_queue.append(job)

    def _after_chapters(self, job: _File, summary: VideoSummary) -> None:
        job.result.notes += summary.notes
        job.prepared = assemble(
            job.path, job.info, job.result.video_id, job.transcript, job.spans, job.visual, summary
        )
        self._submit(job, "embedding", *texts_to_embed(job.prepared.spans))

    def _after_embedding(self, job: _File, value: tuple[KnownVectors, KnownVectors | None]) -> None:
        job.prepared.text_vectors, job.prepared.sparse_rows = value
        step = self._step(job)
        try:
            self._save_thumbnails(job.thumbs)
            write(job.prepared, self.library, job.result, step)
            step("index", 1.0, 1.0)
        except (VidqaError, OSError, ValueError, RuntimeError) as e:
            job.result.status, job.result.error = "failed", failure_message(job.path, e)

    def _step(self, job: _File) -> Callable:
        def step(stage: str, done: float = 0.0, total: float = 1.0) -> None:
            self.progress(str(job.path), stage, done, total)

        return step

    def _save_thumbnails(self, thumbs: dict[str, bytes]) -> None:
        home = self.library.cfg.home
        for relative, data in thumbs.items():
            target = home / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)

    def _settled(self, job: _File) -> bool:
        """Finished (written, unchanged or failed) with no task of its own in flight."""
        result = job.result
        done = result.status in ("ingested", "unchanged") or bool(result.error)
        if not done or job.waiting or job in self.chapter_queue:
            return False
        result.status = "failed" if result.error else result.status
        result.seconds = round(time.monotonic() - job.started, 3)
        self.progress(result.path, "done", 1.0, 1.0)
        return True

    def _relay_progress(self) -> None:
        for path, stage, done, total, _pid in self.ray.get(self.board.take.remote()):
            self.progress(path, stage, done, total)


def chapter_placement(ray, options: IngestOptions, cluster: ClusterOptions) -> tuple[dict, float]:
    """(Ray resources of a chapters task, how many may run at once).

    A served VLM: light CPU tasks, at most `vlm_concurrency` in flight (each sends
    one request at a time), so the server sees a bounded queue whatever the
    cluster's size. A local Qwen3-VL: one GPU per task when the cluster has GPUs
    (Ray then bounds them by GPU count). No VLM: transcript chapters on a CPU.
    """
    spec = parse_spec(options.vlm if options.vlm != "auto" else settings().vlm)
    if spec.kind == "openai":
        return {"num_cpus": SERVED_CHAPTER_CPUS}, cluster.vlm_concurrency
    if spec.kind in ("auto", "transformers") and ray.cluster_resources().get("GPU", 0) >= 1:
        return {"num_cpus": 1, "num_gpus": 1}, float("inf")
    return {"num_cpus": 1}, float("inf")


def _first_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1][:300] if lines else type(error).__name__

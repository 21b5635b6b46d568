"""The Streamlit app's logic as plain functions: no Streamlit import, so tests call them directly.

- Display safety: media text shown literally (rows and views themselves are ui/render.py).
- Uploads: sanitised names, stored only under $VIDQA_HOME/media, never outside it.
- Playback: what may be handed to the browser. Only the file of a ready library video
  or a clip cut from one under $VIDQA_HOME/clips; never a path a user typed.
- Concurrency: the app never writes to the library itself. Ingest and remove run in child
  processes (one Library per file, so each write opens Chroma fresh under the write lock),
  and the app's one reader reopens Chroma whenever another process committed to the catalog.
  Found on chromadb 1.5.9: a PersistentClient does not see vectors another process added
  (queries fail with "Error finding id" once the other writer's upsert lands), a new
  PersistentClient on the same path in the same process reuses the stale one until the old
  client is closed, and a stale client that *writes* leaves the other process's vectors
  unqueryable for everyone. A closed-and-reopened client sees everything.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import BinaryIO, Literal

from ui.i18n import Lang, tr
from vidqa.errors import MediaError, VidqaError
from vidqa.settings import Settings, settings
from vidqa.text import safe_stem

MAX_UPLOAD_MB = 4096  # largest upload (MB); also streamlit's server.maxUploadSize
MAX_NAME_CHARS = 120  # longest stored upload name, extension included (chars)
INLINE_PLAY_MAX_BYTES = (
    1 << 30
)  # Streamlit reads a played file into memory: bigger ones play as clips
LARGE_FILE_WINDOW_S = 600.0  # how much of a too-big file one player shows (s)
POSTER_WIDTH = 320  # px
POSTER_AT = 0.1  # a video's poster frame, as a fraction of its duration
PROGRESS_EVERY_S = 0.25  # the ingest worker writes at most this often per stage (s)
STAGE_ORDER = ("probe", "transcript", "spans", "frames", "ocr", "chapters", "index", "done")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
KEEP_JOBS = 50  # job folders kept under $VIDQA_HOME/jobs (newest first) ...
JOB_MAX_AGE_DAYS = 14  # ... and none older than this, except a running one
_VIDEO_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")


# ---------------------------------------------------------------- display data
# (rows and views are ui/render.py, shared with the CLI; these make them safe to show)


# Everything Markdown, HTML or Streamlit's own syntax (`:red[..]`, `:material/..:`, emoji
# shortcodes, `$` LaTeX) would read: escaped with a backslash, so media text shows literally.
# A colon only before a letter, `/` or `[` (so "0:20" stays readable, "http://" cannot autolink).
_MARKDOWN_SPECIAL = re.compile(r"[\\`*_{}\[\]()#+\-.!|<>~&$=^\"]|:(?=[A-Za-z/\[])")


# GFM turns bare "http://..." and "www...." into links after escapes are resolved: a word
# joiner (U+2060, invisible) after the scheme keeps them text.
_AUTOLINK = re.compile(r"(?i)\b(https?|ftp|www)(?=:|\.)")
WORD_JOINER = "\u2060"


def md_text(text: str) -> str:
    """Text that came from media (transcripts, OCR, summaries, titles, chapter labels, quotes,
    file names) for a Streamlit element that renders Markdown: shown as text, never as
    Markdown/HTML. A subtitle line `![x](http://host/x.png)` must not make the browser fetch."""
    text = _AUTOLINK.sub(lambda m: m.group(1) + WORD_JOINER, str(text))
    return _MARKDOWN_SPECIAL.sub(lambda m: "\\" + m.group(0), text)


def answer_markdown(text: str) -> str:
    """Answer text for st.markdown: literal (see md_text), its line breaks kept."""
    return "  \n".join(md_text(line) for line in text.split("\n"))


DISPLAY_QUESTION_CHARS = 600  # a longer question is shown cut (chars)


def question_problem(text: str | None, lang: Lang = "en") -> str | None:
    """Why a typed question cannot be asked, or None."""
    if not text or not text.strip():
        return tr(lang, "type_question")
    return None


def shown_question(text: str, lang: Lang = "en") -> str:
    """The question as the chat shows it: cut when very long, saying how long it was."""
    text = text.strip()
    if len(text) <= DISPLAY_QUESTION_CHARS:
        return text
    return tr(lang, "question_cut", text=text[:DISPLAY_QUESTION_CHARS].rstrip(), n=f"{len(text):,}")


# How long the player is kept in view after it first comes into view (100 ms ticks): the
# chat may still scroll itself to its bottom once the rerun that drew the player finishes.
PLAYER_WATCH_TICKS = 80


def player_script(container_key: str, seek: float | None, scroll: bool) -> str:
    """JavaScript for the player in `.st-key-<container_key>`, once its media is loaded:
    move it to `seek` s exactly (st.video takes whole seconds, a citation starts at 25.4 s),
    and with `scroll` bring it into view: a click far down the page plays in a player that
    may sit above or below the screen. The page may still be laying out (the player's height
    is only known once the media's size is, and answers above it may still be drawn), and
    the chat scrolls itself to its bottom when a rerun ends, so it keeps the player in view
    for 8 s after it first gets there and until it has held still for a second, and stops
    as soon as the user scrolls, clicks or types. Only a number goes in."""
    seek_js = (
        ""
        if seek is None
        else f"""const want = {float(seek):.3f};
      if (Math.abs(v.currentTime - want) > 0.05 && v.currentTime < want + 0.5) v.currentTime = want;"""
    )
    scroll_js = (
        """const r = v.getBoundingClientRect();
      const inView = r.top >= 0 && r.bottom <= window.innerHeight;
      if (!user && !inView) { v.scrollIntoView({block: 'center'}); still = 0; }
      if (inView && seen < 0) seen = tries;"""
        if scroll
        else "if (seen < 0) seen = tries;"
    )
    return f"""<script>(() => {{
  const sel = '.st-key-{container_key} video, .st-key-{container_key} audio';
  let tries = 0, still = 0, last = null, user = false, seen = -1;
  for (const e of ['wheel', 'touchmove', 'keydown', 'pointerdown'])
    window.addEventListener(e, () => {{ user = true; }}, {{once: true, passive: true}});
  const tick = () => {{
    const v = document.querySelector(sel);
    if (v && v.readyState >= 1) {{
      {seek_js}
      {scroll_js}
      const top = v.getBoundingClientRect().top;
      still = last !== null && Math.abs(top - last) < 1 ? still + 1 : 0;
      last = top;
      if (still >= 10 && seen >= 0 && (user || tries - seen >= {PLAYER_WATCH_TICKS})) return;
    }}
    if (++tries < 400) setTimeout(tick, 100);
  }};
  tick();
}})();</script>"""


def stream_chunks(text: str) -> Iterator[str]:
    """An answer in word-sized pieces for st.write_stream (token streaming plugs in here)."""
    yield from re.findall(r"\S+\s*|\s+", text)


# ---------------------------------------------------------------- uploads and paths


def is_inside(path: str | Path, root: str | Path) -> bool:
    """True when `path` (symlinks resolved) lies under `root`."""
    return Path(path).resolve().is_relative_to(Path(root).resolve())


def safe_upload_name(name: str) -> str:
    """A browser-supplied file name as a plain, media-suffixed name with no path in it."""
    from vidqa.probe import MEDIA_EXTENSIONS

    base = unicodedata.normalize("NFKC", name).replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable())
    stem, dot, ext = base.rpartition(".")
    ext = ext.lower()
    if not dot or f".{ext}" not in MEDIA_EXTENSIONS:
        allowed = " ".join(sorted(MEDIA_EXTENSIONS))
        raise ValueError(f"{name!r} is not a media file name (allowed extensions: {allowed})")
    stem = safe_stem(stem)
    stem = stem[: MAX_NAME_CHARS - len(ext) - 1].rstrip("._-") or "upload"
    return f"{stem}.{ext}"


def _reserve(directory: Path, name: str) -> tuple[Path, BinaryIO]:
    """Create a new file named `name`, or `<stem>-N.<ext>` when taken; never follows a link."""
    stem, _, ext = name.rpartition(".")
    for n in range(10_000):
        candidate = directory / (name if n == 0 else f"{stem}-{n}.{ext}")
        try:
            return candidate, open(candidate, "xb")  # O_EXCL: fails on any existing entry
        except FileExistsError:
            continue
    raise ValueError(f"too many uploads named {name!r} in {directory}")


def path_ingest_allowed(server_address: str | None, cfg: Settings | None = None) -> bool:
    """Ingest by server path only when the app listens on loopback: anyone who can reach a
    network-bound app could otherwise index (and then play) any media file the server can read.

    `server_address` is the bound address (st.get_option("server.address")); unset means
    streamlit bound every interface (`streamlit run ui/app.py`). VIDQA_ALLOW_PATH_INGEST=1
    allows it anyway (a trusted network)."""
    import ipaddress

    if (cfg or settings()).allow_path_ingest:
        return True
    if not server_address:
        return False
    if server_address in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(server_address).is_loopback
    except ValueError:
        return False


def save_upload(name: str, size: int, data: BinaryIO, cfg: Settings | None = None) -> Path:
    """Store an upload under $VIDQA_HOME/media with a sanitised, unique name; returns its path."""
    cfg = cfg or settings()
    if size > MAX_UPLOAD_MB * 1024 * 1024:
        raise ValueError(f"{name!r} is {size / 1024**2:.0f} MB; the limit is {MAX_UPLOAD_MB} MB")
    media = cfg.media_dir
    media.mkdir(parents=True, exist_ok=True)
    dest, out = _reserve(media, safe_upload_name(name))
    try:
        with out:
            if not is_inside(dest, media):
                raise ValueError(f"{dest} is outside {media}")
            shutil.copyfileobj(data, out, 1 << 20)
    except BaseException:
        dest.unlink(missing_ok=True)  # a failed upload leaves nothing behind
        raise
    return dest


def reuse_known_upload(dest: Path, library, cfg: Settings | None = None) -> Path:
    """The file to ingest for a just-saved upload: when the same content is already a library
    video (whose file still exists) or another upload, that file, and the new copy is deleted;
    else `dest`. A re-upload must not leave `lecture-1.mp4` next to `lecture.mp4`."""
    from vidqa.probe import content_id

    cfg = cfg or settings()
    cid = content_id(dest)
    known = library.catalog.video(cid)
    if (
        known is not None
        and known.path
        and Path(known.path).is_file()
        and Path(known.path).resolve() != dest.resolve()
    ):
        dest.unlink()
        return Path(known.path)
    size = dest.stat().st_size
    for other in sorted(cfg.media_dir.iterdir()):
        if (
            other != dest
            and other.is_file()
            and not other.is_symlink()
            and other.stat().st_size == size
            and content_id(other) == cid
        ):
            dest.unlink()
            return other
    return dest


# ---------------------------------------------------------------- playback


@dataclass(frozen=True)
class Playback:
    """What the player gets: a file inside the library and whole seconds, as st.video takes
    them (it truncates to int), plus the exact start the page then seeks to."""

    path: Path
    start: int  # s
    end: int | None  # s; None plays to the end
    offset: float = 0.0  # s of the source before `path` begins (cut clips)
    seek: float | None = None  # s: the exact cited start, when it is not a whole second


def player_window(start: float, end: float | None, duration: float) -> tuple[int, int | None]:
    """Whole seconds that contain [start, end]; end stays after start and within the video."""
    first = max(0, math.floor(start))
    if end is None:
        return first, None
    last = min(math.ceil(end), math.ceil(duration)) if duration > 0 else math.ceil(end)
    return first, max(last, first + 1)


def servable_path(video) -> Path | None:
    """The media file of a ready library video, if it may be played: never a user-typed path."""
    from vidqa.probe import MEDIA_EXTENSIONS

    if video is None or video.status != "ready" or not video.path:
        return None
    path = Path(video.path)
    if path.suffix.lower() not in MEDIA_EXTENSIONS or not path.is_file():
        return None
    return path


def clip_path(video_id: str, start: float, end: float, cfg: Settings | None = None) -> Path:
    """$VIDQA_HOME/clips/<video_id>/<start_ms>-<end_ms>.mp4"""
    if not _VIDEO_ID.match(video_id):
        raise ValueError(f"video id {video_id!r} cannot name a folder")
    cfg = cfg or settings()
    return cfg.home / "clips" / video_id / f"{round(start * 1000)}-{round(end * 1000)}.mp4"


def cached_clip(video, start: float, end: float, cfg: Settings | None = None) -> Path:
    """Cut [start, end] of a library video once; later calls reuse the file."""
    from qa.clips import cut_clip

    out = clip_path(video.id, start, end, cfg)
    if out.is_file():
        return out
    src = servable_path(video)
    if src is None:
        raise MediaError(video.path or video.title, "no playable media file for this video")
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.{threading.get_ident()}.mp4")
    cut_clip(src, start, min(end, video.duration), tmp)
    tmp.replace(out)
    return out


def playback_for(
    video, start: float = 0.0, end: float | None = None, cfg: Settings | None = None
) -> Playback | None:
    """The media serving decision: the whole file when small enough, else a cut clip."""
    path = servable_path(video)
    if path is None:
        return None
    if path.stat().st_size <= INLINE_PLAY_MAX_BYTES:
        first, last = player_window(start, end, video.duration)
        exact = max(0.0, float(start))
        return Playback(path, first, last, seek=exact if exact != first else None)
    stop = end if end is not None else min(video.duration, start + LARGE_FILE_WINDOW_S)
    return Playback(cached_clip(video, start, stop, cfg), 0, None, offset=start)


# ---------------------------------------------------------------- thumbnails


def _frame_thumbs(video_id: str, cfg: Settings) -> list[tuple[float, Path]]:
    """Frame thumbnails written by ingest (<thumbs>/<id>/<ms>.jpg), by time."""
    folder = cfg.thumbs_dir / video_id
    if not _VIDEO_ID.match(video_id) or not folder.is_dir():
        return []
    return sorted((int(p.stem) / 1000, p) for p in folder.glob("*.jpg") if p.stem.isdigit())


def thumbnail_for(video, at: float | None = None, cfg: Settings | None = None) -> Path | None:
    """An image of `video` near `at` (s): an ingest thumbnail, else a cached ffmpeg grab."""
    cfg = cfg or settings()
    at = video.duration * POSTER_AT if at is None else at
    thumbs = _frame_thumbs(video.id, cfg)
    if thumbs:
        return min(thumbs, key=lambda item: abs(item[0] - at))[1]
    src = servable_path(video)
    if src is None or not video.has_video or shutil.which("ffmpeg") is None:
        return None
    out = cfg.home / "posters" / video.id / f"{round(at)}.jpg"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.stem}.{os.getpid()}.{threading.get_ident()}.jpg")
        cmd = [
            "ffmpeg",
            "-nostdin",
            "-y",
            "-loglevel",
            "error",
            "-ss",
            f"{at:.2f}",
            "-i",
            str(src),
            "-frames:v",
            "1",
            "-vf",
            f"scale={POSTER_WIDTH}:-2",
            "-q:v",
            "5",
            str(tmp),
        ]
        if (
            subprocess.run(cmd, check=False, capture_output=True).returncode != 0
            or not tmp.exists()
        ):
            return None  # a missing poster is cosmetic: the row still shows
        tmp.replace(out)
    return out


# ---------------------------------------------------------------- ingest jobs (child processes)


@dataclass
class FileProgress:
    path: str
    stages: dict[str, float] = field(default_factory=dict)  # stage -> fraction done, in order seen
    stage: str = "queued"
    status: Literal["running", "ingested", "unchanged", "failed"] = "running"
    error: str | None = None
    video_id: str | None = None
    title: str | None = None
    notes: list[str] = field(default_factory=list)  # what was skipped or doubtful (IngestResult)

    @property
    def name(self) -> str:
        return Path(self.path).name


@dataclass
class JobState:
    id: str
    files: list[FileProgress]
    finished: bool
    started: float  # unix time
    error: str | None = None  # the worker itself failed (not one file)

    @property
    def failed(self) -> list[FileProgress]:
        return [f for f in self.files if f.status == "failed"]


_PROCS: dict[str, subprocess.Popen] = {}  # jobs this process started, so they get reaped


def jobs_dir(cfg: Settings | None = None) -> Path:
    return (cfg or settings()).home / "jobs"


def fold_events(events: Iterable[dict]) -> tuple[list[FileProgress], bool]:
    """Worker events -> per-file progress, and whether the worker said it ended."""
    files: dict[str, FileProgress] = {}
    ended = False
    for e in events:
        kind = e.get("event")
        if kind == "files":
            for p in e["paths"]:
                files.setdefault(p, FileProgress(p))
        elif kind == "progress":
            f = files.setdefault(e["path"], FileProgress(e["path"]))
            total = e.get("total") or 0
            f.stage = e["stage"]
            f.stages[e["stage"]] = (
                1.0 if e["stage"] == "done" else min(1.0, e["done"] / total) if total else 0.0
            )
            for earlier in list(f.stages)[:-1]:
                f.stages[earlier] = 1.0  # a later stage started: the earlier ones are finished
        elif kind == "result":
            f = files.setdefault(e["path"], FileProgress(e["path"]))
            f.status, f.error = e["status"], e.get("error")
            f.video_id, f.title, f.stage = e.get("video_id"), e.get("title"), "done"
            f.notes = list(e.get("notes") or [])
        elif kind == "end":
            ended = True
    return list(files.values()), ended


def start_ingest_job(
    paths: list[str],
    *,
    force: bool = False,
    frames: bool = True,
    vlm: str | None = None,
    uploads: Iterable[str] = (),
    cfg: Settings | None = None,
) -> str:
    """Run ingest in a child process that reports to $VIDQA_HOME/jobs/<id>/events.jsonl.

    `uploads`: the paths that are uploads the app saved; one whose ingest fails is deleted."""
    cfg = cfg or settings()
    prune_jobs(cfg)
    job_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    folder = jobs_dir(cfg) / job_id
    folder.mkdir(parents=True)
    (folder / "request.json").write_text(
        json.dumps(
            {"paths": paths, "force": force, "frames": frames, "vlm": vlm, "uploads": list(uploads)}
        )
    )
    env = {**os.environ, "VIDQA_HOME": str(cfg.home)}
    with open(folder / "log.txt", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ui.app_logic", "ingest-job", str(folder)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    (folder / "pid").write_text(str(proc.pid))
    _PROCS[job_id] = proc
    return job_id


def _worker_alive(job_id: str, folder: Path) -> bool:
    if job_id in _PROCS:
        return _PROCS[job_id].poll() is None
    try:
        os.kill(int((folder / "pid").read_text()), 0)  # started by an earlier app process
    except (OSError, ValueError):
        return False
    return True


def read_job(job_id: str, cfg: Settings | None = None) -> JobState:
    folder = jobs_dir(cfg) / job_id
    lines = (
        (folder / "events.jsonl").read_text().splitlines()
        if (folder / "events.jsonl").exists()
        else []
    )
    files, ended = fold_events(json.loads(line) for line in lines if line.strip())
    state = JobState(job_id, files, ended, folder.stat().st_mtime)
    if not ended and not _worker_alive(job_id, folder):
        log = (
            (folder / "log.txt").read_text(errors="replace").strip().splitlines()
            if (folder / "log.txt").exists()
            else []
        )
        state.finished, state.error = (
            True,
            f"ingest worker stopped: {log[-1] if log else 'no output'}",
        )
        for f in files:
            if f.status == "running":
                f.status, f.error = "failed", state.error
    return state


def recent_jobs(cfg: Settings | None = None, limit: int = 10) -> list[JobState]:
    root = jobs_dir(cfg)
    ids = (
        sorted((p.name for p in root.iterdir() if p.is_dir()), reverse=True)
        if root.is_dir()
        else []
    )
    return [read_job(i, cfg) for i in ids[:limit]]


def prune_jobs(
    cfg: Settings | None = None, keep: int = KEEP_JOBS, max_age_days: float = JOB_MAX_AGE_DAYS
) -> list[str]:
    """Delete job folders beyond the newest `keep` or older than `max_age_days`; never a
    running one. Returns the ids deleted."""
    root = jobs_dir(cfg)
    if not root.is_dir():
        return []
    folders = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name, reverse=True)
    cutoff = time.time() - max_age_days * 86_400
    pruned = []
    for n, folder in enumerate(folders):
        if (n < keep and folder.stat().st_mtime >= cutoff) or _job_running(folder):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        pruned.append(folder.name)
    return pruned


def _job_running(folder: Path) -> bool:
    events = folder / "events.jsonl"
    ended = events.exists() and '"event": "end"' in events.read_text(errors="replace")
    return not ended and _worker_alive(folder.name, folder)


# ---------------------------------------------------------------- removals (child processes)


@dataclass
class Removal:
    video_id: str
    title: str
    path: str | None
    pid: int


def removals_dir(cfg: Settings | None = None) -> Path:
    return (cfg or settings()).home / "removing"


def removals_in_progress(cfg: Settings | None = None) -> list[Removal]:
    """Removals another session (or this one) started that are still running."""
    root = removals_dir(cfg)
    found = []
    for marker in sorted(root.glob("*.json")) if root.is_dir() else []:
        try:
            removal = Removal(**json.loads(marker.read_text()))
            os.kill(removal.pid, 0)
        except (OSError, ValueError, TypeError):
            marker.unlink(missing_ok=True)  # finished or crashed: the marker is stale
            continue
        found.append(removal)
    return found


def being_removed(path: str | Path, cfg: Settings | None = None) -> Removal | None:
    """The running removal of this file (same path, or same content), if any."""
    from vidqa.probe import content_id

    removals = removals_in_progress(cfg)
    if not removals:
        return None
    path = Path(path)
    resolved = path.resolve()
    cid = content_id(path) if path.is_file() else None
    return next(
        (
            r
            for r in removals
            if r.video_id == cid or (r.path and Path(r.path).resolve() == resolved)
        ),
        None,
    )


def remove_video(video_id: str, cfg: Settings | None = None) -> str:
    """Remove through `vidqa remove` in a child process (the app itself never writes).

    While it runs, $VIDQA_HOME/removing/<id>.json says so, so no session re-adds the file
    before the removal has finished."""
    from index.catalog import Catalog

    cfg = cfg or settings()
    catalog = Catalog(cfg.catalog_path)
    try:
        target = catalog.video(video_id)
    finally:
        catalog.close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "remove", video_id, "--yes"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "VIDQA_HOME": str(cfg.home)},
    )
    marker = removals_dir(cfg) / f"{video_id}.json"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(
        json.dumps(
            asdict(
                Removal(
                    video_id,
                    target.title if target else video_id,
                    target.path if target else None,
                    proc.pid,
                )
            )
        )
    )
    try:
        out, err = proc.communicate()
    finally:
        marker.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise VidqaError(
            err.strip().splitlines()[-1]
            if err.strip()
            else f"vidqa remove {video_id} failed ({proc.returncode})"
        )
    return out.strip()


def run_job(folder: Path) -> int:
    """The worker: ingest each file with a fresh Library, one JSON event per line."""
    from index.library import Library
    from ingest.pipeline import IngestOptions, ingest
    from vidqa.probe import discover

    request = json.loads((folder / "request.json").read_text())
    options = IngestOptions(force=bool(request.get("force")), frames=request.get("frames", True))
    if request.get("vlm"):
        options = replace(options, vlm=request["vlm"])
    last: dict[tuple[str, str], float] = {}
    uploads = set(request.get("uploads") or ())
    with open(folder / "events.jsonl", "a", buffering=1) as events:

        def emit(**event) -> None:
            events.write(json.dumps(event) + "\n")

        def progress(path: str, stage: str, done: float, total: float) -> None:
            now = time.monotonic()
            if (
                stage == "done"
                or done >= total
                or now - last.get((path, stage), 0.0) >= PROGRESS_EVERY_S
            ):
                last[(path, stage)] = now
                emit(event="progress", path=path, stage=stage, done=done, total=total)

        files = discover(request["paths"])
        emit(event="files", paths=[str(p) for p in files])
        failed = 0
        for path in files:
            library = Library()
            try:
                result = ingest(
                    [path], library=library, options=options, progress=progress
                ).results[0]
            finally:
                library.close()
            failed += result.status == "failed"
            if result.status == "failed" and str(path) in uploads:
                Path(path).unlink(missing_ok=True)  # a failed upload is not kept in media/
            emit(event="result", **asdict(result))
        emit(event="end", failed=failed)
    return 1 if failed else 0


# ---------------------------------------------------------------- reading while others write


def _chroma_errors() -> tuple[type[BaseException], ...]:
    errors = sys.modules.get("chromadb.errors")  # not imported yet: no Chroma error can happen
    return (errors.ChromaError,) if errors else ()


class LibraryReader:
    """The app's one Library, shared by sessions; current with other processes' writes.

    `Library.refresh()` reopens Chroma when another process committed to the catalog (an
    embedded client never sees vectors added elsewhere). A Chroma error in the instant
    between another process's vector write and its catalog commit refreshes and retries once.
    """

    def __init__(self, cfg: Settings | None = None):
        self.cfg = cfg or settings()
        self._lock = threading.RLock()
        self._library = None
        self._retried = 0

    @property
    def reopened(self) -> int:
        """Times Chroma was reopened: another process committed (the library's own count,
        which includes reopens inside a search that overlapped a commit), or a retry."""
        return self._retried + (self._library.reopens if self._library is not None else 0)

    @contextmanager
    def open(self) -> Iterator:
        """The current Library, held for the block (other sessions wait)."""
        from index.library import Library

        with self._lock:
            if self._library is None:
                self._library = Library(self.cfg)
            else:
                self._library.refresh()
            yield self._library

    def run(self, fn: Callable):
        """fn(library), retried once on a reopened Chroma client if Chroma fails."""
        with self.open() as library:
            try:
                return fn(library)
            except _chroma_errors():
                library.reset_vectors()
                self._retried += 1
                return fn(library)


def reindex(videos_done: Callable[[int, int], None]) -> int:
    """`vidqa reindex`: the library's text embedded again with the default search model, by
    a Library of its own, so the shared reader keeps answering with the old model until the
    switch commits (then it follows, as it follows any other process's switch)."""
    from index.library import Library
    from vidqa.settings import DEFAULT_EMBED_MODEL

    library = Library(settings())
    try:
        return library.use_text_model(DEFAULT_EMBED_MODEL, videos_done)
    finally:
        library.close()


def conversation_for(state: dict, video_ids: list[str], key: str = "ask_conversation"):
    """The page's qa.chat.Conversation (kept in `state`, Streamlit's session state), asking
    about `video_ids` ([] = the library): the same follow-ups as `vidqa chat`."""
    from qa.chat import Conversation

    conversation = state.get(key)
    if conversation is None:
        conversation = state[key] = Conversation()
    conversation.scope = tuple(video_ids)
    return conversation


def confident_search(query: str, library, k: int) -> list:
    """Search hits, or none when even the best does not match the query (as `vidqa search`)."""
    from qa.abstain import confident_hits

    return confident_hits(query, library.search(query, k=k), library)


def streamlit_command(port: int, host: str) -> list[str]:
    """`streamlit run ui/app.py`, headless, on `host`, with usage stats off."""
    app = Path(__file__).with_name("app.py")
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.port",
        str(port),
        "--server.address",
        host,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.maxUploadSize",
        str(MAX_UPLOAD_MB),
        "--server.fileWatcherType",
        "none",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "minimal",
    ]


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "ingest-job":
        sys.exit("usage: python -m ui.app_logic ingest-job JOB_DIR")
    sys.exit(run_job(Path(sys.argv[2])))

"""Find media files and read what ingest needs to know about each, without decoding it.

`probe()` opens a file with PyAV (imported lazily) and returns a `MediaInfo`, or
raises `MediaError(path, problem)` with a one-line problem a user can act on. The
decoders in vidqa/decode.py read the same `MediaInfo` and open files with
`open_media()`; `ffmpeg_path()` is the one way to find the ffmpeg executable.
`content_id()` is the library's video id: a hash of the size and three sampled
blocks, so it survives renames and moves and costs the same for 10 MB or 10 GB.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from vidqa.errors import MediaError, MissingDependency

VIDEO_EXTENSIONS = frozenset(".mp4 .mkv .mov .webm .avi .m4v .mpg .mpeg .ts .wmv .flv".split())
AUDIO_EXTENSIONS = frozenset(".mp3 .m4a .wav .flac .ogg .opus .aac .wma".split())
MEDIA_EXTENSIONS = VIDEO_EXTENSIONS | AUDIO_EXTENSIONS

KEYFRAME_SCAN_S = 10.0  # seconds of packets read to estimate the keyframe interval
TAIL_CHECK_S = 5.0  # seek this far before the stated end to check the data is there (s)
TAIL_SLACK_S = 10.0  # packets must reach this close to the stated end (s)
TAIL_CHECK_PACKETS = 5000  # stop reading after this many packets and assume the file is whole
ROTATION_DECODE_PACKETS = 32  # give up reading rotation if no frame decodes by then
HASH_BLOCK = 1 << 20  # bytes per sampled block in content_id (1 MiB)
CONTENT_ID_HEX = 16  # hex chars in a content id (64 bits)
AV_TIME_BASE = 1_000_000  # container.duration is in microseconds
# Demuxers that read single pictures: a still image is not a video to index.
IMAGE_DEMUXERS = ("image2", "_pipe")
# Demuxers that draw a text file (ANSI art, .txt/.nfo/.bin) as a "video": notes, not media.
TEXT_DEMUXERS = frozenset({"tty", "bin", "xbin", "idf", "adf"})
# Text after which ffmpeg's log says it guessed the format from a weak signature.
MISDETECTION_HINT = "misdetection possible"


@dataclass
class MediaInfo:
    """What ingest and the decoders know about a file before decoding it (one probe)."""

    path: Path
    duration: float  # seconds
    has_video: bool
    has_audio: bool
    width: int | None = None  # display size, after rotation and pixel aspect ratio
    height: int | None = None
    fps: float | None = None  # average frame rate
    rotation: int = (
        0  # display-matrix rotation as PyAV reports it: degrees counter-clockwise (0/90/180/270)
    )
    video_codec: str | None = None
    pix_fmt: str | None = None
    subtitle_streams: list[dict] = field(default_factory=list)  # {index, codec, language}
    audio_language: str | None = None  # the first audio stream's language tag, if it has one
    size: int = 0  # bytes
    mtime: float = 0.0  # seconds since the epoch
    keyframe_interval: float | None = None  # seconds, estimated from the first packets
    start: float = 0.0  # container start time (s): decoded frame times are reported from it
    keyframe_times: tuple[float, ...] = field(default=(), repr=False)  # s, demuxer index


# --- discovery --------------------------------------------------------------------


def is_media_name(path: Path) -> bool:
    return path.suffix.lower() in MEDIA_EXTENSIONS


def _is_hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _walk(folder: Path) -> Iterable[Path]:
    for path in folder.rglob("*"):
        if path.is_file() and is_media_name(path) and not _is_hidden(path, folder):
            yield path


def discover(paths: list[str | Path]) -> list[Path]:
    """Media files under `paths`, in a stable order, each once.

    A file named explicitly is kept whatever its extension (probe() then says
    clearly if it is not media); folders are walked recursively for media
    extensions, skipping hidden files and folders. Missing paths are kept so
    the caller reports them per file rather than losing them silently.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        batch = sorted(_walk(path)) if path.is_dir() else [path]
        for item in batch:
            key = item.resolve()
            if key not in seen:
                seen.add(key)
                found.append(item)
    return found


# --- content id -------------------------------------------------------------------


def _block_offsets(size: int) -> list[int]:
    """Start, middle and end blocks; fewer when the file is small enough to overlap."""
    if size <= HASH_BLOCK:
        return [0]
    middle = size // 2 - HASH_BLOCK // 2
    return sorted({0, max(0, middle), size - HASH_BLOCK})


def content_id(path) -> str:
    """16 hex chars identifying the file's bytes, not its name or location.

    Hashes the size plus up to three 1 MiB blocks, so two files that differ
    only outside the sampled blocks (same size) collide; for real media that
    means re-encoded copies of the same size, which is vanishingly rare.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        digest = hashlib.blake2b(str(size).encode(), digest_size=CONTENT_ID_HEX // 2)
        with path.open("rb") as handle:
            for offset in _block_offsets(size):
                handle.seek(offset)
                digest.update(handle.read(HASH_BLOCK))
    except FileNotFoundError as e:
        raise MediaError(path, "file not found") from e
    except OSError as e:
        raise MediaError(path, f"cannot read file: {e.strerror or e}") from e
    return digest.hexdigest()


# --- probing ----------------------------------------------------------------------


def import_av():
    import av  # a required dependency; imported here so `vidqa --help` stays fast
    import av.logging

    return av


def ffmpeg_path() -> str:
    """The ffmpeg executable (cutting clips, extracting subtitle streams)."""
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise MissingDependency("ffmpeg is not on PATH: install it (e.g. apt install ffmpeg)")
    return exe


@contextmanager
def _ffmpeg_log(av):
    """Capture ffmpeg's log while opening: PyAV's own error only says 'Invalid data'."""
    old_level, old_skip = av.logging.get_level(), av.logging.get_skip_repeated()
    av.logging.set_level(av.logging.WARNING)
    # Otherwise a second bad file with the same error logs nothing at all.
    av.logging.set_skip_repeated(False)
    try:
        with av.logging.Capture() as logs:
            yield logs
    finally:
        av.logging.set_skip_repeated(old_skip)
        av.logging.set_level(old_level)


def _open_problem(logs: list, error: Exception, invalid_data: bool) -> str:
    if not invalid_data:  # permissions, I/O errors: the OS reason says it best
        return f"cannot open: {getattr(error, 'strerror', None) or error}"
    messages = [message.strip() for _level, _name, message in logs if message.strip()]
    if not messages or any(MISDETECTION_HINT in m for m in messages):
        return "not a media file (unrecognised format)"
    return f"unreadable media: {messages[-1]}"


def _open(path: Path):
    av = import_av()
    try:
        with _ffmpeg_log(av) as logs:
            return av.open(str(path))
    except av.error.FFmpegError as e:
        invalid = isinstance(e, av.error.InvalidDataError)
        raise MediaError(path, _open_problem(logs, e, invalid)) from e


def _check_file(path: Path) -> os.stat_result:
    if not path.exists():
        raise MediaError(path, "file not found")
    if path.is_dir():
        raise MediaError(path, "is a folder, not a media file")
    stat = path.stat()
    if stat.st_size == 0:
        raise MediaError(path, "empty file (0 bytes)")
    return stat


def _real_video_streams(container) -> list:
    """Video streams that are moving pictures, not cover art attached to audio."""
    attached = import_av().stream.Disposition.attached_pic
    return [s for s in container.streams.video if not s.disposition & attached]


def open_media(path: Path):
    """An open PyAV container, or MediaError with the problem in one line (the only opener)."""
    _check_file(path)
    return _open(path)


def probe(path) -> MediaInfo:
    """Read duration, streams, size and keyframe spacing of one media file."""
    path = Path(path)
    stat = _check_file(path)
    container = _open(path)
    try:
        if any(tag in container.format.name for tag in IMAGE_DEMUXERS):
            raise MediaError(path, "not a media file (still image)")
        if TEXT_DEMUXERS & set(container.format.name.split(",")):
            raise MediaError(
                path, "not a media file (a text file: ffmpeg would only draw its characters)"
            )
        video = _real_video_streams(container)
        audio = list(container.streams.audio)
        if not video and not audio:
            raise MediaError(path, "not a media file (no audio or video stream)")
        info = MediaInfo(
            path=path,
            duration=_duration(container, path),
            has_video=bool(video),
            has_audio=bool(audio),
            subtitle_streams=_subtitle_streams(container),
            audio_language=audio[0].metadata.get("language") if audio else None,
            size=stat.st_size,
            mtime=stat.st_mtime,
            start=(container.start_time or 0) / AV_TIME_BASE,
        )
        if video:
            _fill_video(info, container, video[0])
        return info
    finally:
        container.close()


def _subtitle_streams(container) -> list[dict]:
    return [
        {
            "index": s.index,
            "codec": s.codec_context.name if s.codec_context else None,
            "language": s.metadata.get("language"),
        }
        for s in container.streams.subtitles
    ]


# --- duration ---------------------------------------------------------------------


def _duration(container, path: Path) -> float:
    """Container duration, else the longest stream's, else demux to the last packet."""
    seconds = _header_duration(container)
    if seconds is not None and not _tail_present(container, seconds):
        raise MediaError(
            path,
            f"unreadable media: truncated (data stops before the stated end at {seconds:.1f} s)",
        )
    if seconds is None:
        seconds = _demuxed_duration(path)
    if seconds is None:
        raise MediaError(path, "unreadable media: duration unknown (truncated file?)")
    if seconds <= 0:
        raise MediaError(path, "zero duration")
    return seconds


def _header_duration(container) -> float | None:
    if container.duration and container.duration > 0:
        return container.duration / AV_TIME_BASE
    streams = [*container.streams.audio, *container.streams.video]
    lengths = [float(s.duration * s.time_base) for s in streams if s.duration and s.time_base]
    return max(lengths) if lengths else None


def _tail_present(container, seconds: float) -> bool:
    """False when a header promises `seconds` but the packets stop well before that.

    Catches mp4s cut after a front moov atom and mkvs cut mid-way, whose headers
    still state the full length. Reads packets only, from TAIL_CHECK_S before the
    stated end; files that cannot seek get the benefit of the doubt.
    """
    av = import_av()
    streams = list(container.streams.audio) or _real_video_streams(container)
    if not streams:
        return True
    stream = streams[0]
    start = (container.start_time or 0) / AV_TIME_BASE
    threshold = start + seconds - TAIL_SLACK_S
    try:
        container.seek(int((start + max(0.0, seconds - TAIL_CHECK_S)) * AV_TIME_BASE))
    except av.error.FFmpegError:
        return True
    try:
        for n, packet in enumerate(container.demux(stream)):
            if packet.pts is not None and packet.pts * stream.time_base >= threshold:
                return True
            if n >= TAIL_CHECK_PACKETS:
                return True  # still reading: not proof of a cut, so don't claim one
    except av.error.FFmpegError:
        pass
    finally:
        container.seek(container.start_time or 0)
    return False


def _demuxed_duration(path: Path) -> float | None:
    """Last packet end minus first packet start, reading packets only (no decoding)."""
    container = _open(path)
    try:
        streams = list(container.streams.audio) or _real_video_streams(container)
        if not streams:
            return None
        stream = streams[0]
        first = last = None
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            first = packet.pts if first is None else min(first, packet.pts)
            end = packet.pts + (packet.duration or 0)
            last = end if last is None else max(last, end)
    except import_av().error.FFmpegError:
        pass  # a truncated tail: keep what was read before it
    finally:
        container.close()
    if first is None:
        return None
    return float((last - first) * stream.time_base)


# --- video details ----------------------------------------------------------------


def _fill_video(info: MediaInfo, container, stream) -> None:
    ctx = stream.codec_context
    info.video_codec = ctx.name
    info.pix_fmt = ctx.pix_fmt
    rate = stream.average_rate or stream.guessed_rate
    info.fps = float(rate) if rate else None
    keyframes, rotation = _scan_start(container, stream)
    info.keyframe_interval = _keyframe_interval(keyframes)
    info.keyframe_times = _keyframe_index(stream, info.start)
    info.rotation = rotation
    info.width, info.height = _display_size(
        ctx.width, ctx.height, stream.sample_aspect_ratio, rotation
    )


def _display_size(width, height, sar, rotation: int) -> tuple[int | None, int | None]:
    if not width or not height:
        return None, None
    if sar and sar > 0 and sar != 1:
        width = round(width * sar)  # anamorphic: pixels are not square
    if rotation % 180 == 90:
        width, height = height, width
    return width, height


def _scan_start(container, stream) -> tuple[list[float], int]:
    """Keyframe times in the first KEYFRAME_SCAN_S, and the rotation of the first frame.

    Reading packets is cheap; only packets up to the first decoded frame are
    decoded, because PyAV exposes the display matrix on frames, not streams.
    """
    av = import_av()
    keyframes: list[float] = []
    rotation = None
    try:
        for n, packet in enumerate(container.demux(stream)):
            if packet.pts is None:
                continue
            seconds = float(packet.pts * stream.time_base)
            if packet.is_keyframe:
                keyframes.append(seconds)
            if rotation is None and n < ROTATION_DECODE_PACKETS:
                rotation = next((int(f.rotation) % 360 for f in packet.decode()), None)
            if seconds - (keyframes[0] if keyframes else seconds) > KEYFRAME_SCAN_S:
                break
    except av.error.FFmpegError:
        pass  # a damaged packet early on only costs us the estimate, not the probe
    return keyframes, rotation or 0


def _keyframe_interval(keyframes: list[float]) -> float | None:
    """Mean spacing of the keyframes seen; None with fewer than two."""
    times = sorted(set(keyframes))
    if len(times) < 2:
        return None
    return round((times[-1] - times[0]) / (len(times) - 1), 3)


def _keyframe_index(stream, start: float) -> tuple[float, ...]:
    """Keyframe times (s) from the demuxer index (decode timestamps, <= presentation)."""
    entries = stream.index_entries
    if not entries:
        return ()
    tb = float(stream.time_base)
    return tuple(sorted(e.timestamp * tb - start for e in entries if e.is_keyframe))

"""Cut a cited clip out of its video with ffmpeg.

Stream copy is instant but can only start on a keyframe; when the nearest
keyframe is off the cited start by more than KEYFRAME_TOLERANCE_S we re-encode,
so a citation's clip always starts where the citation says.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from vidqa.errors import MediaError
from vidqa.probe import ffmpeg_path
from vidqa.text import safe_stem
from vidqa.timefmt import fmt_ts

KEYFRAME_TOLERANCE_S = 0.1
KEYFRAME_SEARCH_S = 10.0  # look this far back for a keyframe before the start (s)


def clip_name(title: str, start: float, end: float) -> str:
    """A file name for a clip that says what it is: "lecture_0-43_0-59.mp4"."""
    stem = safe_stem(title)[:60] or "clip"
    return f"{stem}_{fmt_ts(start).replace(':', '-')}_{fmt_ts(end).replace(':', '-')}.mp4"


def can_stream_copy(path: Path, t: float) -> bool:
    """True when a cut at t needs no re-encode: audio only, or a video keyframe right at t."""
    import av

    with av.open(str(path)) as container:
        if not container.streams.video:
            return True  # audio frames are ~20 ms: any start is close enough
        stream = container.streams.video[0]
        container.seek(
            int(max(0.0, t - KEYFRAME_SEARCH_S) / stream.time_base),
            stream=stream,
            backward=True,
            any_frame=False,
        )
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            ts = float(packet.pts * stream.time_base)
            if ts > t + KEYFRAME_TOLERANCE_S:
                return False
            if packet.is_keyframe and abs(ts - t) <= KEYFRAME_TOLERANCE_S:
                return True
        return False


def _prepare_output(out: Path) -> Path:
    """The clip's path, absolute (so a name like `-z.mp4` can never read as an ffmpeg option),
    with its folder created; a folder that cannot be made is a one-line MediaError."""
    out = out.expanduser().absolute()
    if out.is_dir():
        raise MediaError(out, "is a folder: give the clip a file name (e.g. -o clip.mp4)")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise MediaError(out, f"cannot create the folder for the clip: {e.strerror or e}") from e
    return out


def cut_clip(
    src: str | Path, start: float, end: float, out: str | Path, *, fps: float | None = None
) -> tuple[Path, str]:
    """Write [start, end] of `src` to `out`; returns (out, "copy" | "reencode").

    `fps`: re-encode at this frame rate (smaller clips for a model that samples few frames).
    """
    src = Path(src).absolute()
    if not src.exists():
        raise MediaError(src, "file not found (moved or deleted since it was ingested?)")
    if end <= start:
        raise MediaError(src, f"clip end {end:.2f} s is not after its start {start:.2f} s")
    out = _prepare_output(Path(out))
    copy = fps is None and can_stream_copy(src, start)
    codec = (
        ["-c", "copy"]
        if copy
        else [
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "23",
            "-c:a",
            "aac",
            "-movflags",
            "+faststart",
        ]
    )
    if fps is not None:
        codec += ["-vf", f"fps={fps:g}"]
    cmd = [
        ffmpeg_path(),
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        "-ss",
        f"{start:.3f}",
        "-i",
        str(src),
        "-t",
        f"{end - start:.3f}",
        *codec,
        "-map",
        "0:v:0?",
        "-map",
        "0:a:0?",
        str(out),
    ]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        raise MediaError(
            src, f"ffmpeg could not cut {start:.2f}-{end:.2f} s: {proc.stderr.strip()[-300:]}"
        )
    return out, "copy" if copy else "reencode"

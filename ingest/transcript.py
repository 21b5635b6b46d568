"""Where a video's words come from: a sidecar subtitle file, an embedded subtitle
stream, or speech recognition -- first that exists wins, and the choice is recorded.

Subtitles written by people beat ASR (names, terms, punctuation), so ASR only runs
when neither a sidecar nor an embedded text track is there.
"""

from __future__ import annotations

import html
import math
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from index.records import Segment
from models.asr import SecondsProgress, asr_notes, model_label, transcribe
from vidqa.errors import MediaError
from vidqa.languages import primary_language
from vidqa.probe import ffmpeg_path
from vidqa.timefmt import fmt_ts

SUBTITLE_EXTENSIONS = (".srt", ".vtt")  # in preference order for the same stem
# Text subtitle codecs ffmpeg can turn into WebVTT; image ones (PGS, DVD, DVB) need OCR.
IMAGE_SUBTITLE_CODECS = frozenset({"hdmv_pgs_subtitle", "dvd_subtitle", "dvb_subtitle", "xsub"})
UTF8 = "utf-8-sig"  # also strips a byte-order mark, common in .srt files from Windows
FALLBACK_ENCODING = "latin-1"  # older Western European subtitles; never fails to decode
FFMPEG_TIMEOUT_S = 300  # extracting one subtitle stream reads the whole file once
REPAIRED_CUE_MAX_S = 5.0  # a cue that ends before it starts is given at most this long (s)
WRONG_FILE_SHARE = 0.1  # more cues than this share past the end: probably another file's

# "talk.en.srt", "talk.zh-CN.vtt", "talk.pt_BR.srt": the tag between stem and extension.
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
TAG = re.compile(r"<[^>]*>")  # <i>, </b>, <c.yellow>, <v Speaker>, <00:00:01.000>
ASS_OVERRIDE = re.compile(r"\{\\[^}]*\}")  # {\an8}, {\i1}
SPACES = re.compile(r"\s+")


@dataclass
class Transcript:
    segments: list[Segment]
    source: str  # srt | vtt | embedded | asr:<model name> | none
    language: str | None = None
    notes: list[str] = field(default_factory=list)  # doubts worth telling the user

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments)


# --- languages --------------------------------------------------------------------


def _language_matches(tag: str | None, wanted: str | None) -> bool:
    return wanted is not None and primary_language(tag) == primary_language(wanted)


# --- sidecar files ----------------------------------------------------------------


def _sidecar_tag(media: Path, candidate: Path) -> str | None:
    """'' for an exact-stem sidecar, the language tag for 'stem.<tag>.ext', else None."""
    if candidate.suffix.lower() not in SUBTITLE_EXTENSIONS or not candidate.is_file():
        return None
    middle = candidate.name[: -len(candidate.suffix)]
    if middle == media.stem:
        return ""
    prefix = media.stem + "."
    if middle.startswith(prefix) and LANGUAGE_TAG.match(middle[len(prefix) :]):
        return middle[len(prefix) :]
    return None


def find_sidecar(media_path, language: str | None = None) -> Path | None:
    """The subtitle file next to `media_path`: exact stem, then `language`, then any.

    Ties break on extension order (.srt before .vtt), then on the file name.
    """
    media = Path(media_path)
    if not media.parent.is_dir():
        return None
    found = []
    for candidate in media.parent.iterdir():
        tag = _sidecar_tag(media, candidate)
        if tag is None:
            continue
        rank = 0 if tag == "" else 1 if _language_matches(tag, language) else 2
        ext_rank = SUBTITLE_EXTENSIONS.index(candidate.suffix.lower())
        found.append((rank, ext_rank, candidate.name, candidate))
    return min(found)[-1] if found else None


def sidecar_language(media_path, sidecar: Path) -> str | None:
    tag = _sidecar_tag(Path(media_path), sidecar)
    return primary_language(tag) if tag else None


# --- parsing subtitles ------------------------------------------------------------


def clean_text(text: str) -> str:
    """Drop markup (HTML-ish tags, ASS overrides), unescape entities, one line."""
    text = ASS_OVERRIDE.sub("", TAG.sub("", text))
    return SPACES.sub(" ", html.unescape(text)).strip()


def _decode(path: Path) -> str:
    """UTF-8 (with or without BOM), else Latin-1, which decodes any bytes."""
    data = path.read_bytes()
    try:
        return data.decode(UTF8)
    except UnicodeDecodeError:
        return data.decode(FALLBACK_ENCODING)


def _parse_vtt(text: str) -> list[tuple[float, float, str]]:
    import webvtt

    return [
        (
            c.start_in_seconds + c.start_time.milliseconds / 1000,
            c.end_in_seconds + c.end_time.milliseconds / 1000,
            c.raw_text,
        )
        for c in webvtt.from_string(text)
    ]


def _parse_srt(text: str) -> list[tuple[float, float, str]]:
    import pysrt

    return [
        (item.start.ordinal / 1000, item.end.ordinal / 1000, item.text)
        for item in pysrt.from_string(text)
    ]


PARSERS = {".vtt": _parse_vtt, ".srt": _parse_srt}


def read_subtitles(path) -> list[Segment]:
    """Cues of an .srt or .vtt file as clean, time-ordered segments."""
    return read_cues(path)[0]


def read_cues(path) -> tuple[list[Segment], list[str]]:
    """Like read_subtitles, with notes on the cues that had to be repaired."""
    path = Path(path)
    parser = PARSERS.get(path.suffix.lower())
    if parser is None:
        raise MediaError(path, f"unreadable subtitles: expected {' or '.join(PARSERS)}")
    if not path.is_file():
        raise MediaError(path, "file not found")
    text = _decode(path)
    try:
        cues = parser(text)
    except Exception as e:  # noqa: BLE001 -- the parsers raise assorted types; we re-raise one
        raise MediaError(path, f"unreadable subtitles: {_short(e)}") from e
    if not cues and text.strip() and not text.lstrip("\ufeff").strip().startswith("WEBVTT"):
        raise MediaError(path, "unreadable subtitles: no cues found")
    cues, notes = repair_reversed(cues)
    return merge_cues(cues), notes


def repair_reversed(cues: list[tuple[float, float, str]]) -> tuple[list, list[str]]:
    """A cue that ends before it starts (a typo in its end time) keeps its text and start and
    ends at the next cue's start, at most REPAIRED_CUE_MAX_S later."""
    ordered = sorted(cues, key=lambda c: c[0])
    fixed, repaired = [], 0
    for i, (start, end, text) in enumerate(ordered):
        if end < start:
            following = next((c[0] for c in ordered[i + 1 :] if c[0] > start), math.inf)
            end, repaired = min(following, start + REPAIRED_CUE_MAX_S), repaired + 1
        fixed.append((start, end, text))
    if not repaired:
        return fixed, []
    return fixed, [
        f"{repaired} subtitle cue{'s' if repaired > 1 else ''} ended before "
        f"{'they' if repaired > 1 else 'it'} started: each now ends at the next cue "
        f"(at most {REPAIRED_CUE_MAX_S:g} s later)"
    ]


def fit_to_duration(segments: list[Segment], duration: float) -> tuple[list[Segment], list[str]]:
    """Drop subtitle segments that start after the media ends, cut the one that runs past it.

    Subtitles made for another cut (or another file) would otherwise be indexed and cited
    at times the video does not have."""
    if not duration or duration <= 0:
        return segments, []
    kept = [s for s in segments if s.start < duration]
    for segment in kept:
        segment.end = min(segment.end, round(duration, 3))
    dropped = [s for s in segments if s.start >= duration]
    if not dropped:
        return kept, []
    many = len(dropped) > len(segments) * WRONG_FILE_SHARE
    return kept, [
        f"{len(dropped)} subtitle cue{'s start' if len(dropped) > 1 else ' starts'} "
        f"after the media ends ({fmt_ts(duration)}), the last at "
        f"{fmt_ts(dropped[-1].start)}: dropped"
        + (" (are these subtitles for this file?)" if many else "")
    ]


def _short(error: Exception) -> str:
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {first_line}"[:200] if first_line else type(error).__name__


def _drop_rolled_lines(lines: list[str], previous: list[str]) -> list[str]:
    """Rolling captions repeat the previous cue's last lines at the top: drop them."""
    for overlap in range(min(len(lines) - 1, len(previous)), 0, -1):
        if lines[:overlap] == previous[-overlap:]:
            return lines[overlap:]
    return lines


def merge_cues(cues: list[tuple[float, float, str]]) -> list[Segment]:
    """Clean cues, drop empty ones, and fold rolling/duplicate captions together."""
    segments: list[Segment] = []
    previous_lines: list[str] = []
    for start, end, raw in sorted(cues, key=lambda c: (c[0], c[1])):
        lines = [line for line in (clean_text(x) for x in raw.splitlines()) if line]
        new_lines = _drop_rolled_lines(lines, previous_lines) if segments else lines
        previous_lines = lines or previous_lines
        text = " ".join(new_lines)
        if not text:
            continue
        if segments and segments[-1].text == text:
            segments[-1].end = max(segments[-1].end, end)  # the same caption, re-timed
            continue
        segments.append(Segment(start=round(start, 3), end=round(max(start, end), 3), text=text))
    return segments


# --- embedded subtitle streams ----------------------------------------------------


def pick_subtitle_stream(streams: list[dict], language: str | None = None) -> dict | None:
    """First text subtitle stream, preferring one in `language`; image streams skipped."""
    text_streams = [s for s in streams if s.get("codec") not in IMAGE_SUBTITLE_CODECS]
    preferred = [s for s in text_streams if _language_matches(s.get("language"), language)]
    return (preferred or text_streams or [None])[0]


def read_embedded_subtitles(
    path, info, language: str | None = None
) -> tuple[list[Segment], list[str]] | None:
    """(segments, notes) of the media file's best text subtitle stream, or None if it has none."""
    stream = pick_subtitle_stream(info.subtitle_streams, language)
    if stream is None:
        return None
    with tempfile.TemporaryDirectory(prefix="vidqa-subs-") as tmp:
        out = Path(tmp) / "embedded.vtt"
        cmd = [
            ffmpeg_path(),
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(path),
            "-map",
            f"0:{stream['index']}",
            "-f",
            "webvtt",
            str(out),
        ]
        try:
            subprocess.run(
                cmd, check=True, capture_output=True, text=True, timeout=FFMPEG_TIMEOUT_S
            )
        except subprocess.CalledProcessError as e:
            reason = (e.stderr or "").strip().splitlines()[-1:] or [f"exit {e.returncode}"]
            raise MediaError(path, f"unreadable embedded subtitles: {reason[0]}") from e
        except subprocess.TimeoutExpired as e:
            raise MediaError(
                path, f"embedded subtitles: ffmpeg took over {FFMPEG_TIMEOUT_S} s"
            ) from e
        try:
            return read_cues(out)
        except MediaError as e:  # name the media file, not our temp file
            raise MediaError(path, f"embedded subtitles: {e.problem}") from e


# --- choosing a source ------------------------------------------------------------


def _suffix_source(path: Path) -> str:
    return path.suffix.lower().lstrip(".")


def transcript_from_subtitles(path, language: str | None = None) -> Transcript:
    """A transcript from a subtitle file alone (transcript-only ingest, eval sets)."""
    path = Path(path)
    tag = path.stem.rsplit(".", 1)[-1] if "." in path.stem else None
    detected = primary_language(tag) if tag and LANGUAGE_TAG.match(tag) else None
    return Transcript(
        read_subtitles(path), _suffix_source(path), language=detected or primary_language(language)
    )


def _fitted(
    cues: tuple[list[Segment], list[str]], duration: float
) -> tuple[list[Segment], list[str]]:
    segments, notes = fit_to_duration(*cues[:1], duration)
    return segments, cues[1] + notes


def _known_tag(tag: str | None) -> str | None:
    """A container language tag worth using ("und"/"unknown" are not)."""
    return (
        primary_language(tag)
        if tag and tag.lower() not in ("und", "unknown", "mis", "zxx")
        else None
    )


def get_transcript(
    path,
    info,
    *,
    language: str | None = None,
    asr_model: str | None = None,
    progress: SecondsProgress | None = None,
) -> Transcript:
    """Sidecar > embedded text stream > ASR (when there is audio) > an empty transcript."""
    path = Path(path)
    sidecar = find_sidecar(path, language)
    if sidecar is not None:
        segments, notes = _fitted(read_cues(sidecar), info.duration)
        return Transcript(
            segments,
            _suffix_source(sidecar),
            notes=notes,
            language=sidecar_language(path, sidecar) or primary_language(language),
        )
    stream = pick_subtitle_stream(info.subtitle_streams, language)
    embedded = read_embedded_subtitles(path, info, language) if stream else None
    if embedded and embedded[0]:
        segments, notes = _fitted(embedded, info.duration)
        return Transcript(
            segments,
            "embedded",
            notes=notes,
            language=primary_language(stream.get("language") or language),
        )
    if info.has_audio:
        tagged = _known_tag(info.audio_language)
        segments, asr_info = transcribe(
            path, model=asr_model, language=language, progress=progress, language_hint=tagged
        )
        notes = asr_notes(asr_info, language, tagged)
        if not segments:  # silence, music: say so, or the user wonders why nothing is found
            notes.append(f"no speech found in the audio and no subtitles: {_left(info)}")
        return Transcript(
            segments,
            f"asr:{model_label(asr_info.model)}",
            language=asr_info.language,
            notes=notes,
        )
    return Transcript(
        [],
        "none",
        language=primary_language(language),
        notes=[f"no audio and no subtitles: {_left(info)}"],
    )


def _left(info) -> str:
    """What of a video without a transcript can still be searched."""
    return "only what is on screen can be searched" if info.has_video else "nothing to search"

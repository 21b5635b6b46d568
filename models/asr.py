"""Speech recognition with faster-whisper (CTranslate2), imported only when used.

Segments come back as `ingest.transcript.Segment` with word timings, which is
what span building needs to cut at sentence ends and pauses.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from index.records import Word
from vidqa.errors import MediaError, MissingDependency, ModelNotFound

GPU_MODEL = "small"  # good multilingual accuracy, fast on any CUDA card
CPU_MODEL_ENGLISH = "tiny.en"  # ~30x real time on 2 cores with VAD; ships offline
CPU_MODEL_MULTILINGUAL = "base"  # smallest multilingual size that is usable
ENGLISH = "en"
COMPUTE_TYPES = {"cpu": "int8", "cuda": "float16"}  # CTranslate2 has no MPS backend
WORD_DECIMALS = 3  # word times are rounded to ms

Progress = Callable[[float, float], None]  # (seconds done, seconds total)


@dataclass(frozen=True)
class AsrInfo:
    model: str  # the name asked for: "tiny.en", a hub id or a local path
    language: str | None  # detected, or the one forced
    language_probability: float | None
    duration: float  # seconds of audio
    word_probability: float | None = None  # mean over all words: low means the model misheard
    # Share of the speech (by duration) that whisper had to re-decode at a temperature
    # above 0 because the greedy pass looked wrong: high means the model was lost.
    fallback_share: float | None = None


def default_asr_model(device: str, language: str | None = None) -> str:
    """The model ingest uses when none is named.

    GPU: "small" (multilingual; fast enough on any CUDA card). CPU: "tiny.en"
    for English or unknown language -- about 30x real time on 2 cores and it
    ships in the offline package -- and "base" for other languages, because the
    English-only models cannot transcribe them and "tiny" is too inaccurate.
    """
    if device == "cuda":
        return GPU_MODEL
    if language is None or _primary(language) == ENGLISH:
        return CPU_MODEL_ENGLISH
    return CPU_MODEL_MULTILINGUAL


def _primary(language: str) -> str:
    from ingest.transcript import primary_language

    return primary_language(language) or language


def is_english_only(name: str) -> bool:
    return Path(name.rstrip("/")).name.lower().endswith(".en")


def model_label(name: str) -> str:
    """Short name for provenance: 'tiny.en' stays, '/models/faster-whisper-small' -> last part."""
    return Path(name.rstrip("/")).name if ("/" in name or os.sep in name) else name


def check_language(name: str, language: str | None, multilingual: bool | None = None) -> None:
    """English-only models (".en", or `multilingual=False` as the loaded model reports)
    cannot transcribe other languages: refuse instead of returning English gibberish."""
    english_only = is_english_only(name) if multilingual is None else not multilingual
    if language is not None and english_only and _primary(language) != ENGLISH:
        raise ValueError(
            f"ASR model {name!r} is English-only, but language {language!r} was requested: "
            f"use a multilingual model (e.g. {CPU_MODEL_MULTILINGUAL!r} or {GPU_MODEL!r})"
        )


def _ctranslate_device(device: str) -> str:
    return "cuda" if device == "cuda" else "cpu"  # mps -> cpu: no CTranslate2 backend


def cpu_threads() -> int:
    """Cores this process may use (the affinity mask, not the host's count, in containers).

    OMP_NUM_THREADS wins when set: Ray sets it to a task's CPUs, so two ASR workers
    on two cores do not each start two threads.
    """
    if (omp := os.environ.get("OMP_NUM_THREADS", "")).isdigit() and int(omp) > 0:
        return int(omp)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


@lru_cache(maxsize=4)
def _load(ref: str, device: str, compute_type: str):
    from faster_whisper import WhisperModel

    threads = cpu_threads() if device == "cpu" else 0  # 0: CTranslate2's default
    return WhisperModel(ref, device=device, compute_type=compute_type, cpu_threads=threads)


def _import_faster_whisper():
    try:
        import faster_whisper
    except ModuleNotFoundError as e:
        raise MissingDependency(
            "faster-whisper is not installed: pip install faster-whisper") from e
    return faster_whisper


def _download(name: str, hub_id: str) -> str:
    """Fetch a hub model into the HF cache; a failure names what to install instead."""
    from faster_whisper.utils import download_model

    from models.resolve import hub_failure

    try:
        return download_model(hub_id)
    except Exception as e:  # noqa: BLE001 -- network/hub errors vary; all mean "not obtainable"
        raise hub_failure(name, "whisper", e) from e


def load_whisper(name: str, device: str | None = None):
    """A cached `faster_whisper.WhisperModel` for `name` (size, hub id or local path)."""
    from models.device import pick_device
    from models.resolve import resolve

    _import_faster_whisper()
    device = _ctranslate_device(device or pick_device())
    resolved = resolve(name, "whisper")
    ref = resolved.ref if resolved.is_local else _download(name, resolved.ref)
    return _load(ref, device, COMPUTE_TYPES[device])


def _words(raw_words) -> list[Word]:
    return [Word(_seconds(w.start), _seconds(w.end), w.word.strip())
            for w in raw_words or [] if w.word.strip()]


def _seconds(value) -> float:
    return round(float(value), WORD_DECIMALS)  # plain floats: numpy scalars don't serialise


def transcribe(path, model: str | None = None, language: str | None = None,
               progress: Progress | None = None, language_hint: str | None = None):
    """Transcribe a media file's audio; returns (segments, AsrInfo).

    `model` defaults to VIDQA_ASR_MODEL, else `default_asr_model()` for the device
    and `language`, or failing that `language_hint` (e.g. the audio stream's tag:
    it picks a multilingual model for a track tagged Chinese, but is not forced,
    because container tags are often wrong).
    `progress(done_s, total_s)` is called as each segment is decoded, and once at the end.
    """
    from models.device import pick_device
    from vidqa.settings import settings

    device = _ctranslate_device(pick_device())
    named = model or settings().asr_model
    name = named or default_asr_model(device, language)
    whisper = None
    hinted = None if named or language else default_asr_model(device, language_hint)
    if hinted is not None and hinted != name:
        try:  # a tagged non-English track: the multilingual default, when it can be had
            whisper, name = load_whisper(hinted, device), hinted
        except ModelNotFound:  # offline without it: the English default, and a note (ingest)
            pass
    check_language(name, language)  # before loading: a download would be wasted
    whisper = whisper or load_whisper(name, device)
    multilingual = whisper.model.is_multilingual
    check_language(name, language, multilingual)  # names don't always say (distil-large-v3)
    forced = (_primary(language) if language else None) if multilingual else ENGLISH
    segments, info, quality = _run(whisper, path, forced, progress)
    probability = info.language_probability
    return segments, AsrInfo(name, info.language,
                             None if probability is None else float(probability),
                             float(info.duration), *quality)


def _run(whisper, path, language: str | None, progress: Progress | None):
    import av

    try:
        raw_segments, info = whisper.transcribe(str(path), language=language,
                                                word_timestamps=True, vad_filter=True)
        segments, quality = _collect(raw_segments, float(info.duration), progress)
        return segments, info, quality
    except av.error.FFmpegError as e:  # faster-whisper decodes the audio with PyAV
        raise MediaError(path, f"unreadable audio: {e.strerror or e}") from e


def _collect(raw_segments, total: float, progress: Progress | None):
    """Drain faster-whisper's lazy generator (decoding happens here), reporting progress.

    Returns the segments and (mean word probability, fallback share), None without speech.
    """
    from ingest.transcript import Segment

    segments, probabilities, spoken, fallback = [], [], 0.0, 0.0
    for raw in raw_segments:
        text = raw.text.strip()
        if text:
            segments.append(Segment(_seconds(raw.start), _seconds(raw.end), text,
                                    _words(raw.words)))
            probabilities += [float(w.probability) for w in raw.words or [] if w.word.strip()]
            length = max(float(raw.end) - float(raw.start), 0.0)
            spoken += length
            fallback += length if (getattr(raw, "temperature", 0.0) or 0.0) > 0 else 0.0
        if progress is not None:
            progress(min(float(raw.end), total), total)
    if progress is not None:
        progress(total, total)
    return segments, (sum(probabilities) / len(probabilities) if probabilities else None,
                      fallback / spoken if spoken else None)

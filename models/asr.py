"""Speech recognition with faster-whisper (CTranslate2), imported only when used.

Segments come back as `index.records.Segment` with word timings, which is
what span building needs to cut at sentence ends and pauses. What the model
names mean (English-only, provenance labels) and when to doubt a transcript
live here too.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from index.records import Segment, Word
from vidqa.errors import MediaError, ModelNotFound
from vidqa.languages import primary_language
from vidqa.settings import settings

GPU_MODEL = "small"  # good multilingual accuracy, fast on any CUDA card
CPU_MODEL_ENGLISH = "tiny.en"  # 39-59x real time on 2 cores (bench/README.md); ships offline
CPU_MODEL_MULTILINGUAL = "base"  # smallest multilingual size that is usable
ENGLISH = "en"
COMPUTE_TYPES = {"cpu": "int8", "cuda": "float16"}  # CTranslate2 has no MPS backend
WORD_DECIMALS = 3  # word times are rounded to ms

SecondsProgress = Callable[[float, float], None]  # (seconds done, seconds total)


@dataclass(frozen=True)
class AsrInfo:
    model: str  # the name asked for: "tiny.en", a hub id or a local path
    language: str | None  # detected, or the one forced
    language_probability: float | None
    duration: float  # seconds of audio
    word_probability: float | None = None  # mean over all words: low means the model misheard
    # Share of the speech (by duration) that failed whisper's own checks (repetitive text,
    # low log-probability), which the sequential decoder re-decodes at a higher
    # temperature: high means the model was lost.
    fallback_share: float | None = None
    detect_s: float | None = None  # seconds spent detecting the language to pick the model


def default_asr_model(device: str, language: str | None = None) -> str:
    """The model ingest uses when none is named.

    GPU: "small" (multilingual; fast enough on any CUDA card). CPU: "tiny.en"
    for English or unknown language -- 39-59x real time on 2 cores and it
    ships in the offline package -- and "base" for other languages, because the
    English-only models cannot transcribe them and "tiny" is too inaccurate.
    """
    if device == "cuda":
        return GPU_MODEL
    if language is None or _primary(language) == ENGLISH:
        return CPU_MODEL_ENGLISH
    return CPU_MODEL_MULTILINGUAL


def _primary(language: str) -> str:
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


# On a CPU, two CTranslate2 workers with half the cores each, decoding half of a long
# recording's 30 s chunks each at once, beat one worker on all the cores: tiny.en's matrices
# are too small for intra-op threads to keep the cores busy. The chunks are the ones the
# batched pipeline makes of the whole recording (its VAD and its packing), so the words are
# the same (all 1,292 of the 10 min bench file; cutting the audio in two instead moved the
# chunks after the cut, and the WER with them: 17.7-18.7 % over six cut points). 10 min
# bench file, 2 cores, one process, alternating runs, median of 3, two runs: 41.2x and 43.7x
# against 33.5x and 38.9x real time (1.12-1.23x). A 57 s lecture (two chunks): 1.67 s split,
# 1.96 s one worker x 2 threads, 2.97 s one worker x 1 thread (hence any two chunks are
# split). The cost: one chunk (under ~30 s of speech) gets one thread, 1.38 s against
# 1.04-1.32 s for a 25 s clip.
CPU_WORKERS = 2
VAD_PAUSE_MS = 160  # shortest pause: the batched pipeline's VAD setting (faster-whisper 1.1+)
CHUNK_S = 30  # s of speech per chunk: whisper's window, the batched pipeline's chunk_length


def cpu_workers(threads: int) -> int:
    return CPU_WORKERS if threads >= CPU_WORKERS else 1


@lru_cache(maxsize=4)
def _load(ref: str, device: str, compute_type: str):
    from faster_whisper import WhisperModel

    if device != "cpu":
        return WhisperModel(ref, device=device, compute_type=compute_type)
    threads = cpu_threads()
    workers = cpu_workers(threads)
    return WhisperModel(
        ref,
        device=device,
        compute_type=compute_type,
        cpu_threads=threads // workers,
        num_workers=workers,
    )


def _import_faster_whisper():
    import faster_whisper  # a required dependency, imported only when ASR runs

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
    # Whisper marks a new word with a leading space; Chinese output has none, and a Latin
    # word in it can come as pieces ("Photo", "shop") that must stay joined.
    return [
        Word(_seconds(w.start), _seconds(w.end), w.word.strip(), w.word[:1].isspace())
        for w in raw_words or []
        if w.word.strip()
    ]


def _seconds(value) -> float:
    return round(float(value), WORD_DECIMALS)  # plain floats: numpy scalars don't serialise


def transcribe(
    path,
    model: str | None = None,
    language: str | None = None,
    progress: SecondsProgress | None = None,
    language_hint: str | None = None,
):
    """Transcribe a media file's audio; returns (segments, AsrInfo).

    `model` defaults to VIDQA_ASR_MODEL, else to what `choose_model` picks: a
    named `language` decides (English: tiny.en on CPU); with none, a track tagged
    non-English (`language_hint`, the container's tag) gets the multilingual model
    and any other track is sampled with `detect_language`.
    `progress(done_s, total_s)` is called as each segment is decoded, and once at the end.
    """
    from models.device import pick_device

    device = _ctranslate_device(pick_device())
    audio = _decode(path)
    choice = choose_model(audio, device, model or settings().asr_model, language, language_hint)
    check_language(choice.name, language)  # before loading: a download would be wasted
    whisper = choice.whisper or load_whisper(choice.name, device)
    multilingual = whisper.model.is_multilingual
    check_language(choice.name, language, multilingual)  # names don't always say (distil-large-v3)
    if multilingual and not language and choice.detected is None:  # GPU, tagged or named
        choice = _detected(choice, whisper, audio)  # the language to force, with its prompt
    forced = (_primary(language) if language else choice.detected) if multilingual else ENGLISH
    segments, info, quality = _run(whisper, audio, forced, progress)
    if forced == "zh":
        segments = one_script(segments)
    probability = (
        choice.probability
        if forced == choice.detected and not language
        else info.language_probability
    )
    return segments, AsrInfo(
        choice.name,
        info.language,
        None if probability is None else float(probability),
        float(info.duration),
        *quality,
        detect_s=choice.detect_s,
    )


# --- choosing the model: language detection on a sample -------------------------------

SAMPLE_RATE = 16_000  # Hz: whisper's input
DETECT_WINDOW_S = 90.0  # audio searched for speech to detect the language in (s)
DETECT_SPEECH_S = 30.0  # whisper detects on one 30 s window of speech (its input length)


@dataclass(frozen=True)
class ModelChoice:
    name: str
    whisper: object | None = None  # already loaded (the multilingual model that detected)
    detected: str | None = None  # language found on the sample, forced for the whole track
    probability: float | None = None
    detect_s: float | None = None  # wall seconds the detection took (model load included)


def choose_model(
    audio, device: str, named: str | None, language: str | None, hint: str | None
) -> ModelChoice:
    """The model for a track: as named; else by `language`; else by the track's tag
    when it names another language; else by detecting the language on the first
    speech with the multilingual model (English keeps the fast English-only model).
    Offline without the multilingual model: the English default (ingest adds a note)."""
    if named or language or device == "cuda":  # the GPU default is multilingual already
        return ModelChoice(named or default_asr_model(device, language))
    english, multilingual = CPU_MODEL_ENGLISH, CPU_MODEL_MULTILINGUAL
    started = time.perf_counter()
    try:
        whisper = load_whisper(multilingual, device)
    except ModelNotFound:
        return ModelChoice(english)
    if hint is not None and _primary(hint) != ENGLISH:
        return ModelChoice(multilingual, whisper)  # whisper still detects, over the whole track
    detected, probability = detect_language(whisper, audio)
    spent = time.perf_counter() - started
    if detected in (None, ENGLISH):  # None: no speech found in the sample
        return ModelChoice(english, None, detected, probability, spent)
    return ModelChoice(multilingual, whisper, detected, probability, spent)


def _detected(choice: ModelChoice, whisper, audio) -> ModelChoice:
    started = time.perf_counter()
    detected, probability = detect_language(whisper, audio)
    spent = time.perf_counter() - started + (choice.detect_s or 0.0)
    return replace(choice, detected=detected, probability=probability, detect_s=spent)


def detect_language(whisper, audio) -> tuple[str | None, float | None]:
    """Language of the first speech (up to DETECT_SPEECH_S within DETECT_WINDOW_S)."""
    import numpy as np
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    sample = audio[: int(DETECT_WINDOW_S * SAMPLE_RATE)]
    speech = get_speech_timestamps(sample, VadOptions())
    if not speech:
        return None, None
    voiced = np.concatenate([sample[s["start"] : s["end"]] for s in speech])
    language, probability, _ = whisper.detect_language(voiced[: int(DETECT_SPEECH_S * SAMPLE_RATE)])
    return language, float(probability)


def _decode(path):
    import av
    from faster_whisper import decode_audio

    try:
        return decode_audio(str(path), sampling_rate=SAMPLE_RATE)
    except av.error.FFmpegError as e:  # faster-whisper decodes the audio with PyAV
        raise MediaError(path, f"unreadable audio: {e.strerror or e}") from e


# --- decoding ---------------------------------------------------------------------------


# VAD-cut chunks of up to 30 s decoded BATCH_SIZE at a time (faster-whisper's batched
# pipeline): 1.5-1.8x the sequential decoder on 2 cores at the same word error rate
# (bench/asr_rtf.py). It has no temperature fallback, so `fallback_share` stays 0.
# 32 gives the same words as 16 (all 1,301 on the 10 min bench) 8-15 % faster; 64 no faster.
BATCH_SIZE = 32


def _batched(whisper):
    """A pipeline per decode: it keeps the last word's time between batches, so two pieces
    decoded at once must not share one."""
    from faster_whisper import BatchedInferencePipeline

    return BatchedInferencePipeline(whisper)


# A prompt in the style the transcript should have. Whisper's Chinese comes without
# punctuation, in traditional characters one chunk and simplified the next; a punctuated
# simplified sentence as the "previous text" makes it write punctuated simplified Chinese,
# which span building cuts at 。！？ and a simplified query matches (measured on neural
# Mandarin narration: tests/test_mandarin_speech.py). Only for a language known up front.
INITIAL_PROMPTS = {"zh": "以下是普通话的句子。"}


def one_script(segments: list[Segment]) -> list[Segment]:
    """Chinese written in one script: the prompt above makes most chunks simplified, not all
    (a 3.5 min Mandarin lecture still came with 學習率 beside 学习率), and a query in one
    script does not match text in the other. Whatever most of the transcript is written
    in, simplified or traditional, the rest is converted to (OpenCC)."""
    import opencc

    to_simplified, to_traditional = opencc.OpenCC("t2s"), opencc.OpenCC("s2t")
    counts = Counter("".join(s.text for s in segments))
    in_traditional = sum(n for c, n in counts.items() if to_simplified.convert(c) != c)
    in_simplified = sum(n for c, n in counts.items() if to_traditional.convert(c) != c)
    convert = to_simplified if in_simplified >= in_traditional else to_traditional
    if not (in_traditional if convert is to_simplified else in_simplified):
        return segments
    return [
        replace(
            s,
            text=convert.convert(s.text),
            words=[replace(w, text=convert.convert(w.text)) for w in s.words],
        )
        for s in segments
    ]


def _run(whisper, audio, language: str | None, progress: SecondsProgress | None):
    """(segments, faster-whisper's info, quality) for the whole audio: decoded by the batched
    pipeline in one piece, or, with two workers, its speech packed into the pipeline's own
    30 s chunks and two halves of them decoded at once."""
    chunks = _chunks(audio) if whisper.model.num_workers > 1 else []
    if not chunks:  # one worker, or no speech (the pipeline says so in its own way)
        segments, info, heard = _run_piece(whisper, audio, language, progress)
        return segments, info, heard.quality()
    total = len(audio) / SAMPLE_RATE
    parts = _halves(chunks) if len(chunks) > 1 else (chunks,)
    done, lock = [0.0] * len(parts), threading.Lock()

    def reporter(i: int) -> SecondsProgress | None:
        def report(seconds: float, _part: float) -> None:
            with lock:
                done[i] = seconds
                progress(min(sum(done), total), total)

        return report if progress is not None else None

    with ThreadPoolExecutor(len(parts)) as pool:  # CTranslate2 releases the GIL as it decodes
        decoded = list(
            pool.map(
                lambda i: _run_chunks(whisper, audio, parts[i], language, reporter(i)),
                range(len(parts)),
            )
        )
    if progress is not None:
        progress(total, total)
    segments = [segment for part, _, _ in decoded for segment in part]
    heard = decoded[0][2]
    for _, _, more in decoded[1:]:
        heard = heard.merged(more)
    return segments, replace(decoded[0][1], duration=total), heard.quality()


def _run_piece(whisper, audio, language: str | None, progress: SecondsProgress | None):
    raw_segments, info = _transcribe(whisper, audio, language, vad_filter=True)
    segments, heard = _collect(raw_segments, float(info.duration), progress)
    return segments, info, heard


def _transcribe(whisper, audio, language: str | None, **chunking):
    """The batched pipeline with vidqa's settings (word times, BATCH_SIZE, the language's
    prompt); `chunking`: its own VAD, or the chunks given as clip_timestamps."""
    return _batched(whisper).transcribe(
        audio,
        language=language,
        word_timestamps=True,
        batch_size=BATCH_SIZE,
        initial_prompt=INITIAL_PROMPTS.get(_primary(language)) if language else None,
        **chunking,
    )


Chunk = list[dict]  # the speech stretches ({"start", "end"} in samples) one 30 s chunk holds


def _run_chunks(whisper, audio, chunks: list[Chunk], language, progress):
    """Decode `chunks` as the batched pipeline decodes its own after VAD: each chunk's speech
    joined without the silences between, timestamps mapped back to the recording."""
    import numpy as np
    from faster_whisper.transcribe import restore_speech_timestamps

    speech = [stretch for chunk in chunks for stretch in chunk]
    joined = np.concatenate([audio[s["start"] : s["end"]] for s in speech])
    clips, at = [], 0
    for chunk in chunks:
        clips.append({"start": at / SAMPLE_RATE, "end": (at + _length(chunk)) / SAMPLE_RATE})
        at += _length(chunk)
    raw_segments, info = _transcribe(
        whisper, joined, language, vad_filter=False, clip_timestamps=clips
    )
    restored = restore_speech_timestamps(raw_segments, speech, SAMPLE_RATE)
    start = speech[0]["start"] / SAMPLE_RATE
    span = speech[-1]["end"] / SAMPLE_RATE - start
    report = (lambda t, _total: progress(max(t - start, 0.0), span)) if progress else None
    segments, heard = _collect(restored, speech[-1]["end"] / SAMPLE_RATE, report)
    return segments, info, heard


def _chunks(audio) -> list[Chunk]:
    """The batched pipeline's chunks of the audio: its VAD, with its settings, over the whole
    recording (VAD over two halves moved a few stretches, and tiny.en's words with them),
    then its greedy packing of speech into CHUNK_S."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(max_speech_duration_s=CHUNK_S, min_silence_duration_ms=VAD_PAUSE_MS)
    chunks: list[Chunk] = []
    length = 0
    for stretch in get_speech_timestamps(audio, options):
        n = stretch["end"] - stretch["start"]
        if chunks and length + n <= CHUNK_S * SAMPLE_RATE:
            chunks[-1].append(stretch)
            length += n
        else:
            chunks.append([stretch])
            length = n
    return chunks


def _length(chunk: Chunk) -> int:
    """Samples of speech in a chunk."""
    return sum(s["end"] - s["start"] for s in chunk)


def _halves(chunks: list[Chunk]) -> tuple[list[Chunk], list[Chunk]]:
    """The chunks in two runs holding about the same amount of speech."""
    lengths = [_length(chunk) for chunk in chunks]
    total, running = sum(lengths), 0
    for i, n in enumerate(lengths[:-1], 1):
        running += n
        if running >= total / 2:
            return chunks[:i], chunks[i:]
    return chunks[:-1], chunks[-1:]


# whisper's own quality checks (its defaults): a segment failing them is re-decoded at a
# higher temperature by the sequential decoder; the batched one keeps it as it is.
COMPRESSION_RATIO_THRESHOLD = 2.4  # gzip ratio of the text: above it, repetitive gibberish
LOG_PROB_THRESHOLD = -1.0  # mean token log-probability: below it, a guess


def _failed_checks(raw) -> bool:
    """True when whisper re-decoded the segment, or would have without batching."""
    if (getattr(raw, "temperature", 0.0) or 0.0) > 0:
        return True
    ratio, logprob = getattr(raw, "compression_ratio", None), getattr(raw, "avg_logprob", None)
    return (ratio is not None and ratio > COMPRESSION_RATIO_THRESHOLD) or (
        logprob is not None and logprob < LOG_PROB_THRESHOLD
    )


@dataclass
class _Heard:
    """What the decoder said of its own output, summed over segments."""

    probabilities: list[float] = field(default_factory=list)  # each word's
    spoken: float = 0.0  # s of segments with text
    fallback: float = 0.0  # s of those that failed whisper's checks

    def merged(self, other: _Heard) -> _Heard:
        return _Heard(
            self.probabilities + other.probabilities,
            self.spoken + other.spoken,
            self.fallback + other.fallback,
        )

    def quality(self) -> tuple[float | None, float | None]:
        """(mean word probability, fallback share), None without speech."""
        words = self.probabilities
        return (
            sum(words) / len(words) if words else None,
            self.fallback / self.spoken if self.spoken else None,
        )


def _collect(raw_segments, total: float, progress: SecondsProgress | None):
    """Drain faster-whisper's lazy generator (decoding happens here), reporting progress.

    Returns the segments and a _Heard.
    """
    segments, heard = [], _Heard()
    for raw in raw_segments:
        text = raw.text.strip()
        if text:
            segments.append(
                Segment(_seconds(raw.start), _seconds(raw.end), text, _words(raw.words))
            )
            heard.probabilities += [float(w.probability) for w in raw.words or [] if w.word.strip()]
            length = max(float(raw.end) - float(raw.start), 0.0)
            heard.spoken += length
            heard.fallback += length if _failed_checks(raw) else 0.0
        if progress is not None:
            progress(min(float(raw.end), total), total)
    if progress is not None:
        progress(total, total)
    return segments, heard


# --- doubts ------------------------------------------------------------------------


# Signs that ASR did not understand the speech (measured with tiny.en on espeak-ng
# narration, four runs each: English 0.90 mean word probability and no fallback;
# Mandarin 0.30-0.68 and all of it re-decoded at temperature 0.8-1.0).
LOW_WORD_PROBABILITY = 0.6
HIGH_FALLBACK_SHARE = 0.5


def asr_notes(asr_info, language: str | None, audio_language: str | None = None) -> list[str]:
    """Warn when the transcript is probably wrong, and say what to do about it."""
    name = model_label(asr_info.model)
    english_only = is_english_only(asr_info.model)
    if english_only and not language and audio_language not in (None, ENGLISH):
        return [
            f"the audio track is tagged '{audio_language}' but was transcribed with the "
            f"English-only model {name} (no multilingual model could be loaded): re-ingest "
            f"with --language {audio_language} --force once one is available"
        ]
    probability, fallback = asr_info.word_probability, asr_info.fallback_share
    low = probability is not None and probability < LOW_WORD_PROBABILITY
    lost = fallback is not None and fallback > HIGH_FALLBACK_SHARE
    if not (low or lost):
        return []
    why = ", ".join(
        part
        for part in (
            f"mean word probability {probability:.2f}" if probability is not None else "",
            f"{fallback:.0%} of the speech failed whisper's decoding checks" if fallback else "",
        )
        if part
    )
    if english_only and not language:
        return [
            f"low ASR confidence ({why}) with the English-only model {name}: if the "
            "speech is not English, re-ingest with --language CODE --force "
            "(e.g. --language zh)"
        ]
    bigger = {"tiny": "base", "base": "small", "small": "medium"}.get(
        name.removesuffix(".en"), "large-v3"
    )
    return [
        f"low ASR confidence ({why}) with {name}: a larger model may help "
        f"(--asr-model {bigger} --force)"
    ]

"""ASR real-time factor on CPU: the product's `models.asr.transcribe` against bare faster-whisper.

    .venv/bin/python bench/asr_rtf.py [--small] [--minutes 3] [--repeats 3] [--multilingual base]

Audio: espeak-ng narration of varied English sentences (tests/media.py), cached
under $VIDQA_BENCH_DIR (default /tmp/vidqa-bench). Baseline, measured in the
same run: `WhisperModel(tiny.en, compute_type="int8").transcribe(path)` with
faster-whisper's defaults (beam 5, no VAD, no word timestamps, 4 CPU threads).
Ours: `models.asr.transcribe` (word timestamps + VAD, batched decoding; on 2+ cores two
CTranslate2 workers of half the cores each decode the two halves of a long file at once:
"threads" shows workers x threads) with the model named; "auto": the same with no model named, so the
language is detected on the first speech with the multilingual model first (its
load + detection are reported as detect s); "multilingual": ours with the
multilingual model (default base) on the same English audio, for its cost and WER.
Model load is timed apart; one short warm-up call per side runs before timing
(it loads the VAD model and lets CTranslate2 allocate), so RTF is steady state.
RTF here = audio seconds / wall seconds (higher is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no hub here: models come from offline packages
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("VIDQA_DEVICE", "cpu")  # a CPU benchmark, even on a GPU machine

REPO = Path(__file__).resolve().parent.parent
DEFAULT_MINUTES = 3.0  # narration length (min): ~8 s of ASR per side at ~25x
SMALL_MINUTES = 1.0
DEFAULT_REPEATS = 3  # alternating timed runs per side: the box is shared, one run is noise
WARMUP_S = 10.0  # seconds of the same audio transcribed once per side before timing
MODEL = "tiny.en"  # the CPU default of models.asr.default_asr_model
WPM = 150  # tests/media.py SPEECH_RATE_WPM, for sizing the sentence list
GAP_S = 0.8  # tests/media.py GAP_S

# Varied registers and vocabularies, so the decoder sees numbers, names and long words.
SENTENCES = [
    "Photosynthesis turns sunlight, water and carbon dioxide into glucose inside green leaves.",
    "In seventeen eighty nine, angry crowds in Paris stormed the Bastille.",
    "A neural network learns by adjusting its weights with gradient descent.",
    "Volcanoes erupt when molten magma rises through the crust and bursts out as lava.",
    "Jazz musicians in New Orleans mixed the blues with ragtime and loved to improvise.",
    "Under tax law, a deduction lowers your taxable income before the tax is calculated.",
    "Glaciers are slow rivers of ice that carve deep valleys and fjords into mountains.",
    "In chess, castling moves the king two squares while the rook jumps over to protect it.",
    "The mitochondria produce most of the chemical energy that powers a living cell.",
    "Interest compounds when the interest you earn starts to earn interest of its own.",
    "The Roman aqueducts carried fresh water across valleys on rows of stone arches.",
    "To make bread rise, yeast eats the sugar in the dough and releases carbon dioxide.",
    "A binary search halves the remaining range at every step, so it needs very few steps.",
    "Coral reefs cover less than one percent of the ocean floor but shelter a quarter of sea life.",
    "The printing press spread cheap books across Europe within fifty years of its invention.",
    "When you sprain an ankle, rest it, keep it cold and raise it above your heart.",
    "Supply and demand meet at the price where buyers want exactly what sellers offer.",
    "Jupiter is so large that more than a thousand Earths would fit inside it.",
    "A good password is long, unique for every site and stored in a password manager.",
    "The violin has four strings tuned in fifths, and the player bends each note by ear.",
    "Earthquakes happen when two tectonic plates slip suddenly along a fault line.",
    "In the kitchen, a sharp knife is safer than a dull one because it does not slip.",
    "Shakespeare wrote thirty seven plays, from bloody tragedies to gentle comedies.",
    "A vaccine trains the immune system to recognise a germ before it ever meets it.",
    "The train left platform nine at a quarter past six and arrived two hours late.",
    "Bees dance in a figure of eight to tell the hive where the flowers are.",
    "Electric cars turn about ninety percent of their battery energy into motion.",
    "The Great Wall of China was built and rebuilt over nearly two thousand years.",
    "Recursion means a function calls itself on a smaller piece of the same problem.",
    "Rainbows appear when sunlight is bent and reflected inside millions of raindrops.",
    "A contract needs an offer, an acceptance and something of value on both sides.",
    "The marathon distance is forty two kilometres and one hundred and ninety five metres.",
]
Sentence = tuple[str, str]  # (slide text, spoken text), as tests/media.py expects


def setup_paths() -> None:
    """tests/ is not a package: its media helpers import by folder, as pytest does it."""
    for path in (str(REPO), str(REPO / "tests")):
        if path not in sys.path:
            sys.path.insert(0, path)


def bench_dir() -> Path:
    path = Path(os.environ.get("VIDQA_BENCH_DIR") or "/tmp/vidqa-bench")
    path.mkdir(parents=True, exist_ok=True)
    return path


def script_for(minutes: float) -> list[Sentence]:
    """Enough sentences (cycled) for about `minutes` of speech at espeak-ng's rate."""
    out, seconds = [], 0.0
    while seconds < minutes * 60:
        text = SENTENCES[len(out) % len(SENTENCES)]
        out.append((f"PART {len(out) + 1}", text))
        seconds += len(text.split()) / WPM * 60 + GAP_S
    return out


def narration(minutes: float, *, audio_only: bool) -> Path:
    """A cached narrated file: <bench dir>/narration-<min>m.{m4a,mp4} (+ timeline json)."""
    setup_paths()
    from media import make_lecture

    stem = f"narration-{minutes:g}m"
    out = bench_dir() / f"{stem}.{'m4a' if audio_only else 'mp4'}"
    if out.exists():
        return out
    tmp_stem = f".{stem}-{os.getpid()}"  # rendered aside, renamed: a killed run leaves no half file
    made = make_lecture(bench_dir(), script_for(minutes), audio_only=audio_only, stem=tmp_stem)
    made.with_name(f"{tmp_stem}.timeline.json").replace(bench_dir() / f"{stem}.timeline.json")
    made.replace(out)
    return out


def media_seconds(path: Path) -> float:
    cmd = [
        "ffprobe",
        "-v",
        "error",
        "-show_entries",
        "format=duration",
        "-of",
        "csv=p=0",
        str(path),
    ]
    return float(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def warmup_clip(path: Path, seconds: float = WARMUP_S) -> Path:
    out = path.with_name(f"{path.stem}.warmup{path.suffix}")
    if not out.exists():
        subprocess.run(
            [
                "ffmpeg",
                "-nostdin",
                "-y",
                "-v",
                "error",
                "-i",
                str(path),
                "-t",
                str(seconds),
                "-c",
                "copy",
                str(out),
            ],
            check=True,
        )
    return out


def loadavg() -> float:
    return round(os.getloadavg()[0], 2)  # the box is shared: a busy neighbour skews every figure


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance over words / reference words: a sanity check that both sides
    transcribed the audio, not a claim about accuracy (espeak-ng is not a human voice)."""
    ref, hyp = _tokens(reference), _tokens(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(len(ref), 1)


def reference_text(media: Path) -> str:
    timeline = json.loads(media.with_name(f"{media.stem}.timeline.json").read_text())
    return " ".join(item["spoken"] for item in timeline)


# --- the two sides ----------------------------------------------------------------


def load_baseline(model: str, threads: int | None):
    """faster-whisper as its README shows it; `threads` None keeps its default (4)."""
    from faster_whisper import WhisperModel

    from models.resolve import resolve

    started = time.perf_counter()
    extra = {} if threads is None else {"cpu_threads": threads}
    whisper = WhisperModel(
        resolve(model, "whisper").ref, device="cpu", compute_type="int8", **extra
    )
    return whisper, time.perf_counter() - started


def run_baseline(whisper, path: Path) -> tuple[float, str]:
    started = time.perf_counter()
    segments, _ = whisper.transcribe(str(path))
    text = " ".join(s.text.strip() for s in segments)  # the generator decodes as it is drained
    return time.perf_counter() - started, text


def load_ours(model: str) -> float:
    from models.asr import load_whisper

    started = time.perf_counter()
    load_whisper(model, "cpu")  # lru-cached: transcribe() below reuses this instance
    return time.perf_counter() - started


def run_ours(model: str, path: Path) -> tuple[float, str]:
    from models.asr import transcribe

    started = time.perf_counter()
    segments, _ = transcribe(path, model=model)
    return time.perf_counter() - started, " ".join(s.text for s in segments)


def run_auto(path: Path) -> tuple[float, str, float | None, str]:
    """No model named: detection with the multilingual model picks one (as ingest does)."""
    from models.asr import transcribe

    started = time.perf_counter()
    segments, info = transcribe(path)
    return (
        time.perf_counter() - started,
        " ".join(s.text for s in segments),
        info.detect_s,
        info.model,
    )


def measure(
    path: Path,
    model: str,
    repeats: int,
    baseline_threads: int | None,
    multilingual: str | None = None,
) -> dict:
    """Load all, warm all up, then alternate timed runs so drift in load hits every side."""
    from models.asr import cpu_threads, cpu_workers

    whisper, base_load = load_baseline(model, baseline_threads)
    ours_load = load_ours(model)
    multi_load = load_ours(multilingual) if multilingual else None
    clip = warmup_clip(path)
    run_baseline(whisper, clip)
    run_ours(model, clip)
    if multilingual:
        run_ours(multilingual, clip)
    times: dict[str, list[float]] = {"baseline": [], "ours": [], "auto": [], "multilingual": []}
    texts: dict[str, str] = {}
    detect: list[float] = []
    picked = None
    for _ in range(repeats):
        seconds, texts["baseline"] = run_baseline(whisper, path)
        times["baseline"].append(seconds)
        seconds, texts["ours"] = run_ours(model, path)
        times["ours"].append(seconds)
        seconds, texts["auto"], detect_s, picked = run_auto(path)
        times["auto"].append(seconds)
        detect.append(detect_s or 0.0)
        if multilingual:
            seconds, texts["multilingual"] = run_ours(multilingual, path)
            times["multilingual"].append(seconds)
    reference = reference_text(path)
    workers = cpu_workers(cpu_threads())
    ours_threads = f"{workers}x{cpu_threads() // workers}"
    loads = {"baseline": base_load, "ours": ours_load, "auto": None, "multilingual": multi_load}
    result = {
        side: {
            "load_s": loads[side],
            "wall_s": statistics.median(t),
            "threads": str(baseline_threads or 4) if side == "baseline" else ours_threads,
            "wer": word_error_rate(reference, texts[side]),
        }
        for side, t in times.items()
        if t
    }
    result["auto"].update(detect_s=statistics.median(detect), picked=picked)
    if multilingual:
        result["multilingual"]["model"] = multilingual
    return result


def report(audio_s: float, result: dict, args) -> dict:
    for r in result.values():
        r["rtf"] = audio_s / r["wall_s"]
    ratio = result["ours"]["rtf"] / result["baseline"]["rtf"]
    print(
        f"audio: {audio_s:.1f} s of espeak-ng narration, model {args.model} int8, "
        f"median of {args.repeats}, load average {loadavg()}"
    )
    print(
        f"{'':14} {'load s':>7} {'wall s':>7} {'RTF (x real time)':>18} {'threads':>7} {'WER':>6}"
        "  (WER vs script: a sanity check; espeak voice, digits count as errors)"
    )
    for side, r in result.items():
        label = {"auto": f"auto->{r.get('picked')}", "multilingual": f"multi:{r.get('model')}"}.get(
            side, side
        )
        load = "" if r["load_s"] is None else f"{r['load_s']:7.2f}"
        print(
            f"{label:14} {load:>7} {r['wall_s']:7.2f} {r['rtf']:18.1f} "
            f"{r['threads']:>7} {r['wer']:6.1%}"
        )
    auto = result["auto"]
    print(
        f"language detection (multilingual model load + detect on the first speech): "
        f"{auto['detect_s']:.2f} s, picked {auto['picked']}"
    )
    print(
        f"ratio ours/baseline RTF: {ratio:.2f}x "
        "(baseline: faster-whisper defaults; ours: word timestamps + VAD + batched)"
    )
    if "multilingual" in result:
        print(
            f"multilingual {result['multilingual']['model']} RTF / {args.model} RTF: "
            f"{result['multilingual']['rtf'] / result['ours']['rtf']:.2f}x"
        )
    rounded = {
        side: {k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}
        for side, r in result.items()
    }
    return {
        "bench": "asr_rtf",
        "model": args.model,
        "audio_s": round(audio_s, 2),
        "repeats": args.repeats,
        "loadavg": loadavg(),
        **rounded,
        "ratio_ours_over_baseline": round(ratio, 3),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--minutes",
        type=float,
        default=DEFAULT_MINUTES,
        help=f"narration length (default {DEFAULT_MINUTES:g})",
    )
    parser.add_argument("--small", action="store_true", help=f"{SMALL_MINUTES:g} min of audio")
    parser.add_argument(
        "--repeats",
        type=int,
        default=DEFAULT_REPEATS,
        help=f"timed runs per side, median reported (default {DEFAULT_REPEATS})",
    )
    parser.add_argument("--model", default=MODEL, help=f"whisper size or path (default {MODEL})")
    parser.add_argument(
        "--multilingual",
        default="base",
        help="multilingual model measured beside (default base; 'none' skips)",
    )
    parser.add_argument(
        "--baseline-threads",
        type=int,
        default=None,
        help="give the baseline this many CPU threads (default: its own, 4)",
    )
    args = parser.parse_args(argv)
    setup_paths()
    minutes = SMALL_MINUTES if args.small else args.minutes
    path = narration(minutes, audio_only=True)
    multilingual = None if args.multilingual == "none" else args.multilingual
    result = measure(path, args.model, max(1, args.repeats), args.baseline_threads, multilingual)
    summary = report(media_seconds(path), result, args)
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()

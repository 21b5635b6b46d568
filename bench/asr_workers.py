"""Two CTranslate2 workers against one, in one process, on the same audio.

    .venv/bin/python bench/asr_workers.py [--minutes 10] [--repeats 3]

Baseline: tiny.en int8 as `transcribe` loaded it before (one worker on all the usable
cores), decoded through `models.asr._run`. Ours: the model `models.asr.load_whisper` loads
now (two workers of half the cores each on 2+ cores), through the same `_run`, which gives
each worker half of the batched pipeline's chunks. Runs alternate so drift in load hits both
sides; prints the median RTF of each, their ratio, the WER of each against the script, and
whether the two wrote the same words.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import asr_rtf


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    asr_rtf.setup_paths()
    from faster_whisper import WhisperModel

    from models import asr
    from models.resolve import resolve

    path = asr_rtf.narration(args.minutes, audio_only=True)
    seconds = asr_rtf.media_seconds(path)
    audio = asr._decode(path)
    one = WhisperModel(
        resolve(asr_rtf.MODEL, "whisper").ref,
        device="cpu",
        compute_type=asr.COMPUTE_TYPES["cpu"],
        cpu_threads=asr.cpu_threads(),
    )
    sides = {"one worker": one, "ours": asr.load_whisper(asr_rtf.MODEL, "cpu")}
    for whisper in sides.values():  # warm-up: VAD model, CTranslate2 allocations
        asr._run(whisper, audio[: int(asr_rtf.WARMUP_S * asr.SAMPLE_RATE)], "en", None)
    times: dict[str, list[float]] = {side: [] for side in sides}
    words: dict[str, list[str]] = {}
    for _ in range(max(1, args.repeats)):
        for side, whisper in sides.items():
            started = time.perf_counter()
            segments, _, _ = asr._run(whisper, audio, "en", None)
            times[side].append(time.perf_counter() - started)
            words[side] = " ".join(s.text for s in segments).split()
    reference = asr_rtf.reference_text(path)
    result = {
        side: {
            "workers_x_threads": f"{w.model.num_workers}x{asr.cpu_threads() // w.model.num_workers}",
            "rtf": round(seconds / statistics.median(times[side]), 1),
            "wer": round(asr_rtf.word_error_rate(reference, " ".join(words[side])), 4),
        }
        for side, w in sides.items()
    }
    ratio = result["ours"]["rtf"] / result["one worker"]["rtf"]
    for side, r in result.items():
        print(
            f"{side:11} {r['workers_x_threads']:>5}  {r['rtf']:6.1f}x real time  WER {r['wer']:.1%}"
        )
    print(
        f"ratio ours/one worker: {ratio:.2f}x; same words: {words['ours'] == words['one worker']}"
        f" ({len(words['ours'])} words); {seconds:.0f} s of audio, median of {args.repeats}, "
        f"load average {asr_rtf.loadavg()}"
    )
    out = {"bench": "asr_workers", "audio_s": round(seconds, 1), **result}
    out["ratio"] = round(ratio, 3)
    out["same_words"] = words["ours"] == words["one worker"]
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()

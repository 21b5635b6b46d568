"""`vidqa eval answers DIR` and `vidqa eval calibrate DIR`: does vidqa answer when the library
says, and say "Not found" when it does not?

  answerable    the set's own questions, asked of the whole library;
  unanswerable  (a) leave-one-video-out: each question asked of the library without its
                own video (the candidates are searched library-wide and its video's spans
                dropped, which stands in for re-ingesting the set once per video), and
                (b) off-topic questions (offtopic_questions.txt, English and Chinese).

Calibration and evaluation use disjoint halves of the questions (even / odd positions of an
evenly spaced sample), so the reported rates are not measured on what the threshold was fit to.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from index.library import Library
from qa import abstain
from qa.evaluate import load_set
from vidqa.evalset import read_jsonl
from vidqa.errors import VidqaError
from vidqa.settings import settings

OFFTOPIC = Path(__file__).with_name("offtopic_questions.txt")
DEFAULT_SAMPLE = 600  # questions drawn evenly from the set (both halves together)
LOVO_CANDIDATES = 50  # searched before dropping the held-out video's spans
Half = Literal["calibrate", "evaluate"]


@dataclass
class Measured:
    answerable: list[abstain.Strength]
    held_out: list[abstain.Strength]  # leave-one-video-out
    off_topic: list[abstain.Strength]
    slug: str  # the embedding model's collection slug


def offtopic_questions(path: Path = OFFTOPIC) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _half(items: list, half: Half) -> list:
    return items[0::2] if half == "calibrate" else items[1::2]


def _sample(rows: list[dict], n: int) -> list[dict]:
    step = max(1, len(rows) // max(n, 1))
    return rows[::step][:n]


def _texts(hits) -> list[str]:
    return [h.span.text for h in hits]


def measure_set(library: Library, questions: list[dict], offtopic: list[str], k: int = 5,
                progress: Callable[[int, int], None] | None = None) -> Measured:
    embedder = library.embedder
    pos, held, off = [], [], []
    total = len(questions) + len(offtopic)
    for n, q in enumerate(questions, 1):
        hits = library.search(q["question"], k=LOVO_CANDIDATES)
        pos.append(abstain.measure(q["question"], _texts(hits[:k]), embedder))
        others = [h for h in hits if h.span.video_id != q["video_id"]][:k]
        held.append(abstain.measure(q["question"], _texts(others), embedder))
        if progress:
            progress(n, total)
    for n, question in enumerate(offtopic, len(questions) + 1):
        off.append(abstain.measure(question, _texts(library.search(question, k=k)), embedder))
        if progress:
            progress(n, total)
    return Measured(pos, held, off, embedder.slug)


def measure_dir(root: str | Path, half: Half, *, sample: int = DEFAULT_SAMPLE,
                progress: Callable[[str, int, int], None] | None = None) -> Measured:
    """Ingest the set into a throwaway library and measure one half of the questions."""
    root = Path(root)
    rows = _half(_sample(read_jsonl(root / "questions.jsonl"), sample), half)
    offtopic = _half(offtopic_questions(), half)
    with tempfile.TemporaryDirectory(prefix="vidqa-eval-") as home:
        library = Library(replace(settings(), home=Path(home), chroma_url=None))
        try:
            load_set(root, library, (lambda d, t: progress("ingest", d, t)) if progress else None)
            if len(library.videos()) < 2:
                raise VidqaError(f"{root}: leave-one-video-out needs at least 2 videos")
            return measure_set(library, rows, offtopic,
                               progress=(lambda d, t: progress("ask", d, t)) if progress else None)
        finally:
            library.close()


def _rate(flags: list[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0


def rates(measured: Measured, threshold: abstain.Threshold) -> dict:
    answered = [threshold.answers(s) for s in measured.answerable]
    held = [not threshold.answers(s) for s in measured.held_out]
    off = [not threshold.answers(s) for s in measured.off_topic]
    return {"answer_rate": _rate(answered), "abstain_rate": _rate(held + off),
            "abstain_rate_held_out_video": _rate(held), "abstain_rate_off_topic": _rate(off),
            "n_answerable": len(answered), "n_unanswerable": len(held) + len(off)}


def evaluate_answers(root: str | Path, *, sample: int = DEFAULT_SAMPLE, progress=None) -> dict:
    """Answer/abstain rates with the stored threshold, on the half calibration did not see."""
    measured = measure_dir(root, "evaluate", sample=sample, progress=progress)
    threshold, calibrated = abstain.threshold_for(measured.slug)
    return {**rates(measured, threshold), "embedder": measured.slug, "calibrated": calibrated,
            "coverage_weight": threshold.coverage_weight, "threshold": threshold.threshold}


def calibrate_dir(root: str | Path, *, sample: int = DEFAULT_SAMPLE, write: bool = False,
                  progress=None) -> dict:
    """Fit the weight and threshold for the library's embedder; store them with `write`."""
    measured = measure_dir(root, "calibrate", sample=sample, progress=progress)
    fitted = abstain.calibrate(measured.answerable, measured.held_out + measured.off_topic,
                               calibrated_on=f"{Path(root).name}: {len(measured.answerable)} "
                                             "questions, held-out-video and off-topic")
    out = {**rates(measured, fitted), "embedder": measured.slug,
           "coverage_weight": fitted.coverage_weight, "threshold": fitted.threshold}
    if write:
        out["written"] = str(abstain.save_threshold(measured.slug, fitted))
    return out

"""`vidqa eval answers DIR` and `vidqa eval calibrate DIR`: does vidqa answer when the library
says, and say "Not found" when it does not?

  answerable    the set's own questions, asked of the whole library;
  unanswerable  (a) leave-one-video-out: each question asked of the library without its
                own video (the candidates are searched library-wide and its video's spans
                dropped, which stands in for re-ingesting the set once per video), and
                (b) off-topic questions (offtopic_questions.txt, English and Chinese).

Calibration and evaluation use disjoint halves of the questions (even / odd positions of an
evenly spaced sample), so the reported rates are not measured on what the threshold was fit to.

Leave-one-out labels are noisy: when every video is on one subject, another video often does
answer the question. eval_data/heldout_labels.jsonl holds a person's reading of a seeded
sample (rule on its first line); those questions are kept out of both halves and reported on
their own: the abstain rate on the ones labelled unanswerable is the held-out figure to trust.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from index.library import Library
from qa import abstain, lecture_eval_set
from qa.evaluate import LoadSet
from vidqa.errors import VidqaError
from vidqa.evalset import read_jsonl
from vidqa.settings import settings

OFFTOPIC = Path(__file__).with_name("offtopic_questions.txt")
HELDOUT_LABELS = Path(__file__).parent / "eval_data" / "heldout_labels.jsonl"
DEFAULT_SAMPLE = 600  # questions drawn evenly from the set (both halves together)
LOVO_CANDIDATES = 50  # searched before dropping the held-out video's spans
SECOND_SET_FOREIGN = 100  # the set's own questions asked of the general-lectures library
Half = Literal["calibrate", "evaluate"]
Label = Literal["unanswerable", "answerable_elsewhere"]  # without the question's own video


@dataclass
class Measured:
    answerable: list[abstain.Strength]
    held_out: list[abstain.Strength]  # leave-one-video-out
    off_topic: list[abstain.Strength]
    slug: str  # the embedding model's collection slug
    labelled: list[tuple[Label, abstain.Strength]] = field(default_factory=list)  # held out, read


def offtopic_questions(path: Path = OFFTOPIC) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def heldout_labels(path: Path | None = None) -> dict[str, Label]:
    """qid -> label for the hand-labelled held-out questions ('#' lines are comments)."""
    path = path or HELDOUT_LABELS
    if not path.exists():
        return {}
    rows = [
        json.loads(line)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return {row["qid"]: row["label"] for row in rows}


def _half(items: list, half: Half) -> list:
    return items[0::2] if half == "calibrate" else items[1::2]


def _sample(rows: list[dict], n: int) -> list[dict]:
    step = max(1, len(rows) // max(n, 1))
    return rows[::step][:n]


def _texts(hits) -> list[str]:
    return [h.span.text for h in hits]


def _held_out(library: Library, q: dict, hits, k: int) -> abstain.Strength:
    """The question's strength against the library without its own video."""
    others = [h for h in hits if h.span.video_id != q["video_id"]][:k]
    return abstain.measure(q["question"], _texts(others), library.embedder)


def measure_set(
    library: Library,
    questions: list[dict],
    offtopic: list[str],
    k: int = 5,
    progress: Callable[[int, int], None] | None = None,
    *,
    labelled: list[tuple[Label, dict]] = (),
) -> Measured:
    embedder = library.embedder
    pos, held, off, read = [], [], [], []
    total = len(questions) + len(offtopic) + len(labelled)
    tick = (
        (lambda: progress(len(pos) + len(off) + len(read), total)) if progress else (lambda: None)
    )
    for q in questions:
        hits = library.search(q["question"], k=LOVO_CANDIDATES)
        pos.append(abstain.measure(q["question"], _texts(hits[:k]), embedder))
        held.append(_held_out(library, q, hits, k))
        tick()
    for question in offtopic:
        off.append(abstain.measure(question, _texts(library.search(question, k=k)), embedder))
        tick()
    for label, q in labelled:
        read.append(
            (label, _held_out(library, q, library.search(q["question"], k=LOVO_CANDIDATES), k))
        )
        tick()
    return Measured(pos, held, off, embedder.slug, read)


def _questions(root: Path, half: Half, sample: int) -> tuple[list[dict], list[tuple[Label, dict]]]:
    """This half's sampled questions, and (evaluate half) the hand-labelled ones, kept apart."""
    rows = read_jsonl(root / "questions.jsonl")
    by_qid = {r["qid"]: r for r in rows}
    labels = {qid: label for qid, label in heldout_labels().items() if qid in by_qid}
    rows = _half(_sample([r for r in rows if r["qid"] not in labels], sample), half)
    labelled = [(label, by_qid[qid]) for qid, label in labels.items()] if half == "evaluate" else []
    return rows, labelled


@contextmanager
def _loaded(root: Path, load: LoadSet, progress) -> Iterator[Library]:
    """A throwaway library holding the eval set at `root`."""
    with tempfile.TemporaryDirectory(prefix="vidqa-eval-") as home:
        library = Library(replace(settings(), home=Path(home), chroma_url=None))
        try:
            load(root, library, (lambda d, t: progress("ingest", d, t)) if progress else None)
            if len(library.videos()) < 2:
                raise VidqaError(f"{root}: leave-one-video-out needs at least 2 videos")
            yield library
        finally:
            library.close()


def _asking(progress):
    return (lambda d, t: progress("ask", d, t)) if progress else None


def measure_dir(
    root: str | Path,
    half: Half,
    *,
    load: LoadSet,
    sample: int = DEFAULT_SAMPLE,
    progress: Callable[[str, int, int], None] | None = None,
) -> Measured:
    """Ingest the set into a throwaway library and measure one half of the questions."""
    root = Path(root)
    rows, labelled = _questions(root, half, sample)
    with _loaded(root, load, progress) as library:
        return measure_set(
            library,
            rows,
            _half(offtopic_questions(), half),
            labelled=labelled,
            progress=_asking(progress),
        )


def measure_second_set(foreign: list[str], load: LoadSet, progress=None) -> Measured:
    """The general-lectures set: its own questions (answerable), each asked again without its
    video (unanswerable: the topics differ), and `foreign` questions from another set."""
    with tempfile.TemporaryDirectory(prefix="vidqa-lectures-") as tmp:
        root = lecture_eval_set.write_eval_set(Path(tmp))
        with _loaded(root, load, progress) as library:
            return measure_set(
                library, read_jsonl(root / "questions.jsonl"), foreign, progress=_asking(progress)
            )


def second_set_rates(measured: Measured, threshold: abstain.Threshold) -> dict:
    r = rates(measured, threshold)
    return {
        "set": lecture_eval_set.SOURCE.stem,
        "answer_rate": r["answer_rate"],
        "abstain_rate_held_out_video": r["abstain_rate_held_out_video"],
        "abstain_rate_other_set_questions": r["abstain_rate_off_topic"],
        "n_answerable": r["n_answerable"],
        "n_held_out_video": len(measured.held_out),
        "n_other_set_questions": len(measured.off_topic),
    }


def _rate(flags: list[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0


def rates(measured: Measured, threshold: abstain.Threshold) -> dict:
    answered = [threshold.answers(s) for s in measured.answerable]
    held = [not threshold.answers(s) for s in measured.held_out]
    off = [not threshold.answers(s) for s in measured.off_topic]
    return {
        "answer_rate": _rate(answered),
        "abstain_rate": _rate(held + off),
        "abstain_rate_held_out_video": _rate(held),
        "abstain_rate_off_topic": _rate(off),
        "n_answerable": len(answered),
        "n_unanswerable": len(held) + len(off),
        **labelled_rates(measured, threshold),
    }


def labelled_rates(measured: Measured, threshold: abstain.Threshold) -> dict:
    """Rates on the hand-labelled held-out questions: declined when truly unanswerable,
    answered when another video does answer them."""
    if not measured.labelled:
        return {}
    declined = [
        not threshold.answers(s) for label, s in measured.labelled if label == "unanswerable"
    ]
    answered = [threshold.answers(s) for label, s in measured.labelled if label != "unanswerable"]
    return {
        "abstain_rate_held_out_labelled_unanswerable": _rate(declined),
        "answer_rate_held_out_labelled_answerable_elsewhere": _rate(answered),
        "n_held_out_labelled_unanswerable": len(declined),
        "n_held_out_labelled_answerable_elsewhere": len(answered),
    }


def evaluate_answers(
    root: str | Path,
    *,
    load: LoadSet,
    sample: int = DEFAULT_SAMPLE,
    second_set: bool = True,
    progress=None,
) -> dict:
    """Answer/abstain rates with the stored threshold, on the half calibration did not see;
    with `second_set`, also on the general-lectures library (key "second_set")."""
    root = Path(root)
    measured = measure_dir(root, "evaluate", load=load, sample=sample, progress=progress)
    threshold, calibrated = abstain.threshold_for(measured.slug)
    out = {
        **rates(measured, threshold),
        "embedder": measured.slug,
        "calibrated": calibrated,
        "coverage_weight": threshold.coverage_weight,
        "threshold": threshold.threshold,
    }
    if second_set:
        rows, _ = _questions(root, "evaluate", sample)
        second = measure_second_set(
            [r["question"] for r in rows[:SECOND_SET_FOREIGN]], load, progress
        )
        out["second_set"] = second_set_rates(second, threshold)
    return out


def calibrate_dir(
    root: str | Path,
    *,
    load: LoadSet,
    sample: int = DEFAULT_SAMPLE,
    write: bool = False,
    progress=None,
) -> dict:
    """Fit the weight and threshold for the library's embedder; store them with `write`."""
    measured = measure_dir(root, "calibrate", load=load, sample=sample, progress=progress)
    fitted = abstain.calibrate(
        measured.answerable,
        measured.held_out + measured.off_topic,
        calibrated_on=f"{Path(root).name}: {len(measured.answerable)} "
        "questions, held-out-video and off-topic",
    )
    out = {
        **rates(measured, fitted),
        "embedder": measured.slug,
        "coverage_weight": fitted.coverage_weight,
        "threshold": fitted.threshold,
    }
    if write:
        out["written"] = str(abstain.save_threshold(measured.slug, fitted))
    return out

"""`vidqa eval answers DIR` and `vidqa eval calibrate DIR`: does vidqa answer when the library
says, and say "Not found" when it does not?

  answerable    the set's own questions, asked of the whole library;
  unanswerable  (a) leave-one-video-out: each question asked of the library without its
                own video (the candidates are searched library-wide and its video's spans
                dropped, which stands in for re-ingesting the set once per video), and
                (b) off-topic questions (offtopic_questions.txt, English and Chinese).

Calibration and evaluation use disjoint halves of the questions (even / odd positions in the
set, each then sampled evenly), so the reported rates are not measured on what the rule was
fit to, whatever --sample each used. Each question is searched once into a qa.abstain_fit.Row;
with a cache folder the libraries and rows are kept and reused (bench/abstain_fit.py fits
and compares rules from them in seconds).

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
from qa import abstain, abstain_fit, lecture_eval_set
from qa.evaluate import LoadSet
from vidqa.errors import VidqaError
from vidqa.evalset import read_jsonl
from vidqa.settings import settings
from vidqa.text import collection_slug

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
    rows: abstain_fit.Measurements | None = None  # what the strengths were computed from


def _strengths(measured: abstain_fit.Measurements) -> Measured:
    def of(kind) -> list[abstain.Strength]:
        return [measured.strength(r) for r in measured.rows if r.kind == kind]

    labelled = [
        ("unanswerable" if r.kind == "labelled_unanswerable" else "answerable_elsewhere", s)
        for r in measured.rows
        if r.kind in ("labelled_unanswerable", "labelled_elsewhere")
        for s in [measured.strength(r)]
    ]
    return Measured(
        of("answerable"), of("held_out"), of("off_topic"), measured.slug, labelled, measured
    )


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


def measure_set(
    library: Library,
    questions: list[dict],
    offtopic: list[str],
    k: int = 5,
    progress: Callable[[int, int], None] | None = None,
    *,
    labelled: list[tuple[Label, dict]] = (),
    cache: Path | None = None,
) -> Measured:
    """Each question asked of the library and without its own video, off-topic questions,
    and the labelled held-out ones; rows already in `cache` are not searched again."""
    return _strengths(
        abstain_fit.measure_library(
            library,
            questions,
            offtopic=offtopic,
            labelled=[(_ROW_KIND[label], q) for label, q in labelled],
            k=k,
            depth=LOVO_CANDIDATES,
            cache=cache,
            progress=progress,
        )
    )


_ROW_KIND: dict[Label, abstain_fit.RowKind] = {
    "unanswerable": "labelled_unanswerable",
    "answerable_elsewhere": "labelled_elsewhere",
}


def _questions(root: Path, half: Half, sample: int) -> tuple[list[dict], list[tuple[Label, dict]]]:
    """This half's sampled questions, and (evaluate half) the hand-labelled ones, kept apart.
    The halves split the whole set before sampling, so two sample sizes never share a
    question across halves."""
    rows = read_jsonl(root / "questions.jsonl")
    by_qid = {r["qid"]: r for r in rows}
    labels = {qid: label for qid, label in heldout_labels().items() if qid in by_qid}
    rows = _sample(_half([r for r in rows if r["qid"] not in labels], half), max(1, sample // 2))
    labelled = [(label, by_qid[qid]) for qid, label in labels.items()] if half == "evaluate" else []
    return rows, labelled


@contextmanager
def _loaded(root: Path, load: LoadSet, progress, home: Path | None = None) -> Iterator[Library]:
    """A library holding the eval set at `root`: throwaway, or kept in `home` and reused
    when it already holds every video of the set."""
    with tempfile.TemporaryDirectory(prefix="vidqa-eval-") as tmp:
        library = Library(replace(settings(), home=Path(home or tmp), chroma_url=None))
        try:
            wanted = len(read_jsonl(root / "videos.jsonl"))
            if len(library.videos()) != wanted:
                load(root, library, (lambda d, t: progress("ingest", d, t)) if progress else None)
            if len(library.videos()) < 2:
                raise VidqaError(f"{root}: leave-one-video-out needs at least 2 videos")
            yield library
        finally:
            library.close()


def _asking(progress):
    return (lambda d, t: progress("ask", d, t)) if progress else None


def _cached(cache_dir: Path | None, name: str) -> tuple[Path | None, Path | None]:
    """(library home, measurements file) under `cache_dir` for the set `name` and the
    configured text model."""
    if cache_dir is None:
        return None, None
    key = f"{name}-{collection_slug(settings().embed_model.rsplit('/', 1)[-1])}"
    return cache_dir / f"{key}-library", cache_dir / f"{key}-rows.json"


def measure_dir(
    root: str | Path,
    half: Half,
    *,
    load: LoadSet,
    sample: int = DEFAULT_SAMPLE,
    progress: Callable[[str, int, int], None] | None = None,
    cache_dir: Path | None = None,
) -> Measured:
    """Ingest the set into a library and measure one half of the questions."""
    root = Path(root)
    rows, labelled = _questions(root, half, sample)
    home, cache = _cached(cache_dir, root.name)
    with _loaded(root, load, progress, home) as library:
        return measure_set(
            library,
            rows,
            _half(offtopic_questions(), half),
            labelled=labelled,
            progress=_asking(progress),
            cache=cache,
        )


def measure_second_set(
    foreign: list[str], load: LoadSet, progress=None, cache_dir: Path | None = None
) -> Measured:
    """The general-lectures set: its own questions (answerable), each asked again without its
    video (unanswerable: the topics differ), and `foreign` questions from another set."""
    with tempfile.TemporaryDirectory(prefix="vidqa-lectures-") as tmp:
        root = lecture_eval_set.write_eval_set(Path(tmp))
        home, cache = _cached(cache_dir, lecture_eval_set.SOURCE.stem)
        with _loaded(root, load, progress, home) as library:
            return measure_set(
                library,
                read_jsonl(root / "questions.jsonl"),
                foreign,
                progress=_asking(progress),
                cache=cache,
            )


def second_set_rates(measured: Measured, threshold: abstain.Rule) -> dict:
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


def rates(measured: Measured, threshold: abstain.Rule) -> dict:
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


def labelled_rates(measured: Measured, threshold: abstain.Rule) -> dict:
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


def _rule_fields(rule: abstain.Rule) -> dict:
    if isinstance(rule, abstain.LogisticRule):
        return {"rule": rule.kind, "threshold": rule.threshold, "features": list(rule.features)}
    return {"rule": rule.kind, "coverage_weight": rule.coverage_weight, "threshold": rule.threshold}


def evaluate_answers(
    root: str | Path,
    *,
    load: LoadSet,
    sample: int = DEFAULT_SAMPLE,
    second_set: bool = True,
    progress=None,
    cache_dir: Path | None = None,
) -> dict:
    """Answer/abstain rates with the stored rule, on the half calibration did not see;
    with `second_set`, also on the general-lectures library (key "second_set")."""
    root = Path(root)
    measured = measure_dir(
        root, "evaluate", load=load, sample=sample, progress=progress, cache_dir=cache_dir
    )
    rule, calibrated = abstain.threshold_for(measured.slug)
    out = {
        **rates(measured, rule),
        "embedder": measured.slug,
        "calibrated": calibrated,
        **_rule_fields(rule),
    }
    if second_set:
        rows, _ = _questions(root, "evaluate", sample)
        second = measure_second_set(
            [r["question"] for r in rows[:SECOND_SET_FOREIGN]], load, progress, cache_dir
        )
        out["second_set"] = second_set_rates(second, rule)
    return out


def calibrate_dir(
    root: str | Path,
    *,
    load: LoadSet,
    sample: int = DEFAULT_SAMPLE,
    write: bool = False,
    progress=None,
    kind: abstain_fit.RuleKind = "cosine_coverage",
    cache_dir: Path | None = None,
) -> dict:
    """Fit the rule of `kind` for the library's embedder on the calibration half; store it
    with `write`."""
    measured = measure_dir(
        root, "calibrate", load=load, sample=sample, progress=progress, cache_dir=cache_dir
    )
    fitted = abstain_fit.fit(
        kind,
        measured.rows,
        measured.rows.rows,
        calibrated_on=f"{Path(root).name}: {len(measured.answerable)} "
        "questions, held-out-video and off-topic",
    )
    out = {**rates(measured, fitted), "embedder": measured.slug, **_rule_fields(fitted)}
    if write:
        out["written"] = str(abstain.save_threshold(measured.slug, fitted))
    return out

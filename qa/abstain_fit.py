"""Measure once, fit in seconds: the per-question measurements behind the answer/abstain rule.

A question is searched once; what the rule needs is kept as a `Row` (its candidate texts, in
search order, and their cosines with the question), with the library's word statistics per
video. Features (qa/abstain.features) are computed from rows, so a feature can change
without searching again; a row asked without its own video reads the statistics of the
library minus that video. Rows and statistics go to a cache file keyed by question id and
`ROW_VERSION` (`vidqa eval calibrate --cache FILE`, bench/abstain_fit.py).

Fitting is checked by grouped cross-validation by video: every question of one video (as
answerable, and asked without its video) is scored by a rule fitted on the other videos,
its cut chosen to answer `TARGET` of the answerable questions of those training videos.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from qa import abstain

ROW_VERSION = 2  # bump when what a Row records changes (not when a feature does)
# 2: cosines from the judging model (abstain.judge), not necessarily the search model
TARGET = 0.9  # share of answerable questions a rule must answer on its training data
RuleKind = Literal["cosine_coverage", "logistic"]
RowKind = Literal[
    "answerable",  # asked of the whole library
    "held_out",  # asked without its own video (label noisy: another video may answer)
    "labelled_unanswerable",  # held out, read by a person: no other video answers
    "labelled_elsewhere",  # held out, read by a person: another video answers
    "off_topic",
]
NEGATIVE: tuple[RowKind, ...] = ("held_out", "off_topic")  # what a fit learns to decline


@dataclass
class Row:
    qid: str
    kind: RowKind
    question: str
    group: str  # cross-validation group: the question's video
    texts: list[str]  # candidate spans' texts, search order (abstain.candidate_texts)
    cosines: list[float]  # each text's cosine with the question
    without: str | None = None  # the video left out of the library for this row


@dataclass
class Measurements:
    """Rows of one library, and that library's word statistics per video."""

    rows: list[Row]
    stats: dict[str, abstain.WordStats]
    slug: str  # the judging model's collection slug: the rule's key (abstain.judge)
    search: str = ""  # the search model's slug: which candidates the rows hold
    _seen: dict = field(default_factory=dict, repr=False)  # row key / video -> computed

    def _stats_without(self, video: str | None) -> abstain.WordStats:
        key = ("stats", video if video in self.stats else None)
        if key not in self._seen:
            total = sum(self.stats.values(), abstain.WordStats())
            self._seen[key] = total - self.stats[video] if key[1] else total
        return self._seen[key]

    def strength(self, row: Row) -> abstain.Strength:
        key = ("row", row.kind, row.qid)
        if key not in self._seen:
            stats = self._stats_without(row.without)
            self._seen[key] = abstain.features(row.question, row.texts, row.cosines, stats)
        return self._seen[key]

    def strengths(self, kinds: Iterable[RowKind] | None = None) -> list[abstain.Strength]:
        return [self.strength(r) for r in self.rows if kinds is None or r.kind in kinds]


# --- measuring ------------------------------------------------------------------------------


def video_stats(library) -> dict[str, abstain.WordStats]:
    return {
        v.id: abstain.WordStats.of_texts([s.text for s in library.spans(v.id)])
        for v in library.videos()
    }


def _row(qid, kind, q, group, texts, sims, without=None) -> Row:
    return Row(qid, kind, q, group, texts, [round(c, 5) for c in sims], without)


def measure_question(
    library, embedder, q: dict, kinds: tuple[RowKind, ...], k: int, depth: int
) -> list[Row]:
    """Rows for one question: asked of the whole library and/or without its own video, from
    one search (`depth` candidates, so `k` remain after dropping its video's)."""
    hits = library.search(q["question"], k=depth)
    own = abstain.candidate_texts([h.span.text for h in hits[:k]])
    others = abstain.candidate_texts(
        [h.span.text for h in hits if h.span.video_id != q["video_id"]][:k]
    )
    unique = list(dict.fromkeys(own + others))
    sims = dict(zip(unique, abstain.cosines(q["question"], unique, embedder), strict=True))
    rows = []
    for kind in kinds:
        texts, without = (own, None) if kind == "answerable" else (others, q["video_id"])
        rows.append(
            _row(
                q["qid"],
                kind,
                q["question"],
                q["video_id"],
                texts,
                [sims[t] for t in texts],
                without,
            )
        )
    return rows


def measure_off_topic(library, embedder, qid: str, question: str, group: str, k: int) -> Row:
    texts = abstain.candidate_texts([h.span.text for h in library.search(question, k=k)])
    sims = abstain.cosines(question, texts, embedder) if texts else []
    return _row(qid, "off_topic", question, group, texts, sims)


def off_topic_qid(question: str) -> str:
    return f"offtopic-{zlib.crc32(question.encode('utf-8')):08x}"


def measure_library(
    library,
    questions: list[dict],
    *,
    offtopic: Iterable[str] = (),
    labelled: Iterable[tuple[RowKind, dict]] = (),
    k: int = abstain.CANDIDATE_SPANS,
    depth: int = 50,
    cache: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Measurements:
    """Rows for `questions` (answerable and held out), `offtopic` and `labelled` questions
    asked of `library`; rows found in `cache` are reused, new ones added to it."""
    known = load(cache) if cache else None
    # One judging model for the set, as the product picks it for a question (an eval set is
    # in one language): from its questions and a sample of what the library says.
    sample = [s.text for v in library.videos()[:3] for s in library.spans(v.id)[:20]]
    embedder = abstain.judge(" ".join(q["question"] for q in questions[:50]), sample, library)
    slug, search = embedder.slug, library.embedder.slug
    fresh = known and (known.slug, known.search) == (slug, search)
    have = {f"{r.kind}:{r.qid}": r for r in known.rows} if fresh else {}
    videos = sorted(v.id for v in library.videos())
    jobs: list[tuple[tuple[str, ...], Callable[[], list[Row]]]] = []
    for q in questions:
        kinds = ("answerable", "held_out")
        jobs.append(
            (
                tuple(f"{kind}:{q['qid']}" for kind in kinds),
                lambda q=q, kinds=kinds: measure_question(library, embedder, q, kinds, k, depth),
            )
        )
    for kind, q in labelled:
        jobs.append(
            (
                (f"{kind}:{q['qid']}",),
                lambda q=q, kind=kind: measure_question(library, embedder, q, (kind,), k, depth),
            )
        )
    for question in offtopic:
        qid = off_topic_qid(question)
        group = videos[zlib.crc32(qid.encode()) % len(videos)] if videos else ""
        jobs.append(
            (
                (f"off_topic:{qid}",),
                lambda qid=qid, question=question, group=group: [
                    measure_off_topic(library, embedder, qid, question, group, k)
                ],
            )
        )
    rows: list[Row] = []
    for n, (keys, job) in enumerate(jobs, 1):
        if all(key in have for key in keys):
            rows += [have[key] for key in keys]
        else:
            new = job()
            have.update((f"{r.kind}:{r.qid}", r) for r in new)
            rows += new
        if progress:
            progress(n, len(jobs))
    measured = Measurements(rows, video_stats(library), slug, search)
    if cache:
        save(Measurements(list(have.values()), measured.stats, slug, search), cache)
    return measured


# --- the cache ------------------------------------------------------------------------------


def _stats_json(stats: abstain.WordStats) -> dict:
    return {"docs": stats.docs, "tokens": stats.tokens, "df": dict(stats.df)}


def save(measured: Measurements, path: Path) -> None:
    data = {
        "row_version": ROW_VERSION,
        "slug": measured.slug,
        "search": measured.search,
        "stats": {vid: _stats_json(s) for vid, s in measured.stats.items()},
        "rows": {f"{r.kind}:{r.qid}": asdict(r) for r in measured.rows},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


def load(path: Path) -> Measurements | None:
    """The cached measurements, or None when absent or written by another ROW_VERSION."""
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("row_version") != ROW_VERSION:
        return None
    stats = {
        vid: abstain.WordStats(s["docs"], s["tokens"], Counter(s["df"]))
        for vid, s in data["stats"].items()
    }
    rows = [Row(**r) for r in data["rows"].values()]
    return Measurements(rows, stats, data["slug"], data.get("search", ""))


# --- fitting --------------------------------------------------------------------------------


def _cut(scores: np.ndarray, target: float) -> float:
    """The highest cut that still passes `target` of `scores` (answerable questions)."""
    ordered = np.sort(scores)
    return float(ordered[int(np.floor((1 - target) * len(ordered)))])


def fit_logistic(
    answerable: list[abstain.Strength],
    unanswerable: list[abstain.Strength],
    *,
    features: tuple[str, ...] = abstain.FEATURES,
    target: float = TARGET,
    calibrated_on: str = "",
) -> abstain.LogisticRule:
    """A logistic regression over standardised features; the cut answers `target` of
    `answerable`."""
    from sklearn.linear_model import LogisticRegression

    x = np.array([s.vector(features) for s in [*answerable, *unanswerable]])
    y = np.array([1] * len(answerable) + [0] * len(unanswerable))
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
    model.fit((x - mean) / scale, y)
    rule = abstain.LogisticRule(
        features,
        tuple(round(float(v), 6) for v in mean),
        tuple(round(float(v), 6) for v in scale),
        tuple(round(float(v), 6) for v in model.coef_[0]),
        round(float(model.intercept_[0]), 6),
        threshold=0.0,
    )
    pos = np.array([rule.probability(s) for s in answerable])
    neg = np.array([rule.probability(s) for s in unanswerable])
    cut = _cut(pos, target)
    return abstain.LogisticRule(
        **{
            **asdict(rule),
            "threshold": round(cut, 6),
            "answer_rate": round(float(np.mean(pos >= cut)), 4),
            "abstain_rate": round(float(np.mean(neg < cut)), 4),
            "calibrated_on": calibrated_on or None,
        }
    )


def fit(kind: RuleKind, measured: Measurements, rows: list[Row], calibrated_on: str = ""):
    """Fit a rule of `kind` on `rows` (answerable against NEGATIVE)."""
    pos = [measured.strength(r) for r in rows if r.kind == "answerable"]
    neg = [measured.strength(r) for r in rows if r.kind in NEGATIVE]
    if kind == "logistic":
        return fit_logistic(pos, neg, calibrated_on=calibrated_on)
    return abstain.calibrate(pos, neg, target=TARGET, calibrated_on=calibrated_on)


def cross_validate(kind: RuleKind, measured: Measurements) -> dict[str, bool]:
    """Row key -> answered?, each row decided by a rule fitted without its video's rows.
    Labelled rows are never trained on, only scored."""
    decided: dict[str, bool] = {}
    trainable = [r for r in measured.rows if r.kind in ("answerable", *NEGATIVE)]
    for group in sorted({r.group for r in measured.rows}):
        rule = fit(kind, measured, [r for r in trainable if r.group != group])
        for row in (r for r in measured.rows if r.group == group):
            decided[f"{row.kind}:{row.qid}"] = rule.answers(measured.strength(row))
    return decided


def rates_of(measured: Measurements, answered: Callable[[Row], bool]) -> dict:
    """Answer rate on answerable rows, abstain rate on each unanswerable kind."""

    def share(kind: RowKind, want: bool) -> tuple[float, int]:
        flags = [bool(answered(r)) == want for r in measured.rows if r.kind == kind]
        return (round(sum(flags) / len(flags), 4) if flags else 0.0), len(flags)

    out = {}
    for kind, want, name in (
        ("answerable", True, "answer_rate"),
        ("labelled_unanswerable", False, "abstain_rate_labelled_unanswerable"),
        ("labelled_elsewhere", True, "answer_rate_labelled_elsewhere"),
        ("off_topic", False, "abstain_rate_off_topic"),
        ("held_out", False, "abstain_rate_held_out_video"),
    ):
        out[name], out[f"n_{kind}"] = share(kind, want)
    return out

"""`vidqa eval chapters DIR`: chapter boundaries scored on pseudo-videos.

The classic text-segmentation benchmark (Choi 2000): transcripts of different
videos from an eval set (shared/eval/README.md) are concatenated into long
pseudo-videos, and the joins are the true chapter boundaries. Scores: boundary
precision/recall/F1 within ±TOLERANCE_S, and Pk / WindowDiff (nltk) over the
sentence sequence (lower is better). nltk's TextTiling runs beside ours on the
same pseudo-videos.

The gap at a join is the set's median gap between sentences, so a pause gives
nothing away (real topic changes are not always marked by silence); with
`natural_gaps` each video keeps its own lead-in and tail silence instead.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from ingest.segment import Sentence, find_boundaries, sentences_from, texttiling_boundaries
from vidqa.errors import VidqaError
from vidqa.evalset import read_jsonl

TOLERANCE_S = 10.0  # s: a predicted boundary this close to a true one is a hit
PSEUDO_VIDEOS = 20  # pseudo-videos built per run
VIDEOS_PER_PSEUDO = (3, 7)  # videos joined into one pseudo-video (inclusive)
SEED = 12


@dataclass
class Pseudo:
    sentences: list[Sentence]
    truth: list[int]  # indices of sentences that start a new source video
    duration: float


@dataclass
class Scores:
    precision: float
    recall: float
    f1: float
    pk: float
    windowdiff: float
    chapters_per_video: float  # predicted chapters / true chapters


def _video_sentences(root: Path, row: dict) -> tuple[list[Sentence], float]:
    from ingest.transcript import transcript_from_subtitles

    path = root / row["transcript"]
    if not path.exists():
        raise VidqaError(f"{path}: transcript not found (listed in {root / 'videos.jsonl'})")
    sentences = sentences_from(transcript_from_subtitles(path).segments)
    duration = float(row.get("duration") or (sentences[-1].end if sentences else 0.0))
    return sentences, duration


def build_pseudo_videos(
    videos: Sequence[tuple[list[Sentence], float]],
    *,
    count: int,
    natural_gaps: bool,
    seed: int = SEED,
) -> list[Pseudo]:
    """`count` concatenations of distinct videos (seeded, so every run scores the same set)."""
    rng = random.Random(seed)
    gaps = [b.start - a.end for s, _ in videos for a, b in pairwise(s)]
    join_gap = max(statistics.median(gaps), 0.0) if gaps else 0.5
    low, high = VIDEOS_PER_PSEUDO
    out = []
    for _ in range(count):
        picks = rng.sample(range(len(videos)), min(len(videos), rng.randint(low, high)))
        sentences, truth, clock = [], [], 0.0
        for k, v in enumerate(picks):
            items, duration = videos[v]
            if not items:
                continue
            shift = clock if natural_gaps else clock - items[0].start + (join_gap if k else 0)
            if k:
                truth.append(len(sentences))
            sentences += [Sentence(s.start + shift, s.end + shift, s.text) for s in items]
            clock = shift + duration if natural_gaps else sentences[-1].end
        out.append(Pseudo(sentences, truth, clock))
    return out


def boundary_f1(
    pred: Sequence[float], truth: Sequence[float], tolerance: float = TOLERANCE_S
) -> tuple[int, int, int]:
    """(hits, predicted, true): each true boundary matches at most one prediction."""
    free, hits = list(truth), 0
    for t in sorted(pred):
        near = [x for x in free if abs(x - t) <= tolerance]
        if near:
            free.remove(min(near, key=lambda x: abs(x - t)))
            hits += 1
    return hits, len(pred), len(truth)


def _mask(n: int, starts: Sequence[int]) -> str:
    """nltk's segmentation string: '1' after the last sentence of each segment."""
    marks = ["0"] * n
    for i in starts:
        marks[i - 1] = "1"
    return "".join(marks)


def score(pseudos: Sequence[Pseudo], predict: Callable[[Pseudo], list[int]]) -> Scores:
    from nltk.metrics.segmentation import pk, windowdiff

    hits = n_pred = n_true = 0
    pks, wds = [], []
    for p in pseudos:
        found = predict(p)
        times = [p.sentences[i].start for i in found]
        h, np_, nt = boundary_f1(times, [p.sentences[i].start for i in p.truth])
        hits, n_pred, n_true = hits + h, n_pred + np_, n_true + nt
        ref, hyp = _mask(len(p.sentences), p.truth), _mask(len(p.sentences), found)
        k = max(2, round(len(p.sentences) / (len(p.truth) + 1) / 2))
        pks.append(pk(ref, hyp, k=k))
        wds.append(windowdiff(ref, hyp, k))
    precision = hits / n_pred if n_pred else 0.0
    recall = hits / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(
        precision,
        recall,
        f1,
        float(np.mean(pks)),
        float(np.mean(wds)),
        n_pred / n_true if n_true else 0.0,
    )


def _ours(vectors: dict[str, np.ndarray]) -> Callable[[Pseudo], list[int]]:
    def predict(p: Pseudo) -> list[int]:
        rows = np.stack([vectors[s.text] for s in p.sentences])
        return find_boundaries(p.sentences, rows, (0.0, p.duration))[0]

    return predict


def _embed_once(videos, embed) -> dict[str, np.ndarray]:
    """Each distinct sentence embedded once (pseudo-videos reuse the same sentences)."""
    texts = list(dict.fromkeys(s.text for sentences, _ in videos for s in sentences))
    return dict(zip(texts, np.asarray(embed(texts)), strict=True))


def _baseline(p: Pseudo) -> list[int]:
    from ingest.topics import stopwords

    return texttiling_boundaries(p.sentences, stopwords())


def evaluate_chapters(
    root: str | Path,
    *,
    count: int = PSEUDO_VIDEOS,
    natural_gaps: bool = False,
    limit: int | None = None,
    embed=None,
) -> dict:
    """Scores of ours and of TextTiling on `count` pseudo-videos made from the set at `root`."""
    from ingest.topics import text_vectors

    root = Path(root)
    rows = read_jsonl(root / "videos.jsonl")[:limit]
    if len(rows) < 2:
        raise VidqaError(
            f"{root / 'videos.jsonl'}: needs at least 2 videos to join, has {len(rows)}"
        )
    videos = [_video_sentences(root, r) for r in rows]
    pseudos = build_pseudo_videos(videos, count=count, natural_gaps=natural_gaps)
    ours = score(pseudos, _ours(_embed_once(videos, embed or text_vectors)))
    baseline = score(pseudos, _baseline)
    return {
        "videos": len(rows),
        "pseudo_videos": len(pseudos),
        "boundaries": sum(len(p.truth) for p in pseudos),
        "minutes": round(sum(p.duration for p in pseudos) / 60, 1),
        "tolerance_s": TOLERANCE_S,
        "natural_gaps": natural_gaps,
        "ours": vars(ours),
        "texttiling": vars(baseline),
    }

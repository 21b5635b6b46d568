"""`vidqa eval retrieval DIR`: score retrieval on a transcript eval set (see shared/eval/README.md).

A retrieved span is a hit when its midpoint lies inside the gold span, so long
spans cannot inflate the score. The set is ingested into a throwaway library,
never into the user's own.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from index.library import Library
from index.moments import SearchOptions
from qa.retrieve import retrieve
from vidqa.errors import VidqaError
from vidqa.evalset import read_jsonl
from vidqa.settings import settings

TOP_K = 10  # MRR is computed over this many results


@dataclass
class Question:
    qid: str
    question: str
    video_id: str
    start: float
    end: float


# Fills a library with an eval set: ingest.evalset's loader, passed in by ui/ (qa reads,
# it does not ingest).
LoadSet = Callable[[Path, Library, Callable[[int, int], None] | None], None]


def _is_hit(span, q: Question) -> bool:
    return span.video_id == q.video_id and q.start <= (span.start + span.end) / 2 <= q.end


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - t0) * 1000


def score(
    library: Library,
    questions: list[Question],
    progress: Callable[[int, int], None] | None = None,
    *,
    options: SearchOptions | None = None,
    details: list[dict] | None = None,
) -> dict:
    """The metrics over `questions`; `details` (when given) gets one row per question."""
    ranks, lib_video, lib_video5, lib_hit, latencies = [], [], [], [], []
    videos = {v.id: v for v in library.videos()}
    for n, q in enumerate(questions, 1):
        ev, ms = _timed(
            lambda q=q: retrieve(
                q.question, library, video=videos[q.video_id], k=TOP_K, options=options
            )
        )
        latencies.append(ms)
        ranks.append(next((i for i, s in enumerate(ev.spans[:TOP_K], 1) if _is_hit(s, q)), None))
        top_in_video = ev.spans[0] if ev.spans else None
        ev, ms = _timed(lambda q=q: retrieve(q.question, library, k=TOP_K, options=options))
        latencies.append(ms)
        top = ev.spans[0] if ev.spans else None
        lib_video.append(top is not None and top.video_id == q.video_id)
        lib_video5.append(q.video_id in list(dict.fromkeys(s.video_id for s in ev.spans))[:5])
        lib_hit.append(top is not None and _is_hit(top, q))
        if details is not None:
            details.append(
                {
                    **_detail(q, ranks[-1], top_in_video, top),
                    "library_videos": list(dict.fromkeys(s.video_id for s in ev.spans))[:5],
                }
            )
        if progress:
            progress(n, len(questions))
    count = max(len(questions), 1)
    return {
        "n": len(questions),
        "hit@1": round(sum(r == 1 for r in ranks) / count, 4),
        "hit@5": round(sum(r is not None and r <= 5 for r in ranks) / count, 4),
        "mrr": round(sum(1 / r for r in ranks if r) / count, 4),
        "library_video_hit@1": round(sum(lib_video) / count, 4),
        "library_video_hit@5": round(sum(lib_video5) / count, 4),
        "library_hit@1": round(sum(lib_hit) / count, 4),
        "p50_ms": round(float(np.percentile(latencies, 50)), 2) if latencies else 0.0,
        "p95_ms": round(float(np.percentile(latencies, 95)), 2) if latencies else 0.0,
    }


def _span_row(span) -> dict | None:
    if span is None:
        return None
    return {
        "video_id": span.video_id,
        "start": round(span.start, 2),
        "end": round(span.end, 2),
        "text": span.text,
    }


def _detail(q: Question, rank: int | None, top_in_video, top_library) -> dict:
    """What `--details` writes per question: where the gold span ranked and what came first."""
    return {
        "qid": q.qid,
        "question": q.question,
        "video_id": q.video_id,
        "gold": [q.start, q.end],
        "rank": rank,
        "top": _span_row(top_in_video),
        "library_top": _span_row(top_library),
        "library_hit": top_library is not None and _is_hit(top_library, q),
    }


# One row per component: the full search, then each component switched off (or alone).
ABLATIONS: dict[str, SearchOptions] = {
    "full": SearchOptions(),
    "dense only": SearchOptions(keyword=False),
    "BM25 only": SearchOptions(dense=False),
    "no windows": SearchOptions(windows=False),
    "no SPLADE re-scoring": SearchOptions(sparse=False),
    "no sentence re-scoring": SearchOptions(sentence_pool=0),
    "no sentences (whole spans, no windows)": SearchOptions(sentences=False),
}


def write_details(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def load_questions(root: Path, limit: int | None) -> list[Question]:
    return [
        Question(**{k: r[k] for k in ("qid", "question", "video_id", "start", "end")})
        for r in read_jsonl(root / "questions.jsonl")
    ][:limit]


def evaluate_retrieval(
    root: str | Path,
    *,
    load: LoadSet,
    limit: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    details: Path | None = None,
    ablate: bool = False,
) -> dict:
    """Ingest the set into a temporary library, ask every question, return the metrics.

    `details`: write one JSON line per question (rank, top span, gold span) there.
    `ablate`: also score each row of ABLATIONS on the same library and questions; the
    metrics then carry them under "ablation" (the top-level figures are the full search).
    """
    root = Path(root)
    questions = load_questions(root, limit)
    with tempfile.TemporaryDirectory(prefix="vidqa-eval-") as home:
        library = Library(replace(settings(), home=Path(home), chroma_url=None))
        try:
            load(root, library, (lambda d, t: progress("ingest", d, t)) if progress else None)
            known = {v.id for v in library.videos()}
            missing = {q.video_id for q in questions} - known
            if missing:
                raise VidqaError(
                    f"{root}: questions refer to unknown videos: {sorted(missing)[:5]}"
                )
            rows: list[dict] = []
            metrics = score(
                library,
                questions,
                (lambda d, t: progress("ask", d, t)) if progress else None,
                details=rows,
            )
            if details is not None:
                write_details(details, rows)
            if ablate:
                metrics["ablation"] = {
                    name: score(
                        library,
                        questions,
                        (lambda d, t, name=name: progress(name, d, t)) if progress else None,
                        options=options,
                    )
                    for name, options in ABLATIONS.items()
                    if name != "full"
                }
            return metrics
        finally:
            library.close()

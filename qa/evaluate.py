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
from qa.retrieve import retrieve
from vidqa.errors import VidqaError
from vidqa.settings import settings

TOP_K = 10  # MRR is computed over this many results


@dataclass
class Question:
    qid: str
    question: str
    video_id: str
    start: float
    end: float


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        raise VidqaError(f"{path}: file not found (an eval set needs videos.jsonl and questions.jsonl)")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise VidqaError(f"{path}:{n}: invalid JSON ({e.msg})") from e
    return rows


def load_set(root: Path, library: Library, progress: Callable[[int, int], None] | None = None) -> None:
    from ingest.pipeline import ingest_transcript

    videos = read_jsonl(root / "videos.jsonl")
    for n, row in enumerate(videos, 1):
        ingest_transcript(root / row["transcript"], video_id=row["video_id"],
                          title=row.get("title") or row["video_id"], duration=row.get("duration"),
                          library=library)
        if progress:
            progress(n, len(videos))


def _is_hit(span, q: Question) -> bool:
    return span.video_id == q.video_id and q.start <= (span.start + span.end) / 2 <= q.end


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - t0) * 1000


def score(library: Library, questions: list[Question],
          progress: Callable[[int, int], None] | None = None) -> dict:
    ranks, lib_video, lib_hit, latencies = [], [], [], []
    videos = {v.id: v for v in library.videos()}
    for n, q in enumerate(questions, 1):
        ev, ms = _timed(lambda q=q: retrieve(q.question, library, video=videos[q.video_id], k=TOP_K))
        latencies.append(ms)
        ranks.append(next((i for i, s in enumerate(ev.spans[:TOP_K], 1) if _is_hit(s, q)), None))
        ev, ms = _timed(lambda q=q: retrieve(q.question, library, k=1))
        latencies.append(ms)
        top = ev.spans[0] if ev.spans else None
        lib_video.append(top is not None and top.video_id == q.video_id)
        lib_hit.append(top is not None and _is_hit(top, q))
        if progress:
            progress(n, len(questions))
    count = max(len(questions), 1)
    return {
        "n": len(questions),
        "hit@1": round(sum(r == 1 for r in ranks) / count, 4),
        "hit@5": round(sum(r is not None and r <= 5 for r in ranks) / count, 4),
        "mrr": round(sum(1 / r for r in ranks if r) / count, 4),
        "library_video_hit@1": round(sum(lib_video) / count, 4),
        "library_hit@1": round(sum(lib_hit) / count, 4),
        "p50_ms": round(float(np.percentile(latencies, 50)), 2) if latencies else 0.0,
        "p95_ms": round(float(np.percentile(latencies, 95)), 2) if latencies else 0.0,
    }


def evaluate_retrieval(root: str | Path, *, limit: int | None = None,
                       progress: Callable[[str, int, int], None] | None = None) -> dict:
    """Ingest the set into a temporary library, ask every question, return the metrics."""
    root = Path(root)
    questions = [Question(**{k: r[k] for k in ("qid", "question", "video_id", "start", "end")})
                 for r in read_jsonl(root / "questions.jsonl")][:limit]
    with tempfile.TemporaryDirectory(prefix="vidqa-eval-") as home:
        library = Library(replace(settings(), home=Path(home), chroma_url=None))
        try:
            load_set(root, library, (lambda d, t: progress("ingest", d, t)) if progress else None)
            known = {v.id for v in library.videos()}
            missing = {q.video_id for q in questions} - known
            if missing:
                raise VidqaError(f"{root}: questions refer to unknown videos: {sorted(missing)[:5]}")
            return score(library, questions, (lambda d, t: progress("ask", d, t)) if progress else None)
        finally:
            library.close()

"""Load a transcript eval set (videos.jsonl + transcripts, shared/eval/README.md) into a
library, the way ingest would. The evals in qa/ take this as their `load` argument, so
qa never imports ingest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from index.library import Library
from ingest.pipeline import ingest_transcript
from vidqa.evalset import read_jsonl


def load_set(
    root: Path, library: Library, progress: Callable[[int, int], None] | None = None
) -> None:
    videos = read_jsonl(root / "videos.jsonl")
    for n, row in enumerate(videos, 1):
        ingest_transcript(
            root / row["transcript"],
            video_id=row["video_id"],
            title=row.get("title") or row["video_id"],
            duration=row.get("duration"),
            library=library,
        )
        if progress:
            progress(n, len(videos))

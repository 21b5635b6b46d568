"""Eval sets on disk: JSON Lines files (videos.jsonl, questions.jsonl, ...), read row by row."""

from __future__ import annotations

import json
from pathlib import Path

from vidqa.errors import VidqaError


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        raise VidqaError(
            f"{path}: file not found (an eval set needs videos.jsonl and questions.jsonl)"
        )
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise VidqaError(f"{path}:{n}: invalid JSON ({e.msg})") from e
    return rows

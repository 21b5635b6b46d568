"""Progress display for the CLI: rich bars on stderr, one per file and stage."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn


def _bars(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[stage]}"),
        TimeElapsedColumn(), console=console, transient=False,
    )


def run_ingest(paths: list[str], options):
    """Run ingest with a bar per file whose label shows the stage (probe, transcript, ...)."""
    from pathlib import Path

    from ingest.pipeline import ingest

    console = Console(stderr=True)
    tasks: dict[str, int] = {}
    with _bars(console) as bars:
        def progress(path: str, stage: str, done: float, total: float) -> None:
            if path not in tasks:
                tasks[path] = bars.add_task(Path(path).name[:40], total=1.0, stage="")
            fraction = 1.0 if stage == "done" else (done / total if total else 0.0)
            bars.update(tasks[path], completed=min(fraction, 1.0), stage=stage)

        return ingest(paths, options=options, progress=progress)


@contextmanager
def stage_progress() -> Iterator:
    """progress(stage, done, total) -> one bar per stage name.

    The display starts with the first stage: a command that fails before any progress
    (bad input) prints its one-line error and nothing else.
    """
    console = Console(stderr=True)
    tasks: dict[str, int] = {}
    bars = _bars(console)

    def progress(stage: str, done: int, total: int) -> None:
        if not tasks:
            bars.start()
        if stage not in tasks:
            tasks[stage] = bars.add_task(stage, total=total, stage="")
        bars.update(tasks[stage], completed=done, total=total)

    try:
        yield progress
    finally:
        if tasks:
            bars.stop()

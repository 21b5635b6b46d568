"""Progress display for the CLI: rich bars on stderr, one per file and stage."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn


def _bars(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[stage]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def run_ingest(paths: list[str], options, cluster=None):
    """Run ingest with a bar per file whose label shows the stage (probe, transcript, ...).

    On Ray (`cluster.uses_ray`) stages of one file run at once: see cluster_bars.
    """
    from pathlib import Path

    from ingest.pipeline import ClusterOptions, ingest

    cluster = cluster or ClusterOptions()
    if cluster.uses_ray:
        with cluster_bars() as progress:
            return ingest(paths, options=options, progress=progress, cluster=cluster)
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


CLUSTER_STAGES = ("probe", "transcript", "frames", "chapters", "embedding", "index")


@dataclass
class ClusterView:
    """What the cluster is doing: per file, each stage's fraction; per stage, files past it.

    Fed progress(path, stage, done, total) events; the Ray driver sends done == total
    when a stage's task returns, so a stage below 1.0 is one still running.
    """

    files: dict[str, dict[str, float]] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)

    def update(self, path: str, stage: str, done: float, total: float) -> None:
        stages = self.files.setdefault(path, {})
        if stage == "done":
            self.finished.add(path)
        elif stage in CLUSTER_STAGES:
            stages[stage] = min(1.0, done / total) if total else 0.0

    def running(self, path: str) -> str:
        """The file's stages in flight, e.g. 'transcript 40% · frames 75%'."""
        if path in self.finished:
            return "done"
        stages = self.files.get(path, {})
        return " · ".join(
            f"{s} {stages[s]:.0%}" for s in CLUSTER_STAGES if s in stages and stages[s] < 1.0
        )

    def file_fraction(self, path: str) -> float:
        if path in self.finished:
            return 1.0
        stages = self.files.get(path, {})
        return sum(stages.values()) / len(CLUSTER_STAGES)

    def stage_counts(self) -> dict[str, int]:
        """Files that have finished each stage."""
        return {
            s: sum(1 for f in self.files.values() if f.get(s, 0.0) >= 1.0) for s in CLUSTER_STAGES
        }


@contextmanager
def cluster_bars() -> Iterator:
    """progress(path, stage, done, total) for a Ray ingest: a bar per stage (files through
    it, cluster-wide) above a bar per file naming the stages it has in flight."""
    from pathlib import Path

    console = Console(stderr=True)
    view = ClusterView()
    stage_tasks: dict[str, int] = {}
    file_tasks: dict[str, int] = {}
    with _bars(console) as bars:
        for stage in CLUSTER_STAGES:
            stage_tasks[stage] = bars.add_task(f"[all files] {stage}", total=0, stage="")

        def progress(path: str, stage: str, done: float, total: float) -> None:
            view.update(path, stage, done, total)
            if path not in file_tasks:
                file_tasks[path] = bars.add_task(Path(path).name[:40], total=1.0, stage="")
            bars.update(
                file_tasks[path], completed=view.file_fraction(path), stage=view.running(path)
            )
            for name, count in view.stage_counts().items():
                bars.update(
                    stage_tasks[name],
                    completed=count,
                    total=len(view.files),
                    stage=f"{count}/{len(view.files)}",
                )

        yield progress

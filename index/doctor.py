"""`vidqa doctor`: is the catalog whole, and does the vector store agree with it?

Checks, per library: every ready video has all the vectors its current version needs
(and the stored vectors of the sentences search re-scores);
no vector lacks a catalog row; no removal or replacement was left half done; no
thumbnails or job folders outlived their video or job; every video's file is still
where it was ingested from. `repair` fixes what can be fixed without the media file.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from index.library import Library

FRESH_S = 3600  # s: a folder touched this recently may belong to an ingest still running
JOB_KEEP_S = 7 * 24 * 3600  # s: finished job folders older than this are clutter

Problem = Literal[
    "missing_vectors",
    "missing_sentence_vectors",
    "orphan_vectors",
    "unused_index",
    "unfinished_version",
    "unfinished_removal",
    "unfinished_ingest",
    "orphan_thumbnails",
    "old_jobs",
    "moved_file",
]


@dataclass
class Finding:
    problem: Problem
    subject: str  # a video id, collection name or folder
    detail: str
    fixable: bool = True  # by `repair` (a moved file needs the user)
    repaired: bool = False


@dataclass
class VideoCheck:
    id: str
    title: str
    spans: dict[str, int]  # kind -> catalog rows of the current version
    vectors: dict[str, list[int]]  # collection -> [needed, present]


@dataclass
class DoctorReport:
    videos: list[VideoCheck] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return all(f.repaired for f in self.findings)


def check(library: Library) -> DoctorReport:
    """Look, change nothing. Holds the write lock so no running write looks half done."""
    report = DoctorReport()
    with library.writing(recover=False):
        _check_videos(library, report)
        _check_leftovers(library, report)
        _check_vectors(library, report)
    _check_folders(library, report)
    return report


def repair(library: Library, report: DoctorReport) -> DoctorReport:
    """Fix what `report` found; returns a fresh check with the fixed findings marked."""
    with library.writing(recover=True):  # finishes removals and drops unfinished versions
        unused = set(library.unused_text_indexes())  # dropped whole, orphans and all
        for f in report.findings:
            if f.problem == "unfinished_ingest":
                library._remove_locked(f.subject)
            elif f.problem == "orphan_vectors" and f.subject not in unused:
                library._client.store(f.subject).delete(_orphans(library, f.subject))
            elif f.problem == "unused_index" and f.subject in unused:
                library._client.drop(f.subject)
    for f in report.findings:
        if f.problem == "missing_vectors" and f.fixable:
            library.reembed(f.subject)
        elif f.problem == "missing_sentence_vectors":
            library.fill_sentence_vectors(f.subject)
        elif f.problem in ("orphan_thumbnails", "old_jobs"):
            shutil.rmtree(f.subject, ignore_errors=True)
    after = check(library)
    fixed = {(f.problem, f.subject) for f in report.findings} - {
        (f.problem, f.subject) for f in after.findings
    }
    for f in report.findings:
        f.repaired = (f.problem, f.subject) in fixed
    after.findings = report.findings + [
        f
        for f in after.findings
        if (f.problem, f.subject) not in {(g.problem, g.subject) for g in report.findings}
    ]
    return after


def _check_videos(library: Library, report: DoctorReport) -> None:
    text_index = None
    for video in library.videos():
        counts = library.vector_counts(video.id)
        report.videos.append(
            VideoCheck(
                video.id,
                video.title,
                library.catalog.counts(video.id),
                {n: list(c) for n, c in counts.items()},
            )
        )
        missing = {n: c for n, c in counts.items() if c[1] < c[0]}
        if missing:
            text_index = text_index or library.text_vectors.name
            # text vectors come back from the catalog's text; CLIP ones need the media
            fixable = all(n in (text_index, "text vectors") for n in missing)
            report.findings.append(
                Finding(
                    "missing_vectors",
                    video.id,
                    f"{video.title}: "
                    + ", ".join(
                        f"{found} of {want} vectors in {n}" for n, (want, found) in missing.items()
                    )
                    + ("" if fixable else f" (re-ingest it: vidqa ingest --force {video.path})"),
                    fixable,
                )
            )
        want, found = library.sentence_vector_counts(video.id)
        if found < want:  # ingested before they were stored, or mid model switch
            report.findings.append(
                Finding(
                    "missing_sentence_vectors",
                    video.id,
                    f"{video.title}: {found} of {want} stored vectors of the sentences search "
                    "re-scores (it embeds the rest per query, slower)",
                )
            )
        if video.path and not Path(video.path).exists():
            report.findings.append(
                Finding(
                    "moved_file",
                    video.id,
                    f"{video.title}: {video.path} is gone (ingest it from "
                    f"its new place, or vidqa remove {video.id[:12]} --yes)",
                    fixable=False,
                )
            )


def _check_leftovers(library: Library, report: DoctorReport) -> None:
    catalog = library.catalog
    for video in catalog.videos_with_status("removing"):
        report.findings.append(
            Finding("unfinished_removal", video.id, f"{video.title}: removal was interrupted")
        )
    for video in catalog.videos_with_status("indexing"):
        report.findings.append(
            Finding(
                "unfinished_ingest",
                video.id,
                f"{video.title}: first ingest never finished (never shown)",
            )
        )
    stale: dict[str, int] = {}
    for video_id, _, _ in catalog.stale_spans():
        stale[video_id] = stale.get(video_id, 0) + 1
    for video_id, n in stale.items():
        report.findings.append(
            Finding(
                "unfinished_version", video_id, f"{n} spans of a replaced or unfinished version"
            )
        )


def _orphans(library: Library, name: str) -> list[str]:
    return sorted(library._client.store(name).ids() - library.catalog.span_ids_everywhere())


def _check_vectors(library: Library, report: DoctorReport) -> None:
    for name in library.unused_text_indexes():
        report.findings.append(
            Finding("unused_index", name, "text vectors of a model the library no longer uses")
        )
    known = library.catalog.span_ids_everywhere()
    for store in library._client.stores():
        orphans = store.ids() - known
        if orphans:
            report.findings.append(
                Finding("orphan_vectors", store.name, f"{len(orphans)} vectors with no catalog row")
            )


def _check_folders(library: Library, report: DoctorReport) -> None:
    cfg, now = library.cfg, time.time()
    known = {v.id for v in library.videos(include_incomplete=True)}
    for root in (cfg.thumbs_dir, cfg.home / "posters"):
        for folder in sorted(root.iterdir()) if root.is_dir() else []:
            if folder.is_dir() and folder.name not in known and now - _newest(folder) > FRESH_S:
                report.findings.append(
                    Finding(
                        "orphan_thumbnails",
                        str(folder),
                        f"{len(list(folder.iterdir()))} images of no video",
                    )
                )
    jobs = cfg.home / "jobs"
    for folder in sorted(jobs.iterdir()) if jobs.is_dir() else []:
        if folder.is_dir() and now - _newest(folder) > JOB_KEEP_S and not _job_running(folder):
            report.findings.append(
                Finding("old_jobs", str(folder), "finished more than 7 days ago")
            )


def _newest(folder: Path) -> float:
    return max([folder.stat().st_mtime, *(p.stat().st_mtime for p in folder.iterdir())])


def _job_running(folder: Path) -> bool:
    try:
        os.kill(int((folder / "pid").read_text()), 0)
    except (OSError, ValueError):
        return False
    events = (
        (folder / "events.jsonl").read_text().splitlines()
        if (folder / "events.jsonl").exists()
        else []
    )
    return not any(json.loads(line).get("event") == "end" for line in events if line.strip())

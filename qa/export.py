"""Export the library as a LLaMA-Factory video fine-tuning dataset (sharegpt format).

Public entry: `export_sft(out_dir, options, library)`; `plan_export` alone is the dry run.
Writes, under OUT_DIR:
  dataset_info.json        entries vidqa_train / vidqa_val (other entries are kept)
  vidqa_train.json         [{"messages": [user, assistant], "videos": ["clips/…mp4"], "vidqa": {...}}]
  vidqa_val.json           the same for held-out videos (a video is never in both)
  clips/<video>/<…>.mp4    one clip per example, cut by qa/clips.py
Video paths are relative to OUT_DIR: LLaMA-Factory joins them to `media_dir`, which
defaults to `dataset_dir`, so `dataset_dir: OUT_DIR` is all a training config needs.
Clips are written to a temporary name and renamed, so an interrupted export resumes:
a clip that exists and plays for the right length is not cut again.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from index.records import Video
from qa.sft_examples import (
    EXAMPLE_KINDS,
    MIN_CLIP_S,
    Example,
    ExampleKind,
    chapter_examples,
    ocr_examples,
    split_videos,
    timed_examples,
)
from vidqa.errors import ConfigError, MediaError

Split = Literal["train", "val"]
DATASET_INFO = "dataset_info.json"  # the file name LLaMA-Factory looks for in dataset_dir
DATASET_NAMES: dict[Split, str] = {"train": "vidqa_train", "val": "vidqa_val"}
CLIPS_DIR = "clips"
VIDEO_TAG = "<video>"  # LLaMA-Factory's placeholder: one per entry of "videos"
DURATION_TOLERANCE_S = 0.5  # a clip on disk this close to its example's length is reused
PART_SUFFIX = ".part.mp4"  # ffmpeg picks the container from the extension: keep .mp4 last
StageProgress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class ExportOptions:
    videos: tuple[str, ...] = ()  # refs (id, prefix, title); empty: every ready video
    kinds: tuple[ExampleKind, ...] = EXAMPLE_KINDS
    max_clip_s: float = 60.0  # s
    fps: float | None = None  # re-encode clips at this frame rate; None: keep the source's
    val: float = 0.1  # fraction of videos held out for validation
    seed: int = 0
    include_fallback: bool = False  # also chapters whose summary came from the transcript

    def __post_init__(self):
        unknown = [k for k in self.kinds if k not in EXAMPLE_KINDS]
        if unknown or not self.kinds:
            raise ConfigError(
                f"--kinds takes a comma list of {', '.join(EXAMPLE_KINDS)}; "
                f"got {','.join(self.kinds) or 'nothing'}"
            )
        if self.max_clip_s < MIN_CLIP_S:
            raise ConfigError(
                f"--max-clip-s must be at least {MIN_CLIP_S:g} s, got {self.max_clip_s:g}"
            )
        if self.fps is not None and not 0 < self.fps <= 120:
            raise ConfigError(
                f"--fps must be between 0 and 120 frames per second, got {self.fps:g}"
            )
        if not 0 <= self.val < 1:
            raise ConfigError(
                f"--val is the fraction of videos held out (0 <= val < 1), got {self.val:g}"
            )


@dataclass
class PlannedClip:
    example: Example
    split: Split
    source: str  # the video file to cut from
    path: str  # relative to OUT_DIR, as written into the dataset
    title: str
    ready: bool = False  # already on disk and plays for the right length


@dataclass
class ExportPlan:
    out_dir: Path
    clips: list[PlannedClip]
    videos: dict[Split, list[str]]  # video ids per split
    est_bytes: int
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        out = {split: {kind: 0 for kind in EXAMPLE_KINDS} for split in DATASET_NAMES}
        for clip in self.clips:
            out[clip.split][clip.example.kind] += 1
        return out

    def summary(self) -> dict:
        return {
            "out_dir": str(self.out_dir),
            "examples": self.counts(),
            "videos": {s: len(ids) for s, ids in self.videos.items()},
            "clip_minutes": round(sum(c.example.duration for c in self.clips) / 60, 2),
            "estimated_bytes": self.est_bytes,
            "clips_to_cut": sum(not c.ready for c in self.clips),
            "clips_reused": sum(c.ready for c in self.clips),
            "notes": self.notes,
        }


@dataclass
class ExportReport:
    plan: dict  # ExportPlan.summary() as exported (failed clips left out)
    cut: int
    reused: int
    failed: list[str]  # one line per clip that could not be cut
    files: list[str]  # what was written, relative to OUT_DIR


# --- planning -------------------------------------------------------------------------------


def plan_export(
    out_dir: str | Path, options: ExportOptions, library, progress: StageProgress | None = None
) -> ExportPlan:
    """Every example, its split and clip path; which clips are already on disk. Cuts nothing."""
    out_dir = Path(out_dir).expanduser().resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise MediaError(out_dir, "exists and is not a folder")
    _read_info(out_dir / DATASET_INFO)  # fail before cutting, not after
    notes: list[str] = []
    videos = _usable_videos(_selected(options, library), notes)
    train, val = split_videos([v.id for v in videos], options.val, options.seed)
    if options.val > 0 and len(videos) == 1:
        notes.append("one video: nothing held out for validation (the split is by video)")
    split_of = {**{i: "train" for i in train}, **{i: "val" for i in val}}
    clips: list[PlannedClip] = []
    est = 0.0
    for video in videos:
        examples = _video_examples(video, options, library, notes)
        clips += [
            PlannedClip(e, split_of[video.id], video.path, _clip_name(e, options.fps), video.title)
            for e in examples
        ]
        est += sum(e.duration for e in examples) * _bytes_per_second(video)
    _check_ready(out_dir, clips, progress)
    return ExportPlan(out_dir, clips, {"train": train, "val": val}, int(est), notes)


def _selected(options: ExportOptions, library) -> list[Video]:
    if not options.videos:
        return library.videos()
    chosen = {v.id: v for v in (library.find_video(ref) for ref in options.videos)}
    return list(chosen.values())


def _usable_videos(videos: list[Video], notes: list[str]) -> list[Video]:
    """Videos a video model can be trained on: a picture, and a file still where it was ingested."""
    usable = []
    for video in videos:
        if not video.path:
            notes.append(f"{video.title}: skipped (transcript only, no media file was ingested)")
        elif not video.has_video:
            notes.append(f"{video.title}: skipped (audio only: a video model needs pictures)")
        elif not Path(video.path).is_file():
            notes.append(f"{video.title}: skipped ({video.path} is missing; moved or deleted?)")
        elif video.size is not None and Path(video.path).stat().st_size != video.size:
            # its transcript and text describe the old content: clips would not match answers
            notes.append(
                f"{video.title}: skipped ({video.path} changed since it was ingested; "
                "vidqa ingest it again)"
            )
        else:
            usable.append(video)
    return usable


def _video_examples(
    video: Video, options: ExportOptions, library, notes: list[str]
) -> list[Example]:
    kinds, max_s = set(options.kinds), options.max_clip_s
    made = []
    if "chapters" in kinds:
        made.append(
            chapter_examples(
                video.id,
                library.spans(video.id, ("chapter",)),
                video.duration,
                max_s,
                options.include_fallback,
            )
        )
    if "timed" in kinds:
        rng = random.Random(
            f"{options.seed}:{video.id}"
        )  # a video's examples don't depend on others
        made.append(
            timed_examples(
                video.id, library.spans(video.id, ("transcript",)), video.duration, max_s, rng
            )
        )
    if "ocr" in kinds:
        made.append(
            ocr_examples(video.id, library.spans(video.id, ("ocr",)), video.duration, max_s)
        )
    notes += [f"{video.title}: {n}" for examples in made for n in examples.notes]
    return [e for examples in made for e in examples.items]


def _clip_name(example: Example, fps: float | None) -> str:
    """Named by video, kind and times (ms), so a rerun with the same options finds its clips."""
    rate = f"-{fps:g}fps" if fps else ""
    return (
        f"{CLIPS_DIR}/{example.video_id[:16]}/{example.kind}-{example.start * 1000:08.0f}-"
        f"{example.end * 1000:08.0f}{rate}.mp4"
    )


def _bytes_per_second(video: Video) -> float:
    size = video.size or Path(video.path).stat().st_size
    return size / video.duration if video.duration > 0 else 0.0


def _check_ready(out_dir: Path, clips: list[PlannedClip], progress: StageProgress | None) -> None:
    existing = [c for c in clips if (out_dir / c.path).is_file()]
    for n, clip in enumerate(existing, 1):
        clip.ready = clip_plays(out_dir / clip.path, clip.example.duration)
        if progress:
            progress("checking clips already cut", n, len(existing))


def clip_plays(path: Path, seconds: float) -> bool:
    """True when `path` decodes a video frame and lasts `seconds` (± DURATION_TOLERANCE_S)."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video or container.duration is None:
                return False
            if abs(container.duration / av.time_base - seconds) > DURATION_TOLERANCE_S:
                return False
            next(container.decode(video=0))
            return True
    except (av.FFmpegError, StopIteration, OSError):
        return False


# --- writing --------------------------------------------------------------------------------


def export_sft(
    out_dir: str | Path, options: ExportOptions, library, progress: StageProgress | None = None
) -> ExportReport:
    """Cut every clip not already cut, then write the dataset files; one plan, one report."""
    plan = plan_export(out_dir, options, library, progress)
    if not plan.clips:
        raise ConfigError(
            "nothing to export: no examples in the chosen videos and kinds"
            + (f" ({'; '.join(plan.notes)})" if plan.notes else "")
        )
    failed: list[str] = []
    lost: set[str] = set()  # clip paths that could not be cut: their examples are left out
    todo = [c for c in plan.clips if not c.ready]
    for n, clip in enumerate(todo, 1):
        try:
            _cut(plan.out_dir, clip, options.fps)
        except MediaError as e:
            failed.append(str(e))
            lost.add(clip.path)
        if progress:
            progress("cutting clips", n, len(todo))
    plan.clips = [c for c in plan.clips if c.path not in lost]
    files = write_dataset(plan.out_dir, plan.clips)
    _remove_parts(plan.out_dir)
    cut = len(todo) - len(lost)
    return ExportReport(plan.summary(), cut, len(plan.clips) - cut, failed, files)


def _cut(out_dir: Path, clip: PlannedClip, fps: float | None) -> None:
    import av

    from qa.clips import cut_clip

    final = out_dir / clip.path
    part = final.with_name(final.stem + PART_SUFFIX)
    try:
        cut_clip(clip.source, clip.example.start, clip.example.end, part, fps=fps)
    except av.FFmpegError as e:  # the keyframe probe could not read the file
        raise MediaError(clip.source, f"not readable as media any more ({e})") from e
    if not clip_plays(part, clip.example.duration):
        part.unlink(missing_ok=True)
        raise MediaError(
            clip.source,
            f"the clip {clip.example.start:.2f}-{clip.example.end:.2f} s "
            "does not play back for its length after cutting",
        )
    os.replace(part, final)


def _remove_parts(out_dir: Path) -> None:
    """Leftovers of an interrupted cut (cut again on resume, so never needed)."""
    for part in (out_dir / CLIPS_DIR).glob(f"*/*{PART_SUFFIX}"):
        part.unlink(missing_ok=True)


def record(clip: PlannedClip) -> dict:
    """One example as LLaMA-Factory's sharegpt reader takes it (extra keys are dropped there)."""
    e = clip.example
    return {
        "messages": [
            {"role": "user", "content": VIDEO_TAG + e.prompt},
            {"role": "assistant", "content": e.answer},
        ],
        "videos": [clip.path],
        "vidqa": {
            "video_id": e.video_id,
            "title": clip.title,
            "kind": e.kind,
            "start": e.start,
            "end": e.end,
            "source": e.source,
        },
    }


def dataset_entry(split: Split) -> dict:
    """The dataset_info.json entry for one split (LLaMA-Factory data/README.md, sharegpt + videos)."""
    return {
        "file_name": f"{DATASET_NAMES[split]}.json",
        "formatting": "sharegpt",
        "columns": {"messages": "messages", "videos": "videos"},
        "tags": {
            "role_tag": "role",
            "content_tag": "content",
            "user_tag": "user",
            "assistant_tag": "assistant",
        },
    }


def write_dataset(out_dir: Path, clips: list[PlannedClip]) -> list[str]:
    """Write the split files and register them in dataset_info.json, keeping others' entries.

    A split with no examples gets no file and no entry: LLaMA-Factory cannot load an empty one.
    """
    info_path = out_dir / DATASET_INFO
    info = _read_info(info_path)
    written = []
    for split, name in DATASET_NAMES.items():
        rows = [record(c) for c in clips if c.split == split]
        path = out_dir / f"{name}.json"
        if rows:
            _write_json(path, rows)
            info[name] = dataset_entry(split)
            written.append(path.name)
        else:
            path.unlink(missing_ok=True)  # from an earlier export with other videos
            info.pop(name, None)
    _write_json(info_path, info)
    return [DATASET_INFO, *written]


def _read_info(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise MediaError(
            path, f"is not readable JSON ({e}); move it away or pick another folder"
        ) from e
    if not isinstance(info, dict):
        raise MediaError(
            path, "is not a JSON object of datasets; move it away or pick another folder"
        )
    return info


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)

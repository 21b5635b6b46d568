"""ingest/frames.py: sampling plans, scene changes on the generated lecture, thumbnails."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from media import VFR_TIMES, load_timeline
from PIL import Image

from ingest.frames import (
    SceneDetector,
    keyframe_gap,
    representative_frames,
    sample_frames,
    sample_plan,
    sample_times,
    save_thumbnails,
    scene_boundaries,
    thin_times,
    thumbnail_path,
)
from vidqa.decode import FrameBatch
from vidqa.probe import probe


def info(gop):
    return SimpleNamespace(keyframe_interval=gop, has_video=True, duration=10.0)


def test_sample_plan_uses_key_frames_only_when_they_are_dense_enough():
    assert sample_plan(info(2.0), fps=0.5) == "keyframes"
    assert sample_plan(info(2.1), fps=0.5) == "keyframes"  # within KEYFRAME_SLACK
    assert sample_plan(info(2.0), fps=1.0) == "seek"
    assert sample_plan(info(10.0), fps=0.5) == "seek"
    assert sample_plan(info(None), fps=0.5) == "seek"
    assert sample_plan(info(0.04), fps=0.5) == "seek"  # intra-only: every frame is a key frame
    with pytest.raises(ValueError, match="positive"):
        sample_plan(info(2.0), fps=0)
    # the whole index wins over probe's estimate from the first seconds
    sparse_later = [0, 2, 4, 6, 8, 10] + list(range(20, 200, 10))
    assert keyframe_gap(sparse_later) == pytest.approx(10.0)
    assert sample_plan(info(2.0), fps=0.5, keyframe_times=sparse_later) == "seek"
    assert sample_plan(info(None), fps=0.5, keyframe_times=[0, 2, 4, 6]) == "keyframes"


def test_sample_times():
    assert sample_times(6.0, 0.5).tolist() == [0.0, 2.0, 4.0]
    assert sample_times(0.0, 1.0).tolist() == [0.0]


def test_audio_only_yields_no_frames(clips):
    media = probe(clips["audio"])
    assert not media.has_video
    assert list(sample_frames(clips["audio"], media)) == []


@pytest.mark.parametrize("fps", [0.5, 1.0, 10.0])
def test_sample_frames_real_times_no_repeats(clips, fps):
    media = probe(clips["vfr"])
    batches = list(sample_frames(clips["vfr"], media, fps=fps, batch=4))
    times = np.concatenate([b.times for b in batches])
    assert np.all(np.diff(times) > 0)  # the 5 fps tail never repeats a frame
    assert all(min(abs(t - v) for v in VFR_TIMES) < 1e-3 for t in times)
    if fps == 10.0:
        assert len(times) < 10 * media.duration  # fewer frames exist than 10 fps asks for


@pytest.mark.parametrize(
    "name, shape",
    [
        ("rotated", (64, 48, 3)),  # portrait after rotation
        ("odd", (187, 333, 3)),
        ("ten_bit", (48, 64, 3)),
    ],
)
def test_sample_frames_shapes(clips, name, shape):
    batch = next(sample_frames(clips[name], probe(clips[name]), fps=1.0))
    assert batch.frames.dtype == np.uint8 and batch.frames.shape[1:] == shape
    small = next(sample_frames(clips[name], probe(clips[name]), fps=1.0, max_side=32))
    assert max(small.frames.shape[1:3]) <= 32


def _batch(times, frames) -> FrameBatch:
    return FrameBatch(np.stack(frames), np.array(times, float), np.arange(len(times)), 1.0, "test")


def test_scene_detector_cuts_and_refreshes_long_scenes():
    grey = np.full((36, 64, 3), 90, np.uint8)
    slide = grey.copy()
    slide[10:26, 8:56] = 250  # a block of "text"
    times = [0, 2, 4, 6, 8, 10]
    frames = [grey, grey, slide, slide, grey, grey]
    detector = SceneDetector(max_gap=60)
    reps = list(representative_frames([_batch(times, frames)], detector=detector))
    assert np.concatenate([r.times for r in reps]).tolist() == [0, 4, 8]
    assert detector.boundaries == [4, 8]
    still = _batch(list(range(0, 200, 2)), [grey] * 100)
    assert SceneDetector(max_gap=60).feed(still).times.tolist() == [0, 60, 120, 180]
    assert thin_times([4, 5, 30, 31, 90], min_gap=10) == [4, 30, 90]


def test_scene_boundaries_follow_the_lecture_slides(lecture):
    timeline = load_timeline(lecture)
    media = probe(lecture)
    assert sample_plan(media, 0.5) == "keyframes"  # 2 s GOP at 0.5 fps
    cuts = scene_boundaries(sample_frames(lecture, media, fps=0.5))
    for slide in timeline:  # each slide starts a scene, seen at the first sample showing it
        assert any(slide["start"] <= c <= slide["start"] + 2.0 for c in cuts), slide
    assert len(cuts) <= 2 * len(timeline)  # at most one more cut per slide, for the gaps


def test_thumbnails_are_small_jpegs_under_vidqa_home(clips, tmp_path):
    batch = next(sample_frames(clips["odd"], probe(clips["odd"]), fps=2.0, max_side=448))
    paths = save_thumbnails("vid123", batch)
    assert len(paths) == len(batch)
    for path, t in zip(paths, batch.times, strict=True):
        assert path == thumbnail_path("vid123", t)
        assert path.parent == tmp_path / "vidqa-home" / "thumbs" / "vid123"
        assert path.name == f"{round(t * 1000)}.jpg"
        with Image.open(path) as image:
            assert image.format == "JPEG" and image.width == 320
    big = FrameBatch(
        np.zeros((1, 400, 800, 3), np.uint8), np.array([1.5]), np.zeros(1, int), 1.0, "test"
    )
    (path,) = save_thumbnails("vid123", big, width=200)
    with Image.open(path) as image:
        assert image.size == (200, 100)
    with pytest.raises(ValueError, match="directory name"):
        thumbnail_path("../escape", 1.0)


def test_ocr_schedule_rereads_only_when_the_picture_changes_inside_a_scene():
    from ingest.frames import OcrSchedule, SceneDetector

    slide = np.full((90, 160, 3), (31, 78, 121), np.uint8)
    captioned = slide.copy()
    captioned[70:80, 50:110] = 255  # a caption appears: too small to be a new scene
    frames = [slide] * 10 + [captioned] * 5 + [slide] * 5  # one sample every 2 s
    batch = FrameBatch(np.stack(frames), np.arange(20) * 2.0, np.arange(20), 25.0, "test")
    detector, schedule = SceneDetector(), OcrSchedule()
    reps = detector.feed(batch)
    schedule.feed(batch, reps.times)
    assert list(reps.times) == [0.0]  # one scene: one representative for CLIP and thumbnails
    assert schedule.times == [0.0, 20.0, 30.0]  # the first frame, the caption, its end
    busy = FrameBatch(
        np.stack([np.full((90, 160, 3), 40 * (i % 5), np.uint8) for i in range(10)]),
        np.arange(10) * 2.0,
        np.arange(10),
        25.0,
        "test",
    )
    steady = OcrSchedule()
    steady.feed(busy, [])
    assert steady.times == [0.0, 4.0, 8.0, 12.0, 16.0]  # changing picture: one read per 3 s at most

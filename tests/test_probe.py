"""probe/discover/content_id on generated media (real ffmpeg + PyAV)."""

import shutil
import subprocess

import pytest
from media import load_timeline, make_tone_video

from vidqa.errors import MediaError
from vidqa.probe import MEDIA_EXTENSIONS, content_id, discover, probe


def test_probe_lecture(lecture):
    info = probe(lecture)
    timeline = load_timeline(lecture)
    assert timeline[-1]["end"] < info.duration < timeline[-1]["end"] + 2
    assert info.has_video and info.has_audio
    assert (info.width, info.height) == (640, 360)
    assert info.fps == pytest.approx(25.0)
    assert info.rotation == 0
    assert info.video_codec == "h264" and info.pix_fmt == "yuv420p"
    assert info.keyframe_interval == pytest.approx(2.0, abs=0.1)  # -g 50 at 25 fps
    assert info.subtitle_streams == []
    assert info.size == lecture.stat().st_size and info.mtime > 0


def test_probe_audio_only(lecture_audio_only):
    info = probe(lecture_audio_only)
    assert info.has_audio and not info.has_video
    assert info.width is None and info.fps is None and info.keyframe_interval is None
    assert 50 < info.duration < 90


def test_probe_rotation_and_subtitles(lecture_with_srt, tmp_path):
    out = tmp_path / "rotated.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(lecture_with_srt),
            "-i",
            str(lecture_with_srt.with_suffix(".srt")),
            "-t",
            "5",
            "-map",
            "0",
            "-map",
            "1",
            "-c",
            "copy",
            "-c:s",
            "mov_text",
            "-metadata:s:s:0",
            "language=eng",
            "-metadata:s:v:0",
            "rotate=90",
            str(out),
        ],
        check=True,
    )
    info = probe(out)
    assert info.rotation in (90, 270)
    assert (info.width, info.height) == (360, 640)  # display size, after rotation
    assert info.subtitle_streams == [{"index": 2, "codec": "mov_text", "language": "eng"}]


@pytest.mark.parametrize(
    "kind, problem",
    [
        ("truncated", "unreadable media: moov atom not found"),
        ("not_media", "not a media file"),
        ("empty", "empty file (0 bytes)"),
        ("text", "not a media file (a text file"),  # ffmpeg's tty demuxer would say 0:00 video
    ],
)
def test_broken_files(broken_files, kind, problem):
    path = broken_files[kind]
    with pytest.raises(MediaError) as caught:
        probe(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert problem in message
    assert "\n" not in message


def test_missing_file_and_non_media(tmp_path, lecture_with_srt):
    with pytest.raises(MediaError, match="file not found"):
        probe(tmp_path / "nope.mp4")
    # ffmpeg opens .srt as a subtitle-only container: no audio, no video.
    with pytest.raises(MediaError, match=r"not a media file \(no audio or video stream\)"):
        probe(lecture_with_srt.with_suffix(".srt"))


def test_truncated_after_front_moov(lecture, tmp_path):
    """A 'fast start' mp4 keeps its header when cut, so only the missing tail gives it away."""
    whole = tmp_path / "faststart.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(lecture),
            "-c",
            "copy",
            "-movflags",
            "+faststart",
            str(whole),
        ],
        check=True,
    )
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    assert probe(whole).duration > 50
    with pytest.raises(MediaError, match="truncated"):
        probe(cut)


def test_content_id(lecture, lecture_audio_only, tmp_path):
    original = content_id(lecture)
    assert len(original) == 16 and int(original, 16) >= 0
    moved = tmp_path / "sub" / "renamed.mkv"
    moved.parent.mkdir()
    shutil.copy(lecture, moved)
    assert content_id(moved) == original
    assert content_id(lecture_audio_only) != original
    changed = tmp_path / "changed.mp4"
    data = bytearray(lecture.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte in the sampled middle block
    changed.write_bytes(bytes(data))
    assert content_id(changed) != original


def test_content_id_small_files(tmp_path):
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    a.write_bytes(b"x" * 10)
    b.write_bytes(b"x" * 11)
    assert content_id(a) != content_id(b)
    with pytest.raises(MediaError, match="file not found"):
        content_id(tmp_path / "missing.mp4")


def test_discover(tmp_path):
    root = tmp_path / "lib"
    (root / "b").mkdir(parents=True)
    (root / ".hidden").mkdir()
    make_tone_video(root / "b" / "clip.MP4", seconds=1)
    for name in ("a.mkv", "talk.m4a", "notes.txt", "b/talk.srt", ".secret.mp4", ".hidden/x.mp4"):
        (root / name).write_bytes(b"x")
    explicit = tmp_path / "odd.bin"
    explicit.write_bytes(b"x")
    found = discover([root, explicit, root / "a.mkv"])
    names = [p.relative_to(tmp_path).as_posix() for p in found]
    assert names == ["lib/a.mkv", "lib/b/clip.MP4", "lib/talk.m4a", "odd.bin"]
    assert {".mp4", ".mkv", ".mov", ".webm", ".mp3", ".wav", ".opus"} <= MEDIA_EXTENSIONS

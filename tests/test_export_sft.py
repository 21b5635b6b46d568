"""`vidqa export sft`: a LLaMA-Factory video fine-tuning dataset from a generated library.

Real parts: two narrated slide lectures (subtitles, slides read by OCR), the catalog, ffmpeg
cuts, PyAV playback. The dataset is checked against LLaMA-Factory's documented schema
(data/README.md, dataset_info.json's mllm_video_demo) and what its sharegpt converter
requires: roles alternating user/assistant, one `<video>` per entry of "videos", and media
paths that resolve under `media_dir`, which defaults to `dataset_dir`.
"""

from __future__ import annotations

import json
import os
import random
import re
from dataclasses import replace
from pathlib import Path

import av
import pytest
from media import LECTURE, load_timeline, make_lecture
from typer.testing import CliRunner

from index.records import Span, Video, VideoSummary
from qa.sft_examples import (
    Sentence,
    chapter_examples,
    clip_bounds,
    sentence_windows,
    span_sentences,
    split_videos,
    timed_examples,
)
from ui.cli import app

runner = CliRunner()
VLM_SOURCE = "vlm:test/Qwen3-VL-Fake"
SHORT_CHAPTER = (
    0.5,
    16.0,
    "Photosynthesis and the Bastille",
    "The speaker explains how leaves make glucose, then how the French Revolution began.",
)
LONG_CHAPTER = (
    16.0,
    57.0,
    "Everything else",
    "Neural networks, volcanoes, jazz, tax law and more.",
)
MAX_CLIP_S = 30.0
TOLERANCE_S = 0.5  # a clip lasts what its example says, to this
LLAMAFACTORY_ENTRY = {  # data/README.md, "Multimodal Video Dataset", with the role/content tags
    "formatting": "sharegpt",
    "columns": {"messages": "messages", "videos": "videos"},
    "tags": {
        "role_tag": "role",
        "content_tag": "content",
        "user_tag": "user",
        "assistant_tag": "assistant",
    },
}


def vidqa(*args: str, code: int = 0):
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


@pytest.fixture(scope="module")
def sft_home(lecture_library, tmp_path_factory):
    """A library of two lectures: the shared srt lecture (its records copied, with chapters a
    VLM wrote) and a second, shorter lecture ingested here. Returns (home, timelines by id)."""
    from index.library import Library
    from ingest.pipeline import ingest
    from vidqa.settings import settings

    home = tmp_path_factory.mktemp("sft-home")
    second = make_lecture(
        tmp_path_factory.mktemp("second"), LECTURE[4:7], with_srt=True, stem="second"
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VIDQA_HOME", str(home))
        library = Library(replace(settings(), home=home))
        source = lecture_library.library
        first = source.catalog.video(lecture_library.video.id)
        spans = [replace(s, id="") for s in source.catalog.spans(first.id, ("transcript", "ocr"))]
        library.add_video(replace(first), spans)
        _write_vlm_chapters(library, first.id)
        (result,) = ingest([second], library=library).results
        assert result.status == "ingested", result
        timelines = {first.id: lecture_library.timeline, result.video_id: load_timeline(second)}
        library.close()
    return home, timelines


def _write_vlm_chapters(library, video_id: str) -> None:
    """Chapters as if Qwen3-VL had summarised the video, written through the library API."""
    spans = [
        Span(
            video_id,
            start,
            end,
            "chapter",
            f"{title}\n{summary}",
            VLM_SOURCE,
            {"title": title, "summary": summary, "chapter": n},
        )
        for n, (start, end, title, summary) in enumerate((SHORT_CHAPTER, LONG_CHAPTER), 1)
    ]
    library.set_summary(video_id, VideoSummary([], "", "", VLM_SOURCE, []), spans)


@pytest.fixture
def in_home(sft_home, monkeypatch):
    monkeypatch.setenv("VIDQA_HOME", str(sft_home[0]))
    return sft_home


@pytest.fixture(scope="module")
def exported(sft_home, tmp_path_factory):
    """The library exported once: (out dir, CliRunner result, train rows, val rows)."""
    out = tmp_path_factory.mktemp("sft") / "dataset"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VIDQA_HOME", str(sft_home[0]))
        result = vidqa(
            "export",
            "sft",
            str(out),
            "--val",
            "0.5",
            "--max-clip-s",
            str(MAX_CLIP_S),
            "--seed",
            "3",
        )
    rows = {s: json.loads((out / f"vidqa_{s}.json").read_text()) for s in ("train", "val")}
    return out, result, rows["train"], rows["val"]


def _all_rows(exported) -> list[dict]:
    return exported[2] + exported[3]


def _clip_seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        next(container.decode(video=0))  # it plays: a video frame decodes
        return container.duration / av.time_base


# --- the dataset LLaMA-Factory reads ------------------------------------------------------


def test_dataset_info_registers_both_splits_in_llamafactory_schema(exported):
    out = exported[0]
    info = json.loads((out / "dataset_info.json").read_text())
    assert info == {
        "vidqa_train": {"file_name": "vidqa_train.json", **LLAMAFACTORY_ENTRY},
        "vidqa_val": {"file_name": "vidqa_val.json", **LLAMAFACTORY_ENTRY},
    }
    for entry in info.values():
        assert (out / entry["file_name"]).is_file()


def test_every_example_is_a_user_assistant_pair_with_one_video_tag_per_video(exported):
    out = exported[0]
    for row in _all_rows(exported):
        roles = [m["role"] for m in row["messages"]]
        assert roles == ["user", "assistant"]
        user, answer = (m["content"] for m in row["messages"])
        assert user.startswith("<video>") and answer.strip()
        tags = sum(m["content"].count("<video>") for m in row["messages"])
        assert tags == len(row["videos"]) == 1
        # LLaMA-Factory joins each path to media_dir (default: dataset_dir) and keeps it if a file
        (clip,) = row["videos"]
        assert not os.path.isabs(clip) and os.path.isfile(os.path.join(out, clip))


def test_every_clip_plays_and_lasts_what_its_example_says(exported):
    out = exported[0]
    rows = _all_rows(exported)
    assert len({r["videos"][0] for r in rows}) == len(rows)  # one clip per example
    for row in rows:
        meta = row["vidqa"]
        expected = meta["end"] - meta["start"]
        assert expected <= MAX_CLIP_S
        assert _clip_seconds(out / row["videos"][0]) == pytest.approx(expected, abs=TOLERANCE_S)


def test_no_video_is_in_both_splits(exported):
    train = {r["vidqa"]["video_id"] for r in exported[2]}
    val = {r["vidqa"]["video_id"] for r in exported[3]}
    assert train and val and not train & val


def test_timed_questions_use_clip_times_and_answer_with_what_is_said_then(exported, sft_home):
    timelines = sft_home[1]
    timed = [r for r in _all_rows(exported) if r["vidqa"]["kind"] == "timed"]
    assert len(timed) >= 3  # the 58 s lecture needs two windows of <= 30 s, the second one more
    for row in timed:
        meta = row["vidqa"]
        found = re.search(
            r"between (\d+):(\d\d) and (\d+):(\d\d)\?$", row["messages"][0]["content"]
        )
        assert found, row["messages"][0]["content"]
        m1, s1, m2, s2 = map(int, found.groups())
        start, end = meta["start"] + m1 * 60 + s1, meta["start"] + m2 * 60 + s2
        assert m2 * 60 + s2 <= meta["end"] - meta["start"] + TOLERANCE_S
        said = [
            s["spoken"]
            for s in timelines[meta["video_id"]]
            if start <= (s["start"] + s["end"]) / 2 <= end
        ]
        assert said and row["messages"][1]["content"] == " ".join(said)


def test_on_screen_text_examples_answer_with_the_slide_in_the_clip(exported, sft_home):
    timelines = sft_home[1]
    ocr = [r for r in _all_rows(exported) if r["vidqa"]["kind"] == "ocr"]
    assert len(ocr) >= 8  # a slide per sentence: 8 + 3
    squash = lambda text: re.sub(r"\s+", "", text).upper()  # noqa: E731 - OCR may drop a space
    for row in ocr:
        meta = row["vidqa"]
        shown = [
            squash(s["slide"])
            for s in timelines[meta["video_id"]]
            if s["start"] < meta["end"] and s["end"] > meta["start"]
        ]
        assert squash(row["messages"][1]["content"]) in shown


def test_only_vlm_chapters_that_fit_a_clip_are_exported_and_the_rest_is_explained(exported):
    chapters = [r for r in _all_rows(exported) if r["vidqa"]["kind"] == "chapters"]
    assert [r["messages"] for r in chapters] == [
        [
            {"role": "user", "content": "<video>Summarise this part of the video."},
            {"role": "assistant", "content": SHORT_CHAPTER[3]},
        ]
    ]
    assert chapters[0]["vidqa"]["source"] == VLM_SOURCE
    stderr = exported[1].stderr
    assert "1 chapters longer than 30 s skipped, not split" in stderr
    assert "chapters from the transcript fallback skipped" in stderr  # the second lecture's


def test_summary_on_stdout_counts_what_was_written(exported):
    out, result, train, val = exported
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["chapters", "timed", "ocr", "videos"]
    for line, rows in ((lines[1], train), (lines[2], val)):
        counts = [sum(r["vidqa"]["kind"] == k for r in rows) for k in ("chapters", "timed", "ocr")]
        assert line.split() == [line.split()[0], *map(str, counts), "1"]
    assert f"cut {len(train) + len(val)} clips, reused 0" in result.stdout


# --- dry run and resume -------------------------------------------------------------------


def test_dry_run_prints_the_plan_and_cuts_nothing(in_home, exported, tmp_path):
    out = tmp_path / "dry"
    result = vidqa(
        "export",
        "sft",
        str(out),
        "--val",
        "0.5",
        "--max-clip-s",
        str(MAX_CLIP_S),
        "--seed",
        "3",
        "--dry-run",
        "--json",
    )
    plan = json.loads(result.stdout)
    assert not out.exists()
    train, val = exported[2], exported[3]
    assert sum(plan["examples"]["train"].values()) == len(train)
    assert sum(plan["examples"]["val"].values()) == len(val)
    minutes = sum(r["vidqa"]["end"] - r["vidqa"]["start"] for r in train + val) / 60
    assert plan["clip_minutes"] == pytest.approx(minutes, abs=0.01)
    assert plan["clips_to_cut"] == len(train) + len(val) and plan["estimated_bytes"] > 0
    text = vidqa("export", "sft", str(out), "--val", "0.5", "--dry-run").stdout
    assert "dry run:" in text and " min, about " in text and " MB" in text
    assert not out.exists()


def test_rerun_reuses_every_clip_and_resume_recuts_only_missing_or_broken_ones(in_home, exported):
    out = exported[0]
    args = (
        "export",
        "sft",
        str(out),
        "--val",
        "0.5",
        "--max-clip-s",
        str(MAX_CLIP_S),
        "--seed",
        "3",
    )
    clips = sorted(out.glob("clips/*/*.mp4"))
    before = {p: p.stat().st_mtime_ns for p in clips}
    result = vidqa(*args)
    assert f"cut 0 clips, reused {len(clips)}" in result.stdout
    assert {p: p.stat().st_mtime_ns for p in clips} == before

    missing, broken = clips[0], clips[1]
    missing.unlink()  # as if interrupted before this clip was renamed into place
    broken.write_bytes(broken.read_bytes()[:2000])  # a clip that no longer plays
    (missing.parent / "leftover.part.mp4").write_bytes(b"half a clip")  # a cut cut short
    result = vidqa(*args)
    assert f"cut 2 clips, reused {len(clips) - 2}" in result.stdout
    for p in clips[2:]:
        assert p.stat().st_mtime_ns == before[p]
    assert _clip_seconds(missing) > 0 and _clip_seconds(broken) > 0
    assert not list(out.glob("clips/*/*.part.mp4"))


def test_same_seed_same_dataset_and_existing_dataset_info_entries_are_kept(in_home, tmp_path):
    from index.library import Library
    from qa.export import ExportOptions, plan_export

    out = tmp_path / "mine"
    out.mkdir()
    (out / "dataset_info.json").write_text(json.dumps({"my_data": {"file_name": "my.json"}}))
    options = ExportOptions(val=0.5, seed=11, kinds=("timed", "ocr"))
    library = Library()
    first, again = (plan_export(out, options, library) for _ in range(2))
    assert [(c.example, c.split, c.path) for c in first.clips] == [
        (c.example, c.split, c.path) for c in again.clips
    ]
    vidqa(
        "export",
        "sft",
        str(out),
        "--val",
        "0.5",
        "--seed",
        "11",
        "--kinds",
        "ocr",
        "--video",
        "second",
    )
    info = json.loads((out / "dataset_info.json").read_text())
    assert info["my_data"] == {"file_name": "my.json"}
    assert "vidqa_train" in info and "vidqa_val" not in info  # one video: nothing held out


def test_fps_reencodes_clips_at_that_rate(in_home, tmp_path):
    out = tmp_path / "fps"
    result = vidqa(
        "export", "sft", str(out), "--kinds", "ocr", "--video", "second", "--fps", "2", "--json"
    )
    report = json.loads(result.stdout)
    rows = json.loads((out / "vidqa_train.json").read_text())
    assert rows and not report["dry_run"] and report["failed"] == []
    assert report["cut"] == len(rows) == report["examples"]["train"]["ocr"]
    assert report["files"] == ["dataset_info.json", "vidqa_train.json"]
    for row in rows:
        with av.open(str(out / row["videos"][0])) as container:
            frames = sum(1 for _ in container.decode(video=0))
        seconds = row["vidqa"]["end"] - row["vidqa"]["start"]
        assert frames == pytest.approx(2 * seconds, abs=2)  # 25 fps at the source


def test_include_fallback_adds_transcript_chapters(in_home):
    from index.library import Library
    from qa.export import ExportOptions, plan_export

    library = Library()
    plain = plan_export("unused", ExportOptions(kinds=("chapters",), max_clip_s=120), library)
    wide = plan_export(
        "unused", ExportOptions(kinds=("chapters",), max_clip_s=120, include_fallback=True), library
    )
    sources = sorted(c.example.source for c in wide.clips)
    assert [c.example.source for c in plain.clips] == [VLM_SOURCE, VLM_SOURCE]
    # the second lecture's three one-slide topics: a transcript chapter each (slides + talk)
    assert sources == sorted([VLM_SOURCE, VLM_SOURCE, *["transcript+ocr+scenes"] * 3])


# --- bad input: one line, exit 1 ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--kinds", "chapters,quiz"), "--kinds takes a comma list of chapters, timed, ocr"),
        (("--val", "1.5"), "--val is the fraction of videos held out"),
        (("--max-clip-s", "0.2"), "--max-clip-s must be at least 1 s"),
        (("--fps", "0"), "--fps must be between 0 and 120"),
        (("--video", "no such talk"), "no video in the library matches 'no such talk'"),
    ],
)
def test_bad_options_are_one_line_errors(in_home, tmp_path, args, message):
    result = vidqa("export", "sft", str(tmp_path / "x"), *args, "--dry-run", code=1)
    assert result.stderr.startswith("Error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreadable_dataset_info_and_a_file_as_out_dir_are_one_line_errors(in_home, tmp_path):
    (tmp_path / "dataset_info.json").write_text("{not json")
    result = vidqa("export", "sft", str(tmp_path), "--kinds", "ocr", "--video", "second", code=1)
    assert result.stderr.startswith(
        f"Error: {tmp_path / 'dataset_info.json'}: is not readable JSON"
    )
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    result = vidqa("export", "sft", str(afile), "--dry-run", code=1)
    assert result.stderr.strip() == f"Error: {afile}: exists and is not a folder"


# --- the pure pieces ---------------------------------------------------------------------------


def test_sentence_windows_never_exceed_the_limit_and_keep_sentences_whole():
    rng = random.Random(0)
    t, sentences = 0.0, []
    for n in range(200):
        length = rng.uniform(0.5, 12.0)
        sentences.append(Sentence(t, t + length, f"s{n}."))
        t += length + rng.uniform(0.0, 2.0)
    sentences.append(Sentence(t, t + 45.0, "one very long sentence."))
    windows, too_long = sentence_windows(sentences, 30.0)
    assert too_long == 1
    assert [s for w in windows for s in w] == sentences[:-1]  # in order, none split or lost
    assert all(w[-1].end - w[0].start <= 30.0 for w in windows)


def test_asr_words_are_cut_into_sentences_at_sentence_ends():
    words = [
        [0.0, 0.4, "Hello"],
        [0.5, 0.9, "there."],
        [1.5, 1.9, "Second"],
        [2.0, 2.6, "one!"],
        [3.0, 3.5, "trailing"],
    ]
    span = Span(
        "v",
        0.0,
        3.5,
        "transcript",
        "Hello there. Second one! trailing",
        "asr:tiny.en",
        {"words": words},
    )
    assert span_sentences(span) == [
        Sentence(0.0, 0.9, "Hello there."),
        Sentence(1.5, 2.6, "Second one!"),
        Sentence(3.0, 3.5, "trailing"),
    ]


def test_timed_question_asks_for_a_run_of_the_clips_sentences_in_clip_time():
    sentences = [[10.0 + 5 * i, 14.0 + 5 * i, f"Sentence {i}."] for i in range(4)]
    span = Span("v", 10.0, 29.0, "transcript", "...", "srt", {"sentences": sentences})
    (example,) = timed_examples("v", [span], 100.0, 60.0, random.Random(1)).items
    assert (example.start, example.end) == (10.0, 29.0)
    found = re.fullmatch(r"What is said between 0:(\d\d) and 0:(\d\d)\?", example.prompt)
    first, last = int(found[1]) // 5, (int(found[2]) - 4) // 5
    assert example.answer == " ".join(f"Sentence {i}." for i in range(first, last + 1))


def test_split_is_by_video_deterministic_and_holds_out_at_least_one():
    ids = [f"video{n}" for n in range(10)]
    train, val = split_videos(ids, 0.2, seed=5)
    assert len(val) == 2 and not set(train) & set(val) and set(train) | set(val) == set(ids)
    assert split_videos(list(reversed(ids)), 0.2, seed=5) == (train, val)
    assert split_videos(ids[:2], 0.1, seed=5)[1] != []  # two videos: one held out
    assert split_videos(ids[:1], 0.5, seed=5) == (ids[:1], [])
    assert split_videos(ids, 0.0, seed=5) == (sorted(ids), [])


def test_clip_bounds_stay_inside_the_video_and_last_at_least_a_second():
    assert clip_bounds(5.0, 5.0, 60.0, 30.0) == (5.0, 6.0)
    assert clip_bounds(59.8, 60.0, 60.0, 30.0) == (59.0, 60.0)
    assert clip_bounds(10.0, 100.0, 60.0, 30.0) == (10.0, 40.0)


def test_chapters_without_a_summary_or_from_the_fallback_are_left_out():
    spans = [
        Span("v", 0, 10, "chapter", "t", "vlm:x", {"summary": "Good."}),
        Span("v", 10, 20, "chapter", "t", "vlm:x", {"summary": ""}),
        Span("v", 20, 30, "chapter", "t", "user", {"summary": "Edited by hand."}),
        Span("v", 30, 40, "chapter", "t", "transcript", {"summary": "Fallback."}),
    ]
    kept = chapter_examples("v", spans, 40.0, 60.0).items
    assert [e.answer for e in kept] == ["Good.", "Edited by hand."]


def test_videos_a_video_model_cannot_use_are_skipped_with_a_reason(tmp_path):
    from qa.export import _usable_videos

    real = tmp_path / "talk.mp4"
    real.write_bytes(b"x")
    videos = [
        Video("a", None, "transcript only", 10.0),
        Video("b", str(real), "podcast", 10.0, has_video=False, has_audio=True),
        Video("c", str(tmp_path / "gone.mp4"), "moved", 10.0, has_video=True),
        Video("d", str(real), "edited", 10.0, has_video=True, size=5000),
        Video("e", str(real), "talk", 10.0, has_video=True, size=1),
    ]
    notes: list[str] = []
    assert [v.id for v in _usable_videos(videos, notes)] == ["e"]
    assert notes == [
        "transcript only: skipped (transcript only, no media file was ingested)",
        "podcast: skipped (audio only: a video model needs pictures)",
        f"moved: skipped ({tmp_path / 'gone.mp4'} is missing; moved or deleted?)",
        f"edited: skipped ({real} changed since it was ingested; vidqa ingest it again)",
    ]


def test_a_video_that_cannot_be_cut_is_reported_and_the_others_are_still_exported(
    sft_home, tmp_path, monkeypatch
):
    """The second lecture's file is overwritten with junk of the same size (disk corruption)."""
    from index.library import Library
    from vidqa.settings import settings

    monkeypatch.setenv("VIDQA_HOME", str(tmp_path / "home"))
    source = Library(replace(settings(), home=sft_home[0]))
    target = Library()
    for video in source.videos():
        spans = [replace(s, id="") for s in source.spans(video.id, ("transcript", "ocr"))]
        if video.title == "second":
            junk = tmp_path / "second.mp4"
            junk.write_bytes(b"\0" * video.size)
            video = replace(video, path=str(junk))
        target.add_video(video, spans)
    source.close()
    target.close()
    out = tmp_path / "out"
    result = vidqa("export", "sft", str(out), "--kinds", "ocr", "--val", "0", code=1)
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert errors and all(line.startswith(f"Error: {tmp_path / 'second.mp4'}: ") for line in errors)
    rows = json.loads((out / "vidqa_train.json").read_text())
    assert rows and {r["vidqa"]["title"] for r in rows} == {"lecture"}
    assert all(os.path.isfile(out / r["videos"][0]) for r in rows)


def test_llamafactory_reads_the_dataset_when_it_is_installed(exported):
    """Its own parser and sharegpt converter (needs `pip install llamafactory`; not beside
    this project's pins, which it would change)."""
    pytest.importorskip("llamafactory")
    from types import SimpleNamespace

    from llamafactory.data.converter import SharegptDatasetConverter
    from llamafactory.data.parser import get_dataset_list

    out = str(exported[0])
    for attr in get_dataset_list(["vidqa_train", "vidqa_val"], out):
        converter = SharegptDatasetConverter(attr, SimpleNamespace(media_dir=out))
        rows = json.loads(Path(out, attr.dataset_name).read_text())
        for row in rows:
            converted = converter(row)
            assert [m["role"] for m in converted["_prompt"]] == ["user"]
            assert converted["_response"][0]["content"] == row["messages"][1]["content"]
            assert all(os.path.isfile(v) for v in converted["_videos"])

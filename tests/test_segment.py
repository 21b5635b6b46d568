"""Chapters without a VLM (ingest/segment.py, ingest/topics.py): change points in the
transcript, moved onto slide titles, scene changes and pauses; titles and summaries
from the chapter's own text; and the pseudo-video benchmark's scoring."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from index.records import Segment
from ingest.chapter_eval import Pseudo, boundary_f1, build_pseudo_videos, score
from ingest.segment import Cues, Sentence, find_boundaries, sentences_from
from ingest.topics import candidates, central, hashed_vectors, readable_title, topic_chapters

WORDS = [
    "photosynthesis sunlight chlorophyll leaves glucose carbon",
    "volcano magma lava eruption crust ash",
    "jazz saxophone improvisation blues ragtime trumpet",
]


def talk(per_topic: int = 12, step: float = 5.0, pause_at: dict | None = None) -> list[Sentence]:
    """Three topics of `per_topic` sentences, one every `step` s (extra silence in pause_at)."""
    out, t = [], 0.0
    for words in WORDS:
        vocab = words.split()
        for j in range(per_topic):
            t += (pause_at or {}).get(len(out), 0.0)
            out.append(Sentence(t, t + step - 1, f"The {vocab[j % 6]} and {vocab[(j + 1) % 6]}."))
            t += step
    return out


def cut_times(sentences, cues=None, span=None):
    vectors = hashed_vectors([s.text for s in sentences])
    span = span or (0.0, sentences[-1].end + 1)
    found, used = find_boundaries(sentences, vectors, span, cues)
    return [sentences[i].start for i in found], used


def test_topic_shifts_alone_find_the_topics():
    times, used = cut_times(talk())
    assert times == [60.0, 120.0] and used == ["transcript"]


def test_a_slide_change_moves_the_boundary_onto_the_sentence_under_the_new_slide():
    sentences = talk()
    # the speaker changed topic one sentence late after the slide changed at 55 s
    titles = [(0.0, 54.9, "Photosynthesis"), (55.0, 119.9, "Volcanoes"), (120.0, 200.0, "Jazz")]
    times, used = cut_times(sentences, Cues(scene_changes=[55.0, 120.0], titles=titles))
    assert times == [55.0, 120.0]
    assert used == ["transcript", "ocr", "scenes"]


def test_a_chapter_starts_on_the_sentence_the_slide_changed_under_not_when_ocr_read_it():
    sentences = talk()
    # related subjects: the talk drifts over the three sentences either side of the slide
    # change, so the slide change alone is no topic shift and the text's boundary is snapped
    for i in range(9, 15):
        s = sentences[i]
        sentences[i] = Sentence(s.start, s.end, s.text + " The leaves near the volcano ash.")
    # OCR reads frames every 3 s: it first reads the new title at 63 s, while the slide
    # changed as the sentence starting at 60 s began (most of it is under the new title)
    titles = [(0.0, 57.0, "Photosynthesis"), (63.0, 117.0, "Volcanoes"), (123.0, 200.0, "Jazz")]
    times, _ = cut_times(sentences, Cues(titles=titles))
    assert times[0] == 60.0  # was 65.0: the sentence after the one that opened the slide


def test_a_long_pause_near_a_topic_shift_takes_the_boundary():
    sentences = talk(pause_at={11: 8.0})  # 8 s of silence before sentence 11, one early
    times, used = cut_times(sentences)
    assert times[0] == sentences[11].start and "pauses" in used


def test_sentences_join_segments_at_sentence_ends_and_pauses():
    segments = [
        Segment(0, 2, "Layers are"),
        Segment(2, 4, "powerful."),
        Segment(4, 6, "Masks"),
        Segment(9, 11, "hide pixels"),
    ]  # 3 s silence: a new sentence
    assert [(s.start, s.text) for s in sentences_from(segments)] == [
        (0, "Layers are powerful."),
        (4, "Masks"),
        (9, "hide pixels"),
    ]


def test_titles_come_from_slides_else_key_phrases_never_the_first_sentence():
    segments = [Segment(s.start, s.end, s.text) for s in talk()]
    cues = Cues(titles=[(59.0, 119.0, "How volcanoes erupt")], scene_changes=[59.0, 120.0])
    chapters, used = topic_chapters(segments, 0.0, 180.0, embed=hashed_vectors, cues=cues)
    assert [c["title"] for c in chapters][1] == "How volcanoes erupt"
    first, last = chapters[0], chapters[2]
    assert not first["title"].startswith("The ")  # key phrases, not a sentence
    assert any(w in first["title"].lower() for w in WORDS[0].split())
    assert any(w in last["title"].lower() for w in WORDS[2].split())
    # the summary is made of the chapter's own sentences, in the order spoken
    said = [s.text for s in talk()[:12]]
    picked = [said.index(p if p.endswith(".") else p + ".") for p in first["summary"].split(". ")]
    assert len(picked) == 2 and picked == sorted(picked)


def test_chinese_text_is_not_split_on_spaces():
    sentences = ["光合作用把阳光变成葡萄糖。", "叶绿体里的光合作用需要阳光。", "光合作用很重要。"]
    found = candidates(sentences)
    assert "光合作用" in found and all(" " not in c for c in found)


def test_central_sentences_keep_their_order():
    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.95, 0.05]], float)
    assert central(vectors, 2) == [1, 3]  # closest to the mean direction, in order


def test_boundary_f1_matches_each_true_boundary_once():
    assert boundary_f1([100, 104, 300], [102, 250], tolerance=10) == (1, 3, 2)


def test_pseudo_videos_mark_their_joins_and_score_perfect_predictions():
    videos = [(talk()[:12], 60.0), (talk()[12:24], 60.0), (talk()[24:], 60.0)]
    pseudos = build_pseudo_videos(videos, count=3, natural_gaps=False)
    for p in pseudos:
        assert p.truth and all(0 < i < len(p.sentences) for i in p.truth)
        assert all(a.start < b.start for a, b in pairwise(p.sentences))
    perfect = score(pseudos, lambda p: p.truth)
    assert (perfect.f1, perfect.pk, perfect.windowdiff) == (1.0, 0.0, 0.0)
    none = score(pseudos, lambda p: [])
    assert none.f1 == 0.0 and none.pk > 0.2
    assert isinstance(pseudos[0], Pseudo)


def test_a_cut_every_few_seconds_does_not_move_boundaries():
    sentences = talk()
    cuts = [float(t) for t in range(3, 180, 7)]  # a camera video: the nearest cut is noise
    assert cut_times(sentences, Cues(scene_changes=cuts))[0] == [60.0, 120.0]


def _vtt(cues: list[tuple[float, float, str]]) -> str:
    def ts(t):
        return f"00:{int(t // 60):02d}:{t % 60:06.3f}"

    return "WEBVTT\n\n" + "\n".join(f"{ts(a)} --> {ts(b)}\n{text}\n" for a, b, text in cues)


def test_eval_chapters_command_scores_ours_beside_texttiling(tmp_path):
    import json

    from typer.testing import CliRunner

    from ui.cli import app

    (tmp_path / "transcripts").mkdir()
    rows = []
    for n, words in enumerate(WORDS):
        vocab = words.split()
        cues = [
            (1 + 5 * j, 5 + 5 * j, f"The {vocab[j % 6]} and the {vocab[(j + 2) % 6]}.")
            for j in range(14)
        ]
        (tmp_path / "transcripts" / f"v{n}.vtt").write_text(_vtt(cues))
        rows.append({"video_id": f"v{n}", "duration": 72.0, "transcript": f"transcripts/v{n}.vtt"})
    (tmp_path / "videos.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["eval", "chapters", str(tmp_path), "--pseudo-videos", "4", "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)
    assert metrics["pseudo_videos"] == 4 and metrics["boundaries"] >= 4
    assert metrics["ours"]["f1"] >= 0.75 and set(metrics["texttiling"]) == set(metrics["ours"])
    text = runner.invoke(app, ["eval", "chapters", str(tmp_path), "--pseudo-videos", "2"]).output
    assert "ours" in text and "texttiling" in text and "F1@±10s" in text
    (tmp_path / "transcripts" / "v1.vtt").unlink()
    broken = runner.invoke(app, ["eval", "chapters", str(tmp_path)])
    assert broken.exit_code == 1 and "v1.vtt: transcript not found" in broken.output


# --- topics shorter than the chapter floor, under slides of their own

SHORT_TOPICS = [
    "Photosynthesis turns sunlight into glucose inside green leaves.",
    "Revolutionary crowds in Paris stormed the Bastille prison.",
    "A neural network adjusts its weights with backpropagation.",
    "Volcanoes erupt when molten magma bursts through the crust.",
    "Jazz musicians in New Orleans improvise on the saxophone.",
    "A tax deduction lowers your taxable income.",
    "Glaciers carve deep valleys and fjords into mountains.",
    "In chess, castling moves the king two squares.",
]


def short_talk(texts=SHORT_TOPICS, step: float = 7.2) -> tuple[list[Sentence], list]:
    """One ~6 s sentence per topic, each under its own slide; OCR reads the slides on a
    2 s grid, so each title's span starts up to 2 s late (as in the demo lecture)."""
    sentences, titles = [], []
    for i, text in enumerate(texts):
        start = 0.5 + i * step
        sentences.append(Sentence(start, start + step - 1.0, text))
        grid = 2.0 * np.ceil((start - 0.4) / 2.0)
        titles.append(
            (grid, 2.0 * np.ceil((start + step - 0.4) / 2.0), f"STEP {i + 1} {text[:12]}")
        )
    return sentences, titles


def test_short_topics_each_under_its_own_slide_get_a_chapter_each():
    sentences, titles = short_talk()
    times, used = cut_times(sentences, Cues(titles=titles), span=(0.0, 58.0))
    assert times == [s.start for s in sentences[1:]]  # 7 s chapters, below the 10 s floor
    assert used[:2] == ["transcript", "ocr"]


def test_slide_changes_within_one_subject_keep_the_chapter_floor():
    same = [
        f"Photosynthesis in the leaves turns sunlight and water into glucose, part {i}."
        for i in range(8)
    ]
    sentences, titles = short_talk(same)
    assert cut_times(sentences, Cues(titles=titles), span=(0.0, 58.0))[0] == []


def test_short_topics_without_slide_titles_keep_the_chapter_floor():
    sentences, _ = short_talk()  # a camera video: the same talk, no titles on screen
    times, _ = cut_times(sentences, Cues(scene_changes=[7.0, 14.0]), span=(0.0, 58.0))
    assert all(b - a >= 10.0 for a, b in pairwise([0.0, *times, 58.0]))


def test_no_chapter_shorter_than_five_seconds_even_under_slides():
    sentences, titles = short_talk(step=3.0)  # 3 s flashes of unrelated slides
    times, _ = cut_times(sentences, Cues(titles=titles), span=(0.0, 25.0))
    assert all(b - a >= 5.0 for a, b in pairwise([0.0, *times]))


def test_a_segment_holding_two_sentences_is_split_at_its_word_times():
    from index.records import Word

    words = [
        Word(0.2, 1.0, "Plants"),
        Word(1.0, 2.0, "eat"),
        Word(2.0, 3.0, "light."),
        Word(9.4, 10.0, "Crowds"),
        Word(10.0, 11.0, "stormed"),
        Word(11.0, 12.0, "Paris."),
    ]
    segment = Segment(0.2, 12.0, "Plants eat light. Crowds stormed Paris.", words)
    assert [(s.start, s.end, s.text) for s in sentences_from([segment])] == [
        (0.2, 3.0, "Plants eat light."),
        (9.4, 12.0, "Crowds stormed Paris."),
    ]


def test_split_sentences_keep_the_spacing_asr_heard():
    """Whisper times "$40" and ",000" as two words with no space between: a chapter summary
    quoting that sentence says "$40,000", as the transcript does (it said "$40 ,000")."""
    from index.records import Word

    said = [("We", None), ("spend", True), ("$40", True), (",000.", False), ("Then", True)]
    words = [Word(n, n + 1.0, text, space) for n, (text, space) in enumerate(said)]
    words += [Word(5.0, 6.0, "stop.", True)]
    segment = Segment(0.0, 6.0, "We spend $40,000. Then stop.", words)
    assert [s.text for s in sentences_from([segment])] == ["We spend $40,000.", "Then stop."]


def test_a_chapter_over_several_slides_is_titled_by_all_of_them_never_the_first():
    said = [f"Photosynthesis in leaves makes glucose from sunlight, part {j}." for j in range(8)]
    segments = [Segment(7.0 * j, 7.0 * j + 6, text) for j, text in enumerate(said)]
    two = [(0.0, 28.0, "LIGHT"), (28.0, 56.0, "GLUCOSE")]  # one subject over two slides
    chapters, _ = topic_chapters(segments, 0.0, 56.0, embed=hashed_vectors, cues=Cues(titles=two))
    assert [c["title"] for c in chapters] == ["Light · Glucose"]
    many = [(7.0 * j, 7.0 * j + 7, f"A LONG SLIDE TITLE NUMBER {j}") for j in range(8)]
    chapters, _ = topic_chapters(segments, 0.0, 56.0, embed=hashed_vectors, cues=Cues(titles=many))
    (title,) = [c["title"] for c in chapters]  # too many to join: key phrases of what was said
    assert "Slide" not in title and any(w in title.lower() for w in WORDS[0].split())


@pytest.mark.parametrize(
    ("ocr", "spoken", "title"),
    [
        (
            "STEP 1 PHOTOSYNTHESIS",
            "Photosynthesis turns light into sugar.",
            "Step 1: Photosynthesis",
        ),
        (
            "STEP3 FRENCHREVOLUTION",
            "Then the French revolution began.",
            "Step 3: French Revolution",
        ),
        (
            "DNA REPLICATION IN THE CELL",
            "DNA is copied before a cell divides.",
            "DNA Replication in the Cell",
        ),
        ("How Plants Make Food", "", "How Plants Make Food"),
        ("PART II THE WAR OF 1812", "", "Part II: The War of 1812"),
        ("光合作用", "光合作用把阳光变成糖。", "光合作用"),
    ],
)
def test_slide_titles_read_as_a_person_would_write_them(ocr, spoken, title):
    assert readable_title(ocr, spoken) == title

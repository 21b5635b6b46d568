"""Multi-granularity retrieval: windows for recall, sentences for citing, an eval you can debug.

Real parts: all-MiniLM-L6-v2 (offline package), chromadb, the SQLite catalog.
"""

from __future__ import annotations

import json
from itertools import pairwise

import numpy as np
import pytest
from typer.testing import CliRunner

from index.library import Library
from index.moments import Moment, SearchOptions, fold_adjacent
from index.passage_cache import PassageCache
from index.records import Span
from index.windows import make_windows, sentences_of
from ingest.pipeline import ingest_transcript
from ui.cli import app

runner = CliRunner()

# One long explanation (sourdough, 0-40 s) told over several cues, then unrelated talk.
CUES = [
    (0, 6, "Today we bake bread at home."),
    (6, 12, "First mix the flour with warm water."),
    (12, 18, "Then add the sourdough starter and a pinch of salt."),
    (18, 24, "Knead the dough for ten minutes until it is smooth."),
    (24, 30, "Let it rise overnight in a cool place."),
    (30, 36, "Bake it at two hundred and thirty degrees."),
    (36, 42, "Now something different: the history of the bicycle."),
    (42, 48, "Early bicycles had no pedals at all."),
    (48, 54, "Riders pushed them along with their feet."),
    (54, 60, "Pneumatic tyres came much later."),
]


def _vtt(path, cues) -> None:
    def ts(t: float) -> str:
        return f"00:{int(t // 60):02d}:{t % 60:06.3f}"

    path.write_text("WEBVTT\n" + "".join(f"\n{ts(a)} --> {ts(b)}\n{text}\n" for a, b, text in cues))


def _span(start, end, sentences, video="v") -> Span:
    return Span(
        video_id=video,
        start=start,
        end=end,
        kind="transcript",
        text=" ".join(t for _, _, t in sentences),
        source="vtt",
        extra={"sentences": [list(s) for s in sentences]},
    )


def test_windows_overlap_by_half_and_hold_whole_sentences():
    sentences = [(t, t + 5.0, f"sentence {t:g}.") for t in range(0, 120, 6)]
    spans = [
        _span(sentences[i][0], sentences[i + 2][1], sentences[i : i + 3])
        for i in range(0, len(sentences), 3)
        if i + 2 < len(sentences)
    ]
    windows = make_windows(spans, length_s=30, hop_s=15)
    assert windows and all(w.kind == "window" for w in windows)
    assert all(w.end - w.start <= 30 + 5 for w in windows)  # a sentence may run past the edge
    starts = [w.start for w in windows]
    assert all(10 <= b - a <= 20 for a, b in pairwise(starts))  # ~half overlap
    covered = {tuple(s) for w in windows for s in w.extra["sentences"]}
    assert covered == {s for span in spans for s in sentences_of(span)}  # every sentence, whole
    with pytest.raises(ValueError, match="hop_s"):
        make_windows(spans, length_s=10, hop_s=20)


def test_sentences_come_from_asr_word_timings():
    words = [[0.0, 0.4, "Mix"], [0.5, 0.9, "flour."], [1.2, 1.6, "Add"], [1.7, 2.3, "water."]]
    span = Span(
        video_id="v",
        start=0,
        end=2.3,
        kind="transcript",
        text="Mix flour. Add water.",
        source="asr:tiny.en",
        extra={"words": words},
    )
    assert sentences_of(span) == [(0.0, 0.9, "Mix flour."), (1.2, 2.3, "Add water.")]


def test_adjacent_sentences_of_one_moment_fold_into_the_better_one():
    best = Moment("v", 10.0, 15.0, "best", None, score=3.0, matched=["dense"])
    touching = Moment("v", 15.5, 20.0, "next", None, score=2.0, matched=["keyword"])
    elsewhere = Moment("v", 40.0, 45.0, "far", None, score=1.0)
    other_video = Moment("w", 15.5, 20.0, "other", None, score=1.5)
    kept = fold_adjacent([elsewhere, touching, best, other_video])
    assert [m.text for m in kept] == ["best", "other", "far"]
    assert (kept[0].start, kept[0].end) == (10.0, 15.0)  # the citation stays one sentence
    assert kept[0].matched == ["dense", "keyword"]


@pytest.fixture(scope="module")
def bread_library(tmp_path_factory):
    root = tmp_path_factory.mktemp("bread")
    _vtt(root / "bread.vtt", CUES)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VIDQA_HOME", str(root / "home"))
        library = Library()
        ingest_transcript(
            root / "bread.vtt",
            video_id="bread",
            title="Baking and bicycles",
            duration=60,
            library=library,
        )
        yield library
        library.close()


def test_a_hit_cites_the_best_sentence_not_the_window(bread_library):
    counts = bread_library.catalog.counts("bread")
    assert counts["window"] >= 2 and counts["transcript"] >= 2
    top = bread_library.search("how long should the dough be kneaded?", k=3)[0]
    assert top.span.kind == "transcript"
    assert (top.span.start, top.span.end) == pytest.approx((18.0, 24.0), abs=0.05)
    assert "Knead" in top.span.text and "overnight" not in top.span.text
    assert "sentence" in top.matched
    focused = top.span.extra["focused_from"]
    assert focused[0] <= 18.0 and focused[1] >= 24.0  # it came from a longer region
    whole = bread_library.search(
        "how long should the dough be kneaded?", k=3, options=SearchOptions(sentences=False)
    )[0]
    assert whole.span.end - whole.span.start > top.span.end - top.span.start
    assert all(h.span.kind != "window" for h in bread_library.search("bicycle pedals", k=10))


def test_a_repeated_search_reuses_sentence_vectors_and_ranks_the_same(bread_library):
    question = "at what temperature is the bread baked?"
    first = bread_library.search(question, k=5)
    cache = bread_library.sentence_vectors
    misses = cache.misses
    again = bread_library.search(question, k=5)
    assert cache.misses == misses and cache.hits > 0  # no sentence embedded twice
    assert [(h.span.start, h.span.end, h.score) for h in again] == [
        (h.span.start, h.span.end, h.score) for h in first
    ]
    text = first[0].span.text
    fresh = bread_library.embedder.embed([text])[0]
    assert np.allclose(cache.embed([text])[0], fresh, atol=1e-5)


def test_sentence_cache_is_bounded_and_embeds_only_misses():
    calls: list[list[str]] = []

    def embed(texts):
        calls.append(list(texts))
        return np.array([[float(len(t)), 1.0] for t in texts], dtype=np.float32).reshape(-1, 2)

    cache = PassageCache(embed, max_entries=2)
    assert cache.embed(["a", "bb", "a"]).tolist() == [[1, 1], [2, 1], [1, 1]]
    cache.embed(["bb", "ccc"])  # "a" is now the least recently used: dropped
    assert calls == [["a", "bb"], ["ccc"]] and len(cache) == 2
    cache.embed(["a"])
    assert calls[-1] == ["a"]
    assert cache.embed([]).shape == (0, 2)
    with pytest.raises(ValueError, match="max_entries"):
        PassageCache(embed, max_entries=0)


def test_time_lookups_never_return_windows(bread_library):
    spans = bread_library.spans_between("bread", 20, 22)
    assert spans and all(s.kind == "transcript" for s in spans)


def _eval_set(root):
    (root / "transcripts").mkdir()
    _vtt(root / "transcripts" / "bread.vtt", CUES)
    _vtt(
        root / "transcripts" / "chess.vtt",
        [(0, 8, "Castling protects the king."), (20, 28, "A pawn promotes on the last rank.")],
    )
    videos = [
        {"video_id": v, "title": v, "duration": 60, "transcript": f"transcripts/{v}.vtt"}
        for v in ("bread", "chess")
    ]
    questions = [
        {
            "qid": "q1",
            "question": "how long do I knead the dough?",
            "video_id": "bread",
            "start": 18,
            "end": 24,
        },
        {
            "qid": "q2",
            "question": "what happens to a pawn on the last rank?",
            "video_id": "chess",
            "start": 20,
            "end": 28,
        },
    ]
    for name, rows in (("videos", videos), ("questions", questions)):
        (root / f"{name}.jsonl").write_text("\n".join(json.dumps(r) for r in rows))


def test_eval_details_and_ablation_rows(tmp_path):
    _eval_set(tmp_path)
    details = tmp_path / "out.jsonl"
    result = runner.invoke(
        app,
        ["eval", "retrieval", str(tmp_path), "--details", str(details), "--ablate"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in details.read_text().splitlines()]
    assert [r["qid"] for r in rows] == ["q1", "q2"]
    assert rows[0]["gold"] == [18, 24] and rows[0]["rank"] == 1
    assert rows[0]["top"]["video_id"] == "bread" and "Knead" in rows[0]["top"]["text"]
    assert rows[1]["library_top"]["video_id"] == "chess" and rows[1]["library_hit"] is True
    assert rows[1]["library_videos"][0] == "chess"
    for row in (
        "full",
        "dense only",
        "BM25 only",
        "no windows",
        "no sentence re-scoring",
        "no sentences (whole spans, no windows)",
    ):
        assert any(line.startswith(row + " ") for line in result.output.splitlines()), row

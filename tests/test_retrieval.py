"""Multi-granularity retrieval: windows for recall, sentences for citing, an eval you can debug.

Real parts: all-MiniLM-L6-v2 (offline package), chromadb, the SQLite catalog.
"""

from __future__ import annotations

import json
from itertools import pairwise
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

from index.library import Library
from index.moments import Moment, SearchOptions, fold_adjacent
from index.passage_cache import PassageCache
from index.records import Span
from index.sentence_vectors import SentenceStore, rescored_texts
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


def _bread(root) -> Library:
    """A fresh library holding the bread talk, in the test's VIDQA_HOME (conftest)."""
    _vtt(root / "bread.vtt", CUES)
    library = Library()
    ingest_transcript(
        root / "bread.vtt",
        video_id="bread",
        title="Baking and bicycles",
        duration=60,
        library=library,
    )
    return library


@pytest.fixture(scope="module")
def bread_library(tmp_path_factory):
    root = tmp_path_factory.mktemp("bread")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VIDQA_HOME", str(root / "home"))
        library = _bread(root)
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


QUESTIONS = [
    "at what temperature is the bread baked?",
    "how long should the dough be kneaded?",
    "what did early bicycles lack?",
    "what goes into the flour?",
]


def _ranked(library: Library, question: str) -> list[tuple]:
    return [(h.span.id, h.span.start, h.span.end, h.score) for h in library.search(question, k=5)]


def _on_the_fly(library: Library) -> None:
    """Re-score as search did before vectors were stored: embed the texts per query (and
    encode their SPLADE rows)."""
    library.__dict__["sentence_vectors"] = SimpleNamespace(
        vectors=lambda items: library.embedder.embed([text for _, text in items])
    )
    library.__dict__["sparse_vectors"] = SimpleNamespace(
        vectors=lambda items: library.sparse.embed([text for _, text in items])
    )


def test_search_reads_stored_sentence_vectors_and_ranks_as_embedding_on_the_fly(tmp_path):
    library = _bread(tmp_path)
    try:
        stored = [_ranked(library, q) for q in QUESTIONS]
        served, sparse = library.sentence_vectors, library.sparse_vectors
        assert served.embedded == 0 and served.stored > 0  # no sentence embedded at query time
        assert sparse.embedded == 0 and sparse.stored > 0  # nor SPLADE-encoded
        _on_the_fly(library)
        assert [_ranked(library, q) for q in QUESTIONS] == stored  # same hits, same scores
        text = library.search(QUESTIONS[0], k=1)[0].span.text
        fresh = library.embedder.embed([text])[0]
        kept = SentenceStore(library.catalog.db).get(library.embedder.slug, [("bread", text)])
        assert np.allclose(kept[("bread", text)], fresh, atol=1e-5)
    finally:
        library.close()


def test_a_library_without_stored_sentence_vectors_searches_the_same_then_fills_them(tmp_path):
    library = _bread(tmp_path)
    want = [_ranked(library, q) for q in QUESTIONS]
    with library.catalog.transaction() as db:  # as a library ingested before the table
        db.execute("DELETE FROM sentence_vectors")
    library.close()
    old = Library()
    try:
        assert [_ranked(old, q) for q in QUESTIONS] == want
        assert old.sentence_vectors.embedded > 0 and old.sentence_vectors.stored == 0
        assert old.fill_sentence_vectors() > 0
        assert old.fill_sentence_vectors() == 0  # nothing left to fill
    finally:
        old.close()
    filled = Library()
    try:
        assert [_ranked(filled, q) for q in QUESTIONS] == want
        assert filled.sentence_vectors.embedded == 0
    finally:
        filled.close()


def test_a_new_version_keeps_only_its_own_sentence_vectors_and_removal_drops_them(tmp_path):
    library = _bread(tmp_path)
    try:
        _vtt(tmp_path / "v2.vtt", CUES[6:])  # the same video, a shorter transcript
        ingest_transcript(
            tmp_path / "v2.vtt", video_id="bread", title="Bicycles", duration=60, library=library
        )
        rows = dict(
            library.catalog.db.execute(
                "SELECT model, COUNT(*) FROM sentence_vectors GROUP BY model"
            ).fetchall()
        )
        current = rescored_texts(library.spans("bread", ("transcript", "chapter", "ocr")))
        # the text model's vectors and SPLADE's rows (English text): the new version's only
        assert rows == {library.embedder.slug: len(current), library.sparse.slug: len(current)}
        assert len(current) > 0
        hits = library.search("how long should the dough be kneaded?", k=3)
        assert all("dough" not in h.span.text for h in hits)
        assert library.sentence_vectors.embedded == 0
        assert library.sparse_vectors.embedded == 0
        library.remove("bread")
        rows = library.catalog.db.execute("SELECT COUNT(*) FROM sentence_vectors").fetchone()[0]
        assert rows == 0
    finally:
        library.close()


def test_splade_ranks_a_sentence_that_says_it_in_other_words_first():
    """SPLADE (the second re-scoring list) weighs terms a text implies: "constrain
    proportions" answers "keep the aspect ratio", which shares no content word with it,
    above a sentence that shares the word "resize"."""
    from models.sparse_embed import TERMS, load_sparse_embedder

    splade = load_sparse_embedder("splade-tiny")
    texts = [
        "Hold down the Shift key to constrain proportions as you drag a corner.",
        "This saves time when you resize many images by the same amount.",
    ]
    rows = splade.embed(texts)
    assert rows.shape == (2, 2 * TERMS)
    for question in (
        "how do I keep the aspect ratio?",
        "how do I keep the aspect ratio when I resize?",
    ):
        first, second = splade.score(question, rows)
        assert first > second, question
    # a stored row (a sentence has fewer than TERMS terms), scored by search's shortcut (the
    # question's weights of the rows' terms only), scores as the full weights do
    full = splade._weights(texts)
    query = splade.query("aspect ratio")
    assert np.allclose(splade.score("aspect ratio", rows), full @ query, rtol=1e-4)


def test_the_splade_list_reorders_the_sentences_the_cosine_list_ranked():
    from index.moments import _rescore

    def pool():
        return [Moment("v", 10.0 * i, 10.0 * i + 5, t, None, 0.02) for i, t in enumerate("abc")]

    by_text = {"a": [1.0, 0.0], "b": [0.8, 0.6], "c": [0.6, 0.8]}  # cosine: a, b, c

    def vectors(items):
        return np.array([by_text[text] for _, text in items], dtype=np.float32)

    query = np.array([1.0, 0.0], dtype=np.float32)
    cosine_only = pool()
    _rescore(cosine_only, vectors, query)
    assert [m.text for m in cosine_only] == ["a", "b", "c"]
    both = pool()
    _rescore(both, vectors, query, lambda items: np.array([0.1, 5.0, 2.0]))  # SPLADE: b, c, a
    assert [m.text for m in both] == ["b", "a", "c"]
    assert "splade" in both[0].matched and "sentence" in both[0].matched


def test_a_question_splade_cannot_read_is_ranked_without_it(bread_library):
    english = bread_library.search("how long should the dough be kneaded?", k=3)
    assert "splade" in english[0].matched and "Knead" in english[0].span.text
    chinese = bread_library.search("面团要揉多久？", k=3)
    assert chinese and all("splade" not in h.matched for h in chinese)


def test_an_english_question_over_a_chinese_video_encodes_nothing_per_query(tmp_path):
    """A mixed library: Chinese sentences have no SPLADE row and get no credit from its list,
    rather than being encoded at query time."""
    library = _bread(tmp_path)
    try:
        zh = [(0, 6, "今天我们在家做面包。"), (6, 12, "面团要揉十分钟，直到表面光滑。")]
        _vtt(tmp_path / "zh.vtt", zh)
        ingest_transcript(
            tmp_path / "zh.vtt", video_id="mianbao", title="做面包", duration=12, library=library
        )
        hits = library.search("how long should the dough be kneaded?", k=10)
        assert "Knead" in hits[0].span.text and "splade" in hits[0].matched
        chinese = [h for h in hits if h.span.video_id == "mianbao"]
        assert chinese and all("splade" not in h.matched for h in chinese)
        assert library.sparse_vectors.embedded == 0
    finally:
        library.close()


def test_search_without_splade_installed_still_ranks(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDQA_SPARSE_MODEL", "none")
    library = _bread(tmp_path)
    try:
        assert library.sparse is None
        top = library.search("how long should the dough be kneaded?", k=3)[0]
        assert "Knead" in top.span.text and "splade" not in top.matched
        models = {m for (m,) in library.catalog.db.execute("SELECT model FROM sentence_vectors")}
        assert models == {library.embedder.slug}  # no SPLADE rows stored
    finally:
        library.close()


def test_a_splade_model_that_cannot_be_loaded_is_named_once_and_search_goes_on(
    tmp_path, monkeypatch, caplog
):
    missing = tmp_path / "no-such-splade"
    monkeypatch.setenv("VIDQA_SPARSE_MODEL", str(missing))
    library = _bread(tmp_path)
    try:
        assert library.sparse is None
        assert "Knead" in library.search("how long should the dough be kneaded?", k=1)[0].span.text
        warned = [r.getMessage() for r in caplog.records if "SPLADE" in r.getMessage()]
        assert len(warned) == 1 and str(missing) in warned[0]
    finally:
        library.close()


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
        "no SPLADE re-scoring",
        "no sentence re-scoring",
        "no sentences (whole spans, no windows)",
    ):
        assert any(line.startswith(row + " ") for line in result.output.splitlines()), row


def test_stored_sentence_vectors_answer_only_their_model_and_video(tmp_path):
    from index.catalog import Catalog
    from index.records import Video

    catalog = Catalog(tmp_path / "catalog.sqlite")
    for vid in ("v1", "v2"):
        catalog.stage(Video(id=vid, path=None, title=vid, duration=9.0), [], 1)
    store = SentenceStore(catalog.db)
    vector = np.arange(4, dtype=np.float32)
    store.put("minilm-384d", [("v1", "Knead the dough.")], vector[None])
    assert store.get("minilm-384d", [("v1", "Knead the dough.")])[
        ("v1", "Knead the dough.")
    ].tolist() == [0, 1, 2, 3]
    assert store.get("e5-384d", [("v1", "Knead the dough.")]) == {}  # another model: never
    assert store.get("minilm-384d", [("v2", "Knead the dough.")]) == {}
    store.drop_other_models("e5-384d")
    assert store.missing("minilm-384d", [("v1", "Knead the dough.")]) == [
        ("v1", "Knead the dough.")
    ]
    catalog.close()


def test_library_wide_keywords_skip_better_matches_of_other_kinds_and_versions(tmp_path):
    """BM25 ranks before it filters (index/catalog.py): spans of kinds not asked for and an
    older version's spans that outrank every wanted span must not crowd them out."""
    from index.catalog import KEYWORD_OVERFETCH, Catalog
    from index.records import Video

    catalog = Catalog(tmp_path / "catalog.sqlite")

    def add(video_id: str, spans: list[Span]) -> None:
        video = Video(id=video_id, path=None, title=video_id, duration=600)
        generation = catalog.next_generation()
        catalog.stage(video, spans, generation)
        catalog.flip(video, generation)

    def span(video_id: str, n: int, kind: str, text: str) -> Span:
        return Span(video_id=video_id, start=n, end=n + 1, kind=kind, text=text, source="test")

    crowd = KEYWORD_OVERFETCH * 3  # more better-ranked unwanted matches than are fetched first
    # Older version of "old": its glacier spans rank first but are no longer current.
    add("old", [span("old", n, "transcript", "glacier glacier glacier") for n in range(crowd)])
    add("old", [span("old", 0, "transcript", "nothing about ice here")])
    add("slides", [span("slides", n, "ocr", "GLACIER GLACIER") for n in range(crowd)])
    add(
        "talk",
        [
            span(
                "talk", 0, "transcript", "a glacier carves the valley over many thousands of years"
            ),
            span("talk", 10, "transcript", "the valley floor is flat and wide after the glacier"),
            span("talk", 20, "transcript", "rivers make narrow valleys instead"),
        ],
    )
    found = catalog.keyword_search("glacier", limit=2, kinds=("transcript",))
    assert sorted((s.video_id, s.start) for s, _ in found) == [("talk", 0), ("talk", 10)]
    # With room for every kind, the slides' denser matches come first, best score first.
    mixed = catalog.keyword_search("glacier", limit=crowd + 2, kinds=("transcript", "ocr"))
    assert [s.video_id for s, _ in mixed] == ["slides"] * crowd + ["talk", "talk"]
    assert [score for _, score in mixed] == sorted((score for _, score in mixed), reverse=True)
    assert (
        catalog.keyword_search("glacier", limit=2, video_id="talk", kinds=("transcript",)) == found
    )

"""Generations in the catalog: an old library migrates in place, and rebuilt chapters
replace the old ones in one switch (a failure keeps the old ones)."""

from __future__ import annotations

import json
import sqlite3

import hash_embed
import pytest

from index.catalog import MIGRATIONS
from index.library import TEXT_KINDS, Library
from index.records import Chapter, Span, Video, VideoSummary


@pytest.fixture(autouse=True)
def _hash_embeddings(monkeypatch):
    hash_embed.install(monkeypatch)


def test_a_library_from_before_generations_migrates_in_place(tmp_path, monkeypatch):
    from vidqa.settings import settings

    path = settings().catalog_path
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE _vidqa_migrations (name TEXT PRIMARY KEY, applied TEXT)")
    for name, sql in MIGRATIONS[:2]:  # the schema before 003_generations
        db.executescript(sql)
        db.execute("INSERT INTO _vidqa_migrations VALUES (?, datetime('now'))", (name,))
    db.execute(
        "INSERT INTO videos (id, title, duration, status) VALUES ('old1', 'old talk', 10, 'ready')"
    )
    db.execute(
        'INSERT INTO spans (id, video_id, kind, start, "end", text) VALUES '
        "('old1/transcript/0', 'old1', 'transcript', 2, 6, 'glaciers carve valleys')"
    )
    db.execute("INSERT INTO spans_fts (rowid, terms) VALUES (1, 'glaciers carve valleys')")
    db.commit()
    db.close()
    library = Library()
    assert [v.title for v in library.videos()] == ["old talk"]
    assert [s.text for s in library.spans_between("old1", 3, 3)] == ["glaciers carve valleys"]
    assert library.catalog.keyword_search("glaciers")[0][0].id == "old1/transcript/0"
    # its vectors were never written here: ingest would re-index it, doctor says so
    assert library.missing_vectors("old1")
    library.add_video(
        Video(id="old1", path=None, title="old talk", duration=10),
        [Span("old1", 2, 6, "transcript", "glaciers carve valleys", "srt")],
    )
    (span,) = library.spans("old1")
    assert span.id != "old1/transcript/0" and library.missing_vectors("old1") == {}
    assert library.catalog.stale_spans() == []


def _summary(source: str, title: str) -> VideoSummary:
    return VideoSummary([Chapter(0, 10, title)], "", "", source, [(0.0, 10.0)])


def _chapter(video_id: str, text: str) -> Span:
    return Span(video_id, 0, 10, "chapter", text, "transcript", {"title": text})


def test_rebuilt_chapters_replace_the_old_ones_only_once_stored(monkeypatch):
    library = Library()
    library.add_video(
        Video(id="vid1", path=None, title="talk", duration=10),
        [
            Span("vid1", 0, 5, "transcript", "magma rises as lava", "srt"),
            _chapter("vid1", "old chapter about volcanoes"),
        ],
        summary=_summary("transcript", "old"),
    )

    def fail(self, spans):
        raise RuntimeError("embedding failed")

    with monkeypatch.context() as patched:
        patched.setattr(Library, "_embed_spans", fail)
        with pytest.raises(RuntimeError):
            library.set_summary(
                "vid1",
                _summary("vlm", "new"),
                [_chapter("vid1", "new chapter about eruptions")],
            )
    assert [s.text for s in library.spans("vid1", ("chapter",))] == ["old chapter about volcanoes"]
    assert [c.title for c in library.summary("vid1").chapters] == ["old"]
    assert [h.span.text for h in library.search("volcanoes", kinds=("chapter",))] == [
        "old chapter about volcanoes"
    ]

    library.set_summary(
        "vid1",
        _summary("vlm", "new"),
        [_chapter("vid1", "new chapter about eruptions")],
    )
    assert [s.text for s in library.spans("vid1", ("chapter",))] == ["new chapter about eruptions"]
    assert [c.title for c in library.summary("vid1").chapters] == ["new"]
    hits = library.search("eruptions volcanoes", kinds=("chapter",))
    assert [h.span.text for h in hits] == ["new chapter about eruptions"]
    assert "dense" in hits[0].matched
    texts = library.spans("vid1", TEXT_KINDS)
    assert library.text_vectors.count() == len(texts) == 2  # the failed attempt left nothing
    assert json.dumps(library.catalog.stale_spans()) == "[]"

"""`vidqa doctor`: finds what interrupted writes and moved files leave, repairs on request."""

from __future__ import annotations

import json
import os

import hash_embed
import numpy as np
from typer.testing import CliRunner

from index.library import TEXT_KINDS, Library
from index.records import Span, Video
from ui.cli import app
from vidqa.settings import settings

runner = CliRunner()
OLD = 30 * 24 * 3600  # s: old enough for any grace period


def _talk(video_id: str, text: str, path: str | None = None) -> tuple[Video, list[Span]]:
    return (
        Video(id=video_id, path=path, title=f"talk {video_id}", duration=10),
        [Span(video_id, 0, 5, "transcript", text, "srt")],
    )


def _age(folder) -> None:
    past = os.path.getmtime(folder) - OLD
    for p in [folder, *folder.iterdir()]:
        os.utime(p, (past, past))


def _doctor(*args: str, code: int) -> dict:
    result = runner.invoke(app, ["doctor", *args, "--json"])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def test_doctor_finds_every_leftover_and_repairs_all_but_a_moved_file(monkeypatch, tmp_path):
    hash_embed.install(monkeypatch)
    cfg, library = settings(), Library()
    media = tmp_path / "moved.mp4"
    media.write_bytes(b"not really a video")
    for video_id, text in (
        ("good1", "magma rises"),
        ("gone1", "lava flows"),
        ("half1", "ash falls"),
    ):
        library.add_video(*_talk(video_id, text, str(media) if video_id == "gone1" else None))
    media.unlink()  # the file moved after ingest
    # an ingest that crashed after staging, a removal that stopped after marking, a
    # chapter rebuild that never switched, and a vector nobody knows
    library.catalog.stage(*_talk("new1", "steam vents"), library.catalog.next_generation())
    library.catalog.set_status("half1", "removing")
    library.catalog.stage_spans(
        "good1",
        [Span("good1", 0, 5, "chapter", "volcanoes", "vlm")],
        library.catalog.next_generation(),
    )
    library.text_vectors.upsert(
        ["stray/g9/transcript/0"],
        np.ones((1, hash_embed.DIM), "float32"),
        [{"video_id": "stray", "kind": "transcript", "start": 0, "end": 1}],
    )
    for folder in (cfg.thumbs_dir / "stray", cfg.home / "jobs" / "20200101-000000-abcdef"):
        folder.mkdir(parents=True)
        (folder / ("1000.jpg" if "thumbs" in str(folder) else "events.jsonl")).write_text(
            "" if "thumbs" in str(folder) else '{"event": "end", "failed": 0}\n'
        )
        _age(folder)
    library.close()

    found = _doctor(code=1)
    problems = {(f["problem"], f["subject"].rsplit("/", 1)[-1]) for f in found["findings"]}
    assert problems == {
        ("moved_file", "gone1"),
        ("unfinished_ingest", "new1"),
        ("unfinished_removal", "half1"),
        ("unfinished_version", "good1"),
        ("orphan_vectors", "vidqa-text-hash-words-64d"),
        ("orphan_thumbnails", "stray"),
        ("old_jobs", "20200101-000000-abcdef"),
    }
    assert {v["id"]: v["vectors"] for v in found["videos"]} == {
        vid: {"vidqa-text-hash-words-64d": [1, 1]} for vid in ("good1", "gone1")
    }

    text = runner.invoke(app, ["doctor", "--repair"]).stdout
    assert "(repaired)" in text and "moved_file" in text and "(needs you)" in text
    after = _doctor(code=1)  # the moved file is the user's call
    assert [f["problem"] for f in after["findings"]] == ["moved_file"]
    library = Library()
    assert [v.id for v in library.videos(include_incomplete=True)] == ["gone1", "good1"]
    assert (
        library.text_vectors.count()
        == sum(len(library.spans(v, TEXT_KINDS)) for v in ("gone1", "good1"))
        == 2
    )
    assert not (cfg.thumbs_dir / "stray").exists()
    assert not list((cfg.home / "jobs").glob("2020*"))


def test_doctor_fills_the_sentence_vectors_of_an_older_library(monkeypatch):
    """A library ingested before sentence vectors were stored searches, slower; doctor says
    so and --repair stores them, after which search embeds nothing per query."""
    hash_embed.install(monkeypatch)
    library = Library()
    library.add_video(*_talk("old1", "Magma rises. Lava flows down the slope."))
    with library.catalog.transaction() as db:
        db.execute("DELETE FROM sentence_vectors")
    library.close()

    found = _doctor(code=1)
    assert [(f["problem"], f["subject"]) for f in found["findings"]] == [
        ("missing_sentence_vectors", "old1")
    ]
    # one sentence's vector under the text model and its SPLADE row
    assert "0 of 2 stored vectors" in found["findings"][0]["detail"]
    assert "(repaired)" in runner.invoke(app, ["doctor", "--repair"]).stdout
    assert _doctor(code=0)["findings"] == []
    library = Library()
    try:
        assert library.search("where does lava flow?", k=1)
        assert library.sentence_vectors.embedded == 0 and library.sentence_vectors.stored > 0
        assert library.sparse_vectors.embedded == 0 and library.sparse_vectors.stored > 0
    finally:
        library.close()

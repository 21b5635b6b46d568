"""`vidqa summarize` rebuilds chapters from what ingest stored, scene changes included."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from index.library import Library
from index.records import Chapter, VideoSummary
from ingest.pipeline import ingest_transcript
from ui.cli import app

SCENE_CHANGES = [60.0, 150.5]  # s, as ingest's frames stage would have stored them
TOPICS = [
    "Volcanoes form where magma rises through the crust.",
    "Photosynthesis turns light, water and carbon dioxide into sugar.",
    "Taxes on income are collected by the state every year.",
]


def _srt(path, seconds: int = 240, every: int = 8):
    cues = []
    for n, t in enumerate(range(0, seconds, every), 1):
        text = TOPICS[min(t // 80, 2)]
        cues.append(
            f"{n}\n00:{t // 60:02d}:{t % 60:02d},000 --> "
            f"00:{(t + every - 1) // 60:02d}:{(t + every - 1) % 60:02d},000\n{text}\n"
        )
    path.write_text("\n".join(cues), encoding="utf-8")
    return path


def test_summarize_keeps_and_uses_the_stored_scene_changes(tmp_path):
    library = Library()
    ingest_transcript(
        _srt(tmp_path / "talk.srt"), video_id="v1", title="Talk", duration=240.0, library=library
    )
    library.set_summary(
        "v1",
        VideoSummary([], "", "", "transcript", [(0.0, 240.0)], scene_changes=SCENE_CHANGES),
        [],
    )
    library.close()

    runner = CliRunner()
    for _ in range(2):  # a second rebuild reads what the first one stored
        result = runner.invoke(app, ["summarize", "Talk", "--vlm", "none"], catch_exceptions=False)
        assert result.exit_code == 0, result.output

    library = Library()
    try:
        stored = library.summary("v1")
    finally:
        library.close()
    assert stored.scene_changes == SCENE_CHANGES
    assert "scenes" in stored.source.split("+")


# A summary as the first chapter code stored it (before scene_changes existed), JSON in SQLite.
OLD_SUMMARY = {
    "chapters": [
        {
            "start": 0.0,
            "end": 80.0,
            "title": "Volcanoes",
            "summary": "Magma rises through the crust.",
            "key_points": ["magma rises"],
            "keywords": ["magma"],
            "source": "transcript",
        }
    ],
    "summary": "A talk on volcanoes.",
    "assessment": "",
    "source": "transcript",
    "windows": [[0.0, 240.0]],
    "notes": [],
    "plan": None,
}
SUMMARY_KEYS = [
    "chapters",
    "summary",
    "assessment",
    "source",
    "windows",
    "notes",
    "plan",
    "scene_changes",
]
CHAPTER_KEYS = ["start", "end", "title", "summary", "key_points", "keywords", "source"]


def _talk(tmp_path) -> Library:
    library = Library()
    ingest_transcript(
        _srt(tmp_path / "talk.srt"), video_id="v1", title="Talk", duration=240.0, library=library
    )
    return library


def test_a_summary_stored_by_the_old_code_still_loads_and_prints(tmp_path):
    library = _talk(tmp_path)
    with library.catalog.db:
        library.catalog.db.execute(
            "INSERT INTO summaries VALUES (?, ?, ?, datetime('now'))",
            ("v1", "transcript", json.dumps(OLD_SUMMARY)),
        )
    stored = library.summary("v1")
    library.close()
    assert isinstance(stored, VideoSummary) and stored.scene_changes == []
    assert stored.chapters[0].title == "Volcanoes" and stored.windows == [(0.0, 240.0)]

    runner = CliRunner()
    markdown = runner.invoke(app, ["summary", "Talk"], catch_exceptions=False)
    assert markdown.exit_code == 0, markdown.output
    assert "### 1. Volcanoes (0:00–1:20)" in markdown.stdout
    assert "Magma rises through the crust." in markdown.stdout
    # where the chapters came from, in words ("transcript" is what the code writes)
    assert "*Chapters from the transcript (no VLM).*" in markdown.stdout
    printed = json.loads(runner.invoke(app, ["summary", "Talk", "--json"]).stdout)
    assert printed == {**OLD_SUMMARY, "scene_changes": []}


def test_summary_json_keeps_its_keys(tmp_path):
    library = _talk(tmp_path)
    summary = VideoSummary(
        [Chapter(0.0, 80.0, "Volcanoes", "Magma rises.", ["magma"], ["lava"])],
        "A talk.",
        "Clear.",
        "transcript",
        [(0.0, 240.0)],
        notes=["no VLM"],
        scene_changes=SCENE_CHANGES,
    )
    library.set_summary("v1", summary, [])
    library.close()
    result = CliRunner().invoke(app, ["summary", "Talk", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert list(printed) == SUMMARY_KEYS
    assert list(printed["chapters"][0]) == CHAPTER_KEYS
    assert printed["windows"] == [[0.0, 240.0]] and printed["scene_changes"] == SCENE_CHANGES
    assert result.stdout == json.dumps(printed, ensure_ascii=False, indent=2) + "\n"

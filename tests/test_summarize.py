"""`vidqa summarize` rebuilds chapters from what ingest stored, scene changes included."""

from __future__ import annotations

from typer.testing import CliRunner

from index.library import Library
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
        {
            "chapters": [],
            "summary": "",
            "assessment": "",
            "source": "transcript",
            "windows": [[0.0, 240.0]],
            "scene_changes": SCENE_CHANGES,
        },
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
    assert stored["scene_changes"] == SCENE_CHANGES
    assert "scenes" in stored["source"].split("+")

"""`vidqa remove REF`: only an id prefix (4+ characters) or a whole title picks a video, and
it asks first on a terminal; off a terminal it needs --yes. An empty --video is an error."""

from __future__ import annotations

import json

import hash_embed
import pytest
from typer.testing import CliRunner

from index.library import Library
from index.records import Span, Video
from ui import cli
from ui.cli import app

runner = CliRunner()


@pytest.fixture()
def two_talks(monkeypatch):
    hash_embed.install(monkeypatch)
    library = Library()
    for video_id, title, text in (
        ("c0ffee11", "volcano talk", "magma rises and lava flows"),
        ("c0ffee22", "volcano talk 2", "ash clouds after eruptions"),
    ):
        library.add_video(
            Video(id=video_id, path=None, title=title, duration=10),
            [Span(video_id, 0, 5, "transcript", text, "srt")],
        )
    library.close()
    return library


def _ids() -> list[str]:
    return [v["id"] for v in json.loads(runner.invoke(app, ["list", "--json"]).stdout)]


@pytest.mark.parametrize("ref", ["", "  ", "e", "volcano", "c0f", "VOLCANO TALK"])
def test_a_loose_or_empty_reference_removes_nothing_and_lists_candidates(two_talks, ref):
    result = runner.invoke(app, ["remove", ref, "--yes"])
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.output
    assert (
        "c0ffee11 (volcano talk)" in result.stderr and "c0ffee22 (volcano talk 2)" in result.stderr
    )
    assert _ids() == ["c0ffee11", "c0ffee22"]


def test_an_ambiguous_id_prefix_is_refused_with_the_candidates(two_talks):
    result = runner.invoke(app, ["remove", "c0ffee", "--yes"])
    assert result.exit_code == 1 and "matches several videos" in result.stderr
    assert "c0ffee11 (volcano talk)" in result.stderr and _ids() == ["c0ffee11", "c0ffee22"]


def test_off_a_terminal_remove_needs_yes(two_talks):
    result = runner.invoke(app, ["remove", "volcano talk"])
    assert result.exit_code == 1 and "without --yes" in result.stderr
    assert result.stderr.count("\n") == 1 and _ids() == ["c0ffee11", "c0ffee22"]
    result = runner.invoke(app, ["remove", "volcano talk", "--yes"])  # a whole title
    assert result.exit_code == 0 and "removed c0ffee11" in result.stdout
    assert _ids() == ["c0ffee22"]


def test_on_a_terminal_remove_asks_first(two_talks, monkeypatch):
    monkeypatch.setattr(cli, "_stdin_is_terminal", lambda: True)
    result = runner.invoke(app, ["remove", "c0ffee22"], input="n\n")
    assert result.exit_code == 1 and "Nothing removed" in result.stderr
    assert _ids() == ["c0ffee11", "c0ffee22"]
    result = runner.invoke(app, ["remove", "c0ffee22"], input="y\n")
    assert result.exit_code == 0 and "removed c0ffee22" in result.stdout
    assert _ids() == ["c0ffee11"]


@pytest.mark.parametrize("command", [["search", "lava"], ["ask", "what erupts?"], ["chat"]])
def test_an_empty_video_option_is_an_error_not_the_whole_library(two_talks, command):
    result = runner.invoke(app, [*command, "--video", ""])
    assert result.exit_code == 2 and "video reference is empty" in result.output

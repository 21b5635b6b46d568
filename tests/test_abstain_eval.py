"""`vidqa eval answers`: the hand-labelled held-out questions and the second, non-Photoshop set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qa import evaluate_answers
from ui.cli import app

runner = CliRunner()
CHECKOUT = Path(__file__).resolve().parents[1]
# ../shared/eval beside the main checkout (worktrees sit one level deeper)
PSTUTS = next(
    (
        p / "shared" / "eval" / "pstuts-dev"
        for p in (CHECKOUT.parent, CHECKOUT.parents[1])
        if (p / "shared" / "eval" / "pstuts-dev").exists()
    ),
    None,
)
BAKING = [
    "Feed the sourdough starter with flour and water the night before.",
    "Mix the dough and let it rest for an hour before folding.",
    "Bake the loaf in a hot Dutch oven until the crust is deep brown.",
]
BIKES = [
    "To fix a flat tyre, lever the tyre off the rim and pull out the inner tube.",
    "Pump up the tube and listen for the hiss to find the hole.",
    "Put a patch over the hole, refit the tube and inflate the tyre.",
]
QUESTIONS = [
    ("bake-0", "baking", "how long should the dough rest before folding?"),
    ("bike-0", "bikes", "how do I find the hole in an inner tube?"),
    ("bake-1", "baking", "what do I feed the sourdough starter?"),
    ("bike-1", "bikes", "how do I patch a bicycle tube?"),
]


def _vtt(lines: list[str]) -> str:
    return "WEBVTT\n\n" + "".join(
        f"00:00:{5 * n:02d}.000 --> 00:00:{5 * n + 5:02d}.000\n{text}\n\n"
        for n, text in enumerate(lines)
    )


@pytest.fixture()
def two_topic_set(tmp_path, monkeypatch) -> Path:
    """Two unrelated videos; the first baking question is labelled truly unanswerable."""
    root = tmp_path / "set"
    (root / "transcripts").mkdir(parents=True)
    videos = []
    for vid, lines in (("baking", BAKING), ("bikes", BIKES)):
        (root / "transcripts" / f"{vid}.vtt").write_text(_vtt(lines), encoding="utf-8")
        videos.append(
            {
                "video_id": vid,
                "title": vid,
                "duration": 15.0,
                "transcript": f"transcripts/{vid}.vtt",
            }
        )
    questions = [
        {"qid": q, "question": text, "video_id": vid, "start": 0.0, "end": 15.0}
        for q, vid, text in QUESTIONS
    ]
    for name, rows in (("videos", videos), ("questions", questions)):
        (root / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        "# rule: a test\n"
        + json.dumps(
            {"qid": "bake-0", "label": "unanswerable", "why": "only the baking video says"}
        )
        + "\n"
    )
    monkeypatch.setattr(evaluate_answers, "HELDOUT_LABELS", labels)
    return root


def test_eval_answers_reports_labelled_held_out_questions_and_the_second_set(two_topic_set):
    result = runner.invoke(
        app, ["eval", "answers", str(two_topic_set), "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    # asked without the baking video, the dough question is declined: bikes do not say
    assert metrics["n_held_out_labelled_unanswerable"] == 1
    assert metrics["abstain_rate_held_out_labelled_unanswerable"] == 1.0
    assert metrics["n_held_out_labelled_answerable_elsewhere"] == 0
    assert metrics["n_answerable"] == 1  # the labelled question is kept out of the halves
    second = metrics["second_set"]
    assert second["set"] == "general_lectures" and second["n_answerable"] == 40
    assert second["n_held_out_video"] == 40 and second["n_other_set_questions"] == 1
    # distinct topics: most questions answered with their video, most declined without it
    assert second["answer_rate"] >= 0.75 and second["abstain_rate_held_out_video"] >= 0.75
    assert second["abstain_rate_other_set_questions"] == 1.0  # a bike question, lectures library


def test_eval_answers_prints_the_labelled_rate(two_topic_set):
    result = runner.invoke(
        app, ["eval", "answers", str(two_topic_set), "--no-second-set"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert (
        "held-out video, labelled by hand: abstained on 1.000 of 1 truly unanswerable"
        in result.stdout
    )
    assert "general_lectures" not in result.stdout


def test_the_committed_labels_follow_their_rule_line():
    path = evaluate_answers.HELDOUT_LABELS
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# rule: ")
    labels = evaluate_answers.heldout_labels(path)
    assert len(labels) == 100
    assert set(labels.values()) == {"unanswerable", "answerable_elsewhere"}
    if PSTUTS is not None:  # the eval data sits beside the checkout on the team's machines
        qids = {json.loads(line)["qid"] for line in (PSTUTS / "questions.jsonl").open()}
        assert set(labels) <= qids

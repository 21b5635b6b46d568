"""The QA pipeline as LangChain pieces (the chain, the retriever), and `vidqa ask` against a
served model: an OpenAI-compatible server on loopback that streams its reply."""

from __future__ import annotations

import json
import re

from langchain_core.documents import Document
from typer.testing import CliRunner

from index.retriever import VidqaRetriever
from qa import grounded
from qa.answer import gather
from qa.chain import build_chain
from qa.citations import Answer
from ui.cli import app

runner = CliRunner()
TOPICAL = "which instrument did the musicians improvise on?"


def evidence_items(lecture_library, question):
    evidence = gather(question, lecture_library.library)
    return grounded.evidence_items(evidence, lecture_library.library)[0]


def test_chain_invoke_cites_the_evidence(lecture_library, fake_vlm):
    chain = build_chain(library=lecture_library.library, vlm=fake_vlm)
    items = evidence_items(lecture_library, TOPICAL)
    fake_vlm.enqueue("The saxophone [1], with blues and ragtime [2]. Also [12].")
    answer = chain.invoke({"question": TOPICAL})
    assert isinstance(answer, Answer) and answer.mode == "vlm"
    assert answer.citations == items[:2]
    assert "saxophone" in answer.citations[0].text.lower()
    assert answer.answer == "The saxophone [1], with blues and ragtime [2]. Also."
    assert answer.evidence.mode == "search"
    fake_vlm.enqueue("The saxophone [1].")
    assert chain.invoke(TOPICAL).citations == items[:1]  # a bare question string works too


def test_chain_batch(lecture_library, fake_vlm):
    fake_vlm.responder = lambda messages: "It is said here [1]."
    chain = build_chain(library=lecture_library.library, vlm=fake_vlm)
    questions = [TOPICAL, "what was said at 0:50?", "总结这个视频"]
    answers = chain.batch([{"question": q} for q in questions])
    assert [a.evidence.mode for a in answers] == ["search", "time", "whole"]
    for question, answer in zip(questions, answers, strict=True):
        assert answer.mode == "vlm"
        assert answer.citations == evidence_items(lecture_library, question)[:1]
    assert any(c.start <= 50 <= c.end for c in answers[1].citations)


def test_retriever_returns_documents_with_times(lecture_library):
    jazz = lecture_library.timeline[4]
    docs = VidqaRetriever(library=lecture_library.library, k=3).invoke("saxophone improvisation")
    assert 1 <= len(docs) <= 3 and all(isinstance(d, Document) for d in docs)
    top = docs[0]
    assert {"video_id", "start", "end", "kind"} <= set(top.metadata)
    assert top.metadata["video_id"] == lecture_library.video.id
    assert top.metadata["kind"] in ("transcript", "chapter", "ocr")
    assert top.metadata["start"] <= jazz["start"] and jazz["end"] <= top.metadata["end"] + 0.5
    assert "saxophone" in top.page_content.lower()
    only = VidqaRetriever(
        library=lecture_library.library, k=2, kinds=("transcript",), video_id="not-a-video"
    ).invoke("saxophone")
    assert only == []


def test_cli_ask_streams_from_a_served_model(lecture_library, openai_server, monkeypatch):
    monkeypatch.setenv("VIDQA_HOME", str(lecture_library.home))
    url, server = openai_server
    sentence, t = lecture_library.sentence_at(4)
    question = f"what was said at {t // 60}:{t % 60:02d}?"
    reply = (
        f"Jazz musicians improvise on the saxophone [1]. This is at "
        f"{t // 60}:{t % 60:02d} [1], not at 9:59 [1]. See [5]."
    )
    server.plan = [reply, reply]
    result = runner.invoke(app, ["ask", "--vlm", f"openai:{url}", question], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    chat = [body for method, path, body in server.requests if method == "POST"]
    assert chat[0]["stream"] is True
    parts = chat[0]["messages"][1]["content"]
    stamps = [
        float(x)
        for p in parts
        if p["type"] == "text"
        for x in re.findall(r"^<(\d+\.\d) seconds>$", p["text"])
    ]
    assert stamps and len(stamps) == sum(p["type"] == "image_url" for p in parts)
    assert sentence["spoken"] in parts[-1]["text"]

    lines = result.stdout.splitlines()
    text = lines[0].strip()
    assert text.startswith("Jazz musicians improvise on the saxophone [1]. This is at ")
    assert "9:59" not in text and "[5]" not in text
    (clip,) = [line for line in lines if line.startswith("[1] lecture · ")]
    cited = re.search(r"\(vidqa clip \w+ ([\d.]+) ([\d.]+)\)", clip)
    start, end = float(cited[1]), float(cited[2])
    assert start <= t <= end and all(start - 0.1 <= s <= end + 0.1 for s in stamps)
    assert "corrected 9:59" in result.stderr and "removed citation [5]" in result.stderr

    result = runner.invoke(
        app, ["ask", "--vlm", f"openai:{url}", question, "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["mode"] == "vlm" and answer["answer"] == text
    assert [(c["start"], c["end"]) for c in answer["citations"]] == [
        (round(start, 2), round(end, 2))
    ]
    assert answer["notes"][0].startswith("corrected 9:59")
    assert [body["stream"] for method, _, body in server.requests if method == "POST"] == [
        True,
        False,
    ]

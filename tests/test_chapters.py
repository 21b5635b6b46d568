"""Chapter prompts, JSON validation/repair/merge and the transcript fallback, with a
scripted backend (a real VLMBackend subclass whose replies are queued)."""

from __future__ import annotations

import json
from itertools import pairwise

import numpy as np
import pytest

from index.records import Chapter, Segment, VideoSummary, summary_from_dict, summary_to_dict
from ingest import chapters as ch
from ingest.chapters import (
    ReplyError,
    chapter_spans,
    extract_json,
    merge_windows,
    parse_reply,
    repair_chapters,
    summarize_video,
    validate_chapters,
)
from ingest.planner import PlanOptions
from ingest.topics import hashed_vectors
from models import vlm as vlm_module
from models.vlm import VideoClip, VLMBackend
from ui.render import summary_markdown
from vidqa.errors import BackendError
from vidqa.timefmt import parse_clock as parse_seconds

TOPICS = [
    "photosynthesis sunlight chlorophyll leaves glucose carbon",
    "volcano magma lava eruption crust ash",
    "jazz saxophone improvisation blues ragtime trumpet",
]


class ScriptedVLM(VLMBackend):
    """Replies from a queue; records every message list it was given."""

    name = "test/Qwen3-VL-Scripted"

    def __init__(self, *replies, context: int = 40_000, mode: str = "video", responder=None):
        self.replies = list(replies)
        self.responder = responder  # messages -> reply, once the queue is empty
        self.calls: list[list[dict]] = []
        self._context = context
        self.input_mode = mode

    def enqueue(self, *replies):
        self.replies.extend(replies)

    @property
    def context_limit(self) -> int:
        return self._context

    def count_tokens(self, text: str) -> int:
        return len(text) // 4 + 1  # the planner only needs a consistent count here

    def generate(self, messages, *, max_new_tokens=256, stream=False):
        self.calls.append(messages)
        reply = self.replies.pop(0) if self.replies else self.responder(messages)
        if isinstance(reply, Exception):
            raise reply
        return reply


class FrameBatch:
    def __init__(self, times, size):
        w, h = size
        self.times = np.asarray(times, dtype=float)
        self.frames = np.zeros((len(self.times), h, w, 3), np.uint8)


def fake_reader(path, times, *, size):
    return FrameBatch(times, size)


def lecture(seconds_per_topic: float = 200.0) -> list[Segment]:
    segments, t = [], 0.0
    for words in TOPICS:
        vocab = words.split()
        for j in range(int(seconds_per_topic // 10)):
            text = f"Now {vocab[j % 6]} and {vocab[(j + 2) % 6]} with {vocab[(j + 4) % 6]}."
            segments.append(Segment(t, t + 9.0, text))
            t += 10.0
    return segments


def reply(*chapters, summary="S", assessment="A") -> str:
    items = [
        {
            "start": a,
            "end": b,
            "title": title,
            "summary": f"About {title}.",
            "key_points": [f"{title} point"],
            "keywords": [title.lower()],
        }
        for a, b, title in chapters
    ]
    return json.dumps({"chapters": items, "summary": summary, "assessment": assessment})


def run(backend, duration=600.0, **kwargs):
    kwargs.setdefault("read_frames", fake_reader)
    kwargs.setdefault("embed", hashed_vectors)
    return summarize_video(
        "talk.mp4",
        lecture(),
        duration=duration,
        width=640,
        height=360,
        vlm=backend,
        max_new_tokens=256,
        **kwargs,
    )


def test_parse_seconds_and_extract_json():
    assert parse_seconds(93.5) == 93.5 and parse_seconds("93.5 s") == 93.5
    assert parse_seconds("1:33") == 93.0 and parse_seconds("01:02:03") == 3723.0
    assert parse_seconds("soon") is None and parse_seconds(True) is None
    text = 'Sure!\n```json\n{"chapters": [{"start": 0, "end": 5, "title": "x",}],}\n```'
    assert extract_json(text)["chapters"][0]["end"] == 5
    with pytest.raises(ReplyError):
        extract_json("no json here")


def test_parse_reply_accepts_a_bare_list_and_rejects_junk():
    chapters, summary, _ = parse_reply('[{"start": "0:00", "end": "1:00", "title": "Intro"}]', "s")
    assert (chapters[0].start, chapters[0].end, summary) == (0.0, 60.0, "")
    with pytest.raises(ReplyError, match="chapters"):
        parse_reply('{"summary": "no chapters"}', "s")
    with pytest.raises(ReplyError, match="readable"):
        parse_reply('{"chapters": [{"title": "no times"}]}', "s")


def test_validate_and_repair_overlaps_gaps_and_out_of_range():
    window = (0.0, 600.0)
    raw = [
        Chapter(0, 250, "A"),
        Chapter(200, 400, "B"),
        Chapter(450, 900, "C"),
        Chapter(300, 350, "inside B"),
        Chapter(-50, -10, "before"),
    ]
    problems = validate_chapters(raw, window)
    assert any("overlap" in p for p in problems) and any("outside" in p for p in problems)
    fixed, fixes = repair_chapters(raw, window)
    assert [c.title for c in fixed] == ["A", "B", "C"]
    assert fixed[0].start == 0.0 and fixed[-1].end == 600.0
    assert all(a.end == b.start for a, b in pairwise(fixed))
    assert validate_chapters(fixed, window) == [] and fixes


def test_an_untitled_vlm_chapter_is_titled_from_its_summary_in_any_script():
    summaries = [
        "光合作用把阳光、水和二氧化碳变成葡萄糖，这是植物获取能量的方式。第二句。",
        "火山喷发。岩浆上升。",
        "A neural network learns its weights with backpropagation and gradient descent.",
    ]
    raw = [Chapter(60.0 * i, 60.0 * i + 60, "", s) for i, s in enumerate(summaries)]
    fixed, _ = repair_chapters(raw, (0.0, 180.0))
    # Chinese has no spaces: cut by characters (the old split gave the whole summary)
    assert [c.title for c in fixed] == [
        "光合作用把阳光、水和二氧化碳变成…",
        "火山喷发",
        "A neural network learns its weights with backpropagation…",
    ]


def test_repair_shifts_times_relative_to_the_window():
    fixed, fixes = repair_chapters([Chapter(0, 100, "x"), Chapter(100, 300, "y")], (1500, 1800))
    assert (fixed[0].start, fixed[1].start, fixed[1].end) == (1500, 1600, 1800)
    assert any("relative" in f for f in fixes)
    with pytest.raises(ReplyError):
        repair_chapters([Chapter(5000, 6000, "far away")], (0, 600))


def test_good_reply_becomes_vlm_chapters():
    backend = ScriptedVLM(reply((0, 200, "Plants"), (200, 400, "Volcanoes"), (400, 600, "Jazz")))
    summary = run(backend)
    assert [c.title for c in summary.chapters] == ["Plants", "Volcanoes", "Jazz"]
    assert summary.source == "vlm:Qwen3-VL-Scripted"
    assert {c.source for c in summary.chapters} == {"vlm:Qwen3-VL-Scripted"}
    assert (summary.summary, summary.assessment) == ("S", "A")
    prompt = backend.calls[0][1]["content"]
    clip = prompt[0]["video"]
    assert isinstance(clip, VideoClip) and clip.frames.shape[1:] == (
        summary.plan["height"],
        summary.plan["width"],
        3,
    )
    assert "[0] Now photosynthesis" in prompt[1]["text"]  # transcript, absolute seconds


def test_malformed_reply_is_asked_again():
    good = reply((0, 300, "First"), (300, 600, "Second"))
    backend = ScriptedVLM("I think the video is about plants.", good)
    summary = run(backend)
    assert len(backend.calls) == 2 and "could not be used" in backend.calls[1][-1]["content"]
    assert [c.title for c in summary.chapters] == ["First", "Second"]
    assert any("asked again" in n for n in summary.notes)


def test_two_bad_replies_fall_back_to_transcript_chapters():
    backend = ScriptedVLM("junk", '{"chapters": []}')
    summary = run(backend)
    assert summary.source == "transcript"
    assert all(c.source == "transcript" for c in summary.chapters)
    assert any("transcript chapters used" in n for n in summary.notes)


def test_backend_failure_falls_back_and_is_noted():
    summary = run(ScriptedVLM(BackendError("HTTP 503 (4 attempts)")))
    assert summary.source == "transcript"
    assert any("503" in n for n in summary.notes)


def window_responder(duration: float):
    """Two chapters per window; the one at each inner boundary is the same topic."""
    import re

    def respond(messages):
        text = messages[-1]["content"]
        if isinstance(text, str):  # the text-only overall pass
            return json.dumps({"summary": "Whole", "assessment": "Fine"})
        found = re.search(r"between ([\d.]+) and ([\d.]+)", text[-1]["text"])
        start, end = float(found.group(1)), float(found.group(2))
        middle = (start + end) / 2
        first = "Shared topic" if start > 0 else "Opening"
        last = "Shared topic" if end < duration else "Closing"
        return reply((start, middle, first), (middle, end, last))

    return respond


def test_multi_window_merge_dedupes_boundary_chapters():
    backend = ScriptedVLM(context=3_000, responder=window_responder(600.0))
    summary = run(backend, plan_options=PlanOptions(min_fps=0.5, overlap_s=30.0))
    windows = summary.windows
    assert len(windows) >= 2 and summary.source == "vlm:Qwen3-VL-Scripted"
    starts = [c.start for c in summary.chapters]
    assert starts == sorted(starts) and summary.chapters[0].start == 0.0
    assert summary.chapters[-1].end == 600.0
    assert all(a.end == b.start for a, b in pairwise(summary.chapters))
    titles = [c.title for c in summary.chapters]
    assert titles.count("Shared topic") == len(windows) - 1  # one per boundary, not two
    assert (summary.summary, summary.assessment) == ("Whole", "Fine")
    later = backend.calls[1][1]["content"]
    assert later[0]["video"].times[0] >= windows[1][0]  # absolute frame times
    assert f"({windows[1][0]:.1f} s)" in later[1]["text"]


def test_merge_windows_cuts_unrelated_chapters_at_the_overlap_middle():
    left = [Chapter(0, 100, "Alpha"), Chapter(100, 330, "Beta")]
    right = [Chapter(300, 400, "Gamma"), Chapter(400, 600, "Delta")]
    merged = merge_windows([left, right], [(0, 330), (300, 600)])
    assert [(c.title, c.start, c.end) for c in merged] == [
        ("Alpha", 0, 100),
        ("Beta", 100, 315),
        ("Gamma", 315, 400),
        ("Delta", 400, 600),
    ]


def test_no_vlm_gives_transcript_chapters_at_topic_shifts():
    summary = summarize_video(None, lecture(), duration=600.0, vlm=None, embed=hashed_vectors)
    assert summary.source == "transcript" and summary.notes
    assert len(summary.chapters) == 3
    for chapter, boundary in zip(summary.chapters[1:], (200.0, 400.0), strict=True):
        assert abs(chapter.start - boundary) <= 20.0
    # key phrases, not single words any more: the chapter's own vocabulary, titled by them
    assert any("photosynthesis" in k for k in summary.chapters[0].keywords)
    assert "jazz" in " ".join(summary.chapters[2].keywords)
    first = summary.chapters[0]
    assert first.summary and first.title.lower().split(",")[0] in " ".join(first.keywords)
    assert not first.title.startswith("Now ")  # not the chapter's first sentence


def test_real_embedder_finds_the_same_shifts():
    from vidqa.errors import MissingDependency, ModelNotFound

    try:
        summary = summarize_video(None, lecture(), duration=600.0, vlm=None)
    except (ModelNotFound, MissingDependency) as e:  # pragma: no cover - offline extras missing
        pytest.skip(str(e))
    assert [round(c.start, -2) for c in summary.chapters] == [0, 200, 400]


def test_get_vlm_specs(monkeypatch):
    assert vlm_module.get_vlm("none") is None
    monkeypatch.setattr(vlm_module, "has_gpu", lambda: False)
    assert vlm_module.get_vlm("auto") is None
    monkeypatch.setattr(vlm_module, "has_gpu", lambda: True)
    local = vlm_module.get_vlm("auto")
    assert local.name == "Qwen/Qwen3-VL-2B-Instruct" and local._model is None  # lazy
    assert vlm_module.parse_spec("qwen3-vl-8b@4bit").quantization == "4bit"
    assert vlm_module.parse_spec("qwen3-vl-4b").model == "Qwen/Qwen3-VL-4B-Instruct"
    served = vlm_module.parse_spec("openai:http://gpu-box:8000/v1#Qwen/Qwen3-VL-8B-Instruct")
    assert (served.base_url, served.model) == (
        "http://gpu-box:8000/v1",
        "Qwen/Qwen3-VL-8B-Instruct",
    )
    with pytest.raises(Exception, match="openai"):
        vlm_module.parse_spec("openai:gpu-box")


def test_registry_accepts_fakes():
    fake = ScriptedVLM(reply((0, 600, "Everything")))
    previous = vlm_module.register_backend("transformers", lambda spec, **kw: fake)
    try:
        summary = run("some/model")
    finally:
        vlm_module.register_backend("transformers", previous)
    assert summary.chapters[0].title == "Everything"


def test_spans_markdown_and_round_trip():
    summary = run(ScriptedVLM(reply((0, 300, "Plants"), (300, 600, "Rocks"))))
    spans = chapter_spans(summary, "vid123")
    assert [s.kind for s in spans] == ["chapter", "chapter"]
    assert spans[1].start == 300 and spans[1].source == "vlm:Qwen3-VL-Scripted"
    assert spans[0].text.startswith("Plants\nAbout Plants.") and "Keywords: plants" in spans[0].text
    assert spans[0].extra["title"] == "Plants"
    text = summary_markdown(summary, "My talk")
    assert text.startswith("# My talk") and "### 2. Rocks (5:00–10:00)" in text
    assert "*Chapters from Qwen3-VL-Scripted.*" in text  # the model named, in words
    again = summary_from_dict(json.loads(json.dumps(summary_to_dict(summary))))
    assert isinstance(again, VideoSummary) and again.chapters == summary.chapters


def test_audio_only_sends_no_frames():
    backend = ScriptedVLM(reply((0, 600, "All")))
    summarize_video(None, lecture(), duration=600.0, vlm=backend, embed=hashed_vectors)
    assert all(item["type"] == "text" for item in backend.calls[0][1]["content"])


def test_prompt_stays_inside_the_context():
    backend = ScriptedVLM(reply((0, 600, "All")), context=6_000)
    summary = run(backend)
    assert summary.plan["window_tokens"][0] + 256 + ch.REASK_RESERVE <= 6_000


def test_chinese_key_phrases_are_whole_words_and_titles_use_the_chinese_comma():
    """Chinese has no spaces: key phrases were character n-grams, so a chapter on the Great
    Wall was titled "吸收阳光, 一万多公" (公里 cut in half). Phrases are jieba words now."""
    from ingest.topics import candidates, phrase_title

    said = [
        "长城是中国古代修建的防御工事。",
        "它绵延一万多公里，用来抵挡北方游牧民族的入侵。",
        "明朝时期对它进行了大规模的重修。",
    ]
    found = candidates(said)
    assert "游牧民族" in found and "防御工事" in found, found
    text = "".join(said)
    for phrase in found:  # never ends inside a word the sentence goes on with
        end = text.index(phrase) + len(phrase)
        assert text[end - 1 : end + 1] not in {"公里", "游牧", "民族", "工事", "时期"}, phrase
    assert phrase_title(["防御工事", "游牧民族"]) == "防御工事、游牧民族"
    assert phrase_title(["layer masks", "blend modes"]) == "Layer masks, blend modes"

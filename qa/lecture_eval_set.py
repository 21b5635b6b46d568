"""The second answer/abstain set: general-knowledge "lectures" (eval_data/general_lectures.json),
laid out as an eval set (videos.jsonl, transcripts/*.vtt, questions.jsonl) so it loads like
../shared/eval sets. Text only: the transcript stands in for the video.

Its topics differ from one another, so a question asked of the library without its own video
really is unanswerable: no labels needed, unlike PsTuts where every video is about Photoshop.
"""

from __future__ import annotations

import json
from pathlib import Path

SOURCE = Path(__file__).parent / "eval_data" / "general_lectures.json"
CUE_S = 5.0  # each sentence is a 5 s cue
TOPIC_GAP_S = 2.0  # s of silence between topics


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}.{round((seconds - whole) * 1000):03d}"


def _vtt(cues: list[tuple[float, float, str]]) -> str:
    body = "".join(f"{_clock(s)} --> {_clock(e)}\n{text}\n\n" for s, e, text in cues)
    return "WEBVTT\n\n" + body


def write_eval_set(root: Path, source: Path = SOURCE) -> Path:
    """Write the set under `root`; each question's gold span is its topic's sentences."""
    data = json.loads(source.read_text(encoding="utf-8"))
    (root / "transcripts").mkdir(parents=True, exist_ok=True)
    videos, questions = [], []
    for video in data["videos"]:
        cues, clock = [], 0.0
        for n, topic in enumerate(video["topics"]):
            start = clock
            for sentence in topic["sentences"]:
                cues.append((clock, clock + CUE_S, sentence))
                clock += CUE_S
            questions += [
                {
                    "qid": f"{video['video_id']}-{n}-{i}",
                    "question": q,
                    "video_id": video["video_id"],
                    "start": start,
                    "end": clock,
                }
                for i, q in enumerate(topic["questions"])
            ]
            clock += TOPIC_GAP_S
        name = f"transcripts/{video['video_id']}.vtt"
        (root / name).write_text(_vtt(cues), encoding="utf-8")
        videos.append(
            {
                "video_id": video["video_id"],
                "title": video["title"],
                "duration": clock - TOPIC_GAP_S,
                "transcript": name,
            }
        )
    for name, rows in (("videos", videos), ("questions", questions)):
        (root / f"{name}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
        )
    return root

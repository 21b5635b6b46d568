"""Plain functions that turn results into rows and text: the one place the CLI and the app
(and tests) read a video, a search hit, a citation, a chapter or a transcript line from.

Rows (`video_row`, `hit_row`) are what `--json` prints. The app's views (`video_card_row`,
`group_hits`, `citation_state`, `chapter_view`) and the CLI's lines (`video_line`,
`hit_line`, `citation_line`, `summary_markdown`) are built from the same rows, records and
pieces, so a change to how one reads is made here once. No Streamlit import: tests call
them directly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from index.records import Chapter, VideoSummary
from qa.citations import clip_label
from ui.i18n import Lang, tr
from vidqa.timefmt import fmt_range, fmt_ts

CHIP_TITLE_CHARS = 40  # a chip's title is cut to this many chars
HIT_LINE_CHARS = 140  # `vidqa search` shows this much of a hit's text (chars)
SCORE_DIGITS = 5  # decimals a hit's score is shown with
# What the app calls each evidence kind (i18n keys "ev_<name>").
EVIDENCE_NAMES = {
    "transcript": "said",
    "window": "said",
    "chapter": "chapter",
    "ocr": "on screen",
    "frame": "frame",
}


def one_line(text: str) -> str:
    """Media text on one line: runs of spaces and line breaks become one space."""
    return " ".join(text.split())


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


# ---------------------------------------------------------------- videos


def video_row(video, counts: dict[str, int] | None = None) -> dict:
    row = asdict(video)
    row["spans"] = counts or {}
    return row


def video_card_row(video, counts: dict[str, int]) -> dict:
    """One app Library card: what a user needs to recognise a video and its ingest state."""
    return _card(video_row(video, counts))


def _card(row: dict) -> dict:
    spans = row["spans"]
    return {
        "id": row["id"],
        "title": row["title"],
        "duration": fmt_ts(row["duration"]),
        "transcript": row["transcript_source"] or "none",
        "chapters": spans.get("chapter", 0),
        "spans": sum(spans.values()),
        "status": row["status"],
        "path": row["path"] or "",
        "ingested": row["ingested_at"] or "",
    }


# What `vidqa list` and `vidqa ingest` call each kind of span, one and many, in this order.
SPAN_NOUNS = {
    "transcript": ("transcript span", "transcript spans"),
    "window": ("window", "windows"),
    "chapter": ("chapter", "chapters"),
    "ocr": ("on-screen text", "on-screen texts"),
    "frame": ("frame", "frames"),
}


def span_counts(counts: dict[str, int]) -> str:
    """{"chapter": 8, "window": 1} -> "1 window, 8 chapters"; "no spans" when empty."""
    order = [*SPAN_NOUNS, *sorted(set(counts) - set(SPAN_NOUNS))]
    return (
        ", ".join(
            f"{counts[k]} {SPAN_NOUNS.get(k, (k, k))[counts[k] != 1]}"
            for k in order
            if counts.get(k)
        )
        or "no spans"
    )


def video_line(row: dict) -> str:
    card = _card(row)
    spans = span_counts(row["spans"])
    status = "" if row["status"] == "ready" else f"  [{row['status']}]"
    return (
        f"{row['id'][:12]}  {row['title']}  {card['duration']}  "
        f"transcript: {card['transcript']}  ({spans}){status}"
    )


# ---------------------------------------------------------------- search hits


def hit_kinds(hit) -> list[str]:
    """The evidence kinds a (merged) hit stands for: its own span's kind when none were merged."""
    return hit.kinds or [hit.span.kind]


def hit_row(hit, title: str, path: str | None) -> dict:
    s = hit.span
    return {
        "video_id": s.video_id,
        "title": title,
        "path": path,
        "start": round(s.start, 2),
        "end": round(s.end, 2),
        "kind": s.kind,
        "text": s.text,
        "score": round(hit.score, SCORE_DIGITS),
        "matched": hit.matched,
        "kinds": hit_kinds(hit),
        **({"said": said} if (said := s.extra.get("said")) else {}),  # [start, end, text]
    }


def hit_line(row: dict) -> str:
    return (
        f"{row['video_id'][:8]}  {row['title']} · {fmt_range(row['start'], row['end'])}"
        f"  [{'+'.join(row.get('kinds') or [row['kind']])}; {'+'.join(row['matched'])}]"
        f"\n    {_cut(one_line(row['text']), HIT_LINE_CHARS)}"
        + (f"\n    {said_line(row['said'], 'en')}" if row.get("said") else "")
    )


def said_line(said, lang: Lang) -> str:
    """What was said where on-screen text was found: 'said then (0:42–0:48): “…”'."""
    start, end, text = said
    when = fmt_range(start, end)
    return f"{tr(lang, 'said_then', when=when)}“{_cut(one_line(text), HIT_LINE_CHARS)}”"


def evidence_label(kinds: Iterable[str], matched: Iterable[str], lang: Lang = "en") -> str:
    """'said+on screen · keyword+dense': what evidence matched, and which retrievers found it
    (the retrievers' names are technical terms, kept in English)."""
    said = "+".join(dict.fromkeys(_evidence_name(k, lang) for k in kinds))
    return f"{said} · {'+'.join(matched) or tr(lang, 'ev_time')}"


def _evidence_name(kind: str, lang: Lang) -> str:
    name = EVIDENCE_NAMES.get(kind)
    return tr(lang, "ev_" + name.replace(" ", "_")) if name else kind


@dataclass
class HitView:
    video_id: str
    start: float
    end: float
    when: str  # 0:15–0:25
    evidence: str  # said · keyword+dense
    text: str
    score: float
    said: str | None = None  # on-screen text: what was said then (said_line)


@dataclass
class VideoGroup:
    video_id: str
    title: str
    duration: float
    hits: list[HitView] = field(default_factory=list)


def hit_view(hit, lang: Lang = "en") -> HitView:
    """A hit as the app shows it: time range, evidence in words, text on one line. Times stay
    exact (a click plays from them), where `hit_row` rounds them for print."""
    s = hit.span
    return HitView(
        s.video_id,
        s.start,
        s.end,
        fmt_range(s.start, s.end),
        evidence_label(hit_kinds(hit), hit.matched, lang),
        one_line(s.text),
        round(hit.score, SCORE_DIGITS),
        said_line(said, lang) if (said := s.extra.get("said")) else None,
    )


def group_hits(hits, videos: dict, lang: Lang = "en") -> list[VideoGroup]:
    """Search hits grouped by video; groups in the order of each video's best hit."""
    groups: dict[str, VideoGroup] = {}
    for hit in hits:
        video = videos.get(hit.span.video_id)
        if video is None:  # removed since the search ran
            continue
        group = groups.setdefault(video.id, VideoGroup(video.id, video.title, video.duration))
        group.hits.append(hit_view(hit, lang))
    return list(groups.values())


# ---------------------------------------------------------------- citations and answers


def chip_label(title: str, start: float, end: float) -> str:
    """'Intro talk · 25:00–25:40', the title cut to CHIP_TITLE_CHARS."""
    return clip_label(_cut(title, CHIP_TITLE_CHARS), start, end)


def citation_line(n: int, citation) -> str:
    """`vidqa ask`: '[1] Intro talk · 24:52–25:09  /path  (vidqa clip <id> 1492.10 1509.40)'."""
    c = citation
    return (
        f"[{n}] {c.label}  {c.path or ''}  (vidqa clip {c.video_id[:12]} {c.start:.2f} {c.end:.2f})"
    )


def citation_state(citation) -> dict:
    """A citation as plain data for session state (chips are rebuilt from it on every rerun)."""
    return {
        "video_id": citation.video_id,
        "title": citation.title,
        "start": float(citation.start),
        "end": float(citation.end),
        "text": citation.text,
        "kind": citation.kind,
        "label": chip_label(citation.title, citation.start, citation.end),
    }


def answer_view(answer) -> dict:
    """An answer as plain data for the chat history: text, chips, near misses, choices."""
    from qa.wording import language, say

    near = say(language(answer.answer), "near_miss")
    related = [
        {**citation_state(c), "label": f"{near} · {chip_label(c.title, c.start, c.end)}"}
        for c in answer.related
    ]
    return {
        "role": "assistant",
        "text": answer.answer,
        "mode": answer.mode,
        "status": answer.status,
        "notes": list(answer.notes),
        "citations": [citation_state(c) for c in answer.citations],
        "related": related,
        "choices": [{"video_id": c.video_id, "title": c.title} for c in answer.choices],
    }


# ---------------------------------------------------------------- transcripts and chapters


def transcript_rows(spans) -> list[dict]:
    return [
        {"time": fmt_ts(s.start), "start": round(s.start, 2), "text": one_line(s.text)}
        for s in spans
    ]


def chapter_of(span) -> Chapter:
    """A chapter span read back as the Chapter it was indexed from (chapters.chapter_spans)."""
    extra = span.extra or {}
    return Chapter(
        span.start,
        span.end,
        extra.get("title") or span.text.split("\n")[0],
        extra.get("summary", ""),
        extra.get("key_points", []),
        extra.get("keywords", []),
        span.source,
    )


def chapter_view(chapter: Chapter) -> dict:
    when = fmt_range(chapter.start, chapter.end)
    return {
        "start": chapter.start,
        "end": chapter.end,
        "when": when,
        "title": chapter.title,
        "label": f"{when} · {chapter.title}",
        "summary": chapter.summary,
        "key_points": chapter.key_points,
        "keywords": chapter.keywords,
        "source": chapter.source,
    }


# What chapters were found from, in words: a source is "vlm:<model>" and/or signals joined
# by "+" ("transcript+ocr+scenes", "vlm:Qwen/Qwen3-VL-2B-Instruct+transcript").
SOURCE_WORDS = {
    "en": {
        "transcript": "the transcript",
        "ocr": "on-screen text",
        "scenes": "scene changes",
        "pauses": "pauses",
        "no_vlm": " (no VLM)",
    },
    "zh": {
        "transcript": "字幕",
        "ocr": "屏幕文字",
        "scenes": "场景切换",
        "pauses": "停顿",
        "no_vlm": "（未用视觉语言模型）",
    },
}


def describe_source(source: str, lang: str = "en") -> str:
    """ "transcript+ocr+scenes" -> "the transcript, on-screen text and scene changes (no VLM)";
    "vlm:Qwen/Qwen3-VL-2B-Instruct" -> "Qwen3-VL-2B-Instruct"; unknown parts stay as written."""
    words = SOURCE_WORDS.get(lang, SOURCE_WORDS["en"])
    parts = [p for p in (source or "").split("+") if p]
    named = [
        p.removeprefix("vlm:").rstrip("/").rsplit("/", 1)[-1]
        if p.startswith("vlm:")
        else words.get(p, p)
        for p in parts
    ]
    if not named:
        return "?"
    if lang == "zh":
        text = "、".join(named)
    else:
        text = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
    vlm = any(p.startswith("vlm:") for p in parts)
    return text if vlm else text + words["no_vlm"]


def summary_markdown(summary: VideoSummary, title: str) -> str:
    """`vidqa summary`: the whole-video summary and every chapter, as Markdown."""
    lines = [f"# {title}", "", f"*Chapters from {describe_source(summary.source)}.*", ""]
    if summary.summary:
        lines += ["## Summary", "", summary.summary, ""]
    if summary.assessment:
        lines += ["## Assessment", "", summary.assessment, ""]
    lines += ["## Chapters", ""]
    for i, view in enumerate(map(chapter_view, summary.chapters), 1):
        lines += [f"### {i}. {view['title']} ({view['when']})", ""]
        lines += [view["summary"], ""] if view["summary"] else []
        lines += [f"- {p}" for p in view["key_points"]] + ([""] if view["key_points"] else [])
        if view["keywords"]:
            lines += [f"*Keywords:* {', '.join(view['keywords'])}", ""]
        lines += [f"*Source:* {describe_source(view['source'])}", ""]
    if summary.notes:
        lines += ["## Notes", "", *(f"- {n}" for n in summary.notes), ""]
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------- output


def dumps(data, *, nl: bool = False) -> str:
    """--json prints one indented document; --nl one compact object per line."""
    if nl and isinstance(data, list):
        return "\n".join(json.dumps(d, ensure_ascii=False) for d in data)
    return json.dumps(data, ensure_ascii=False, indent=2)


def export_lines(summary: dict, report=None) -> list[str]:
    """`vidqa export sft`: examples per split and kind, clip minutes and size, what was written."""
    kinds = list(next(iter(summary["examples"].values())))
    lines = [f"{'':6}" + "".join(f"{k:>10}" for k in kinds) + f"{'videos':>8}"]
    for split, counts in summary["examples"].items():
        lines.append(
            f"{split:6}"
            + "".join(f"{counts[k]:>10}" for k in kinds)
            + f"{summary['videos'][split]:>8}"
        )
    n = summary["clips_to_cut"] + summary["clips_reused"]
    lines.append(
        f"{n} clips, {summary['clip_minutes']:.1f} min, about "
        f"{summary['estimated_bytes'] / 1e6:.1f} MB at the source bitrate"
    )
    if report is None:
        lines.append(
            f"dry run: {summary['clips_to_cut']} clips to cut, "
            f"{summary['clips_reused']} already cut; nothing written"
        )
    else:
        lines.append(
            f"cut {report.cut} clips, reused {report.reused}; wrote "
            f"{', '.join(report.files)} in {summary['out_dir']}"
        )
    return lines

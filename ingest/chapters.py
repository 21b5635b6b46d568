"""Chapter summaries: Qwen3-VL over as much of the video as its context holds, or,
without a VLM, chapters from topic shifts in the transcript (ingest/topics.py).

Public entry: `summarize_video(...) -> VideoSummary`; then `chapter_spans` for the
index (ui/render.py's `summary_markdown` writes it for people). The pure pieces
(prompt building, JSON extraction, validation/repair, merging windows) are separate
functions so a scripted backend can exercise them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path

import numpy as np

from index.records import TRANSCRIPT_SOURCE, Chapter, Segment, Span, VideoSummary
from ingest.planner import Plan, PlanOptions, plan_video
from ingest.segment import Cues
from ingest.topics import TOKEN, Embed, content_words, overview, topic_chapters
from models.qwen3vl_tokens import video_tokens
from models.vlm import VideoClip, VLMBackend, get_vlm
from vidqa.decode import read_frames
from vidqa.errors import BackendError, ConfigError, MissingDependency, ModelNotFound
from vidqa.text import CJK_CHAR, join_words
from vidqa.timefmt import fmt_range, fmt_ts, parse_clock

MIN_CHAPTER_S = 1.0  # s; shorter chapters are dropped as noise
GAP_TOLERANCE = 0.01  # fraction of a window tolerated as gap/overlap before it is a problem
MIN_GAP_TOLERANCE_S = 2.0  # s
CHAPTER_TARGET_S = 300.0  # s of video per chapter the prompt asks for (about 5 min)
MAX_CHAPTERS_PER_WINDOW = 15
REASK_RESERVE = 600  # tokens kept free for re-asking (echoed reply + correction)
ECHO_CHARS = 1500  # chars of an invalid reply echoed back when re-asking
TITLE_WORDS = 8  # a chapter the VLM left untitled takes this much of its summary
FIRST_SENTENCE = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")  # "1.5" is no sentence end
TITLE_TRIM = " .,;:!?。，、；：！？"  # punctuation a title does not end with
MAX_KEY_POINTS, MAX_KEYWORDS = 6, 10

SYSTEM_PROMPT = (
    "You are a careful video analyst. You watch frames labelled with their absolute time "
    "in seconds (<t seconds>) and read the transcript, then describe the video's structure "
    "faithfully. You answer with JSON only."
)
TASK_PROMPT = """{part}
Frames above are labelled <t seconds> with absolute time from the start of the video.
Each transcript line starts with [t], its absolute start time in seconds.

Transcript:
{transcript}

Split {scope} into about {n} chapters where the topic or activity changes. Reply with one JSON
object and nothing else:
{{"chapters": [{{"start": <seconds>, "end": <seconds>, "title": "<short title>",
"summary": "<2-4 sentences>", "key_points": ["<point>", ...], "keywords": ["<term>", ...]}}],
"summary": "<what this {unit} covers, 3-6 sentences>",
"assessment": "<overall assessment: quality, clarity, audience, conclusions>"}}
Rules: times are absolute seconds between {start:.1f} and {end:.1f}; chapters are in order,
do not overlap and together cover the whole {unit}."""
REASK_PROMPT = (
    "Your reply could not be used: {error}. Reply again with only the JSON object "
    "described above, with absolute times in seconds."
)
MERGE_PROMPT = """These are the chapters of one video ({duration}), found part by part:
{chapters}

Reply with one JSON object and nothing else:
{{"summary": "<what the whole video covers, 4-8 sentences>",
"assessment": "<overall assessment: quality, clarity, audience, conclusions>"}}"""


class ReplyError(ValueError):
    """A model reply that cannot be turned into chapters."""


# --- transcript text
def _segments(transcript) -> list:
    """Segments (start, end, text) from a Transcript or any sequence of segments."""
    segments = getattr(transcript, "segments", transcript) or []
    return [s for s in segments if s.text and s.text.strip()]


def transcript_lines(segments, start: float = 0.0, end: float = math.inf) -> list[str]:
    """One line per segment, "[<start s>] text" (whole seconds: ~6 tokens of overhead)."""
    return [
        f"[{s.start:.0f}] {s.text.strip()}" for s in segments if s.end > start and s.start < end
    ]


def _thin(lines: list[str], keep: float) -> list[str]:
    """Evenly spaced `keep` fraction of `lines` (for a transcript that would not fit)."""
    picks = np.linspace(0, len(lines) - 1, max(1, int(len(lines) * keep))).round().astype(int)
    return [lines[i] for i in sorted(set(picks))]


# --- prompts
def build_messages(
    window: tuple[float, float],
    duration: float,
    transcript: str,
    clip=None,
    *,
    chapters_hint: int | None = None,
) -> list[dict]:
    """System + user messages for one window; `clip` (a VideoClip) goes before the text."""
    start, end = window
    whole = start <= 0 and end >= duration
    part = (
        f"This is the whole video, {fmt_ts(duration)} long ({duration:.1f} s)."
        if whole
        else f"This is the part from {fmt_ts(start)} ({start:.1f} s) to {fmt_ts(end)} "
        f"({end:.1f} s) of a video {fmt_ts(duration)} long ({duration:.1f} s)."
    )
    n = chapters_hint or max(
        1, min(MAX_CHAPTERS_PER_WINDOW, round((end - start) / CHAPTER_TARGET_S))
    )
    text = TASK_PROMPT.format(
        part=part,
        transcript=transcript,
        scope="the video" if whole else "this part",
        n=n,
        unit="video" if whole else "part",
        start=start,
        end=end,
    )
    content = [{"type": "video", "video": clip}] if clip is not None else []
    content.append({"type": "text", "text": text})
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": content}]


# --- parsing, validation, repair
def extract_json(text: str):
    """The first JSON object or array in `text` (code fences, prose and trailing commas ok)."""
    cleaned = re.sub(r"```(?:json)?", "", text or "")
    decoder = json.JSONDecoder()
    for match in re.finditer(r"[\[{]", cleaned):
        candidate = cleaned[match.start() :]
        for attempt in (candidate, re.sub(r",\s*([}\]])", r"\1", candidate)):
            try:
                return decoder.raw_decode(attempt)[0]
            except json.JSONDecodeError:
                continue
    raise ReplyError("no JSON object found in the reply")


def _strings(value, limit: int) -> list[str]:
    if isinstance(value, str):
        value = re.split(r"[;,\n]", value) if "," in value or ";" in value else [value]
    if not isinstance(value, list):
        return []
    out = [str(v).strip() for v in value if str(v).strip()]
    return list(dict.fromkeys(out))[:limit]


def parse_reply(text: str, source: str) -> tuple[list[Chapter], str, str]:
    """(chapters as given, summary, assessment) from a reply; ReplyError if unusable."""
    data = extract_json(text)
    if isinstance(data, list):
        data = {"chapters": data}
    if not isinstance(data, dict) or not isinstance(data.get("chapters"), list):
        raise ReplyError('the JSON has no "chapters" list')
    chapters = []
    for item in data["chapters"]:
        if not isinstance(item, dict):
            continue
        start = parse_clock(item.get("start", item.get("start_time")))
        end = parse_clock(item.get("end", item.get("end_time")))
        if start is None or end is None:
            continue
        chapters.append(
            Chapter(
                start=start,
                end=end,
                title=str(item.get("title") or "").strip(),
                summary=str(item.get("summary") or "").strip(),
                key_points=_strings(item.get("key_points"), MAX_KEY_POINTS),
                keywords=_strings(item.get("keywords"), MAX_KEYWORDS),
                source=source,
            )
        )
    if not chapters:
        raise ReplyError("no chapter has readable start and end times")
    return (
        chapters,
        str(data.get("summary") or "").strip(),
        str(data.get("assessment") or "").strip(),
    )


def _tolerance(window: tuple[float, float]) -> float:
    return max(MIN_GAP_TOLERANCE_S, GAP_TOLERANCE * (window[1] - window[0]))


def validate_chapters(chapters: Sequence[Chapter], window: tuple[float, float]) -> list[str]:
    """Problems with `chapters` for `window`; empty when they are usable as they are."""
    (start, end), tol, problems = window, _tolerance(window), []
    if not chapters:
        return ["no chapters"]
    for i, c in enumerate(chapters):
        if c.start < start - tol or c.end > end + tol:
            problems.append(
                f"chapter {i + 1} ({c.start:.1f}-{c.end:.1f} s) is outside {start:.1f}-{end:.1f} s"
            )
        if c.end - c.start < MIN_CHAPTER_S:
            problems.append(f"chapter {i + 1} is shorter than {MIN_CHAPTER_S:g} s")
        if not c.title:
            problems.append(f"chapter {i + 1} has no title")
    for i, (a, b) in enumerate(pairwise(chapters), 2):
        if b.start < a.start:
            problems.append(f"chapter {i} starts before chapter {i - 1}")
        elif b.start < a.end - tol:
            problems.append(f"chapters {i - 1} and {i} overlap by {a.end - b.start:.1f} s")
        elif b.start > a.end + tol:
            problems.append(f"gap of {b.start - a.end:.1f} s before chapter {i}")
    if chapters[0].start > start + tol or chapters[-1].end < end - tol:
        problems.append("chapters do not cover the whole window")
    return problems


def repair_chapters(
    chapters: Sequence[Chapter], window: tuple[float, float]
) -> tuple[list[Chapter], list[str]]:
    """Clip, order, de-overlap and close gaps; (usable chapters, what was fixed)."""
    (start, end), tol = window, _tolerance(window)
    fixes = validate_chapters(chapters, window)
    items = [replace(c) for c in chapters]
    if (
        items
        and start > tol
        and max(c.end for c in items) <= end - start + tol
        and min(c.start for c in items) < start - tol
    ):  # relative to the window start
        items = [replace(c, start=c.start + start, end=c.end + start) for c in items]
        fixes.append("times were relative to the window start: shifted")
    items = [replace(c, start=max(start, c.start), end=min(end, c.end)) for c in items]
    items = sorted(
        (c for c in items if c.end - c.start >= MIN_CHAPTER_S), key=lambda c: (c.start, -c.end)
    )
    kept: list[Chapter] = []
    for c in items:
        if kept and c.end <= kept[-1].end:  # inside the previous chapter: a duplicate
            continue
        if kept and c.start < kept[-1].end:  # overlap: the boundary goes to the middle
            middle = (c.start + kept[-1].end) / 2
            kept[-1].end, c.start = middle, middle
        kept.append(c)
    kept = [c for c in kept if c.end - c.start >= MIN_CHAPTER_S]
    for i, c in enumerate(kept):
        c.title = c.title or _title_from(c.summary) or f"Part {i + 1}"
    if not kept:
        raise ReplyError(f"no chapter lies inside {start:.1f}-{end:.1f} s")
    return close_gaps(kept, start, end), fixes


def close_gaps(chapters: list[Chapter], start: float, end: float) -> list[Chapter]:
    """Contiguous chapters from `start` to `end`: each gap goes to the chapter before it."""
    out = [replace(c) for c in chapters]
    out[0].start, out[-1].end = start, end
    for a, b in pairwise(out):
        a.end = b.start
    return out


def _title_from(text: str, words: int = TITLE_WORDS) -> str:
    """A title from a summary: its first sentence, cut to `words` words. Chinese and Japanese
    have no spaces to split on: there each character counts as half a word."""
    first = FIRST_SENTENCE.split((text or "").strip(), maxsplit=1)[0]
    tokens, kept, used = TOKEN.findall(first), [], 0.0
    for token in tokens:
        used += 0.5 if CJK_CHAR.match(token) else 1.0
        if used > words:
            break
        kept.append(token)
    title = join_words(kept).rstrip(TITLE_TRIM)
    return title + ("…" if title and len(kept) < len(tokens) else "")


# --- merging windows
def _similar(a: Chapter, b: Chapter) -> bool:
    wa, wb = (set(content_words(f"{c.title} {' '.join(c.keywords)}")) for c in (a, b))
    return bool(wa and wb) and len(wa & wb) / len(wa | wb) >= 0.3


def _join(a: Chapter, b: Chapter) -> Chapter:
    keep = a if len(a.summary) >= len(b.summary) else b
    return replace(
        keep,
        start=a.start,
        end=b.end,
        key_points=list(dict.fromkeys(a.key_points + b.key_points))[:MAX_KEY_POINTS],
        keywords=list(dict.fromkeys(a.keywords + b.keywords))[:MAX_KEYWORDS],
    )


def merge_windows(
    parts: Sequence[Sequence[Chapter]], windows: Sequence[tuple[float, float]]
) -> list[Chapter]:
    """One chapter list from overlapping windows: cut at the middle of each overlap and
    join the two chapters that meet there when they are the same topic."""
    merged = [replace(c) for c in parts[0]]
    for ((_, prev_end), (next_start, _)), chapters in zip(
        pairwise(windows), parts[1:], strict=True
    ):
        cut = (next_start + prev_end) / 2
        left = [c for c in merged if c.start < cut - MIN_CHAPTER_S]
        right = [replace(c) for c in chapters if c.end > cut + MIN_CHAPTER_S]
        if not left or not right:
            merged = left + right
            continue
        a, b = left[-1], right[0]
        overlap = min(a.end, b.end) - max(a.start, b.start)
        shorter = min(a.end - a.start, b.end - b.start)
        if _similar(a, b) or overlap >= 0.5 * shorter:
            merged = left[:-1] + [_join(a, b)] + right[1:]
        else:
            a.end, b.start = cut, cut
            merged = left + right
    return close_gaps(merged, windows[0][0], windows[-1][1]) if merged else merged


# --- transcript fallback
def transcript_chapters(
    segments, start: float, end: float, *, embed: Embed | None = None, cues: Cues | None = None
) -> list[Chapter]:
    """Chapters for [start, end] from topic shifts in the transcript, slide titles and scene
    changes (source "transcript", "+"-joined with the other signals used: ocr, scenes, pauses)."""
    parts, used = topic_chapters(_segments(segments), start, end, embed=embed, cues=cues)
    return [Chapter(**part, source="+".join(used)) for part in parts]


def is_transcript_source(source: str) -> bool:
    """True for chapters made without a VLM ("transcript" or "transcript+ocr+scenes"...)."""
    return source.split("+", 1)[0] == TRANSCRIPT_SOURCE


# --- the VLM pass
@dataclass(frozen=True)
class _Request:  # what summarize_video was asked for, before a plan is made
    video: str | Path | None  # path, or None for no picture
    segments: list[Segment]
    duration: float
    width: int | None
    height: int | None
    context: int | None  # caps the backend's window (tokens)
    max_new_tokens: int
    read_frames: Callable | None  # None: vidqa.decode.read_frames
    options: PlanOptions | None
    embed: Embed | None


@dataclass
class _Job:  # what the windows of one summarize_video call share
    backend: VLMBackend | None  # None once it has failed
    video: str | Path | None  # path, or None for no picture
    segments: list[Segment]
    duration: float
    plan: Plan
    prompt_tokens: int  # template + instructions, without transcript and frames
    max_new_tokens: int
    read_frames: Callable
    embed: Embed | None
    notes: list[str]
    cues: Cues | None = None


def _clip(job: _Job, window):
    if not job.plan.n_frames:
        return None
    batch = job.read_frames(
        job.video, job.plan.times(window), size=(job.plan.width, job.plan.height)
    )
    return VideoClip(np.asarray(batch.frames), np.asarray(batch.times, dtype=float))


def _window_transcript(job: _Job, window, clip) -> str:
    """Transcript lines for `window`, thinned when the real count would overflow."""
    lines = transcript_lines(job.segments, *window)
    vision = video_tokens(clip.times, *clip.size, job.plan.mode) if clip is not None else 0
    budget = job.plan.context - job.prompt_tokens - vision - job.plan.output_tokens
    for _ in range(4):
        used = job.backend.count_tokens("\n".join(lines))
        if used <= budget or len(lines) <= 1:
            break
        lines = _thin(lines, budget / used * 0.95)
        job.notes.append(f"{fmt_range(*window)}: transcript thinned to {len(lines)} lines")
    return "\n".join(lines)


def _ask(job: _Job, messages: list[dict], window) -> tuple[list[Chapter], str, str]:
    """Generate, parse and repair; re-ask once on an unusable reply (then ReplyError)."""
    for attempt in range(2):
        reply = job.backend.generate(messages, max_new_tokens=job.max_new_tokens)
        try:
            chapters, summary, assessment = parse_reply(reply, job.backend.source)
            chapters, fixes = repair_chapters(chapters, window)
        except ReplyError as e:
            if attempt:
                raise
            job.notes.append(f"{fmt_range(*window)}: unusable reply ({e}); asked again")
            messages = messages + [
                {"role": "assistant", "content": (reply or "")[:ECHO_CHARS]},
                {"role": "user", "content": REASK_PROMPT.format(error=e)},
            ]
            continue
        job.notes.extend(f"{fmt_range(*window)}: repaired: {fix}" for fix in fixes)
        return chapters, summary, assessment


def _window(job: _Job, window) -> tuple[list[Chapter], str, str]:
    """The VLM's chapters for one window; transcript chapters when it fails (noted)."""
    if job.backend is not None:
        clip = _clip(job, window)
        transcript = _window_transcript(job, window, clip) or "(no speech)"
        try:
            return _ask(job, build_messages(window, job.duration, transcript, clip), window)
        except ReplyError as e:
            job.notes.append(
                f"{fmt_range(*window)}: unusable reply again ({e}); transcript chapters used"
            )
        except (BackendError, ModelNotFound, MissingDependency) as e:
            job.notes.append(
                f"VLM failed at {fmt_range(*window)} ({e}); transcript chapters from here on"
            )
            job.backend = None
    return transcript_chapters(job.segments, *window, embed=job.embed, cues=job.cues), "", ""


def _overall(job: _Job, chapters: list[Chapter], parts: list[tuple[str, str]]) -> tuple[str, str]:
    """Video-level summary and assessment: one text-only pass over the merged chapters."""
    listing = "\n".join(f"[{fmt_range(c.start, c.end)}] {c.title}: {c.summary}" for c in chapters)
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {
            "role": "user",
            "content": MERGE_PROMPT.format(duration=fmt_ts(job.duration), chapters=listing),
        },
    ]
    try:
        data = extract_json(job.backend.generate(messages, max_new_tokens=job.max_new_tokens))
        if isinstance(data, dict) and data.get("summary"):
            return str(data["summary"]).strip(), str(data.get("assessment") or "").strip()
    except (ReplyError, BackendError) as e:
        job.notes.append(f"overall summary: no usable reply ({e}); joined the parts' summaries")
    return " ".join(s for s, _ in parts if s), " ".join(a for _, a in parts if a)


def _run(job: _Job) -> tuple[list[Chapter], str, str]:
    results = [_window(job, window) for window in job.plan.windows]
    chapters = merge_windows([r[0] for r in results], job.plan.windows)
    parts = [r[1:] for r in results if r[1] or r[2]]  # windows the VLM described
    if len(parts) < 2 or job.backend is None:
        return chapters, " ".join(s for s, _ in parts if s), " ".join(a for _, a in parts if a)
    return (chapters, *_overall(job, chapters, parts))


def _make_job(backend, request: _Request, notes: list[str]) -> _Job:
    r = request
    options = replace(r.options or PlanOptions(), mode=backend.input_mode)
    limit = min(backend.context_limit, r.context or math.inf)
    picture = bool(r.video is not None and r.width and r.height)
    probe = build_messages((0.0, r.duration), r.duration, "", "clip" if picture else None)
    prompt_tokens = backend.count_tokens(backend.render_prompt(probe)) - picture
    transcript_tokens = backend.count_tokens("\n".join(transcript_lines(r.segments)))
    try:
        plan = plan_video(
            r.duration,
            r.width if picture else None,
            r.height,
            transcript_tokens,
            limit,
            prompt_tokens=prompt_tokens,
            output_tokens=r.max_new_tokens + REASK_RESERVE,
            options=options,
        )
    except ValueError as e:
        raise ConfigError(str(e)) from e
    return _Job(
        backend,
        r.video,
        r.segments,
        r.duration,
        plan,
        prompt_tokens,
        r.max_new_tokens,
        r.read_frames or _read_frames,
        r.embed,
        notes,
    )


def _read_frames(path, times, *, size):
    return read_frames(path, times, size=size)


def _fallback(segments, duration: float, notes: list[str], embed=None, cues=None) -> VideoSummary:
    chapters = transcript_chapters(segments, 0.0, duration, embed=embed, cues=cues)
    return VideoSummary(
        chapters=chapters,
        summary=overview(segments, 0.0, duration, embed),
        assessment="Not assessed: no vision-language model was used.",
        source=chapters[0].source if chapters else TRANSCRIPT_SOURCE,
        windows=[(0.0, duration)],
        notes=notes,
    )


def summarize_video(
    video,
    transcript,
    *,
    duration: float,
    width: int | None = None,
    height: int | None = None,
    vlm="auto",
    context: int | None = None,
    max_new_tokens: int = 2048,
    plan_options=None,
    read_frames=None,
    embed: Embed | None = None,
    cues: Cues | None = None,
) -> VideoSummary:
    """Chapters, summary and assessment for one video (absolute seconds throughout).

    `vlm`: a VLMBackend, a --vlm spec string, or None. Without a VLM, or when it
    cannot be loaded, chapters come from transcript topic shifts (source
    "transcript"). `context` caps the model's window. `read_frames(path, times,
    size=(w, h))` defaults to vidqa.decode.read_frames; `embed` to text_vectors.
    `cues` (scene changes, OCR slide titles) guide transcript chapters.
    """
    segments, notes = _segments(transcript), []
    try:
        backend = vlm if isinstance(vlm, VLMBackend) or vlm is None else get_vlm(vlm)
        if backend is None:
            return _fallback(segments, duration, ["no VLM: transcript chapters"], embed, cues)
        request = _Request(
            video,
            segments,
            duration,
            width,
            height,
            context,
            max_new_tokens,
            read_frames,
            plan_options,
            embed,
        )
        job = _make_job(backend, request, notes)
    except (BackendError, ModelNotFound, MissingDependency) as e:
        return _fallback(
            segments, duration, [f"VLM unavailable ({e}); transcript chapters"], embed, cues
        )
    notes.extend([backend.notice] if backend.notice else [])
    job.cues = cues
    chapters, summary, assessment = _run(job)
    plan = job.plan
    return VideoSummary(
        chapters=chapters,
        summary=summary,
        assessment=assessment,
        source="+".join(sorted({c.source for c in chapters}, key=is_transcript_source)),
        windows=list(plan.windows),
        notes=notes,
        plan={
            "fps": plan.fps,
            "width": plan.width,
            "height": plan.height,
            "mode": plan.mode,
            "frames_per_window": plan.n_frames,
            "window_tokens": plan.window_tokens,
            "context": plan.context,
        },
    )


# --- outputs
def chapter_spans(summary: VideoSummary, video_id: str) -> list[Span]:
    """One searchable span per chapter (kind "chapter"), text = title + summary + points.

    A chapter with nothing but its title is not indexed: with no transcript it is the
    placeholder "Part 1", which search would quote as the closest passage to anything."""
    return [
        Span(
            video_id=video_id,
            start=c.start,
            end=c.end,
            kind="chapter",
            text=c.text,
            source=c.source,
            extra={
                "title": c.title,
                "summary": c.summary,
                "key_points": c.key_points,
                "keywords": c.keywords,
                "chapter": i,
            },
        )
        for i, c in enumerate(summary.chapters, 1)
        if c.summary or c.key_points or c.keywords
    ]

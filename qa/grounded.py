"""Grounded answers from a VLM: numbered evidence in, validated citations out.

The model sees numbered evidence (transcript spans, chapter summaries, on-screen
text) and frames decoded around those times, all with absolute timestamps. It
must cite [n]. We then validate, sentence by sentence, so a streamed answer is
checked before it is shown:
  * a citation [n] that is not in the evidence is removed;
  * a timestamp that lies in no evidence span is corrected to the span its
    sentence cites, or removed when the sentence cites nothing;
  * "NOT FOUND" becomes "Not mentioned between A and B" with the searched range;
  * an answer that cites nothing at all is not trusted: we fall back to the
    extractive answer and say so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from models.qwen3vl_tokens import centred_times, frame_size, video_tokens
from models.vlm import VideoClip
from qa.citations import Answer, Citation
from qa.citations import AnswerStream as BaseStream
from qa.wording import Lang, say
from vidqa.decode import read_frames
from vidqa.errors import MediaError
from vidqa.timefmt import fmt_range, fmt_ts, parse_clock

TIME_TOLERANCE_S = 2.0  # a timestamp this close to an evidence span counts as inside it
FRAME_FPS = 1.0  # evidence frames per second: denser than ingest sampling
MAX_FRAMES_PER_ITEM = 8
FRAME_TOKENS = 256  # per frame group; higher resolution than ingest's thumbnails
OUTPUT_TOKENS = 1024  # reserved for the answer
NOT_FOUND = "NOT FOUND"

SYSTEM_PROMPT = (
    "You answer questions about videos using only the numbered evidence below: transcript "
    "passages, chapter summaries and on-screen text, each with its video and time range, and "
    "video frames labelled with their absolute time in seconds.\n"
    "Rules: cite every claim with the evidence number in square brackets, e.g. [2]. Mention a "
    "time only if it lies inside the evidence you cite, written as M:SS or H:MM:SS. If the "
    f"evidence does not contain the answer, reply exactly: {NOT_FOUND}. Answer in the language "
    "of the question."
)
REF = re.compile(r"\[(\d+(?:\s*[,，、]\s*\d+)*)\]")
CLOCK = re.compile(r"(?<![\d:])(\d{1,2}:)?\d{1,2}:\d{2}(?![\d:])")
_ONE_CLOCK = r"(?<![\d:])(?:\d{1,2}:)?\d{1,2}:\d{2}(?![\d:])"
# "1:05", or a range "1:05–1:20" / "1:05 to 1:20" (checked and corrected as one)
TIMES = re.compile(rf"({_ONE_CLOCK})(?:\s*(?:[–—-]|to|到|至)\s*({_ONE_CLOCK}))?")
SENTENCE = re.compile(r"(?<=[.!?。！？\n])\s*")


@dataclass
class Validated:
    text: str
    used: list[int] = field(default_factory=list)  # evidence numbers cited, first use first
    notes: list[str] = field(default_factory=list)


def _inside(t: float, item: Citation) -> bool:
    return item.start - TIME_TOLERANCE_S <= t <= item.end + TIME_TOLERANCE_S


_CJK = re.compile(r"[\u3400-\u9fff]")
_EN_TIME_CUE = re.compile(
    r"(?:at|around|near|approximately|roughly)\b|.*\b(?:mark|in|into)$", re.IGNORECASE
)


def _worded_times(text: str) -> list[tuple[int, int, float, float]]:
    """Times written in words that surely mean a moment of the video: Chinese ones, and
    English ones cued as a position ("at 25 minutes", "the 3 minute mark", "25 minutes
    in"); "after 10 minutes of setup" may be a length, so it is left alone. Clocks are
    TIMES' job."""
    from qa.timeparse import find_time_references

    return [
        (s, e, lo, hi)
        for s, e, lo, hi in find_time_references(text)
        if not CLOCK.search(text[s:e]) and (_CJK.search(text[s:e]) or _EN_TIME_CUE.match(text[s:e]))
    ]


class Validator:
    """Checks an answer sentence by sentence against the evidence items (1-based)."""

    def __init__(self, items: list[Citation], lang: Lang = "en"):
        self.items = items
        self.lang = lang  # the notes' language: the question's
        self.used: list[int] = []
        self.notes: list[str] = []

    def _refs(self, sentence: str) -> tuple[str, list[int]]:
        cited: list[int] = []

        def keep(m: re.Match) -> str:
            numbers = [int(n) for n in re.split(r"\s*[,，、]\s*", m.group(1))]
            valid = [n for n in numbers if 1 <= n <= len(self.items)]
            for n in numbers:
                if n not in valid:
                    self.notes.append(say(self.lang, "removed_ref", n=n))
            cited.extend(valid)
            return "".join(f"[{n}]" for n in dict.fromkeys(valid))

        return REF.sub(keep, sentence), cited

    def _holder(self, seconds: list[float], cited: list[int]) -> int | None:
        """The evidence number whose span holds every time, preferring ones already cited."""
        for n in [*cited, *range(1, len(self.items) + 1)]:
            if all(_inside(t, self.items[n - 1]) for t in seconds):
                return n
        return None

    def _times(self, sentence: str, cited: list[int]) -> str:
        """Every time must lie in evidence the sentence cites: a time inside other evidence
        gets that citation added; one inside none is corrected to the sentence's first
        citation, or removed when the sentence cites nothing. `cited` grows in place.

        Clocks ("25:00", "1:05–1:20") first, then times in words ("第25分钟", "25分30秒",
        "at 25 minutes in"), which a model answering in the question's language writes.
        """

        def check(written: str, seconds: list[float]) -> str:
            holder = self._holder(seconds, cited)
            if holder is not None:
                if holder in cited:
                    return written
                cited.append(holder)
                self.notes.append(say(self.lang, "added_ref", n=holder, when=written))
                return f"{written} [{holder}]"
            if cited:
                item = self.items[cited[0] - 1]
                span = fmt_range(item.start, item.end)
                self.notes.append(say(self.lang, "corrected_time", when=written, span=span))
                return fmt_range(item.start, item.end)
            self.notes.append(say(self.lang, "removed_time", when=written))
            return ""

        text = TIMES.sub(
            lambda m: check(m.group(0), [parse_clock(c) for c in m.groups() if c]), sentence
        )
        for start, end, lo, hi in reversed(_worded_times(text)):
            text = text[:start] + check(text[start:end], sorted({lo, hi})) + text[end:]
        return text

    def sentence(self, sentence: str) -> str:
        noted = len(self.notes)
        text, cited = self._refs(sentence)
        text = self._times(text, cited)
        for n in cited:
            if n not in self.used:
                self.used.append(n)
        text = re.sub(r"[ \t]{2,}", " ", text)
        if len(self.notes) > noted:  # something was cut out: no space left before punctuation
            text = re.sub(r"[ \t]+(?=[.,;:!?。，；！？])", "", text)
        return text

    def renumber(self, text: str) -> str:
        """Evidence numbers -> citation numbers (1..k in order of first use)."""
        order = {n: i for i, n in enumerate(self.used, 1)}
        return REF.sub(
            lambda m: "".join(
                f"[{order[int(n)]}]" for n in re.findall(r"\d+", m.group(1)) if int(n) in order
            ),
            text,
        )


def complete_sentences(buffer: str) -> tuple[list[str], str]:
    """Complete sentences in `buffer`, and the unfinished rest."""
    parts = SENTENCE.split(buffer)
    return [p for p in parts[:-1] if p], parts[-1]


def check_all(text: str, validator: Validator) -> str:
    """Every sentence of `text` through `validator` (evidence numbering kept)."""
    sentences, rest = complete_sentences(text)
    return " ".join(validator.sentence(x) for x in [*sentences, rest] if x.strip())


def validate(text: str, items: list[Citation], lang: Lang = "en") -> Validated:
    v = Validator(items, lang)
    checked = check_all(text, v)
    return Validated(v.renumber(checked).strip(), v.used, v.notes)


# --- evidence -> messages -------------------------------------------------------


def evidence_text(items: list[Citation], first: int = 1) -> str:
    return "\n".join(
        f"[{n}] {c.title} {fmt_range(c.start, c.end)} ({c.kind}): {' '.join(c.text.split())}"
        for n, c in enumerate(items, first)
    )


def evidence_frames(items: list[Citation], videos: dict, *, max_tokens: int) -> list:
    """One VideoClip per video: frames around the cited times, at FRAME_FPS, within budget."""
    clips, budget = [], max_tokens
    for video_id in dict.fromkeys(c.video_id for c in items):
        video = videos[video_id]
        if not (video.path and video.has_video and video.width and video.height):
            continue
        times = sorted(
            {round(t, 2) for c in items if c.video_id == video_id for t in _item_times(c)}
        )
        size = frame_size(video.width, video.height, FRAME_TOKENS)
        while times and video_tokens(times, *size) > budget:
            times = times[::2]  # thin evenly rather than drop the last items
        if len(times) < 2:
            continue
        batch = _read(video.path, times, size)
        clips.append(VideoClip(batch.frames, np.asarray(batch.times, dtype=float)))
        budget -= video_tokens(times, *size)
    return clips


def _item_times(item: Citation) -> np.ndarray:
    n = int(min(MAX_FRAMES_PER_ITEM, max(2, (item.end - item.start) * FRAME_FPS)))
    if item.end <= item.start:  # a point citation: every frame at that moment
        return np.full(n, float(item.start))
    return centred_times(item.start, item.end, n)


def _read(path: str, times: list[float], size: tuple[int, int]):
    return read_frames(path, times, size=size)


def answer_messages(question: str, items: list[Citation], clips: list) -> list[dict]:
    content: list[dict] = [{"type": "video", "video": clip} for clip in clips]
    content.append(
        {"type": "text", "text": f"Evidence:\n{evidence_text(items)}\n\nQuestion: {question}"}
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": content}]


def not_found_text(
    items: list[Citation], time_range: tuple[float, float] | None, lang: Lang = "en"
) -> str:
    if time_range is not None:
        start, end = fmt_ts(time_range[0]), fmt_ts(time_range[1])
        return say(lang, "not_between", start=start, end=end)
    if items:
        return say(lang, "passages_do_not", labels=", ".join(c.label for c in items[:3]))
    return say(lang, "library_does_not")


def finish(
    raw: str,
    checked: str,
    validator: Validator,
    items: list[Citation],
    time_range: tuple[float, float] | None,
) -> Answer | None:
    """The final Answer, or None when the model's output cannot be trusted (caller falls back)."""
    if raw.strip().upper().startswith(NOT_FOUND):
        return Answer(not_found_text(items, time_range, validator.lang), "vlm", [])
    if not validator.used:
        return None
    citations = [items[n - 1] for n in validator.used]
    return Answer(validator.renumber(checked).strip(), "vlm", citations, notes=validator.notes)


class AnswerStream(BaseStream):
    """A model's answer, validated sentence by sentence as it streams in."""

    def __init__(
        self,
        pieces: Iterator[str],
        items: list[Citation],
        time_range: tuple[float, float] | None,
        fallback=None,
        lang: Lang = "en",
    ):
        super().__init__()
        self.pieces, self.items, self.time_range = pieces, items, time_range
        self.fallback = fallback  # () -> Answer, used when the model cites nothing
        self.validator = Validator(items, lang)
        self.raw = ""

    def _produce(self) -> Iterator[str]:
        buffer, checked, pending = "", [], []
        for piece in self.pieces:
            self.raw += piece
            buffer += piece
            if self.raw.lstrip().upper().startswith(NOT_FOUND[: len(self.raw.strip())]):
                continue  # hold back what may become NOT FOUND
            sentences, buffer = complete_sentences(buffer)
            for s in sentences:
                checked.append(self.validator.sentence(s).strip())
                pending.append(checked[-1])
                if self.validator.used:  # shown only once the model has cited evidence
                    yield from (self.validator.renumber(p) + " " for p in pending)
                    pending.clear()
        if buffer.strip():
            checked.append(self.validator.sentence(buffer).strip())
            pending.append(checked[-1])
        answer = finish(self.raw, " ".join(checked), self.validator, self.items, self.time_range)
        if answer is not None and answer.citations:
            self._answer = answer
            yield from (self.validator.renumber(p) + " " for p in pending)
        else:
            self._answer = answer or untrusted(self.fallback, self.validator.lang)
            yield self._answer.answer


def untrusted(fallback, lang: Lang = "en") -> Answer:
    """The answer to show instead of one that cites nothing (fallback: () -> Answer, or None)."""
    if fallback is None:
        return Answer(say(lang, "uncited_alone"), "vlm", [])
    answer = fallback()
    answer.notes.append(say(lang, "uncited"))
    return answer


# --- orchestration ---------------------------------------------------------------

FRAME_TOKEN_CAP = 16_384  # frame tokens per answer: more adds latency, rarely facts
MAP_PROMPT = (
    "From this part of the evidence, write short notes that answer the question, each "
    f"citing [n]. If this part has nothing relevant, reply exactly: {NOT_FOUND}"
)
REDUCE_PROMPT = (
    "Combine these notes into one answer. Keep their [n] citations exactly; do not "
    "add facts or times that the notes do not contain."
)


def evidence_items(evidence, library) -> tuple[list[Citation], dict, tuple[float, float] | None]:
    from qa.citations import citations_from_spans

    spans = evidence.cited()
    videos = {i: library.catalog.video(i) for i in {s.video_id for s in spans}}
    items = citations_from_spans(spans, videos, merge=evidence.mode == "time")
    time_range = None
    if evidence.mode == "time" and evidence.time is not None:
        time_range = (
            min(evidence.time.start, items[0].start),
            max(evidence.time.end, items[-1].end),
        )
    return items, videos, time_range


def frames_or_note(items, videos, budget: int, notes: list[str], lang: Lang = "en") -> list:
    try:
        return evidence_frames(items, videos, max_tokens=min(budget, FRAME_TOKEN_CAP))
    except MediaError as e:  # a moved or unreadable file: answer from text, and say so
        notes.append(say(lang, "no_frames", error=e))
        return []


def final_answer(raw: str, items, time_range, fallback, lang: Lang = "en") -> Answer:
    validator = Validator(items, lang)
    answer = finish(raw, check_all(raw, validator), validator, items, time_range)
    return answer if answer is not None else untrusted(fallback, lang)


def _chunks(items: list[Citation], backend, budget: int) -> list[tuple[int, list[Citation]]]:
    """(first evidence number, items) groups whose text fits `budget` tokens."""
    chunks, current, used, first = [], [], 0, 1
    for n, item in enumerate(items, 1):
        cost = backend.count_tokens(evidence_text([item], n)) + 1
        if current and used + cost > budget:
            chunks.append((first, current))
            current, used, first = [], 0, n
        current.append(item)
        used += cost
    if current:
        chunks.append((first, current))
    return chunks


def map_reduce(
    question: str,
    items: list[Citation],
    backend,
    budget: int,
    time_range,
    fallback,
    lang: Lang = "en",
):
    """Whole-video and long-range questions: notes per chunk, then one combined answer."""
    notes = []
    for first, chunk in _chunks(items, backend, budget // 2):
        text = f"Evidence:\n{evidence_text(chunk, first)}\n\nQuestion: {question}"
        raw = backend.generate(
            [
                {"role": "system", "content": SYSTEM_PROMPT + "\n" + MAP_PROMPT},
                {"role": "user", "content": text},
            ],
            max_new_tokens=OUTPUT_TOKENS,
        )
        if not raw.strip().upper().startswith(NOT_FOUND):
            validator = Validator(items)  # numbers are global, so check against all items
            checked = check_all(raw, validator)
            if validator.used:
                notes.append(checked)
    if not notes:
        return Answer(not_found_text(items, time_range, lang), "vlm", [])
    index = "\n".join(
        f"[{n}] {c.title} {fmt_range(c.start, c.end)}" for n, c in enumerate(items, 1)
    )
    text = "Notes:\n" + "\n".join(notes) + f"\n\nEvidence index:\n{index}\n\nQuestion: {question}"
    raw = backend.generate(
        [
            {"role": "system", "content": SYSTEM_PROMPT + "\n" + REDUCE_PROMPT},
            {"role": "user", "content": text},
        ],
        max_new_tokens=OUTPUT_TOKENS,
    )
    return final_answer(raw, items, time_range, fallback, lang)

"""Overlapping transcript windows: a second, coarser granularity for recall.

Sentence spans (~15 s, ingest/spans.py) are what a citation shows; when an answer
runs longer than a span, no single span matches the question well, while a window
of several spans does. Windows are searched, never cited: a window hit is cited as
the sentences inside it that match best (index/moments.py).

Pure functions over `Span`, no I/O.
"""

from __future__ import annotations

from index.records import Span
from vidqa.text import ends_sentence, join_stored_words, join_words

WINDOW_S = 30.0  # window length (s): a few spans, one explanation
WINDOW_HOP_S = WINDOW_S / 2  # half overlap: every moment sits well inside some window (s)
TIME_DECIMALS = 2  # sentence times, rounded to 10 ms as spans store word times

Sentence = tuple[float, float, str]  # start s, end s, text


def sentences_of(span: Span) -> list[Sentence]:
    """The sentences of a transcript span: subtitle cues' sentences, sentences cut from ASR
    word timings at sentence punctuation, or the whole span when it has neither."""
    if span.extra.get("sentences"):
        return _snap([(float(s), float(e), t) for s, e, t in span.extra["sentences"]], span)
    words = span.extra.get("words") or []
    if not words:
        return [(span.start, span.end, span.text)] if span.text.strip() else []
    out, current = [], []
    for word in words:
        current.append(word)
        if ends_sentence(word[2]):
            out.append(_sentence(current))
            current = []
    if current:
        out.append(_sentence(current))
    return _snap(out, span)


def _snap(sentences: list[Sentence], span: Span) -> list[Sentence]:
    """Stored sentence times are rounded to 10 ms: the first and last take the span's exact bounds."""
    slack = 10**-TIME_DECIMALS
    if sentences and abs(sentences[0][0] - span.start) <= slack:
        sentences[0] = (span.start, *sentences[0][1:])
    if sentences and abs(sentences[-1][1] - span.end) <= slack:
        sentences[-1] = (sentences[-1][0], span.end, sentences[-1][2])
    return sentences


def _sentence(words: list) -> Sentence:
    return (
        round(float(words[0][0]), TIME_DECIMALS),
        round(float(words[-1][1]), TIME_DECIMALS),
        join_stored_words(words),
    )


def make_windows(
    spans: list[Span], *, length_s: float = WINDOW_S, hop_s: float = WINDOW_HOP_S
) -> list[Span]:
    """Windows of `length_s` every `hop_s` over a video's transcript spans, built from whole
    sentences (a sentence belongs to the windows its midpoint falls in).

    A window that would hold exactly the sentences of the previous one is skipped, so
    sparse speech does not produce duplicates.
    """
    if not 0 < hop_s <= length_s:
        raise ValueError(
            f"windows need 0 < hop_s <= length_s, got hop_s={hop_s} s, length_s={length_s} s"
        )
    transcript = sorted((s for s in spans if s.kind == "transcript"), key=lambda s: s.start)
    sentences = [(s, span) for span in transcript for s in sentences_of(span)]
    if len(transcript) < 2 or not sentences:
        return []  # one span is already the whole transcript
    windows: list[Span] = []
    first, last = sentences[0][0][0], max(s[1] for s, _ in sentences)
    previous: list[Sentence] = []
    start = first
    while start < last:
        inside = [
            (s, span) for s, span in sentences if start <= (s[0] + s[1]) / 2 < start + length_s
        ]
        chosen = [s for s, _ in inside]
        if chosen and chosen != previous:
            windows.append(_window(chosen, inside[0][1]))
        previous = chosen or previous
        start += hop_s
    return windows


def _window(chosen: list[Sentence], first_span: Span) -> Span:
    return Span(
        video_id=first_span.video_id,
        start=chosen[0][0],
        end=max(s[1] for s in chosen),
        kind="window",
        text=join_words([s[2] for s in chosen]),
        source=first_span.source,
        extra={"sentences": [list(s) for s in chosen]},
    )

"""Does the library say? The decision to answer or to say "Not found in these videos".

Computed from the question and the candidate spans themselves, never from fused search
scores (RRF ranks say which span is best, not whether it is any good):
  * similarity: the best cosine between the question and a candidate span, with the
    library's own text embedder;
  * coverage: the best fraction of the question's content words that one span contains.
A question is answered when similarity + weight * coverage reaches the threshold of the
embedding model in use. Both numbers are calibrated per model (`vidqa eval calibrate`) and
kept in abstain_thresholds.json, keyed by the model's collection slug, so changing the
embedder means running one command.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from index import keyword

TABLE = Path(__file__).with_name("abstain_thresholds.json")
CANDIDATE_SPANS = 5  # spans (in search order) whose similarity is measured
SPAN_CHARS = 1500  # a span's text is cut to this before embedding (the model truncates anyway)
DEFAULT_KEY = "default"  # the table's entry for an uncalibrated model

# Words a question uses to ask, not to name its topic ("how do I ...", "what did he say ...").
ASKING_WORDS = frozenset(
    """tell explain show mean means meaning talk talks talked speaker video
    videos lecture part use using used way ways make makes making need needs know""".split()
)


@dataclass(frozen=True)
class Strength:
    similarity: float  # best cosine of question vs a candidate span (-1..1)
    coverage: float  # best share of the question's content words in one span (0..1)

    def score(self, weight: float) -> float:
        return self.similarity + weight * self.coverage


@dataclass(frozen=True)
class Threshold:
    coverage_weight: float
    threshold: float
    answer_rate: float | None = None  # measured at calibration, on answerable questions
    abstain_rate: float | None = None  # ... and on unanswerable ones
    calibrated_on: str | None = None  # what data, in words

    def answers(self, strength: Strength) -> bool:
        return strength.score(self.coverage_weight) >= self.threshold


def _stem(word: str) -> str:
    """Crude English suffix folding, enough to match "layers" with "layer" or "masking"
    with "mask"; CJK bigrams pass through."""
    if not word.isascii() or len(word) <= 4:
        return word
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


# A code, error number, version or part number: letters and digits in one token, maybe
# joined by - . / _ ("XK-4471", "E404", "v2.3.1", "ISO-9001"). keyword.terms splits it
# into letters and digits; its digits are what tells one code from another.
_CODE = re.compile(
    r"(?<![A-Za-z0-9._/-])(?=[A-Za-z0-9._/-]*[A-Za-z])(?=[A-Za-z0-9._/-]*[0-9])[A-Za-z0-9](?:[A-Za-z0-9._/-]*[A-Za-z0-9])?"
)


def _code_digits(text: str) -> set[str]:
    return {t for code in _CODE.findall(text) for t in keyword.terms(code) if t.isdigit()}


def content_words(text: str) -> set[str]:
    """The words that name a topic; a bare number is not one ("step 2"), but the digits of
    a code are ("XK-4471" is {"xk", "4471"}, so "XK-9999" does not cover it)."""
    words = {
        _stem(t)
        for t in keyword.terms(text)
        if t not in keyword.STOPWORDS
        and t not in ASKING_WORDS
        and (len(t) > 1 or not t.isascii())
        and not t.isdigit()
    }
    return words | _code_digits(text)


def coverage(question_words: set[str], text: str) -> float:
    if not question_words:
        return 0.0
    return len(question_words & content_words(text)) / len(question_words)


def measure(question: str, texts: list[str], embedder) -> Strength:
    """How well the best of `texts` (candidate spans, best first) matches `question`."""
    texts = [t[:SPAN_CHARS] for t in texts[:CANDIDATE_SPANS] if t.strip()]
    if not texts:
        return Strength(-1.0, 0.0)
    vectors = embedder.embed([question, *texts])
    similarity = float(np.max(vectors[1:] @ vectors[0]))
    words = content_words(question)
    return Strength(round(similarity, 4), round(max(coverage(words, t) for t in texts), 4))


@lru_cache(maxsize=1)
def _table(mtime: float) -> dict[str, Threshold]:
    data = json.loads(TABLE.read_text(encoding="utf-8"))
    return {key: Threshold(**value) for key, value in data.items()}


def threshold_for(slug: str) -> tuple[Threshold, bool]:
    """The threshold for embedding model `slug`, and whether it was calibrated for it."""
    table = _table(TABLE.stat().st_mtime)
    if slug in table:
        return table[slug], True
    return table[DEFAULT_KEY], False


def assess(question: str, texts: list[str], library) -> tuple[bool, Strength]:
    """(answer?, strength) for a question and its candidate spans' texts, best first."""
    embedder = library.embedder
    strength = measure(question, texts, embedder)
    threshold, _ = threshold_for(embedder.slug)
    return threshold.answers(strength), strength


def each_answers(question: str, texts: list[str], library) -> list[bool]:
    """Whether each text, on its own, passes the rule (the runners-up of an answer)."""
    embedder = library.embedder
    threshold, _ = threshold_for(embedder.slug)
    return [threshold.answers(measure(question, [text], embedder)) for text in texts]


def confident_hits(query: str, hits: list, library) -> list:
    """Search hits, or [] when even the best of them does not match the query
    ("xylophone submarine" against a geology lecture): the same rule as answers."""
    texts = [h.span.text for h in hits if h.span.kind != "frame" and h.span.text.strip()]
    if not texts:
        return hits  # picture-only hits: nothing to measure text against
    ok, _ = assess(query, texts, library)
    return hits if ok else []


# --- calibration ---------------------------------------------------------------------------

WEIGHTS = tuple(round(w, 2) for w in np.arange(0.0, 1.01, 0.05))


def calibrate(
    answerable: list[Strength],
    unanswerable: list[Strength],
    *,
    target: float = 0.9,
    calibrated_on: str = "",
) -> Threshold:
    """The weight and threshold that best separate the two sets.

    Among rules that answer at least `target` of the answerable questions, the one that
    abstains most; when none does, the one with the best balanced accuracy (the smaller
    of the two rates, then their sum)."""
    best = None
    for weight in WEIGHTS:
        pos = np.array([s.score(weight) for s in answerable])
        neg = np.array([s.score(weight) for s in unanswerable])
        for cut in np.unique(np.concatenate([pos, neg])):
            answer_rate = float(np.mean(pos >= cut))
            abstain_rate = float(np.mean(neg < cut))
            key = (
                answer_rate >= target,
                abstain_rate if answer_rate >= target else 0.0,
                min(answer_rate, abstain_rate),
                answer_rate + abstain_rate,
            )
            if best is None or key > best[0]:
                best = (key, weight, float(cut), answer_rate, abstain_rate)
    _, weight, cut, answer_rate, abstain_rate = best
    return Threshold(
        weight, round(cut, 4), round(answer_rate, 4), round(abstain_rate, 4), calibrated_on or None
    )


def save_threshold(slug: str, threshold: Threshold, path: Path = TABLE) -> Path:
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    data[slug] = asdict(threshold)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    _table.cache_clear()
    return path

"""Does the library say? The decision to answer or to say "Not found in these videos".

Computed from the question and the candidate spans themselves, never from fused search
scores (RRF ranks say which span is best, not whether it is any good):
  * similarity: the best cosine between the question and a candidate span, with MiniLM
    for English and multilingual-e5-small otherwise (`judge`, index/text_model.for_texts),
    whichever model the library searches with;
  * coverage: the best fraction of the question's content words that one span contains.
  * and, read against the library's own word statistics (so a word every video says counts
    little and a rare term counts much): IDF-weighted coverage, the best span's BM25 score
    per question word, the cosine margin between the best and the 5th candidate, whether
    cosine and BM25 pick the same span, the number of content words, and whether the
    question points at the screen or the moment ("what is this?", "what pops up now?").
Two kinds of rule, per embedding model, in abstain_thresholds.json keyed by the model's
collection slug: "cosine_coverage" (similarity + weight * coverage >= threshold; an entry
without a "kind" is one) and "logistic" (a logistic model over the features above; answer
when its probability reaches the cut). `vidqa eval calibrate` fits them (qa/abstain_fit.py).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Literal

import numpy as np

from index import keyword

TABLE = Path(__file__).with_name("abstain_thresholds.json")
CANDIDATE_SPANS = 5  # spans (in search order) whose similarity is measured
SPAN_CHARS = 1500  # a span's text is cut to this before embedding (the model truncates anyway)
DEFAULT_KEY = "default"  # the table's entry for an uncalibrated model

# Words a question uses to ask, not to name its topic ("how do I ...", "what did he say ...").
ASKING_WORDS = frozenset(
    """tell explain show mean means meaning talk talks talked speaker video
    videos lecture part use using used way ways make makes making need needs know
    mention mentions mentioned mentioning discuss discusses discussed discussing
    describe describes described describing""".split()
)


# "How long" / "how many" ask for an amount: the answer says "30 minutes", not "long".
HOW_WORDS = frozenset({"long", "many", "much", "often"})


# Words that point at the screen or the moment rather than name a topic; such a question
# is answered by a timestamp in the video it was asked of, rarely by another video.
DEICTIC_WORDS = frozenset(
    """this that these those here now currently current it screen pops popped appears
    appeared 这个 那个 这里 那里 现在 屏幕""".split()
)
BM25_K1, BM25_B = 1.2, 0.75  # the usual Okapi constants


@dataclass(frozen=True)
class Strength:
    similarity: float  # best cosine of question vs a candidate span (-1..1)
    coverage: float  # best share of the question's content words in one span (0..1)
    idf_coverage: float = 0.0  # ... each word weighted by its IDF in the library (0..1)
    bm25: float = 0.0  # best span's BM25 score, per question content word
    margin: float = 0.0  # best minus 5th candidate's cosine
    agree: float = 0.0  # 1 when the best-cosine span is also the best-BM25 span
    words: float = 0.0  # the question's content words
    deictic: float = 0.0  # 1 when the question points at the screen or the moment

    def score(self, weight: float) -> float:
        return self.similarity + weight * self.coverage

    def vector(self, names: tuple[str, ...]) -> np.ndarray:
        return np.array([getattr(self, n) for n in names], dtype=float)


FEATURES = tuple(f.name for f in fields(Strength))


@dataclass(frozen=True)
class Threshold:
    """Answer when similarity + coverage_weight * coverage >= threshold."""

    coverage_weight: float
    threshold: float
    answer_rate: float | None = None  # measured at calibration, on answerable questions
    abstain_rate: float | None = None  # ... and on unanswerable ones
    calibrated_on: str | None = None  # what data, in words
    kind: Literal["cosine_coverage"] = "cosine_coverage"

    def answers(self, strength: Strength) -> bool:
        return bool(strength.score(self.coverage_weight) >= self.threshold)

    def probability(self, strength: Strength) -> float:
        return strength.score(self.coverage_weight)


@dataclass(frozen=True)
class LogisticRule:
    """Answer when a logistic model's probability (features standardised by mean and
    scale, then coef . x + intercept) reaches `threshold`."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float  # a probability cut
    answer_rate: float | None = None
    abstain_rate: float | None = None
    calibrated_on: str | None = None
    kind: Literal["logistic"] = "logistic"

    def __post_init__(self):
        sizes = {len(self.features), len(self.mean), len(self.scale), len(self.coef)}
        if len(sizes) != 1 or not set(self.features) <= set(FEATURES):
            raise ValueError(f"a logistic rule needs one mean/scale/coef per known feature: {self}")

    def probability(self, strength: Strength) -> float:
        x = (strength.vector(self.features) - np.array(self.mean)) / np.array(self.scale)
        z = float(np.dot(np.array(self.coef), x) + self.intercept)
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def answers(self, strength: Strength) -> bool:
        return self.probability(strength) >= self.threshold


Rule = Threshold | LogisticRule


@lru_cache(maxsize=1 << 16)
def _stem(word: str) -> str:
    """An English word's Snowball (Porter2) stem, so a question's "keys" covers a passage's
    "key", "dictionaries" its "dictionary" and "masking" its "mask", as BM25's stemmer
    matches them; CJK bigrams, codes and numbers pass through."""
    if not (word.isascii() and word.isalpha()):
        return word
    return _english_stemmer().stem(word)


@lru_cache(maxsize=1)
def _english_stemmer():
    from nltk.stem.snowball import EnglishStemmer  # pure Python; nltk is a dependency

    return EnglishStemmer()


# A code, error number, version or part number: letters and digits in one token, maybe
# joined by - . / _ ("XK-4471", "E404", "v2.3.1", "ISO-9001"). keyword.terms splits it
# into letters and digits; its digits are what tells one code from another.
_CODE = re.compile(
    r"(?<![A-Za-z0-9._/-])(?=[A-Za-z0-9._/-]*[A-Za-z])(?=[A-Za-z0-9._/-]*[0-9])[A-Za-z0-9](?:[A-Za-z0-9._/-]*[A-Za-z0-9])?"
)


def _code_digits(text: str) -> set[str]:
    return {t for code in _CODE.findall(text) for t in keyword.terms(code) if t.isdigit()}


# Nouns whose number names one of a series: "step 3" is not "step 1".
NUMBERED = frozenset(
    """step steps slide slides part chapter section lesson page figure exercise question
    item example problem module unit episode level""".split()
)


def content_tokens(text: str) -> list[str]:
    """content_words in order, repeats kept (term frequencies for BM25)."""
    terms = keyword.terms(text)
    words = [
        _stem(t)
        for n, t in enumerate(terms)
        if t not in keyword.STOPWORDS
        and not (t in HOW_WORDS and n and terms[n - 1] == "how")
        and t not in ASKING_WORDS
        and (len(t) > 1 or not t.isascii())
        and not t.isdigit()
    ]
    items = {number for numbers in _numbered(text).values() for number in numbers}
    return words + sorted(_code_digits(text) | items)


def content_words(text: str) -> set[str]:
    """The words that name a topic; a bare number is not one ("2 things"), but the number
    of a step, slide or part is ("step 2" is {"step", "2"}), and so are the digits of a
    code ("XK-4471" is {"xk", "4471"}, so "XK-9999" does not cover it)."""
    return set(content_tokens(text))


def coverage(question_words: set[str], text: str) -> float:
    if not question_words:
        return 0.0
    return len(question_words & content_words(text)) / len(question_words)


@dataclass(frozen=True)
class WordStats:
    """How many transcript spans of a library hold each content word (for IDF and BM25).
    Adds and subtracts, so a library without one video is the whole minus that video."""

    docs: int = 0
    tokens: int = 0
    df: Counter = field(default_factory=Counter)  # word -> spans holding it

    @classmethod
    def of_texts(cls, texts: list[str]) -> WordStats:
        df: Counter = Counter()
        tokens = 0
        for text in texts:
            words = content_tokens(text)
            tokens += len(words)
            df.update(set(words))
        return cls(len(texts), tokens, df)

    def __add__(self, other: WordStats) -> WordStats:
        return WordStats(self.docs + other.docs, self.tokens + other.tokens, self.df + other.df)

    def __sub__(self, other: WordStats) -> WordStats:
        return WordStats(self.docs - other.docs, self.tokens - other.tokens, self.df - other.df)

    def idf(self, word: str) -> float:
        """Okapi IDF kept positive; a word the library never says gets the most."""
        df = self.df.get(word, 0)
        return math.log(1.0 + (self.docs - df + 0.5) / (df + 0.5))

    def weight(self, word: str) -> float:
        """A question word's weight in IDF coverage: its IDF, except a CJK bigram the library
        never holds, which is most often two words' seam ("山是" of "火山是怎么喷发的")."""
        if not word.isascii() and not self.df.get(word):
            return 0.0
        return self.idf(word)

    def bm25(self, query: set[str], text_tokens: list[str]) -> float:
        tf = Counter(text_tokens)
        norm = 1 - BM25_B + BM25_B * len(text_tokens) / max(self.tokens / max(self.docs, 1), 1.0)
        return sum(
            self.idf(w) * tf[w] * (BM25_K1 + 1) / (tf[w] + BM25_K1 * norm) for w in query if tf[w]
        )


def is_deictic(question: str) -> bool:
    return any(t in DEICTIC_WORDS for t in keyword.terms(question))


def features(question: str, texts: list[str], cosines: list[float], stats: WordStats) -> Strength:
    """The strength of the best of `texts` (candidate spans, search order) for `question`,
    given each text's cosine with the question and the library's word statistics."""
    if not texts:
        return Strength(-1.0, 0.0, words=len(content_words(question)))
    words = content_words(question)
    tokens = [content_tokens(t) for t in texts]
    idf_total = sum(stats.weight(w) for w in words) or 1.0
    bm25 = [stats.bm25(words, t) for t in tokens]
    ranked = sorted(cosines, reverse=True)
    values = {
        "similarity": ranked[0],
        "coverage": max(coverage(words, t) for t in texts),
        "idf_coverage": max(sum(stats.weight(w) for w in words & set(t)) for t in tokens)
        / idf_total,
        "bm25": max(bm25) / max(len(words), 1),
        "margin": ranked[0] - ranked[min(4, len(ranked) - 1)],
        "agree": float(int(np.argmax(cosines)) == int(np.argmax(bm25)) and max(bm25) > 0),
        "words": float(len(words)),
        "deictic": float(is_deictic(question)),
    }
    return Strength(**{k: round(float(v), 4) for k, v in values.items()})


def cosines(question: str, texts: list[str], embedder) -> list[float]:
    # The question is embedded as a passage, not as search embeds it (query=True, which e5
    # prefixes "query: "): measured on e5 (bench/README.md, answer/abstain rule), the query
    # form declined fewer unanswerable questions at the same answer rate. MiniLM: the same.
    vectors = embedder.embed([question, *texts])
    return [float(c) for c in vectors[1:] @ vectors[0]]


def candidate_texts(texts: list[str]) -> list[str]:
    return [t[:SPAN_CHARS] for t in texts[:CANDIDATE_SPANS] if t.strip()]


def measure(question: str, texts: list[str], embedder, stats: WordStats | None = None) -> Strength:
    """How well the best of `texts` (candidate spans, best first) matches `question`."""
    texts = candidate_texts(texts)
    sims = cosines(question, texts, embedder) if texts else []
    return features(question, texts, sims, stats or WordStats())


_STATS: dict[tuple, WordStats] = {}


def library_stats(library) -> WordStats:
    """Word statistics of the library's ready transcript spans, kept until a video changes."""
    videos = library.videos()
    key = (
        str(library.cfg.catalog_path),
        tuple((v.id, library.catalog.generation(v.id)) for v in videos),
    )
    if key not in _STATS:
        _STATS.clear()
        texts = [s.text for v in videos for s in library.spans(v.id)]
        _STATS[key] = WordStats.of_texts(texts)
    return _STATS[key]


def _load_rule(value: dict) -> Rule:
    if value.get("kind", "cosine_coverage") == "logistic":
        value = {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}
        return LogisticRule(**value)
    return Threshold(**value)


@lru_cache(maxsize=1)
def _table(mtime: float) -> dict[str, Rule]:
    data = json.loads(TABLE.read_text(encoding="utf-8"))
    return {key: _load_rule(value) for key, value in data.items()}


def threshold_for(slug: str) -> tuple[Rule, bool]:
    """The rule for embedding model `slug`, and whether it was calibrated for it."""
    table = _table(TABLE.stat().st_mtime)
    if slug in table:
        return table[slug], True
    return table[DEFAULT_KEY], False


def judge(question: str, texts: list[str], library):
    """The embedder that compares `question` with `texts`: MiniLM for English, e5 when
    either side is not (index/text_model.for_texts), whichever model the library searches
    with; the library's own when that one is not installed."""
    from index.text_model import for_texts
    from models.text_embed import load_text_embedder
    from vidqa.errors import MissingDependency, ModelNotFound

    name = for_texts(library.cfg, [question], candidate_texts(texts))
    if name == library.embedder.name:  # loaded already; text_model() would read the catalog
        return library.embedder
    try:
        return load_text_embedder(name)
    except (MissingDependency, ModelNotFound):
        return library.embedder


def _stats_for(rule: Rule, library) -> WordStats | None:
    # Word statistics cost a pass over the library once per change: only a rule that
    # reads them pays for them.
    return library_stats(library) if isinstance(rule, LogisticRule) else None


def _measure_for(question: str, texts: list[str], library, embedder, rule: Rule) -> Strength:
    return measure(question, texts, embedder, _stats_for(rule, library))


@dataclass(frozen=True)
class Verdict:
    """Whether a question is answered from its candidates, and how strongly they match."""

    answers: bool
    strength: Strength
    # Of two things asked at once, one found and the other not ("the budget and the pizza
    # oven"): the question asked of each alone ("what did they say about the budget?").
    found: str | None = None
    unfound: str | None = None


def assess(question: str, texts: list[str], library) -> Verdict:
    """The verdict on a question and its candidate spans' texts, best first."""
    embedder = judge(question, texts, library)
    rule, _ = threshold_for(embedder.slug)
    strength = _measure_for(question, texts, library, embedder, rule)
    if rule.answers(strength) or not (parts := conjuncts(question)):
        return Verdict(rule.answers(strength), strength)
    # "the budget and hiring": no one passage holds both; each part is judged on its own
    passed = [rule.answers(_measure_for(part, texts, library, embedder, rule)) for part in parts]
    if all(passed) or not any(passed):
        return Verdict(all(passed), strength)
    found, unfound = parts if passed[0] else reversed(parts)
    return Verdict(True, strength, found, unfound)


# "about volcanoes and glaciers?": two things asked at once, the second running to the end
# of the clause (English; a Chinese 和 is too often inside a word to split on)
_BOTH = re.compile(
    r"(?P<a>[A-Za-z][\w'-]*)\s+(?:and|or)\s+(?P<b>[A-Za-z][\w'-]*(?:\s+[A-Za-z][\w'-]*){0,2}?)"
    r"(?=\s*(?:[?.!,;]|$))",
    re.IGNORECASE,
)


def conjuncts(question: str) -> list[str]:
    """The question asked of each of two things it joins: "what did he say about volcanoes
    and glaciers?" -> "... about volcanoes?", "... about glaciers?"; [] when it joins none."""
    m = _BOTH.search(question)
    if m is None or not (content_words(m["a"]) and content_words(m["b"])):
        return []
    return [
        question[: m.end("a")] + question[m.end("b") :],
        question[: _phrase_start(question, m.start("a"))] + question[m.start("b") :],
    ]


_WORD_BEFORE = re.compile(r"([A-Za-z][\w'-]*)\s+$")
_DETERMINERS = frozenset("the a an this that these those his her their our my your its".split())


def _phrase_start(question: str, start: int) -> int:
    """Where the first thing of two begins, its last word at `start`: up to two more words
    said of it ("the pizza oven", "gradient descent"), and its article."""
    for _ in range(2):
        word = _WORD_BEFORE.search(question[:start])
        if word is None or not content_words(word[1]):
            break
        start = word.start(1)
    word = _WORD_BEFORE.search(question[:start])
    return word.start(1) if word is not None and word[1].lower() in _DETERMINERS else start


def each_answers(question: str, texts: list[str], library) -> list[bool]:
    """Whether each text, on its own, passes the rule (the runners-up of an answer, the
    results of a search) for the question or for one of two things it asks about at once,
    or holds every word of a question of two or more; the question and the texts are
    embedded in one batch."""
    texts = [t[:SPAN_CHARS] for t in texts]
    if not texts:
        return []
    embedder = judge(question, texts, library)
    rule, _ = threshold_for(embedder.slug)
    stats = _stats_for(rule, library) or WordStats()
    asked = [question, *conjuncts(question)]
    vectors = embedder.embed([*asked, *texts])
    numbered = _numbered(question)
    passes = [False] * len(texts)
    for n, part in enumerate(asked):
        sims = [float(c) for c in vectors[len(asked) :] @ vectors[n]]
        for i, (t, c) in enumerate(zip(texts, sims, strict=True)):
            s = features(part, [t], [c], stats)
            passes[i] |= rule.answers(s) or _says_every_word(s)
    return [ok and not _other_number(numbered, t) for t, ok in zip(texts, passes, strict=True)]


def _numbered(text: str) -> dict[str, set[str]]:
    """The numbered items `text` names: "step 3 and slide 12" -> {"step": {"3"}, "slide": {"12"}}."""
    terms = keyword.terms(text)
    out: dict[str, set[str]] = {}
    for noun, number in pairwise(terms):
        if noun in NUMBERED and number.isdigit():
            out.setdefault(_stem(noun), set()).add(number)
    return out


def _other_number(asked: dict[str, set[str]], text: str) -> bool:
    """`text` names another of the items the question asks for by number: "STEP 1" for
    "what is step 3?" (it shares the word "step", and reads as close)."""
    said = _numbered(text)
    return any(noun in said and not (said[noun] & numbers) for noun, numbers in asked.items())


def _says_every_word(strength: Strength) -> bool:
    # MiniLM puts "what did Tom suggest?" at cosine 0.14 to "Tom suggested we move the batch
    # jobs to spot instances" (0.37 to "…Tom owns the cost plan"): a runner-up holding every
    # word the question names is listed, whatever the cosine. Not used for the decision.
    return strength.coverage >= 1.0 and strength.words >= 2


def confident_hits(query: str, hits: list, library) -> list:
    """The search hits that match the query: [] when even the best does not ("xylophone
    submarine" against a geology lecture), else the best and those that pass the same rule
    on their own, so a search for "append" lists the sentence that says it, not nine
    unrelated ones after it. Picture-only hits (CLIP) have no text to judge and stay."""
    judged = [h for h in hits if h.span.kind != "frame" and h.span.text.strip()]
    if not judged:
        return hits
    texts = [h.span.text for h in judged]
    if not assess(query, texts, library).answers:
        return []
    dropped = {
        id(h)
        for h, passes in zip(judged[1:], each_answers(query, texts[1:], library), strict=True)
        if not passes
    }  # the best match passed as the whole
    return [h for h in hits if id(h) not in dropped]


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


def save_threshold(slug: str, threshold: Rule, path: Path = TABLE) -> Path:
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    data[slug] = asdict(threshold)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    _table.cache_clear()
    return path

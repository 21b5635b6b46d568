"""Chapters without a VLM: topic shifts in the transcript, extractive texts.

Where chapters begin is ingest/segment.py (change points in sentence embeddings,
slide titles, scene changes, pauses). Here each chapter gets its texts: the
slide title on screen when it starts, else its key phrases (KeyBERT-style: the
candidate phrases whose embeddings are closest to the chapter's, kept diverse
by maximal marginal relevance), never its first sentence; the summary is its
most central sentences, in the order spoken. Nothing assumes spaces between
words: Chinese is cut into words by jieba and joined with vidqa.text.join_words.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import pairwise

import numpy as np

from index.text_model import for_texts
from ingest.segment import Cues, Sentence, find_boundaries, sentence_titles, sentences_from
from models import text_embed
from vidqa.errors import MissingDependency, ModelNotFound
from vidqa.settings import settings
from vidqa.text import CJK, CJK_CHAR, join_words
from vidqa.vectors import central, unit_rows

SUMMARY_SENTENCES = 2  # most central sentences in a chapter's summary
KEY_POINTS = 3  # the next most central become key points
OVERVIEW_SENTENCES = 4  # in the video's summary
MAX_CANDIDATES = 60  # key-phrase candidates embedded per chapter (the most frequent)
MMR_DIVERSITY = 0.5  # 0: the phrases closest to the chapter; 1: the most different ones
TITLE_PHRASES = 2  # key phrases joined into a title
TITLE_LOOKAHEAD_S = 15.0  # s: a slide title appearing this soon after a chapter starts titles it
JOINED_TITLE_CHARS = 60  # a chapter over several slides is titled by all of them up to this long
JOINED_TITLE_SLIDES = 3  # ... and this many; beyond that, by its key phrases
ENUMERATOR = (
    "step|part|chapter|lesson|lecture|section|module|unit|week|day|topic|slide|"
    "session|stage|phase|level|exercise|example|question|task|problem|figure|table"
)
ROMAN = re.compile(r"[IVX]{2,}")  # II, IV, XII: numerals that stay in capitals
SMALL_WORDS = set(
    "a an and as at but by for from in into nor of on or per the to vs via with".split()
)
CLAUSE = re.compile(r"[,;:.!?()\[\]\"“”。，、；：！？（）「」]+")
TOKEN = re.compile(f"[{CJK}]|[^\\s{CJK}]+")  # spaced words, and CJK characters one by one
RUN = re.compile(f"[{CJK}]+|[^\\s{CJK}]+")  # a run of Chinese, or one spaced word
CJK_PHRASE_CHARS = 6  # longest Chinese key phrase: a title is two of them
HASH_DIM = 1024  # buckets of the word-overlap fallback vectors
STOP = set(
    """about above after again all also and any are because been before being below between
both but can could did does doing down during each few for from further had has have having her here
hers him his how into its itself just let like more most nor not now off once only other our out
over own same she should some such than that the their them then there these they this those through
too under until very was were what when where which while who whom why will with would you your
yours okay yeah going gonna really right well thing things get got know see say said one two""".split()
)

Embed = Callable[[list[str]], np.ndarray]


@lru_cache(maxsize=1)
def stopwords() -> tuple[str, ...]:
    """English stop words: ours plus scikit-learn's list (nltk's corpus is not downloadable
    offline; scikit-learn comes with sentence-transformers)."""
    try:
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
    except ModuleNotFoundError:
        return tuple(sorted(STOP))
    return tuple(sorted(STOP | set(ENGLISH_STOP_WORDS)))


def content_words(text: str) -> list[str]:
    """Lower-case words of 3+ characters that are not stop words."""
    return [w for w in re.findall(r"[a-z0-9']+", text.lower()) if len(w) > 2 and w not in STOP]


def hashed_vectors(texts: list[str], dim: int = HASH_DIM) -> np.ndarray:
    """Bag-of-words vectors (hashed, L2-normalised): word-overlap similarity, no model."""
    out = np.zeros((len(texts), dim), np.float32)
    for i, text in enumerate(texts):
        for word in content_words(text):
            out[i, zlib.crc32(word.encode()) % dim] += 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1, norms)


def text_vectors(texts: list[str]) -> np.ndarray:
    """Sentence embeddings (models.text_embed); word overlap when no embedder is installed."""
    try:
        return text_embed.load_text_embedder(for_texts(settings(), texts)).embed(texts)
    except (ModelNotFound, MissingDependency):
        return hashed_vectors(texts)


# --- key phrases (KeyBERT-style: candidates embedded and ranked by closeness to the chapter)


def _tokens(text: str) -> list[str]:
    """Words: split at spaces, and Chinese runs cut into words by jieba (no spaces to split
    on there; character n-grams made titles like "一万多公" out of 一万多公里)."""
    out = []
    for run in RUN.findall(text):
        out.extend(_chinese_words(run) if CJK_CHAR.match(run) else [run])
    return out


def _chinese_words(run: str) -> list[str]:
    return [w for w in _jieba().lcut(run) if w.strip()]


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)  # not "Building prefix dict..." on every ingest
    return jieba


def candidates(sentences: Sequence[str], limit: int = MAX_CANDIDATES) -> list[str]:
    """The most frequent 1-3 word phrases that neither start nor end with a stop word (in
    Chinese: a one-character word such as 的 or 是), within sentences and never across
    punctuation; Chinese phrases are 2-6 characters."""
    stop, counts = set(stopwords()), Counter()
    for sentence in sentences:
        for clause in CLAUSE.split(sentence):
            tokens = _tokens(clause)
            for n in (1, 2, 3):
                for i in range(len(tokens) - n + 1):
                    gram = tokens[i : i + n]
                    cjk = all(CJK_CHAR.match(t) for t in gram)
                    if _good_gram(gram, cjk, stop):
                        counts[join_words(gram)] += 1
    ranked = sorted(counts, key=lambda g: (-counts[g] * len(g) ** 0.5, g))
    return ranked[:limit]


def _good_gram(gram: list[str], cjk: bool, stop: set[str]) -> bool:
    if cjk:
        return len(gram[0]) > 1 and len(gram[-1]) > 1 and len("".join(gram)) <= CJK_PHRASE_CHARS
    if len(gram) > 3 or any(CJK_CHAR.match(t) for t in gram):
        return False
    edges = (gram[0].lower(), gram[-1].lower())
    return all(len(e) > 2 and e not in stop and not e.isdigit() for e in edges) and all(
        re.fullmatch(r"[\w'-]+", t) for t in gram
    )


def key_phrases(
    sentences: Sequence[str],
    centre: np.ndarray,
    embed: Embed,
    k: int = 6,
    diversity: float = MMR_DIVERSITY,
) -> list[str]:
    """Up to `k` phrases closest to the chapter's centre, kept apart by maximal marginal
    relevance (KeyBERT's method) so they do not all say the same thing."""
    found = candidates(sentences)
    if not found:
        return []
    vectors = unit_rows(np.asarray(embed(found), np.float64))
    relevance = vectors @ unit_rows(centre)
    chosen = [int(np.argmax(relevance))]
    while len(chosen) < min(k, len(found)):
        redundancy = (vectors @ vectors[chosen].T).max(axis=1)
        mmr = (1 - diversity) * relevance - diversity * redundancy
        mmr[chosen] = -np.inf
        chosen.append(int(np.argmax(mmr)))
    return [found[i] for i in chosen]


def phrase_title(phrases: Sequence[str]) -> str:
    """'Layer masks, blend modes' from the two best phrases (one when they overlap)."""
    picked: list[str] = []
    for phrase in phrases:
        words = set(phrase.lower().split())
        if all(
            not (words & set(p.lower().split())) and phrase not in p and p not in phrase
            for p in picked
        ):
            picked.append(phrase)
        if len(picked) == TITLE_PHRASES:
            break
    chinese = all(CJK_CHAR.match(p) for p in picked)
    title = ("、" if chinese else ", ").join(picked)  # 光合作用、叶绿体
    return title[:1].upper() + title[1:]


# --- summaries: the most central sentences, in order


def describe(
    sentences: Sequence[Sentence],
    vectors: np.ndarray,
    embed: Embed,
    start: float,
    end: float,
    title: str = "",
) -> dict:
    """Chapter fields for [start, end]: title (the slide's when given, else key phrases),
    summary (its most central sentences, in order), key points, keywords."""
    texts = [s.text for s in sentences]
    picks = central(vectors, SUMMARY_SENTENCES + KEY_POINTS)
    summary_picks = central(vectors[picks], SUMMARY_SENTENCES) if picks else []
    summary = [picks[i] for i in summary_picks]
    phrases = key_phrases(texts, vectors.mean(axis=0), embed) if texts else []
    return {
        "start": float(start),
        "end": float(end),
        "title": title or phrase_title(phrases),
        "summary": join_words([texts[i] for i in summary]),
        "key_points": [texts[i] for i in picks if i not in summary],
        "keywords": phrases,
    }


def slide_title(
    titles: Sequence[tuple[float, float, str]], start: float, end: float, taken: set[str]
) -> str:
    """The slide title on screen when a chapter starts (up to TITLE_LOOKAHEAD_S into it),
    unless an earlier chapter already used it (then it titles a deck, not this part)."""
    for t0, t1, title in sorted(titles):
        if t1 > start and t0 <= min(start + TITLE_LOOKAHEAD_S, end) and title not in taken:
            return title
    return ""


def chapter_title(shown: Sequence[str], spoken: str, taken: set[str]) -> str:
    """The title from the slides a chapter's sentences were spoken under, as a person would
    write it: one slide's title, or all of them joined when few and short; "" when that is
    a title an earlier chapter already has, or too long (then key phrases title it)."""
    titles = list(dict.fromkeys(readable_title(t, spoken) for t in shown))
    if len(titles) == 1:
        return "" if titles[0] in taken else titles[0]
    joined = " · ".join(titles)
    return (
        joined if len(titles) <= JOINED_TITLE_SLIDES and len(joined) <= JOINED_TITLE_CHARS else ""
    )


def readable_title(title: str, spoken: str = "") -> str:
    """OCR's slide title as a person would type it: 'STEP3 FRENCHREVOLUTION' said over
    "...the French Revolution..." -> 'Step 3: French Revolution'. Words glued by OCR are
    split where the talk says both halves; all-caps is recased, except words the talk
    itself writes in capitals (DNA); 'Step 1 X' gets its colon. Mixed case is kept."""
    heard = [w.lower() for w in re.findall(r"[^\W\d_]+", spoken)]
    said = set(heard) | {f"{a} {b}" for a, b in pairwise(heard)}  # words and pairs in a row
    capitals = set(re.findall(r"\b[A-Z]{2,}\b", spoken))
    title = re.sub(f"(?i)\\b({ENUMERATOR})(?=\\d)", r"\1 ", " ".join(title.split()))
    title = " ".join(_unglue(word, said) for word in title.split())
    title = re.sub(f"(?i)^({ENUMERATOR}) (\\d+[a-z]?|[ivx]+) (?=\\w)", r"\1 \2: ", title)
    if title.upper() != title or not re.search(r"[^\W\d_]{2}", title):
        return title  # mixed case (the author's), or nothing to recase
    words = title.split()
    return " ".join(
        _recase(w, i == 0 or words[i - 1].endswith(":"), capitals) for i, w in enumerate(words)
    )


def _recase(word: str, first: bool, capitals: set[str]) -> str:
    bare = word.strip(":,.;!?()")
    if bare in capitals or ROMAN.fullmatch(bare):
        return word  # an acronym the talk writes in capitals too (DNA), or a numeral (II)
    if not first and bare.lower() in SMALL_WORDS:
        return word.lower()
    return word[:1] + word[1:].lower()


def _unglue(word: str, said: set[str]) -> str:
    """'FRENCHREVOLUTION' -> 'FRENCH REVOLUTION' when the talk says "French revolution"
    (the two words in a row: one word that merely contains two spoken ones stays whole)."""
    low = word.lower()
    if not low.isalpha() or low in said or len(low) < 6:
        return word
    for cut in range(3, len(low) - 2):
        if f"{low[:cut]} {low[cut:]}" in said:
            return f"{word[:cut]} {word[cut:]}"
    return word


def topic_chapters(
    segments, start: float, end: float, *, embed: Embed | None = None, cues: Cues | None = None
) -> tuple[list[dict], list[str]]:
    """(chapter dicts: start, end, title, summary, key_points, keywords; the signals used)."""
    embed = embed or text_vectors
    found = sentences_from(segments, start, end)
    if not found:
        return [
            {
                "start": float(start),
                "end": float(end),
                "title": "Part 1",
                "summary": "",
                "key_points": [],
                "keywords": [],
            }
        ], ["transcript"]
    vectors = np.asarray(embed([s.text for s in found]))
    cuts, used = find_boundaries(found, vectors, (start, end), cues)
    edges = [0, *cuts, len(found)]
    times = [float(start), *(found[i].start for i in cuts), float(end)]
    shown = sentence_titles(found, cues.titles) if cues else [""] * len(found)
    chapters, taken = [], set()
    for (a, b), (t0, t1) in zip(pairwise(edges), pairwise(times), strict=True):
        spoken = join_words([s.text for s in found[a:b]])
        titles = [t for t in shown[a:b] if t] or [
            slide_title(cues.titles, t0, t1, taken) if cues else ""
        ]
        title = chapter_title(titles, spoken, taken) if any(titles) else ""
        taken.add(title)
        chapters.append(describe(found[a:b], vectors[a:b], embed, t0, t1, title))
    for i, chapter in enumerate(chapters, 1):
        chapter["title"] = chapter["title"] or f"Part {i}"
    return chapters, used


def overview(segments, start: float, end: float, embed: Embed | None = None) -> str:
    """A few of the video's most central sentences, in order (the summary without a VLM)."""
    found = sentences_from(segments, start, end)
    if not found:
        return ""
    vectors = np.asarray((embed or text_vectors)([s.text for s in found]))
    return join_words([found[i].text for i in central(vectors, OVERVIEW_SENTENCES)])

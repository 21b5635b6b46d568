"""Keyword terms for BM25 (SQLite FTS5 with the porter stemmer does the ranking).

FTS5's unicode61 tokenizer treats a run of CJK characters as one token, so Chinese
text is pre-split into overlapping character bigrams (the CJK analyzers of Lucene
do the same). Measured on tests/zh_library.py (25 topics): a Chinese keyword finds
its span first for 25/25 with bigrams, 24/25 with jieba words, 13/25 with FTS5's
trigram tokenizer (a two-character word, the commonest kind, has no trigram).
Latin words inside Chinese text ("在Photoshop里") are cut from the CJK around them;
OCR output often glues words to numbers ("STEP3"), so letters and digits are split apart.
"""

from __future__ import annotations

import re

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
# A CJK run, or a run of other letters/digits: \w alone would glue "Photoshop里" together.
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+", re.UNICODE)
_CJK_RUN = re.compile(rf"^[{_CJK}]+$")
_LETTER_DIGIT = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")

# Common function words carry no topic; dropping them from queries keeps BM25's
# OR-query from matching every span on "the"/"how"/"what".
STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does doing for from had has have how
    i if in into is it its just me my no not of on or our so than that the their them then there
    these they this those to too up us was we were what when where which who whom why will with
    would you your yours he she him her his hers about after again all also am any because before
    being between both during each few further here more most other out over own same should some
    such through under until very while once only off below above down again let lets okay ok
    going get got gonna want like go see say said thing things one im youre dont thats weve ive""".split()
)


def _bigrams(run: str) -> list[str]:
    return [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]


def terms(text: str) -> list[str]:
    """Lower-cased index terms of `text`, CJK as bigrams, letters split from digits."""
    out: list[str] = []
    for token in _TOKEN.findall(_LETTER_DIGIT.sub(" ", text.lower())):
        if _CJK_RUN.match(token):
            out.extend(_bigrams(token))
        else:
            out.extend(token.split())
    return out


def document(text: str) -> str:
    """What goes into the FTS5 column for a span."""
    return " ".join(terms(text))


def match_query(text: str) -> str | None:
    """An FTS5 MATCH expression: the query's content terms OR-ed, each quoted."""
    seen: dict[str, None] = {}
    for term in terms(text):
        # One letter is noise; one digit is what tells "step 3" from the other steps.
        if term not in STOPWORDS and (len(term) > 1 or not term.isascii() or term.isdigit()):
            seen.setdefault(term)
    if not seen:
        return None
    return " OR ".join(f'"{t}"' for t in seen)

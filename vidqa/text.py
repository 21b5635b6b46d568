"""Text rules shared by ingest (building spans) and qa (quoting them): CJK-aware joins, sentence ends."""

from __future__ import annotations

import re

SENTENCE_END = re.compile(r"[.!?…。！？]+[\"'”’)\]」』）]*$")
CJK = "\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uff00-\uffef"
CJK_CHAR = re.compile(f"[{CJK}]")


def spaced_by_rule(before: str, token: str) -> bool:
    """Whether words are spaced when nothing says how the source spaced them: yes, except
    next to CJK characters/punctuation."""
    return not (CJK_CHAR.match(before[-1]) or CJK_CHAR.match(token[0]))


def join_words(tokens: list[str], spaces: list[bool | None] | None = None) -> str:
    """Join words as the source spaced them: `spaces[i]` says whether whitespace preceded
    token i ("在 Photoshop 里" keeps its spaces; Whisper's Chinese "Photo"+"shop" stays one
    word); where that is unknown (None), spaces go between words except next to CJK."""
    out = ""
    for n, token in enumerate(tokens):
        space = spaces[n] if spaces is not None else None
        if out and (space if space is not None else spaced_by_rule(out, token)):
            out += " "
        out += token
    return out


def join_stored_words(words: list) -> str:
    """The text of stored word entries [start, end, text] or [start, end, text, space]: the
    fourth item is written only where the source's spacing differs from the rule."""
    return join_words([w[2] for w in words], [w[3] if len(w) > 3 else None for w in words])


def ends_sentence(text: str) -> bool:
    return bool(SENTENCE_END.search(text.strip()))


def collection_slug(model_name: str) -> str:
    """A model name as Chroma allows it in a collection name ([a-zA-Z0-9._-], bounded length)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", model_name).strip("-.")[:48] or "model"


_UNSAFE_NAME_CHARS = re.compile(r"[^\w.\-]+")


def safe_stem(text: str) -> str:
    """`text` as a file name stem: runs of anything but letters, digits, '.', '_' and '-'
    become '_', and dots and dashes at the ends go ("../x y" -> "x_y")."""
    return _UNSAFE_NAME_CHARS.sub("_", text).strip("._-")

"""Text rules shared by ingest (building spans) and qa (quoting them): CJK-aware joins, sentence ends."""

from __future__ import annotations

import re

SENTENCE_END = re.compile(r"[.!?…。！？]+[\"'”’)\]」』）]*$")
CJK = "\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uff00-\uffef"
CJK_CHAR = re.compile(f"[{CJK}]")


def join_words(tokens: list[str]) -> str:
    """Join with spaces, except between CJK characters/punctuation (no spaces there)."""
    out = ""
    for token in tokens:
        if out and not (CJK_CHAR.match(out[-1]) or CJK_CHAR.match(token[0])):
            out += " "
        out += token
    return out


def ends_sentence(text: str) -> bool:
    return bool(SENTENCE_END.search(text.strip()))


def collection_slug(model_name: str) -> str:
    """A model name as Chroma allows it in a collection name ([a-zA-Z0-9._-], bounded length)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", model_name).strip("-.")[:48] or "model"

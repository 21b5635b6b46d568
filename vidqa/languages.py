"""Language tags as containers, subtitle names and users write them, reduced to one code."""

from __future__ import annotations

import re

# ISO 639-2 codes that containers store, mapped to the 639-1 codes users type.
ISO639_2 = {
    "eng": "en",
    "fre": "fr",
    "fra": "fr",
    "ger": "de",
    "deu": "de",
    "spa": "es",
    "ita": "it",
    "por": "pt",
    "rus": "ru",
    "jpn": "ja",
    "chi": "zh",
    "zho": "zh",
    "kor": "ko",
    "ara": "ar",
    "hin": "hi",
    "dut": "nl",
    "nld": "nl",
    "swe": "sv",
    "pol": "pl",
    "tur": "tr",
    "ukr": "uk",
}


def primary_language(tag: str | None) -> str | None:
    """'en-US' -> 'en', 'eng' -> 'en', 'zh_CN' -> 'zh'; None stays None."""
    if not tag:
        return None
    primary = re.split(r"[-_]", tag.strip().lower())[0]
    return ISO639_2.get(primary, primary) or None

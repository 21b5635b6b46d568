"""Which text embedder a library searches with, and which one judges text whose vectors are
not stored.

Search: multilingual-e5-small for every new library, English or not (it ranks English
better than MiniLM, bench/README.md sixth round, and reads every language vidqa
transcribes). The catalog records the model with the library's first video, so a change of
the default never reads a library's vectors with another model. A library built by an
earlier vidqa, when MiniLM was the default, gets MiniLM recorded (migration 006) and keeps
it until its first non-English video, which switches it whole: the text already indexed is
embedded again, once, into the multilingual collection, and the catalog records the switch
in the same transaction that points the videos at that collection (the MiniLM collection is
left as it was until then, so a crash mid-switch leaves the library searchable as before).

Why one search model per library rather than one per video: a query is then embedded once
and searched in one collection, scores from one model are fused, and nothing mixes vectors
of two models.

Judging (`for_texts`): English text is compared with MiniLM, other text with e5, whatever
the library searches with. Chapter topic shifts and the "Not found" rule were tuned on
MiniLM's cosines for English, and its "Not found" cut carried over to other English lectures
better than e5's (bench/README.md); e5's cosines of English and Chinese text sit on
different scales, so each language keeps the model its cut was fitted on.

VIDQA_EMBED_MODEL, when set, is always used as given, for search and judging alike.
"""

from __future__ import annotations

from models.text_embed import MULTILINGUAL_MODEL
from vidqa.settings import DEFAULT_EMBED_MODEL, ENGLISH_EMBED_MODEL, Settings

TEXT_MODEL_KEY = "text_model"  # the catalog's library table: the model chosen automatically
NON_ASCII_LETTERS = 0.3  # above this share of letters outside ASCII, text is not English
ENGLISH_TAGS = {"en", "eng"}
UNKNOWN_TAGS = {"", "und", "mul", "zxx", "mis", "unknown", "none"}
TEXT_KINDS = ("transcript", "chapter", "ocr")


def automatic(cfg: Settings) -> bool:
    """True when the user left the text model to vidqa (VIDQA_EMBED_MODEL unset)."""
    return not cfg.embed_model_set and cfg.embed_model == DEFAULT_EMBED_MODEL


def chosen(cfg: Settings, catalog) -> str:
    """The library's text model: the configured one, or the one its catalog records (set by
    its first video, a switch, or migration 006 for a library from before)."""
    if not automatic(cfg):
        return cfg.embed_model
    return catalog.library_value(TEXT_MODEL_KEY) or cfg.embed_model


def outdated(cfg: Settings, catalog) -> str | None:
    """The model a library searches with when it is an earlier default that `vidqa reindex`
    would replace (MiniLM, recorded by migration 006), else None."""
    model = chosen(cfg, catalog)
    return model if automatic(cfg) and model == ENGLISH_EMBED_MODEL else None


def record(cfg: Settings, catalog) -> None:
    """Write down the model a library's first video is embedded with, so a later change of
    the default never reads its vectors with another model."""
    if automatic(cfg) and catalog.library_value(TEXT_MODEL_KEY) is None:
        catalog.set_library_value(TEXT_MODEL_KEY, cfg.embed_model)


def multilingual_model() -> str:
    return MULTILINGUAL_MODEL


def wanted(cfg: Settings, catalog, video, spans) -> str | None:
    """The model to switch the library to before adding `video`, or None to keep it."""
    target = multilingual_model()
    if not automatic(cfg) or chosen(cfg, catalog) == target or not non_english(video, spans):
        return None
    return target


def non_english(video, spans) -> bool:
    """From the video's language tag when it names one, else from its text: mostly letters
    outside ASCII (Chinese, Japanese, Russian, Arabic, ...) is not English."""
    tag = (video.language or "").lower().replace("_", "-").split("-")[0]
    if tag in ENGLISH_TAGS:
        return False
    if tag not in UNKNOWN_TAGS:
        return True
    return non_english_text([s.text for s in spans if s.kind in TEXT_KINDS])


def non_english_text(texts: list[str]) -> bool:
    letters = [c for text in texts for c in text if c.isalpha()]
    return (
        bool(letters) and sum(not c.isascii() for c in letters) / len(letters) > NON_ASCII_LETTERS
    )


def for_texts(cfg: Settings, *groups: list[str]) -> str:
    """The model that judges these texts (vectors not stored: chapter topic shifts, "Not
    found"): e5 when any group is not English, else MiniLM; VIDQA_EMBED_MODEL when set."""
    if not automatic(cfg):
        return cfg.embed_model
    if any(non_english_text(texts) for texts in groups):
        return multilingual_model()
    return ENGLISH_EMBED_MODEL

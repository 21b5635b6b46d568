"""Which text embedder a library uses: English MiniLM until the library holds non-English
text, then the multilingual model for all of it.

Why one model per library rather than one per video: a query is then embedded once and
searched in one collection, scores from one model are fused and compared with one
abstention threshold, and nothing mixes vectors of two models. The multilingual model
(multilingual-e5-small) reads English too, so the first non-English video switches the
whole library: the text already indexed is embedded again, once, into the multilingual
collection, and the catalog records the switch in the same transaction that points the
videos at that collection (the MiniLM collection is left as it was until then, so a
crash mid-switch leaves the library searchable as before).

VIDQA_EMBED_MODEL, when set, is always used as given: no automatic choice.
"""

from __future__ import annotations

from models.text_embed import MULTILINGUAL_MODEL
from vidqa.settings import DEFAULT_EMBED_MODEL, Settings

TEXT_MODEL_KEY = "text_model"  # the catalog's library table: the model chosen automatically
NON_ASCII_LETTERS = 0.3  # above this share of letters outside ASCII, text is not English
ENGLISH_TAGS = {"en", "eng"}
UNKNOWN_TAGS = {"", "und", "mul", "zxx", "mis", "unknown", "none"}
TEXT_KINDS = ("transcript", "chapter", "ocr")


def automatic(cfg: Settings) -> bool:
    """True when the user left the text model to vidqa (VIDQA_EMBED_MODEL unset)."""
    return not cfg.embed_model_set and cfg.embed_model == DEFAULT_EMBED_MODEL


def chosen(cfg: Settings, catalog) -> str:
    """The library's text model: the configured one, or the one recorded when it switched."""
    if not automatic(cfg):
        return cfg.embed_model
    return catalog.library_value(TEXT_MODEL_KEY) or cfg.embed_model


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


def for_texts(cfg: Settings, texts: list[str]) -> str:
    """The model for vectors that are not stored (chapter topic shifts): the multilingual
    one for non-English text unless VIDQA_EMBED_MODEL is set."""
    if automatic(cfg) and non_english_text(texts):
        return multilingual_model()
    return cfg.embed_model

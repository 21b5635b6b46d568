"""How extractive answers quote passages: whole words, marked when cut."""

from qa.answer import _quote


def test_long_quote_ends_at_a_word_with_an_ellipsis():
    text = "the rook jumps over to protect the king " * 10
    quoted = _quote(text, 160)
    assert len(quoted) <= 160 and quoted.endswith("…")
    assert text.startswith(quoted[:-1])
    assert quoted[:-1].split()[-1] in {"the", "rook", "jumps", "over", "to", "protect", "king"}


def test_short_quote_is_whole_and_on_one_line():
    assert _quote("Glaciers carve\n  valleys.") == "Glaciers carve valleys."


def test_text_without_spaces_is_cut_by_characters():
    quoted = _quote("光合作用" * 100, 50)
    assert len(quoted) == 50 and quoted.endswith("…")

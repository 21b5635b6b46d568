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


def test_a_textless_frame_beside_its_on_screen_text_is_not_listed():
    from qa.answer import _without_bare_frames
    from qa.citations import Citation

    def cite(start, end, text, kind):
        return Citation("v1", "talk", "/v.mp4", start, end, text, kind)

    citations = [
        cite(30, 44, "the saxophone", "transcript"),
        cite(32, 38, "", "frame"),
        cite(32, 38, "STEP 5 JAZZ", "ocr"),
        cite(46, 92, "", "frame"),  # a whole scene; its text read in part of it
        cite(66, 86, "Why Volcanoes Erupt", "ocr"),
        cite(92, 96, "", "frame"),  # nothing read on screen then: the clip to watch
    ]
    kept = _without_bare_frames(citations)
    assert [(c.kind, c.start) for c in kept] == [
        ("transcript", 30),
        ("ocr", 32),
        ("ocr", 66),
        ("frame", 92),
    ]


def test_chinese_quote_ends_at_a_clause_and_never_splits_a_character():
    text = "光合作用是绿色植物在叶绿体中进行的过程，植物吸收阳光。" * 20
    quoted = _quote(text, 60)
    assert len(quoted) <= 60 and quoted.endswith("。…") and text.startswith(quoted[:-1])
    accented = "e\u0301" * 40  # "é" written as e + a combining accent
    cut = _quote(accented, 32)  # the cut would fall between a letter and its accent
    assert cut.endswith("…") and cut[-2] == "\u0301"  # no accent left without its letter

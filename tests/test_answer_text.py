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


def test_an_overview_of_several_videos_says_how_many_chapters_it_left_out():
    from index.records import Span, Video
    from qa.answer import _whole_lines
    from qa.retrieve import Evidence

    video = Video("v1", "/talk.mp4", "talk", 80.0)
    spans = [
        Span("v1", 10.0 * i, 10.0 * (i + 1), "chapter", f"Part {i}\nKeywords: x", "transcript")
        for i in range(8)
    ]
    for i, span in enumerate(spans):
        span.extra = {"title": f"Part {i}", "summary": f"What part {i} says."}
    evidence = Evidence("whole", spans=spans, video=video)
    citations, lines = _whole_lines(evidence, {"v1": video}, "en", first=4, limit=3)
    assert [(c.start, c.end) for c in citations] == [(0, 10), (10, 20), (20, 30)]
    assert lines == [
        "[4] 0:00–0:10 Part 0 — What part 0 says.",
        "[5] 0:10–0:20 Part 1 — What part 1 says.",
        "[6] 0:20–0:30 Part 2 — What part 2 says.",
        "(… and 5 more chapters)",
    ]


def test_a_slide_title_cited_for_its_words_comes_with_what_was_said_then():
    """ASR heard "make it in a hot oven" for "bake it": only the slide "BAKING" holds the
    question's word, so it is cited, and the sentence search found there is quoted with it."""
    from types import SimpleNamespace

    from index.fusion import merge_close
    from index.records import Hit, Span, Video
    from qa.answer import extractive_answer
    from qa.retrieve import Evidence

    said = Span("v1", 42.8, 48.5, "transcript", "Make it in a hot oven at 250 degrees.", "asr")
    slide = Span("v1", 44.0, 56.0, "ocr", "BAKING", "ocr")
    other = Span("v1", 58.5, 62.0, "transcript", "Wait an hour before you cut it.", "asr")
    hits = [
        Hit(said, 0.05, ["dense"]),
        Hit(slide, 0.04, ["keyword"]),
        Hit(other, 0.03, ["dense"]),
    ]
    merged = merge_close(hits)
    assert merged[0].span.kind == "ocr" and merged[0].span.extra["said"] == [42.8, 48.5, said.text]
    assert "said" not in slide.extra  # the stored span is left as it was
    before = Span("v1", 36.0, 42.5, "transcript", "Proof it overnight.", "asr")  # 1.5 s early
    (alone,) = merge_close([Hit(before, 0.05, ["dense"]), Hit(slide, 0.04, ["keyword"])])
    assert alone.span.kind == "ocr" and "said" not in alone.span.extra  # not said under it

    video = Video("v1", "/bread.mp4", "bread", 63.0)
    transcript = [before, said, other]
    library = SimpleNamespace(
        catalog=SimpleNamespace(video=lambda _id: video),
        spans_between=lambda _id, a, b, kinds=(): [
            s for s in transcript if s.start < b and a < s.end
        ],
    )
    evidence = Evidence("search", spans=[h.span for h in merged])
    answer = extractive_answer(evidence, library, "en")
    first, *rest = answer.answer.splitlines()
    assert first == (
        "In “bread” at 0:44–0:56: on screen: “BAKING” [1]; said then (0:42–0:48): "
        "“Make it in a hot oven at 250 degrees.” [2]"
    )
    assert rest == ["Also:", "[3] bread · 0:58–1:02: “Wait an hour before you cut it.”"]
    assert [(c.kind, c.start, c.end) for c in answer.citations] == [
        ("ocr", 44.0, 56.0),
        ("transcript", 42.8, 48.5),
        ("transcript", 58.5, 62.0),
    ]
    zh = extractive_answer(evidence, library, "zh").answer.splitlines()[0]
    assert zh.startswith("在“bread”的 0:44–0:56：屏幕上：“BAKING” [1]；当时说（0:42–0:48）：")
    # a slide with a few sentences said under it: all of them, one citation over them
    then = Span("v1", 48.6, 55.5, "transcript", "Then bake it without the lid.", "asr")
    transcript.insert(2, then)
    first = extractive_answer(evidence, library, "en").answer.splitlines()[0]
    assert first == (
        "In “bread” at 0:44–0:56: on screen: “BAKING” [1]; said then (0:42–0:55): "
        "“Make it in a hot oven at 250 degrees. Then bake it without the lid.” [2]"
    )

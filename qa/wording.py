"""vidqa's own words in an answer, in the language of the question (English or Chinese).

Only the frame around quoted evidence is translated: quotes stay as they were said.
"""

from __future__ import annotations

import re
from typing import Literal

Lang = Literal["en", "zh"]

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

PHRASES: dict[str, dict[Lang, str]] = {
    "at_time": {"en": "At {when} in “{title}”:", "zh": "在“{title}”的 {when}："},
    "at_slide": {
        "en": "Slide {n} of {total} (counted by the text on screen), at {when} in “{title}”:",
        "zh": "“{title}”的第 {n} 张幻灯片（共 {total} 张，按屏幕上的文字计），{when}：",
    },
    "no_slide": {
        "en": "“{title}” shows {total} slides with text on screen, so there is no {asked} "
        "(slides are counted by the text on them).",
        "zh": "“{title}”里有 {total} 张带文字的幻灯片，没有“{asked}”（按屏幕上的文字计数）。",
    },
    "no_slide_anywhere": {
        "en": "No video here shows a {asked} (slides are counted by the text on them).",
        "zh": "这里没有视频有“{asked}”（按屏幕上的文字计数）。",
    },
    "key_sentences": {
        "en": "At {when} in “{title}”, {n} key sentences",
        "zh": "“{title}”的 {when}，最有代表性的 {n} 句",
    },
    "key_sentences_1": {
        "en": "At {when} in “{title}”, 1 key sentence",
        "zh": "“{title}”的 {when}，最有代表性的 1 句",
    },
    "of_sentences": {"en": " (of {total} said):", "zh": "（共 {total} 句）："},
    "in_video_at": {"en": "In “{title}” at {when}:", "zh": "在“{title}”的 {when}："},
    "whole": {
        "en": "“{title}” ({duration}), from its {source}:",
        "zh": "“{title}”（{duration}），摘自{source}：",
    },
    "whole_slides": {
        "en": "“{title}” ({duration}) shows {n} slides with text on screen (counted by the "
        "text on them):",
        "zh": "“{title}”（{duration}）有 {n} 张带文字的幻灯片（按屏幕上的文字计数）：",
    },
    "whole_slides_1": {
        "en": "“{title}” ({duration}) shows 1 slide with text on screen (counted by the text "
        "on it):",
        "zh": "“{title}”（{duration}）有 1 张带文字的幻灯片（按屏幕上的文字计数）：",
    },
    "no_slides": {
        "en": "“{title}” shows no slides with text on screen (slides are counted by the text "
        "on them; a video ingested without frames has none)",
        "zh": "“{title}”里没有带文字的幻灯片（按屏幕上的文字计数；没有索引画面的视频没有这些）",
    },
    "no_slides_anywhere": {
        "en": "No video here shows slides with text on screen (slides are counted by the text "
        "on them; videos ingested without frames have none).",
        "zh": "这里没有视频有带文字的幻灯片（按屏幕上的文字计数；没有索引画面的视频没有这些）。",
    },
    "more_slides": {"en": "(… and {n} more slides)", "zh": "（……还有 {n} 张幻灯片）"},
    "chapters": {"en": "chapters", "zh": "章节"},
    "title_sep": {"en": " — ", "zh": "："},  # a chapter's title, then its summary
    "more_chapters": {"en": "(… and {n} more chapters)", "zh": "（……还有 {n} 个章节）"},
    "more_chapters_1": {"en": "(… and 1 more chapter)", "zh": "（……还有 1 个章节）"},
    "transcript": {"en": "transcript", "zh": "字幕"},
    "also": {"en": "Also:", "zh": "另见："},
    # a how-to question whose best match announces the procedure (qa/steps.py)
    "steps_sentences": {"en": "What it says next:", "zh": "接下来说的："},
    "steps_chapters": {"en": "The video's chapters:", "zh": "视频的各章节："},
    "more_sentences": {"en": "(… and {n} more sentences)", "zh": "（……还有 {n} 句）"},
    "more_sentences_1": {"en": "(… and 1 more sentence)", "zh": "（……还有 1 句）"},
    # "what did they discuss after the budget?": the moment found, then what came next
    "steps_after": {"en": "What was said next:", "zh": "之后说的："},
    "steps_before": {"en": "What was said just before:", "zh": "之前说的："},
    "more_after": {"en": "(… and {n} more sentences)", "zh": "（……还有 {n} 句）"},
    "more_after_1": {"en": "(… and 1 more sentence)", "zh": "（……还有 1 句）"},
    "more_before": {"en": "(… and {n} earlier sentences)", "zh": "（……之前还有 {n} 句）"},
    "more_before_1": {"en": "(… and 1 earlier sentence)", "zh": "（……之前还有 1 句）"},
    "nothing_after": {"en": "nothing is said after it", "zh": "之后没有再说话"},
    "nothing_before": {"en": "nothing is said before it", "zh": "之前没有说话"},
    "colon": {"en": ": ", "zh": "："},
    "aside": {"en": "({note})", "zh": "（{note}）"},  # between a clip's label and its quote
    "on_screen": {"en": "on screen:", "zh": "屏幕上："},
    "said_then": {"en": "; said then ({when}): ", "zh": "；当时说（{when}）："},
    "frame": {"en": "video frame", "zh": "画面"},
    "not_found_many": {"en": "Not found in these videos.", "zh": "这些视频里没有找到。"},
    "not_found_one": {"en": "Not found in this video.", "zh": "这个视频里没有找到。"},
    "not_found_in": {"en": "Not found in “{title}”.", "zh": "“{title}”里没有找到。"},
    # of two things asked at once, the one not found (the other is answered)
    "part_not_found": {"en": "Not found {where}: “{asked}”", "zh": "{where}没有找到：“{asked}”"},
    "in_these_videos": {"en": "in these videos", "zh": "这些视频里"},
    "in_this_video": {"en": "in this video", "zh": "这个视频里"},
    "in_title": {"en": "in “{title}”", "zh": "“{title}”里"},
    "near_misses": {
        "en": "Closest passages (they may not answer the question):",
        "zh": "最接近的片段（未必回答了这个问题）：",
    },
    "near_miss": {"en": "near miss", "zh": "相近"},
    # "Not found" for a question in one language over passages in the other: the rule is
    # calibrated within a language, and across languages e5's cosines of related and
    # unrelated pairs overlap (bench/README.md), so the decline may be wrong
    "other_language": {
        "en": "these videos speak Chinese, and across languages vidqa cannot tell well "
        "whether they answer a question: ask in Chinese",
        "zh": "这些视频讲的是英文，跨语言时 vidqa 难以判断视频是否回答了问题：请用英文提问",
    },
    "points_at": {"en": "(The question points at “{title}”.)", "zh": "（问题指向“{title}”。）"},
    "per_video": {
        "en": "The question names a time but not a video; at {when} in the {n} most "
        "relevant of {total} videos:",
        "zh": "问题给了时间但没有指明视频；以下是 {total} 个视频中最相关的 {n} 个在 {when} 的内容：",
    },
    "per_video_long_one": {
        "en": "The question names a time but not a video; only one of the {total} videos "
        "runs to {when}:",
        "zh": "问题给了时间但没有指明视频；{total} 个视频中只有一个长到 {when}：",
    },
    "per_video_long": {
        "en": "The question names a time but not a video; {n} of the {total} videos run to "
        "{when}, each:",
        "zh": "问题给了时间但没有指明视频；{total} 个视频中有 {n} 个长到 {when}，各自的内容：",
    },
    "per_video_all": {
        "en": "The question names a time but not a video; at {when} in each of the {n} videos:",
        "zh": "问题给了时间但没有指明视频；以下是 {n} 个视频各自在 {when} 的内容：",
    },
    "overview": {
        "en": "The question names no video; the {n} most relevant of {total} videos:",
        "zh": "问题没有指明视频；以下是 {total} 个视频中最相关的 {n} 个：",
    },
    "overview_all": {"en": "The {n} videos:", "zh": "{n} 个视频："},
    # a time that differs by video, in the question's words ("the last 10 seconds")
    "per_video_own": {
        "en": "The question names a time but not a video; {phrase} of the {n} most "
        "relevant of {total} videos:",
        "zh": "问题给了时间但没有指明视频；以下是 {total} 个视频中最相关的 {n} 个各自的“{phrase}”：",
    },
    "per_video_moved": {
        "en": "In each of the {n} videos, from the moment the last answer gave in it:",
        "zh": "在这 {n} 个视频里，各自从上一个回答的时刻算起：",
    },
    "per_video_own_all": {
        "en": "The question names a time but not a video; {phrase} of each of the {n} videos:",
        "zh": "问题给了时间但没有指明视频；以下是 {n} 个视频各自的“{phrase}”：",
    },
    # "what is on slide 3?" with several videos and none chosen (qa/slides.py)
    "per_video_slide": {
        "en": "The question names a slide but not a video; {phrase} of {n} of the {total} videos:",
        "zh": "问题给了幻灯片但没有指明视频；以下是 {total} 个视频中 {n} 个各自的“{phrase}”：",
    },
    "per_video_slide_all": {
        "en": "The question names a slide but not a video; {phrase} of each of the {n} videos:",
        "zh": "问题给了幻灯片但没有指明视频；以下是 {n} 个视频各自的“{phrase}”：",
    },
    "in_video": {"en": "In “{title}”:", "zh": "在“{title}”中："},
    # "what was said at the end?" asked of several videos: each one's own last tenth
    "edge_start": {"en": "the beginning", "zh": "开头"},
    "edge_end": {"en": "the end", "zh": "结尾"},
    "nothing_at": {"en": "nothing is indexed at that time", "zh": "这个时间没有内容"},
    "question_cut": {
        "en": "The question is long: only its first {n} characters were used.",
        "zh": "问题太长：只用了前 {n} 个字符。",
    },
    "no_evidence": {"en": "No matching passage was found.", "zh": "没有找到相关片段。"},
    # Why a time or a search found nothing (qa/retrieve.py)
    "too_short": {
        "en": "{title} is only {length} long (asked about {asked})",
        "zh": "“{title}”只有 {length} 长（问的是 {asked}）",
    },
    "nothing_said_nearest": {
        "en": "nothing was said at {where}; the nearest speech is shown",
        "zh": "{where} 没有人说话；下面是最近的一段",
    },
    "nothing_said_around": {
        "en": "nothing was said around {where} in {title}",
        "zh": "“{title}”在 {where} 前后没有人说话",
    },
    "nothing_matches": {
        "en": "nothing in the library matches the question",
        "zh": "视频库里没有和问题相符的内容",
    },
    # A VLM's answer, checked against the evidence (qa/grounded.py)
    "removed_ref": {
        "en": "removed citation [{n}]: no such evidence",
        "zh": "删去了引用 [{n}]：没有这条依据",
    },
    "added_ref": {"en": "cited [{n}] for {when}", "zh": "为 {when} 补上了引用 [{n}]"},
    "corrected_time": {"en": "corrected {when} to {span}", "zh": "把 {when} 改成了 {span}"},
    "removed_time": {
        "en": "removed {when}: not inside any evidence",
        "zh": "删去了 {when}：不在任何依据之内",
    },
    "uncited": {
        "en": "the model's answer cited no evidence, so the transcript is shown instead",
        "zh": "模型的回答没有引用依据，改为显示字幕原文",
    },
    "uncited_alone": {
        "en": "The model's answer cited no evidence.",
        "zh": "模型的回答没有引用任何依据。",
    },
    "no_frames": {"en": "no frames: {error}", "zh": "没有画面：{error}"},
    "not_between": {
        "en": "Not mentioned between {start} and {end}.",
        "zh": "{start} 到 {end} 之间没有提到。",
    },
    "passages_do_not": {
        "en": "The retrieved passages ({labels}) do not answer this.",
        "zh": "找到的片段（{labels}）没有回答这个问题。",
    },
    "library_does_not": {
        "en": "Nothing in the library answers this.",
        "zh": "视频库里没有内容回答这个问题。",
    },
}


def language(text: str) -> Lang:
    """Chinese when the text has any CJK ideograph (a question mixing in English words is
    still asked in Chinese), else English."""
    return "zh" if _CJK.search(text) else "en"


def passages_language(texts: list[str]) -> Lang | None:
    """The language most of `texts` are in: Chinese when ideographs are more than a third of
    their letters, English when nearly all letters are ASCII, else None (another language)."""
    letters = [c for text in texts for c in text if c.isalpha()]
    if not letters:
        return None
    cjk = sum(bool(_CJK.match(c)) for c in letters) / len(letters)
    ascii_share = sum(c.isascii() for c in letters) / len(letters)
    return "zh" if cjk > 1 / 3 else "en" if ascii_share > 0.9 else None


def say(lang: Lang, key: str, **values) -> str:
    """The phrase `key` in `lang`; its "_1" form, where it has one, when `n` is 1."""
    if values.get("n") == 1 and f"{key}_1" in PHRASES:
        key = f"{key}_1"
    return PHRASES[key][lang].format(**values)

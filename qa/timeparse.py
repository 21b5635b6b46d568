"""Find a time reference ("at 25:00", "第25分钟", "the last 2 minutes") in a question.

`parse_time_reference` returns a `TimeRef` (seconds from the start of the video)
or None; `relative_shift` reads follow-ups such as "two minutes later" / "10秒前".

When is a number with a unit a *position* in the video, and not a length?
The rule implemented here:

* Clock formats (``25:00``, ``1:02:03``, ``25:00.5``) are positional on their
  own, unless a ratio/score/version word sits right next to them ("aspect
  ratio 4:30", "score was 3:10") or am/pm follows (a wall-clock time).
  ``N:M`` with a one-digit ``M`` ("3:2", "16:9") is never a clock.
* "minute 12" / "hour 2" are positional on their own. So are the Chinese forms
  ``第N分钟`` and clock-like ``N分N秒`` / ``N小时N分`` (a bare 分, not 分钟,
  combined with another unit).
* A duration ("25 minutes", "1h05m", "两分钟") is positional only with a cue:
  before it ``at / around / near / after / from / jump to / 第 / 在 / 从``, or
  after it ``in / into / mark / point / 处 / 时 / 的时候 / 附近``; or when the whole
  question is nothing but that duration (someone typing "5 minutes" into the
  box means "go there"). So "a 2 hour lecture", "2 hours of content" and
  "5 minutes long" are not references. A bare leading "in" ("in 5 minutes")
  is no cue: it usually means "within".
* Ranges need a range word: ``between A and B``, ``from A to B``, ``从A到B``,
  ``A到B之间``; two clocks joined by a dash or "to" are a range on their own.
  ``between 10 and 12 minutes`` lends the right-hand unit to the bare left
  number. Backwards ranges are swapped.
* "the first N minutes" / "前N分钟" is (0, N). "the last N minutes" /
  "最后N分钟" needs the video duration: with it the range is clamped to
  [0, duration]; without it the answer is None rather than a guess.
* "At the end", "the beginning of the talk", "how does it end?", "the last thing
  said", "开头", "结尾" are the last or first tenth of the video (20 s to 2 min; the
  length is needed, as for "the last N minutes"). "At the end of the list" is not: an
  edge of something other than the video ends the clause or names what it is.
* If several references match, the one starting earliest wins (the longest,
  on a tie), so a range beats the clock it starts with.

Points past the end of the video are returned unchanged; callers decide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

SECONDS_PER_HOUR = 3600.0
SECONDS_PER_MINUTE = 60.0
# "Just before that" / "right after": the stretch this long next to the last moment, so the
# sentence or two said there (spoken sentences run ~3-10 s), not a point half a minute
# away, which skipped what was said in between.
NEXT_TO_S = 10.0
# "What was said at the end?" / "开头讲了什么": the first or last tenth of the video, within
# these bounds: the last sentences of a short clip, the last two minutes of a long lecture.
EDGE_SHARE = 0.1
EDGE_S = (20.0, 120.0)

EN_ONES = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60}
EN_ARTICLES = {"a": 1, "an": 1}
ZH_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
ZH_MULTIPLIERS = {"十": 10, "百": 100}
ZH_UNIT_SECONDS = {
    "小时": SECONDS_PER_HOUR,
    "钟头": SECONDS_PER_HOUR,
    "分": SECONDS_PER_MINUTE,
    "秒": 1.0,
}
# Words that turn "N:MM" into a ratio, score or version instead of a timestamp.
RATIO_CONTEXT_WORDS = frozenset(
    {
        "aspect",
        "ratio",
        "ratios",
        "score",
        "scores",
        "scored",
        "version",
        "odds",
        "won",
        "lost",
        "beat",
        "record",
        "v",
    }
)
# Skipped when looking for that word: "score was 3:10", "ratio of 4:30".
RATIO_LINK_WORDS = frozenset({"of", "is", "was", "were", "be", "been", "the", "a", "an", "it"})
RATIO_CONTEXT_ZH = ("比分", "比例", "版本", "比数")

_ONES_RE = "|".join(sorted(EN_ONES, key=len, reverse=True))
_TENS_RE = "|".join(EN_TENS)
_DIGIT_ONES_RE = "one|two|three|four|five|six|seven|eight|nine"
_EN_WORD_NUM = rf"(?:(?:{_TENS_RE})(?:[\s-](?:{_DIGIT_ONES_RE})\b)?|{_ONES_RE})"
_EN_LONG_UNITS = "hours|hour|hrs|hr|minutes|minute|mins|min|seconds|second|secs|sec"
_ZH_NUM = r"(?:\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百]+)"
# A bare 分 is also "very" (十分重要) or "points"; accept it only before
# characters that can follow a time.
_ZH_BARE_FEN = r"分(?=$|[^\u4e00-\u9fff]|[秒之处时的到至左半前后零〇一二两三四五六七八九十百])"

_CLOCK = re.compile(
    r"(?<![\d:.])(?P<a>\d{1,3}):(?P<b>[0-5]\d)(?::(?P<c>[0-5]\d))?(?:\.(?P<frac>\d+))?(?![\d:])"
)
_AM_PM = re.compile(r"\s*(?:am|pm|a\.m\.|p\.m\.)(?![a-z])", re.IGNORECASE)
# Digits may follow h/m/s so that "1h05m" chains; any other letter blocks ("mp3s").
_EN_COMPONENT = re.compile(
    rf"(?:\bhalf[\s-]+(?:an?\s+)?(?P<half_unit>{_EN_LONG_UNITS})"
    rf"|(?<![\d.,$€£¥:a-gi-lnr-z])(?P<digits>\d+(?:\.\d+)?)"
    rf"(?:\s*-?\s*(?P<dunit>{_EN_LONG_UNITS})|(?P<abbr>[hms]))"
    rf"|\b(?P<word>{_EN_WORD_NUM}|an?)[\s-]+(?P<wunit>{_EN_LONG_UNITS}))"
    r"(?![a-z])(?P<and_half>\s+and\s+a\s+half\b)?",
    re.IGNORECASE,
)
_ZH_COMPONENT = re.compile(
    rf"(?:(?P<hn>{_ZH_NUM})个?(?P<hh>半)?|(?P<hh2>半))个?(?P<hu>小时|钟头)"
    rf"|(?P<mn>{_ZH_NUM})(?P<mu>分钟|{_ZH_BARE_FEN})(?P<mh>半)?|(?P<mh2>半)分钟"
    rf"|(?P<sn>{_ZH_NUM})(?:秒钟|秒)"
)
_EN_ORDINAL = re.compile(
    rf"\b(?P<unit>minute|hour)\s+(?P<num>\d+(?:\.\d+)?|{_EN_WORD_NUM})\b", re.IGNORECASE
)
_EN_SEP = re.compile(r"\s*,?\s*(?:and\s+)?", re.IGNORECASE)
_ZH_SEP = re.compile(r"零?")

_BEFORE_CUE = re.compile(
    r"(?:\b(?:(?:skip|jump|go|seek|fast[- ]forward|rewind)\s+(?:back\s+)?to|at|around|near"
    r"|after|from|approximately|roughly)\s+(?:the\s+)?"
    r"(?:(?:around|about|approximately|roughly|exactly|precisely)\s+)?(?:the\s+)?"
    r"|第|在|于|从|跳到|跳转到|快进到|定位到|回到)$",
    re.IGNORECASE,
)
_AFTER_CUE = re.compile(
    r"\s*-?\s*marks?\b|\s+(?:point|timestamp)\b"
    r"|\s+in\b(?!\s+(?:length|total|size|duration|all)\b)|\s+into\b"
    r"|处|的时候|时候|时(?![间长])|那里|那儿|附近|的位置|位置|的地方|那一刻|时刻|节点"
    # "25分钟左右说了什么": "about 25 minutes" is a position when what follows asks what
    # happened there; "讲了25分钟左右" (a length) has no such verb after it.
    r"|(?:左右|上下)(?=[，,]?\s*(?:的时候|时)?(?:说|讲|提|谈|聊|发生|出现|展示|演示|介绍|讨论|显示|播放|屏幕|画面|有什么|是什么))",
    re.IGNORECASE,
)
# After a duration these mean a length ("5 minutes long", "5分钟内"), not a position.
_LENGTH_AFTER = re.compile(
    r"\s*(?:long\b|in\s+(?:length|total)\b|total\b|each\b|per\b|apiece\b|内|之内|以内|里|长)",
    re.IGNORECASE,
)
_WHOLE_REST = re.compile(r"[\s\W_]*")

_RANGE_PREFIX = re.compile(
    r"(?:\b(?P<en>between|from)\s+(?:the\s+)?|(?P<zh>从|由|在))$", re.IGNORECASE
)
_RANGE_GAP = re.compile(
    r"\s*(?P<conn>[-–—~～到至&]|and|to|until|till|through|thru)\s*(?:the\s+)?", re.IGNORECASE
)
_RANGE_SUFFIX = re.compile(r"\s*-?\s*marks?\b|之间|期间|这段|中间|间", re.IGNORECASE)
_DASHES = frozenset("-–—~～")
_CONNECTORS = {
    "between": frozenset({"and", "&"}) | _DASHES,
    "from": frozenset({"to", "until", "till", "through", "thru"}) | _DASHES,
    "zh": frozenset({"到", "至"}) | _DASHES,
    "clock": frozenset({"to", "until", "till", "到", "至"}) | _DASHES,
}
_BARE_LEFT = re.compile(
    rf"(?<![\w.:])(?P<num>\d+(?:\.\d+)?|{_EN_WORD_NUM}|[零〇一二两三四五六七八九十百]+)"
    rf"(?={_RANGE_GAP.pattern}$)",
    re.IGNORECASE,
)

_FIRST_LAST_PREFIX = re.compile(
    r"(?:\b(?:in|during|within|over|for)\s+)?(?:\bthe\s+)?"
    r"\b(?P<en>first|opening|initial|last|final|closing)\s+$"
    r"|(?:在)?(?P<zh>最后|最後|最初|开头|末尾|结尾|(?<![之以])前)的?$",
    re.IGNORECASE,
)
_FIRST_LAST_UNIT = re.compile(
    r"(?:\b(?:in|during|within|over|for)\s+)?\bthe\s+"
    r"(?P<en>first|opening|initial|last|final|closing)\s+"
    r"(?P<unit>half[- ]hour|half[- ]minute|hour|minute|second)\b",
    re.IGNORECASE,
)
_FIRST_LAST_SUFFIX = re.compile(r"内|之内|以内|里|中")
_LAST_WORDS = frozenset({"last", "final", "closing", "最后", "最後", "末尾", "结尾"})

# What people call a video ("the pasta video", "the chemistry lecture"): regex fragment.
VIDEO_NOUN = (
    r"(?:video|clip|recording|talk|lecture|lesson|class|course|session|meeting|call|"
    r"presentation|tutorial|episode|podcast|interview|webinar|keynote|demo|speech|film|movie)"
)
_CLAUSE_END = r"(?=\s*(?:[?.!,;:]|$))"
_EDGE_EN = re.compile(
    # "at the (very) end?", "near the beginning,": the edge, with nothing after it
    r"\b(?:at|near|towards?|by|around|in|from)\s+the\s+(?:very\s+)?"
    rf"(?P<a>end|beginning|start|outset){_CLAUSE_END}"
    # "the end of the pasta video", "the beginning of this talk": only "the end" is the
    # reference, so the words naming the video stay in the question to pick it
    r"|\bthe\s+(?:very\s+)?(?P<b>end|ending|beginning|start|opening)(?=\s+of\s+"
    rf"(?:the|this|that|her|his|their|my|our)\s+(?:[\w-]+\s+){{0,3}}?{VIDEO_NOUN}s?\b)"
    # "how does it end?", "how did the meeting start?" ("the loop" is no video)
    r"|\bhow\s+(?:does|did|do)\s+(?:it|this|that|"
    rf"(?P<subject>the\s+(?:[\w-]+\s+){{0,2}}?{VIDEO_NOUN}))"
    r"\s+(?P<c>end|finish|conclude|start|begin|open)\b"
    # "her closing remarks", "the opening words", "the last thing (she) said" (not "the first
    # thing to install", "the last line of the file": what a tutorial does, not when)
    r"|\b(?P<d>last|final|closing|first|opening)\s+(?:words|remarks|sentence|"
    r"(?:thing|things|point|points)\s+(?:(?:he|she|they|we|you|i|it|the\s+\w+)\s+)?"
    r"(?:said|says|say|mentioned|mentions|talked|talks|spoke|covered|covers|discussed|"
    r"discusses|explained|explains|showed|shows|shown))\b",
    re.IGNORECASE,
)
_EDGE_END_WORDS = _LAST_WORDS | {"end", "ending", "finish", "conclude"}
_EDGE_ZH = re.compile(
    r"(?P<start>开头|一开始|最开始|刚开始|开始的时候|开始时|开场|第一句)"
    r"|(?P<end>结尾|末尾|结束的时候|结束时|快结束|最后一句|最后(?!\s*[0-9零一二两三四五六七八九十百半几]))"
)

_SHIFT_AFTER = re.compile(
    r"\s*(?:(?P<en>later|after(?:wards)?|on|forward|ahead|before|earlier|prior|ago|back|sooner)\b"
    r"(?!\s+the\s+(?:start|beginning))"
    r"|(?P<zh>之后|以后|过后|后|之前|以前|前))",
    re.IGNORECASE,
)
_SHIFT_BEFORE = re.compile(
    r"(?:\b(?P<en>back|backwards?|rewind|forward|ahead|skip)\s+(?:by\s+)?"
    r"|(?P<zh>往后|向后|快进|再过|往前|向前|倒回|后退|回退))$",
    re.IGNORECASE,
)
_SHIFT_BACK_WORDS = frozenset(
    {
        "before",
        "earlier",
        "prior",
        "ago",
        "back",
        "sooner",
        "backward",
        "backwards",
        "rewind",
        "之前",
        "以前",
        "前",
        "往前",
        "向前",
        "倒回",
        "后退",
        "回退",
    }
)
_VAGUE_BACK = re.compile(
    r"\b(?:just|right|shortly|immediately|slightly|a\s+bit|a\s+little|a\s+moment|moments?)"
    r"\s+(?:before|earlier)\b|\b(?:before|earlier\s+than)\s+(?:that|this|it)\b"
    r"|稍早|稍前|之前不久|前不久|前一点|早一点|那之前|此前",
    re.IGNORECASE,
)
_VAGUE_FORWARD = re.compile(
    r"\b(?:just|right|shortly|immediately|slightly|a\s+bit|a\s+little|a\s+moment|moments?)"
    r"\s+(?:after|later)\b|\b(?:after|later\s+than)\s+(?:that|this|it)\b"
    r"|稍后|随后|紧接着|之后不久|不久之后|过一会儿?|后一点|晚一点|那之后|此后",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class TimeRef:
    """A point (start == end) or range in seconds, with the question text it came from."""

    start: float
    end: float
    text: str
    edge: Literal["", "start", "end"] = ""  # "at the end": the video's last tenth, not a clock
    slide: tuple[int, int] | None = None  # "slide 3": (3, slides counted), qa/slides.py

    def __post_init__(self) -> None:
        if self.start < 0 or self.end < self.start:
            raise ValueError(
                f"TimeRef needs 0 <= start <= end, got start={self.start}s end={self.end}s"
            )

    @property
    def is_point(self) -> bool:
        return self.start == self.end


@dataclass(frozen=True)
class _Atom:
    """A time expression found in the text, before deciding whether it is positional."""

    start: int  # character offsets into the question
    end: int
    seconds: float
    kind: str  # "clock" | "ordinal" | "duration" | "bare"
    positional: bool  # positional without any cue word
    unit: float  # seconds per unit of a one-unit duration, else 0 (lent to a bare left end)


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    lo: float
    hi: float
    last_n: bool = False  # "the last N": lo/hi are the length, resolved against duration
    edge: Literal["", "start", "end"] = ""  # "at the end": a share of the duration


def parse_en_number(token: str) -> float | None:
    """'25', '2.5', 'twenty-five', 'a' -> number; None if not a number."""
    token = token.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", token):
        return float(token)
    if token in EN_ARTICLES:
        return float(EN_ARTICLES[token])
    if token in EN_ONES:
        return float(EN_ONES[token])
    parts = re.split(r"[\s-]+", token)
    if parts[0] in EN_TENS and len(parts) <= 2:
        ones = EN_ONES.get(parts[1], 99) if len(parts) == 2 else 0
        return float(EN_TENS[parts[0]] + ones) if ones < 10 else None
    return None


def parse_zh_number(token: str) -> float | None:
    """'二十五' -> 25, '一百零五' -> 105, '两' -> 2, '25' -> 25; None if not a number."""
    if re.fullmatch(r"\d+(?:\.\d+)?", token):
        return float(token)
    if not token or any(ch not in ZH_DIGITS and ch not in ZH_MULTIPLIERS for ch in token):
        return None
    if not any(ch in ZH_MULTIPLIERS for ch in token):
        # Digit-by-digit reading such as 二〇 (20).
        return float("".join(str(ZH_DIGITS[ch]) for ch in token))
    total, current = 0, 0
    for ch in token:
        if ch in ZH_DIGITS:
            current = ZH_DIGITS[ch]
        else:
            # 十二 means 12: a multiplier with no digit before it counts as one.
            total += (current or 1) * ZH_MULTIPLIERS[ch]
            current = 0
    return float(total + current)


def parse_number(token: str) -> float | None:
    """A number written in digits, English words or Chinese numerals."""
    value = parse_en_number(token)
    return value if value is not None else parse_zh_number(token)


def _en_unit_seconds(unit: str) -> float:
    # Every English unit spelling starts with its letter: h(our), m(inute), s(econd).
    return {"h": SECONDS_PER_HOUR, "m": SECONDS_PER_MINUTE, "s": 1.0}[unit[0].lower()]


def _is_ratio_context(question: str, start: int, end: int) -> bool:
    before = [
        w for w in re.findall(r"[a-z]+", question[:start].lower())[-4:] if w not in RATIO_LINK_WORDS
    ]
    after = re.findall(r"[a-z]+", question[end : end + 20].lower())[:1]
    if RATIO_CONTEXT_WORDS.intersection(before[-1:] + after):
        return True
    near = question[max(0, start - 4) : start] + question[end : end + 4]
    return any(word in near for word in RATIO_CONTEXT_ZH)


def _find_clocks(question: str) -> list[_Atom]:
    atoms = []
    for m in _CLOCK.finditer(question):
        if _AM_PM.match(question, m.end()) or _is_ratio_context(question, m.start(), m.end()):
            continue
        a, b, c = int(m["a"]), int(m["b"]), m["c"]
        seconds = a * SECONDS_PER_HOUR + b * SECONDS_PER_MINUTE + int(c) if c else a * 60.0 + b
        if m["frac"]:
            seconds += float("0." + m["frac"])
        atoms.append(_Atom(m.start(), m.end(), seconds, "clock", True, 0.0))
    return atoms


def _en_component(m: re.Match) -> tuple[float, float] | None:
    """(seconds, unit seconds) of one "<number> <unit>" match, or None to skip it."""
    if m["half_unit"]:
        unit = _en_unit_seconds(m["half_unit"])
        return unit / 2, unit
    if m["digits"]:
        if m["abbr"] and m["abbr"].lower() == "s" and len(m["digits"]) == 4:
            return None  # "the 1990s" is a decade
        unit = _en_unit_seconds(m["dunit"] or m["abbr"])
        number = float(m["digits"])
    else:
        unit = _en_unit_seconds(m["wunit"])
        number = parse_en_number(m["word"])
        if number is None:
            return None
    if m["and_half"]:
        number += 0.5
    return number * unit, unit


def _zh_component(m: re.Match) -> tuple[float, float, bool]:
    """(seconds, unit seconds, uses bare 分) of one Chinese component match."""
    if m["hu"]:
        number = (parse_zh_number(m["hn"]) or 0.0) if m["hn"] else 0.0
        if m["hh"] or m["hh2"]:
            number += 0.5
        return number * SECONDS_PER_HOUR, SECONDS_PER_HOUR, False
    if m["mh2"]:
        return 30.0, SECONDS_PER_MINUTE, False
    if m["mn"]:
        number = (parse_zh_number(m["mn"]) or 0.0) + (0.5 if m["mh"] else 0.0)
        return number * SECONDS_PER_MINUTE, SECONDS_PER_MINUTE, m["mu"] == "分"
    return parse_zh_number(m["sn"]) or 0.0, 1.0, False


def _merge_components(question: str, comps: list[tuple], sep: re.Pattern) -> list[_Atom]:
    """Chain "1 hour" + "5 minutes" into one atom while units strictly decrease."""
    atoms: list[_Atom] = []
    group: list[tuple] = []

    def flush() -> None:
        if not group:
            return
        bare_fen = any(c[4] for c in group)
        # 2分15秒 / 1小时10分 read like a clock; 分钟 alone reads like a length.
        positional = bare_fen and len(group) > 1
        unit = group[0][3] if len(group) == 1 else 0.0
        total = sum(c[2] for c in group)
        atoms.append(_Atom(group[0][0], group[-1][1], total, "duration", positional, unit))
        group.clear()

    for comp in comps:
        if group and comp[3] < group[-1][3] and sep.fullmatch(question[group[-1][1] : comp[0]]):
            group.append(comp)
            continue
        flush()
        group.append(comp)
    flush()
    return atoms


def _find_durations(question: str) -> list[_Atom]:
    en = []
    for m in _EN_COMPONENT.finditer(question):
        parsed = _en_component(m)
        if parsed is not None:
            en.append((m.start(), m.end(), parsed[0], parsed[1], False))
    zh = [(m.start(), m.end(), *_zh_component(m)) for m in _ZH_COMPONENT.finditer(question)]
    return _merge_components(question, en, _EN_SEP) + _merge_components(question, zh, _ZH_SEP)


def _find_ordinals(question: str) -> list[_Atom]:
    atoms = []
    for m in _EN_ORDINAL.finditer(question):
        number = parse_en_number(m["num"])
        if number is not None:
            seconds = number * _en_unit_seconds(m["unit"])
            atoms.append(_Atom(m.start(), m.end(), seconds, "ordinal", True, 0.0))
    return atoms


def _drop_overlaps(atoms: list[_Atom]) -> list[_Atom]:
    kept: list[_Atom] = []
    for atom in sorted(atoms, key=lambda a: (a.start, -a.end)):
        if not kept or atom.start >= kept[-1].end:
            kept.append(atom)
    return kept


def _bare_left_atoms(question: str, atoms: list[_Atom]) -> list[_Atom]:
    """The "10" in "between 10 and 12 minutes", which borrows the unit on its right."""
    extra = []
    for atom in atoms:
        if atom.kind != "duration" or not atom.unit:
            continue
        m = _BARE_LEFT.search(question[: atom.start])
        number = parse_number(m["num"]) if m else None
        if number is not None:
            extra.append(_Atom(m.start(), m.end(), number * atom.unit, "bare", False, 0.0))
    return extra


def _find_atoms(question: str) -> list[_Atom]:
    atoms = _drop_overlaps(
        _find_clocks(question) + _find_durations(question) + _find_ordinals(question)
    )
    return _drop_overlaps(atoms + _bare_left_atoms(question, atoms))


def _range_kind(prefix: re.Match | None, suffix: re.Match | None, a: _Atom, b: _Atom) -> str:
    """Which connector set makes a range of a and b here ("" when none does)."""
    if prefix and prefix["en"]:
        return prefix["en"].lower()
    if prefix or (suffix and not suffix.group().strip().lower().startswith("mark")):
        return "zh"
    if a.kind == "clock" and b.kind == "clock":
        return "clock"
    return ""


def _range_candidates(question: str, atoms: list[_Atom]) -> list[_Candidate]:
    out = []
    for a, b in pairwise(atoms):
        gap = _RANGE_GAP.fullmatch(question[a.end : b.start])
        if not gap:
            continue
        prefix = _RANGE_PREFIX.search(question[: a.start])
        suffix = _RANGE_SUFFIX.match(question, b.end)
        kind = _range_kind(prefix, suffix, a, b)
        if not kind or gap["conn"].lower() not in _CONNECTORS[kind]:
            continue
        lo, hi = sorted((a.seconds, b.seconds))
        start = prefix.start() if prefix else a.start
        out.append(_Candidate(start, suffix.end() if suffix else b.end, lo, hi))
    return out


def _first_last_candidates(question: str, atoms: list[_Atom]) -> list[_Candidate]:
    out = []
    for atom in atoms:
        if atom.kind != "duration":
            continue
        m = _FIRST_LAST_PREFIX.search(question[: atom.start])
        if not m:
            continue
        word = (m["en"] or m["zh"]).lower()
        suffix = _FIRST_LAST_SUFFIX.match(question, atom.end)
        end = suffix.end() if suffix else atom.end
        out.append(_Candidate(m.start(), end, 0.0, atom.seconds, word in _LAST_WORDS))
    for m in _FIRST_LAST_UNIT.finditer(question):
        unit = m["unit"].lower()
        seconds = _en_unit_seconds(unit.split()[-1].split("-")[-1])
        seconds = seconds / 2 if unit.startswith("half") else seconds
        out.append(_Candidate(m.start(), m.end(), 0.0, seconds, m["en"].lower() in _LAST_WORDS))
    return out


def _edge_candidates(question: str) -> list[_Candidate]:
    out = []
    for m in _EDGE_EN.finditer(question):
        word = next(g for g in (m["a"], m["b"], m["c"], m["d"]) if g).lower()
        edge = "end" if word in _EDGE_END_WORDS else "start"
        # "how does the pasta video end": the words naming the video stay in the question
        end = m.start("subject") if m["subject"] else m.end()
        out.append(_Candidate(m.start(), end, 0.0, 0.0, edge=edge))
    for m in _EDGE_ZH.finditer(question):
        out.append(_Candidate(m.start(), m.end(), 0.0, 0.0, edge="start" if m["start"] else "end"))
    return out


def edge_length(duration: float) -> float:
    """How long "the end" / "the beginning" of a video this long is (s)."""
    low, high = EDGE_S
    return min(max(duration * EDGE_SHARE, low), high, duration)


def _point_candidates(question: str, atoms: list[_Atom]) -> list[_Candidate]:
    out = []
    for atom in atoms:
        if atom.kind == "bare":
            continue
        before = _BEFORE_CUE.search(question[: atom.start])
        after = _AFTER_CUE.match(question, atom.end)
        is_length = atom.kind == "duration" and _LENGTH_AFTER.match(question, atom.end)
        cued = (before or after) and not is_length
        whole = _WHOLE_REST.fullmatch(question[: atom.start]) and _WHOLE_REST.fullmatch(
            question[atom.end :]
        )
        if not (atom.positional or cued or whole):
            continue
        start = before.start() if before else atom.start
        end = atom.end
        # "in"/"into" only belong to the reference when they are what made it one.
        if after and not (atom.positional and after.group().strip().lower() in ("in", "into")):
            end = after.end()
        out.append(_Candidate(start, end, atom.seconds, atom.seconds))
    return out


def _candidates(text: str) -> list[_Candidate]:
    """Every reading of a time in `text`: ranges, first/last N, points (may overlap)."""
    atoms = _find_atoms(text)
    return (
        _range_candidates(text, atoms)
        + _first_last_candidates(text, atoms)
        + _point_candidates(text, atoms)
        + _edge_candidates(text)
    )


def _resolve(cand: _Candidate, question: str, duration: float | None) -> TimeRef | None:
    text = question[cand.start : cand.end]
    if cand.edge:
        if duration is None:
            return None  # "at the end" of an unknown length
        length, end = edge_length(float(duration)), max(0.0, float(duration))
        lo, hi = (0.0, length) if cand.edge == "start" else (end - length, end)
        return TimeRef(lo, hi, text, cand.edge)
    if not cand.last_n:
        return TimeRef(cand.lo, cand.hi, text)
    if duration is None:
        return None  # "the last 2 minutes" of an unknown length: do not guess
    end = max(0.0, float(duration))
    return TimeRef(max(0.0, end - (cand.hi - cand.lo)), end, text)


def parse_time_reference(question: str, duration: float | None = None) -> TimeRef | None:
    """The time reference in `question`, in seconds; None if there is none.

    `duration` (seconds) is only needed to resolve "the last N minutes" and "at the end".
    """
    candidates = _candidates(question)
    if not candidates:
        return None
    best = min(candidates, key=lambda c: (c.start, -(c.end - c.start)))
    return _resolve(best, question, duration)


def find_time_references(text: str) -> list[tuple[int, int, float, float]]:
    """Every positional time reference in `text` as (char start, char end, lo s, hi s),
    left to right, without overlaps (the longest wins where two start together).

    For checking times someone else wrote (a model's answer), so "the last N minutes",
    which needs the video's length, is left out.
    """
    candidates = sorted(
        (c for c in _candidates(text) if not (c.last_n or c.edge)),
        key=lambda c: (c.start, -(c.end - c.start)),
    )
    out: list[tuple[int, int, float, float]] = []
    for c in candidates:
        if not out or c.start >= out[-1][1]:
            out.append((c.start, c.end, c.lo, c.hi))
    return out


def relative_shift(text: str) -> float | None:
    """Signed seconds for a follow-up such as "two minutes later" (+120) or "10秒前" (-10).

    None when the text names no amount (`next_to` reads "just before that", "稍后").
    """
    for atom in _find_durations(text):
        after = _SHIFT_AFTER.match(text, atom.end)
        before = _SHIFT_BEFORE.search(text[: atom.start])
        match = after or before
        if match:
            word = (match["en"] or match["zh"]).lower()
            return -atom.seconds if word in _SHIFT_BACK_WORDS else atom.seconds
    return None


def next_to(text: str) -> Literal["before", "after"] | None:
    """Which side of the last moment a follow-up with no amount asks about: "just before
    that", "稍早" (before); "right after", "紧接着" (after); None for neither."""
    if _VAGUE_BACK.search(text):
        return "before"
    if _VAGUE_FORWARD.search(text):
        return "after"
    return None


# "what was the last thing she said?", "the first words", "最后一句话": one sentence of the edge
_FIRST_LAST = re.compile(
    r"\b(?:very\s+)?(first|last|final|opening|closing)\s+(?:thing|sentence|words?|line|remark)s?\b"
    r"|(第一|最后一|开头第一|结尾最后一)句",
    re.IGNORECASE,
)


def first_or_last(text: str) -> Literal["first", "last"] | None:
    """ "first" / "last" when a question asks for the first or last thing said, not a stretch."""
    m = _FIRST_LAST.search(text)
    if m is None:
        return None
    word = (m[1] or m[2]).lower()
    return "first" if word in ("first", "opening", "第一", "开头第一") else "last"

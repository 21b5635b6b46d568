"""Seconds <-> the clock strings users read ("25:00", "1:02:03")."""

from __future__ import annotations

import math
import re

# "93.5", "1:33", "01:02:03", each optionally ending in "s" ("93.5 s").
_CLOCK = re.compile(r"\d+(:\d{1,2}){0,2}(\.\d+)?")


def parse_clock(value) -> float | None:
    """Seconds from 93.5, "93.5", "93.5 s", "1:33" or "01:02:03"; None if unreadable."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if math.isfinite(value) else None
    text = str(value if isinstance(value, str) else "").strip().lower().rstrip("s").strip()
    if not _CLOCK.fullmatch(text):
        return None
    return sum(float(part) * 60**i for i, part in enumerate(reversed(text.split(":"))))


def fmt_ts(seconds: float) -> str:
    """25:00, 1:02:03 (hours only when needed); fractions are dropped, not rounded up."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def fmt_range(start: float, end: float) -> str:
    return f"{fmt_ts(start)}–{fmt_ts(end)}"

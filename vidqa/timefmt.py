"""Seconds <-> the clock strings users read ("25:00", "1:02:03")."""

from __future__ import annotations


def fmt_ts(seconds: float) -> str:
    """25:00, 1:02:03 (hours only when needed); fractions are dropped, not rounded up."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def fmt_range(start: float, end: float) -> str:
    return f"{fmt_ts(start)}–{fmt_ts(end)}"

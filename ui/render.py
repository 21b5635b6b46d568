"""Plain functions that turn results into rows/text, shared by the CLI and the app (and tests)."""

from __future__ import annotations

import json
from dataclasses import asdict

from vidqa.timefmt import fmt_range, fmt_ts


def video_row(video, counts: dict[str, int] | None = None) -> dict:
    row = asdict(video)
    row["spans"] = counts or {}
    return row


def hit_row(hit, title: str, path: str | None) -> dict:
    s = hit.span
    return {
        "video_id": s.video_id,
        "title": title,
        "path": path,
        "start": round(s.start, 2),
        "end": round(s.end, 2),
        "kind": s.kind,
        "text": s.text,
        "score": round(hit.score, 5),
        "matched": hit.matched,
        "kinds": hit.kinds or [s.kind],
    }


def hit_line(row: dict) -> str:
    text = " ".join(row["text"].split())
    text = text if len(text) <= 140 else text[:139] + "…"
    return (
        f"{row['video_id'][:8]}  {row['title']} · {fmt_range(row['start'], row['end'])}"
        f"  [{'+'.join(row.get('kinds') or [row['kind']])}; {'+'.join(row['matched'])}]\n    {text}"
    )


def video_line(row: dict) -> str:
    spans = ", ".join(f"{n} {k}" for k, n in sorted(row["spans"].items())) or "no spans"
    status = "" if row["status"] == "ready" else f"  [{row['status']}]"
    return (
        f"{row['id'][:12]}  {row['title']}  {fmt_ts(row['duration'])}  "
        f"transcript: {row['transcript_source'] or 'none'}  ({spans}){status}"
    )


def dumps(data, *, nl: bool = False) -> str:
    """--json prints one indented document; --nl one compact object per line."""
    if nl and isinstance(data, list):
        return "\n".join(json.dumps(d, ensure_ascii=False) for d in data)
    return json.dumps(data, ensure_ascii=False, indent=2)


def export_lines(summary: dict, report=None) -> list[str]:
    """`vidqa export sft`: examples per split and kind, clip minutes and size, what was written."""
    kinds = list(next(iter(summary["examples"].values())))
    lines = [f"{'':6}" + "".join(f"{k:>10}" for k in kinds) + f"{'videos':>8}"]
    for split, counts in summary["examples"].items():
        lines.append(
            f"{split:6}"
            + "".join(f"{counts[k]:>10}" for k in kinds)
            + f"{summary['videos'][split]:>8}"
        )
    n = summary["clips_to_cut"] + summary["clips_reused"]
    lines.append(
        f"{n} clips, {summary['clip_minutes']:.1f} min, about "
        f"{summary['estimated_bytes'] / 1e6:.1f} MB at the source bitrate"
    )
    if report is None:
        lines.append(
            f"dry run: {summary['clips_to_cut']} clips to cut, "
            f"{summary['clips_reused']} already cut; nothing written"
        )
    else:
        lines.append(
            f"cut {report.cut} clips, reused {report.reused}; wrote "
            f"{', '.join(report.files)} in {summary['out_dir']}"
        )
    return lines

"""The catalog: SQLite source of truth for videos and spans, time lookup and BM25.

Chroma holds only vectors keyed by span id; every result is joined back here and
filtered to videos whose status is 'ready', so a crash mid-ingest leaves nothing
half-written visible to queries. Schema changes are ordered, named migrations.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields
from pathlib import Path

from index import keyword
from index.records import Span, Video


def _rebuild_keywords(db: sqlite3.Connection) -> None:
    """Re-derive every span's keyword terms with the current `keyword.document`."""
    db.execute("DELETE FROM spans_fts")
    db.executemany("INSERT INTO spans_fts (rowid, terms) VALUES (?, ?)",
                   ((rowid, keyword.document(text))
                    for rowid, text in db.execute("SELECT rowid, text FROM spans").fetchall()))


# A migration is SQL, or a function of the connection for what SQL alone cannot do.
MIGRATIONS: list[tuple[str, str | Callable[[sqlite3.Connection], None]]] = [
    (
        "001_videos_spans",
        """
        CREATE TABLE videos (
            id TEXT PRIMARY KEY, path TEXT, title TEXT NOT NULL, duration REAL NOT NULL,
            has_video INTEGER, has_audio INTEGER, width INTEGER, height INTEGER, fps REAL,
            transcript_source TEXT, language TEXT, status TEXT NOT NULL, models TEXT,
            ingested_at TEXT, size INTEGER, mtime REAL
        );
        CREATE INDEX videos_path ON videos(path);
        CREATE TABLE spans (
            rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL,
            video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
            kind TEXT NOT NULL, start REAL NOT NULL, "end" REAL NOT NULL,
            text TEXT NOT NULL, source TEXT, extra TEXT
        );
        CREATE INDEX spans_time ON spans(video_id, kind, start);
        CREATE VIRTUAL TABLE spans_fts USING fts5(terms, tokenize='porter unicode61');
        """,
    ),
    (
        "002_summaries",
        """
        CREATE TABLE summaries (
            video_id TEXT PRIMARY KEY REFERENCES videos(id) ON DELETE CASCADE,
            source TEXT, data TEXT NOT NULL, created TEXT
        );
        """,
    ),
    # Latin words inside CJK text were glued to it ("photoshop里"): terms rebuilt.
    ("004_cjk_keywords", _rebuild_keywords),
]
VIDEO_COLUMNS = [f.name for f in fields(Video)]
SPAN_COLUMNS = ("id", "video_id", "kind", "start", "end", "text", "source", "extra")
_QUOTED_SPAN_COLUMNS = ", ".join('"' + c + '"' for c in SPAN_COLUMNS)  # "end" is a keyword
_SPAN_INSERT = (
    f"INSERT INTO spans ({_QUOTED_SPAN_COLUMNS}) VALUES ({', '.join('?' * len(SPAN_COLUMNS))})"
)


def migrate(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS _vidqa_migrations (name TEXT PRIMARY KEY, applied TEXT)")
    done = {row[0] for row in db.execute("SELECT name FROM _vidqa_migrations")}
    for name, sql in MIGRATIONS:
        if name not in done:
            with db:
                if callable(sql):
                    sql(db)
                else:
                    db.executescript(sql)
                db.execute("INSERT INTO _vidqa_migrations VALUES (?, datetime('now'))", (name,))


def _video_row(video: Video) -> tuple:
    row = asdict(video)
    row["models"] = json.dumps(row["models"])
    return tuple(row[c] for c in VIDEO_COLUMNS)


def _video(row: sqlite3.Row) -> Video:
    data = dict(row)
    data["models"] = json.loads(data["models"] or "{}")
    data["has_video"], data["has_audio"] = bool(data["has_video"]), bool(data["has_audio"])
    return Video(**data)


def _span(row: sqlite3.Row) -> Span:
    return Span(
        video_id=row["video_id"], start=row["start"], end=row["end"], kind=row["kind"],
        text=row["text"], source=row["source"], extra=json.loads(row["extra"] or "{}"),
        id=row["id"],
    )


class Catalog:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        # timeout: another process (the app, a concurrent ingest) may hold the write lock.
        self.db = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute("PRAGMA journal_mode = WAL")
        migrate(self.db)

    def close(self) -> None:
        self.db.close()

    def data_version(self) -> int:
        """Changes whenever another connection (another process) commits to the catalog."""
        return self.db.execute("PRAGMA data_version").fetchone()[0]

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.db:
            yield self.db

    # -- videos -------------------------------------------------------------
    def videos(self, *, include_incomplete: bool = False, limit: int = -1) -> list[Video]:
        sql = "SELECT * FROM videos" + ("" if include_incomplete else " WHERE status = 'ready'")
        return [_video(r) for r in self.db.execute(sql + " ORDER BY title, id LIMIT ?", (limit,))]

    def video(self, video_id: str) -> Video | None:
        row = self.db.execute("SELECT * FROM videos WHERE id = ?", (video_id,)).fetchone()
        return _video(row) if row else None

    def videos_by_id_prefix(self, prefix: str) -> list[Video]:
        """Ready videos whose id starts with `prefix` (uses the primary-key index)."""
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # [prefix, upper) is a range scan
        rows = self.db.execute(
            "SELECT * FROM videos WHERE id >= ? AND id < ? AND status = 'ready' LIMIT 10",
            (prefix, upper))
        return [_video(r) for r in rows]

    def videos_at_path(self, path: str) -> list[Video]:
        return [_video(r) for r in self.db.execute("SELECT * FROM videos WHERE path = ?", (path,))]

    def set_status(self, video_id: str, status: str) -> None:
        with self.db:
            self.db.execute("UPDATE videos SET status = ? WHERE id = ?", (status, video_id))

    def put_video(self, video: Video, spans: Iterable[Span], summary: dict | None = None) -> list[Span]:
        """Replace the video's record, spans and summary in one transaction; returns spans with ids."""
        placeholders = ", ".join("?" * len(VIDEO_COLUMNS))
        with self.db:
            self._delete_spans(video.id)
            self.db.execute("DELETE FROM videos WHERE id = ?", (video.id,))
            self.db.execute(
                f"INSERT INTO videos ({', '.join(VIDEO_COLUMNS)}) VALUES ({placeholders})",
                _video_row(video),
            )
            if summary is not None:
                self._put_summary(video.id, summary)
            return self._insert_spans(video.id, spans, start_at=0)

    def _put_summary(self, video_id: str, summary: dict) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO summaries VALUES (?, ?, ?, datetime('now'))",
            (video_id, summary.get("source"), json.dumps(summary, ensure_ascii=False)),
        )

    def put_summary(self, video_id: str, summary: dict) -> None:
        with self.db:
            self._put_summary(video_id, summary)

    def summary(self, video_id: str) -> dict | None:
        row = self.db.execute("SELECT data FROM summaries WHERE video_id = ?", (video_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def add_spans(self, video_id: str, spans: Iterable[Span], *, replace_kinds=()) -> list[Span]:
        """Add spans to an existing video (e.g. chapters rebuilt later), optionally replacing kinds."""
        with self.db:
            for kind in replace_kinds:
                self._delete_spans(video_id, kind)
            (count,) = self.db.execute(
                "SELECT COALESCE(MAX(rowid), 0) FROM spans"
            ).fetchone()
            return self._insert_spans(video_id, spans, start_at=count)

    def _insert_spans(self, video_id: str, spans: Iterable[Span], start_at: int) -> list[Span]:
        out = []
        for n, span in enumerate(spans, start=start_at):
            span.id = span.id or f"{video_id}/{span.kind}/{n}"
            cur = self.db.execute(
                _SPAN_INSERT,
                (span.id, video_id, span.kind, span.start, span.end, span.text, span.source,
                 json.dumps(span.extra, ensure_ascii=False)),
            )
            self.db.execute(
                "INSERT INTO spans_fts (rowid, terms) VALUES (?, ?)",
                (cur.lastrowid, keyword.document(span.text)),
            )
            out.append(span)
        return out

    def _delete_spans(self, video_id: str, kind: str | None = None) -> list[str]:
        where, args = "video_id = ?", [video_id]
        if kind:
            where, args = where + " AND kind = ?", args + [kind]
        rows = self.db.execute(f"SELECT rowid, id FROM spans WHERE {where}", args).fetchall()
        self.db.executemany("DELETE FROM spans_fts WHERE rowid = ?", [(r[0],) for r in rows])
        self.db.execute(f"DELETE FROM spans WHERE {where}", args)
        return [r[1] for r in rows]

    def delete_video(self, video_id: str) -> list[str]:
        """Remove a video and its spans; returns the removed span ids (for the vector store)."""
        with self.db:
            ids = self._delete_spans(video_id)
            self.db.execute("DELETE FROM videos WHERE id = ?", (video_id,))
        return ids

    def span_ids(self, video_id: str, kind: str | None = None) -> list[str]:
        sql, args = "SELECT id FROM spans WHERE video_id = ?", [video_id]
        if kind:
            sql, args = sql + " AND kind = ?", args + [kind]
        return [r[0] for r in self.db.execute(sql, args)]

    # -- spans --------------------------------------------------------------
    def spans(self, video_id: str, kinds: Iterable[str] = ("transcript",)) -> list[Span]:
        kinds = tuple(kinds)
        sql = (
            f"SELECT * FROM spans WHERE video_id = ? AND kind IN ({', '.join('?' * len(kinds))}) "
            "ORDER BY start, rowid"
        )
        return [_span(r) for r in self.db.execute(sql, (video_id, *kinds))]

    def spans_overlapping(
        self, video_id: str, start: float, end: float, kinds: Iterable[str] = ("transcript",)
    ) -> list[Span]:
        """Spans of a ready video that overlap [start, end] (a point when start == end)."""
        kinds = tuple(kinds)
        sql = (
            "SELECT s.* FROM spans s JOIN videos v ON v.id = s.video_id "
            f"WHERE s.video_id = ? AND v.status = 'ready' AND s.kind IN ({', '.join('?' * len(kinds))}) "
            'AND s.start <= ? AND s."end" >= ? ORDER BY s.start, s.rowid'
        )
        return [_span(r) for r in self.db.execute(sql, (video_id, *kinds, end, start))]

    def spans_by_id(self, ids: list[str]) -> dict[str, Span]:
        """Spans for ids, only from ready videos (stale vectors of half-ingested videos drop out)."""
        out: dict[str, Span] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            sql = (
                "SELECT s.* FROM spans s JOIN videos v ON v.id = s.video_id "
                f"WHERE v.status = 'ready' AND s.id IN ({', '.join('?' * len(chunk))})"
            )
            out.update((r["id"], _span(r)) for r in self.db.execute(sql, chunk))
        return out

    def keyword_search(
        self, query: str, *, limit: int = 50, video_id: str | None = None,
        kinds: Iterable[str] = ("transcript",),
    ) -> list[tuple[Span, float]]:
        """BM25 over span text; returns (span, score) with higher scores better."""
        match = keyword.match_query(query)
        if match is None:
            return []
        kinds = tuple(kinds)
        sql = (
            "SELECT s.*, bm25(spans_fts) AS rank FROM spans_fts "
            "JOIN spans s ON s.rowid = spans_fts.rowid JOIN videos v ON v.id = s.video_id "
            f"WHERE spans_fts MATCH ? AND v.status = 'ready' AND s.kind IN ({', '.join('?' * len(kinds))})"
        )
        args: list = [match, *kinds]
        if video_id:
            sql, args = sql + " AND s.video_id = ?", args + [video_id]
        sql += " ORDER BY rank LIMIT ?"
        rows = self.db.execute(sql, (*args, limit)).fetchall()
        return [(_span(r), -r["rank"]) for r in rows]

    def counts(self, video_id: str) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT kind, COUNT(*) FROM spans WHERE video_id = ? GROUP BY kind", (video_id,)
        )
        return {kind: n for kind, n in rows}

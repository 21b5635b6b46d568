"""The catalog: SQLite source of truth for videos and spans, time lookup and BM25.

Chroma holds only vectors keyed by span id; every result is joined back here and
filtered to videos whose status is 'ready', so a crash mid-ingest leaves nothing
half-written visible to queries. Schema changes are ordered, named migrations.

Generations: a video row carries the generation readers see; every span carries the
generation it was written under (and its id names it, so vectors never collide). A new
version is staged under a fresh generation next to the ready one, then `flip` switches
the video to it in one transaction; spans of any other generation are garbage that
the writer deletes afterwards. Status: indexing (first version not finished), ready,
removing (marked first, so readers stop seeing it before anything is deleted).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields
from pathlib import Path
from typing import Literal

from index import keyword
from index.records import Span, Video, VideoSummary, summary_from_dict, summary_to_dict

Status = Literal["indexing", "ready", "removing"]


def _rebuild_keywords(db: sqlite3.Connection) -> None:
    """Re-derive every span's keyword terms with the current `keyword.document`."""
    db.execute("DELETE FROM spans_fts")
    db.executemany(
        "INSERT INTO spans_fts (rowid, terms) VALUES (?, ?)",
        (
            (rowid, keyword.document(text))
            for rowid, text in db.execute("SELECT rowid, text FROM spans").fetchall()
        ),
    )


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
    (
        # Existing rows become generation 0 (their span ids keep the old "<id>/<kind>/<n>").
        "003_generations",
        """
        ALTER TABLE videos ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE spans ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX spans_generation ON spans(video_id, generation);
        CREATE TABLE library (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO library VALUES ('id', lower(hex(randomblob(8))));
        INSERT INTO library VALUES ('generation', '0');
        """,
    ),
    # Latin words inside CJK text were glued to it ("photoshop里"): terms rebuilt.
    ("004_cjk_keywords", _rebuild_keywords),
    (
        # Vectors of the texts search re-scores, embedded at ingest (index/sentence_vectors.py).
        "005_sentence_vectors",
        """
        CREATE TABLE sentence_vectors (
            video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
            model TEXT NOT NULL, key BLOB NOT NULL, vector BLOB NOT NULL,
            PRIMARY KEY (video_id, model, key)
        ) WITHOUT ROWID;
        """,
    ),
    (
        # A library records its text model with its first video (index/text_model.record);
        # one from before that holds videos and recorded nothing was embedded with MiniLM.
        "006_record_text_model",
        """
        INSERT INTO library (key, value)
        SELECT 'text_model', 'sentence-transformers/all-MiniLM-L6-v2'
        WHERE EXISTS (SELECT 1 FROM videos)
          AND NOT EXISTS (SELECT 1 FROM library WHERE key = 'text_model');
        """,
    ),
]
# A span is visible when its generation is its video's and the video is ready.
_CURRENT = "s.generation = v.generation"
KEYWORD_OVERFETCH = 4  # FTS5 matches ranked alone, per span wanted, before joining (keyword_search)
VIDEO_COLUMNS = [f.name for f in fields(Video)]
SPAN_COLUMNS = ("id", "video_id", "kind", "start", "end", "text", "source", "extra", "generation")
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
    data = {c: row[c] for c in VIDEO_COLUMNS}  # the generation column stays in the catalog
    data["models"] = json.loads(data["models"] or "{}")
    data["has_video"], data["has_audio"] = bool(data["has_video"]), bool(data["has_audio"])
    return Video(**data)


def _span(row: sqlite3.Row) -> Span:
    return Span(
        video_id=row["video_id"],
        start=row["start"],
        end=row["end"],
        kind=row["kind"],
        text=row["text"],
        source=row["source"],
        extra=json.loads(row["extra"] or "{}"),
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
            (prefix, upper),
        )
        return [_video(r) for r in rows]

    def videos_at_path(self, path: str) -> list[Video]:
        return [_video(r) for r in self.db.execute("SELECT * FROM videos WHERE path = ?", (path,))]

    def set_status(self, video_id: str, status: Status) -> None:
        with self.db:
            self.db.execute("UPDATE videos SET status = ? WHERE id = ?", (status, video_id))

    def videos_with_status(self, status: Status) -> list[Video]:
        return [
            _video(r) for r in self.db.execute("SELECT * FROM videos WHERE status = ?", (status,))
        ]

    def library_id(self) -> str:
        return self.db.execute("SELECT value FROM library WHERE key = 'id'").fetchone()[0]

    def library_value(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM library WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_library_value(self, key: str, value: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO library VALUES (?, ?)", (key, value))

    def switch_text_index(
        self, model_key: str, model: str, collection: str, video_ids: Iterable[str]
    ) -> None:
        """Record the library's text model and point the videos at its collection, in one
        transaction (their vectors must already be there)."""
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO library VALUES (?, ?)", (model_key, model))
            for video_id in video_ids:
                video = self.video(video_id)
                if video is not None:
                    models = {**video.models, "text_index": collection}
                    self.db.execute(
                        "UPDATE videos SET models = ? WHERE id = ?", (json.dumps(models), video_id)
                    )

    def generation(self, video_id: str) -> int | None:
        row = self.db.execute("SELECT generation FROM videos WHERE id = ?", (video_id,)).fetchone()
        return row[0] if row else None

    def next_generation(self) -> int:
        """A generation number never handed out before in this library."""
        with self.db:
            self.db.execute(
                "UPDATE library SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'"
            )
            return int(
                self.db.execute("SELECT value FROM library WHERE key = 'generation'").fetchone()[0]
            )

    def stage(self, video: Video, spans: Iterable[Span], generation: int) -> list[Span]:
        """Write spans under `generation`, invisible to readers until `flip`; returns them with ids.

        A ready video keeps its row (readers still see the old version); a video with no
        ready version gets an 'indexing' row pointing at this generation."""
        with self.db:
            row = self.db.execute("SELECT status FROM videos WHERE id = ?", (video.id,)).fetchone()
            if row is None or row[0] != "ready":
                self._write_video(video, "indexing", generation)
            return self._insert_spans(video.id, spans, generation)

    def _write_video(self, video: Video, status: Status, generation: int) -> None:
        columns = [*VIDEO_COLUMNS, "generation"]
        row = dict(zip(VIDEO_COLUMNS, _video_row(video), strict=True))
        row.update(status=status, generation=generation)
        self.db.execute(
            f"INSERT INTO videos ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT(id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in columns)}",
            tuple(row[c] for c in columns),
        )

    def flip(self, video: Video, generation: int, summary: VideoSummary | None = None) -> list[str]:
        """One transaction: `video` becomes ready at `generation` (its record and summary too),
        and other videos at its path are marked 'removing'. Returns their ids."""
        with self.db:
            self._write_video(video, "ready", generation)
            if summary is not None:
                self._put_summary(video.id, summary)
            if not video.path:
                return []
            stale = [
                r[0]
                for r in self.db.execute(
                    "SELECT id FROM videos WHERE path = ? AND id != ?", (video.path, video.id)
                )
            ]
            self.db.executemany(
                "UPDATE videos SET status = 'removing' WHERE id = ?", [(i,) for i in stale]
            )
            return stale

    def stage_spans(self, video_id: str, spans: Iterable[Span], generation: int) -> list[Span]:
        """Spans to add to a ready video, written under a pending generation (see flip_spans)."""
        with self.db:
            return self._insert_spans(video_id, spans, generation)

    def flip_spans(
        self,
        video_id: str,
        generation: int,
        replace_kinds: Iterable[str],
        summary: VideoSummary | None = None,
    ) -> None:
        """One transaction: the staged spans join the video's current generation and its
        earlier spans of `replace_kinds` leave it (garbage, deleted afterwards)."""
        kinds = tuple(replace_kinds)
        with self.db:
            current = self.generation(video_id)
            if kinds:
                self.db.execute(
                    "UPDATE spans SET generation = -1 WHERE video_id = ? AND generation = ? "
                    f"AND kind IN ({', '.join('?' * len(kinds))})",
                    (video_id, current, *kinds),
                )
            self.db.execute(
                "UPDATE spans SET generation = ? WHERE video_id = ? AND generation = ?",
                (current, video_id, generation),
            )
            if summary is not None:
                self._put_summary(video_id, summary)

    def stale_spans(self, video_id: str | None = None) -> list[tuple[str, str, str]]:
        """(video id, span id, kind) of spans outside their video's generation: garbage of a
        replaced version, or of a write that never flipped."""
        sql = (
            "SELECT s.video_id, s.id, s.kind FROM spans s JOIN videos v ON v.id = s.video_id "
            f"WHERE NOT ({_CURRENT})"
        )
        args = ()
        if video_id:
            sql, args = sql + " AND s.video_id = ?", (video_id,)
        return [tuple(r) for r in self.db.execute(sql, args)]

    def delete_span_rows(self, ids: list[str]) -> None:
        with self.db:
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                marks = ", ".join("?" * len(chunk))
                self.db.execute(
                    f"DELETE FROM spans_fts WHERE rowid IN "
                    f"(SELECT rowid FROM spans WHERE id IN ({marks}))",
                    chunk,
                )
                self.db.execute(f"DELETE FROM spans WHERE id IN ({marks})", chunk)

    def _put_summary(self, video_id: str, summary: VideoSummary) -> None:
        data = json.dumps(summary_to_dict(summary), ensure_ascii=False)
        self.db.execute(
            "INSERT OR REPLACE INTO summaries VALUES (?, ?, ?, datetime('now'))",
            (video_id, summary.source, data),
        )

    def put_summary(self, video_id: str, summary: VideoSummary) -> None:
        with self.db:
            self._put_summary(video_id, summary)

    def summary(self, video_id: str) -> VideoSummary | None:
        row = self.db.execute(
            "SELECT data FROM summaries WHERE video_id = ?", (video_id,)
        ).fetchone()
        return summary_from_dict(json.loads(row[0])) if row else None

    def _insert_spans(self, video_id: str, spans: Iterable[Span], generation: int) -> list[Span]:
        out = []
        for n, span in enumerate(spans):
            span.id = f"{video_id}/g{generation}/{span.kind}/{n}"  # unique across versions
            cur = self.db.execute(
                _SPAN_INSERT,
                (
                    span.id,
                    video_id,
                    span.kind,
                    span.start,
                    span.end,
                    span.text,
                    span.source,
                    json.dumps(span.extra, ensure_ascii=False),
                    generation,
                ),
            )
            self.db.execute(
                "INSERT INTO spans_fts (rowid, terms) VALUES (?, ?)",
                (cur.lastrowid, keyword.document(span.text)),
            )
            out.append(span)
        return out

    def delete_video(self, video_id: str) -> None:
        """Remove a video's row, every span of every generation, and its summary."""
        with self.db:
            self.db.execute(
                "DELETE FROM spans_fts WHERE rowid IN (SELECT rowid FROM spans WHERE video_id = ?)",
                (video_id,),
            )
            self.db.execute("DELETE FROM spans WHERE video_id = ?", (video_id,))
            self.db.execute("DELETE FROM videos WHERE id = ?", (video_id,))

    def all_span_ids(self, video_id: str) -> list[str]:
        """Every span id of the video, all generations (what removal deletes from Chroma)."""
        return [
            r[0] for r in self.db.execute("SELECT id FROM spans WHERE video_id = ?", (video_id,))
        ]

    def span_ids_everywhere(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT id FROM spans")}

    # -- spans --------------------------------------------------------------
    def spans(self, video_id: str, kinds: Iterable[str] = ("transcript",)) -> list[Span]:
        kinds = tuple(kinds)
        sql = (
            f"SELECT s.* FROM spans s JOIN videos v ON v.id = s.video_id WHERE {_CURRENT} "
            f"AND s.video_id = ? AND s.kind IN ({', '.join('?' * len(kinds))}) "
            "ORDER BY s.start, s.rowid"
        )
        return [_span(r) for r in self.db.execute(sql, (video_id, *kinds))]

    def spans_overlapping(
        self, video_id: str, start: float, end: float, kinds: Iterable[str] = ("transcript",)
    ) -> list[Span]:
        """Spans of a ready video that overlap [start, end] (a point when start == end)."""
        kinds = tuple(kinds)
        sql = (
            "SELECT s.* FROM spans s JOIN videos v ON v.id = s.video_id "
            f"WHERE s.video_id = ? AND v.status = 'ready' AND {_CURRENT} AND s.kind IN ({', '.join('?' * len(kinds))}) "
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
                f"WHERE v.status = 'ready' AND {_CURRENT} AND s.id IN ({', '.join('?' * len(chunk))})"
            )
            out.update((r["id"], _span(r)) for r in self.db.execute(sql, chunk))
        return out

    def keyword_search(
        self,
        query: str,
        *,
        limit: int = 50,
        video_id: str | None = None,
        kinds: Iterable[str] = ("transcript",),
    ) -> list[tuple[Span, float]]:
        """BM25 over span text; returns (span, score) with higher scores better."""
        match = keyword.match_query(query)
        if match is None:
            return []
        kinds = tuple(kinds)
        if not video_id and (found := self._keyword_ranked_first(match, limit, kinds)) is not None:
            return found
        sql = (
            "SELECT s.*, bm25(spans_fts) AS rank FROM spans_fts "
            "JOIN spans s ON s.rowid = spans_fts.rowid JOIN videos v ON v.id = s.video_id "
            f"WHERE spans_fts MATCH ? AND v.status = 'ready' AND {_CURRENT} AND s.kind IN ({', '.join('?' * len(kinds))})"
        )
        args: list = [match, *kinds]
        if video_id:
            sql, args = sql + " AND s.video_id = ?", args + [video_id]
        sql += " ORDER BY rank LIMIT ?"
        rows = self.db.execute(sql, (*args, limit)).fetchall()
        return [(_span(r), -r["rank"]) for r in rows]

    def _keyword_ranked_first(
        self, match: str, limit: int, kinds: tuple[str, ...]
    ) -> list[tuple[Span, float]] | None:
        """The same top `limit` as the joined query, or None when this way cannot tell.

        FTS5 ranks its matches alone first, then only the best few times `limit` are joined
        to spans and videos and filtered: joining every match before sorting took 17 ms of a
        100 h library's search (9 ms this way, the same spans in 120 of 120 queries). When
        fewer than `limit` of those pass the filter (mostly other kinds or stale versions)
        and more matches exist, better-ranked passing spans may lie beyond them: None."""
        fetch = limit * KEYWORD_OVERFETCH
        ranks = dict(
            self.db.execute(
                "SELECT rowid, bm25(spans_fts) AS rank FROM spans_fts WHERE spans_fts MATCH ? "
                "ORDER BY rank LIMIT ?",
                (match, fetch),
            ).fetchall()
        )
        if not ranks:
            return []
        sql = (
            "SELECT s.*, s.rowid AS fts_rowid FROM spans s JOIN videos v ON v.id = s.video_id "
            f"WHERE s.rowid IN ({', '.join('?' * len(ranks))}) AND v.status = 'ready' AND {_CURRENT} "
            f"AND s.kind IN ({', '.join('?' * len(kinds))})"
        )
        rows = self.db.execute(sql, (*ranks, *kinds)).fetchall()
        if len(rows) < limit and len(ranks) == fetch:
            return None
        rows.sort(key=lambda r: (ranks[r["fts_rowid"]], r["fts_rowid"]))
        return [(_span(r), -ranks[r["fts_rowid"]]) for r in rows[:limit]]

    def counts(self, video_id: str) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT s.kind, COUNT(*) FROM spans s JOIN videos v ON v.id = s.video_id "
            f"WHERE s.video_id = ? AND {_CURRENT} GROUP BY s.kind",
            (video_id,),
        )
        return {kind: n for kind, n in rows}

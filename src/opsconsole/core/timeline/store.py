"""The timeline kept in SQLite: the only module of the timeline that speaks SQL."""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec
from psygnal import Signal

from opsconsole.core.paths import data_dir
from opsconsole.core.sqlitefile import SQLITE_MAGIC as SQLITE_MAGIC
from opsconsole.core.sqlitefile import SqliteBacked, SqliteFile, Unusable
from opsconsole.core.timeline.entry import TimelineEntry, TimelineFilter

log = logging.getLogger(__name__)

TIMELINE_FILE = "timeline.sqlite3"
SCHEMA_VERSION = 1
DEFAULT_LIMIT = 500


def default_path() -> Path:
    """The timeline database in the platform's data folder."""
    return data_dir() / TIMELINE_FILE


class TimelineStore(SqliteBacked):
    """The timeline in SQLite (WAL). `None` as path keeps it in memory (tests, read-only runs).

    The file and its folder are created on first use. A damaged or foreign file never stops the
    console: it is renamed aside with a timestamp suffix, a warning is logged, and a fresh
    timeline starts. A file that cannot be opened at all (permissions, a locked disk) falls
    back to memory, so the console runs without keeping history rather than not at all.
    """

    entry_added = Signal(object)  # the stored TimelineEntry (with its id)
    entry_updated = Signal(object)  # a stored entry rewritten in place (same id and time)

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._file = SqliteFile(path, _migrate, "timeline", log)

    # ------------------------------------------------------------ writing and reading

    def append(self, entry: TimelineEntry) -> TimelineEntry | None:
        """Store an entry; returns it with its id, or None when it was already there."""
        if not math.isfinite(entry.ts):
            raise ValueError(f"timeline entry without a valid time: {entry.ts!r}")
        data = msgspec.json.encode(entry.data, enc_hook=str)

        def insert(db: sqlite3.Connection) -> int | None:
            cursor = db.execute(
                "INSERT OR IGNORE INTO entries (ts, backend, kind, service, message, data, ref)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.ts,
                    entry.backend,
                    entry.kind,
                    entry.service,
                    entry.message,
                    data,
                    entry.ref,
                ),
            )
            return cursor.lastrowid if cursor.rowcount == 1 else None

        row_id = self._run(insert, None)
        if row_id is None:
            return None
        stored = msgspec.structs.replace(entry, id=row_id)
        self.entry_added.emit(stored)
        return stored

    def update(self, entry: TimelineEntry) -> TimelineEntry | None:
        """Rewrite the words and details of a stored entry (a group that grew); its id, time
        and place stay. Returns it, or None when no such entry is stored (any more)."""
        if entry.id <= 0:
            raise ValueError("only a stored entry (with its id) can be updated")
        data = msgspec.json.encode(entry.data, enc_hook=str)

        def rewrite(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                "UPDATE entries SET message = ?, data = ? WHERE id = ? AND backend = ? AND ts = ?",
                (entry.message, data, entry.id, entry.backend, entry.ts),
            )
            return cursor.rowcount == 1

        if not self._run(rewrite, False):
            return None
        self.entry_updated.emit(entry)
        return entry

    def recent(
        self,
        limit: int = DEFAULT_LIMIT,
        kinds: Iterable[str] | None = None,
        service: str | None = None,
        text: str | None = None,
        after_id: int | None = None,
    ) -> list[TimelineEntry]:
        """Newest first (time, then insertion order). `service` and each word of `text` match
        case-insensitively as substrings (text: message or service); `after_id` gives only
        entries stored after that one."""
        where: list[str] = []
        params: list[Any] = []
        if kinds is not None:
            wanted = tuple(kinds)
            if not wanted:
                return []
            where.append(f"kind IN ({', '.join('?' * len(wanted))})")
            params.extend(wanted)
        if service:
            where.append("IFNULL(service, '') LIKE ? ESCAPE '\\'")
            params.append(_like(service))
        for word in (text or "").split():
            where.append("(message LIKE ? ESCAPE '\\' OR IFNULL(service, '') LIKE ? ESCAPE '\\')")
            params.extend((_like(word), _like(word)))
        if after_id is not None:
            where.append("id > ?")
            params.append(after_id)
        sql = "SELECT id, ts, backend, kind, service, message, data, ref FROM entries"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY ts DESC, id DESC LIMIT ?"
        params.append(max(0, limit))

        def select(db: sqlite3.Connection) -> list[TimelineEntry]:
            return [_entry(row) for row in db.execute(sql, params)]

        result: list[TimelineEntry] = self._run(select, [])
        return result

    def matching(
        self, flt: TimelineFilter, limit: int = DEFAULT_LIMIT, after_id: int | None = None
    ) -> list[TimelineEntry]:
        """`recent` with a parsed filter."""
        return self.recent(limit, flt.kinds, flt.service, flt.text, after_id)

    def count(self) -> int:
        def count(db: sqlite3.Connection) -> int:
            return int(db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

        result: int = self._run(count, 0)
        return result

    def last_id(self) -> int:
        """The id of the newest stored entry (0 when empty): later entries have larger ids."""

        def last(db: sqlite3.Connection) -> int:
            return int(db.execute("SELECT IFNULL(MAX(id), 0) FROM entries").fetchone()[0])

        result: int = self._run(last, 0)
        return result


def _migrate(db: sqlite3.Connection) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version != 0:
        raise Unusable(f"schema version {version}, this console knows {SCHEMA_VERSION}")
    try:
        db.execute("BEGIN")
        db.execute(
            """CREATE TABLE entries (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                ts REAL NOT NULL,
                backend TEXT NOT NULL,
                kind TEXT NOT NULL,
                service TEXT,
                message TEXT NOT NULL,
                data TEXT NOT NULL DEFAULT '{}',
                ref TEXT
            )"""
        )
        # Replayed or resynced frames carry the same time and words: stored once.
        db.execute("CREATE UNIQUE INDEX entries_dedup ON entries (backend, ts, kind, message)")
        db.execute(
            "CREATE UNIQUE INDEX entries_ref ON entries (backend, ref) WHERE ref IS NOT NULL"
        )
        db.execute("CREATE INDEX entries_time ON entries (ts DESC, id DESC)")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        if db.in_transaction:
            db.execute("ROLLBACK")
        # A version-0 file with its own tables is someone else's database, not ours to change.
        raise Unusable(f"cannot create the timeline schema: {exc}") from exc


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _entry(row: tuple[Any, ...]) -> TimelineEntry:
    row_id, ts, backend, kind, service, message, data, ref = row
    try:
        details = msgspec.json.decode(data)
    except msgspec.DecodeError:
        details = {}
    return TimelineEntry(
        ts=ts,
        backend=backend,
        kind=kind,
        service=service,
        message=message,
        data=details if isinstance(details, dict) else {},
        id=row_id,
        ref=ref,
    )

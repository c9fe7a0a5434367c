"""Incidents kept in SQLite in the data folder: the only module of the incident that speaks SQL.

One incident is open at a time. The console's commands (`:incident note`, `star`, `close`)
name no incident, and the status bar and the wall show one title, so a second `open` while one
is open is refused (`IncidentError`); closed incidents stay for their post-mortems, and their
stars and notes can still be changed by id. The rule is also a partial unique index, so two
console windows sharing the file cannot both open one.

Follows the timeline store: schema version in `PRAGMA user_version`, WAL, a damaged or foreign
file renamed aside with a timestamp suffix and a fresh one started, memory when the file cannot
be used at all, so the console runs without keeping incidents rather than not at all.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from psygnal import Signal

from opsconsole.core.incident.model import Incident, Note, Severity, Star, check_tag
from opsconsole.core.incident.record import SAMPLE_FIELDS, Sample, SloSnapshot
from opsconsole.core.paths import data_dir
from opsconsole.core.sqlitefile import SqliteBacked, SqliteFile, Unusable

log = logging.getLogger(__name__)

INCIDENTS_FILE = "incidents.sqlite3"
SCHEMA_VERSION = 2
T = TypeVar("T")


def default_path() -> Path:
    """The incidents database in the platform's data folder, beside the timeline."""
    return data_dir() / INCIDENTS_FILE


class IncidentError(Exception):
    """An incident command that cannot apply: none open, one already open, a bad time."""


class IncidentStore(SqliteBacked):
    """Incidents in SQLite (WAL). `None` as path keeps them in memory (tests, read-only runs).

    Changes return the incident as stored, or None when the database failed (logged)."""

    changed = Signal(object)  # the Incident after any change

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._file = SqliteFile(path, _migrate, "incidents", log)

    # ------------------------------------------------------------ reading

    def current(self) -> Incident | None:
        """The open incident, if any."""
        result: Incident | None = self._run(lambda db: _load_open(db), None)
        return result

    def get(self, incident_id: int) -> Incident | None:
        result: Incident | None = self._run(lambda db: _load(db, incident_id), None)
        return result

    def recent(self, limit: int = 50) -> list[Incident]:
        """Newest first (by start)."""

        def select(db: sqlite3.Connection) -> list[Incident]:
            rows = db.execute(
                "SELECT id FROM incidents ORDER BY start_ts DESC, id DESC LIMIT ?",
                (max(0, limit),),
            ).fetchall()
            return [i for (row_id,) in rows if (i := _load(db, row_id)) is not None]

        result: list[Incident] = self._run(select, [])
        return result

    # ------------------------------------------------------------ changing

    def open(self, title: str, severity: Severity, start_ts: float, now: float) -> Incident | None:
        """Start an incident; refused while another is open or with a start after `now`."""
        title = title.strip()
        if not title:
            raise IncidentError("an incident needs a title")
        _check_time(start_ts, "start")
        if start_ts > now:
            raise IncidentError("an incident cannot start in the future")

        def insert(db: sqlite3.Connection) -> Incident | None:
            if _open_id(db) is not None:
                raise IncidentError("an incident is already open; close it first")
            cursor = db.execute(
                "INSERT INTO incidents (title, severity, start_ts, opened_ts) VALUES (?, ?, ?, ?)",
                (title, severity.value, start_ts, now),
            )
            return _load(db, int(cursor.lastrowid or 0))

        return self._change(insert)

    def note(self, text: str, now: float, incident_id: int | None = None) -> Incident | None:
        text = text.strip()
        if not text:
            raise IncidentError("an empty note")

        def add(db: sqlite3.Connection) -> Incident | None:
            target = _target(db, incident_id)
            db.execute(
                "INSERT INTO notes (incident_id, ts, text) VALUES (?, ?, ?)", (target, now, text)
            )
            return _load(db, target)

        return self._change(add)

    def star(
        self, entry_id: int, tag: str = "key moment", incident_id: int | None = None
    ) -> Incident | None:
        """Star a timeline entry (or re-tag a starred one)."""
        check_tag(tag)
        return self._set_star(entry_id, tag, incident_id)

    def unstar(self, entry_id: int, incident_id: int | None = None) -> Incident | None:
        """Remove a star; an automatic star stays removed (remembered in `unstarred`)."""
        return self._set_star(entry_id, None, incident_id)

    def move_start(self, start_ts: float, incident_id: int | None = None) -> Incident | None:
        """Move the start; it must stay before the end (or the opening, while open)."""
        _check_time(start_ts, "start")

        def move(db: sqlite3.Connection) -> Incident | None:
            target = _target(db, incident_id)
            opened, end = db.execute(
                "SELECT opened_ts, end_ts FROM incidents WHERE id = ?", (target,)
            ).fetchone()
            if start_ts > (end if end is not None else opened):
                raise IncidentError("the start must come before the end (or the opening)")
            db.execute("UPDATE incidents SET start_ts = ? WHERE id = ?", (start_ts, target))
            return _load(db, target)

        return self._change(move)

    def close_incident(self, now: float) -> Incident | None:
        """End the open incident at `now` (never before its start)."""
        _check_time(now, "end")

        def end(db: sqlite3.Connection) -> Incident | None:
            target = _target(db, None)
            start = db.execute("SELECT start_ts FROM incidents WHERE id = ?", (target,))
            end_ts = max(now, float(start.fetchone()[0]))
            db.execute("UPDATE incidents SET end_ts = ? WHERE id = ?", (end_ts, target))
            return _load(db, target)

        return self._change(end)

    # ------------------------------------------------------------ the incident's own record

    def add_samples(self, incident_id: int, samples: Iterable[Sample]) -> int:
        """Keep golden-signal samples for an incident; a sample already kept (same backend,
        service and time) is not doubled. Returns how many rows were written."""
        rows = [
            (incident_id, s.backend, s.service, s.ts, *(_real(s.value(f)) for f in SAMPLE_FIELDS))
            for s in samples
            if math.isfinite(s.ts)
        ]
        if not rows:
            return 0
        marks = ", ".join("?" * (4 + len(SAMPLE_FIELDS)))

        def insert(db: sqlite3.Connection) -> int:
            before = db.total_changes
            db.executemany(
                f"INSERT OR IGNORE INTO samples (incident_id, backend, service, ts, "
                f"{', '.join(SAMPLE_FIELDS)}) VALUES ({marks})",
                rows,
            )
            return db.total_changes - before

        written: int = self._run(_in_transaction(insert), 0)
        return written

    def samples(self, incident_id: int) -> list[Sample]:
        """The incident's samples, by service and then time."""

        def select(db: sqlite3.Connection) -> list[Sample]:
            cursor = db.execute(
                f"SELECT backend, service, ts, {', '.join(SAMPLE_FIELDS)} FROM samples "
                "WHERE incident_id = ? ORDER BY backend, service, ts",
                (incident_id,),
            )
            return [
                Sample(b, svc, ts, *(math.nan if v is None else v for v in values))
                for b, svc, ts, *values in cursor
            ]

        result: list[Sample] = self._run(select, [])
        return result

    def last_sample_ts(self, incident_id: int) -> float | None:
        """The newest sample's time (where a recorder resumes after a restart)."""
        row = self._run(
            lambda db: db.execute(
                "SELECT MAX(ts) FROM samples WHERE incident_id = ?", (incident_id,)
            ).fetchone(),
            None,
        )
        return None if row is None or row[0] is None else float(row[0])

    def add_slo_snapshot(self, incident_id: int, snapshot: SloSnapshot) -> bool:
        """Keep an SLO's figures as seen during the incident."""
        s = snapshot

        def insert(db: sqlite3.Connection) -> bool:
            db.execute(
                "INSERT INTO slo_snapshots (incident_id, backend, service, ts, objective, "
                "window, window_total, window_bad, ratios_only) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    incident_id,
                    s.backend,
                    s.service,
                    s.ts,
                    s.objective,
                    s.window,
                    s.window_total,
                    s.window_bad,
                    int(s.ratios_only),
                ),
            )
            return True

        done: bool = self._run(insert, False)
        return done

    def slo_snapshots(self, incident_id: int) -> list[SloSnapshot]:
        """The SLO figures kept for the incident, oldest first."""

        def select(db: sqlite3.Connection) -> list[SloSnapshot]:
            cursor = db.execute(
                "SELECT backend, service, ts, objective, window, window_total, window_bad, "
                "ratios_only FROM slo_snapshots WHERE incident_id = ? ORDER BY ts, id",
                (incident_id,),
            )
            return [SloSnapshot(*row[:7], bool(row[7])) for row in cursor]

        result: list[SloSnapshot] = self._run(select, [])
        return result

    def _set_star(self, entry_id: int, tag: str | None, incident_id: int | None) -> Incident | None:
        if entry_id <= 0:
            raise IncidentError("only a stored timeline entry can be starred")

        def put(db: sqlite3.Connection) -> Incident | None:
            target = _target(db, incident_id)
            db.execute(
                "INSERT OR REPLACE INTO stars (incident_id, entry_id, tag) VALUES (?, ?, ?)",
                (target, entry_id, tag),
            )
            return _load(db, target)

        return self._change(put)

    def _change(self, action: Callable[[sqlite3.Connection], Incident | None]) -> Incident | None:
        changed: Incident | None = self._run(_in_transaction(action), None)
        if changed is not None:
            self.changed.emit(changed)
        return changed


# ------------------------------------------------------------ SQL helpers


def _in_transaction(action: Callable[[sqlite3.Connection], T]) -> Callable[[sqlite3.Connection], T]:
    """`action` in one write transaction (the connection is in autocommit mode)."""

    def run(db: sqlite3.Connection) -> T:
        db.execute("BEGIN IMMEDIATE")
        try:
            result = action(db)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return result

    return run


def _real(value: float) -> float | None:
    return value if math.isfinite(value) else None  # NULL: not reported


def _check_time(ts: float, what: str) -> None:
    if not math.isfinite(ts):
        raise IncidentError(f"an incident {what} without a valid time: {ts!r}")


def _open_id(db: sqlite3.Connection) -> int | None:
    row = db.execute("SELECT id FROM incidents WHERE end_ts IS NULL").fetchone()
    return int(row[0]) if row else None


def _target(db: sqlite3.Connection, incident_id: int | None) -> int:
    """The incident a change applies to: the one named, or the open one."""
    if incident_id is None:
        found = _open_id(db)
        if found is None:
            raise IncidentError("no incident is open")
        return found
    if db.execute("SELECT 1 FROM incidents WHERE id = ?", (incident_id,)).fetchone() is None:
        raise IncidentError(f"no incident {incident_id}")
    return incident_id


def _load_open(db: sqlite3.Connection) -> Incident | None:
    found = _open_id(db)
    return None if found is None else _load(db, found)


def _load(db: sqlite3.Connection, incident_id: int) -> Incident | None:
    row = db.execute(
        "SELECT id, title, severity, start_ts, opened_ts, end_ts FROM incidents WHERE id = ?",
        (incident_id,),
    ).fetchone()
    if row is None:
        return None
    row_id, title, severity, start_ts, opened_ts, end_ts = row
    notes = tuple(
        Note(ts, text)
        for ts, text in db.execute(
            "SELECT ts, text FROM notes WHERE incident_id = ? ORDER BY ts, id", (row_id,)
        )
    )
    star_rows = db.execute(
        "SELECT entry_id, tag FROM stars WHERE incident_id = ? ORDER BY entry_id", (row_id,)
    ).fetchall()
    try:
        level = Severity(severity)
    except ValueError:
        level = Severity.SEV4  # written by a newer console: shown, never dropped
    return Incident(
        id=row_id,
        title=title,
        severity=level,
        start_ts=start_ts,
        opened_ts=opened_ts,
        end_ts=end_ts,
        notes=notes,
        stars=tuple(Star(entry_id, tag) for entry_id, tag in star_rows if tag is not None),
        unstarred=frozenset(entry_id for entry_id, tag in star_rows if tag is None),
    )


def _migrate(db: sqlite3.Connection) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version not in (0, 1):
        raise Unusable(f"schema version {version}, this console knows {SCHEMA_VERSION}")
    try:
        db.execute("BEGIN")
        if version == 0:
            _create_v1(db)
        _create_record(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        if db.in_transaction:
            db.execute("ROLLBACK")
        # A version-0 file with its own tables is someone else's database, not ours to change.
        raise Unusable(f"cannot create the incidents schema: {exc}") from exc


def _create_v1(db: sqlite3.Connection) -> None:
    """Incidents, notes and stars (schema 1)."""
    db.execute(
        """CREATE TABLE incidents (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            title TEXT NOT NULL,
            severity TEXT NOT NULL,
            start_ts REAL NOT NULL,
            opened_ts REAL NOT NULL,
            end_ts REAL
        )"""
    )
    # One open incident at a time, even with two consoles on one file.
    db.execute(
        "CREATE UNIQUE INDEX incidents_one_open ON incidents ((end_ts IS NULL))"
        " WHERE end_ts IS NULL"
    )
    db.execute(
        """CREATE TABLE notes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            incident_id INTEGER NOT NULL REFERENCES incidents (id),
            ts REAL NOT NULL,
            text TEXT NOT NULL
        )"""
    )
    # tag NULL: the operator removed this entry's automatic star.
    db.execute(
        """CREATE TABLE stars (
            incident_id INTEGER NOT NULL REFERENCES incidents (id),
            entry_id INTEGER NOT NULL,
            tag TEXT,
            PRIMARY KEY (incident_id, entry_id)
        )"""
    )


def _create_record(db: sqlite3.Connection) -> None:
    """The incident's own record (schema 2): sampled golden signals and SLO snapshots."""
    db.execute(
        f"""CREATE TABLE samples (
            incident_id INTEGER NOT NULL REFERENCES incidents (id),
            backend TEXT NOT NULL,
            service TEXT NOT NULL,
            ts REAL NOT NULL,
            {", ".join(f"{f} REAL" for f in SAMPLE_FIELDS)},
            PRIMARY KEY (incident_id, backend, service, ts)
        ) WITHOUT ROWID"""
    )
    db.execute(
        """CREATE TABLE slo_snapshots (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            incident_id INTEGER NOT NULL REFERENCES incidents (id),
            backend TEXT NOT NULL,
            service TEXT NOT NULL,
            ts REAL NOT NULL,
            objective REAL NOT NULL,
            window TEXT NOT NULL,
            window_total REAL NOT NULL,
            window_bad REAL NOT NULL,
            ratios_only INTEGER NOT NULL
        )"""
    )

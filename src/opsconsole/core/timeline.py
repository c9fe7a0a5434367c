"""The incident timeline: a durable SQLite log of what happened, and the recorder that fills it.

Post-mortems are built from a timestamped timeline (docs: domain.md), so every entry keeps the
time the event itself happened, in one time base per backend, and survives a console restart.

Where entries come from (`TimelineRecorder`):

- Breaker and cluster lines are derived from *state changes only* (circuit and db frames,
  snapshots and resyncs alike), compared with the last state seen; the first sighting of a
  circuit or cluster is its baseline and writes nothing. A backend that also sends `event`
  frames of kind "breaker" or "failover" for the very change just derived (the reference backend
  sends each change as a state frame immediately followed by its event) would print the same
  fact twice, so such an event is skipped when it names a circuit or cluster whose change was
  derived within `PAIR_WINDOW_S`: each derived change pairs with at most one event. Events that
  pair with nothing (a replica rejoining, a backend that sends no state frames) are kept.
- A restarted backend (the client's "Backend … restarted" line, written before the new run's
  snapshot) starts a new history: its circuits and clusters are taken as new baselines, never
  compared with the old run's. A cluster whose timeline went down has started over too (a
  timeline only grows within one history): one "state after a restart" line, never a promotion.
- A breaker flapping between two states (each change within `FLAP_WINDOW_S` of the last, see
  `core.flapping`) is one line: its first change is written at once as usual, the rest grow
  one "flapping open ↔ half-open ×N (12:01:10–12:03:40)" entry, rewritten in place.
- Alerts: a line when one starts firing, resolves, or is first acknowledged; repeated frames of
  the same alert write nothing. These lines carry a stable `ref` so a restarted console that
  sees the same firing alert again (with another current value in its message) adds no
  duplicate.
- Link changes: the client already reports them as "info" events (lost, restored,
  resynchronised), recorded as kind "connection"; the recorder adds "auth failed" itself.
- Operator actions: `record_action`, called by the action pipeline.

Times in messages are local HH:MM:SS (`core.clocktext`), written when the line is made.
Entry times: events carry the backend's own time; alerts their `since_ts`/`acked_ts`; breakers their
`last_transition_ts`. Changes without a time of their own (a cluster's state, an alert's
resolution, operator actions) are stamped with the store's estimate of that backend's clock,
so they sort correctly among the backend's events even when the workstation clock is off.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import re
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any

import msgspec
from psygnal import Signal

from opsconsole.core.clocktext import span_text
from opsconsole.core.events import LINK_RESTARTED
from opsconsole.core.flapping import FlapRun, next_run
from opsconsole.core.models import (
    Alert,
    Circuit,
    ConnectionState,
    DbCluster,
    DbMember,
    Event,
    LinkStatus,
)
from opsconsole.core.paths import data_dir
from opsconsole.core.store import Store

log = logging.getLogger(__name__)

TIMELINE_FILE = "timeline.sqlite3"
SCHEMA_VERSION = 1
DEFAULT_LIMIT = 500
KINDS: tuple[str, ...] = (
    "alert",
    "breaker",
    "cluster",
    "failover",
    "action",
    "scenario",
    "deploy",
    "connection",
    "info",
)
# A derived breaker/cluster change and the backend's own event for it arrive back to back;
# a few seconds of slack covers a busy loop without swallowing a later, unrelated event.
PAIR_WINDOW_S = 5.0
# Alerts remembered per backend; resolved ones beyond this are forgotten (a forgotten resolved
# alert seen again is only a baseline, so forgetting never invents a line).
MAX_KNOWN_ALERTS = 5000

# The client's words for link changes ("Lost the link to …", "Link to … restored",
# "Resynchronised …", "Backend … restarted"); they arrive as "info" events and belong to kind
# "connection".
_LINK_MESSAGE = re.compile(
    r"^(Lost the link to |Link to .* restored|Resynchronised\b|Backend .* restarted\b)"
)
# SQLite's primary result codes for a damaged file: SQLITE_CORRUPT, SQLITE_NOTADB.
_CORRUPT_CODES = {11, 26}
SQLITE_MAGIC = b"SQLite format 3\x00"


def default_path() -> Path:
    """The timeline database in the platform's data folder."""
    return data_dir() / TIMELINE_FILE


class TimelineEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One line of the timeline. `id` is assigned by the store (0 until stored)."""

    ts: float  # epoch seconds: when the event itself happened
    backend: str
    kind: str  # one of KINDS
    service: str | None = None
    message: str  # plain words, as shown
    data: dict[str, Any] = {}  # JSON-serialisable details
    id: int = 0
    # A stable identity for events whose message may differ when seen again (an alert's value);
    # unique per backend when set, so a re-sighting after a restart adds nothing.
    ref: str | None = None


@dataclass(frozen=True)
class TimelineFilter:
    """What the operator typed after `/`: `kind:alert service:orders free words`."""

    kinds: tuple[str, ...] | None = None  # None: every kind
    service: str | None = None  # substring of the service, case-insensitive
    text: str = ""  # every word must occur in the message or the service

    @classmethod
    def parse(cls, query: str) -> TimelineFilter:
        """Tokens `kind:x[,y]` (a known kind or its prefix), `service:x`; the rest is text."""
        kinds: list[str] = []
        any_kind = False
        service: str | None = None
        words: list[str] = []
        for token in query.split():
            key, sep, value = token.partition(":")
            key = key.lower()
            if sep and key == "kind" and value:
                any_kind = True
                for part in filter(None, value.lower().split(",")):
                    # "kind:clu" finds cluster; an unknown kind stays literal and matches nothing.
                    found = [k for k in KINDS if k == part] or [
                        k for k in KINDS if k.startswith(part)
                    ]
                    kinds.extend(k for k in (found or [part]) if k not in kinds)
            elif sep and key == "service" and value:
                service = value
            else:
                words.append(token)
        return cls(tuple(kinds) if any_kind else None, service, " ".join(words))

    @property
    def empty(self) -> bool:
        return self.kinds is None and not self.service and not self.text


class _Unusable(Exception):
    """The file is a database we must not use (corrupt, or someone else's schema)."""


class TimelineStore:
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
        self._db: sqlite3.Connection | None = None
        self.moved_aside: list[Path] = []  # where damaged files went, newest last
        self.in_memory_fallback = False
        self._warned: set[str] = set()
        # Bumped whenever another database takes over (a damaged file replaced): ids restart,
        # so views holding "entries after id N" reload.
        self.generation = 0

    # ------------------------------------------------------------ opening

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = self._open()
        return self._db

    def _open(self) -> sqlite3.Connection:
        if self.path is None:
            return _connect(":memory:")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return _connect(self.path)
        except (_Unusable, sqlite3.DatabaseError) as exc:
            if (isinstance(exc, _Unusable) or _is_corrupt(exc)) and self._move_aside(str(exc)):
                try:
                    return _connect(self.path)
                except (_Unusable, sqlite3.Error, OSError) as again:
                    exc = again
            log.warning(
                "timeline %s cannot be used (%s); keeping this run's timeline in memory only",
                self.path,
                exc,
            )
        except OSError as exc:  # the folder cannot be created
            log.warning("timeline folder %s: %s; keeping it in memory", self.path.parent, exc)
        if not self.in_memory_fallback:
            self.in_memory_fallback = True
            self.generation += 1
        return _connect(":memory:")

    def _move_aside(self, reason: str) -> bool:
        """Rename the damaged file (and its WAL) out of the way; False when that failed."""
        assert self.path is not None
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
        # The WAL and shared-memory files belong to the damaged file: never replay them into
        # the fresh one.
        try:
            for suffix in ("", "-wal", "-shm"):
                source = Path(f"{self.path}{suffix}")
                if source.exists():
                    source.rename(Path(f"{target}{suffix}"))
        except OSError as exc:
            log.warning(
                "timeline %s is unreadable (%s) and cannot be moved: %s", self.path, reason, exc
            )
            return False
        self.moved_aside.append(target)
        self.generation += 1
        log.warning(
            "timeline %s is unreadable (%s); moved it to %s and started a fresh timeline",
            self.path,
            reason,
            target,
        )
        return True

    def _run(self, action: Callable[[sqlite3.Connection], Any], default: Any) -> Any:
        """Run one database action; a file damaged while in use is moved aside once, then
        retried. Other errors are logged (once per message) and give `default`."""
        for attempt in (1, 2):
            try:
                return action(self._conn())
            except sqlite3.Error as exc:
                if attempt == 1 and self.path is not None and _is_corrupt(exc):
                    self._drop_connection()
                    if not self.in_memory_fallback and not self._move_aside(str(exc)):
                        self.in_memory_fallback = True  # cannot move it: carry on in memory
                        self.generation += 1
                        self._db = _connect(":memory:")
                    continue
                if str(exc) not in self._warned:
                    self._warned.add(str(exc))
                    log.warning("timeline %s: %s", self.path or "(memory)", exc)
                return default
        return default

    def _drop_connection(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None

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

    def close(self) -> None:
        """Close the file (SQLite folds the WAL back into it); reopened on next use."""
        self._drop_connection()


def _connect(target: str | Path) -> sqlite3.Connection:
    if isinstance(target, Path):
        # Checked before SQLite opens it: SQLite deletes a WAL it cannot use on close, and a
        # damaged file's WAL is kept with it for whoever investigates.
        with contextlib.suppress(FileNotFoundError), target.open("rb") as f:
            header = f.read(len(SQLITE_MAGIC))
            if header and header != SQLITE_MAGIC:
                raise _Unusable("not an SQLite database")
    # Autocommit: every append is its own short transaction, visible at once and durable.
    db = sqlite3.connect(target, timeout=2.0, isolation_level=None)
    try:
        if target != ":memory:":
            db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a commit survives a crash of the console; only a power cut may
            # lose the last few lines. The audit log (fsync per record) is the strict record.
            db.execute("PRAGMA synchronous=NORMAL")
        check = db.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise _Unusable(f"integrity check: {check}")
        _migrate(db)
    except BaseException:
        db.close()
        raise
    return db


def _migrate(db: sqlite3.Connection) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version != 0:
        raise _Unusable(f"schema version {version}, this console knows {SCHEMA_VERSION}")
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
        raise _Unusable(f"cannot create the timeline schema: {exc}") from exc


def _is_corrupt(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _CORRUPT_CODES


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


# ---------------------------------------------------------------------------- the recorder


@dataclass(frozen=True)
class _AlertSeen:
    state: str
    since_ts: float
    acked_by: str | None


@dataclass(frozen=True)
class _Flapping:
    """A circuit's current run of changes and, once it groups, the entry that shows it."""

    run: FlapRun | None
    entry: TimelineEntry | None = None  # the group's stored entry
    generation: int = 0  # of the timeline database the entry lives in


def _guarded(method: Callable[..., None]) -> Callable[..., None]:
    """A failing timeline must never break ingestion: the store's emit would raise into the
    client. Log and carry on."""

    @functools.wraps(method)
    def wrapper(self: TimelineRecorder, *args: Any) -> None:
        try:
            method(self, *args)
        except Exception:
            log.exception("timeline: could not record %s", method.__name__.lstrip("_"))

    return wrapper


class TimelineRecorder:
    """Subscribes to a core Store and writes what changed into a TimelineStore.

    Keep a reference to the recorder for as long as it should record: psygnal holds bound
    methods weakly, so a recorder nobody references silently stops. `close()` disconnects.
    """

    def __init__(
        self,
        store: Store,
        timeline: TimelineStore,
        on_entry: Callable[[TimelineEntry], None] | None = None,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        tz: tzinfo | None = None,
    ) -> None:
        self.store = store
        self.timeline = timeline
        self.on_entry = on_entry
        self._clock = clock
        self._monotonic = monotonic
        self._tz = tz  # for times written into messages; None: the workstation's local time
        self._circuits: dict[tuple[str, str], tuple[str, float]] = {}  # → (state, entry ts)
        self._flaps: dict[tuple[str, str], _Flapping] = {}
        self._clusters: dict[tuple[str, str], DbCluster] = {}
        self._alerts: dict[str, dict[str, _AlertSeen]] = {}
        self._links: dict[str, ConnectionState] = {}
        # Derived breaker/cluster changes awaiting the backend's own event for them:
        # backend → (what, name, monotonic time).
        self._pending: dict[str, deque[tuple[str, str, float]]] = {}
        self.skipped_events = 0  # events dropped as duplicates of derived lines
        self._slots: list[tuple[Any, Callable[..., None]]] = [
            (store.event_added, self._on_event),
            (store.alert_changed, self._on_alert),
            (store.cluster_changed, self._on_cluster),
            (store.circuit_changed, self._on_circuit),
            (store.connection_changed, self._on_connection),
        ]
        for signal, slot in self._slots:
            signal.connect(slot)

    def last_id(self) -> int:
        """The id of the newest stored entry (0 when empty): later entries have larger ids."""

        def last(db: sqlite3.Connection) -> int:
            return int(db.execute("SELECT IFNULL(MAX(id), 0) FROM entries").fetchone()[0])

        result: int = self._run(last, 0)
        return result

    def close(self) -> None:
        for signal, slot in self._slots:
            signal.disconnect(slot)
        self._slots.clear()

    # ------------------------------------------------------------ public

    def record_action(
        self,
        backend: str,
        command_id: str,
        target: str | None,
        outcome: str,
        message: str = "",
        data: dict[str, Any] | None = None,
    ) -> TimelineEntry | None:
        """An operator action and its outcome (called by the action pipeline)."""
        what = f"{command_id} {target}" if target else command_id
        text = f"{what}: {outcome}" + (f" — {message}" if message else "")
        details = {"command": command_id, "target": target, "outcome": outcome, **(data or {})}
        return self._write(
            TimelineEntry(
                ts=self._observed(backend),
                backend=backend,
                kind="action",
                service=target,
                message=text,
                data=details,
            )
        )

    # ------------------------------------------------------------ helpers

    def _observed(self, backend: str) -> float:
        """Now, on the backend's clock as far as the store can tell."""
        return self.store.server_now(backend, self._clock())

    def _write(self, entry: TimelineEntry) -> TimelineEntry | None:
        stored = self.timeline.append(entry)
        if stored is not None and self.on_entry is not None:
            self.on_entry(stored)
        return stored

    def _rewrite(self, entry: TimelineEntry) -> TimelineEntry | None:
        stored = self.timeline.update(entry)
        if stored is not None and self.on_entry is not None:
            self.on_entry(stored)
        return stored

    def _new_history(self, backend: str) -> None:
        """The backend restarted: what it said before is another history. Its next circuits
        and clusters are baselines again, and nothing pairs or groups across the restart."""
        for known in (self._circuits, self._clusters, self._flaps):
            for key in [k for k in known if k[0] == backend]:
                del known[key]
        self._pending.pop(backend, None)

    def _derived(self, backend: str, what: str, name: str) -> None:
        self._pending.setdefault(backend, deque()).append((what, name, self._monotonic()))

    def _pairs_with_derived(self, backend: str, event: Event) -> bool:
        """True when this breaker/failover event reports a change already derived from state."""
        pending = self._pending.get(backend)
        if not pending:
            return False
        now = self._monotonic()
        while pending and now - pending[0][2] > PAIR_WINDOW_S:
            pending.popleft()
        what = "breaker" if event.kind == "breaker" else "cluster"
        key = "circuit" if what == "breaker" else "cluster"
        for i, (kind, name, _) in enumerate(pending):
            if kind == what and (event.data.get(key) == name or name in event.message):
                del pending[i]
                return True
        return False

    # ------------------------------------------------------------ store signals

    @_guarded
    def _on_event(self, backend: str, event: Event) -> None:
        if event.kind in ("breaker", "failover") and self._pairs_with_derived(backend, event):
            self.skipped_events += 1
            return
        if event.kind == "info" and event.data.get("link") == LINK_RESTARTED:
            self._new_history(backend)
        kind: str = event.kind
        if kind == "info" and _LINK_MESSAGE.match(event.message):
            kind = "connection"
        elif kind not in KINDS:
            kind = "info"
        service = event.service
        target = event.data.get("target")
        if service is None and kind == "scenario" and isinstance(target, str) and target:
            # A scenario aimed at a dependency or a database member names no service; its
            # target is what the operator will look for in the Service column.
            service = target
        self._write(
            TimelineEntry(
                ts=event.ts,
                backend=backend,
                kind=kind,
                service=service,
                message=event.message,
                data=dict(event.data),
            )
        )

    @_guarded
    def _on_circuit(self, backend: str, circuit: Circuit) -> None:
        key = (backend, circuit.name)
        known = self._circuits.get(key)
        if known is None:
            self._circuits[key] = (circuit.state, -math.inf)  # baseline
            return
        old, last_ts = known
        if old == circuit.state:
            return
        ts = circuit.last_transition_ts
        if ts is None or ts <= last_ts:
            # No transition time, or a stale one from a backend that does not update it.
            ts = self._observed(backend)
        self._circuits[key] = (circuit.state, ts)
        self._derived(backend, "breaker", circuit.name)
        flapping = self._flaps.get(key)
        run = next_run(flapping.run if flapping else None, old, circuit.state, ts)
        if run is not None and run.grouped and flapping is not None:
            self._flaps[key] = self._grow_group(backend, circuit.name, run, flapping)
            return
        self._flaps[key] = _Flapping(run)
        text = f"{circuit.name} {_word(old)} → {_word(circuit.state)}"
        if circuit.state == "open" and circuit.failure_count > 0:
            text += f" after {circuit.failure_count} failures"
        elif circuit.state == "forced_open":
            text += " (forced by an operator)"
        self._write(
            TimelineEntry(
                ts=ts,
                backend=backend,
                kind="breaker",
                service=circuit.name,
                message=text,
                data={"circuit": circuit.name, "from": old, "to": circuit.state},
            )
        )

    def _grow_group(self, backend: str, name: str, run: FlapRun, was: _Flapping) -> _Flapping:
        """Show a flapping run as one entry: written at its second change, then rewritten.

        The entry keeps the run's start time, so it sits just above the run's first line and
        stays there while it grows; the span in its words tells how long it has lasted.
        """
        span = span_text(run.start_ts, run.last_ts, self._tz)
        text = f"{name} flapping {_word(run.first)} ↔ {_word(run.second)} ×{run.count} ({span})"
        data = {"circuit": name, "to": run.last_to, "changes": run.count}
        generation = self.timeline.generation
        if was.entry is not None and was.generation == generation:
            grown = msgspec.structs.replace(was.entry, message=text, data=data)
            if self._rewrite(grown) is not None:
                return _Flapping(run, grown, generation)
        # The first group line, or its database was replaced meanwhile: a new entry.
        stored = self._write(
            TimelineEntry(
                ts=run.start_ts,
                backend=backend,
                kind="breaker",
                service=name,
                message=text,
                data=data,
            )
        )
        return _Flapping(run, stored, generation)

    @_guarded
    def _on_cluster(self, backend: str, cluster: DbCluster) -> None:
        key = (backend, cluster.name)
        old = self._clusters.get(key)
        self._clusters[key] = cluster
        if old is None:
            return  # baseline
        name = cluster.name
        ts = self._observed(backend)
        old_timeline, new_timeline = _timeline_of(old), _timeline_of(cluster)
        if new_timeline < old_timeline:
            # A timeline only grows within one history: lower means the cluster (or the backend
            # reporting it) started over. Its state now is a new baseline, never a promotion.
            text = f"{name}: state after a restart: {cluster.primary or 'no'} primary, "
            text += f"timeline {new_timeline}"
            if cluster.state != "healthy":
                text += f", {cluster.state}"
            data = {
                "cluster": name,
                "primary": cluster.primary,
                "timeline": new_timeline,
                "previous_timeline": old_timeline,
                "to": cluster.state,
            }
            self._write(_cluster_entry(backend, ts, name, text, data))
            return
        entries: list[TimelineEntry] = []
        if cluster.primary != old.primary:
            entries.append(_promotion(backend, ts, old, cluster))
        if cluster.state != old.state:
            text = f"{name} {old.state} → {cluster.state}"
            failing = _member(cluster, old.primary)
            if cluster.state == "failed" and failing and failing.consecutive_failures:
                text += f" (primary {failing.name} failed {failing.consecutive_failures} checks)"
            elif cluster.state == "degraded" and cluster.message:
                text += f": {cluster.message}"
            data = {"cluster": name, "from": old.state, "to": cluster.state}
            entries.append(_cluster_entry(backend, ts, name, text, data))
        if cluster.read_only != old.read_only:
            text = f"{name} read-only {'ON' if cluster.read_only else 'OFF'}"
            data = {"cluster": name, "read_only": cluster.read_only}
            entries.append(_cluster_entry(backend, ts, name, text, data))
        if cluster.primary != old.primary or cluster.state != old.state:
            # Read-only switches come with "action" events (who did it), which are kept.
            self._derived(backend, "cluster", name)
        for entry in entries:
            self._write(entry)

    @_guarded
    def _on_alert(self, backend: str, alert: Alert) -> None:
        known = self._alerts.setdefault(backend, {})
        seen = known.get(alert.id)
        firing = alert.state == "firing"
        label = f"{alert.severity} {alert.service} {alert.rule}"
        ref = f"alert:{alert.id}:{alert.since_ts!r}"
        data = {
            "alert_id": alert.id,
            "rule": alert.rule,
            "severity": alert.severity,
            "state": alert.state,
            "value": alert.value,
            "threshold": alert.threshold,
        }
        entries: list[TimelineEntry] = []

        def add(ts: float, what: str, text: str, **extra: Any) -> None:
            entries.append(
                TimelineEntry(
                    ts=ts,
                    backend=backend,
                    kind="alert",
                    service=alert.service or None,
                    message=text,
                    data={**data, "change": what, **extra},
                    ref=f"{ref}:{what}",
                )
            )

        if firing and (seen is None or seen.state != "firing" or seen.since_ts != alert.since_ts):
            # A first sighting of a firing alert is recorded too (with its own start time):
            # after a restart the ref makes it a no-op when it is already in the timeline.
            add(alert.since_ts, "fired", f"ALERT {label}: {_alert_detail(alert, True)}")
        elif seen is not None and seen.state == "firing" and not firing:
            detail = _alert_detail(alert, False)
            text = f"RESOLVED {label}" + (f": {detail}" if detail else "")
            add(self._observed(backend), "resolved", text)
        acked_before = seen is not None and seen.acked_by
        if alert.acked_by and not acked_before and (firing or seen is not None):
            ts = alert.acked_ts if alert.acked_ts is not None else self._observed(backend)
            add(ts, "acked", f"ACKED {label} by {alert.acked_by}", acked_by=alert.acked_by)
        known[alert.id] = _AlertSeen(alert.state, alert.since_ts, alert.acked_by)
        if len(known) > MAX_KNOWN_ALERTS:
            for alert_id in [k for k, v in known.items() if v.state != "firing"]:
                del known[alert_id]
                if len(known) <= MAX_KNOWN_ALERTS // 2:
                    break
        for entry in entries:
            self._write(entry)

    @_guarded
    def _on_connection(self, backend: str, status: LinkStatus) -> None:
        previous = self._links.get(backend)
        self._links[backend] = status.state
        if status.state is ConnectionState.AUTH_FAILED and previous is not status.state:
            text = f"Authentication to {backend} failed" + (
                f": {status.detail}" if status.detail else ""
            )
            self._write(
                TimelineEntry(
                    ts=self._clock(),
                    backend=backend,
                    kind="connection",
                    message=text,
                    data={"state": status.state.value},
                )
            )


def _word(state: str) -> str:
    """Circuit states as words: half_open → half-open, forced_open → forced open."""
    return state.replace("forced_", "forced ").replace("_", "-")


def _timeline_of(cluster: DbCluster) -> int:
    """The cluster's timeline: the highest of its members' (a new primary raises it)."""
    return max((m.timeline for m in cluster.members), default=0)


def _member(cluster: DbCluster, name: str | None) -> DbMember | None:
    return next((m for m in cluster.members if m.name == name), None)


def _cluster_entry(
    backend: str, ts: float, name: str, text: str, data: dict[str, Any]
) -> TimelineEntry:
    return TimelineEntry(
        ts=ts, backend=backend, kind="cluster", service=name, message=text, data=data
    )


def _promotion(backend: str, ts: float, old: DbCluster, new: DbCluster) -> TimelineEntry:
    name = new.name
    member = _member(new, new.primary)
    timeline = member.timeline if member is not None else None
    if new.primary is None:
        text = f"{name}: no primary (was {old.primary})"
    else:
        text = f"{name}: {new.primary} promoted to primary"
        parts = [f"timeline {timeline}"] if timeline is not None else []
        if old.primary:
            parts.append(f"was {old.primary}")
        if parts:
            text += f" ({', '.join(parts)})"
    return TimelineEntry(
        ts=ts,
        backend=backend,
        kind="failover",
        service=name,
        message=text,
        data={
            "cluster": name,
            "previous_primary": old.primary,
            "primary": new.primary,
            "timeline": timeline,
        },
    )


def _pct(x: float) -> str:
    return f"{x * 100:.1f} %" if abs(x) < 0.1 else f"{x * 100:.0f} %"


def _alert_detail(alert: Alert, with_threshold: bool) -> str:
    """ "p99 612 ms > 500 ms" for the known rules; the summary for anything else."""
    v, t = alert.value, alert.threshold
    if v is None:
        return alert.summary if with_threshold else ""
    if alert.rule == "latency":
        now, limit = f"p99 {v:.0f} ms", f"{t:.0f} ms" if t is not None else None
    elif alert.rule == "errors":
        now, limit = f"errors {_pct(v)}", _pct(t) if t is not None else None
    elif alert.rule == "saturation":
        now, limit = f"saturation {_pct(v)}", _pct(t) if t is not None else None
    elif alert.rule == "traffic":
        now = f"traffic {v * 100:+.0f} % vs baseline"
        limit = f"±{t * 100:.0f} %" if t is not None else None
    else:
        return alert.summary if with_threshold and alert.summary else f"{alert.rule} {v:g}"
    if with_threshold and limit is not None:
        sign = "outside" if alert.rule == "traffic" else ">"
        return f"{now} {sign} {limit}"
    return now

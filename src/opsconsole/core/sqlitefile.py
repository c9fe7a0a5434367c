"""One console SQLite file kept usable: checked on open, a damaged one moved aside, never fatal."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
# SQLite's primary result codes for a damaged file: SQLITE_CORRUPT, SQLITE_NOTADB.
_CORRUPT_CODES = {11, 26}

Migrate = Callable[[sqlite3.Connection], None]


class Unusable(Exception):
    """The file is a database we must not use (corrupt, or someone else's schema)."""


def is_corrupt(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _CORRUPT_CODES


def connect(target: str | Path, migrate: Migrate) -> sqlite3.Connection:
    """Open `target` (":memory:" or a file), check it, and bring its schema up with `migrate`."""
    if isinstance(target, Path):
        # Checked before SQLite opens it: SQLite deletes a WAL it cannot use on close, and a
        # damaged file's WAL is kept with it for whoever investigates.
        with contextlib.suppress(FileNotFoundError), target.open("rb") as f:
            header = f.read(len(SQLITE_MAGIC))
            if header and header != SQLITE_MAGIC:
                raise Unusable("not an SQLite database")
    # Autocommit: every change is its own short transaction, visible at once and durable.
    db = sqlite3.connect(target, timeout=2.0, isolation_level=None)
    try:
        if target != ":memory:":
            db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a commit survives a crash of the console; only a power cut may
            # lose the last few lines. The audit log (fsync per record) is the strict record.
            db.execute("PRAGMA synchronous=NORMAL")
        check = db.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise Unusable(f"integrity check: {check}")
        migrate(db)
    except BaseException:
        db.close()
        raise
    return db


class SqliteFile:
    """The connection to one of the console's files (`None`: in memory, for tests).

    The file and its folder are created on first use. A damaged or foreign file never stops the
    console: it is renamed aside with a timestamp suffix, a warning is logged, and a fresh file
    starts. A file that cannot be opened at all (permissions, a locked disk) falls back to
    memory, so the console runs without keeping it rather than not at all.
    """

    def __init__(
        self, path: Path | None, migrate: Migrate, what: str, logger: logging.Logger = log
    ) -> None:
        self.path = path
        self.what = what  # "timeline", "incidents": how the log names the file
        self.log = logger  # the owning store's logger: its warnings are its own
        self._migrate = migrate
        self._db: sqlite3.Connection | None = None
        self.moved_aside: list[Path] = []  # where damaged files went, newest last
        self.in_memory_fallback = False
        self._warned: set[str] = set()
        # Bumped whenever another database takes over (a damaged file replaced): ids restart,
        # so views holding "entries after id N" reload.
        self.generation = 0

    def conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = self._open()
        return self._db

    def _open(self) -> sqlite3.Connection:
        if self.path is None:
            return connect(":memory:", self._migrate)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return connect(self.path, self._migrate)
        except (Unusable, sqlite3.DatabaseError) as exc:
            if (isinstance(exc, Unusable) or is_corrupt(exc)) and self._move_aside(str(exc)):
                try:
                    return connect(self.path, self._migrate)
                except (Unusable, sqlite3.Error, OSError) as again:
                    exc = again
            self.log.warning(
                "%s %s cannot be used (%s); keeping this run's %s in memory only",
                self.what,
                self.path,
                exc,
                self.what,
            )
        except OSError as exc:  # the folder cannot be created
            folder = self.path.parent
            self.log.warning("%s folder %s: %s; keeping it in memory", self.what, folder, exc)
        if not self.in_memory_fallback:
            self.in_memory_fallback = True
            self.generation += 1
        return connect(":memory:", self._migrate)

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
            self.log.warning(
                "%s %s is unreadable (%s) and cannot be moved: %s",
                self.what,
                self.path,
                reason,
                exc,
            )
            return False
        self.moved_aside.append(target)
        self.generation += 1
        self.log.warning(
            "%s %s is unreadable (%s); moved it to %s and started a fresh one",
            self.what,
            self.path,
            reason,
            target,
        )
        return True

    def run(self, action: Callable[[sqlite3.Connection], Any], default: Any) -> Any:
        """Run one database action; a file damaged while in use is moved aside once, then
        retried. Other errors are logged (once per message) and give `default`."""
        for attempt in (1, 2):
            try:
                return action(self.conn())
            except sqlite3.Error as exc:
                if attempt == 1 and self.path is not None and is_corrupt(exc):
                    self.close()
                    if not self.in_memory_fallback and not self._move_aside(str(exc)):
                        self.in_memory_fallback = True  # cannot move it: carry on in memory
                        self.generation += 1
                        self._db = connect(":memory:", self._migrate)
                    continue
                if str(exc) not in self._warned:
                    self._warned.add(str(exc))
                    self.log.warning("%s %s: %s", self.what, self.path or "(memory)", exc)
                return default
        return default

    def close(self) -> None:
        """Close the file (SQLite folds the WAL back into it); reopened on next use."""
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None


class SqliteBacked:
    """What a store kept in a `SqliteFile` says of its file (the timeline, the incidents)."""

    _file: SqliteFile

    @property
    def moved_aside(self) -> list[Path]:
        """Where damaged files went, newest last."""
        return self._file.moved_aside

    @property
    def in_memory_fallback(self) -> bool:
        return self._file.in_memory_fallback

    @property
    def generation(self) -> int:
        """Bumped whenever another database takes over (a damaged file replaced): ids
        restart, so views holding "entries after id N" reload."""
        return self._file.generation

    def _run(self, action: Callable[[sqlite3.Connection], Any], default: Any) -> Any:
        return self._file.run(action, default)

    def close(self) -> None:
        """Close the file (SQLite folds the WAL back into it); reopened on next use."""
        self._file.close()

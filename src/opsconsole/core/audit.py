"""The append-only audit log: JSON lines chained by SHA-256, each flushed to disk when written."""

from __future__ import annotations

import errno
import getpass
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, one console per log
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

GENESIS = "0" * 64
AUDIT_FILE = "audit.jsonl"
# Beside the log: how many records it holds, the last one's hash and the byte it ends at.
# Without it, cutting records off the end (or emptying the file) leaves a valid chain.
HEAD_SUFFIX = ".head"
# Another console holds the lock only while it writes one record (milliseconds, two fsyncs);
# longer than this means it is stuck, and the action is not sent rather than wait.
LOCK_WAIT_S = 2.0
_LOCK_POLL_S = 0.01
# Notes the console writes into the chain itself when it finds the log's end damaged.
NOTE = "note"
TORN = "torn"  # a record torn by a crash was set aside: the log is whole again
TRUNCATED = "truncated"  # records were missing from the end
REWRITTEN = "rewritten"  # the last record written was replaced
# Verdicts of `verify`, worst first.
OK, TAMPERED, MISSING = "ok", "tampered", "missing"


def _canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_hash(record: dict[str, Any]) -> str:
    """Hash of a record without its own `hash` field (which holds this value)."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(_canonical(body)).hexdigest()


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def head_path(path: Path) -> Path:
    return path.with_name(path.name + HEAD_SUFFIX)


@dataclass(frozen=True)
class Head:
    """What the log held after the last record written: kept beside it, fsynced with it."""

    count: int
    last_hash: str
    size: int


class DamagedHead(ValueError):
    """The head file exists but does not hold a head."""


class AuditLogBusy(OSError):
    """Another process has held the log's lock for longer than one record takes."""

    def __init__(self, path: Path, pid: int | None) -> None:
        who = f"another opsconsole (pid {pid})" if pid else "another opsconsole"
        super().__init__(errno.EWOULDBLOCK, f"in use by {who}", str(path))
        self.pid = pid


def read_head(path: Path) -> Head | None:
    """The head file of the log at `path`, None when there is none; DamagedHead if unreadable."""
    try:
        raw = head_path(path).read_bytes()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(raw)
        head = Head(int(data["count"]), str(data["last_hash"]), int(data["size"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise DamagedHead(f"{head_path(path).name} is damaged ({exc})") from None
    if head.count < 0 or head.size < 0:
        raise DamagedHead(f"{head_path(path).name} is damaged (negative count or size)")
    return head


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_head(path: Path, head: Head) -> None:
    """Replace the head file in one step (temp file, fsync, rename, fsync the folder)."""
    target = head_path(path)
    tmp = target.with_name(target.name + ".tmp")
    body = json.dumps({"count": head.count, "last_hash": head.last_hash, "size": head.size})
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        _write_all(fd, body.encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, target)
    _fsync_dir(target.parent)


def _write_all(fd: int, data: bytes) -> None:
    """os.write until every byte is out: a short write (disk full) raises on the retry."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _when(ts: float, now: float) -> str:
    """Local HH:MM:SS, with the date when it is not today."""
    same_day = time.localtime(ts)[:3] == time.localtime(now)[:3]
    return time.strftime("%H:%M:%S" if same_day else "%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _broken(record: dict[str, Any] | None, prev: str) -> str | None:
    """Why `record` does not belong after a record whose hash is `prev`; None if it does."""
    if not isinstance(record, dict):
        return "not a JSON object (damaged line)"
    if record.get("prev") != prev:
        return "chain broken: 'prev' does not match"
    if record.get("hash") != record_hash(record):
        return "hash mismatch: the record was altered"
    return None


def _parse(raw: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _lines(f: BinaryIO, start: int = 0) -> Iterator[tuple[int, bytes]]:
    """(offset just past the line, the line) from `start` on; the last may lack its newline."""
    f.seek(start)
    offset = start
    for raw in f:
        offset += len(raw)
        yield offset, raw


def _line_start(fd: int, size: int) -> int:
    """Where a line ending at `size` would start: just past the last newline before `size`
    (0: none). Equal to `size` when byte `size - 1` is a newline: then the file's first
    `size` bytes are whole lines, and anything past a smaller answer is a torn line."""
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return size
    end = size
    while end > 0:
        start = max(0, end - 65536)
        chunk = os.pread(fd, end - start, start)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            return start + newline + 1
        end = start
    return 0


def torn_bytes(path: Path) -> int:
    """How many bytes follow the log's last newline (a record torn by a crash); 0 if none."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        return size - _line_start(fd, size)
    finally:
        os.close(fd)


def _lock_holder(fd: int) -> int | None:
    """The pid holding a flock on the file (Linux /proc/locks); None when it cannot be told."""
    st = os.fstat(fd)
    exact = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    same_inode: int | None = None
    for line in lines:
        # "1: FLOCK  ADVISORY  WRITE 4242 fe:00:2146512 0 EOF"; a waiter's line has "->".
        parts = line.split()
        if len(parts) < 6 or parts[1] != "FLOCK" or not parts[4].isdigit():
            continue
        pid = int(parts[4])
        if pid == os.getpid():
            continue
        if parts[5] == exact:
            return pid
        if parts[5].rsplit(":", 1)[-1] == str(st.st_ino):
            same_inode = pid  # overlay file systems report another device number
    return same_inode


def _flock(fd: int, kind: int, wait_s: float) -> bool:
    """Take the lock, polling up to `wait_s`; False if still busy (the holder is stuck)."""
    if fcntl is None:  # pragma: no cover
        return True
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, kind | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(_LOCK_POLL_S)


@dataclass(frozen=True)
class _End:
    """The end of the log as this process last left it: where, how many, which hash."""

    where: tuple[int, int, int]  # device, inode, size
    count: int
    last_hash: str
    seq: int

    @property
    def head(self) -> Head:
        return Head(self.count, self.last_hash, self.where[2])


class AuditLog:
    """Writes records that each name the previous record's hash; a break shows tampering.

    Every `append` writes one line and fsyncs before returning, so a record reported as
    written survives a crash the instant after (the action is sent only after that); then
    the head file beside it is replaced, so records cut off the end are noticed. Each
    append holds an exclusive lock on the log, so two consoles sharing one log take turns
    and the chain stays whole. The end of the log is repaired before the first record (or
    by `open`): a line torn by a crash is set aside, and what was found is told through
    `on_notice` in plain words (and written into the chain as a note).
    """

    def __init__(
        self,
        path: Path,
        *,
        clock: Callable[[], float] = time.time,
        lock_wait_s: float = LOCK_WAIT_S,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        self.path = path
        self.clock = clock
        self.lock_wait_s = lock_wait_s
        self.on_notice = on_notice
        self.notices: list[str] = []  # everything told, oldest first
        self._lock = threading.Lock()
        self._end: _End | None = None

    def open(self) -> list[str]:
        """Check and repair the log's end now rather than at the first action; returns the
        notices this found (also given to `on_notice`). A log that does not exist yet (and
        has no head file) is left alone."""
        with self._lock:
            if not self.path.exists() and not head_path(self.path).exists():
                return []
            with self._locked() as fd:
                return self._reconcile(fd)

    def append(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Append one record (time, user and chain fields are added); returns it as written.
        Raises OSError (AuditLogBusy when another process holds the log) and then nothing
        was written."""
        with self._lock, self._locked() as fd:
            st = os.fstat(fd)
            if self._end is None or self._end.where != (st.st_dev, st.st_ino, st.st_size):
                # First record, or another console wrote since (or someone else did).
                self._reconcile(fd)
            return self._write(fd, fields)

    # ------------------------------------------------------------ internals

    @contextmanager
    def _locked(self) -> Iterator[int]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            if not _flock(fd, fcntl.LOCK_EX if fcntl else 0, self.lock_wait_s):
                raise AuditLogBusy(self.path, _lock_holder(fd))
            yield fd  # closing the descriptor releases the lock
        finally:
            os.close(fd)

    def _tell(self, notice: str) -> None:
        self.notices.append(notice)
        log.warning("audit log %s: %s", self.path, notice)
        if self.on_notice is not None:
            self.on_notice(notice)

    def _reconcile(self, fd: int) -> list[str]:
        """Bring this process's idea of the log's end up to date (under the lock), setting
        aside a torn last line and noting records that went missing. Returns the notices."""
        told = len(self.notices)
        now = self.clock()
        st = os.fstat(fd)
        notes: list[dict[str, Any]] = []
        whole = _line_start(fd, st.st_size)
        if whole < st.st_size:
            notes.append(self._set_aside(fd, whole, st.st_size, st.st_mtime, now))
        try:
            head = read_head(self.path)
        except DamagedHead as exc:
            self._tell(f"{exc}; it is written anew from the log")
            head = None
        end = self._end_from_head(fd, head) if head is not None else None
        if end is None:
            end, bad = self._scan(fd)
            if bad is not None:
                line, reason = bad
                self._tell(
                    f"the audit log fails its check at line {line} ({reason}); "
                    "run `opsconsole audit verify`"
                )
            if head is not None:
                notes.append(self._missing_note(head, end))
        self._end = end
        for note in notes:
            self._write(fd, note)
        if not notes and (head is None or head != end.head) and end.count > 0:
            self._write_head(end)  # a log from before head files, or one record behind
        return self.notices[told:]

    def _set_aside(self, fd: int, whole: int, size: int, mtime: float, now: float) -> dict:
        """Move the bytes after the last newline to a file of their own, then cut them off."""
        torn = os.pread(fd, size - whole, whole)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        kept = self.path.with_name(f"{self.path.name}.torn-{stamp}")
        n = 1
        while True:
            try:
                out = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                break
            except FileExistsError:
                n += 1
                kept = self.path.with_name(f"{self.path.name}.torn-{stamp}-{n}")
        try:
            _write_all(out, torn)
            os.fsync(out)
        finally:
            os.close(out)
        _fsync_dir(kept.parent)
        # Only once the torn bytes are safe elsewhere does the log lose them.
        os.ftruncate(fd, whole)
        os.fsync(fd)
        words = (
            f"the audit log's last record was torn by a crash at about {_when(mtime, now)}; "
            f"its {len(torn)} bytes were kept in {kept.name}"
        )
        self._tell(words)
        return {
            "phase": NOTE,
            "event": TORN,
            "message": words,
            "bytes": len(torn),
            "kept_in": kept.name,
        }

    def _missing_note(self, head: Head, end: _End) -> dict[str, Any]:
        if end.count < head.count:
            event = TRUNCATED
            words = f"the audit log was cut short: {head.count} records expected, {end.count} found"
        else:
            event = REWRITTEN
            words = f"the audit log was rewritten: record {head.count} is not the one written last"
        self._tell(f"{words}; run `opsconsole audit verify`")
        return {
            "phase": NOTE,
            "event": event,
            "message": words,
            "expected": head.count,
            "found": end.count,
            "expected_hash": head.last_hash,
        }

    def _end_from_head(self, fd: int, head: Head) -> _End | None:
        """The end, read from the head and the few records after it; None when the log
        does not hold the record the head names where it says (then the caller scans)."""
        st = os.fstat(fd)
        where = (st.st_dev, st.st_ino, st.st_size)
        if head.count == 0:
            return None if head.size else self._follow(fd, _End(where, 0, GENESIS, 0), 0)
        if st.st_size < head.size or _line_start(fd, head.size) != head.size:
            return None  # shorter, or the head's size is not the end of a line
        start = _line_start(fd, head.size - 1)  # of the line the head names
        record = _parse(os.pread(fd, head.size - start, start))
        if record is None or record.get("hash") != head.last_hash:
            return None
        if record.get("hash") != record_hash(record):
            return None
        seq = record.get("seq") if isinstance(record.get("seq"), int) else head.count
        return self._follow(fd, _End(where, head.count, head.last_hash, seq), head.size)

    def _follow(self, fd: int, end: _End, start: int) -> _End:
        """Records after `start` (normally none, or one when a crash beat the head file)."""
        count, last, seq = end.count, end.last_hash, end.seq
        with open(os.dup(fd), "rb") as f:
            for _offset, raw in _lines(f, start):
                if not raw.strip():
                    continue
                record = _parse(raw)
                reason = _broken(record, last)
                if reason is not None:
                    self._tell(
                        f"the audit log fails its check at record {count + 1} ({reason}); "
                        "run `opsconsole audit verify`"
                    )
                if record is None or not isinstance(record.get("hash"), str):
                    continue
                count, last = count + 1, record["hash"]
                seq = record["seq"] if isinstance(record.get("seq"), int) else seq + 1
        return _End(end.where, count, last, seq)

    def _scan(self, fd: int) -> tuple[_End, tuple[int, str] | None]:
        """The whole log read: its end, and the first line that breaks the chain."""
        st = os.fstat(fd)
        count, last, seq = 0, GENESIS, 0
        bad: tuple[int, str] | None = None
        with open(os.dup(fd), "rb") as f:
            for number, (_offset, raw) in enumerate(_lines(f), start=1):
                if not raw.strip():
                    continue
                record = _parse(raw)
                reason = _broken(record, last)
                if reason is not None and bad is None:
                    bad = (number, reason)
                if record is None or not isinstance(record.get("hash"), str):
                    continue
                # The next record chains onto the last one there, broken or not: verify
                # names the break; the console keeps recording.
                count, last = count + 1, record["hash"]
                seq = record["seq"] if isinstance(record.get("seq"), int) else seq + 1
        return _End((st.st_dev, st.st_ino, st.st_size), count, last, seq), bad

    def _write(self, fd: int, fields: dict[str, Any]) -> dict[str, Any]:
        assert self._end is not None
        end = self._end
        record = {
            "seq": end.seq + 1,
            "ts": self.clock(),
            "user": os_user(),
            **fields,
            "prev": end.last_hash,
        }
        record["hash"] = record_hash(record)
        line = _canonical(record) + b"\n"
        before = os.fstat(fd).st_size
        try:
            _write_all(fd, line)
            os.fsync(fd)
        except OSError:
            # Half a record must not stay: the next one would be glued to it. The caller
            # is told the record was not written (and sends nothing).
            try:
                os.ftruncate(fd, before)
                os.fsync(fd)
            except OSError as exc:
                log.error("audit log %s: a failed write cannot be undone: %s", self.path, exc)
            raise
        st = os.fstat(fd)
        self._end = _End(
            (st.st_dev, st.st_ino, st.st_size), end.count + 1, record["hash"], record["seq"]
        )
        self._write_head(self._end)
        return record

    def _write_head(self, end: _End) -> None:
        try:
            write_head(self.path, end.head)
        except OSError as exc:
            # The record itself is on disk: the action goes ahead. A head one record behind
            # is read as a crash between the two writes and brought up to date next time.
            log.warning("audit log %s: head file not updated: %s", self.path, exc)


def read_records(
    path: Path, complete_only: bool = False
) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """Each line's number and record, None for a damaged line; raises OSError (a missing
    file too) for the caller to say so. `complete_only` leaves out a last line without its
    newline (torn by a crash: not a record even when it happens to parse)."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip() or (complete_only and not raw.endswith(b"\n")):
                continue
            yield number, _parse(raw)


# ---------------------------------------------------------------- verify


@dataclass(frozen=True)
class VerifyResult:
    """The verdict on a log: ok, torn (by a crash), tampered, truncated or missing."""

    ok: bool
    records: int
    first_bad_line: int | None = None
    reason: str = ""
    verdict: str = OK
    remarks: tuple[str, ...] = ()  # what an operator should also know, even when OK


def verify(path: Path, now: float | None = None) -> VerifyResult:
    """Check every record's hash and its link to the one before, and the log against its
    head file; name the first bad line. A tail without its newline is a crash, not tampering."""
    now = time.time() if now is None else now
    try:
        head: Head | None = read_head(path)
        damaged_head = ""
    except DamagedHead as exc:
        head, damaged_head = None, str(exc)
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below, after the shared lock
    except FileNotFoundError:
        if head is not None and head.count > 0:
            return VerifyResult(
                False,
                0,
                None,
                f"the log is gone: its head file expects {head.count} records",
                TRUNCATED,
            )
        return VerifyResult(False, 0, None, f"{path} does not exist", MISSING)
    except OSError as exc:
        return VerifyResult(False, 0, None, f"{path} cannot be read: {exc.strerror}", MISSING)
    with f:
        # Shared: a console mid-write finishes its record first (a stuck one is not waited on).
        _flock(f.fileno(), fcntl.LOCK_SH if fcntl else 0, LOCK_WAIT_S)
        return _verify_lines(f, head, damaged_head, now)


def _verify_lines(f: BinaryIO, head: Head | None, damaged_head: str, now: float) -> VerifyResult:
    prev = GENESIS
    count = 0
    remarks: list[str] = []
    cut: tuple[int, str] | None = None  # (line, words) of the first missing-records note
    # The hash of record number head.count, as found in the log.
    at_head: str | None = GENESIS if head is not None and head.count == 0 else None
    torn: tuple[int, int] | None = None  # (line, bytes)
    for number, (_offset, raw) in enumerate(_lines(f), start=1):
        if not raw.endswith(b"\n"):
            torn = (number, len(raw))
            break
        if not raw.strip():
            continue
        record = _parse(raw)
        reason = _broken(record, prev)
        if reason is not None:
            return VerifyResult(False, count, number, reason, TAMPERED)
        assert record is not None
        prev = record["hash"]
        count += 1
        if head is not None and count == head.count:
            at_head = prev
        if record.get("phase") == NOTE:
            ts = record.get("ts")
            when = _when(ts, now) if isinstance(ts, int | float) else "?"
            if record.get("event") == TORN:
                remarks.append(
                    f"line {number}: at {when} the console set aside a record torn by a crash "
                    f"({record.get('bytes')} bytes, kept in {record.get('kept_in')})"
                )
            elif record.get("event") in (TRUNCATED, REWRITTEN) and cut is None:
                cut = (number, f"at {when} the console found that {record.get('message', '')}")
    if head is not None and count < head.count:
        return VerifyResult(
            False,
            count,
            None,
            f"records were cut off the end: {head.count} records expected, {count} found",
            TRUNCATED,
        )
    if head is not None and at_head != head.last_hash:
        return VerifyResult(
            False,
            count,
            None,
            f"record {head.count} is not the one written last (the head file names another): "
            "the log was rewritten",
            TAMPERED,
        )
    if cut is not None:
        line, words = cut
        return VerifyResult(False, count, line, words, TRUNCATED, tuple(remarks))
    if damaged_head:
        return VerifyResult(
            False, count, None, f"{damaged_head}: truncation cannot be checked", TRUNCATED
        )
    if head is None and count:
        remarks.append("no head file: truncation cannot be checked (a log from an older console)")
    elif head is not None and count == head.count + 1:
        remarks.append(
            "the head file is one record behind (a crash right after the last record was "
            "written); the console brings it up to date"
        )
    elif head is not None and count > head.count + 1:
        remarks.append(f"{count - head.count} records follow the one the head file names")
    if torn is not None:
        line, nbytes = torn
        return VerifyResult(
            False,
            count,
            line,
            f"the last line ({nbytes} bytes) is a record torn by a crash; the {count} records "
            "before it are intact, and the console sets the torn bytes aside when it next "
            "opens the log",
            TORN,
            tuple(remarks),
        )
    return VerifyResult(True, count, remarks=tuple(remarks))

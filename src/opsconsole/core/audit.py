"""The append-only audit log: JSON lines chained by SHA-256, each flushed to disk when written."""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
AUDIT_FILE = "audit.jsonl"


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


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    records: int
    first_bad_line: int | None = None
    reason: str = ""


class AuditLog:
    """Writes records that each name the previous record's hash; a break shows tampering.

    Every `append` writes one line and fsyncs before returning, so a record reported as
    written survives a crash the instant after (the action is sent only after that).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._last_hash: str | None = None
        self._seq: int | None = None

    def _tail(self) -> tuple[str, int]:
        if self._last_hash is None or self._seq is None:
            last_hash, seq = GENESIS, 0
            for _, record in _records(self.path):
                if isinstance(record, dict) and isinstance(record.get("hash"), str):
                    last_hash = record["hash"]
                    if isinstance(record.get("seq"), int):
                        seq = record["seq"]
            self._last_hash, self._seq = last_hash, seq
        return self._last_hash, self._seq

    def append(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Append one record (time, user and chain fields are added); returns it as written."""
        with self._lock:
            prev, seq = self._tail()
            record = {
                "seq": seq + 1,
                "ts": time.time(),
                "user": os_user(),
                **fields,
                "prev": prev,
            }
            record["hash"] = record_hash(record)
            line = _canonical(record) + b"\n"
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            self._last_hash, self._seq = record["hash"], record["seq"]
            return record


def read_records(path: Path) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """Each line's number and record, None for a damaged line; raises OSError (a missing
    file too) for the caller to say so."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except ValueError:
                record = None
            yield number, record if isinstance(record, dict) else None


def _records(path: Path) -> Iterator[tuple[int, Any]]:
    try:
        yield from read_records(path)
    except FileNotFoundError:
        return


def verify(path: Path) -> VerifyResult:
    """Check every record's hash and its link to the one before; name the first bad line."""
    if not path.exists():
        return VerifyResult(False, 0, None, f"{path} does not exist")
    prev = GENESIS
    count = 0
    for number, record in _records(path):
        if not isinstance(record, dict):
            return VerifyResult(False, count, number, "not a JSON object (damaged line)")
        if record.get("prev") != prev:
            return VerifyResult(False, count, number, "chain broken: 'prev' does not match")
        if record.get("hash") != record_hash(record):
            return VerifyResult(False, count, number, "hash mismatch: the record was altered")
        prev = record["hash"]
        count += 1
    return VerifyResult(True, count)

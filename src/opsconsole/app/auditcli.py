"""`opsconsole audit verify|show`: check the hash chain, or list the records for a post-mortem."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from opsconsole.core.audit import (
    AUDIT_FILE,
    NOTE,
    TAMPERED,
    TORN,
    TRUNCATED,
    VerifyResult,
    read_records,
    torn_bytes,
    verify,
)
from opsconsole.core.durations import parse_duration
from opsconsole.core.eligibility import human_bytes
from opsconsole.core.paths import data_dir

VERIFY_EXIT = """\
The head file beside the log (audit.jsonl.head: how many records, the last one's hash)
is how records cut off the end are noticed; move the two files together.

exit codes:
  0  OK: the chain is intact and the log is as long as its head file says
  1  ALTERED: a record was changed, removed from the middle or damaged (the first bad
     line is named), or there is no log at that path
  2  wrong arguments
  3  TORN BY A CRASH: the last line was cut off mid-write (the records before it are
     intact); the console sets it aside when it next opens the log
  4  TRUNCATED: records are missing from the end (or the head file is damaged)
"""
VERIFY_CODES = {TAMPERED: 1, TORN: 3, TRUNCATED: 4}
SHOW_EXIT = """\
times are this computer's local time; a line with the date starts each day.

exit codes:
  0  listed (also when no record is newer than --since)
  1  there is no audit log at that path, it cannot be read, some lines are damaged or
     the last one is torn by a crash (the readable records are still listed; run
     `opsconsole audit verify`)
  2  wrong arguments, e.g. a --since that is neither a duration nor a time
"""
COLUMNS = ("time", "operator", "action", "target", "result", "message")
# Argument names whose values are never printed, whatever put them in a record.
_SECRET_KEY = re.compile(r"(?i)token|secret|password|passwd|authorization|api[_-]?key")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
# Credentials as they appear in a backend's error text: "Bearer x", "Basic x", "token=x".
# (Not backends.secrets.redact: this process holds no tokens to know, and its registry of
# known values would mask any text that happens to contain a short one.)
_CREDENTIAL = re.compile(
    r"(?i)(\bbearer\s+|\b(?:access_token|token|password|secret|api_?key)=)[^\s'\",;&]+"
    r"|(\bbasic\s+)[A-Za-z0-9+/]{8,}={0,2}"
)


def redact(text: str) -> str:
    return _CREDENTIAL.sub(lambda m: (m.group(1) or m.group(2)) + "***", text)


def default_audit_path() -> Path:
    return data_dir() / AUDIT_FILE


def audit_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="opsconsole audit", description="Audit log tools.")
    sub = p.add_subparsers(dest="command", required=True)
    path_help = f"the log (default: {default_audit_path()})"
    v = sub.add_parser(
        "verify",
        help="check the hash chain of an audit log",
        description="Check every record's hash and its link to the one before, and that "
        "no record is missing from the end.",
        epilog=VERIFY_EXIT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    v.add_argument("path", nargs="?", type=Path, default=None, help=path_help)
    s = sub.add_parser(
        "show",
        help="list the records: who did what, to what, and how it ended",
        description="List the audit records: every action sent, its result, and every "
        "attempt the console refused before sending.",
        epilog=SHOW_EXIT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("path", nargs="?", type=Path, default=None, help=path_help)
    s.add_argument(
        "--since",
        metavar="T",
        help="only records from T on: a duration back from now (30m, 2h, 1d) or a time "
        "(2024-05-01T14:00, 14:00 today; local time unless it names a zone)",
    )
    s.add_argument("--json", action="store_true", help="one JSON object per line")
    args = p.parse_args(argv)
    path = args.path or default_audit_path()
    if args.command == "show":
        since: float | None = None
        if args.since is not None:
            try:
                since = parse_since(args.since, time.time())
            except ValueError as exc:
                s.error(str(exc))  # exits 2
        try:
            return show(path, since, args.json, sys.stdout, sys.stderr)
        except BrokenPipeError:
            # The reader had enough (`| head`): not an error, and no traceback at exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    result = verify(path)
    print(verdict_words(path, result), file=sys.stdout if result.ok else sys.stderr)
    for remark in result.remarks:
        print(f"  note: {remark}", file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else VERIFY_CODES.get(result.verdict, 1)


def verdict_words(path: Path, result: VerifyResult) -> str:
    """The verdict in one line; each kind of trouble in its own words."""
    if result.ok:
        return f"{path}: OK, {result.records} records, chain intact"
    line = f"line {result.first_bad_line}: " if result.first_bad_line else ""
    if result.verdict == TORN:
        return f"{path}: TORN BY A CRASH: {line}{result.reason}"
    if result.verdict == TRUNCATED:
        return f"{path}: TRUNCATED: {line}{result.reason}"
    if result.verdict == TAMPERED and result.first_bad_line:
        return (
            f"{path}: ALTERED at line {result.first_bad_line}: {result.reason} "
            f"({result.records} good records before it)"
        )
    if result.verdict == TAMPERED:
        return f"{path}: ALTERED: {result.reason}"
    return f"{path}: FAILED: {result.reason}"


# ---------------------------------------------------------------- show


def parse_since(text: str, now: float) -> float:
    """Epoch seconds from "2h" (back from `now`), an ISO time, or "14:00" (today, local)."""
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        clock = dt.time.fromisoformat(text)
    except ValueError:
        clock = None
    try:
        if clock is not None:
            when = dt.datetime.combine(dt.date.fromtimestamp(now), clock)
        else:
            when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--since {text!r} is neither a duration (30m, 2h, 1d) nor a time "
            "(2024-05-01T14:00 or 14:00)"
        ) from None
    # A time without a zone is the operator's local time, as every time shown here is.
    return (when if when.tzinfo is not None else when.astimezone()).timestamp()


def show(path: Path, since: float | None, as_json: bool, out: TextIO, err: TextIO) -> int:
    """Print the records of `path` from `since` on; returns the exit code (see SHOW_EXIT)."""
    records: list[dict[str, Any]] = []
    damaged: list[int] = []
    try:
        torn = torn_bytes(path)
        # A torn last line is no record, whole JSON or not: said below in its own words.
        for number, record in read_records(path, complete_only=True):
            if record is None:
                damaged.append(number)
            elif since is None or _ts(record) >= since:
                records.append(record)
    except FileNotFoundError:
        print(f"opsconsole audit: there is no audit log at {path}", file=err)
        return 1
    except OSError as exc:
        print(f"opsconsole audit: {path} cannot be read: {exc.strerror or exc}", file=err)
        return 1
    if as_json:
        for record in records:
            out.write(json.dumps(json_record(record), ensure_ascii=False) + "\n")
    elif records:
        out.write(table(records))
    else:
        since_words = f" since {_local(since)}" if since is not None else ""
        print(f"no audit records{since_words} in {path}", file=out)
    if damaged:
        lines = ", ".join(str(n) for n in damaged[:10]) + (" …" if len(damaged) > 10 else "")
        print(
            f"opsconsole audit: {len(damaged)} damaged line(s) skipped ({lines}); "
            "run `opsconsole audit verify`",
            file=err,
        )
    if torn:
        print(
            f"opsconsole audit: the last line ({torn} bytes) is a record torn by a crash, "
            "not listed; run `opsconsole audit verify`",
            file=err,
        )
    return 1 if damaged or torn else 0


def json_record(record: dict[str, Any]) -> dict[str, Any]:
    """The record as stored, secrets masked, with its time also as local ISO 8601."""
    clean = _masked(record)
    ts = _ts(record)
    if ts > 0:
        clean["time"] = dt.datetime.fromtimestamp(ts).astimezone().isoformat(timespec="seconds")
    return clean


def row(record: dict[str, Any]) -> tuple[str, ...]:
    """One record as the table's columns (COLUMNS), in plain words."""
    phase = record.get("phase")
    args = record.get("args") if isinstance(record.get("args"), dict) else {}
    if phase == NOTE:
        # The console's own words about the log (a torn record set aside, records missing).
        result = {TORN: "repaired"}.get(str(record.get("event")), str(record.get("event", "")))
        message = str(record.get("message", ""))
        record = {**record, "command": "audit log", "target": ""}
    elif phase == "intent":
        result = "sent"
        message = _intent_words(record, args)
    elif phase == "refused":
        result = "refused"
        rules = record.get("rules") or []
        why = f" [{', '.join(map(str, rules))}]" if rules else ""
        message = f"{record.get('message', '')}{why}"
    else:
        result = str(record.get("outcome", phase or "?")).replace("_", " ")
        message = str(record.get("message", ""))
    ts = _ts(record)
    cells = (
        time.strftime("%H:%M:%S", time.localtime(ts)) if ts > 0 else "?",
        record.get("user", "?"),
        record.get("command", "?"),
        _target(record, args),
        result,
        message,
    )
    return tuple(_clean(str(c)) for c in cells)


def table(records: Sequence[dict[str, Any]]) -> str:
    """Aligned columns, a date line whenever the day changes; the message is not padded."""
    rows = [row(r) for r in records]
    widths = [max(len(c[i]) for c in [COLUMNS, *rows]) for i in range(len(COLUMNS) - 1)]

    def line(cells: Iterable[str]) -> str:
        cells = list(cells)
        padded = [c.ljust(w) for c, w in zip(cells, widths, strict=False)]
        return "  ".join([*padded, cells[-1]]).rstrip() + "\n"

    out = [line(COLUMNS)]
    day = None
    for record, cells in zip(records, rows, strict=True):
        ts = _ts(record)
        this_day = time.strftime("%Y-%m-%d %A", time.localtime(ts)) if ts > 0 else "?"
        if this_day != day:
            out.append(f"— {this_day}\n")
            day = this_day
        out.append(line(cells))
    return "".join(out)


def _intent_words(record: dict[str, Any], args: dict[str, Any]) -> str:
    parts = [
        f"{k} {_masked_value(k, v)}"
        for k, v in args.items()
        if k not in ("by", "member") and v not in (None, "")
    ]
    stake = record.get("at_stake")
    if isinstance(stake, dict) and isinstance(stake.get("lag_bytes"), int):
        parts.append(f"lag {human_bytes(stake['lag_bytes'])} when confirmed")
    return ", ".join(parts)


def _target(record: dict[str, Any], args: dict[str, Any]) -> str:
    target = str(record.get("target", "?"))
    member = args.get("member")
    return f"{target} → {member}" if member else target


def _ts(record: dict[str, Any]) -> float:
    ts = record.get("ts")
    return float(ts) if isinstance(ts, int | float) and not isinstance(ts, bool) else 0.0


def _local(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _clean(text: str) -> str:
    """One line per record, whatever a backend put in a message; no token printed."""
    return redact(_CONTROL.sub(" ", text))


def _masked_value(key: str, value: Any) -> Any:
    if _SECRET_KEY.search(str(key)):
        return "***"
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _masked_value(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked_value(key, v) for v in value]
    return value


def _masked(record: dict[str, Any]) -> dict[str, Any]:
    return {k: _masked_value(k, v) for k, v in record.items()}

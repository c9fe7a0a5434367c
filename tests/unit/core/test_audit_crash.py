"""The audit log across crashes, truncation and two writers: real files, real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from opsconsole.core.audit import (
    TAMPERED,
    TORN,
    TRUNCATED,
    AuditLog,
    AuditLogBusy,
    head_path,
    read_head,
    record_hash,
    verify,
)

NOW = 1_700_000_000.0
ROOT = Path(__file__).resolve().parents[3]


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def written(path: Path, n: int) -> AuditLog:
    log = AuditLog(path, clock=lambda: NOW)
    for i in range(n):
        log.append({"phase": "intent", "command": "breaker.force_open", "target": f"svc-{i}"})
    return log


def child(code: str, *args: str) -> subprocess.Popen[str]:
    """A Python process running `code` with the project importable; stdout is a pipe."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


# ---------------------------------------------------------------- torn by a crash


def test_a_torn_last_line_is_told_as_a_crash_not_as_tampering(tmp_path):
    path = tmp_path / "audit.jsonl"
    written(path, 3)
    with open(path, "ab") as f:
        f.write(b'{"seq":4,"ts":1700000000.0,"user":"op","phase":"int')  # kill -9 mid-write
    result = verify(path)
    assert result.verdict == TORN and not result.ok
    assert result.first_bad_line == 4 and result.records == 3
    assert "torn by a crash" in result.reason and "altered" not in result.reason
    assert "the 3 records before it are intact" in result.reason


@pytest.mark.parametrize("first", ["open", "append"])
def test_the_torn_bytes_are_kept_aside_and_the_next_record_is_whole(tmp_path, first):
    path = tmp_path / "audit.jsonl"
    written(path, 3)
    torn = b'{"seq":4,"ts":1700000000.0,"user":"op","phase":"result","outc'
    with open(path, "ab") as f:
        f.write(torn)
    os.utime(path, (NOW + 30, NOW + 30))  # when the crash tore it: the log's last change
    told: list[str] = []
    log = AuditLog(path, clock=lambda: NOW + 60, on_notice=told.append)
    if first == "open":
        assert log.open() == told
    record = log.append({"phase": "intent", "command": "db.switchover", "target": "orders-db"})
    # Said once, whether the console opened the log first or went straight to an action.
    [notice] = told
    [kept] = tmp_path.glob("audit.jsonl.torn-*")
    assert kept.name == "audit.jsonl.torn-20231114T221420Z"  # the repair's UTC time
    assert kept.read_bytes() == torn
    crash = time.strftime("%H:%M:%S", time.localtime(NOW + 30))
    assert notice == (
        f"the audit log's last record was torn by a crash at about {crash}; "
        f"its {len(torn)} bytes were kept in {kept.name}"
    )
    # The next record is a line of its own (it used to be glued to the torn bytes, and lost).
    *before, note, last = lines(path)
    assert len(before) == 3 and last == record
    assert note["phase"] == "note" and note["event"] == "torn" and note["message"] == notice
    assert note["kept_in"] == kept.name and note["bytes"] == len(torn)
    result = verify(path, now=NOW + 90)
    assert result.ok and result.records == 5
    assert result.remarks == (
        f"line 4: at {time.strftime('%H:%M:%S', time.localtime(NOW + 60))} the console set "
        f"aside a record torn by a crash ({len(torn)} bytes, kept in {kept.name})",
    )
    # Told once: a second console opening the repaired log finds nothing to say.
    assert AuditLog(path).open() == []


def test_a_writer_killed_with_sigkill_loses_no_record_it_reported(tmp_path):
    path = tmp_path / "audit.jsonl"
    proc = child(
        """
        import sys
        from pathlib import Path
        from opsconsole.core.audit import AuditLog
        log = AuditLog(Path(sys.argv[1]))
        n = 0
        while True:
            log.append({"phase": "intent", "command": "breaker.close", "target": "x" * 300})
            n += 1
            print(n, flush=True)  # only once the record is on disk
        """,
        str(path),
    )
    assert proc.stdout is not None
    reported = 0
    while reported < 40:
        reported = int(proc.stdout.readline())
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proc.stdout.close()
    proc.stdin.close()  # type: ignore[union-attr]
    # Wherever the kill landed (mid-write, between the record and its head file, or between
    # records), the verdict is never tampering or truncation.
    before = verify(path)
    assert before.verdict in ("ok", TORN), before
    assert before.records >= reported
    log = AuditLog(path)
    log.open()
    log.append({"phase": "intent", "command": "db.failover", "target": "orders-db"})
    after = verify(path)
    assert after.ok, after
    records = lines(path)
    assert records[-1]["command"] == "db.failover"
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert read_head(path).count == len(records)


def test_a_short_write_on_a_full_disk_leaves_no_half_record(tmp_path):
    """A write the disk cuts short (here a file-size limit) must not stay as a torn line
    that the next record is glued to: the append fails, the log is as before."""
    path = tmp_path / "audit.jsonl"
    written(path, 2)
    proc = child(
        """
        import json, os, resource, signal, sys
        from pathlib import Path
        from opsconsole.core.audit import AuditLog
        path = Path(sys.argv[1])
        log = AuditLog(path)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        _soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (path.stat().st_size + 40, hard))
        try:
            log.append({"phase": "intent", "command": "db.failover", "target": "y" * 200})
            first = "written"
        except OSError as exc:
            first = exc.strerror
        resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
        log.append({"phase": "intent", "command": "db.switchover", "target": "orders-db"})
        print(json.dumps(first))
        """,
        str(path),
    )
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert json.loads(out) == "File too large"  # the caller was told: nothing is sent
    result = verify(path)
    assert result.ok, result
    assert [r["command"] for r in lines(path)][-1] == "db.switchover"
    assert len(lines(path)) == 3


# ---------------------------------------------------------------- truncation


def test_records_cut_off_the_end_or_an_emptied_log_are_found(tmp_path):
    path = tmp_path / "audit.jsonl"
    written(path, 5)
    assert verify(path).ok
    whole = path.read_bytes()
    path.write_bytes(b"".join(whole.splitlines(keepends=True)[:3]))
    cut = verify(path)
    assert cut.verdict == TRUNCATED and not cut.ok
    assert cut.reason == "records were cut off the end: 5 records expected, 3 found"
    path.write_bytes(b"")
    emptied = verify(path)
    assert emptied.verdict == TRUNCATED
    assert emptied.reason == "records were cut off the end: 5 records expected, 0 found"
    path.unlink()
    gone = verify(path)
    assert gone.verdict == TRUNCATED
    assert gone.reason == "the log is gone: its head file expects 5 records"


def test_the_console_notes_missing_records_in_the_chain_and_goes_on(tmp_path):
    path = tmp_path / "audit.jsonl"
    written(path, 5)
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:3]))
    told: list[str] = []
    log = AuditLog(path, clock=lambda: NOW + 120, on_notice=told.append)
    assert log.open() == [
        "the audit log was cut short: 5 records expected, 3 found; run `opsconsole audit verify`"
    ]
    log.append({"phase": "intent", "command": "breaker.close", "target": "payment-service"})
    records = lines(path)
    assert [r["phase"] for r in records] == ["intent"] * 3 + ["note", "intent"]
    assert records[3]["event"] == "truncated" and records[3]["expected"] == 5
    # The new records chain on, and the loss stays on record: verify keeps saying it.
    result = verify(path, now=NOW + 150)
    assert result.verdict == TRUNCATED and result.first_bad_line == 4
    clock = time.strftime("%H:%M:%S", time.localtime(NOW + 120))
    assert result.reason == (
        f"at {clock} the console found that the audit log was cut short: "
        "5 records expected, 3 found"
    )
    assert read_head(path).count == 5
    assert AuditLog(path).open() == []  # told once


def test_the_last_record_rewritten_with_a_fresh_hash_is_found(tmp_path):
    """Editing the last record and recomputing its hash leaves a valid chain; the head
    file still names the record that was written."""
    path = tmp_path / "audit.jsonl"
    written(path, 3)
    *kept, last = lines(path)
    last["target"] = "someone-else"
    last["hash"] = record_hash(last)
    path.write_text("".join(json.dumps(r) + "\n" for r in [*kept, last]))
    result = verify(path)
    assert result.verdict == TAMPERED
    assert "record 3 is not the one written last" in result.reason


def test_a_crash_between_the_record_and_its_head_file_is_not_truncation(tmp_path):
    path = tmp_path / "audit.jsonl"
    log = written(path, 3)
    old_head = head_path(path).read_bytes()
    log.append({"phase": "result", "outcome": "succeeded"})
    head_path(path).write_bytes(old_head)  # the head rename never happened
    result = verify(path)
    assert result.ok and result.records == 4
    assert result.remarks == (
        "the head file is one record behind (a crash right after the last record was "
        "written); the console brings it up to date",
    )
    assert AuditLog(path).open() == []
    assert read_head(path).count == 4 and verify(path).remarks == ()


def test_a_log_from_before_head_files_verifies_and_gets_one(tmp_path):
    path = tmp_path / "audit.jsonl"
    written(path, 2)
    head_path(path).unlink()
    result = verify(path)
    assert result.ok and result.remarks == (
        "no head file: truncation cannot be checked (a log from an older console)",
    )
    assert AuditLog(path).open() == []
    assert read_head(path).count == 2 and verify(path).remarks == ()


def test_a_damaged_head_file_fails_verify_and_the_console_writes_it_anew(tmp_path):
    path = tmp_path / "audit.jsonl"
    written(path, 2)
    head_path(path).write_text("{not json")
    result = verify(path)
    assert result.verdict == TRUNCATED
    assert result.reason.startswith("audit.jsonl.head is damaged (")
    assert result.reason.endswith("): truncation cannot be checked")
    [notice] = AuditLog(path).open()
    assert notice.startswith("audit.jsonl.head is damaged (")
    assert notice.endswith("; it is written anew from the log")
    assert read_head(path).count == 2 and verify(path).ok


# ---------------------------------------------------------------- two consoles, one log


WRITER = """
    import sys
    from pathlib import Path
    from opsconsole.core.audit import AuditLog
    log = AuditLog(Path(sys.argv[1]))
    log.open()
    n = 0
    for line in sys.stdin:  # "N": write N records, then say so
        for _ in range(int(line)):
            target = f"{sys.argv[2]}-{n}"
            log.append({"phase": "intent", "command": "breaker.close", "target": target})
            n += 1
        print("ok", flush=True)
"""


def test_two_consoles_writing_one_log_take_turns_and_the_chain_holds(tmp_path):
    path = tmp_path / "audit.jsonl"
    written(path, 1)
    writers = {name: child(WRITER, str(path), name) for name in ("a", "b")}

    def tell(name: str, n: int) -> None:
        proc = writers[name]
        assert proc.stdin is not None
        proc.stdin.write(f"{n}\n")
        proc.stdin.flush()

    def done(name: str) -> None:
        assert writers[name].stdout.readline() == "ok\n"  # type: ignore[union-attr]

    # Turn by turn: each writes after the other did (each knew the log's end before).
    for _ in range(3):
        for name in ("a", "b"):
            tell(name, 1)
            done(name)
    # Then both at once, as fast as they can.
    for name in ("a", "b"):
        tell(name, 40)
    for name in ("a", "b"):
        done(name)
        writers[name].communicate(timeout=30)
        assert writers[name].returncode == 0
    result = verify(path)
    assert result.ok, result
    records = lines(path)
    assert len(records) == 1 + 2 * 43
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    for name in ("a", "b"):
        assert [r["target"] for r in records if r["target"].startswith(f"{name}-")] == [
            f"{name}-{i}" for i in range(43)
        ]
    assert read_head(path).count == len(records)


def test_a_console_stuck_holding_the_log_is_named_and_nothing_is_written(tmp_path):
    path = tmp_path / "audit.jsonl"
    written(path, 2)
    holder = child(
        """
        import fcntl, sys
        f = open(sys.argv[1], "ab")
        fcntl.flock(f, fcntl.LOCK_EX)
        print("holding", flush=True)
        sys.stdin.readline()
        """,
        str(path),
    )
    assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
    before = path.read_bytes()
    log = AuditLog(path, lock_wait_s=0.2)
    with pytest.raises(AuditLogBusy) as busy:
        log.append({"phase": "intent", "command": "db.failover", "target": "orders-db"})
    assert busy.value.pid == holder.pid
    assert busy.value.strerror == f"in use by another opsconsole (pid {holder.pid})"
    assert path.read_bytes() == before
    holder.communicate("done\n", timeout=10)
    log.append({"phase": "intent", "command": "db.failover", "target": "orders-db"})
    assert verify(path).ok and len(lines(path)) == 3

"""`opsconsole audit show`: the records of real actions, listed for a post-mortem."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from pathlib import Path

import pytest

from opsconsole.app.actions import ActionRunner
from opsconsole.app.auditcli import audit_main, parse_since
from opsconsole.core.actions import Intent
from opsconsole.core.audit import AuditLog, verify
from opsconsole.core.models import ConnectionState
from tests.support.process import run_console
from tests.support.waiting import wait_until


async def always_yes(_intent: Intent) -> bool:
    return True


@pytest.fixture
async def acted(sim_factory, store, client_factory, tmp_path) -> Path:
    """An audit log written by the pipeline against the reference backend: a switchover that
    went through, then a failover the preconditions refused."""
    sim = await sim_factory(time_scale=20)
    client = client_factory(sim.url)
    await wait_until(lambda: client.status.state is ConnectionState.LIVE, 10, "LIVE")
    await wait_until(lambda: "orders-db" in store.backend("sim").clusters, 5, "clusters")
    audit = AuditLog(tmp_path / "audit.jsonl")
    runner = ActionRunner(store, {"sim": client}, audit, always_yes, outcome_timeout_s=15)
    done = await runner.submit(Intent("db.switchover", "sim", "orders-db", {"member": "replica-1"}))
    assert done.ok, done.message
    refused = await runner.submit(
        Intent("db.failover", "sim", "orders-db", {"member": "replica-1"})
    )
    assert refused.status == "blocked"
    return audit.path


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def clock(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts))


async def test_show_lists_what_was_sent_how_it_ended_and_what_was_refused(acted, tmp_path):
    proc = await asyncio.to_thread(run_console, "audit", "show", str(acted), tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    intent, result, refused = records(acted)
    header, day, *rows = proc.stdout.splitlines()
    assert header.split() == ["time", "operator", "action", "target", "result", "message"]
    assert day == "— " + time.strftime("%Y-%m-%d %A", time.localtime(intent["ts"]))
    assert len(rows) == 3
    lag = intent["at_stake"]["lag_bytes"]
    assert lag > 0
    assert rows[0].startswith(f"{clock(intent['ts'])}  {intent['user']}")
    assert "db.switchover  orders-db → replica-1  sent" in rows[0]
    assert rows[0].endswith("when confirmed") and " lag " in rows[0]
    assert rows[1].startswith(clock(result["ts"]))
    assert rows[1].endswith("succeeded  replica-1 is primary, timeline 2")
    assert rows[2].startswith(clock(refused["ts"]))
    assert rows[2].endswith(
        "refused    replica-1 cannot take over: is already primary [candidate-eligible]"
    )
    assert "db.failover" in rows[2]
    # Local times only: no raw epoch seconds reach the operator.
    assert str(int(intent["ts"])) not in proc.stdout


async def test_show_json_is_one_record_per_line_with_its_local_time(acted, capsys):
    assert audit_main(["show", str(acted), "--json"]) == 0
    out = capsys.readouterr().out.splitlines()
    listed = [json.loads(line) for line in out]
    stored = records(acted)
    assert [r["phase"] for r in listed] == ["intent", "result", "refused"]
    for shown, kept in zip(listed, stored, strict=True):
        assert dt.datetime.fromisoformat(shown["time"]).timestamp() == pytest.approx(
            kept["ts"], abs=1
        )
        assert {k: v for k, v in shown.items() if k != "time"} == kept
    assert listed[2]["rules"] == ["candidate-eligible"] and listed[2]["outcome"] == "refused"
    assert verify(acted).ok  # listing never touches the chain


async def test_since_takes_a_duration_or_a_time(acted, capsys):
    assert audit_main(["show", str(acted), "--since", "1h"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2 + 3  # header, day, three records
    later = (dt.datetime.now() + dt.timedelta(minutes=5)).isoformat(timespec="seconds")
    assert audit_main(["show", str(acted), "--since", later]) == 0
    out = capsys.readouterr().out
    assert out.startswith("no audit records since ") and "audit.jsonl" in out
    with pytest.raises(SystemExit) as bad:
        audit_main(["show", str(acted), "--since", "yesterday-ish"])
    assert bad.value.code == 2
    assert "neither a duration (30m, 2h, 1d) nor a time" in capsys.readouterr().err


def test_since_is_read_against_the_given_now() -> None:
    now = 1_700_000_000.0
    assert parse_since("2h", now) == now - 7200
    assert parse_since("90m", now) == now - 5400
    assert parse_since("2023-11-14T22:00:00+00:00", now) == 1_699_999_200.0
    naive = dt.datetime(2023, 11, 14, 8, 30)
    assert parse_since("2023-11-14T08:30", now) == naive.astimezone().timestamp()
    today = dt.datetime.combine(dt.date.fromtimestamp(now), dt.time(6, 15))
    assert parse_since("06:15", now) == today.astimezone().timestamp()
    with pytest.raises(ValueError, match="neither a duration"):
        parse_since("soon", now)


def test_a_missing_log_is_said_plainly(tmp_path, capsys):
    missing = tmp_path / "nowhere" / "audit.jsonl"
    assert audit_main(["show", str(missing)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == f"opsconsole audit: there is no audit log at {missing}"


def test_damaged_lines_are_skipped_named_and_make_the_exit_code_1(tmp_path, capsys):
    log = AuditLog(tmp_path / "audit.jsonl")
    log.append({"phase": "refused", "command": "breaker.force_open", "target": "x", "args": {}})
    with open(log.path, "a", encoding="utf-8") as f:
        f.write("{not json\n")
    assert audit_main(["show", str(log.path)]) == 1
    captured = capsys.readouterr()
    assert "breaker.force_open" in captured.out
    assert "1 damaged line(s) skipped (2); run `opsconsole audit verify`" in captured.err


def test_no_token_is_printed_in_either_form(tmp_path, capsys):
    log = AuditLog(tmp_path / "audit.jsonl")
    log.append(
        {
            "phase": "result",
            "command": "breaker.close",
            "target": "payment-service",
            "args": {"api_token": "tok-7f3e1d"},
            "outcome": "refused",
            "message": "HTTP 401: sent Authorization: Bearer tok-7f3e1d to /x?token=tok-7f3e1d",
        }
    )
    assert audit_main(["show", str(log.path)]) == 0
    assert audit_main(["show", str(log.path), "--json"]) == 0
    out = capsys.readouterr().out
    assert "tok-7f3e1d" not in out
    assert "Bearer *** to /x?token=***" in out and '"api_token": "***"' in out


def test_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit) as shown:
        audit_main(["show", "--help"])
    assert shown.value.code == 0
    text = capsys.readouterr().out
    assert "exit codes:" in text and "there is no audit log at that path" in text
    assert "--since T" in text and "--json" in text


# ---------------------------------------------------------------- verify


def written_log(path: Path, n: int) -> AuditLog:
    log = AuditLog(path)
    for i in range(n):
        log.append({"phase": "intent", "command": "breaker.close", "target": f"svc-{i}"})
    return log


def test_verify_says_each_verdict_in_its_own_words_and_exit_code(tmp_path, capsys):
    path = tmp_path / "audit.jsonl"
    written_log(path, 4)
    assert audit_main(["verify", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: OK, 4 records, chain intact\n"

    whole = path.read_bytes()
    with open(path, "ab") as f:
        f.write(b'{"seq":5,"ts":17')  # a crash mid-write
    assert audit_main(["verify", str(path)]) == 3
    assert capsys.readouterr().err == (
        f"{path}: TORN BY A CRASH: line 5: the last line (16 bytes) is a record torn by a "
        "crash; the 4 records before it are intact, and the console sets the torn bytes "
        "aside when it next opens the log\n"
    )

    path.write_bytes(b"".join(whole.splitlines(keepends=True)[:2]))
    assert audit_main(["verify", str(path)]) == 4
    assert capsys.readouterr().err == (
        f"{path}: TRUNCATED: records were cut off the end: 4 records expected, 2 found\n"
    )

    path.write_bytes(whole.replace(b"svc-1", b"svc-X"))
    assert audit_main(["verify", str(path)]) == 1
    assert capsys.readouterr().err == (
        f"{path}: ALTERED at line 2: hash mismatch: the record was altered "
        "(1 good records before it)\n"
    )


def test_verify_after_the_console_repaired_a_crash_is_ok_and_says_what_happened(tmp_path, capsys):
    path = tmp_path / "audit.jsonl"
    written_log(path, 2)
    with open(path, "ab") as f:
        f.write(b'{"seq":3,"ts":17')
    [notice] = AuditLog(path).open()
    assert "torn by a crash" in notice
    assert audit_main(["verify", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{path}: OK, 3 records, chain intact"
    assert out[1].startswith("  note: line 3: at ")
    assert "the console set aside a record torn by a crash" in out[1]
    # `show` lists the repair as the console's own line.
    assert audit_main(["show", str(path)]) == 0
    *_, last = capsys.readouterr().out.splitlines()
    assert "audit log" in last and "repaired" in last and "torn by a crash" in last


def test_an_old_log_without_a_head_file_verifies_with_a_warning(tmp_path, capsys):
    path = tmp_path / "audit.jsonl"
    written_log(path, 2)
    (tmp_path / "audit.jsonl.head").unlink()
    assert audit_main(["verify", str(path)]) == 0
    assert capsys.readouterr().out == (
        f"{path}: OK, 2 records, chain intact\n"
        "  note: no head file: truncation cannot be checked (a log from an older console)\n"
    )


def test_show_says_a_torn_last_line_is_a_crash(tmp_path, capsys):
    path = tmp_path / "audit.jsonl"
    written_log(path, 1)
    with open(path, "ab") as f:
        f.write(b'{"seq":2,"ts":17')
    assert audit_main(["show", str(path)]) == 1
    captured = capsys.readouterr()
    assert "svc-0" in captured.out
    assert captured.err == (
        "opsconsole audit: the last line (16 bytes) is a record torn by a crash, not listed; "
        "run `opsconsole audit verify`\n"
    )


def test_verify_help_documents_the_verdicts_and_exit_codes(capsys):
    with pytest.raises(SystemExit) as shown:
        audit_main(["verify", "--help"])
    assert shown.value.code == 0
    text = capsys.readouterr().out
    for words in ("0  OK", "1  ALTERED", "3  TORN BY A CRASH", "4  TRUNCATED", "audit.jsonl.head"):
        assert words in text

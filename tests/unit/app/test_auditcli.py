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

"""Two consoles, one audit log: a console stuck holding it means nothing is sent, and said."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsconsole.app.actions import ActionRunner
from opsconsole.core.actions import Intent
from opsconsole.core.audit import AuditLog, verify
from opsconsole.core.models import ConnectionState
from tests.support.waiting import wait_until

HOLDER = """
    import fcntl, sys
    f = open(sys.argv[1], "ab")
    fcntl.flock(f, fcntl.LOCK_EX)
    print("holding", flush=True)
    sys.stdin.readline()
"""


async def always_yes(_intent: Intent) -> bool:
    return True


@pytest.fixture
def held(tmp_path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """An audit log another process holds, as a console stuck mid-write would; writing a
    line to the process's stdin lets go."""
    path = tmp_path / "audit.jsonl"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLDER), str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
    yield path, holder
    holder.communicate("done\n", timeout=10)


async def test_an_action_is_not_sent_while_another_console_holds_the_log(
    held, sim_factory, store, client_factory
):
    path, holder = held
    sim = await sim_factory(time_scale=20)
    client = client_factory(sim.url)
    await wait_until(lambda: client.status.state is ConnectionState.LIVE, 10, "LIVE")
    await wait_until(lambda: "payment-service" in store.backend("sim").circuits, 5, "circuits")
    audit = AuditLog(path, lock_wait_s=0.3)
    runner = ActionRunner(store, {"sim": client}, audit, always_yes, outcome_timeout_s=10)
    intent = Intent("breaker.force_open", "sim", "payment-service")
    blocked = await runner.submit(intent)
    assert blocked.status == "blocked" and blocked.rules == ("audit-written",)
    assert blocked.message == (
        "not sent: the audit log cannot be written "
        f"(in use by another opsconsole (pid {holder.pid}))"
    )
    assert (await client.circuits()).circuits["payment-service"].state == "closed"
    assert path.read_bytes() == b""
    # The other console lets go: the same action goes through, on record once.
    assert holder.stdin is not None
    holder.stdin.write("done\n")
    holder.stdin.flush()
    await wait_until(lambda: holder.poll() is not None, 10, "the other console to let go")
    done = await runner.submit(intent)
    assert done.ok, done.message
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["phase"] for r in records] == ["intent", "result"]
    assert verify(path).ok

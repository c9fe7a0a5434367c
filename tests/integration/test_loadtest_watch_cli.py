"""`opsconsole loadtest watch` against real Locust loading the real reference backend.

A fault (error_burst on payments) makes the error-rate stop condition hold: the referee counts
down, stops Locust through its API and exits 3; Locust itself reports stopped, the audit log
has the stop, the kept run and `opsconsole loadtest report` name the criterion that held with
its time in violation. Without a fault every success criterion passes and nothing is stopped.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import httpx

from tests.conftest import REAL_TIME_SIM_FIELDS

CLI_TIMEOUT_S = 90.0


def _config(sim_url: str, locust_url: str, *, stop_for: str = "3s") -> str:
    return f"""
[[backend]]
name = "shop"
kind = "opsapi"
url = "{sim_url}"

[[loadtest]]
name = "checkout"
tool = "locust"
url = "{locust_url}"
services = ["orders", "payments"]
countdown = "2s"
[loadtest.success]
max_error_ratio = 0.05
p99_ms = 5000
min_rps = 20
over = "3s"
for = "4s"
[[loadtest.stop]]
signal = "error_ratio"
above = 0.03
over = "2s"
for = "{stop_for}"
[loadtest.guards]
budget_page = false
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    return env


class Watch:
    """The CLI as a child process; its lines collected as they come."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.cursor = 0  # lines before it were matched or passed over by `until`
        self.changed = asyncio.Event()
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))
            self.changed.set()

    async def until(self, predicate, what: str, timeout: float = 45.0) -> str:  # noqa: ASYNC109
        """The next line after the cursor that matches, waiting for new lines (not for time)."""
        try:
            return await self._until(predicate, what, timeout)
        except TimeoutError:
            tail = "\n".join(self.lines[-15:])
            raise AssertionError(f"no {what} in {timeout:g} s; the last lines:\n{tail}") from None

    async def _until(self, predicate, what: str, timeout: float) -> str:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while True:
                while self.cursor < len(self.lines):
                    line = self.lines[self.cursor]
                    self.cursor += 1
                    if predicate(line):
                        return line
                if self.proc.returncode is not None and self.reader.done():
                    raise AssertionError(f"exited before {what}:\n" + "\n".join(self.lines[-20:]))
                self.changed.clear()
                await self.changed.wait()

    async def exit_code(self) -> int:
        async with asyncio.timeout(CLI_TIMEOUT_S):
            code = await self.proc.wait()
            await self.reader
        return code


async def _cli(tmp_path: Path, *args: str) -> asyncio.subprocess.Process:
    """`opsconsole loadtest ARGS…` as a child with its own data, config and state folders."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "opsconsole",
        "loadtest",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=_env(tmp_path),
    )


async def _start_watch(tmp_path: Path, config: str) -> Watch:
    path = tmp_path / "loadtest.toml"
    path.write_text(config, encoding="utf-8")
    return Watch(await _cli(tmp_path, "watch", "checkout", "--config", str(path), "--wait", "60"))


async def _report(tmp_path: Path) -> tuple[int, str]:
    proc = await _cli(tmp_path, "report", "checkout", "--out", str(tmp_path / "reports"))
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


def _audit(tmp_path: Path) -> list[dict]:
    path = tmp_path / "data" / "opsconsole" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def test_an_error_burst_is_counted_down_and_stops_locust(
    tmp_path: Path, sim_factory, locust_factory
) -> None:
    sim = await sim_factory(**REAL_TIME_SIM_FIELDS)
    locust = await locust_factory.astart(sim.url, users=10)
    watch = await _start_watch(tmp_path, _config(sim.url, locust.url))
    try:
        # Running and judged: the error-rate stop condition reads ok before the fault.
        await watch.until(lambda s: "Locust running" in s and "error rate" in s, "judging")
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                f"{sim.url}/api/v1/sim/scenario",
                json={"name": "error_burst", "target": "payments", "duration_s": 120},
            )
            answer.raise_for_status()
        await watch.until(lambda s: "BREACHING" in s, "a breach")
        await watch.until(lambda s: "STOPPING in" in s, "the countdown")
        code = await watch.exit_code()
    finally:
        if watch.proc.returncode is None:
            watch.proc.kill()
            await watch.proc.wait()
    output = "\n".join(watch.lines)
    assert code == 3, output
    assert "Locust reports stopped; traffic of orders, payments fell" in output, output
    # Locust itself says the test is stopped (its process and web UI stay up).
    assert (await locust.astats())["state"] == "stopped"
    # The stop is in the audit log: its intent before the request, then its outcome.
    records = [r for r in _audit(tmp_path) if r.get("command") == "loadtest.stop"]
    phases = [r["phase"] for r in records]
    assert phases == ["intent", "result"], records
    assert records[1]["outcome"] == "succeeded"
    assert "error rate" in records[0]["reason"]
    # The kept run: the stop condition held for at least its time, and not much longer.
    kept = next((tmp_path / "data" / "opsconsole" / "loadtests").glob("checkout-*.json"))
    result = json.loads(kept.read_bytes())["result"]
    assert result["verdict"] == "stopped" and result["exit_code"] == 3
    stop = next(c for c in result["criteria"] if c["kind"] == "stop")
    assert stop["verdict"] == "held"
    # It held for 3 s before the stop was due; the countdown (2 s) and the stop's outcome
    # add what they took. Judged once a second, so a second either side.
    assert 2.0 <= stop["violation_s"] <= 3.0 + 2.0 + 30.0, stop
    assert result["stop"]["outcome"].startswith("Locust reports stopped")
    # The report marks the criterion that held, with its time in violation.
    rc, printed = await _report(tmp_path)
    assert rc == 0, printed
    await asyncio.to_thread(_check_report, Path(printed.strip()))


def _check_report(path: Path) -> None:
    report = path.read_text()
    assert "held: stopped the test" in report
    assert "stopped: a stop condition held" in report
    assert (path.parent / "signals-orders.png").stat().st_size > 10_000


async def test_without_a_fault_every_criterion_passes_and_nothing_is_stopped(
    tmp_path: Path, sim_factory, locust_factory
) -> None:
    sim = await sim_factory(**REAL_TIME_SIM_FIELDS)
    locust = await locust_factory.astart(sim.url, users=10)
    watch = await _start_watch(tmp_path, _config(sim.url, locust.url))
    try:
        # Every criterion judged and passing for longer than any `for` of the config.
        await watch.until(lambda s: "Locust running" in s and "error rate" in s, "judging")
        passing = 0
        while passing < 6:
            line = await watch.until(lambda s: "Locust running" in s, "a line", 10.0)
            assert "BREACHING" not in line and "FAILED" not in line, line
            passing = passing + 1 if "no data" not in line else 0
        # The operator's own end of the test: Locust stops, and the watch ends with it.
        locust.stop_test()
        code = await watch.exit_code()
    finally:
        if watch.proc.returncode is None:
            watch.proc.kill()
            await watch.proc.wait()
    output = "\n".join(watch.lines)
    assert code == 0, output
    assert "checkout: passed (exit code 0)" in output
    assert "STOPPING" not in output
    assert not [r for r in _audit_or_empty(tmp_path) if r.get("command") == "loadtest.stop"]


def _audit_or_empty(tmp_path: Path) -> list[dict]:
    try:
        return _audit(tmp_path)
    except FileNotFoundError:
        return []

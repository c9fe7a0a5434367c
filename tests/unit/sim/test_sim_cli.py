"""`opsconsole-sim` as a process, and the embedded (threaded) server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import httpx
import pytest

from opsconsole.core.protocol import HealthBody, ServicesBody
from opsconsole.sim.embedded import start_in_thread
from opsconsole.sim.server import SimConfig
from tests.unit.sim.sim_helpers import body


def spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "opsconsole.sim.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_its_url_first_and_exits_0_on_signal(stop_signal: signal.Signals) -> None:
    proc = spawn("--port", "0", "--token-env", "SIM_TEST_TOKEN", "--tick", "0.1", "--seed", "3",
                 env={"SIM_TEST_TOKEN": "t0ps3cret"})  # fmt: skip
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and int(url.rsplit(":", 1)[1]) > 0
        health = body(httpx.get(f"{url}/api/v1/health", timeout=5), HealthBody)
        assert health.status == "ok"
        assert httpx.get(f"{url}/api/v1/services", timeout=5).status_code == 401
        authed = httpx.get(
            f"{url}/api/v1/services", headers={"Authorization": "Bearer t0ps3cret"}, timeout=5
        )
        assert len(body(authed, ServicesBody).services) == 8
        proc.send_signal(stop_signal)
        _, stderr = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert "t0ps3cret" not in stderr  # tokens never reach the log
    assert "Traceback" not in stderr


def test_cli_refuses_a_missing_token_variable() -> None:
    proc = spawn("--port", "0", "--token-env", "SIM_TEST_NO_SUCH_VARIABLE")
    _, stderr = proc.communicate(timeout=15)
    assert proc.returncode != 0 and "SIM_TEST_NO_SUCH_VARIABLE" in stderr


def test_embedded_sim_runs_on_its_own_thread_and_stops_idempotently() -> None:
    before = threading.active_count()
    sim = start_in_thread(SimConfig(tick_s=0.1, seed=1))
    try:
        assert sim.running
        health = body(httpx.get(f"{sim.url}/api/v1/health", timeout=5), HealthBody)
        assert health.status == "ok"
    finally:
        sim.stop()
    assert not sim.running and threading.active_count() == before
    sim.stop()  # a second stop is harmless
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{sim.url}/api/v1/health", timeout=2)


def test_embedded_sim_reports_a_port_in_use() -> None:
    with start_in_thread(SimConfig(tick_s=0.1)) as first:
        port = int(first.url.rsplit(":", 1)[1])
        # reuse_address lets a restart bind right after a stop, but not while it listens.
        with pytest.raises(OSError):
            start_in_thread(SimConfig(tick_s=0.1), port=port)


def test_console_script_points_at_main() -> None:
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "opsconsole-sim"]
    assert script.value == "opsconsole.sim.cli:main"

"""The demo backend's child process: its URL line, its stop on stdin's end, its guards."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

from opsconsole.app.demoprocess import CHILD_FLAG, DemoProcess, child_command
from opsconsole.core.protocol import HealthBody, ServicesBody
from tests.support.live_process import poll_until
from tests.support.processes import running
from tests.unit.sim.sim_helpers import body


def test_the_demo_process_serves_on_a_free_port_and_stops_in_order_on_stdin_end() -> None:
    demo = DemoProcess.launch()
    try:
        url = demo.wait_url().url
        assert url.startswith("http://127.0.0.1:") and int(url.rsplit(":", 1)[1]) > 0
        assert body(httpx.get(f"{url}/api/v1/health", timeout=5), HealthBody).status == "ok"
        services = body(httpx.get(f"{url}/api/v1/services", timeout=5), ServicesBody)
        assert len(services.services) == 8  # the demo's world, no token needed
        assert demo.running
    finally:
        demo.stop()
    assert demo._proc.returncode == 0  # stopped in order, not killed
    assert not running(demo.pid)
    demo.stop()  # idempotent


def test_a_child_started_for_another_parent_exits_at_once() -> None:
    # The parent it was started for is gone (here: never was its parent): nobody would ever
    # close its stdin, so it must not start serving.
    command = child_command()
    command[command.index("--parent-pid") + 1] = "1"
    done = subprocess.run(command, stdin=subprocess.PIPE, capture_output=True, timeout=30)
    assert done.returncode == 0
    assert done.stdout == b""  # never listened


def test_the_frozen_entry_runs_the_demo_backend_with_its_hidden_flag() -> None:
    # A PyInstaller bundle has no `python -m`: it re-enters its own main with CHILD_FLAG.
    # `python -m opsconsole` is that same main.
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsconsole", CHILD_FLAG, "--parent-pid", str(os.getpid())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        url = proc.stdout.readline().decode().strip()
        assert body(httpx.get(f"{url}/api/v1/health", timeout=5), HealthBody).status == "ok"
        proc.stdin.close()  # what the console does on quit
        proc.wait(15)
        assert proc.stderr is not None
        stderr = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    assert b"Traceback" not in stderr


def test_the_child_outlives_no_parent_that_dies_without_a_word() -> None:
    # A parent killed outright closes nothing in order: the kernel closes its end of the pipe
    # (and, on Linux, sends the PR_SET_PDEATHSIG signal). Here the parent is a shell that
    # starts the child and is killed.
    script = (
        "import subprocess, sys\n"
        "from opsconsole.app.demoprocess import DemoProcess\n"
        "demo = DemoProcess.launch()\n"
        "demo.wait_url()\n"
        "print(demo.pid, flush=True)\n"
        "sys.stdin.read()\n"  # wait until killed
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert running(child)
        parent.kill()
        parent.wait(10)
        poll_until(lambda: not running(child), 15, "the demo backend to exit after its parent")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()

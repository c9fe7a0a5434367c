"""Real Locust (from PyPI) as a subprocess with its web UI on a loopback port, for tests.

How to use it (the `locust_factory` fixture is registered in tests/conftest.py, so every test
under tests/ has it):

    def test_something(locust_factory, ...):
        run = locust_factory.start(sim.url, users=20)   # blocks until the web API answers
        stats = run.stats()                              # GET /stats/requests, as JSON
        run.stop_test()                                  # POST /stop: users stop, Locust stays

    async def test_async(locust_factory, sim_factory):
        sim = await sim_factory()
        run = await locust_factory.astart(sim.url, users=20)  # waits without blocking the loop
        stats = await run.astats()

`run.url` is Locust's own web API (give it to `[[loadtest]] url`). The run starts at once
(`--autostart`) with `users` users, each pacing itself to `user_rps` requests a second
(tests/support/locustfile.py: three product views per order), so it offers ≈ users × user_rps
rps. Every Locust started is ended at teardown, even when the test fails: SIGTERM to its
process group, then SIGKILL; a test process killed outright takes its Locusts along within a
second (the locustfile watches its parent). Its log is `run.log_path`; `run.log_tail()`
shows the end of it.

This module never imports locust: Locust patches the standard library with gevent when it
loads, which must not happen in the test process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
READY_TIMEOUT_S = 30.0  # importing gevent and flask on a busy 2-core box takes seconds
STOP_GRACE_S = 5.0
_PROBE_INTERVAL_S = 0.05  # between probes of another process's API: there is no event to wait on
_ATTEMPTS = 3  # a free port may be taken by someone else before Locust binds it


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocustRun:
    """One Locust process: its web API at `url`, its log at `log_path`."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
        self.proc = proc
        self.url = url
        self.log_path = log_path

    # ------------------------------------------------------------------ its web API

    def stats(self) -> dict[str, Any]:
        """Locust's `GET /stats/requests` (state, user_count, total_rps, fail_ratio, stats…)."""
        response = httpx.get(f"{self.url}/stats/requests", timeout=5.0)
        response.raise_for_status()
        return response.json()

    async def astats(self) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.get(f"{self.url}/stats/requests")
        response.raise_for_status()
        return response.json()

    def stop_test(self) -> None:
        """`POST /stop`: the users stop, the process and its web API stay up. (Locust 2.47
        answers GET /stop with 405; older 2.x releases took GET.)"""
        httpx.post(f"{self.url}/stop", timeout=5.0).raise_for_status()

    # ------------------------------------------------------------------ waiting

    def _ready(self, answer: dict[str, Any] | None) -> bool:
        return answer is not None and answer.get("state") in ("spawning", "running")

    def _check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise LocustExited(
                f"Locust exited ({self.proc.returncode}) before its web API answered:\n"
                + self.log_tail()
            )

    def _probe(self) -> dict[str, Any] | None:
        self._check_alive()
        try:
            return self.stats()
        except (httpx.HTTPError, ValueError):
            return None

    async def _aprobe(self) -> dict[str, Any] | None:
        self._check_alive()
        try:
            return await self.astats()
        except (httpx.HTTPError, ValueError):
            return None

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Until `/stats/requests` answers with the run started (spawning or running)."""
        deadline = time.monotonic() + timeout
        while not self._ready(self._probe()):
            if time.monotonic() > deadline:
                raise AssertionError(f"Locust not ready after {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(_PROBE_INTERVAL_S)

    # The deadline is this helper's job (like tests/support/waiting.py), hence `timeout`.
    async def await_ready(self, timeout: float = READY_TIMEOUT_S) -> None:  # noqa: ASYNC109
        """`wait_ready` without blocking the event loop (a sim on this loop keeps serving)."""
        deadline = time.monotonic() + timeout
        while not self._ready(await self._aprobe()):
            if time.monotonic() > deadline:
                raise AssertionError(f"Locust not ready after {timeout:.0f} s:\n{self.log_tail()}")
            await asyncio.sleep(_PROBE_INTERVAL_S)

    # ------------------------------------------------------------------ ending

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no log)"

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        """End the process and its group (SIGTERM, then SIGKILL). Idempotent."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(STOP_GRACE_S)
        # Anything left in its group (it started none of its own, but make sure) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait(STOP_GRACE_S)


class LocustExited(AssertionError):
    """Locust ended before it was ready (a taken port, a bad locustfile)."""


class LocustFactory:
    """Starts Locust runs against a host; `close_all()` ends every one of them."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.runs: list[LocustRun] = []

    def launch(
        self,
        host: str,
        *,
        users: int = 20,
        spawn_rate: float | None = None,
        user_rps: float = 10.0,
        locustfile: Path = LOCUSTFILE,
        extra_args: Sequence[str] = (),
    ) -> LocustRun:
        """Start the process; it is not ready yet (see `start` / `astart`)."""
        port = free_loopback_port()
        log_path = self.workdir / f"locust-{len(self.runs)}-{port}.log"
        args = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(locustfile),
            "--host",
            host,
            "--web-host",
            "127.0.0.1",
            "--web-port",
            str(port),
            "--autostart",
            "-u",
            str(users),
            "-r",
            str(spawn_rate if spawn_rate is not None else users),
            *extra_args,
        ]
        # No LOCUST_* setting of the caller's shell may change the run; no locust.conf is read
        # from a working folder of ours.
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
        env["SHOP_USER_RPS"] = str(user_rps)
        env["SHOP_PARENT_PID"] = str(os.getpid())  # it ends itself if this process dies
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=env,
                start_new_session=True,  # its own group, so teardown can end all of it
            )
        run = LocustRun(proc, f"http://127.0.0.1:{port}", log_path)
        self.runs.append(run)
        return run

    def start(self, host: str, **kwargs: Any) -> LocustRun:
        """Launch and wait (blocking) until the run has started; retries a taken port."""
        for attempt in range(_ATTEMPTS):
            run = self.launch(host, **kwargs)
            try:
                run.wait_ready()
                return run
            except LocustExited:
                if attempt == _ATTEMPTS - 1 or "in use" not in run.log_tail():
                    raise
        raise AssertionError("unreachable")

    async def astart(self, host: str, **kwargs: Any) -> LocustRun:
        """`start` for async tests: the event loop keeps running while Locust comes up."""
        for attempt in range(_ATTEMPTS):
            run = self.launch(host, **kwargs)
            try:
                await run.await_ready()
                return run
            except LocustExited:
                if attempt == _ATTEMPTS - 1 or "in use" not in run.log_tail():
                    raise
        raise AssertionError("unreachable")

    def close_all(self) -> None:
        for run in self.runs:
            run.close()


@pytest.fixture
def locust_factory(tmp_path: Path) -> Iterator[LocustFactory]:
    """Start real Locust runs (`.start(host, users=…)` / `await .astart(…)`); all end at
    teardown."""
    factory = LocustFactory(tmp_path)
    try:
        yield factory
    finally:
        factory.close_all()

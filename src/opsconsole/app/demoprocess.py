"""The built-in demo backend as a child process: launched first, its address read, stopped on quit.

`opsconsole --demo` launches it before importing Qt, so its imports (aiohttp, the simulation)
and its work run on another core instead of holding this process's GIL. The child is
`opsconsole.sim.child`; how the two talk (a URL line on stdout, stdin's end meaning stop) is
described there. Stdlib only: this module is imported before anything heavy.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys

#: The hidden argument a frozen console (PyInstaller, no `python -m`) is re-entered with to be
#: the demo backend instead (`opsconsole.app.cli.main` checks it first).
CHILD_FLAG = "--embedded-sim"
STOP_TIMEOUT_S = 5.0


def child_command(verbose: bool = False) -> list[str]:
    """How to start the child: this very program re-entered when frozen, else `python -m`."""
    if getattr(sys, "frozen", False):
        command = [sys.executable, CHILD_FLAG]
    else:
        command = [sys.executable, "-m", "opsconsole.sim.child"]
    command += ["--parent-pid", str(os.getpid())]
    return [*command, "--verbose"] if verbose else command


class DemoProcess:
    """The demo backend's child process; `url` once it listens, `stop()` blocking, idempotent."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self._proc = proc
        self._url: str | None = None

    @classmethod
    def launch(cls, verbose: bool = False) -> DemoProcess:
        """Start the child; returns at once (its address comes with `wait_url`)."""
        # stdin: our end is held until stop() (or our death) closes it. stderr is shared, so
        # the backend's log lines land beside ours.
        proc = subprocess.Popen(
            child_command(verbose),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        return cls(proc)

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc.poll() is None

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the demo backend has not said its address yet")
        return self._url

    def wait_url(self) -> DemoProcess:
        """Block until the child prints its URL (a thread's job); self, for chaining.

        A child that exits first (it could not listen) raises `RuntimeError` with its status.
        A child that hangs is the caller's timeout to handle (then `stop()`).
        """
        if self._url is not None:
            return self
        stdout = self._proc.stdout
        line = stdout.readline() if stdout is not None else b""
        text = line.decode("utf-8", "replace").strip()
        if not text.startswith("http"):
            code = self._proc.wait()
            raise RuntimeError(f"the demo backend stopped before it listened (exit status {code})")
        self._url = text
        return self

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Close its stdin (it stops in order) and reap it; terminate, then kill, if it lingers."""
        proc = self._proc
        if proc.stdin is not None and not proc.stdin.closed:
            with contextlib.suppress(OSError):  # it died already: the pipe is broken
                proc.stdin.close()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> DemoProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

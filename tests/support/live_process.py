"""The `opsconsole` command running as a subprocess the test talks to while it runs."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def poll_until(probe: Callable[[], T | None], timeout: float, what: str) -> T:
    """Call `probe` until it returns something truthy; fails the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)  # between probes of another process: there is no event to wait on


class RunningConsole:
    """`python -m opsconsole ARGS` with private XDG folders; stderr is collected as it comes."""

    def __init__(self, *args: str, tmp_path: Path, env: dict[str, str] | None = None) -> None:
        self.env = {
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_DATA_HOME": str(tmp_path / "data"),
            **(env or {}),
        }
        self.env.pop("WAYLAND_DISPLAY", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "opsconsole", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=self.env,
        )
        self._stderr: list[str] = []
        self._stdout: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stderr, self._stderr), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stdout, self._stdout), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream, into: list[str]) -> None:
        for line in stream:
            into.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    def wait_for_stderr(self, text: str, timeout: float = 30) -> None:
        """Until `text` shows on stderr (a log line marking a stage of the start)."""

        def seen() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"exited ({self.proc.returncode}) before {text!r}: {self.stderr[-2000:]}"
                )
            return text in self.stderr

        poll_until(seen, timeout, repr(text))

    def wait_exit(self, timeout: float = 30) -> int:
        """The exit status once the console has shut down (killed and failed after `timeout`)."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f"still running {timeout:.0f} s after quit; stderr: {self.stderr[-2000:]}"
            ) from None
        for reader in self._readers:
            reader.join(5)
        return code

    def stop(self) -> None:
        """Test clean-up: never leave a console behind."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for reader in self._readers:
            reader.join(5)

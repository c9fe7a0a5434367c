"""Processes of a test lab: found through /proc, stopped with SIGTERM then SIGKILL."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from tests.support.waiting import poll_until


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie, dead but not yet reaped, does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def parent(pid: int) -> int | None:
    """The parent of `pid`; None when it is gone."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def cmdline(pid: int) -> str:
    """The command line of `pid`, arguments joined by spaces; "" when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def matching(ours: Callable[[str], bool]) -> list[int]:
    """The live processes whose command line `ours` accepts."""
    pids = (int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit())
    return sorted(pid for pid in pids if ours(cmdline(pid)) and alive(pid))


def terminate(procs: Iterable[subprocess.Popen[bytes]], grace_s: float) -> None:
    """SIGTERM each, wait up to `grace_s` in all, SIGKILL what still runs; all are reaped."""
    procs = list(procs)
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + grace_s
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)


def kill_until_gone(find: Callable[[], list[int]], timeout_s: float = 10.0) -> None:
    """SIGKILL what `find` names until it names nothing (or `timeout_s` passed)."""

    def gone() -> bool:
        left = find()
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return not left

    # A killed process needs a moment to leave /proc: polled, not waited for blindly.
    with contextlib.suppress(AssertionError):  # what is left is named by the caller's check
        poll_until(gone, timeout_s, "the lab's processes gone", 0.05)

"""Wait on a condition with a deadline, never for a fixed time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


# The deadline is this helper's whole job, hence the `timeout` parameter.
async def wait_until(
    condition: Callable[[], object],
    timeout: float = 10.0,  # noqa: ASYNC109
    what: str = "condition",
) -> float:
    """Poll `condition` until true; returns the seconds it took, fails the test on timeout."""
    start = time.monotonic()
    poll = 0.01
    while True:
        if condition():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:.1f} s waiting for {what}")
        await asyncio.sleep(poll)
        poll = min(poll * 1.5, 0.05)


# Between two probes that need I/O (a REST read): often enough to notice at once, rarely
# enough not to load the backend under test.
IO_PROBE_INTERVAL_S = 0.02


async def wait_until_async(
    probe: Callable[[], Awaitable[T | None]],
    timeout: float = 10.0,  # noqa: ASYNC109
    what: str = "condition",
) -> T:
    """Like `wait_until` for a condition that needs I/O to find out; returns its truthy value."""
    start = time.monotonic()
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:.1f} s waiting for {what}")
        await asyncio.sleep(IO_PROBE_INTERVAL_S)


def poll_until(
    probe: Callable[[], T | None],
    timeout: float = 10.0,
    what: str = "condition",
    interval: float = IO_PROBE_INTERVAL_S,
    why_not: Callable[[], str] | None = None,
) -> T:
    """The blocking twin of `wait_until_async`, for code outside any event loop (a lab of
    real processes): probe until truthy, return that value; fail the test at the deadline,
    saying `why_not()` when given. `probe` may raise to stop early (a process that died)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f": {why_not()}" if why_not is not None else ""
            raise AssertionError(f"timed out after {timeout:.1f} s waiting for {what}{extra}")
        time.sleep(interval)  # the one pause between probes, bounded by the deadline above

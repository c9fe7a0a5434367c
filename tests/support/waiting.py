"""Wait on a condition with a deadline, never for a fixed time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


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


async def wait_until_async(
    probe: Callable[[], Awaitable[bool]],
    timeout: float = 10.0,  # noqa: ASYNC109
    what: str = "condition",
) -> float:
    """Like `wait_until` for a condition that needs I/O to find out (e.g. a REST read)."""
    start = time.monotonic()
    while not await probe():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:.1f} s waiting for {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - start

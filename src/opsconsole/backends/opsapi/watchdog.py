"""When the link's watchdog next needs to look, and the sleep it takes until then."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

from opsconsole.backends.opsapi.timings import LinkTimings

# Timers fire to the millisecond and may fire a moment early: each look comes this long after
# its deadline, so the check it wakes finds the deadline passed.
PAST_DEADLINE_S = 0.005
# The shortest sleep: never a busy loop, whatever the clocks say.
MIN_LOOK_S = 0.01
# Data that turns late this little before the silence limit is looked at with the silence:
# a silent link is said as "no data for 3 s", not as data arriving late (as the former
# 0.2 s tick did, which saw both at once).
SAME_LOOK_S = 0.2


def next_look_s(
    timings: LinkTimings,
    silent: float,
    live: bool,
    data_age: float | None,
    stale: bool,
    reprobe_in: float | None = None,
) -> float:
    """Seconds until the watchdog's checks can next find something new, with no frame between.

    `silent`: seconds since the last frame (or the link's start); `live`: the link has been
    LIVE; `data_age`: the newest sample's age (None before any); `stale`: the link already
    says STALE (only a frame ends that, and it is judged on arrival); `reprobe_in`: seconds
    until a fallback link tries the preferred transport again (None: not a fallback). A frame
    that arrives in between only moves these moments later, except old data, which
    `WatchdogAlarm.bring_forward` handles.
    """
    waits = [timings.dead_after_s - silent]
    silence_in = timings.stale_after_s - silent
    if silence_in > 0:
        waits.append(silence_in)  # STALE at exactly the silence limit
    elif live:
        # STALE says "no data for N s" (N rounded): it reads one more at each half second.
        waits.append(math.floor(silent + 0.5) + 0.5 - silent)
    if live and not stale and data_age is not None:
        late_in = timings.stale_after_s - data_age  # frames arrive, their data ages
        waits.append(silence_in if 0 < silence_in - late_in <= SAME_LOOK_S else late_in)
    if reprobe_in is not None:
        waits.append(reprobe_in)
    return max(MIN_LOOK_S, min(waits) + PAST_DEADLINE_S)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class WatchdogAlarm:
    """The watchdog's sleep, cut short when news brings its next look closer.

    One timer per look instead of a fixed tick: an idle link (heartbeats only) is looked at
    about every two seconds, not five times a second.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._waiter: asyncio.Future[None] | None = None
        self._due = math.inf
        self.sleeps = 0  # looks taken (tests count them)

    async def sleep(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        self._due = self._clock() + seconds
        timer = loop.call_later(seconds, _wake, waiter)
        self.sleeps += 1
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None
            self._due = math.inf

    def bring_forward(self, due: float) -> None:
        """Look at `due` (the sleep's clock) at the latest, if the sleep would last longer."""
        if self._waiter is None or due >= self._due:
            return
        delay = max(0.0, due - self._clock())
        if delay <= 0.0:
            _wake(self._waiter)
            return
        self._due = due
        asyncio.get_running_loop().call_later(delay, _wake, self._waiter)

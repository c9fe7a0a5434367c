"""One coalesced repaint timer: at ~25 Hz it refreshes the visible panels that changed."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterable

from PySide6.QtCore import QObject, Qt, QTimer

from opsconsole.ui.context import ConsoleStats
from opsconsole.ui.panel import TIME_POLL_S, Panel

FRAME_HISTORY = 300
# The longest the scheduler sleeps while a panel has a time to be refreshed at: a clock
# that jumps, or a panel's own clock that is not the scheduler's, costs at most this.
MAX_SLEEP_S = 1.0
# A wake this far away or more is time-driven (an age), not news or an animation: on the grid.
GRID_FROM_S = 0.08


class RepaintScheduler(QObject):
    """Owns the only repaint timer. Store signals never redraw; they only mark panels dirty.

    The timer is single-shot, re-armed after every tick: one frame away while a panel is
    dirty (or a `frames` waiter waits), at the earliest panel's `next_tick` while only ages
    move, and not at all while nothing is owed, until a panel is marked dirty again.
    """

    def __init__(self, stats: ConsoleStats, hz: float = 25.0, parent: QObject | None = None):
        super().__init__(parent)
        self.stats = stats
        self._panels: list[Panel] = []
        self._frame_ms = max(1, round(1000 / hz))
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        # Never early (a coarse timer may fire 5 % early): a grid tick finds its panels due.
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self.tick)
        self._running = False
        self._at_frame_rate = False  # armed one frame away: a wake has nothing to add
        self._grid_at: float | None = None  # the grid point the timer is armed for, if any
        self.ticks = 0
        self.sleeps = 0  # times the timer stopped with nothing owed (idle), for tests
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    def add(self, panels: Iterable[Panel]) -> None:
        for panel in panels:
            panel.on_dirty = self.wake
            self._panels.append(panel)
        self.wake()

    @property
    def panels(self) -> list[Panel]:
        return list(self._panels)

    @property
    def ticking(self) -> bool:
        """The timer is armed (False: asleep until a panel is marked dirty)."""
        return self._timer.isActive()

    def start(self) -> None:
        self._running = True
        self._arm_ms(self._frame_ms)

    def stop(self) -> None:
        self._running = False
        self._at_frame_rate = False
        self._timer.stop()

    def wake(self) -> None:
        """A panel has news: tick within one frame (a burst of news arms the timer once)."""
        if self._running and not self._at_frame_rate:
            self._arm_ms(self._frame_ms)

    async def frames(self, n: int) -> None:
        """Wait until `n` more ticks have run (e.g. to let every panel catch up)."""
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((self.ticks + n, future))
        self.wake()
        await future

    def _wake_waiters(self) -> None:
        ready = [(t, f) for t, f in self._waiters if t <= self.ticks]
        for entry in ready:
            self._waiters.remove(entry)
            if not entry[1].done():
                entry[1].set_result(None)

    def tick(self) -> int:
        """Refresh what needs it; returns how many panels were refreshed."""
        self.ticks += 1
        self._at_frame_rate = False
        try:
            if self._waiters:
                self._wake_waiters()
            return self._refresh_due()
        finally:
            self._plan()

    def _refresh_due(self) -> int:
        due = [p for p in self._panels if p.needs_refresh()]
        if not due:
            return 0
        start = time.perf_counter()
        now = time.monotonic()
        if self._grid_at is not None and 0.0 <= now - self._grid_at < TIME_POLL_S / 2:
            # Woken for a grid point: panels count their next due time from it, so it falls
            # on a grid point again instead of drifting by the timer's lateness each time.
            now = self._grid_at
        for panel in due:
            panel.run_refresh(now)
        elapsed = (time.perf_counter() - start) * 1000
        stats = self.stats
        stats.repaints += 1
        stats.last_frame_ms = elapsed
        stats.frame_ms_history.append(elapsed)
        if len(stats.frame_ms_history) > FRAME_HISTORY:
            del stats.frame_ms_history[: len(stats.frame_ms_history) - FRAME_HISTORY]
        return len(due)

    def _plan(self) -> None:
        """Arm the timer for the next tick anything needs, or let it sleep."""
        if not self._running:
            return
        if self._waiters:
            self._arm_ms(self._frame_ms)
            return
        now = time.monotonic()
        next_at = min((p.next_tick(now) for p in self._panels), default=math.inf)
        if next_at == math.inf:
            self._timer.stop()
            self.sleeps += 1
            return
        self._grid_at = None
        if next_at - now >= GRID_FROM_S:
            # Time-driven refreshes (ages in whole seconds) are put on the grid all panels
            # share, so they wake the loop, refresh and paint together, not each in turn: at
            # most TIME_POLL_S late. A frame away (news, a flash) keeps its time.
            next_at = self._grid_at = math.ceil(next_at / TIME_POLL_S) * TIME_POLL_S
        self._arm_ms(round(min(max(0.0, next_at - now), MAX_SLEEP_S) * 1000))

    def _arm_ms(self, ms: int) -> None:
        ms = max(ms, self._frame_ms)  # never faster than the frame rate
        self._at_frame_rate = ms <= self._frame_ms
        self._timer.start(ms)

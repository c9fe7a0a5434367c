"""One coalesced repaint timer: at ~25 Hz it refreshes the visible panels that changed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from PySide6.QtCore import QObject, QTimer

from opsconsole.ui.context import ConsoleStats
from opsconsole.ui.panel import Panel

FRAME_HISTORY = 300


class RepaintScheduler(QObject):
    """Owns the only repaint timer. Store signals never redraw; they only mark panels dirty."""

    def __init__(self, stats: ConsoleStats, hz: float = 25.0, parent: QObject | None = None):
        super().__init__(parent)
        self.stats = stats
        self._panels: list[Panel] = []
        self._timer = QTimer(self)
        self._timer.setInterval(max(1, round(1000 / hz)))
        self._timer.timeout.connect(self.tick)
        self.ticks = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    def add(self, panels: Iterable[Panel]) -> None:
        self._panels.extend(panels)

    @property
    def panels(self) -> list[Panel]:
        return list(self._panels)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    async def frames(self, n: int) -> None:
        """Wait until `n` more ticks have run (e.g. to let every panel catch up)."""
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((self.ticks + n, future))
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
        if self._waiters:
            self._wake_waiters()
        due = [p for p in self._panels if p.needs_refresh()]
        if not due:
            return 0
        start = time.perf_counter()
        now = time.monotonic()
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

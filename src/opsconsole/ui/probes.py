"""The console measuring itself: event-loop lag from a late timer, and resident memory."""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer

from opsconsole.ui.context import ConsoleStats

LAG_WINDOW_S = 60.0


class LoopLagProbe(QObject):
    """Schedules a timer and records how late it fires: the UI thread's responsiveness.

    Every `interval_ms` a single-shot PreciseTimer is armed; when it fires, the time past its
    deadline is how long something else held the event loop (a slow handler, a long paint, a
    blocking call). A repeating timer would hide lag: Qt re-bases a late repeating timer on
    "now", so a stall shows up once and then disappears from later intervals.
    """

    def __init__(
        self,
        stats: ConsoleStats,
        interval_ms: int = 250,
        window_s: float = LAG_WINDOW_S,
        clock: Callable[[], float] = time.perf_counter,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.stats = stats
        self.interval_ms = interval_ms
        self.window_s = window_s
        self._clock = clock
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._fired)
        self._armed_at = 0.0
        # (clock time, lag ms); 4 Hz × 60 s is 240 entries, bounded by the window.
        self.history: deque[tuple[float, float]] = deque()

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def start(self) -> None:
        self._arm()

    def stop(self) -> None:
        self._timer.stop()

    def _arm(self) -> None:
        self._armed_at = self._clock()
        self._timer.start(self.interval_ms)

    def _fired(self) -> None:
        now = self._clock()
        lag_ms = max(0.0, (now - self._armed_at) * 1000.0 - self.interval_ms)
        self.record(lag_ms, now)
        self._arm()

    def record(self, lag_ms: float, now: float) -> None:
        """Store one measurement and forget those older than the window."""
        self.stats.loop_lag_ms = lag_ms
        self.history.append((now, lag_ms))
        horizon = now - self.window_s
        while self.history and self.history[0][0] < horizon:
            self.history.popleft()

    @property
    def latest_ms(self) -> float | None:
        return self.history[-1][1] if self.history else None

    def max_ms(self) -> float | None:
        """The worst lag of the window (the last minute by default), None before any."""
        return max(lag for _, lag in self.history) if self.history else None


def memory_rss_bytes() -> int | None:
    """Resident memory of this process in bytes, or None when the platform cannot tell.

    Linux: current RSS from /proc/self/statm. Elsewhere: the peak RSS from getrusage, the best
    the standard library offers (it only grows, so it overstates after memory is freed).
    """
    try:
        with open("/proc/self/statm", "rb") as f:
            resident_pages = int(f.read().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import resource  # not on Windows

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    except (ImportError, OSError, ValueError):
        return None
    # ru_maxrss is bytes on macOS, kibibytes on Linux and the BSDs.
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024

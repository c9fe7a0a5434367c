"""Timestamps of the start's critical path on stderr, when OPSCONSOLE_TRACE_START=1 asks.

Each line is `start-trace +MS STEP` with MS the milliseconds since this process was created
(its creation time read from /proc once, so the steps also count the interpreter's own start).
The demo backend's child prints on the same clock: the origin goes to it in
OPSCONSOLE_TRACE_ORIGIN (wall-clock seconds). Off, `mark` is one dictionary look-up.
Stdlib only: imported first thing in `main`.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opsconsole.core.store import Store
    from opsconsole.ui.context import ConsoleStats
    from opsconsole.ui.mainwindow import MainWindow
    from opsconsole.ui.panel import Panel

ENV_FLAG = "OPSCONSOLE_TRACE_START"
ENV_ORIGIN = "OPSCONSOLE_TRACE_ORIGIN"

_origin: float | None = None  # wall-clock time of the process's creation


def enabled() -> bool:
    return os.environ.get(ENV_FLAG, "") not in ("", "0")


def _process_created_at() -> float:
    """Wall-clock time this process was created (Linux /proc; else now)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        return time.time() - (uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.time()


def mark(step: str) -> None:
    """Print how long after the process's creation `step` happened (only when tracing)."""
    global _origin
    if not enabled():
        return
    if _origin is None:
        inherited = os.environ.get(ENV_ORIGIN)
        _origin = float(inherited) if inherited else _process_created_at()
        os.environ[ENV_ORIGIN] = repr(_origin)  # the demo backend's child counts from here
    print(f"start-trace +{(time.time() - _origin) * 1000:7.1f} {step}", file=sys.stderr, flush=True)


def follow_store(store: Store, stats: ConsoleStats) -> None:
    """Mark the store's first hello, link states, metrics and the first painted data."""
    if not enabled():
        return
    seen: set[str] = set()

    def once(step: str) -> None:
        if step not in seen:
            seen.add(step)
            mark(step)

    store.backend_described.connect(lambda backend, _info: once(f"{backend}: described"))
    store.connection_changed.connect(
        lambda backend, status: once(f"{backend}: link {status.state.value}")
    )
    store.snapshot_loaded.connect(lambda backend: once(f"{backend}: snapshot (hello) applied"))
    store.metrics_appended.connect(lambda backend, _s: once(f"{backend}: first metrics applied"))
    stats.on_first_data(lambda: mark("first live data painted"))


def follow_panels(window: MainWindow) -> None:
    """Mark when the deferred panels are made and the charts first paint live data."""
    if not enabled():
        return
    from PySide6.QtCore import QEvent, QObject, QTimer

    def signals_made(panel: Panel) -> None:
        mark("golden signals panel made")
        chart = panel.chart  # type: ignore[attr-defined]

        class FirstChartPaint(QObject):
            def eventFilter(self, watched: QObject, event: QEvent) -> bool:
                if event.type() == QEvent.Type.Paint and chart.has_data:
                    chart.removeEventFilter(self)
                    QTimer.singleShot(0, lambda: mark("golden signals chart painted data"))
                return False

        chart.installEventFilter(FirstChartPaint(chart))

    window.when_built("golden_signals", signals_made)
    window.when_built("overview", lambda _panel: mark("every panel made"))

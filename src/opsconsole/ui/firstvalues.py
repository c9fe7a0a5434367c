"""Stamps the console's first painted live data when the Services table paints live values.

What counts as "first live data on screen" (`ConsoleStats.first_data_painted_at`, which
`--self-test` and the startup benchmark report): the first paint, by any panel, of values
computed from live samples. The golden-signals chart stamps its first paint with data
(`ui/charts.py`); this stamps the Services table's: its p99, traffic, error and saturation
cells are live samples too, and at start the table is ready a few hundred milliseconds before
the charts (whose module, with pyqtgraph's, is imported after it; see `MainWindow`).

The table paints live values once (1) the store has taken a metrics batch and (2) the panel has
refreshed since (it is no longer dirty: its store subscription marked it dirty first) and
(3) it has rows. The stamp is taken on the loop's next turn after such a paint of the table's
viewport, so after that paint has ended and the window's frame has been flushed: never early.
"""

from __future__ import annotations

import time
from collections.abc import Collection

from PySide6.QtCore import QEvent, QObject, QTimer

from opsconsole.ui.context import ConsoleStats
from opsconsole.ui.panels.services import ServicesPanel


class FirstValuesStamp(QObject):
    """Until the first live data is painted: watches the Services table's paints."""

    def __init__(self, services: ServicesPanel, stats: ConsoleStats) -> None:
        super().__init__(services)
        self._services, self._stats = services, stats
        self._metrics_in = False
        self._pending = False
        self._viewport = services.view.viewport()
        services.ctx.store.metrics_appended.connect(self._on_metrics)
        self._viewport.installEventFilter(self)
        stats.on_first_data(self._done)

    def _on_metrics(self, _backend: str, services: Collection[str]) -> None:
        if not services or self._stats.first_data_painted_at is not None:
            return
        self._metrics_in = True
        # The first values are drawn when the loop is free, not at the scheduler's next tick
        # (up to a 25 Hz frame later); `catch_up` refreshes only if owed and shown.
        QTimer.singleShot(0, self._services.catch_up)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.Paint
            and not self._pending
            and self._metrics_in
            and not self._services.dirty
            and self._services.model.rowCount() > 0
        ):
            self._pending = True
            QTimer.singleShot(0, self._stamp)  # after this paint, and the frame, have ended
        return False

    def _stamp(self) -> None:
        if self._stats.first_data_painted_at is None:
            self._stats.first_data_painted_at = time.monotonic()

    def _done(self) -> None:
        self._viewport.removeEventFilter(self)
        self._services.ctx.store.metrics_appended.disconnect(self._on_metrics)

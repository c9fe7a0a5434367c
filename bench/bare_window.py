"""The startup floor: a bare PySide6 + pyqtgraph window that prints when its first paint ended.

Run as its own process (`bench/startup.py` launches it): imports PySide6 and pyqtgraph, shows one
plot of a few points, and on the end of the plot's first paint prints one JSON line with the
wall-clock time (`time.time()`, comparable with the launcher's clock) and quits.
"""

from __future__ import annotations

import json
import sys
import time

import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import QApplication


class FirstPaintPlot(pg.PlotWidget):
    """A plot that stamps the end of its first paint, as the console's charts do."""

    def __init__(self) -> None:
        super().__init__()
        self.first_paint_at: float | None = None

    def paintEvent(self, ev: QPaintEvent) -> None:
        super().paintEvent(ev)
        if self.first_paint_at is None:
            self.first_paint_at = time.time()
            print(json.dumps({"first_paint_at": self.first_paint_at}), flush=True)
            # Quit from the loop, not from inside a paint.
            QTimer.singleShot(0, QApplication.quit)


def main() -> int:
    app = QApplication(sys.argv[:1])
    plot = FirstPaintPlot()
    plot.plot([0, 1, 2, 3, 4], [3, 1, 4, 1, 5], pen=pg.mkPen("#58a6ff", width=1))
    plot.resize(800, 600)
    plot.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())

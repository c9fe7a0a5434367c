"""One curve's unbroken runs as persistent QPolygonFs, written in place from numpy."""

from __future__ import annotations

import numpy as np
import pyqtgraph.functions as pgfn
from PySide6.QtGui import QPainter, QPolygonF


class Polylines:
    """One curve in pixel coordinates, broken into runs where its data has gaps.

    The polygons persist between frames and are written through a zero-copy numpy view, so
    a new frame allocates nothing on the common path (the same number of runs and points as
    before; a run only reallocates when it grows past its size). `drawPolyline` of a
    `QPolygonF` is QPainter's cheapest way to stroke a line: no QPainterPath is built.
    """

    __slots__ = ("_polys", "_views", "count")

    def __init__(self) -> None:
        self._polys: list[QPolygonF] = []
        self._views: list[np.ndarray] = []
        #: Runs in use (the pool may hold more, kept for the next frame).
        self.count = 0

    @property
    def points(self) -> int:
        return sum(len(p) for p in self._polys[: self.count])

    def copies(self) -> list[QPolygonF]:
        """Copies of the runs in use (for a benchmark's floor: the same points, alone)."""
        return [QPolygonF(p) for p in self._polys[: self.count]]

    def clear(self) -> None:
        self.count = 0

    def set(self, x: np.ndarray, y: np.ndarray, starts: np.ndarray) -> None:
        """Points (x[i], y[i]) in pixels, split into runs beginning at each index of `starts`."""
        n = int(x.size)
        if n == 0:
            self.count = 0
            return
        if starts.size <= 1:
            self.set_one(x, y)
            return
        bounds = [*starts.tolist(), n]
        for i in range(len(bounds) - 1):
            a, b = bounds[i], bounds[i + 1]
            view = self._view(i, b - a)
            view[:, 0] = x[a:b]
            view[:, 1] = y[a:b]
        self.count = len(bounds) - 1

    def set_one(self, x: np.ndarray, y: np.ndarray) -> None:
        """One unbroken run (the common case, without building run bounds)."""
        view = self._view(0, int(x.size))
        view[:, 0] = x
        view[:, 1] = y
        self.count = 1

    def _view(self, i: int, size: int) -> np.ndarray:
        if i == len(self._polys):
            self._polys.append(QPolygonF())
            self._views.append(np.empty((0, 2)))
        poly = self._polys[i]
        if len(poly) != size:
            poly.resize(size)
            self._views[i] = pgfn.ndarray_from_qpolygonf(poly)
        return self._views[i]

    def draw(self, painter: QPainter) -> None:
        polys = self._polys
        for i in range(self.count):
            painter.drawPolyline(polys[i])

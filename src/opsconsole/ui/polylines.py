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

    def clear(self) -> None:
        self.count = 0

    def set(self, x: np.ndarray, y: np.ndarray, starts: np.ndarray) -> None:
        """Points (x[i], y[i]) in pixels, split into runs beginning at each index of `starts`."""
        n = int(x.size)
        bounds = np.r_[starts, n] if n else np.empty(0, dtype=np.int64)
        runs = max(0, bounds.size - 1)
        for i in range(runs):
            a, b = int(bounds[i]), int(bounds[i + 1])
            view = self._view(i, b - a)
            view[:, 0] = x[a:b]
            view[:, 1] = y[a:b]
        self.count = runs

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

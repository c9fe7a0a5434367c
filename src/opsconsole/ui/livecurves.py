"""A grid's curves as pixel polygons, rebuilt from its column bins for the cells that changed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from PySide6.QtCore import QRectF

from opsconsole.core.columns import ColumnBins
from opsconsole.ui.polylines import Polylines


@dataclass
class Strip:
    """One small plot inside a cell: curves sharing a Y range, and an optional limit line."""

    rows: tuple[int, ...]
    colours: tuple[str, ...]
    y_top: float = 1.0
    limit: float | None = None
    label: str = ""
    lines: list[Polylines] = field(default_factory=list)


class HasStrips(Protocol):
    """A grid cell, as far as its curves go."""

    strips: list[Strip]


class CurvePixels:
    """Every curve's row, strip, pixel box and polygons as flat arrays, cell by cell, so a
    build is array work plus one short Python step per curve."""

    def __init__(self) -> None:
        self.plot_w = 0
        self._span = np.zeros(1, dtype=np.int64)
        self._c_row = np.zeros(0, dtype=np.int64)
        self._c_top = np.zeros(0)
        self._c_height = np.zeros(0)
        self._c_strip: list[Strip] = []
        self._c_lines: list[Polylines] = []
        self._c_x: list[np.ndarray] = []

    def lay_out(
        self, cells: Sequence[HasStrips], strip_rects: list[list[QRectF]], plot_w: int
    ) -> None:
        """Where each cell's strips are (`strip_rects`, one list per cell) and how wide a plot
        is in pixels (one column per pixel)."""
        span = [0]
        row, top, height = [], [], []
        self.plot_w = plot_w
        self._c_strip = []
        self._c_lines = []
        self._c_x = []
        columns = np.repeat(np.arange(plot_w, dtype=np.float64), 2) + 0.5
        x_by_left: dict[float, np.ndarray] = {}
        for cell, rects in zip(cells, strip_rects, strict=True):
            for strip, rect in zip(cell.strips, rects, strict=True):
                while len(strip.lines) < len(strip.rows):
                    strip.lines.append(Polylines())
                left = rect.left()
                xs = x_by_left.get(left)
                if xs is None:
                    xs = x_by_left[left] = columns + left
                for k, r in enumerate(strip.rows):
                    row.append(r)
                    top.append(rect.top())
                    height.append(rect.height())
                    self._c_strip.append(strip)
                    self._c_lines.append(strip.lines[k])
                    self._c_x.append(xs)
            span.append(len(row))
        self._span = np.asarray(span, dtype=np.int64)
        self._c_row = np.asarray(row, dtype=np.int64)
        self._c_top = np.asarray(top, dtype=np.float64)
        self._c_height = np.asarray(height, dtype=np.float64)

    def build(self, bins: ColumnBins, dirty: list[int], first_id: int, last_id: int) -> None:
        """Pixel polygons of every curve of the `dirty` cells, in one numpy pass for all.

        Each column is two points, its minimum and maximum, in an order that alternates with
        the column id (up, then down): consecutive columns join at their near ends, so noisy
        data is not stroked twice across the full height by joining segments. The order
        depends on the absolute id, so it does not flip as the window scrolls.
        """
        plot_w = self.plot_w
        span = self._span
        if len(dirty) == span.size - 1:
            idx = np.arange(int(span[-1]))
        else:
            d = np.asarray(dirty, dtype=np.int64)
            starts, counts = span[d], span[d + 1] - span[d]
            idx = np.repeat(starts - (np.cumsum(counts) - counts), counts) + np.arange(
                int(counts.sum())
            )
        if idx.size == 0:
            return
        curves = idx.tolist()
        strips = self._c_strip
        y_top = np.fromiter((strips[c].y_top for c in curves), dtype=np.float64, count=idx.size)
        rows = self._c_row[idx]
        top = self._c_top[idx][:, None]
        height = self._c_height[idx][:, None]
        bottom = top + height
        with np.errstate(divide="ignore"):
            scale = np.where(y_top > 0, height[:, 0] / y_top, 0.0)[:, None]
        block = bins.block(rows, first_id, last_id)
        up = ((first_id + np.arange(plot_w)) % 2 == 0)[None, :]
        y = np.empty((idx.size, 2 * plot_w))
        y[:, 0::2] = np.where(up, block.lo, block.hi)
        y[:, 1::2] = np.where(up, block.hi, block.lo)
        # Clamped one pixel past the strip: a value above the axis top is drawn along the
        # edge, never over the next cell.
        y = np.clip(bottom - y * scale, top - 1.0, bottom + 1.0)
        simple, firsts, lasts = block.simple.tolist(), block.first.tolist(), block.last.tolist()
        xs_of, lines_of = self._c_x, self._c_lines
        for n, c in enumerate(curves):
            lines = lines_of[c]
            if simple[n]:
                a, b = 2 * firsts[n], 2 * lasts[n] + 2
                lines.set_one(xs_of[c][a:b], y[n, a:b])
                continue
            runs = bins.runs(int(rows[n]), first_id, last_id)
            if len(runs) == 0:
                lines.clear()
                continue
            odd = runs.ids % 2 == 1
            ys = np.empty(2 * len(runs))
            ys[0::2] = np.where(odd, runs.hi, runs.lo)
            ys[1::2] = np.where(odd, runs.lo, runs.hi)
            ys = np.clip(bottom[n, 0] - ys * scale[n, 0], top[n, 0] - 1.0, bottom[n, 0] + 1.0)
            lines.set(
                xs_of[c][2 * (runs.ids - first_id)[:, None] + np.arange(2)].ravel(),
                ys,
                2 * runs.starts,
            )

"""The live X range of a group of linked plots, moved only when the picture would change."""

from __future__ import annotations

import math

import pyqtgraph as pg

from opsconsole.ui.charts import settle

#: While stale, the window moves once its end is this share of the span behind (at least a pixel).
STALE_STEP_SHARE = 0.005


class LiveXWindow:
    """Sets the X range of `owner` (the plot the others are X-linked to) for the live chart.

    Each move re-lays out the time axes and repaints every linked plot. A new sample always
    moves the window to end at the data's newest time plus its age. While nothing arrives
    (stale), the window still scrolls so old data moves left, truthfully, but in steps: once
    the shift reaches a whole pixel and half a per cent of the window (`STALE_STEP_SHARE`),
    whichever is more. A 15 min window over 1000 px moves every 4.5 s, not every second: a
    repaint of every plot each second was a quarter of the idle console's CPU (measured with
    bench/idle.py), and a step of half a per cent of the width is not a picture anyone reads
    differently, while the STALE banner over the chart says the exact age.
    """

    def __init__(self, owner: pg.PlotItem, plots: list[pg.PlotItem]) -> None:
        self.owner = owner
        self.plots = plots
        self._newest = math.nan  # the newest data time the range was last asked for
        self.moves = 0  # ranges applied (tests: not one per stale refresh)

    def live(self, newest: float, start: float, end: float) -> tuple[float, float]:
        """The range to show for a live window `start`–`end` over data whose newest time is
        `newest`: the one shown while only its age moved less than a pixel."""
        same_data, self._newest = newest == self._newest, newest
        (shown_start, shown_end), span = self.owner.viewRange()[0], end - start
        if not same_data or span <= 0 or abs(shown_end - shown_start - span) > 1e-9 * span:
            return start, end
        if 0 <= end - shown_end < self.stale_step_s(span):
            return shown_start, shown_end
        return start, end

    def stale_step_s(self, span: float) -> float:
        """How far behind its end a stale window may fall before it moves: a whole pixel, and
        at least half a per cent of the span."""
        pixel = span / max(self.owner.getViewBox().width(), 1.0)
        return max(pixel, STALE_STEP_SHARE * span)

    def apply(self, start: float, end: float) -> None:
        """Show `start`–`end` (live or a zoom); nothing is done when it is already shown."""
        if [start, end] == self.owner.viewRange()[0]:
            return
        self.moves += 1
        self.owner.setXRange(start, end, padding=0.0)
        settle(self.plots)  # one paint for the move, not two

"""Fleet overview: small multiples of every service's golden signals in one scrolling panel."""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QScrollArea, QVBoxLayout, QWidget

from opsconsole.ui.context import UiContext
from opsconsole.ui.livegrid import LiveGrid
from opsconsole.ui.overviewfeed import (
    OverviewFeed,
    ServiceKey,
    any_stale,
    service_keys,
    watch_store,
)
from opsconsole.ui.panel import TIME_POLL_S, Panel
from opsconsole.ui.staleline import show_stale_words, stale_label

#: A cell's width at least (columns come from the width) and its fixed height: positions do
#: not move as data comes, and past the height the panel scrolls.
CELL_MIN_W = 180
CELL_H = 112
DEFAULT_WINDOW_S = 900.0


class _FitScroll(QScrollArea):
    """A scroll area that says when its viewport's width changed (the grid's columns follow)."""

    def __init__(self, on_width: Callable[[int], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._on_width = on_width

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._on_width(self.viewport().width())


class FleetOverviewPanel(Panel):
    """One cell per service of every backend (backend, then name): p99, traffic, errors and
    CPU with their limit lines, health colour and word; click or Enter opens the service."""

    panel_id = "overview"
    title = "Fleet overview"

    #: A cell was opened (click, Enter): the window brings the golden signals forward.
    opened = Signal(str, str)

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.grid = LiveGrid(columns=1, rows=None, cell_height=CELL_H, time_labels=True)
        self.grid.setObjectName("overview_grid")
        self.scroll = _FitScroll(self._fit_columns, self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.grid)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.stale_line = stale_label(self)
        layout.addWidget(self.stale_line)
        layout.addWidget(self.scroll)
        self.setFocusProxy(self.grid)
        self.feed = OverviewFeed(ctx.store, self.grid, DEFAULT_WINDOW_S)
        self.rebuilt = 0  # cells rebuilt by the last refresh (LiveGrid.refresh's answer)
        self._any_stale = False
        watch_store(ctx.store, self.mark_dirty)
        self.grid.cell_activated.connect(self._open)

    @property
    def wants_tick(self) -> bool:  # type: ignore[override]
        # A stale backend's "STALE 12 s" counts up, and its curves move left, without news.
        return self._any_stale

    def in_sight(self) -> bool:
        """Shown and not behind another dock's tab (a tabbed-away dock still says visible)."""
        # The grid's region: the panel's own is all covered by its children.
        return self.isVisible() and not self.grid.visibleRegion().isEmpty()

    def needs_refresh(self) -> bool:
        return (self.dirty or self.wants_tick) and self.in_sight()

    def next_tick(self, now: float) -> float:
        # Out of sight, news only marks it dirty; the dock coming forward marks it again.
        if not self.in_sight():
            return math.inf
        if self.dirty:
            return now
        return now + TIME_POLL_S if self.wants_tick else math.inf

    def set_window(self, window_s: float) -> None:
        self.feed.window_s = window_s
        self.grid.set_window(window_s)
        self.mark_dirty()

    def cell_keys(self) -> list[ServiceKey]:
        return list(self.feed.keys)

    def refresh(self, now: float) -> None:
        store = self.ctx.store
        self._any_stale = any_stale(store)
        self.rebuilt = self.feed.update(service_keys(store))
        show_stale_words(self.stale_line, self.feed.stale_words())
        if self.feed.pending:
            self.mark_dirty()  # health judgements left: the next tick does them

    def _fit_columns(self, width: int) -> None:
        columns = max(1, width // CELL_MIN_W)
        if columns != self.grid.columns:
            self.feed.set_layout(columns, None)
            self.mark_dirty()

    def _open(self, key: object) -> None:
        backend, service = key  # type: ignore[misc]
        self.ctx.selection.select(backend, service)
        self.opened.emit(backend, service)

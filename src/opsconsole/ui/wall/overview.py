"""The wall's fleet overview page: every service's golden signals at once, or in turning pages."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from opsconsole.ui.context import UiContext
from opsconsole.ui.livegrid import LiveGrid
from opsconsole.ui.overviewfeed import (
    OverviewFeed,
    ServiceKey,
    any_stale,
    service_keys,
    watch_store,
)
from opsconsole.ui.panel import Panel
from opsconsole.ui.staleline import show_stale_words, stale_label
from opsconsole.ui.wall.theme import WALL_TEXT, WallTheme

#: The smallest cell a wall still reads from across the room: four strips and a title.
MIN_CELL = (150, 80)
#: How long a page of services stays before the next one, when they do not all fit.
PAGE_S = 12.0
#: Cells keep about this shape when every service fits (wider than tall, like the strips).
CELL_ASPECT = MIN_CELL[0] / MIN_CELL[1]


def plan_grid(n: int, width: int, height: int, min_cell: tuple[int, int]) -> tuple[int, int]:
    """(columns, rows) for `n` cells in width × height, cells at least `min_cell`.

    Every cell at once when they fit, in the layout whose cells are nearest the usual shape;
    else the most that fit (a page), and the caller pages through them.
    """
    max_cols = max(1, width // min_cell[0])
    max_rows = max(1, height // min_cell[1])
    if n > max_cols * max_rows:
        return max_cols, max_rows
    best: tuple[float, int, int] | None = None
    for cols in range(1, max_cols + 1):
        rows = max(1, math.ceil(n / cols))
        if rows > max_rows:
            continue
        shape = abs(math.log((width / cols) / (height / rows) / CELL_ASPECT))
        if best is None or shape < best[0]:
            best = (shape, cols, rows)
    assert best is not None  # n fits, so some column count does
    return best[1], best[2]


class OverviewWall(Panel):
    """Small multiples of every service sized for the wall; pages that turn on their own
    ("page 2 of 3") when the cells would be smaller than `min_cell`."""

    panel_id = "wall_overview"
    title = "Fleet overview"

    def __init__(
        self,
        ctx: UiContext,
        wall_theme: WallTheme,
        min_cell: tuple[int, int] = MIN_CELL,
        page_s: float = PAGE_S,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(ctx, parent)
        self.wall_theme = t = wall_theme
        self.min_cell = min_cell
        self.page = 0
        self.pages = 1
        self.per_page = 1
        self._any_stale = False
        self.pager = QLabel(self)
        self.pager.setObjectName("overview_pages")
        self.pager.setFont(t.font(t.base_px))
        self.pager.setStyleSheet(f"color: {WALL_TEXT};")
        self.pager.hide()
        self.grid = LiveGrid(columns=1, rows=1, time_labels=True)
        self.grid.setObjectName("wall_overview_grid")
        self.grid.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # nobody types at a wall
        self.grid.set_title_font(t.font(max(12, round(t.base_px * 0.7)), bold=True))
        self.grid.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(t.gap, 0, t.gap, t.gap)
        layout.setSpacing(t.gap // 2)
        layout.addWidget(self.pager)
        self.stale_line = stale_label(self)
        self.stale_line.setFont(t.font(t.base_px))
        layout.addWidget(self.stale_line)
        layout.addWidget(self.grid, 1)
        self.feed = OverviewFeed(ctx.store, self.grid)
        self._turn = QTimer(self)
        self._turn.setInterval(round(page_s * 1000))
        self._turn.timeout.connect(self.next_page)
        watch_store(ctx.store, self.mark_dirty)

    @property
    def wants_tick(self) -> bool:  # type: ignore[override]
        return self._any_stale

    def next_page(self) -> None:
        if self.pages > 1 and self.isVisible():
            self.page = (self.page + 1) % self.pages
            self.mark_dirty()

    def shown_keys(self) -> list[ServiceKey]:
        return list(self.feed.keys)

    def refresh(self, now: float) -> None:
        store = self.ctx.store
        self._any_stale = any_stale(store)
        keys = service_keys(store)
        self._plan(len(keys))
        self.page = min(self.page, self.pages - 1)
        start = self.page * self.per_page
        self.feed.update(keys[start : start + self.per_page])
        show_stale_words(self.stale_line, self.feed.stale_words())
        if self.feed.pending:
            self.mark_dirty()  # health judgements left: the next tick does them
        self._say_page(start, len(keys))

    def _plan(self, n: int) -> None:
        t = self.wall_theme
        width, height = self.width() - 2 * t.gap, self.height() - t.gap
        cols, rows = plan_grid(max(n, 1), width, height, self.min_cell)
        if n > cols * rows:  # pages: the pager's line takes its room first
            pager = self.pager.sizeHint().height() + t.gap // 2
            cols, rows = plan_grid(n, width, height - pager, self.min_cell)
        self.per_page = cols * rows
        self.pages = max(1, math.ceil(n / self.per_page))
        if self.pages > 1 and not self._turn.isActive():
            self._turn.start()
        elif self.pages == 1:
            self._turn.stop()
        self.feed.set_layout(cols, rows)

    def _say_page(self, start: int, n: int) -> None:
        paged = self.pages > 1
        if paged:
            last = min(start + self.per_page, n)
            self.pager.setText(
                f"Services {start + 1}–{last} of {n} · page {self.page + 1} of {self.pages}"
            )
        if self.pager.isVisible() != paged:
            self.pager.setVisible(paged)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.mark_dirty()

"""Error budgets: one row per SLO, worst remaining budget first, and the selected SLO's detail."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor, QFontMetrics
from PySide6.QtWidgets import (
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from opsconsole.core.health import Health
from opsconsole.core.rows.slodetail import (
    TierRow,
    burn_down_from_points,
    burn_down_from_windows,
    deploy_markers,
    incident_markers,
    tier_rows,
)
from opsconsole.core.rows.slos import BACKEND_COLUMN, COLUMNS, Key, SloRow, SloRowBuilder
from opsconsole.ui import theme
from opsconsole.ui.context import UiContext
from opsconsole.ui.filterbar import FilterBar
from opsconsole.ui.keyedtable import KeyedTableMixin
from opsconsole.ui.listview import style_list_view
from opsconsole.ui.panel import Panel
from opsconsole.ui.panels.burndown import BudgetDetail
from opsconsole.ui.rowinvestigate import RowInvestigate
from opsconsole.ui.tablemodel import Index, KeyedRowModel, align

FONT_POINTS = 10
CELL_PADDING = 4
# Deploy ages are shown in whole units ("2 h ago"): a refresh every few seconds keeps them.
TICK_S = 5.0
# A stale backend's rows and tiers say its data's age in whole seconds ("STALE 12 s").
STALE_TICK_S = 1.0

FILTER_ROLE = Qt.ItemDataRole.UserRole + 2  # the text "/" searches


class BudgetsModel(KeyedRowModel):
    """SLO rows, worst remaining first; each figure coloured by its level, hover = formula."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(COLUMNS, BACKEND_COLUMN, parent, FONT_POINTS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row: SloRow = self._rows[index.row()]
        col = self._columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.texts[col.key]
        if role == Qt.ItemDataRole.ForegroundRole:
            if row.stale:
                return QColor(theme.TEXT_DIM)
            health = row.health.get(col.key)
            return None if health is None else theme.colour(health)
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.tooltips.get(col.key)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return align(col)
        if role == Qt.ItemDataRole.FontRole:
            if col.numeric:
                return self.mono_font
            return self.bold_font if col.key in ("service", "tier") else None
        if role == FILTER_ROLE:
            return row.filter_text
        return None


class BudgetsPanel(KeyedTableMixin, Panel):
    """Every SLO of every backend: how much budget is left, how fast it burns, when it runs
    out; below, the selected SLO's burn-down and its four tiers."""

    panel_id = "budgets"
    title = "Error budgets"

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.rows = SloRowBuilder()
        self.model = BudgetsModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterRole(FILTER_ROLE)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.view = _make_view(self.proxy, self)
        self.investigate = RowInvestigate(
            self.view, ctx, "error budgets panel", lambda: (self.selected() or (None, None))[1]
        )
        self.filter = FilterBar(self, "filter SLOs by service, window or tier")
        self.filter.attach(self.view)
        self.filter.filter_changed.connect(self.proxy.setFilterFixedString)
        self.detail = BudgetDetail(self)
        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.setSpacing(0)
        top_layout.addWidget(self.filter)
        top_layout.addWidget(self.view, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        # The list keeps room for the worst SLOs however small the screen: the header and two
        # rows (seen at 1366x768, where the detail left it one).
        rows_px = 2 * self.view.verticalHeader().defaultSectionSize()
        top.setMinimumHeight(self.view.horizontalHeader().sizeHint().height() + rows_px + 8)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        self.setFocusProxy(self.view)

        self._structure: tuple[bool, tuple[Key, ...]] | None = None
        self._points: dict[Key, tuple[np.ndarray, float]] = {}
        # What the detail was drawn from, by value: an SLO poll that brings the same counts
        # (only a later `as_of`) redraws nothing; `_tiers_shown`: the tier table's rows.
        self._detail_shown: tuple[object, ...] | None = None
        self._plot_as_of = 0.0
        self._plot_span = 0.0  # seconds across the burn-down as last drawn (0: no line)
        self._tiers_shown: tuple[TierRow, ...] = ()
        self._next_due = 0.0

        store = ctx.store
        store.slo_changed.connect(self.mark_dirty)
        store.deploy_seen.connect(self.mark_dirty)
        store.connection_changed.connect(self.mark_dirty)
        store.snapshot_loaded.connect(self.mark_dirty)
        self.view.selectionModel().currentRowChanged.connect(self._selection_moved)

    @property
    def wants_tick(self) -> bool:  # type: ignore[override]
        return self.ctx.clock() >= self._next_due

    def in_sight(self) -> bool:
        """Shown and not behind another dock's tab (a tabbed-away dock still says visible)."""
        # The list's region: the panel's own is all covered by its children.
        return self.isVisible() and not self.view.visibleRegion().isEmpty()

    def needs_refresh(self) -> bool:
        # Behind the charts' tab at start: no rows built, no burn-down plot made (~20 ms of
        # every start) until it comes forward, which marks it dirty (MainWindow._dock).
        return (self.dirty or self.wants_tick) and self.in_sight()

    def next_tick(self, now: float) -> float:
        if not self.in_sight():
            return math.inf  # news only marks it dirty; coming forward marks it again
        if self.dirty:
            return now
        # Its own due time (on the context's clock), not the base class's 4 Hz poll.
        return now + max(0.0, self._next_due - self.ctx.clock())

    # ------------------------------------------------------------ refresh

    def refresh(self, now: float) -> None:
        store = self.ctx.store
        rows = self.rows.rows(store, self.ctx.wall_clock())
        keys = tuple(sorted(r.key for r in rows))
        backends = {k[0] for k in keys}
        structure = (len(backends) > 1, keys)
        if structure != self._structure:
            self._structure = structure
            self.model.reset_rows(rows, show_backend=structure[0])
            self._size_columns()
            if not self.view.currentIndex().isValid() and self.proxy.rowCount():
                # The worst budget is in the detail until the operator picks another.
                self.view.setCurrentIndex(self.proxy.index(0, 0))
        else:
            self.model.update_rows(rows)
        self._show_detail()
        tick = STALE_TICK_S if any(r.stale for r in rows) else TICK_S
        self._next_due = now + tick if rows else float("inf")

    def _size_columns(self) -> None:
        """Widths from the widest possible text, so nothing clips when values grow."""
        header = self.view.horizontalHeader()
        text_metrics = self.view.fontMetrics()
        mono = QFontMetrics(self.model.mono_font)
        bold = QFontMetrics(self.model.bold_font)
        last = len(self.model.columns) - 1
        for i, col in enumerate(self.model.columns):
            if i == last:
                continue  # stretches
            if col.numeric:
                width = mono.horizontalAdvance(col.widest)
            else:
                self.view.resizeColumnToContents(i)
                width = self.view.columnWidth(i) - 2 * CELL_PADDING
                # Room for what the column may come to say (a tier, "STALE 5 min").
                width = max(width, bold.horizontalAdvance(col.widest))
            width = max(width, text_metrics.horizontalAdvance(col.header))
            header.resizeSection(i, width + 2 * CELL_PADDING + 6)

    # ------------------------------------------------------------ selection and detail

    def selected(self) -> Key | None:
        """(backend, service) of the current row: the SLO the detail shows."""
        index = self.view.currentIndex()
        if not index.isValid():
            return None
        row = self.proxy.mapToSource(index).row()
        return None if row < 0 else self.model.row_view(row).key

    def _selection_moved(self, *_: object) -> None:
        self._show_detail()

    def set_burndown_points(
        self, backend: str, service: str, points: np.ndarray, step_s: float
    ) -> None:
        """Per-step counts for one SLO's burn-down: (k, 3) step start, good, total (NaN where
        the backend holds none), e.g. from `GET /slo/{service}/budget`. Until they come the
        burn-down is drawn from the window totals, and says so."""
        self._points[(backend, service)] = (np.asarray(points, dtype=np.float64), step_s)
        self._detail_shown = None
        self.mark_dirty()

    def _show_detail(self) -> None:
        key = self.selected()
        store = self.ctx.store
        state = store.backends.get(key[0]) if key is not None else None
        obs = state.slos.get(key[1]) if state is not None and key is not None else None
        if key is None or state is None or obs is None:
            if self._detail_shown != ():
                self._detail_shown = ()
                self.detail.show_nothing("select an SLO to see its burn-down and tiers")
            return
        newest_event = store.events[-1] if store.events else None
        points = self._points.get(key)
        row = self.model.row_view(self.model.row_of(*key))
        events = (len(store.events), id(newest_event))
        stale = row.texts["tier"] if row.stale else None  # "STALE 12 s", ticking
        figures = self.rows.figures(key, obs)
        slo = obs.slo
        title = (
            f"{obs.service} on {key[0]} · {slo.indicator} {slo.objective * 100:g} % over the "
            f"{slo.window.words} · {figures.budget.words}"
        )
        health = Health.UNKNOWN if row.stale else row.health.get("remaining", Health.UNKNOWN)
        tiers = tier_rows(figures, stale=stale)
        shown = (key, slo, obs.windows, obs.ratios_only, id(points), len(state.deploys), events)
        shown += (title, health)
        if shown == self._detail_shown and not self._plot_moved(obs.as_of):
            # The same counts (a poll, or only the age moved): at most the tier texts change.
            if tiers != self._tiers_shown:
                self._tiers_shown = tiers
                self.detail.tiers.show_rows(tiers)
            return
        self._detail_shown = shown
        self._plot_as_of = obs.as_of
        self._tiers_shown = tiers
        if points is not None:
            view = burn_down_from_points(obs, points[0], points[1])
        else:
            view = burn_down_from_windows(obs)
        markers = []
        if view is not None:
            markers = deploy_markers(state.deploys, obs.service, view.start, view.end)
            markers += incident_markers(store.events, key[0], obs.service, view.start, view.end)
            markers.sort(key=lambda m: m.ts)
        self._plot_span = 0.0 if view is None else view.end - view.start
        self.detail.show_slo(key, title, view, markers, tiers, health)

    def _plot_moved(self, as_of: float) -> bool:
        """Whether a later `as_of` moves the burn-down's end by a pixel or more (a 30 d window
        over 600 px is 72 min a pixel): until then a redraw would draw the same line."""
        if self._plot_span <= 0:
            return False  # no line drawn: only new counts change the detail
        width = max(self.detail.plot.width(), 1)
        return abs(as_of - self._plot_as_of) * width >= self._plot_span


def _make_view(model: QSortFilterProxyModel, parent: QWidget) -> QTableView:
    return style_list_view(QTableView(parent), model, name="budgets_view")

"""Services overview: one row per (backend, service), worst health first, with the reason why."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QVBoxLayout, QWidget

from opsconsole.core.health import Health, service_health, settled
from opsconsole.core.models import ConnectionState, Service
from opsconsole.core.store import BackendState
from opsconsole.ui import theme
from opsconsole.ui.context import UiContext
from opsconsole.ui.filterbar import FilterBar, matches
from opsconsole.ui.panel import Panel
from opsconsole.ui.statusbar import format_age
from opsconsole.ui.tablemodel import Index, RowTableModel, align, row_runs

NO_DATA = "—"  # never 0: a missing value must not read as a healthy zero
FONT_POINTS = 10
CELL_PADDING = 4  # px left and right of every cell's text
DOT_SIZE = 10

# Worst first: critical, operator-forced, warning, then unknown/stale (the operator cannot
# vouch for those), healthy last.
SORT_RANK: dict[Health, int] = {
    Health.CRITICAL: 0,
    Health.FORCED: 1,
    Health.WARNING: 2,
    Health.UNKNOWN: 3,
    Health.HEALTHY: 4,
}


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    tooltip: str
    numeric: bool = False
    field: str | None = None  # metric field shown, for numeric columns
    fmt: Callable[[float], str] | None = None


def _ms(v: float) -> str:
    return f"{v:.0f}"


def _rps(v: float) -> str:
    return f"{v:.1f}"


def _pct2(v: float) -> str:
    return f"{v * 100:.2f}"


def _pct0(v: float) -> str:
    return f"{v * 100:.0f}"


BACKEND_COLUMN = Column("backend", "Backend", "Which backend reports this service")
COLUMNS: tuple[Column, ...] = (
    Column("service", "Service", "Display name; hover for name, tier and backend"),
    Column("health", "Health", "Worst golden signal against its threshold"),
    Column("p50", "p50 ms", "Median latency", True, "latency_p50_ms", _ms),
    Column("p95", "p95 ms", "95th percentile latency", True, "latency_p95_ms", _ms),
    Column("p99", "p99 ms", "99th percentile latency", True, "latency_p99_ms", _ms),
    Column("rps", "rps", "Traffic: requests per second", True, "rps", _rps),
    Column("errors", "Err %", "Errors: share of failed requests", True, "error_ratio", _pct2),
    Column("cpu", "CPU %", "CPU utilisation", True, "cpu", _pct0),
    Column("mem", "Mem %", "Memory utilisation", True, "memory", _pct0),
    Column("why", "Why", "The reason for the health verdict"),
)
WIDEST_NUMBER = {"p50": "88888", "p95": "88888", "p99": "88888", "rps": "8888.8"}


def format_value(column: Column, value: float | None) -> str:
    if value is None or math.isnan(value) or column.fmt is None:
        return NO_DATA
    return column.fmt(value)


def stale_reason(age: float | None) -> str:
    """Why column of a stale backend's rows: the whole-second age, so it ticks once a second."""
    if age is None:
        return "STALE — no data received"
    return f"STALE — last data {format_age(age, precise=False)} ago"


@dataclass(frozen=True)
class RowView:
    """Everything one row shows, computed once per change; the model only reads it."""

    backend: str
    service: str
    texts: dict[str, str]  # column key → display text
    health: Health
    signal_column: str | None  # the column of the signal behind the verdict, coloured
    stale: bool
    tooltip: str
    why_tooltip: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.backend, self.service)

    @property
    def sort_key(self) -> tuple[int, str, str]:
        return (SORT_RANK[self.health], self.backend, self.service)


_SIGNAL_COLUMNS = {c.field: c.key for c in COLUMNS if c.field}


def build_row(
    backend: str,
    service: Service,
    latest: dict[str, float] | None,
    stale_age: float | None,
    stale: bool,
    judged: dict[str, float] | None = None,
) -> RowView:
    """One row: numbers from the newest sample, health from `judged` (default: the same).

    `stale_age` is the data age shown for stale backends.
    """
    verdict = service_health(latest if judged is None else judged, service.thresholds, stale)
    texts = {
        "backend": backend,
        "service": service.display_name or service.name,
        "health": "STALE" if stale else theme.STATE_WORDS[verdict.level],
    }
    for col in COLUMNS:
        if col.field is not None:
            texts[col.key] = format_value(col, None if latest is None else latest.get(col.field))
    texts["why"] = stale_reason(stale_age) if stale else verdict.reason
    t = service.thresholds
    tooltip = (
        f"{service.name}\ntier: {service.tier or 'unknown'}\nbackend: {backend}\n"
        f"thresholds: p99 {t.latency_p99_ms:.0f} ms, errors {t.error_ratio * 100:.1f} %, "
        f"CPU {t.cpu * 100:.0f} %, memory {t.memory * 100:.0f} %"
    )
    return RowView(
        backend=backend,
        service=service.name,
        texts=texts,
        health=verdict.level,
        signal_column=None if stale else _SIGNAL_COLUMNS.get(verdict.signal or ""),
        stale=stale,
        tooltip=tooltip,
        why_tooltip=texts["why"] or "All signals within their thresholds",
    )


def _dot(colour: str, size: int = DOT_SIZE) -> QPixmap:
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(colour))
    painter.drawEllipse(1, 1, size - 2, size - 2)
    painter.end()
    return pix


class ServicesModel(RowTableModel):
    """Rows kept sorted worst-first; updates say exactly which rows changed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[RowView] = []
        self._pos: dict[tuple[str, str], int] = {}
        self._columns: tuple[Column, ...] = COLUMNS
        self.mono_font = theme.mono_font(FONT_POINTS)
        self.bold_font = QFont()
        self.bold_font.setPointSize(FONT_POINTS)
        self.bold_font.setBold(True)
        self._dots: dict[tuple[Health, bool], QPixmap] = {}
        self.resets = 0  # model resets so far: they should be rare (row-set changes only)

    # ------------------------------------------------------------ Qt model API

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row, col = self._rows[index.row()], self._columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.texts[col.key]
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._foreground(row, col)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return align(col)
        if role == Qt.ItemDataRole.FontRole:
            if col.numeric:
                return self.mono_font
            return self.bold_font if col.key == "health" else None
        if role == Qt.ItemDataRole.DecorationRole and col.key == "health":
            return self._dot(row)
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.why_tooltip if col.key in ("why", "health") else row.tooltip
        return None

    def _foreground(self, row: RowView, col: Column) -> QColor | None:
        if row.stale:
            return QColor(theme.TEXT_DIM)
        if col.key == "health" or (col.key in ("why", row.signal_column)):
            return None if row.health is Health.HEALTHY else theme.colour(row.health)
        return None

    def _dot(self, row: RowView) -> QPixmap:
        key = (row.health, row.stale)
        pix = self._dots.get(key)
        if pix is None:
            health = Health.UNKNOWN if row.stale else row.health
            pix = self._dots[key] = _dot(theme.STATE_COLOURS[health])
        return pix

    # ------------------------------------------------------------ reading, for views and tests

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    def column_of(self, key: str) -> int:
        """Column index of a column key ("p99", "why", …), -1 when not shown."""
        for i, col in enumerate(self._columns):
            if col.key == key:
                return i
        return -1

    def row_of(self, backend: str, service: str) -> int:
        """Row of that service, -1 when it is not listed."""
        return self._pos.get((backend, service), -1)

    def key_at(self, row: int) -> tuple[str, str]:
        return self._rows[row].key

    def row_view(self, row: int) -> RowView:
        return self._rows[row]

    def text(self, row: int, key: str) -> str:
        return self._rows[row].texts[key]

    # ------------------------------------------------------------ writing, from the panel

    def reset_rows(self, rows: Sequence[RowView], show_backend: bool) -> None:
        """A new row set (services came or went): the rare full reset."""
        self.beginResetModel()
        self._columns = (BACKEND_COLUMN, *COLUMNS) if show_backend else COLUMNS
        self._rows = sorted(rows, key=lambda r: r.sort_key)
        self._pos = {r.key: i for i, r in enumerate(self._rows)}
        self.endResetModel()
        self.resets += 1

    def update_rows(self, changed: Sequence[RowView]) -> None:
        """New views for rows already listed: dataChanged for those rows, re-sort if needed."""
        if not changed:
            return
        reorder = False
        touched: list[int] = []
        for view in changed:
            i = self._pos[view.key]
            reorder = reorder or view.sort_key != self._rows[i].sort_key
            self._rows[i] = view
            touched.append(i)
        if reorder:
            self._resort()
            return
        last_col = len(self._columns) - 1
        for first, last in row_runs(sorted(touched)):
            self.dataChanged.emit(self.index(first, 0), self.index(last, last_col))

    def _resort(self) -> None:
        # A layout change (not a reset) keeps persistent indexes, so the view's selection and
        # current row stay on the same service as it moves.
        self.layoutAboutToBeChanged.emit()
        old_rows = self._rows
        self._rows = sorted(old_rows, key=lambda r: r.sort_key)
        self._pos = {r.key: i for i, r in enumerate(self._rows)}
        old = self.persistentIndexList()
        new = [self.index(self._pos[old_rows[i.row()].key], i.column()) for i in old]
        self.changePersistentIndexList(old, new)
        self.layoutChanged.emit()


# What a row was built from; unchanged inputs mean an unchanged row, so no work and no signal.
_RowInputs = tuple[Service, int, bool, str]


class ServicesPanel(Panel):
    """Table of every service of every backend; selecting a row points the charts at it."""

    panel_id = "services"
    title = "Services"

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.model = ServicesModel(self)
        self.view = _make_view(self.model, self)
        # `/` filters by service, health word or reason; rows are hidden, not removed, so the
        # model's row order (and the selection code built on it) stays as it is.
        self.filter = FilterBar(self, "filter services by name, health or reason")
        self.filter.attach(self.view)
        self.filter.filter_changed.connect(lambda _needle: self._apply_filter())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter)
        layout.addWidget(self.view)
        self._inputs: dict[tuple[str, str], _RowInputs] = {}
        self._structure: tuple[int, tuple[tuple[str, str], ...]] | None = None
        self._any_stale = False
        self._syncing = False  # True while we move the view's selection ourselves

        store = ctx.store
        for signal in (
            store.services_changed,
            store.snapshot_loaded,
            store.metrics_appended,
            store.connection_changed,
        ):
            signal.connect(self.mark_dirty)
        self.view.clicked.connect(self._commit)
        self.view.activated.connect(self._commit)  # Enter/Return on the current row
        self.view.selectionModel().currentRowChanged.connect(self._current_moved)
        ctx.selection.changed.connect(self._follow_selection)

    @property
    def wants_tick(self) -> bool:  # type: ignore[override]
        # A stale backend's "last data 12 s ago" counts up without any new event.
        return self._any_stale

    # ------------------------------------------------------------ refresh

    def refresh(self, now: float) -> None:
        store = self.ctx.store
        keys = tuple((b, s) for b, state in store.backends.items() for s in state.services)
        structure = (len(store.backends), keys)  # the backend count decides the Backend column
        rows: list[RowView] = []
        any_stale = False
        rebuild = structure != self._structure
        if rebuild:
            self._inputs.clear()  # every row is rebuilt, and vanished ones are forgotten
        for name, state in store.backends.items():
            stale = state.link.state is not ConnectionState.LIVE
            any_stale = any_stale or (stale and bool(state.services))
            age = store.data_age(name) if stale else None
            age_text = "" if age is None else format_age(age, precise=False)
            rows.extend(self._changed_rows(name, state, stale, age, age_text))
        self._any_stale = any_stale
        if rebuild:
            self._structure = structure
            self.model.reset_rows(rows, show_backend=len(store.backends) > 1)
            self._size_columns()
            self._follow_selection(self.ctx.selection.backend, self.ctx.selection.service)
        else:
            self.model.update_rows(rows)
        self._apply_filter()
        self._auto_select()

    def _apply_filter(self) -> None:
        needle = self.filter.needle
        for row in range(self.model.rowCount()):
            texts = (self.model.text(row, k) for k in ("service", "health", "why"))
            self.view.setRowHidden(row, not matches(needle, *texts, self.model.key_at(row)[1]))

    def _changed_rows(
        self, name: str, state: BackendState, stale: bool, age: float | None, age_text: str
    ) -> list[RowView]:
        """Rows of one backend whose inputs changed since they were last built."""
        out: list[RowView] = []
        for service in state.services.values():
            series = state.series.get(service.name)
            version = -1 if series is None else series.version
            inputs: _RowInputs = (service, version, stale, age_text)
            key = (name, service.name)
            old = self._inputs.get(key)
            # `is` on the Service record: a new snapshot brings new records (maybe thresholds).
            if old is not None and old[0] is service and old[1:] == inputs[1:]:
                continue
            self._inputs[key] = inputs
            latest = None if series is None else series.latest()
            out.append(build_row(name, service, latest, age, stale, settled(series)))
        return out

    def _size_columns(self) -> None:
        """Widths from the widest possible text, not the current one: no clipping at 3 a.m."""
        header = self.view.horizontalHeader()
        text_metrics = self.view.fontMetrics()
        mono_metrics = QFontMetrics(self.model.mono_font)
        bold_metrics = QFontMetrics(self.model.bold_font)
        words = [*theme.STATE_WORDS.values(), "STALE"]
        for i, col in enumerate(self.model.columns):
            header_width = text_metrics.horizontalAdvance(col.header)
            if col.key == "why":
                continue
            if col.numeric:
                sample = WIDEST_NUMBER.get(col.key, "888.88")
                width = max(mono_metrics.horizontalAdvance(sample), header_width)
            elif col.key == "health":
                width = max(bold_metrics.horizontalAdvance(w) for w in words) + DOT_SIZE + 8
            else:
                self.view.resizeColumnToContents(i)
                width = max(self.view.columnWidth(i), header_width)
            header.resizeSection(i, width + 2 * CELL_PADDING + 6)

    # ------------------------------------------------------------ selection

    def _commit(self, index: QModelIndex) -> None:
        if index.isValid():
            self.ctx.selection.select(*self.model.key_at(index.row()))

    def _current_moved(self, current: QModelIndex, _previous: QModelIndex) -> None:
        # Arrow keys move the current row: the charts follow at once, as in k9s.
        if not self._syncing:
            self._commit(current)

    def _follow_selection(self, backend: str | None, service: str | None) -> None:
        """Highlight the selected service's row (after a reset, or a selection made elsewhere)."""
        if backend is None or service is None:
            return
        row = self.model.row_of(backend, service)
        if row < 0:
            return
        index = self.model.index(row, 0)
        if self.view.currentIndex().row() == row:
            return
        self._syncing = True
        try:
            self.view.selectionModel().setCurrentIndex(
                index,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
        finally:
            self._syncing = False

    def _auto_select(self) -> None:
        """Nothing selected yet: point at the worst row once data exists, so charts show it."""
        sel = self.ctx.selection
        if sel.service is not None or self.model.rowCount() == 0:
            return
        if not any(version > 0 for _, version, _, _ in self._inputs.values()):
            return  # rows but no samples yet: "worst" would mean nothing
        sel.select(*self.model.key_at(0))


def _make_view(model: ServicesModel, parent: QWidget) -> QTableView:
    view = QTableView(parent)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    view.setAlternatingRowColors(True)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    font = view.font()
    font.setPointSize(FONT_POINTS)
    view.setFont(font)
    vheader = view.verticalHeader()
    vheader.setVisible(False)
    vheader.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vheader.setDefaultSectionSize(view.fontMetrics().height() + 10)
    header = view.horizontalHeader()
    header.setStretchLastSection(True)  # the Why column takes the rest
    header.setHighlightSections(False)
    header.setSectionsClickable(False)  # the order is fixed: worst first
    # A visible focus ring: keyboard operators must see which list has the keys.
    view.setStyleSheet(
        f"QTableView {{ border: 1px solid {theme.BORDER}; }}"
        f"QTableView:focus {{ border: 1px solid {theme.ACCENT}; }}"
        f"QTableView::item {{ padding: 0 {CELL_PADDING}px; }}"
        f"QHeaderView::section {{ padding: 3px {CELL_PADDING}px; }}"
    )
    return view

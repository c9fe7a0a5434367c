"""Services overview: one row per (backend, service), worst health first, with the reason why.

Until the operator picks a service the charts follow the worst one; rows keep still while the
pointer is over them (a re-sort waits until it leaves or rests).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFontMetrics,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from opsconsole.core.commands import Command
from opsconsole.core.health import Health, ServiceEvaluation, evaluate_series
from opsconsole.core.models import ConnectionState, Service

# Row building lives in core; these names are imported from here by the wall and the tests.
from opsconsole.core.rows.services import (
    BACKEND_COLUMN,
    COLUMNS,
    SORT_RANK,
    Column,
    RowView,
    build_row,
)
from opsconsole.core.store import BackendState
from opsconsole.core.words import STALE, age_text
from opsconsole.core.worst import WorstFollower
from opsconsole.ui import theme
from opsconsole.ui.context import UiContext
from opsconsole.ui.filterbar import FilterBar, matches
from opsconsole.ui.panel import Panel, poll_time
from opsconsole.ui.rowinvestigate import RowInvestigate
from opsconsole.ui.statusbar import AFTER_CHANGE_S, next_age_change
from opsconsole.ui.tablemodel import Index, KeyedRowModel, align

__all__ = ["SORT_RANK", "ServicesModel", "ServicesPanel", "build_row"]

FONT_POINTS = 10
CELL_PADDING = 4  # px left and right of every cell's text
DOT_SIZE = 10
# Rows hold still while the pointer moves over them or keys move in them; the re-sort waits
# until the pointer leaves, or until this long without a move or a key.
QUIET_S = 5.0
FOLLOW_COMMAND = "charts.follow_worst"
HIDDEN_FOLLOW_S = 1.0  # how often a hidden list re-judges the worst service for the charts
WHY_MIN_PX = 220  # enough for "p99 1004 ms > 500 ms, breaching 8 s" to start being read
WIDEST_NUMBER = {"p50": "88888", "p95": "88888", "p99": "88888", "rps": "8888.8"}


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


def changed_cells(old: RowView, new: RowView, keys: Sequence[str]) -> list[int]:
    """Indexes of the columns whose cells look different in `new`: their text, colour or dot
    (all of them when the row is greyed or un-greyed). Tooltips are read when shown."""
    if old.stale != new.stale:
        return list(range(len(keys)))
    out = []
    for i, key in enumerate(keys):
        if old.texts.get(key) != new.texts.get(key):
            out.append(i)
        elif key == "health":
            if old.health != new.health:
                out.append(i)  # its colour and dot
        elif key == "why":
            if old.why_level != new.why_level:
                out.append(i)
        elif old.cells.get(key) != new.cells.get(key):
            out.append(i)  # a signal's colour
    return out


class ServicesModel(KeyedRowModel):
    """Service rows kept worst-first; while the pointer is on them a re-sort is held back."""

    # The panel hands over only the rows it rebuilt: each is news, none is compared.
    skip_unchanged = False

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(COLUMNS, BACKEND_COLUMN, parent, FONT_POINTS)
        self._dots: dict[tuple[Health, bool], QPixmap] = {}

    def changed_columns(self, old: RowView, new: RowView) -> list[int]:
        """The cells that look different, so a stale backend's age ticking in the Why column
        repaints those cells, not every row whole."""
        return changed_cells(old, new, [c.key for c in self._columns])

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
            if col.key in ("why", "health"):
                return row.why_tooltip
            return row.cell_tooltip(col.key) or row.tooltip
        return None

    def _foreground(self, row: RowView, col: Column) -> QColor | None:
        if row.stale:
            return QColor(theme.TEXT_DIM)
        if col.key == "health":
            return None if row.health is Health.HEALTHY else theme.colour(row.health)
        if col.key == "why":
            level = row.why_level
            return None if level is Health.HEALTHY else theme.colour(level)
        level = row.cells.get(col.key)
        return None if level is None else theme.colour(level)

    def _dot(self, row: RowView) -> QPixmap:
        key = (row.health, row.stale)
        pix = self._dots.get(key)
        if pix is None:
            health = Health.UNKNOWN if row.stale else row.health
            pix = self._dots[key] = _dot(theme.STATE_COLOURS[health])
        return pix


# What a row was built from; unchanged inputs mean an unchanged row, so no work and no signal.
_RowInputs = tuple[Service, int, bool, str]


class ServicesPanel(Panel):
    """Table of every service of every backend; selecting a row points the charts at it.

    Until the operator picks a row the charts follow the worst service (core.worst), and
    the line under the table says which they show and how to go back to following.
    """

    panel_id = "services"
    title = "Services"

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.model = ServicesModel(self)
        self.view = _make_view(self.model, self)
        self.investigate = RowInvestigate(self.view, ctx, "services panel", self._row_service)
        # `/` filters by service, health word or reason; rows are hidden, not removed, so the
        # model's row order (and the selection code built on it) stays as it is.
        self.filter = FilterBar(self, "filter services by name, health or reason")
        self.filter.attach(self.view)
        self._hidden_refresh_at = -1e9
        self.filter.filter_changed.connect(lambda _needle: self._apply_filter())
        self.charts_note = QLabel(self)
        self.charts_note.setObjectName("charts_note")
        self.charts_note.setTextFormat(Qt.TextFormat.RichText)
        self.charts_note.setStyleSheet(f"color: {theme.TEXT_DIM}; padding: 1px 4px;")
        self.charts_note.linkActivated.connect(lambda _link: ctx.selection.follow_worst())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.filter)
        layout.addWidget(self.view)
        layout.addWidget(self.charts_note)
        self._inputs: dict[tuple[str, str], _RowInputs] = {}
        # Each row's newest sample and judgement, for the inputs in `_inputs` but the age.
        self._judged: dict[tuple[str, str], tuple[dict[str, float] | None, ServiceEvaluation]] = {}
        self._structure: tuple[int, tuple[tuple[str, str], ...]] | None = None
        # When (ctx.clock) a stale backend's age, shown in the Why column, next reads
        # differently; inf: nothing shown moves with time alone.
        self._due = math.inf
        self._syncing = False  # True while we move the view's selection ourselves
        self.follower = WorstFollower()
        self.quiet_s = QUIET_S
        self._last_activity = -math.inf
        self._quiet = QTimer(self)
        self._quiet.setSingleShot(True)
        self._quiet.timeout.connect(self._quiet_elapsed)
        self.view.activity.connect(self._activity)
        self.view.left.connect(self._release_order)

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
        ctx.selection.changed.connect(lambda *_: self._show_charts_note())
        ctx.selection.picked_changed.connect(self._picked_changed)
        if FOLLOW_COMMAND not in ctx.commands:
            ctx.commands.register(
                Command(
                    FOLLOW_COMMAND,
                    "Charts: follow the worst service",
                    ctx.selection.follow_worst,
                    description="until you pick a service again (click, Enter)",
                )
            )
        self._show_charts_note()

    @property
    def wants_tick(self) -> bool:  # type: ignore[override]
        # A stale backend's "STALE 12 s" counts up without any new event: due at the moment
        # its words change (next_tick tells the scheduler when), not on every grid point.
        return self.ctx.clock() >= self._due

    def next_tick(self, now: float) -> float:
        if self.dirty:
            return now if self.needs_refresh() else poll_time(now)
        if math.isinf(self._due) or not self.in_sight():
            return math.inf
        return now + max(0.0, self._due - self.ctx.clock())

    def needs_refresh(self) -> bool:
        if super().needs_refresh():
            return True
        # Closed or tabbed away, the list still decides what the charts follow: while they
        # follow, new data is judged here once a second (no painting: the table is hidden).
        return (
            self.dirty
            and not self.ctx.selection.picked
            and self.ctx.clock() - self._hidden_refresh_at >= HIDDEN_FOLLOW_S
        )

    # ------------------------------------------------------------ refresh

    def refresh(self, now: float) -> None:
        if not self.isVisible():
            self._hidden_refresh_at = self.ctx.clock()
        store = self.ctx.store
        keys = tuple((b, s) for b, state in store.backends.items() for s in state.services)
        structure = (len(store.backends), keys)  # the backend count decides the Backend column
        rows: list[RowView] = []
        next_change = math.inf  # seconds until a shown age reads differently
        rebuild = structure != self._structure
        if rebuild:
            self._inputs.clear()  # every row is rebuilt, and vanished ones are forgotten
            self._judged.clear()
        for name, state in store.backends.items():
            stale = state.link.state is not ConnectionState.LIVE
            age = store.data_age(name) if stale else None
            shown_age = "" if age is None else age_text(age, precise=False)
            if age is not None and state.services:
                next_change = min(next_change, next_age_change(age, precise=False))
            rows.extend(self._changed_rows(name, state, stale, age, shown_age))
        self._due = self.ctx.clock() + next_change + AFTER_CHANGE_S
        if rebuild:
            self._structure = structure
            self.model.reset_rows(rows, show_backend=len(store.backends) > 1)
            self._size_columns()
            self._follow_selection(self.ctx.selection.backend, self.ctx.selection.service)
        elif rows:
            self.model.update_rows(rows)
        if rebuild or rows:  # (a new needle is applied at once, by filter_changed)
            self._apply_filter()
            self._follow_worst()

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
            same_samples = old is not None and old[0] is service and old[1:3] == inputs[1:3]
            self._inputs[key] = inputs
            # Only the age moved (a stale backend's, once a second): the samples, and so their
            # judgement, are the ones judged last time; they are not judged again.
            judged = self._judged.get(key) if same_samples else None
            if judged is None:
                latest = None if series is None or len(series) == 0 else series.latest()
                evaluation = evaluate_series(series, service.thresholds, stale)
                judged = self._judged[key] = (latest, evaluation)
            latest, evaluation = judged
            out.append(build_row(name, service, latest, age, stale, evaluation=evaluation))
        return out

    def _size_columns(self) -> None:
        """Widths from the widest possible text, not the current one: no clipping at 3 a.m."""
        header = self.view.horizontalHeader()
        text_metrics = self.view.fontMetrics()
        mono_metrics = QFontMetrics(self.model.mono_font)
        bold_metrics = QFontMetrics(self.model.bold_font)
        words = [*theme.STATE_WORDS.values(), STALE]
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
        self.view.fit_why()

    # ------------------------------------------------------------ rows that keep still

    def _activity(self) -> None:
        self._last_activity = self.ctx.clock()
        self.model.hold_order = True
        self._quiet.start(max(1, round(self.quiet_s * 1000)))

    def _quiet_elapsed(self) -> None:
        # A timer can fire a little early: the clock decides.
        left = self.quiet_s - (self.ctx.clock() - self._last_activity)
        if left > 0:
            self._quiet.start(max(1, round(left * 1000)))
            return
        self._release_order()

    def _release_order(self) -> None:
        self._quiet.stop()
        self.model.release_order()
        self._apply_filter()  # rows moved: hidden flags follow their services

    # ------------------------------------------------------------ selection

    def _commit(self, index: QModelIndex) -> None:
        if index.isValid():
            self.ctx.selection.select(*self.model.key_at(index.row()))

    def _row_service(self) -> str | None:
        index = self.view.currentIndex()
        return self.model.key_at(index.row())[1] if index.isValid() else None

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

    def _follow_worst(self) -> None:
        """Until the operator picks a service, point the charts at the worst one with data."""
        sel = self.ctx.selection
        if sel.picked:
            return
        standings = {row.key: row.standing for row in self.model.rows() if row.has_data}
        worst = self.follower.choose(standings, self.ctx.clock())
        if worst is not None:
            sel.follow(*worst)

    def _picked_changed(self, picked: bool) -> None:
        if not picked:
            # Back to following: the worst service now (no hold on the one followed before
            # the pick), and the charts move at once, not at the next data.
            self.follower.reset()
            self._follow_worst()
        self._show_charts_note()

    def _show_charts_note(self) -> None:
        sel = self.ctx.selection
        name = self._display_name(sel.backend, sel.service)
        if name is None:
            text = "Charts follow the worst service once data arrives"
        elif sel.picked:
            text = (
                f"Charts: {html.escape(name)}, your pick · "
                f"<a href='follow' style='color: {theme.ACCENT}'>follow the worst service</a>"
            )
        else:
            text = f"Charts follow the worst service: {html.escape(name)}"
        self.charts_note.setText(text)

    def _display_name(self, backend: str | None, service: str | None) -> str | None:
        if backend is None or service is None:
            return None
        state = self.ctx.store.backends.get(backend)
        record = None if state is None else state.services.get(service)
        name = service if record is None else (record.display_name or record.name)
        return f"{name} · {backend}" if len(self.ctx.store.backends) > 1 else name


class ServicesView(QTableView):
    """The table, telling when the operator points or navigates in it (rows must keep still)
    and when the pointer leaves it. Handlers, not an event filter: Python runs only for
    these few events, not for every paint."""

    activity = Signal()
    left = Signal()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self.activity.emit()
        super().mouseMoveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.activity.emit()
        super().mousePressEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        self.activity.emit()
        super().wheelEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        self.activity.emit()  # navigating with keys: the row under the cursor must not move
        super().keyPressEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit_why()

    def fit_why(self) -> None:
        """The Why column takes the width the others leave, never less than `WHY_MIN_PX`."""
        model = self.model()
        keys = [c.key for c in getattr(model, "columns", ())]
        if "why" not in keys:
            return
        header = self.horizontalHeader()
        why = keys.index("why")
        others = sum(header.sectionSize(i) for i in range(len(keys)) if i != why)
        header.resizeSection(why, max(WHY_MIN_PX, self.viewport().width() - others))

    def leaveEvent(self, event: QEvent) -> None:
        self.left.emit()
        super().leaveEvent(event)


def _make_view(model: ServicesModel, parent: QWidget) -> ServicesView:
    view = ServicesView(parent)
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
    view.setMouseTracking(True)  # pointer moves without a button held keep the rows still
    font = view.font()
    font.setPointSize(FONT_POINTS)
    view.setFont(font)
    vheader = view.verticalHeader()
    vheader.setVisible(False)
    vheader.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vheader.setDefaultSectionSize(view.fontMetrics().height() + 10)
    header = view.horizontalHeader()
    header.setStretchLastSection(False)  # the Why column takes the rest (see fit_why)
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

"""Services overview: one row per (backend, service), worst health first, with the reason why.

Until the operator picks a service the charts follow the worst one; rows keep still while the
pointer is over them (a re-sort waits until it leaves or rests).
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

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
    QFont,
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
from opsconsole.core.health import (
    FORMATS,
    JUDGE_WINDOW_S,
    Health,
    ServiceEvaluation,
    SignalEvaluation,
    evaluate,
    evaluate_series,
    span_text,
)
from opsconsole.core.models import ConnectionState, Service
from opsconsole.core.store import BackendState
from opsconsole.core.worst import Standing, WorstFollower
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
# Rows hold still while the pointer moves over them or keys move in them; the re-sort waits
# until the pointer leaves, or until this long without a move or a key.
QUIET_S = 5.0
FOLLOW_COMMAND = "charts.follow_worst"

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


BACKEND_COLUMN = Column("backend", "Backend", "Which backend reports this service")
COLUMNS: tuple[Column, ...] = (
    Column("service", "Service", "Display name; hover for name, tier and backend"),
    Column("health", "Health", "Worst golden signal against its threshold"),
    # Third, not last: on a narrow screen the numbers scroll away before the reason does.
    Column(
        "why",
        "Why",
        f"The reason for the health verdict: judged on the median of the last "
        f"{JUDGE_WINDOW_S:g} s; a value over its limit is marked at once",
    ),
    Column("p50", "p50 ms", "Median latency", True, "latency_p50_ms", _ms),
    Column("p95", "p95 ms", "95th percentile latency", True, "latency_p95_ms", _ms),
    # The limited signals are written by their core format: the Why text uses the same one,
    # so a cell and its reason always show the same digits.
    Column(
        "p99",
        "p99 ms",
        "99th percentile latency (newest sample)",
        True,
        "latency_p99_ms",
        FORMATS["latency_p99_ms"].number,
    ),
    Column("rps", "rps", "Traffic: requests per second", True, "rps", _rps),
    Column(
        "errors",
        "Err %",
        "Errors: share of failed requests",
        True,
        "error_ratio",
        FORMATS["error_ratio"].number,
    ),
    Column("cpu", "CPU %", "CPU utilisation", True, "cpu", FORMATS["cpu"].number),
    Column("mem", "Mem %", "Memory utilisation", True, "memory", FORMATS["memory"].number),
)
HIDDEN_FOLLOW_S = 1.0  # how often a hidden list re-judges the worst service for the charts
WHY_MIN_PX = 220  # enough for "p99 1004 ms > 500 ms, breaching 8 s" to start being read
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


_SIGNAL_COLUMNS = {c.field: c.key for c in COLUMNS if c.field}


@dataclass(frozen=True)
class RowView:
    """Everything one row shows, computed once per change; the model only reads it."""

    backend: str
    service: str
    texts: dict[str, str]  # column key → display text
    health: Health
    signal_column: str | None  # the column of the signal behind the verdict
    stale: bool
    tooltip: str
    why_tooltip: str
    # Signal column key → its own colour level: a cell over its limit is CRITICAL at once,
    # before the median turns the row CRITICAL.
    cells: dict[str, Health] = field(default_factory=dict)
    evaluation: ServiceEvaluation | None = None
    has_data: bool = False  # samples exist: worth pointing the charts at

    @property
    def key(self) -> tuple[str, str]:
        return (self.backend, self.service)

    @property
    def sort_key(self) -> tuple[int, str, str]:
        return (SORT_RANK[self.health], self.backend, self.service)

    @property
    def why_level(self) -> Health:
        """The Why text's colour: the row's level, or a breach the row does not show yet."""
        return min((self.health, *self.cells.values()), key=SORT_RANK.__getitem__)

    @property
    def standing(self) -> Standing:
        """How bad the row is, for following the worst service."""
        if self.stale or self.evaluation is None:
            return Standing(Health.UNKNOWN, 0.0)
        return Standing(self.health, self.evaluation.pressure)

    def cell_tooltip(self, column: str) -> str | None:
        """A signal cell's numbers: newest, judged, limit, and since when it is over it."""
        ev = self.evaluation
        name = next((f for f, key in _SIGNAL_COLUMNS.items() if key == column), None)
        signal = None if ev is None or name is None else ev.get(name)
        if signal is None:
            return None
        return signal_tooltip(signal)


def _clock(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts))


def signal_tooltip(s: SignalEvaluation) -> str:
    fmt = s.fmt
    lines = [
        f"{s.label} now {_shown(fmt.text, s.latest)}",
        f"{s.window_s:g} s median {_shown(fmt.text, s.value)} (health is judged on it)"
        if s.window_s > 0
        else f"judged {_shown(fmt.text, s.value)}",
        f"limit {fmt.limit_text(s.limit)}",
    ]
    if s.breaching:
        since = s.breaching_since
        duration = s.breaching_for
        lines.append(
            "over the limit"
            + ("" if since is None else f" since {_clock(since)}")
            + ("" if duration is None else f" (breaching {span_text(duration)})")
        )
    return "\n".join(lines)


def _shown(text: Callable[[float], str], value: float) -> str:
    return text(value) if math.isfinite(value) else NO_DATA


def build_row(
    backend: str,
    service: Service,
    latest: dict[str, float] | None,
    stale_age: float | None,
    stale: bool,
    judged: dict[str, float] | None = None,
    evaluation: ServiceEvaluation | None = None,
) -> RowView:
    """One row: numbers from the newest sample, health and Why from one evaluation.

    `evaluation` defaults to judging `judged` (or `latest` itself when None); `stale_age`
    is the data age shown for stale backends.
    """
    if evaluation is None:
        window = 0.0 if judged is None else JUDGE_WINDOW_S
        base = latest if judged is None else judged
        evaluation = evaluate(base, service.thresholds, latest=latest, stale=stale, window_s=window)
    texts = {
        "backend": backend,
        "service": service.display_name or service.name,
        "health": "STALE" if stale else theme.STATE_WORDS[evaluation.level],
    }
    for col in COLUMNS:
        if col.field is not None:
            texts[col.key] = format_value(col, None if latest is None else latest.get(col.field))
    why = evaluation.reason
    texts["why"] = stale_reason(stale_age) if stale else why
    t = service.thresholds
    limits = ", ".join(
        f"{fmt.label} {fmt.limit_text(getattr(t, name))}" for name, fmt in FORMATS.items()
    )
    tooltip = (
        f"{service.name}\ntier: {service.tier or 'unknown'}\nbackend: {backend}\n"
        f"thresholds: {limits}"
    )
    cells: dict[str, Health] = {}
    if not stale:
        for signal in evaluation.signals:
            if signal.severity >= Health.WARNING:
                cells[_SIGNAL_COLUMNS[signal.name]] = signal.severity
    if stale:
        why_tooltip = texts["why"]
    else:
        why_tooltip = why.replace("; ", "\n") or "All signals within their thresholds"
        why_tooltip += (
            f"\n(health: median of the last {JUDGE_WINDOW_S:g} s; "
            "a value over its limit is marked at once)"
        )
    return RowView(
        backend=backend,
        service=service.name,
        texts=texts,
        health=evaluation.level,
        signal_column=None if stale else _SIGNAL_COLUMNS.get(evaluation.signal or ""),
        stale=stale,
        tooltip=tooltip,
        why_tooltip=why_tooltip,
        cells=cells,
        evaluation=None if stale else evaluation,
        has_data=latest is not None,
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
        self.resorts = 0  # re-sorts applied (layout changes that move rows)
        # While True a changed health does not move rows (the pointer is on them); the
        # re-sort is owed and applied by `release_order()`.
        self.hold_order = False
        self.order_owed = False

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

    def rows(self) -> tuple[RowView, ...]:
        return tuple(self._rows)

    def text(self, row: int, key: str) -> str:
        return self._rows[row].texts[key]

    # ------------------------------------------------------------ writing, from the panel

    def reset_rows(self, rows: Sequence[RowView], show_backend: bool) -> None:
        """A new row set (services came or went): the rare full reset."""
        self.beginResetModel()
        self._columns = (BACKEND_COLUMN, *COLUMNS) if show_backend else COLUMNS
        self._rows = sorted(rows, key=lambda r: r.sort_key)
        self._pos = {r.key: i for i, r in enumerate(self._rows)}
        self.order_owed = False
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
        if reorder and not self.hold_order:
            self._resort()
            return
        # Held: the rows keep their places (and the new texts show); the order is owed.
        self.order_owed = self.order_owed or reorder
        last_col = len(self._columns) - 1
        for first, last in row_runs(sorted(touched)):
            self.dataChanged.emit(self.index(first, 0), self.index(last, last_col))

    def release_order(self) -> None:
        """Rows may move again: apply the re-sort that was held back, if any."""
        self.hold_order = False
        if self.order_owed:
            self._resort()

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
        self.order_owed = False
        self.resorts += 1
        self.layoutChanged.emit()


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
        self._structure: tuple[int, tuple[tuple[str, str], ...]] | None = None
        self._any_stale = False
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
        # A stale backend's "last data 12 s ago" counts up without any new event.
        return self._any_stale

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
        elif rows:
            self.model.update_rows(rows)
        self._apply_filter()
        if rebuild or rows:
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
            self._inputs[key] = inputs
            latest = None if series is None or len(series) == 0 else series.latest()
            evaluation = evaluate_series(series, service.thresholds, stale)
            out.append(build_row(name, service, latest, age, stale, evaluation=evaluation))
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

"""Circuit breakers (after the Hystrix dashboard): one row per circuit, worst state first."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPoint,
    QPointF,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QAction, QColor, QFont, QFontMetrics, QPainter, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from opsconsole.core.commands import CommandError, CommandRegistry
from opsconsole.core.health import Health
from opsconsole.core.models import Circuit, ConnectionState
from opsconsole.ui import theme
from opsconsole.ui.context import UiContext
from opsconsole.ui.filterbar import FilterBar
from opsconsole.ui.keyedtable import KeyedTableMixin
from opsconsole.ui.panel import Panel
from opsconsole.ui.statusbar import format_age
from opsconsole.ui.tablemodel import Index, RowTableModel, align, row_runs

log = logging.getLogger(__name__)

NO_DATA = "—"
FONT_POINTS = 10
CELL_PADDING = 4
GLYPH_SIZE = 12
FLASH_S = 1.5  # a transition lights its row up this long, fading out
FLASH_RISE_S = 0.15
FLASH_ALPHA = 0.3  # strongest blend of the state colour over the row background
SPARK_POINTS = 30  # updates kept per circuit, drawn evenly spaced
SPARK_MIN_TOP = 0.01  # y-axis top is at least 1 %: a 0.2 % blip must not fill the cell
TICK_FAST_S = 0.1  # countdowns show tenths of a second
TICK_SLOW_S = 0.5  # ages show whole seconds
NOT_AVAILABLE = "not available"

Key = tuple[str, str]  # (backend, circuit)


@dataclass(frozen=True)
class StateStyle:
    word: str
    health: Health
    rank: int  # sort order: the state that needs the operator first


# Severity order of the brief: open, forced open, half open, disabled, closed.
STATES: dict[str, StateStyle] = {
    "open": StateStyle("open", Health.CRITICAL, 0),
    "forced_open": StateStyle("forced open", Health.FORCED, 1),
    "half_open": StateStyle("half open", Health.WARNING, 2),
    "disabled": StateStyle("disabled", Health.UNKNOWN, 3),
    "closed": StateStyle("closed", Health.HEALTHY, 4),
}
UNKNOWN_STATE = StateStyle("unknown", Health.UNKNOWN, 3)


def state_style(state: str) -> StateStyle:
    return STATES.get(state, UNKNOWN_STATE)


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    tooltip: str
    numeric: bool = False
    widest: str = ""  # the widest text the column can show, for its width


BACKEND_COLUMN = Column("backend", "Backend", "Which backend reports this circuit")
COLUMNS: tuple[Column, ...] = (
    Column("circuit", "Circuit", "Downstream dependency behind this breaker"),
    Column("state", "State", "closed: calls pass · open: calls rejected · half open: one trial"),
    Column(
        "failures", "Failures", "Consecutive failures / threshold that opens it", True, "88 / 88"
    ),
    Column("success", "Success %", "Share of the last calls that succeeded", True, "100.0"),
    Column("requests", "Req/5m", "Calls made in the last 5 minutes", True, "888888"),
    Column("spark", "Errors", f"Error rate (1 − success) at its last {SPARK_POINTS} changes"),
    Column("since", "Since", "Time since the last state transition", True, "59 min 59 s"),
    Column(
        "half_open_in",
        "Half-open in",
        "When an open breaker lets a trial call through (STALE: how old the data is)",
    ),
)
SPARK_WIDTH = 80


def format_percent(ratio: float | None) -> str:
    return NO_DATA if ratio is None else f"{ratio * 100:.1f}"


def stale_text(age: float | None) -> str:
    """As in the status bar ("STALE 12 s"): the data's age, short enough for a narrow column."""
    return "STALE — no data yet" if age is None else f"STALE {format_age(age, False)}"


def format_countdown(remaining: float) -> str:
    """Time left until an open breaker tries again; "trying now" once it is due."""
    if remaining < 0.05:
        return "trying now"
    return format_age(remaining)


# ------------------------------------------------------------------ error-rate history


class ErrorHistory:
    """1 − success rate at each circuit update that changed it, the newest SPARK_POINTS.

    Backends send a circuit only when something about it changes, so the points are updates,
    evenly spaced, not a time axis: the line shows how the rate moved, newest at the right.
    """

    def __init__(self) -> None:
        self._values: deque[float] = deque(maxlen=SPARK_POINTS)
        self._shape: tuple[tuple[float, float], ...] | None = ()

    def add(self, success_rate: float | None) -> None:
        if success_rate is None:
            return  # no calls, no rate: nothing to draw, never a zero
        error = 1.0 - success_rate
        if self._values and self._values[-1] == error:
            return  # a repeat would only flatten the line
        self._values.append(error)
        self._shape = None

    def shape(self) -> tuple[tuple[float, float], ...]:
        """The line as (x, y) in 0…1; y is the error rate over the peak (at least 1 %)."""
        if self._shape is None:
            values = list(self._values)
            top = max(SPARK_MIN_TOP, *values)
            if len(values) == 1:
                self._shape = ((0.0, values[0] / top), (1.0, values[0] / top))
            else:
                last = len(values) - 1
                self._shape = tuple((i / last, v / top) for i, v in enumerate(values))
        return self._shape


# ------------------------------------------------------------------ rows


@dataclass(frozen=True)
class RowView:
    """Everything one row shows, computed in refresh; the model only reads it."""

    backend: str
    name: str
    state: str
    texts: dict[str, str]
    health: Health  # colour of the state (grey when stale)
    stale: bool
    spark: tuple[tuple[float, float], ...]
    tooltip: str
    requests: int

    @property
    def key(self) -> Key:
        return (self.backend, self.name)

    @property
    def sort_key(self) -> tuple[int, int, str, str]:
        return (state_style(self.state).rank, -self.requests, self.name, self.backend)


def build_row(
    backend: str,
    circuit: Circuit,
    server_now: float,
    stale_age: float | None,
    stale: bool,
    spark: tuple[tuple[float, float], ...],
) -> RowView:
    style = state_style(circuit.state)
    # A threshold of 0 means the backend does not count (Prometheus' resilience4j gauges
    # carry only state and failure rate): "—", never a made-up "0 / 0".
    counted = circuit.failure_threshold > 0
    since = None if circuit.last_transition_ts is None else server_now - circuit.last_transition_ts
    half_open_in = NO_DATA
    if circuit.state == "open" and circuit.last_transition_ts is not None and not stale:
        half_open_in = format_countdown(circuit.last_transition_ts + circuit.timeout_s - server_now)
    if stale:
        # The last known state stays (greyed); the countdown and the age since the transition
        # would be guesses, so the last column says how old the data is instead.
        since_text = NO_DATA
        half_open_in = stale_text(stale_age)
    else:
        since_text = NO_DATA if since is None else format_age(since, precise=False)
    texts = {
        "backend": backend,
        "circuit": circuit.name,
        "state": style.word,
        "failures": f"{circuit.failure_count} / {circuit.failure_threshold}"
        if counted
        else NO_DATA,
        "success": format_percent(circuit.success_rate),
        "requests": str(circuit.total_requests_5min) if counted else NO_DATA,
        "spark": "",
        "since": since_text,
        "half_open_in": half_open_in,
    }
    rules = (
        f"\nopens after {circuit.failure_threshold} consecutive failures, "
        f"tries again {format_age(circuit.timeout_s, False)} after opening"
        if counted
        else "\nits thresholds are not reported by this backend (resilience4j metrics)"
    )
    tooltip = (
        f"{circuit.name} on {backend}: {style.word}"
        + (" (last known; the backend is STALE)" if stale else "")
        + rules
    )
    return RowView(
        backend=backend,
        name=circuit.name,
        state=circuit.state,
        texts=texts,
        health=Health.UNKNOWN if stale else style.health,
        stale=stale,
        spark=spark,
        tooltip=tooltip,
        requests=circuit.total_requests_5min,
    )


# ------------------------------------------------------------------ glyphs


def state_glyph(state: str, colour: str, size: int = GLYPH_SIZE) -> QPixmap:
    """A shape per state, so the state reads without its colour: ● closed, ◐ half open,
    ⛔ open (round), ■ with a bar forced open (square), ○ disabled."""
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    fill = QColor(colour)
    r = size - 2
    bar_pen = QPen(QColor(theme.BACKGROUND), 2)
    if state == "closed":
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(fill)
        p.drawEllipse(1, 1, r, r)
    elif state == "half_open":
        p.setPen(QPen(fill, 1.5))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(1, 1, r, r)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(fill)
        p.drawPie(1, 1, r, r, 90 * 16, 180 * 16)
    elif state in ("open", "forced_open"):
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(fill)
        if state == "open":
            p.drawEllipse(1, 1, r, r)
        else:
            p.drawRoundedRect(1, 1, r, r, 2, 2)
        p.setPen(bar_pen)
        p.drawLine(QPointF(3.5, size / 2), QPointF(size - 3.5, size / 2))
    else:  # disabled or unknown
        p.setPen(QPen(fill, 1.5))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(2, 2, r - 2, r - 2)
    p.end()
    return pix


def blend(base: str, over: str, alpha: float) -> QColor:
    a, b = QColor(base), QColor(over)
    return QColor(
        round(a.red() + (b.red() - a.red()) * alpha),
        round(a.green() + (b.green() - a.green()) * alpha),
        round(a.blue() + (b.blue() - a.blue()) * alpha),
    )


def flash_strength(age: float) -> float:
    """0…1 brightness of a transition pulse `age` seconds after it: a quick rise, a slow fade."""
    if age < 0 or age >= FLASH_S:
        return 0.0
    if age < FLASH_RISE_S:
        return age / FLASH_RISE_S
    return 1.0 - (age - FLASH_RISE_S) / (FLASH_S - FLASH_RISE_S)


# ------------------------------------------------------------------ model

SPARK_ROLE = Qt.ItemDataRole.UserRole + 1  # (((x, y), ...), colour) for the sparkline
FILTER_ROLE = Qt.ItemDataRole.UserRole + 2  # the text "/" searches: name and state


class BreakersModel(RowTableModel):
    """Rows kept in severity order; updates emit dataChanged for the changed rows only."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[RowView] = []
        self._pos: dict[Key, int] = {}
        self._columns: tuple[Column, ...] = COLUMNS
        self._flash: dict[Key, float] = {}  # key → pulse strength now
        self.mono_font = theme.mono_font(FONT_POINTS)
        self.bold_font = QFont()
        self.bold_font.setPointSize(FONT_POINTS)
        self.bold_font.setBold(True)
        self._glyphs: dict[tuple[str, Health], QPixmap] = {}
        self.resets = 0

    # ------------------------------------------------------------ Qt model API

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row, col = self._rows[index.row()], self._columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.texts[col.key]
        if role == Qt.ItemDataRole.ForegroundRole:
            if row.stale:
                return QColor(theme.TEXT_DIM)
            return theme.colour(row.health) if col.key == "state" else None
        if role == Qt.ItemDataRole.BackgroundRole:
            strength = self._flash.get(row.key, 0.0)
            if strength <= 0.0:
                return None
            colour = theme.STATE_COLOURS[state_style(row.state).health]
            return blend(theme.SURFACE, colour, FLASH_ALPHA * strength)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return align(col)
        if role == Qt.ItemDataRole.FontRole:
            if col.numeric:
                return self.mono_font
            return self.bold_font if col.key == "state" else None
        if role == Qt.ItemDataRole.DecorationRole and col.key == "state":
            return self._glyph(row)
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.tooltip
        if role == SPARK_ROLE and col.key == "spark":
            return row.spark, theme.STATE_COLOURS[row.health]
        if role == FILTER_ROLE:
            return f"{row.name} {row.texts['state']} {row.state} {row.backend}"
        return None

    def _glyph(self, row: RowView) -> QPixmap:
        key = (row.state, row.health)
        pix = self._glyphs.get(key)
        if pix is None:
            pix = self._glyphs[key] = state_glyph(row.state, theme.STATE_COLOURS[row.health])
        return pix

    # ------------------------------------------------------------ reading

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    def column_of(self, key: str) -> int:
        return next((i for i, c in enumerate(self._columns) if c.key == key), -1)

    def row_of(self, backend: str, name: str) -> int:
        return self._pos.get((backend, name), -1)

    def row_view(self, row: int) -> RowView:
        return self._rows[row]

    def flash(self, key: Key) -> float:
        return self._flash.get(key, 0.0)

    # ------------------------------------------------------------ writing

    def reset_rows(self, rows: Sequence[RowView], show_backend: bool) -> None:
        """A new row set (circuits came or went): the rare full reset."""
        self.beginResetModel()
        self._columns = (BACKEND_COLUMN, *COLUMNS) if show_backend else COLUMNS
        self._rows = sorted(rows, key=lambda r: r.sort_key)
        self._pos = {r.key: i for i, r in enumerate(self._rows)}
        self._flash = {k: v for k, v in self._flash.items() if k in self._pos}
        self.endResetModel()
        self.resets += 1

    def update_rows(self, rows: Sequence[RowView]) -> None:
        """New views for the listed rows: dataChanged where they differ, a re-sort if needed."""
        touched: list[int] = []
        reorder = False
        for view in rows:
            i = self._pos[view.key]
            old = self._rows[i]
            if old == view:
                continue
            reorder = reorder or old.sort_key != view.sort_key
            self._rows[i] = view
            touched.append(i)
        if reorder:
            self._resort()
        else:
            self._emit_rows(touched)

    def set_flash(self, strengths: dict[Key, float]) -> None:
        """Pulse strengths now; rows whose strength moved repaint (the flash is drawn by time)."""
        moved = {k for k in strengths.keys() | self._flash.keys() if k in self._pos}
        moved = {k for k in moved if strengths.get(k, 0.0) != self._flash.get(k, 0.0)}
        self._flash = {k: v for k, v in strengths.items() if v > 0.0}
        self._emit_rows([self._pos[k] for k in moved])

    def _emit_rows(self, rows: list[int]) -> None:
        last_col = len(self._columns) - 1
        for first, last in row_runs(sorted(rows)):
            self.dataChanged.emit(self.index(first, 0), self.index(last, last_col))

    def _resort(self) -> None:
        # A layout change keeps persistent indexes: the selection follows its circuit.
        self.layoutAboutToBeChanged.emit()
        old_rows = self._rows
        self._rows = sorted(old_rows, key=lambda r: r.sort_key)
        self._pos = {r.key: i for i, r in enumerate(self._rows)}
        old = self.persistentIndexList()
        new = [self.index(self._pos[old_rows[i.row()].key], i.column()) for i in old]
        self.changePersistentIndexList(old, new)
        self.layoutChanged.emit()


class SparklineDelegate(QStyledItemDelegate):
    """Draws the error-rate step line with one QPainter polyline: no chart item per row."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        super().paint(painter, option, index)  # background, selection, flash
        spark = index.data(SPARK_ROLE)
        if not spark or not spark[0]:
            return
        shape, colour = spark
        rect = option.rect.adjusted(CELL_PADDING, 4, -CELL_PADDING, -4)
        if rect.width() < 4 or rect.height() < 4:
            return
        w, h = rect.width(), rect.height()
        x0, y0 = rect.left(), rect.bottom()
        line = QPolygonF([QPointF(x0 + x * w, y0 - y * h) for x, y in shape])
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(theme.BORDER), 1))
        painter.drawLine(QPointF(x0, y0), QPointF(x0 + w, y0))  # the zero line
        painter.setPen(QPen(QColor(colour), 1.5))
        painter.drawPolyline(line)
        painter.restore()


# ------------------------------------------------------------------ command buttons


@dataclass(frozen=True)
class CommandSpec:
    id: str
    label: str
    tooltip: str


class CommandButtons:
    """A panel's command actions, as a button row and a context menu sharing one QAction each.

    An action is enabled only when its command is registered (and enabled) and a target is
    selected; the panel never talks to a backend itself.
    """

    def __init__(
        self,
        parent: QWidget,
        registry: CommandRegistry,
        specs: Sequence[CommandSpec],
        trigger: Callable[[str], None],
    ) -> None:
        self.registry = registry
        self.specs = {s.id: s for s in specs}
        self.actions: dict[str, QAction] = {}
        self.bar = QWidget(parent)
        layout = QHBoxLayout(self.bar)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(6)
        for spec in specs:
            action = QAction(spec.label, parent)
            action.setIconText(spec.label)  # a tool button would drop the "…" (a dialog follows)
            action.setObjectName(f"action_{spec.id}")
            action.triggered.connect(lambda _=False, cid=spec.id: trigger(cid))
            self.actions[spec.id] = action
            button = QToolButton(self.bar)
            button.setObjectName(f"button_{spec.id}")
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            layout.addWidget(button)
        self.notice = QLabel(self.bar)
        self.notice.setObjectName("command_notice")
        self.notice.setStyleSheet(f"color: {theme.TEXT_DIM};")
        layout.addWidget(self.notice, 1)
        self.bar.setStyleSheet(
            f"QToolButton {{ background: {theme.SURFACE_ALT}; border: 1px solid {theme.BORDER};"
            " padding: 3px 10px; border-radius: 3px; }"
            f"QToolButton:disabled {{ color: {theme.TEXT_DIM}; }}"
            f"QToolButton:focus {{ border: 1px solid {theme.ACCENT}; }}"
        )

    def update(self, no_target: str | None, labels: dict[str, str] | None = None) -> None:
        """Enable what can run; `no_target` says why nothing can (e.g. nothing selected)."""
        for cid, action in self.actions.items():
            spec = self.specs[cid]
            if labels and cid in labels and action.text() != labels[cid]:
                action.setText(labels[cid])
                action.setIconText(labels[cid])
            available = cid in self.registry and self.registry.get(cid).is_enabled()
            if not available:
                enabled, tip = False, NOT_AVAILABLE
            elif no_target is not None:
                enabled, tip = False, no_target
            else:
                enabled, tip = True, spec.tooltip
            if action.isEnabled() != enabled:
                action.setEnabled(enabled)
            if action.toolTip() != tip:
                action.setToolTip(tip)

    def menu(self, parent: QWidget) -> QMenu:
        menu = QMenu(parent)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.setToolTipsVisible(True)  # the reason a disabled entry is disabled
        for action in self.actions.values():
            menu.addAction(action)
        return menu

    def run(self, cid: str, **kwargs: Any) -> None:
        """Run a command; an async handler's coroutine runs on the loop, its errors shown."""
        self.notice.clear()
        try:
            result = self.registry.run(cid, **kwargs)
        except CommandError as exc:
            self.notice.setText(str(exc))
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            _TASKS.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Future[Any]) -> None:
        _TASKS.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if isinstance(exc, CommandError):
            self.notice.setText(str(exc))
        elif exc is not None:
            log.error("command failed", exc_info=exc)
            self.notice.setText(f"failed: {exc}")


# Running command tasks: the loop keeps only weak references to tasks.
_TASKS: set[asyncio.Future[Any]] = set()

BREAKER_COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("breaker.force_open", "Force open…", "Reject every call to it until closed"),
    CommandSpec("breaker.close", "Close…", "Let calls through again, failure count reset"),
    CommandSpec("breaker.reset", "Reset…", "Closed, with the failure history cleared"),
)


# ------------------------------------------------------------------ the panel


class BreakersPanel(KeyedTableMixin, Panel):
    """Every circuit of every backend, worst first; a transition flashes its row."""

    panel_id = "breakers"
    title = "Circuit breakers"

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.model = BreakersModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterRole(FILTER_ROLE)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.view = _make_view(self.proxy, self)
        # For every column (the Backend column shifts the others); it draws only sparklines.
        self.view.setItemDelegate(SparklineDelegate(self.view))
        self.filter = FilterBar(self, "filter circuits by name or state")
        self.filter.attach(self.view)
        self.filter.filter_changed.connect(self._set_filter)
        self.commands = CommandButtons(self, ctx.commands, BREAKER_COMMANDS, self._run)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.filter)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.commands.bar)
        self.setFocusProxy(self.view)

        self._history: dict[Key, ErrorHistory] = {}
        self._last_state: dict[Key, str] = {}
        self._flash_start: dict[Key, float] = {}
        self._structure: tuple[bool, tuple[Key, ...]] | None = None
        self._next_due = 0.0
        self.transitions_seen = 0  # circuit transitions noticed (each one flashes its row)

        store = ctx.store
        store.circuit_changed.connect(self._circuit_changed)
        store.connection_changed.connect(self.mark_dirty)
        store.snapshot_loaded.connect(self.mark_dirty)
        self.view.selectionModel().currentRowChanged.connect(self._selection_moved)
        self.view.activated.connect(self._activated)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self._update_commands()

    @property
    def wants_tick(self) -> bool:  # type: ignore[override]
        # Ages, countdowns and flashes move without new data; each sets when it next needs a
        # frame, so an idle panel costs one comparison per scheduler tick.
        return self.ctx.clock() >= self._next_due

    # ------------------------------------------------------------ store signals

    def _circuit_changed(self, backend: str, circuit: Circuit) -> None:
        # Besides marking dirty, only O(1) bookkeeping: a transition or a rate that comes and
        # goes between two refreshes would otherwise never reach the row or its sparkline.
        key = (backend, circuit.name)
        now = self.ctx.clock()
        previous = self._last_state.get(key)
        if previous is not None and previous != circuit.state:
            self._flash_start[key] = now
            self.transitions_seen += 1
        self._last_state[key] = circuit.state
        self._history.setdefault(key, ErrorHistory()).add(circuit.success_rate)
        self.mark_dirty()

    # ------------------------------------------------------------ refresh

    def refresh(self, now: float) -> None:
        store = self.ctx.store
        wall = self.ctx.wall_clock()
        rows: list[RowView] = []
        any_open = False
        for name, state in store.backends.items():
            stale = state.link.state is not ConnectionState.LIVE
            age = store.data_age(name) if stale else None
            server_now = store.server_now(name, wall)
            for circuit in state.circuits.values():
                key = (name, circuit.name)
                history = self._history.get(key)
                spark = history.shape() if history is not None else ()
                rows.append(build_row(name, circuit, server_now, age, stale, spark))
                any_open = any_open or (circuit.state == "open" and not stale)
        keys = tuple(sorted(r.key for r in rows))
        structure = (len(store.backends) > 1, keys)
        if structure != self._structure:
            self._structure = structure
            self._forget_missing(set(keys))
            self.model.reset_rows(rows, show_backend=structure[0])
            self._size_columns()
        else:
            self.model.update_rows(rows)
        flashing = self._flash_strengths(now)
        self.model.set_flash(flashing)
        self._update_commands()
        if flashing:
            self._next_due = now  # a smooth pulse: every scheduler tick while it lasts
        elif any_open:
            self._next_due = now + TICK_FAST_S
        elif rows:
            self._next_due = now + TICK_SLOW_S
        else:
            self._next_due = float("inf")

    def _flash_strengths(self, now: float) -> dict[Key, float]:
        out: dict[Key, float] = {}
        for key, start in list(self._flash_start.items()):
            if now - start < FLASH_S:
                out[key] = flash_strength(now - start)
            else:
                del self._flash_start[key]
        return out

    def _forget_missing(self, keys: set[Key]) -> None:
        for store in (self._history, self._last_state, self._flash_start):
            for key in [k for k in store if k not in keys]:
                del store[key]

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
            header_width = text_metrics.horizontalAdvance(col.header)
            if col.key == "state":
                widest = max(bold.horizontalAdvance(s.word) for s in STATES.values())
                width = widest + GLYPH_SIZE + 8
            elif col.key == "spark":
                width = SPARK_WIDTH
            elif col.numeric:
                width = mono.horizontalAdvance(col.widest)
            else:
                self.view.resizeColumnToContents(i)
                width = self.view.columnWidth(i) - 2 * CELL_PADDING
            header.resizeSection(i, max(width, header_width) + 2 * CELL_PADDING + 6)

    # ------------------------------------------------------------ filter and selection

    def _set_filter(self, needle: str) -> None:
        self.proxy.setFilterFixedString(needle)

    def selected(self) -> Key | None:
        """(backend, circuit) of the current row, the default target of breaker commands."""
        index = self.view.currentIndex()
        if not index.isValid():
            return None
        row = self.proxy.mapToSource(index).row()
        if row < 0:
            return None
        return self.model.row_view(row).key

    def _selection_moved(self, *_: object) -> None:
        self._update_commands()

    def _activated(self, index: QModelIndex) -> None:
        # Enter selects; nothing destructive ever sits on one key.
        self.view.setCurrentIndex(index)

    # ------------------------------------------------------------ commands

    def _update_commands(self) -> None:
        self.commands.update(None if self.selected() else "select a circuit first")

    def _run(self, command_id: str) -> None:
        target = self.selected()
        if target is None:
            return
        backend, name = target
        self.commands.run(command_id, backend=backend, name=name)

    def _context_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if index.isValid():
            self.view.setCurrentIndex(index)
        self._update_commands()
        menu = self.commands.menu(self)
        menu.popup(self.view.viewport().mapToGlobal(pos))


def _make_view(model: QSortFilterProxyModel, parent: QWidget) -> QTableView:
    view = QTableView(parent)
    view.setObjectName("breakers_view")
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
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
    header.setStretchLastSection(True)
    header.setHighlightSections(False)
    header.setSectionsClickable(False)  # the order is fixed: worst first
    view.setStyleSheet(
        f"QTableView {{ border: 1px solid {theme.BORDER}; }}"
        f"QTableView:focus {{ border: 1px solid {theme.ACCENT}; }}"
        f"QTableView::item {{ padding: 0 {CELL_PADDING}px; }}"
        f"QHeaderView::section {{ padding: 3px {CELL_PADDING}px; }}"
    )
    return view

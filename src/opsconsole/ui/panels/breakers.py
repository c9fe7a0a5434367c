"""Circuit breakers (after the Hystrix dashboard): one row per circuit, worst state first."""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6.QtCore import (
    QModelIndex,
    QPoint,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QFontMetrics, QPixmap
from PySide6.QtWidgets import (
    QTableView,
    QVBoxLayout,
    QWidget,
)

from opsconsole.core.health import Health
from opsconsole.core.models import Circuit, ConnectionState

# Row building lives in core; these names are imported from here by the wall and the tests.
from opsconsole.core.rows.breakers import (
    BACKEND_COLUMN,
    COLUMNS,
    SPARK_POINTS,
    STATES,
    ErrorHistory,
    Key,
    RowView,
    build_row,
    state_style,
)
from opsconsole.ui import theme
from opsconsole.ui.commandbar import CommandButtons
from opsconsole.ui.context import UiContext
from opsconsole.ui.filterbar import FilterBar
from opsconsole.ui.flash import FLASH_ALPHA, FLASH_S, blend, flash_strength
from opsconsole.ui.keyedtable import KeyedTableMixin
from opsconsole.ui.listview import style_list_view
from opsconsole.ui.panel import Panel
from opsconsole.ui.panels.breakerdraw import (
    CELL_PADDING,
    FILTER_ROLE,
    GLYPH_SIZE,
    KEY_ROLE,
    SPARK_ROLE,
    SparklineDelegate,
    state_glyph,
)
from opsconsole.ui.statusbar import AFTER_CHANGE_S, next_age_change
from opsconsole.ui.tablemodel import Index, KeyedRowModel, align

__all__ = [
    "SPARK_POINTS",
    "SPARK_ROLE",
    "STATES",
    "BreakersModel",
    "BreakersPanel",
    "blend",
    "build_row",
    "state_style",
]

FONT_POINTS = 10
TICK_FAST_S = 0.1  # countdowns show tenths of a second
SPARK_WIDTH = 80


# ------------------------------------------------------------------ model


def changed_columns(old: RowView, new: RowView, columns: Sequence[str]) -> list[int]:
    """Indexes of the columns whose cells show something different in `new` (all of them when
    something every cell shows changed: the greying of a stale row, the tooltip)."""
    if old.stale != new.stale or old.tooltip != new.tooltip or old.backend != new.backend:
        return list(range(len(columns)))
    out = []
    for i, key in enumerate(columns):
        if old.texts.get(key) != new.texts.get(key):
            out.append(i)
        elif key == "state" and (old.health != new.health or old.state != new.state):
            out.append(i)  # its colour and glyph
        elif key == "spark" and (old.spark != new.spark or old.health != new.health):
            out.append(i)  # its line and colour
    return out


class BreakersModel(KeyedRowModel):
    """Circuit rows in severity order, each lit by its transition flash while it lasts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(COLUMNS, BACKEND_COLUMN, parent, FONT_POINTS)
        self._flash: dict[Key, float] = {}  # key → pulse strength now
        self._glyphs: dict[tuple[str, Health], QPixmap] = {}

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
            return row.filter_text
        if role == KEY_ROLE:
            return row.key
        return None

    def _glyph(self, row: RowView) -> QPixmap:
        key = (row.state, row.health)
        pix = self._glyphs.get(key)
        if pix is None:
            pix = self._glyphs[key] = state_glyph(row.state, theme.STATE_COLOURS[row.health])
        return pix

    # ------------------------------------------------------------ updates

    def changed_columns(self, old: RowView, new: RowView) -> list[int]:
        """The cells whose content changed, so an age that ticks repaints its own cell, never
        the row's sparkline."""
        return changed_columns(old, new, [c.key for c in self._columns])

    # ------------------------------------------------------------ flash

    def flash(self, key: Key) -> float:
        return self._flash.get(key, 0.0)

    def rows_reset(self) -> None:
        self._flash = {k: v for k, v in self._flash.items() if k in self._pos}

    def set_flash(self, strengths: dict[Key, float]) -> None:
        """Pulse strengths now; rows whose strength moved repaint (the flash is drawn by time)."""
        moved = {k for k in strengths.keys() | self._flash.keys() if k in self._pos}
        moved = {k for k in moved if strengths.get(k, 0.0) != self._flash.get(k, 0.0)}
        self._flash = {k: v for k, v in strengths.items() if v > 0.0}
        self.emit_rows([self._pos[k] for k in moved])


BREAKER_COMMANDS: tuple[str, ...] = ("breaker.force_open", "breaker.close", "breaker.reset")


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
        self.commands = CommandButtons(self, ctx, BREAKER_COMMANDS, self._run, "breakers panel")
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

    def next_tick(self, now: float) -> float:
        # Exactly when the next age, countdown or flash step is due, so the scheduler can
        # sleep in between (the panel's clock may be a test's: only its interval is used).
        if not self.isVisible():
            return math.inf
        if self.dirty:
            return now
        return now + max(0.0, self._next_due - self.ctx.clock())

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
        next_change = math.inf  # seconds until a shown age (STALE, Since) reads differently
        for name, state in store.backends.items():
            stale = state.link.state is not ConnectionState.LIVE
            age = store.data_age(name) if stale else None
            server_now = store.server_now(name, wall)
            if age is not None and state.circuits:
                next_change = next_age_change(age, precise=False)
            for circuit in state.circuits.values():
                key = (name, circuit.name)
                history = self._history.get(key)
                spark = history.shape() if history is not None else ()
                rows.append(build_row(name, circuit, server_now, age, stale, spark))
                any_open = any_open or (circuit.state == "open" and not stale)
                if not stale and circuit.last_transition_ts is not None:
                    since = server_now - circuit.last_transition_ts
                    next_change = min(next_change, next_age_change(since, precise=False))
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
        else:
            # At the moment the first age shown reads differently (whole seconds), not on
            # every point of the scheduler's grid: once a second, not twice.
            self._next_due = self.ctx.clock() + next_change + AFTER_CHANGE_S

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
    return style_list_view(QTableView(parent), model, name="breakers_view", context_menu=True)

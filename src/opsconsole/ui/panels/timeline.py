"""Timeline panel: what happened, newest first, from the durable timeline; `/` filters it."""

from __future__ import annotations

import bisect
import time
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import (
    QModelIndex,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from opsconsole.core.health import Health
from opsconsole.core.timeline import DEFAULT_LIMIT, TimelineEntry, TimelineFilter, TimelineStore
from opsconsole.ui import theme
from opsconsole.ui.context import UiContext
from opsconsole.ui.filterbar import FilterBar
from opsconsole.ui.panel import Panel
from opsconsole.ui.tablemodel import Index, RowTableModel

FONT_POINTS = 10
CELL_PADDING = 6  # px each side of a cell's text
MAX_NAME_WIDTH = 240  # service and backend names beyond this are elided (full name on hover)
# Rows kept while live: the newest DEFAULT_LIMIT at load, then what arrives. Older history is
# one filter away (filters query the whole database), so the list never grows without bound.
MAX_ROWS = 2000


RED = theme.STATE_COLOURS[Health.CRITICAL]
AMBER = theme.STATE_COLOURS[Health.WARNING]
GREEN = theme.STATE_COLOURS[Health.HEALTHY]
GREY = theme.STATE_COLOURS[Health.UNKNOWN]
PURPLE = theme.STATE_COLOURS[Health.FORCED]
BLUE = theme.ACCENT

# A glyph per kind, so the kind reads without colour too (and colour without reading).
GLYPHS: dict[str, str] = {
    "alert": "▲",
    "breaker": "◆",
    "cluster": "■",
    "failover": "⇄",
    "action": "▶",
    "scenario": "✱",
    "deploy": "↑",
    "connection": "○",
    "info": "·",
    "investigation": "?",
    "incident": "⚑",
    "loadtest": "≋",
}
KIND_COLOURS: dict[str, str] = {
    "alert": AMBER,
    "breaker": AMBER,
    "cluster": AMBER,
    "failover": AMBER,
    "action": BLUE,
    "scenario": PURPLE,
    "deploy": "#79c0ff",
    "connection": GREY,
    "info": GREY,
    "investigation": BLUE,
    "incident": RED,
    "loadtest": BLUE,
}
# Where a change ends decides its colour: the state it moved to.
_STATE_COLOURS = {
    "open": RED,
    "failed": RED,
    "half_open": AMBER,
    "degraded": AMBER,
    "closed": GREEN,
    "healthy": GREEN,
    "forced_open": PURPLE,
    "disabled": PURPLE,
}


def tone(entry: TimelineEntry) -> str:
    """The colour of an entry's kind: by its kind, refined by where its change ended."""
    data = entry.data
    if entry.kind == "alert":
        change = data.get("change")
        if change == "resolved":
            return GREEN
        if change == "acked":
            return BLUE
        return RED if data.get("severity") == "page" else AMBER
    if entry.kind in ("breaker", "cluster"):
        if "read_only" in data:
            return AMBER if data["read_only"] else GREEN
        return _STATE_COLOURS.get(str(data.get("to")), KIND_COLOURS[entry.kind])
    if entry.kind == "connection" and entry.message.startswith("Authentication"):
        return RED
    return KIND_COLOURS.get(entry.kind, GREY)


def format_time(ts: float, today: tuple[int, int, int]) -> str:
    """Local HH:MM:SS, with the date in front when it is not today."""
    t = time.localtime(ts)
    clock = time.strftime("%H:%M:%S", t)
    if (t.tm_year, t.tm_mon, t.tm_mday) == today:
        return clock
    return time.strftime("%Y-%m-%d ", t) + clock


def _today(wall: float) -> tuple[int, int, int]:
    t = time.localtime(wall)
    return (t.tm_year, t.tm_mon, t.tm_mday)


def _time_tooltip(ts: float) -> str:
    local = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
    millis = f"{ts % 1:.3f}"[1:]
    utc = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))
    return f"{local}{millis} {time.strftime('%Z', time.localtime(ts))}\n{utc}"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    tooltip: str


COLUMNS = {
    "time": Column("time", "Time", "When it happened (local time; date shown when not today)"),
    "kind": Column("kind", "Kind", "What kind of event"),
    "backend": Column("backend", "Backend", "Which backend reported it"),
    "service": Column("service", "Service", "Service, circuit or cluster concerned"),
    "message": Column("message", "What happened", "In plain words; hover for details"),
}


@dataclass(frozen=True)
class RowView:
    entry: TimelineEntry
    texts: dict[str, str]
    colour: str
    tooltip: str

    @property
    def key(self) -> tuple[float, int]:
        """Ascending key of the newest-first order (ts DESC, id DESC)."""
        return (-self.entry.ts, -self.entry.id)


def build_row(entry: TimelineEntry, today: tuple[int, int, int]) -> RowView:
    details = "\n".join(
        f"{k}: {v}" for k, v in entry.data.items() if v is not None and k != "change"
    )
    return RowView(
        entry=entry,
        texts={
            "time": format_time(entry.ts, today),
            "kind": f"{GLYPHS.get(entry.kind, '·')} {entry.kind}",
            "backend": entry.backend,
            "service": entry.service or "",
            "message": entry.message,
        },
        colour=tone(entry),
        tooltip=entry.message + (f"\n\n{details}" if details else ""),
    )


class TimelineModel(RowTableModel):
    """Rows newest first; new entries are inserted where their time puts them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[RowView] = []
        self._keys: list[tuple[float, int]] = []
        self._columns: tuple[Column, ...] = ()
        self.set_columns(False)
        self.mono_font = theme.mono_font(FONT_POINTS)
        self.kind_font = QFont()
        self.kind_font.setPointSize(FONT_POINTS)
        self.kind_font.setBold(True)

    def set_columns(self, show_backend: bool) -> None:
        keys = ("time", "kind", "backend", "service", "message")
        self._columns = tuple(COLUMNS[k] for k in keys if show_backend or k != "backend")

    # ------------------------------------------------------------ Qt model API

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row, col = self._rows[index.row()], self._columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.texts[col.key]
        if role == Qt.ItemDataRole.ForegroundRole:
            if col.key == "kind":
                return QColor(row.colour)
            if col.key in ("time", "backend", "service") or row.entry.kind == "info":
                return QColor(theme.TEXT_DIM)
            return None
        if role == Qt.ItemDataRole.FontRole:
            if col.key == "time":
                return self.mono_font
            return self.kind_font if col.key == "kind" else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return _time_tooltip(row.entry.ts) if col.key == "time" else row.tooltip
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        return None

    # ------------------------------------------------------------ reading

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    def column_of(self, key: str) -> int:
        return next((i for i, c in enumerate(self._columns) if c.key == key), -1)

    def row_view(self, row: int) -> RowView:
        return self._rows[row]

    def entries(self) -> list[TimelineEntry]:
        return [r.entry for r in self._rows]

    def rows(self) -> list[RowView]:
        return list(self._rows)

    def row_texts(self, row: int) -> list[str]:
        view = self._rows[row]
        return [view.texts[c.key] for c in self._columns]

    # ------------------------------------------------------------ writing

    def reset_rows(self, rows: Sequence[RowView], show_backend: bool) -> None:
        self.beginResetModel()
        self.set_columns(show_backend)
        self._rows = sorted(rows, key=lambda r: r.key)
        self._keys = [r.key for r in self._rows]
        self.endResetModel()

    def insert_rows(self, rows: Sequence[RowView]) -> int:
        """Insert new rows in time order; returns how many landed above the old first row."""
        known = set(self._keys)
        fresh = sorted((r for r in rows if r.key not in known), key=lambda r: r.key)
        if not fresh:
            return 0
        if not self._keys or fresh[-1].key < self._keys[0]:
            # The usual case: everything new is newer than what is shown, one insert at the top.
            self.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
            self._rows[:0] = fresh
            self._keys[:0] = [r.key for r in fresh]
            self.endInsertRows()
            return len(fresh)
        above = 0
        for row in fresh:
            at = bisect.bisect_left(self._keys, row.key)
            self.beginInsertRows(QModelIndex(), at, at)
            self._rows.insert(at, row)
            self._keys.insert(at, row.key)
            self.endInsertRows()
            above += at == 0
        return above

    def replace_row(self, row: RowView) -> bool:
        """Show new words for an entry already listed (a group that grew); same place.
        False when the entry is not listed (filtered out, trimmed, or not loaded yet)."""
        at = bisect.bisect_left(self._keys, row.key)
        if at == len(self._keys) or self._keys[at] != row.key:
            return False
        self._rows[at] = row
        self.dataChanged.emit(self.index(at, 0), self.index(at, len(self._columns) - 1))
        return True

    def trim(self, limit: int) -> None:
        """Drop the oldest rows beyond `limit`."""
        if len(self._rows) > limit:
            self.beginRemoveRows(QModelIndex(), limit, len(self._rows) - 1)
            del self._rows[limit:]
            del self._keys[limit:]
            self.endRemoveRows()


class _RowDelegate(QStyledItemDelegate):
    """No dotted frame around the current cell: whole rows are selected, and the highlighted
    row (with the list's focus border) already shows where the keys act."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: Index) -> None:
        super().initStyleOption(option, index)
        option.state &= ~QStyle.StateFlag.State_HasFocus


class _TimelineView(QTableView):
    """A table that moves like a list: Home/End go to the first/last entry, not the first or
    last column of the row."""

    def moveCursor(
        self, cursorAction: QAbstractItemView.CursorAction, modifiers: Qt.KeyboardModifier
    ) -> QModelIndex:
        model = self.model()
        column = max(0, self.currentIndex().column())
        if model.rowCount() and cursorAction is QAbstractItemView.CursorAction.MoveHome:
            return model.index(0, column)
        if model.rowCount() and cursorAction is QAbstractItemView.CursorAction.MoveEnd:
            return model.index(model.rowCount() - 1, column)
        return super().moveCursor(cursorAction, modifiers)


class TimelinePanel(Panel):
    """The incident's history: every alert, change, action and link event, newest first."""

    panel_id = "timeline"
    title = "Timeline"

    def __init__(
        self, ctx: UiContext, timeline: TimelineStore, parent: QWidget | None = None
    ) -> None:
        super().__init__(ctx, parent)
        self.timeline = timeline
        self.model = TimelineModel(self)
        self.view = _make_view(self.model, self)
        self.query = TimelineFilter()  # what the filter line asks for, parsed
        self._loaded_generation: int | None = None  # None: load on the next refresh
        self._today = _today(ctx.wall_clock())
        self._show_backend = False
        self._last_id = 0  # newest id read from the database (new rows have larger ids)
        # Entries rewritten in place since the last refresh (a flapping breaker's group),
        # by id: only the newest words of each matter.
        self._updated: dict[int, TimelineEntry] = {}
        self.loads = 0  # full loads from the database, for tests

        # The shared `/` line of every list panel, plus how many entries match.
        self.filter = FilterBar(self, "words, kind:alert, service:orders")
        self.filter.setToolTip(
            "Every word must appear in the message or service.\n"
            "kind:alert (or kind:alert,breaker; prefixes work) keeps those kinds.\n"
            "service:orders keeps services containing 'orders'.\n"
            "Searches the whole history, not only the rows shown. Esc clears."
        )
        self.filter.attach(self.view)
        self.filter.filter_changed.connect(self._apply_query)
        self.count_label = QLabel(self)
        self.count_label.setStyleSheet(f"color: {theme.TEXT_DIM}; padding: 2px 6px;")
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.count_label.hide()

        self.empty_label = QLabel(self)
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet(f"color: {theme.TEXT_DIM}; padding: 16px;")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        filter_row = QHBoxLayout()  # holds no space while both are hidden
        filter_row.setSpacing(0)
        filter_row.addWidget(self.filter, 1)
        filter_row.addWidget(self.count_label)
        layout.addLayout(filter_row)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.view, 1)
        self.setFocusProxy(self.view)

        # Only marks dirty: the scheduler's next tick reads the new rows.
        timeline.entry_added.connect(self.mark_dirty)
        timeline.entry_updated.connect(self._entry_updated)
        ctx.store.snapshot_loaded.connect(self._backends_may_have_changed)
        self._update_empty_state()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._size_columns()

    # ------------------------------------------------------------ scheduler

    @property
    def wants_tick(self) -> bool:  # type: ignore[override]
        # After midnight yesterday's rows need their date: one check per tick is cheap.
        return _today(self.ctx.wall_clock()) != self._today

    def _entry_updated(self, entry: TimelineEntry) -> None:
        self._updated[entry.id] = entry
        self.mark_dirty()

    def _backends_may_have_changed(self, *_: object) -> None:
        if len(self.ctx.store.backends) > 1 and not self._show_backend:
            self.mark_dirty()

    def refresh(self, now: float) -> None:
        if (
            self._loaded_generation != self.timeline.generation
            or _today(self.ctx.wall_clock()) != self._today
            or (len(self.ctx.store.backends) > 1 and not self._show_backend)
        ):
            self._load()
            return
        new = self.timeline.matching(self.query, MAX_ROWS, after_id=self._last_id)
        # Past the filtered-out ones too: nothing is appended while we read (one thread).
        self._last_id = self.timeline.last_id()
        if self._loaded_generation != self.timeline.generation:
            self._load()  # the database was replaced while reading: ids restarted
            return
        if new:
            self._insert(new)
        if self._updated:
            updated, self._updated = self._updated, {}
            for entry in updated.values():
                # A rewrite keeps the entry's time and id, so its row (if listed) stays put.
                # Its filter match is not asked again: only a count and a span change.
                self.model.replace_row(build_row(entry, self._today))

    # ------------------------------------------------------------ loading

    def _load(self) -> None:
        """Everything again from the database: the newest entries that pass the filter."""
        self._today = _today(self.ctx.wall_clock())
        generation = self.timeline.generation
        self._updated.clear()  # what is read now has the newest words
        entries = self.timeline.matching(self.query, DEFAULT_LIMIT)
        # Whatever the load left out is older or filtered out; later queries ask for newer ids.
        self._last_id = self.timeline.last_id()
        self._loaded_generation = generation if generation == self.timeline.generation else None
        backends = {e.backend for e in entries}
        self._show_backend = len(self.ctx.store.backends) > 1 or len(backends) > 1
        current = self._current_entry_id()
        self.model.reset_rows([build_row(e, self._today) for e in entries], self._show_backend)
        self.loads += 1
        self._size_columns()
        self._restore_current(current)
        self._update_empty_state()

    def _insert(self, entries: list[TimelineEntry]) -> None:
        if not self._show_backend:
            names = {e.backend for e in entries}
            if self.model.rowCount():
                names.add(self.model.row_view(0).entry.backend)
            if len(names) > 1:
                self._load()  # a second backend appeared: the Backend column comes in
                return
        bar = self.view.verticalScrollBar()
        scrolled = bar.value() > 0
        above = self.model.insert_rows([build_row(e, self._today) for e in entries])
        if scrolled and above:
            # Reading older history: keep the same lines under the reader's eyes.
            bar.setValue(bar.value() + above * self.view.verticalHeader().defaultSectionSize())
        self.model.trim(MAX_ROWS)
        self._size_columns()
        self._update_empty_state()

    def _current_entry_id(self) -> int | None:
        index = self.view.currentIndex()
        return self.model.row_view(index.row()).entry.id if index.isValid() else None

    def _restore_current(self, entry_id: int | None) -> None:
        if entry_id is None:
            return
        for row, entry in enumerate(self.model.entries()):
            if entry.id == entry_id:
                self.view.setCurrentIndex(self.model.index(row, 0))
                return

    def _size_columns(self) -> None:
        """Widths from the widest possible text, not the rows in view: nothing clips on scroll.
        The message takes the rest."""
        header = self.view.horizontalHeader()
        text_metrics = self.view.fontMetrics()
        mono = QFontMetrics(self.model.mono_font)
        bold = QFontMetrics(self.model.kind_font)
        dated = any(len(r.texts["time"]) > len("00:00:00") for r in self.model.rows())
        for i, col in enumerate(self.model.columns):
            if col.key == "message":
                continue
            if col.key == "time":
                width = mono.horizontalAdvance("2000-00-00 00:00:00" if dated else "00:00:00")
            elif col.key == "kind":
                width = max(bold.horizontalAdvance(f"{GLYPHS[k]} {k}") for k in GLYPHS)
            else:
                # In a narrow dock the message matters most: names get a fifth at most.
                cap = max(80, min(MAX_NAME_WIDTH, self.width() // 5))
                self.view.resizeColumnToContents(i)
                width = min(self.view.columnWidth(i), cap)
            width = max(width, text_metrics.horizontalAdvance(col.header) + CELL_PADDING)
            header.resizeSection(i, width + 2 * CELL_PADDING)

    def _update_empty_state(self) -> None:
        rows = self.model.rowCount()
        if self.query.empty:
            self.empty_label.setText(
                "Nothing recorded yet. Alerts, breaker and database changes, scenarios, "
                "operator actions and link changes will appear here, newest first."
            )
        else:
            query = self.filter.text().strip()
            self.empty_label.setText(f"No entries match “{query}”. Esc clears the filter.")
            more = "+" if rows >= DEFAULT_LIMIT else ""
            self.count_label.setText(f"{rows}{more} matching")
        self.count_label.setVisible(not self.query.empty)
        self.empty_label.setVisible(rows == 0)
        # Lay out now rather than on the next event: a grab or a wall-mode page switch in the
        # same tick must not show the old arrangement.
        self.layout().activate()

    # ------------------------------------------------------------ filter

    @property
    def filter_text(self) -> str:
        return self.filter.text()

    def open_filter(self) -> None:
        """`/`: show the filter line and type into it."""
        self.filter.open()

    def set_filter(self, text: str) -> None:
        """Filter the timeline (`kind:alert service:orders words`); "" shows everything."""
        if text.strip():
            self.filter.show()
        self.filter.setText(text)  # filter_changed → _apply_query

    def clear_filter(self) -> None:
        """Esc: no filter, filter line hidden, keys back to the list."""
        self.filter.close_filter()

    def _apply_query(self, text: str) -> None:
        query = TimelineFilter.parse(text)
        if query != self.query:
            self.query = query
            self._load()  # operator input: redraw now, not on the next tick

    # ------------------------------------------------------------ for tests and commands

    def rows(self) -> list[str]:
        """The texts shown, one string per row (columns joined by two spaces)."""
        return ["  ".join(self.model.row_texts(r)) for r in range(self.model.rowCount())]

    def entries(self) -> list[TimelineEntry]:
        return self.model.entries()

    def selected_entry(self) -> TimelineEntry | None:
        """The entry under the list's cursor (what `:incident star` stars), None when none."""
        index = self.view.currentIndex()
        return self.model.row_view(index.row()).entry if index.isValid() else None


def _make_view(model: TimelineModel, panel: TimelinePanel) -> QTableView:
    view = _TimelineView(panel)
    view.setModel(model)
    view.setItemDelegate(_RowDelegate(view))
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    view.setAlternatingRowColors(True)
    # The palette colours selections the same with or without focus: a border says which
    # list the arrow keys move.
    view.setStyleSheet(f"QTableView:focus {{ border: 1px solid {theme.ACCENT}; }}")
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    font = view.font()
    font.setPointSize(FONT_POINTS)
    view.setFont(font)
    vheader = view.verticalHeader()
    vheader.setVisible(False)
    vheader.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vheader.setDefaultSectionSize(view.fontMetrics().height() + 10)
    header = view.horizontalHeader()
    header.setStretchLastSection(True)  # the message takes the rest
    header.setHighlightSections(False)
    return view

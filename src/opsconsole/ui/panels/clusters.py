"""Database clusters (after `patronictl list`): state, primary, members and who may take over."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QRect, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from opsconsole.core.health import Health
from opsconsole.core.models import ConnectionState, DbCluster

# Row building lives in core; these names are imported from here by the wall and the tests.
from opsconsole.core.rows.clusters import (
    COLUMN_KEYS,
    COLUMNS,
    DIM,
    Cell,
    ClusterTrail,
    ClusterView,
    build_cluster,
    cluster_style,
    describe_episode,
    member_cells,
    ordered_members,
)
from opsconsole.ui import theme
from opsconsole.ui.commandbar import CommandButtons
from opsconsole.ui.context import UiContext
from opsconsole.ui.filterbar import FilterBar, matches
from opsconsole.ui.flash import FLASH_ALPHA, FLASH_S, blend, flash_strength
from opsconsole.ui.panel import Panel

__all__ = [
    "ClusterTrail",
    "ClustersPanel",
    "build_cluster",
    "describe_episode",
    "member_cells",
]

FONT_POINTS = 10
CELL_PADDING = 4
TICK_S = 1.0  # ages are shown in whole seconds: once a second shows each of them


def tone_colour(tone: Health | str | None, plain: str | None) -> str | None:
    """The colour of a tone: a state level's colour, the dim text, or `plain`."""
    if tone is None:
        return plain
    if tone == DIM:
        return theme.TEXT_DIM
    assert isinstance(tone, Health)
    return theme.STATE_COLOURS[tone]


def cell_colour(cell: Cell) -> str | None:
    return tone_colour(cell.tone, None)


# ------------------------------------------------------------------ tree

KIND_ROLE = Qt.ItemDataRole.UserRole + 1  # ("cluster" | "banner" | "note" | "member", key)
HEADER_ROLE = Qt.ItemDataRole.UserRole + 2  # tuple[Segment, ...] of a cluster row

# (backend, cluster, member or None); banner and note rows carry their cluster's key.
RowKey = tuple[str, str, str | None]


class HeaderDelegate(QStyledItemDelegate):
    """Paints a cluster's header line from its segments: coloured state word, READ-ONLY badge."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        segments = index.data(HEADER_ROLE)
        if not segments:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        painter.save()
        rect = option.rect.adjusted(CELL_PADDING, 0, -CELL_PADDING, 0)
        x = rect.left()
        base = QFont(option.font)
        for seg in segments:
            font = QFont(base)
            font.setBold(seg.bold)
            painter.setFont(font)
            metrics = QFontMetrics(font)
            width = metrics.horizontalAdvance(seg.text)
            if seg.badge:
                box = QRect(x, rect.top() + 3, width + 10, rect.height() - 6)
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(QColor(tone_colour(seg.tone, theme.TEXT)))
                painter.drawRoundedRect(box, 3, 3)
                painter.setPen(QColor(theme.BACKGROUND))
                painter.drawText(box, Qt.AlignmentFlag.AlignCenter, seg.text)
                width += 10
            else:
                painter.setPen(QColor(tone_colour(seg.tone, theme.TEXT)))
                target = QRect(x, rect.top(), max(0, rect.right() - x), rect.height())
                painter.drawText(target, Qt.AlignmentFlag.AlignVCenter, seg.text)
            x += width
            if x >= rect.right():
                break
        painter.restore()


class _Rows:
    """The items of the tree by key, so a refresh sets only the texts that changed."""

    def __init__(self) -> None:
        self.cluster: dict[tuple[str, str], QStandardItem] = {}
        self.banner: dict[tuple[str, str], list[QStandardItem]] = {}  # one row per line
        self.note: dict[tuple[str, str], QStandardItem] = {}
        self.member: dict[tuple[str, str, str], list[QStandardItem]] = {}


def _item(kind: str, key: RowKey) -> QStandardItem:
    item = QStandardItem()
    item.setEditable(False)
    item.setData((kind, key), KIND_ROLE)
    return item


def _set(item: QStandardItem, value: object, role: int) -> None:
    # QStandardItem emits dataChanged on every set, even of an equal value.
    if item.data(role) != value:
        item.setData(value, role)


# ------------------------------------------------------------------ the panel

CLUSTER_COMMANDS: tuple[str, ...] = ("db.switchover", "db.failover", "db.read_only", "db.pause")


class ClustersPanel(Panel):
    """Every cluster of every backend: a header line per cluster and its member table."""

    panel_id = "clusters"
    title = "Database clusters"

    #: Emitted after every refresh (tests and the wall display follow what was drawn).
    refreshed = Signal()

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels([c.header for c in COLUMNS])
        for i, col in enumerate(COLUMNS):
            self.model.setHeaderData(
                i, Qt.Orientation.Horizontal, col.tooltip, Qt.ItemDataRole.ToolTipRole
            )
        self.view = _make_view(self.model, self)
        self.view.setItemDelegateForColumn(0, HeaderDelegate(self.view))
        self.filter = FilterBar(self, "filter clusters and members")
        self.filter.attach(self.view)
        self.filter.filter_changed.connect(self.mark_dirty)
        self.commands = CommandButtons(self, ctx, CLUSTER_COMMANDS, self._run, "clusters panel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        # Said, not left as an empty table: a Prometheus or Alertmanager backend has no
        # clusters, and an operator must not wonder whether the panel is broken.
        self.empty_note = QLabel(self)
        self.empty_note.setObjectName("clusters_empty")
        self.empty_note.setWordWrap(True)
        self.empty_note.setStyleSheet(f"color: {theme.TEXT_DIM}; padding: 6px 8px;")
        self.empty_note.hide()
        layout.addWidget(self.filter)
        layout.addWidget(self.empty_note)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.commands.bar)
        self.setFocusProxy(self.view)

        self._views: dict[tuple[str, str], ClusterView] = {}
        self._trails: dict[tuple[str, str], ClusterTrail] = {}
        self._flash_start: dict[tuple[str, str], float] = {}
        self._rows = _Rows()
        self._sized = False
        self._widths: dict[int, int] = {}  # each column's width for the texts last measured
        # Each member row's cells as last put in its items: a row whose cells are the same
        # (most of them, while only an age ticks) is not walked again, role by role.
        self._applied: dict[tuple[str, str, str], dict[str, Cell]] = {}
        self._structure: object = None
        self._collapsed: set[tuple[str, str]] = set()
        self._next_due = 0.0
        self._bold = QFont(self.view.font())
        self._bold.setBold(True)

        store = ctx.store
        store.cluster_changed.connect(self._cluster_changed)
        store.connection_changed.connect(self.mark_dirty)
        store.snapshot_loaded.connect(self.mark_dirty)
        self.view.selectionModel().currentChanged.connect(self._selection_moved)
        self.view.activated.connect(self.view.setCurrentIndex)  # Enter selects, nothing more
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.view.collapsed.connect(lambda i: self._collapsed.add(self._cluster_of(i)))
        self.view.expanded.connect(lambda i: self._collapsed.discard(self._cluster_of(i)))
        self._update_commands()

    @property
    def wants_tick(self) -> bool:  # type: ignore[override]
        # Ages in the banner, the change note and STALE grow without new frames.
        return self.ctx.clock() >= self._next_due

    def next_tick(self, now: float) -> float:
        # Exactly when the ages next need words (not every point of the scheduler's grid).
        if self.dirty and self.needs_refresh():
            return now
        if not self.in_sight():
            return float("inf")
        return now + max(0.0, self._next_due - self.ctx.clock())

    # ------------------------------------------------------------ store signals

    def _cluster_changed(self, backend: str, cluster: DbCluster) -> None:
        # O(1) bookkeeping besides the dirty flag: a state passed through between two
        # refreshes (failed, then promoted, in one batch) must still be told.
        key = (backend, cluster.name)
        now = self.ctx.clock()
        if self._trails.setdefault(key, ClusterTrail()).add(cluster, now):
            self._flash_start[key] = now
        self.mark_dirty()

    # ------------------------------------------------------------ refresh

    def refresh(self, now: float) -> None:
        store = self.ctx.store
        views: dict[tuple[str, str], ClusterView] = {}
        ticking = False
        for name, state in store.backends.items():
            stale = state.link.state is not ConnectionState.LIVE
            age = store.data_age(name) if stale else None
            for cluster in state.clusters.values():
                key = (name, cluster.name)
                view = build_cluster(name, cluster, self._trails.get(key), now, stale, age)
                views[key] = view
                ticking = ticking or stale or view.banner is not None or view.note is not None
        self._views = views
        self._show_empty_note(bool(views))
        for key in [k for k in self._trails if k not in views]:
            self._trails.pop(key)
            self._flash_start.pop(key, None)
        shown = self._filtered(views)
        structure = tuple(
            (key, len(v.banners), v.note is not None, tuple(members))
            for key, (v, members) in shown.items()
        )
        rebuilt = structure != self._structure
        if rebuilt:
            self._structure = structure
            self._rebuild(shown)
        else:
            self._update(shown)
        if shown:
            self._size_columns([view for view, _ in shown.values()], rebuilt)
        flashing = self._apply_flash(now)
        self._update_commands()
        if flashing:
            self._next_due = now
        elif ticking:
            self._next_due = now + TICK_S
        else:
            self._next_due = float("inf")
        self.refreshed.emit()

    def _show_empty_note(self, any_cluster: bool) -> None:
        backends = self.ctx.store.backends
        if any_cluster or not backends:
            text = ""
        elif not any(s.link.state is ConnectionState.LIVE for s in backends.values()):
            text = "No database clusters known yet: waiting for a live backend…"
        else:
            text = "No database clusters: none of the connected backends reports any."
        if self.empty_note.text() != text:
            self.empty_note.setText(text)
            self.empty_note.setVisible(bool(text))

    def _filtered(
        self, views: dict[tuple[str, str], ClusterView]
    ) -> dict[tuple[str, str], tuple[ClusterView, list[str]]]:
        """The clusters and members the "/" filter lets through, in display order."""
        needle = self.filter.needle
        out: dict[tuple[str, str], tuple[ClusterView, list[str]]] = {}
        for key in sorted(views):
            view = views[key]
            cluster = view.cluster
            whole = matches(needle, cluster.name, view.state_word, cluster.primary or "", key[0])
            members = [
                m.name
                for m in ordered_members(cluster)
                if whole or matches(needle, m.name, m.role, m.role_words or "")
            ]
            if whole or members:
                out[key] = (view, members)
        return out

    def _rebuild(self, shown: dict[tuple[str, str], tuple[ClusterView, list[str]]]) -> None:
        """A new row set (clusters, members, banner or filter changed): rebuild the tree."""
        current = self.selected_row()
        self.model.removeRows(0, self.model.rowCount())
        self._rows = _Rows()
        self._applied.clear()  # new items: every cell to set
        root = self.model.invisibleRootItem()
        spans: list[tuple[QStandardItem, QStandardItem | None]] = []
        for (backend, name), (view, members) in shown.items():
            head = _item("cluster", (backend, name, None))
            row = [head] + [_item("cluster", (backend, name, None)) for _ in COLUMNS[1:]]
            root.appendRow(row)
            self._rows.cluster[(backend, name)] = head
            spans.append((head, None))
            banners = self._rows.banner[(backend, name)] = []
            for _line in view.banners:
                item = _item("banner", (backend, name, None))
                head.appendRow([item])
                banners.append(item)
                spans.append((item, head))
            if view.note is not None:
                item = _item("note", (backend, name, None))
                head.appendRow([item])
                self._rows.note[(backend, name)] = item
                spans.append((item, head))
            for member in members:
                items = [_item("member", (backend, name, member)) for _ in COLUMNS]
                head.appendRow(items)
                self._rows.member[(backend, name, member)] = items
        for item, parent in spans:
            parent_index = parent.index() if parent is not None else QModelIndex()
            self.view.setFirstColumnSpanned(item.row(), parent_index, True)
        self._update(shown)
        for key, head in self._rows.cluster.items():
            self.view.setExpanded(head.index(), key not in self._collapsed)
        if current is not None:
            self._restore(current)

    def _update(self, shown: dict[tuple[str, str], tuple[ClusterView, list[str]]]) -> None:
        dim = QColor(theme.TEXT_DIM)
        amber = QColor(theme.STATE_COLOURS[Health.WARNING])
        for key, (view, members) in shown.items():
            head = self._rows.cluster[key]
            _set(head, view.header, HEADER_ROLE)
            _set(head, view.header_text, Qt.ItemDataRole.DisplayRole)
            _set(head, view.tooltip, Qt.ItemDataRole.ToolTipRole)
            for banner, line in zip(self._rows.banner[key], view.banners, strict=True):
                _set(banner, line, Qt.ItemDataRole.DisplayRole)
                _set(banner, dim if "STALE" in view.state_word else amber, _FG)
            if view.note is not None:
                note = self._rows.note[key]
                _set(note, view.note, Qt.ItemDataRole.DisplayRole)
                _set(note, dim, _FG)
            for member in members:
                row_key = (*key, member)
                cells = view.members[member]
                if self._applied.get(row_key) == cells:
                    continue
                self._applied[row_key] = cells
                items = self._rows.member[row_key]
                for item, col in zip(items, COLUMN_KEYS, strict=True):
                    cell = cells[col]
                    _set(item, cell.text, Qt.ItemDataRole.DisplayRole)
                    colour = cell_colour(cell)
                    _set(item, QColor(colour) if colour else None, _FG)
                    _set(item, self._bold if cell.bold else None, Qt.ItemDataRole.FontRole)
                    _set(item, cell.tooltip, Qt.ItemDataRole.ToolTipRole)

    def _apply_flash(self, now: float) -> bool:
        flashing = False
        for key, start in list(self._flash_start.items()):
            age = now - start
            head = self._rows.cluster.get(key)
            view = self._views.get(key)
            if age >= FLASH_S or head is None or view is None:
                del self._flash_start[key]
                if head is not None:
                    _set(head, None, Qt.ItemDataRole.BackgroundRole)
                continue
            flashing = True
            colour = theme.STATE_COLOURS[cluster_style(view.cluster.state)[1]]
            strength = flash_strength(age)
            _set(head, blend(theme.SURFACE, colour, FLASH_ALPHA * strength), _BG)
        return flashing

    def _size_columns(self, views: Sequence[ClusterView], rebuilt: bool) -> None:
        """Widths from the widest text each column can show or shows: nothing clips at 800 px.

        A backend's own words (Patroni's "creating replica") can outgrow a column's `widest`,
        so the texts shown are measured too; between rebuilds a column only widens when its
        text grew, so an operator's narrower width stays until then."""
        metrics = self.view.fontMetrics()
        bold_metrics = QFontMetrics(self._bold)
        header = self.view.header()
        names = [m.name for v in views for m in v.cluster.members] or [COLUMNS[0].widest]
        for i, col in enumerate(COLUMNS[:-1]):
            if col.key == "member":
                # Bold for the primary, one level down behind the root decoration: two indents.
                content = max(bold_metrics.horizontalAdvance(n) for n in names)
                content += 2 * self.view.indentation()
            else:
                widest = (bold_metrics if col.key == "role" else metrics).horizontalAdvance(
                    col.widest
                )
                cells = [cells[col.key] for v in views for cells in v.members.values()]
                shown = (
                    (bold_metrics if c.bold else metrics).horizontalAdvance(c.text) for c in cells
                )
                content = max([widest, *shown])
            # Padding plus the style's text margins (measured: 15 px) and a little air.
            width = max(content, metrics.horizontalAdvance(col.header)) + 2 * CELL_PADDING + 10
            if not rebuilt and width <= self._widths.get(i, 0):
                continue
            self._widths[i] = width
            # Later rebuilds (a failover reorders rows) only widen: the operator's widths stay.
            header.resizeSection(i, max(width, header.sectionSize(i) if self._sized else 0))
        self._sized = True

    # ------------------------------------------------------------ reading, for tests and the wall

    def cluster_text(self, backend: str, cluster: str) -> str:
        """The header line, then the banner and the change note if shown, one per line."""
        view = self._views[(backend, cluster)]
        lines = [view.header_text]
        lines += view.banners
        lines += [view.note] if view.note is not None else []
        return "\n".join(lines)

    def cluster_state(self, backend: str, cluster: str) -> str:
        """The state word of the header: HEALTHY, DEGRADED, FAILED or STALE."""
        return self._views[(backend, cluster)].state_word

    def header_states(self, backend: str, cluster: str) -> tuple[str, ...]:
        """The states the header tells right now, oldest first (the change note's story)."""
        return self._views[(backend, cluster)].states

    def member_texts(self, backend: str, cluster: str, member: str) -> dict[str, str]:
        """Column key → text of a member row as drawn."""
        cells = self._views[(backend, cluster)].members[member]
        return {k: c.text for k, c in cells.items()}

    def member_colour(self, backend: str, cluster: str, member: str, column: str) -> str | None:
        return cell_colour(self._views[(backend, cluster)].members[member][column])

    def shown_rows(self) -> list[tuple[str, RowKey]]:
        """(kind, key) of every row in the tree, top to bottom (after the filter)."""
        out: list[tuple[str, RowKey]] = []
        for r in range(self.model.rowCount()):
            head = self.model.item(r, 0)
            out.append(head.data(KIND_ROLE))
            for c in range(head.rowCount()):
                out.append(head.child(c, 0).data(KIND_ROLE))
        return out

    # ------------------------------------------------------------ selection

    def selected_row(self) -> tuple[str, RowKey] | None:
        index = self.view.currentIndex()
        if not index.isValid():
            return None
        return index.siblingAtColumn(0).data(KIND_ROLE)

    def selected(self) -> RowKey | None:
        """(backend, cluster, member or None) of the current row: the commands' default target."""
        row = self.selected_row()
        return None if row is None else row[1]

    def select(self, backend: str, cluster: str, member: str | None = None) -> bool:
        """Make that cluster (or member) the current row; False when it is not shown."""
        if member is None:
            item = self._rows.cluster.get((backend, cluster))
        else:
            items = self._rows.member.get((backend, cluster, member))
            item = items[0] if items else None
        if item is None:
            return False
        self.view.setCurrentIndex(item.index())
        return True

    def _restore(self, row: tuple[str, RowKey]) -> None:
        kind, (backend, cluster, member) = row
        if not (kind == "member" and self.select(backend, cluster, member)):
            self.select(backend, cluster)

    def _cluster_of(self, index: QModelIndex) -> tuple[str, str]:
        _, (backend, cluster, _member) = index.siblingAtColumn(0).data(KIND_ROLE)
        return (backend, cluster)

    def _selection_moved(self, *_: object) -> None:
        self._update_commands()

    # ------------------------------------------------------------ commands

    def _target_cluster(self) -> DbCluster | None:
        target = self.selected()
        if target is None:
            return None
        view = self._views.get((target[0], target[1]))
        return None if view is None else view.cluster

    def _update_commands(self) -> None:
        cluster = self._target_cluster()
        read_only_label = "Read-only off…" if cluster is not None and cluster.read_only else None
        paused = cluster is not None and cluster.paused
        self.commands.update(
            None if cluster is not None else "select a cluster or member first",
            {"db.read_only": read_only_label or "Read-only on…", "db.pause": _pause_label(paused)},
            hidden=() if self._maintenance_known() else ("db.pause",),
        )

    def _maintenance_known(self) -> bool:
        """Whether the selected cluster's backend (or, with none selected, any backend) has a
        maintenance mode to pause: Patroni's notion, not the reference backend's."""
        target = self.selected()
        backends = self.ctx.store.backends
        states = [backends[target[0]]] if target and target[0] in backends else backends.values()
        return any(s.info is not None and s.info.can("db.pause") for s in states)

    def _run(self, command_id: str) -> None:
        target = self.selected()
        cluster = self._target_cluster()
        if target is None or cluster is None:
            return
        backend, name, member = target
        if command_id == "db.read_only":
            self.commands.run(
                command_id, backend=backend, cluster=name, enabled=not cluster.read_only
            )
            return
        if command_id == "db.pause":
            # One button for both: it says what it will do for the selected cluster.
            chosen = "db.resume" if cluster.paused else "db.pause"
            self.commands.run(chosen, backend=backend, cluster=name)
            return
        # The primary is no candidate: with it (or the cluster) selected the dialog chooses.
        if member == cluster.primary:
            member = None
        self.commands.run(command_id, backend=backend, cluster=name, member=member)

    def _context_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if index.isValid():
            self.view.setCurrentIndex(index)
        self._update_commands()
        self.commands.menu(self).popup(self.view.viewport().mapToGlobal(pos))


def _pause_label(paused: bool) -> str:
    return "Resume failover…" if paused else "Pause failover…"


_FG = Qt.ItemDataRole.ForegroundRole
_BG = Qt.ItemDataRole.BackgroundRole


def _make_view(model: QStandardItemModel, parent: QWidget) -> QTreeView:
    view = QTreeView(parent)
    view.setObjectName("clusters_view")
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    view.setUniformRowHeights(True)
    view.setAllColumnsShowFocus(True)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    view.setExpandsOnDoubleClick(False)  # double-click selects; Left/Right fold, as in any tree
    font = view.font()
    font.setPointSize(FONT_POINTS)
    view.setFont(font)
    header = view.header()
    header.setStretchLastSection(True)
    header.setHighlightSections(False)
    header.setSectionsClickable(False)
    view.setStyleSheet(
        f"QTreeView {{ border: 1px solid {theme.BORDER}; }}"
        f"QTreeView:focus {{ border: 1px solid {theme.ACCENT}; }}"
        f"QTreeView::item {{ padding: 2px {CELL_PADDING}px; }}"
        f"QHeaderView::section {{ padding: 3px {CELL_PADDING}px; }}"
    )
    return view

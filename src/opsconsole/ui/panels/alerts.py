"""Alerts of every backend: firing first, by severity, newest first; acknowledge by command."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import (
    QEvent,
    QObject,
    QPoint,
    QSortFilterProxyModel,
    Qt,
    QUrl,
)
from PySide6.QtGui import QColor, QDesktopServices, QFont, QFontMetrics
from PySide6.QtWidgets import (
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from opsconsole.core.alertsummary import (
    Breach,
    UnknownAlerts,
    breaches_without_alert,
    unknown_alerts,
)
from opsconsole.core.health import Health
from opsconsole.core.models import Alert, ConnectionState

# Row building lives in core; these names are imported from here by the wall and the tests.
from opsconsole.core.rows.alerts import (
    BACKEND_COLUMN,
    COLUMNS,
    Counts,
    HeadlineWords,
    Key,
    RowView,
    alert_links,
    build_row,
    format_value,
    headline_words,
    web_url,
)
from opsconsole.ui import theme
from opsconsole.ui.commandbar import CommandButtons
from opsconsole.ui.context import UiContext
from opsconsole.ui.filterbar import FilterBar
from opsconsole.ui.keyedtable import KeyedTableMixin
from opsconsole.ui.listview import style_list_view
from opsconsole.ui.panel import Panel, poll_time
from opsconsole.ui.rowinvestigate import RowInvestigate
from opsconsole.ui.statusbar import AFTER_CHANGE_S, next_age_change
from opsconsole.ui.steadylabel import SteadyHolder
from opsconsole.ui.tablemodel import Index, KeyedRowModel

__all__ = ["AlertsModel", "AlertsPanel", "build_row", "format_value", "headline", "open_link"]

FONT_POINTS = 10
CELL_PADDING = 4
# A LIVE backend's breaches (judged over time from its samples) are looked at this often.
AGE_TICK_S = 1.0
# Fitted to its width (a wall: nobody scrolls it), these columns go first, in this order.
FIT_DROP_ORDER = ("summary", "rule", "acked", "severity")
FIT_SUMMARY_CHARS = 16  # the summary is kept only with room for this many characters


# ------------------------------------------------------------------ the headline


@dataclass(frozen=True)
class Headline:
    """The line over the table, as rich text and as plain words (tests, tooltips)."""

    html: str
    plain: str
    tooltip: str = ""


def headline(
    counts: Counts, unknown: Sequence[UnknownAlerts], breaches: Sequence[Breach]
) -> Headline:
    """The headline's words (core) drawn in their colours: states in theirs, the rest dim."""
    words: HeadlineWords = headline_words(counts, unknown, breaches)
    dim = theme.TEXT_DIM
    parts_html: list[str] = []
    for part in words.parts:
        tag = "b" if part.bold else "span"
        colour = dim if part.tone is None else theme.STATE_COLOURS[part.tone]
        parts_html.append(f'<{tag} style="color:{colour}">{html.escape(part.text)}</{tag}>')
    separator = f' <span style="color:{dim}">·</span> '
    return Headline(separator.join(parts_html), words.plain, words.tooltip)


# ------------------------------------------------------------------ links


def open_link(url: str) -> bool:
    """Open an http(s) link in the operator's browser; anything else is refused."""
    checked = web_url(url)
    if checked is None:
        return False
    return bool(QDesktopServices.openUrl(QUrl(checked)))


# ------------------------------------------------------------------ model

FILTER_ROLE = Qt.ItemDataRole.UserRole + 1  # the text "/" searches


class AlertsModel(KeyedRowModel):
    """Alert rows in order (firing, severity, newest); colours and fonts by state."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(COLUMNS, BACKEND_COLUMN, parent, FONT_POINTS)

    # ------------------------------------------------------------ Qt model API

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row, col = self._rows[index.row()], self._columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.texts[col.key]
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._foreground(row, col.key)
        if role == Qt.ItemDataRole.FontRole:
            if col.key in ("value", "age"):
                return self.mono_font
            if col.key == "state" or (col.key == "severity" and row.firing and not row.muted):
                return self.bold_font
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.tooltip
        if role == FILTER_ROLE:
            return row.filter_text
        return None

    def _foreground(self, row: RowView, key: str) -> QColor | None:
        if row.stale or not row.firing or row.muted:
            # Resolved rows recede; stale rows cannot be vouched for: both grey.
            return QColor(theme.TEXT_DIM)
        if key in ("state", "severity"):
            return theme.colour(row.health)
        return None


# ------------------------------------------------------------------ the panel

ACK_COMMAND = "alert.ack"
ALERT_COMMANDS: tuple[str, ...] = (ACK_COMMAND,)


class AlertsPanel(KeyedTableMixin, Panel):
    """Every alert of every backend; the operator acknowledges the selected one."""

    panel_id = "alerts"
    title = "Alerts"

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.model = AlertsModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterRole(FILTER_ROLE)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.view = _make_view(self.proxy, self)
        self.summary = QLabel(self)
        self.summary.setObjectName("alerts_summary")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.filter = FilterBar(self, "filter alerts by service, rule, severity or state")
        self.filter.attach(self.view)
        self.filter.filter_changed.connect(self.proxy.setFilterFixedString)
        self.commands = CommandButtons(self, ctx, ALERT_COMMANDS, self._run, "alerts panel")
        # The selected alert's runbook and dashboard, beside what can be done about it.
        self.links = QLabel(self.commands.bar)
        self.links.setObjectName("alerts_links")
        self.links.setTextFormat(Qt.TextFormat.RichText)
        self.links.setOpenExternalLinks(False)  # opened by open_link: http(s) only
        self.links.setTextInteractionFlags(
            Qt.TextInteractionFlag.LinksAccessibleByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
        )
        self.links.linkActivated.connect(open_link)
        self.links.hide()
        self.commands.bar.layout().addWidget(self.links)
        self.link_targets: tuple[tuple[str, str], ...] = ()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        # In a holder: the headline's age ticks once a second while a backend is stale, and
        # must not re-lay out the window each time.
        layout.addWidget(SteadyHolder(self.summary, self))
        layout.addWidget(self.filter)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.commands.bar)
        self.setFocusProxy(self.view)
        # An empty table reads as "not loaded yet"; say in words that nothing is there.
        self.empty = QLabel("No alerts", self.view.viewport())
        self.empty.setObjectName("alerts_empty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet(f"color: {theme.TEXT_DIM}; background: transparent;")
        self.empty.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.view.viewport().installEventFilter(self)
        self._font_px: int | None = None  # wall mode sets a pixel size; None: FONT_POINTS
        self._fit = False  # drop columns rather than scroll sideways
        self._apply_fonts()

        self._alerts: dict[Key, Alert] = {}
        self._structure: tuple[bool, tuple[Key, ...]] | None = None
        # When (ctx.clock) the words shown next change with no news; inf: only news.
        self._due = -math.inf
        self._restoring = False  # True while a model reset puts the current row back
        self._picked: Key | None = None  # the alert whose service was last selected
        self.summary_text = ""

        store = ctx.store
        store.alert_changed.connect(self.mark_dirty)
        store.silence_changed.connect(self.mark_dirty)  # a silence's end time is shown
        store.snapshot_loaded.connect(self.mark_dirty)
        store.connection_changed.connect(self.mark_dirty)
        self.view.selectionModel().currentRowChanged.connect(self._update_commands)
        self.view.selectionModel().currentRowChanged.connect(self._alert_picked)
        self.view.activated.connect(self.view.setCurrentIndex)  # Enter selects, nothing more
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.investigate = RowInvestigate(
            self.view, ctx, "alerts panel", self._alert_service, own_menu=False
        )
        self._update_commands()

    # Ages count up, a stale backend's data ages, and a service can cross a limit with no
    # store signal this panel hears: refreshed when the first of its words changes (the next
    # whole second of an age; a LIVE backend's breaches once a second), only while in sight.
    @property
    def wants_tick(self) -> bool:  # type: ignore[override]
        return self.ctx.clock() >= self._due

    def next_tick(self, now: float) -> float:
        if self.dirty:
            return now if self.needs_refresh() else poll_time(now)
        if math.isinf(self._due) or not self.in_sight():
            return math.inf
        return now + max(0.0, self._due - self.ctx.clock())

    def _next_change(self, unknown: Sequence[UnknownAlerts], ages: list[float]) -> float:
        """Seconds until the words shown can change with no news: an alert's age (or an
        acknowledgement's), a stale backend's data age in the headline, a LIVE backend's
        breach (judged from its samples over time); inf: not before news."""
        changes = [next_age_change(a, precise=False) for a in ages]
        changes += [
            next_age_change(u.data_age_s, precise=False)
            for u in unknown
            if u.data_age_s is not None
        ]
        if ages or any(
            s.link.state is ConnectionState.LIVE and s.services
            for s in self.ctx.store.backends.values()
        ):
            changes.append(AGE_TICK_S)
        return min(changes, default=math.inf)

    # ------------------------------------------------------------ refresh

    def refresh(self, now: float) -> None:
        store = self.ctx.store
        wall = self.ctx.wall_clock()
        rows: list[RowView] = []
        alerts: dict[Key, Alert] = {}
        counts = Counts()
        unknown = unknown_alerts(store)
        unknown_names = {u.backend for u in unknown}
        ages: list[float] = []
        for name, state in store.backends.items():
            stale = name in unknown_names
            server_now = store.server_now(name, wall)
            for alert in state.alerts.values():
                alerts[(name, alert.id)] = alert
                service = state.services.get(alert.service)
                rows.append(build_row(name, alert, service, server_now, stale, state.silences))
                counts.add(alert)
                ages.append(server_now - alert.since_ts)
        self._alerts = alerts
        self._due = self.ctx.clock() + self._next_change(unknown, ages) + AFTER_CHANGE_S
        keys = tuple(sorted(r.key for r in rows))
        structure = (len(store.backends) > 1, keys)
        if structure != self._structure:
            self._structure = structure
            current = self.selected()
            self._restoring = True  # putting the operator's row back is not a new pick
            try:
                self.model.reset_rows(rows, show_backend=structure[0])
                self._size_columns()
                if current is not None:
                    self.select(*current)
            finally:
                self._restoring = False
        else:
            self.model.update_rows(rows)
        self._show_empty(not rows)
        self._show_summary(headline(counts, unknown, breaches_without_alert(store)))
        self._update_commands()

    def _show_summary(self, words: Headline) -> None:
        if words.plain != self.summary_text:
            self.summary_text = words.plain
            self.summary.setText(words.html)
            self.summary.setToolTip(words.tooltip)

    def _show_empty(self, empty: bool) -> None:
        if empty != self.empty.isVisible():
            self.empty.setVisible(empty)
        if empty:
            self.empty.setGeometry(self.view.viewport().rect())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.view.viewport() and event.type() == QEvent.Type.Resize:
            self.empty.setGeometry(self.view.viewport().rect())
            self._fit_columns()
        return super().eventFilter(watched, event)

    # ------------------------------------------------------------ sizing and fonts

    def set_font_pixel_size(self, pixels: int | None) -> None:
        """Text size in pixels (the wall sizes it from its screen); None: the desktop size."""
        self._font_px = pixels
        self._apply_fonts()
        self._size_columns()
        self.mark_dirty()

    def set_fit_to_width(self, fit: bool) -> None:
        """Never scroll sideways: hide the least needed columns when they do not all fit."""
        self._fit = fit
        self.view.setHorizontalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAlwaysOff if fit else Qt.ScrollBarPolicy.ScrollBarAsNeeded
        )
        self._fit_columns()

    def shown_columns(self) -> list[str]:
        """Keys of the columns on screen, left to right."""
        return [c.key for i, c in enumerate(self.model.columns) if not self.view.isColumnHidden(i)]

    def _fit_columns(self) -> None:
        columns = self.model.columns
        for i in range(len(columns)):
            if self.view.isColumnHidden(i):
                self.view.setColumnHidden(i, False)
        if not self._fit:
            return
        header = self.view.horizontalHeader()
        available = self.view.viewport().width()
        summary_px = QFontMetrics(self.view.font()).averageCharWidth() * FIT_SUMMARY_CHARS

        def needed() -> int:
            total = 0
            for i, col in enumerate(columns):
                if self.view.isColumnHidden(i):
                    continue
                total += summary_px if col.key == "summary" else header.sectionSize(i)
            return total

        for key in FIT_DROP_ORDER:
            if needed() <= available:
                break
            index = self.model.column_of(key)
            if index >= 0:
                self.view.setColumnHidden(index, True)

    def set_command_bar_visible(self, visible: bool) -> None:
        """The wall is read-only: no buttons, no links, no filter line."""
        self.commands.bar.setVisible(visible)
        if not visible:
            self.filter.close_filter()

    def _font(self, bold: bool = False, mono: bool = False) -> QFont:
        font = theme.mono_font(FONT_POINTS) if mono else QFont(self.view.font())
        if self._font_px is not None:
            font.setPixelSize(self._font_px)
        else:
            font.setPointSize(FONT_POINTS)
        font.setBold(bold)
        return font

    def _apply_fonts(self) -> None:
        base = QFont(self.font())
        if self._font_px is not None:
            base.setPixelSize(self._font_px)
        else:
            base.setPointSize(FONT_POINTS)
        self.view.setFont(base)
        self.view.horizontalHeader().setFont(base)
        headline = QFont(base)
        headline.setPixelSize(round(QFontMetrics(base).height() * 1.15))
        self.summary.setFont(headline)
        large = QFont(base)
        large.setPixelSize(round(QFontMetrics(base).height() * 1.6))
        self.empty.setFont(large)
        self.model.mono_font = self._font(mono=True)
        self.model.bold_font = self._font(bold=True)
        metrics = QFontMetrics(base)
        pad = max(4, metrics.height() // 3)
        self.view.verticalHeader().setDefaultSectionSize(metrics.height() + pad)
        self.summary.setContentsMargins(CELL_PADDING + 2, pad // 2, CELL_PADDING, pad // 2)

    def _size_columns(self) -> None:
        """Widths from the widest possible text, so nothing clips when values grow."""
        header = self.view.horizontalHeader()
        text = QFontMetrics(self.view.font())
        mono = QFontMetrics(self.model.mono_font)
        bold = QFontMetrics(self.model.bold_font)
        last = len(self.model.columns) - 1
        # Air between columns grows with the type: at wall sizes 8 px looks like one word.
        gap = max(8, text.height() // 2)
        for i, col in enumerate(self.model.columns):
            if i == last:
                continue  # the summary stretches
            metrics = mono if col.key in ("value", "age") else bold if col.key == "state" else text
            width = max(metrics.horizontalAdvance(col.widest), text.horizontalAdvance(col.header))
            if col.key in ("service", "backend"):
                self.view.resizeColumnToContents(i)
                width = max(width if col.key == "backend" else 0, self.view.columnWidth(i))
            header.resizeSection(i, width + 2 * CELL_PADDING + gap)
        self._fit_columns()

    # ------------------------------------------------------------ reading, for tests and the wall

    def selected(self) -> Key | None:
        """(backend, alert id) of the current row: the target of Acknowledge."""
        index = self.view.currentIndex()
        if not index.isValid():
            return None
        row = self.proxy.mapToSource(index).row()
        return None if row < 0 else self.model.row_view(row).key

    def colour(self, backend: str, alert_id: str) -> str:
        """The state colour of that row (grey when resolved or stale)."""
        row = self.model.row_of(backend, alert_id)
        if row < 0:
            raise KeyError((backend, alert_id))
        view = self.model.row_view(row)
        return theme.STATE_COLOURS[Health.UNKNOWN if view.stale else view.health]

    # ------------------------------------------------------------ commands

    def _update_commands(self, *_: object) -> None:
        target = self.selected()
        alert = self._alerts.get(target) if target is not None else None
        if target is None or alert is None:
            reason: str | None = "select an alert first"
        elif alert.acked_by:
            reason = f"already acknowledged by {alert.acked_by}"
        elif alert.silenced_by:
            reason = "already silenced"
        else:
            reason = None
        self.commands.update(reason)
        self._show_links(alert)

    def _show_links(self, alert: Alert | None) -> None:
        links = alert_links(alert) if alert is not None else ()
        if links == self.link_targets:
            return
        self.link_targets = links
        anchors = " · ".join(
            f'<a href="{html.escape(url, quote=True)}" style="color:{theme.ACCENT}">'
            f"{html.escape(label)} ↗</a>"
            for label, url in links
        )
        self.links.setText(anchors)
        self.links.setToolTip("\n".join(f"{label}: {url}" for label, url in links))
        self.links.setVisible(bool(links))

    # ------------------------------------------------------------ the alert's service

    def _alert_picked(self, *_: object) -> None:
        """The operator moved to an alert: its service is selected, and the charts go there."""
        key = self.selected()
        if self._restoring or key is None or key == self._picked:
            return
        self._picked = key
        alert = self._alerts.get(key)
        target = None if alert is None else self._service_of(key[0], alert.service)
        if target is not None:
            self.ctx.selection.select(*target, picked=True)  # the charts stay on it

    def _alert_service(self) -> str | None:
        alert = self._alerts.get(self.selected() or ("", ""))
        return None if alert is None else alert.service

    def _service_of(self, backend: str, service: str) -> tuple[str, str] | None:
        """(backend, service) that measures the alert's service: its own backend when it has
        the service, else the first that does (Alertmanager alerts, Prometheus metrics)."""
        backends = self.ctx.store.backends
        own = backends.get(backend)
        if own is not None and service in own.services:
            return backend, service
        for name, state in sorted(backends.items()):
            if service in state.services:
                return name, service
        return None

    def _run(self, command_id: str) -> None:
        target = self.selected()
        if target is None:
            return
        backend, alert_id = target
        self.commands.run(command_id, backend=backend, alert=alert_id)

    def _context_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if index.isValid():
            self.view.setCurrentIndex(index)
        self._update_commands()
        menu = self.commands.menu(self)
        self.investigate.add_to(menu)
        menu.popup(self.view.viewport().mapToGlobal(pos))


def _make_view(model: QSortFilterProxyModel, parent: QWidget) -> QTableView:
    view = style_list_view(
        QTableView(parent), model, name="alerts_view", context_menu=True, font_points=None
    )
    header = view.horizontalHeader()
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    return view

"""Alerts of every backend: firing first, by severity, newest first; acknowledge by command."""

from __future__ import annotations

import html
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

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
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from opsconsole.core.alertsummary import (
    Breach,
    UnknownAlerts,
    breaches_without_alert,
    is_muted,
    unknown_alerts,
)
from opsconsole.core.health import Health
from opsconsole.core.models import Alert, Service, Silence
from opsconsole.ui import theme
from opsconsole.ui.context import UiContext
from opsconsole.ui.filterbar import FilterBar
from opsconsole.ui.keyedtable import KeyedTableMixin
from opsconsole.ui.panel import Panel
from opsconsole.ui.panels.breakers import CommandButtons, CommandSpec
from opsconsole.ui.tablemodel import Index, RowTableModel

NO_DATA = "—"
FONT_POINTS = 10
CELL_PADDING = 4
# Ages are shown in whole seconds: one refresh a second is all a counter needs.
AGE_TICK_S = 1.0
# Fitted to its width (a wall: nobody scrolls it), these columns go first, in this order.
FIT_DROP_ORDER = ("summary", "rule", "acked", "severity")
FIT_SUMMARY_CHARS = 16  # the summary is kept only with room for this many characters

Key = tuple[str, str]  # (backend, alert id)

# Sort order of the brief: firing before resolved, then page, ticket, info.
SEVERITY_RANK: dict[str, int] = {"page": 0, "ticket": 1, "info": 2}


def state_word(alert: Alert) -> str:
    if alert.state != "firing":
        return "RESOLVED"
    if alert.silenced_by:
        return "SILENCED"
    if alert.inhibited_by:
        return "INHIBITED"
    return "FIRING"


def alert_health(alert: Alert) -> Health:
    """The state colour: page red, ticket amber; info, muted and resolved grey (with the word)."""
    if alert.state != "firing" or is_muted(alert):
        return Health.UNKNOWN
    if alert.severity == "page":
        return Health.CRITICAL
    if alert.severity == "ticket":
        return Health.WARNING
    return Health.UNKNOWN


# ------------------------------------------------------------------ words


def format_duration(seconds: float) -> str:
    """A compact, counting age: "42 s", "4 m 10 s", "2 h 05 m", "3 d 04 h"."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        minutes, secs = divmod(whole, 60)
        return f"{minutes} m {secs:02d} s"
    if whole < 86_400:
        hours, rest = divmod(whole, 3600)
        return f"{hours} h {rest // 60:02d} m"
    days, rest = divmod(whole, 86_400)
    return f"{days} d {rest // 3600:02d} h"


def _short_age(seconds: float) -> str:
    """ "12 s", "2 m", "3 h", "4 d": an ack's age needs no more precision than that."""
    whole = max(0, int(seconds))
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if whole >= size:
            return f"{whole // size} {unit}"
    return f"{whole} s"


def _pct(ratio: float) -> str:
    """3.4 %, 1 %, 0.25 %: as many decimals as the number needs, at most two."""
    value = ratio * 100
    text = f"{value:.2f}" if abs(value) < 1 else f"{value:.1f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _compare(value: float, threshold: float) -> str:
    # A resolved alert carries its value at resolution, under the limit: say so truthfully.
    return ">" if value > threshold else "≤"


def _is_memory(alert: Alert, service: Service | None) -> bool:
    """A saturation alert is about CPU or memory; the wire does not say which, so infer it."""
    if service is not None and alert.threshold is not None:
        t = service.thresholds
        if math.isclose(alert.threshold, t.memory) and not math.isclose(t.memory, t.cpu):
            return True
        if math.isclose(alert.threshold, t.cpu):
            return False
    summary = alert.summary.casefold()
    return "memory" in summary and "cpu" not in summary


def format_value(alert: Alert, service: Service | None = None) -> str:
    """Value against threshold in the rule's units: "p99 612 ms > 500 ms", "+62 % vs baseline"."""
    value, threshold = alert.value, alert.threshold
    rule = alert.rule
    if rule == "traffic":
        if value is None:
            return f"traffic {NO_DATA} vs baseline"
        sign = "+" if value >= 0 else "−"
        return f"{sign}{abs(value) * 100:.0f} % vs baseline"
    if rule == "latency":
        label, fmt = "p99", lambda v: f"{v:.0f} ms"
    elif rule == "errors":
        label, fmt = "errors", lambda v: f"{_pct(v)} %"
    elif rule == "saturation":
        label = "memory" if _is_memory(alert, service) else "CPU"
        fmt = lambda v: f"{v * 100:.0f} %"  # noqa: E731 - one of four formatters
    else:
        # A rule of another system (Alertmanager): its units are unknown, and its name has
        # its own column, so the bare value against the threshold, to 3 significant digits.
        label, fmt = "value", lambda v: f"{v:.3g}"
    if value is None:
        limit = "" if threshold is None else f" (limit {fmt(threshold)})"
        return f"{label} {NO_DATA}{limit}"
    if threshold is None:
        return f"{label} {fmt(value)}"
    return f"{label} {fmt(value)} {_compare(value, threshold)} {fmt(threshold)}"


def format_clock(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts))


def format_hm(ts: float) -> str:
    return time.strftime("%H:%M", time.localtime(ts))


def _muting(alert: Alert, silences: Mapping[str, Silence]) -> list[Silence]:
    return [s for sid in alert.silenced_by if (s := silences.get(sid)) is not None]


def _silenced_text(alert: Alert, silences: Mapping[str, Silence]) -> str:
    """ "by alice until 14:05" from the silence that mutes longest (local time, as elsewhere)."""
    known = _muting(alert, silences)
    if not known:
        return "silenced"
    longest = max(known, key=lambda s: (s.ends_ts, s.id))
    return f"by {longest.created_by or '?'} until {format_hm(longest.ends_ts)}"


def _tooltip(backend: str, alert: Alert, silences: Mapping[str, Silence], stale: bool) -> str:
    lines = [
        alert.summary or alert.rule,
        f"alert {alert.id} on {backend}",
        f"fired {format_clock(alert.since_ts)}",
    ]
    for sid in alert.silenced_by:
        s = silences.get(sid)
        if s is None:
            lines.append(f"silenced by {sid}")
            continue
        until = time.strftime("%H:%M UTC", time.gmtime(s.ends_ts))
        lines.append(
            f"silenced by {s.created_by or '?'} until {format_hm(s.ends_ts)} ({until})"
            + (f": {s.comment}" if s.comment else "")
            + f" [silence {sid}]"
        )
    if alert.inhibited_by:
        lines.append("inhibited by " + ", ".join(alert.inhibited_by))
    if alert.acked_by and not alert.silenced_by:
        lines.append(f"acknowledged by {alert.acked_by}")
    elif not alert.acked_by:
        lines.append("not acknowledged")
    if alert.labels:
        lines.append("labels: " + ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items())))
    for k, v in sorted(alert.annotations.items()):
        lines.append(f"{k}: {v}")
    if stale:
        lines.append("(last known: the backend is STALE)")
    return "\n".join(lines)


# ------------------------------------------------------------------ rows


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    tooltip: str
    widest: str = ""  # the widest text the column can show, for its width


# One meaning for every row, resolved ones included: how long ago it started firing.
AGE_TOOLTIP = (
    "Time since the alert started firing (its start time on the backend's clock), for "
    "resolved alerts too; the row's tooltip gives the clock time it fired"
)
BACKEND_COLUMN = Column("backend", "Backend", "Which backend reports this alert")
COLUMNS: tuple[Column, ...] = (
    Column(
        "state",
        "State",
        "FIRING: the rule's condition holds now · SILENCED / INHIBITED: firing, nobody is "
        "notified · RESOLVED: it ended",
        "INHIBITED",
    ),
    Column("severity", "Severity", "page: wake someone · ticket: next working day", "ticket"),
    Column("service", "Service", "The service the rule watches", "notifications"),
    Column("rule", "Rule", "Which alert rule fired", "saturation"),
    Column(
        "value",
        "Value",
        "The value that fired it, against the rule's threshold",
        "p99 8888 ms > 888 ms",
    ),
    Column("age", "Age", AGE_TOOLTIP, "88 h 88 m"),
    Column(
        "acked",
        "Acked by",
        "Who acknowledged it, and when; for a silenced alert who silenced it, and until when",
        "by operator until 88:88",
    ),
    Column("summary", "Summary", "What the backend says about it"),
)


@dataclass(frozen=True)
class RowView:
    """Everything one row shows, computed in refresh; the model only reads it."""

    backend: str
    alert_id: str
    texts: dict[str, str]
    health: Health
    firing: bool
    stale: bool
    tooltip: str
    sort_key: tuple[int, int, float, str, str]
    muted: bool = False  # silenced or inhibited: firing, but drawn grey

    @property
    def key(self) -> Key:
        return (self.backend, self.alert_id)


def build_row(
    backend: str,
    alert: Alert,
    service: Service | None,
    server_now: float,
    stale: bool,
    silences: Mapping[str, Silence] | None = None,
) -> RowView:
    silences = silences or {}
    firing = alert.state == "firing"
    muted = firing and is_muted(alert)
    age = format_duration(server_now - alert.since_ts)
    if firing and alert.silenced_by:
        acked = _silenced_text(alert, silences)
    elif not alert.acked_by:
        acked = NO_DATA
    elif alert.acked_ts is None:
        acked = alert.acked_by
    elif firing:
        acked = f"{alert.acked_by} {_short_age(server_now - alert.acked_ts)} ago"
    else:
        acked = f"{alert.acked_by} at {format_clock(alert.acked_ts)}"
    texts = {
        "backend": backend,
        "state": state_word(alert),
        "severity": alert.severity,
        "service": alert.service,
        "rule": alert.rule,
        "value": format_value(alert, service),
        "age": age,
        "acked": acked,
        "summary": alert.summary or NO_DATA,
    }
    return RowView(
        backend=backend,
        alert_id=alert.id,
        texts=texts,
        health=alert_health(alert),
        firing=firing,
        stale=stale,
        tooltip=_tooltip(backend, alert, silences, stale),
        muted=muted,
        sort_key=(
            # Firing and notifying first; muted ones are being handled; resolved last.
            (1 if muted else 0) if firing else 2,
            SEVERITY_RANK.get(alert.severity, len(SEVERITY_RANK)),
            # Newest first within a severity: a fresh page is the news; older ones are known.
            -alert.since_ts,
            alert.id,
            backend,
        ),
    )


# ------------------------------------------------------------------ the headline


@dataclass
class Counts:
    """Alerts by what they mean to the operator: loud (by severity), muted, resolved."""

    firing: dict[str, int] = field(default_factory=lambda: {"page": 0, "ticket": 0, "info": 0})
    muted: int = 0
    resolved: int = 0

    def add(self, alert: Alert) -> None:
        if alert.state != "firing":
            self.resolved += 1
        elif is_muted(alert):
            self.muted += 1  # nobody is paged for it: not counted as firing
        else:
            self.firing[alert.severity] = self.firing.get(alert.severity, 0) + 1

    @property
    def loud(self) -> int:
        return sum(self.firing.values())


@dataclass(frozen=True)
class Headline:
    """The line over the table, as rich text and as plain words (tests, tooltips)."""

    html: str
    plain: str
    tooltip: str = ""


def _unknown_words(source: UnknownAlerts) -> str:
    """ "sim STALE, data 12 s old" or "sim CONNECTING, no data yet"."""
    link = source.link.value.upper()
    if source.data_age_s is None:
        return f"{source.backend} {link}, no data yet"
    return f"{source.backend} {link}, data {format_duration(source.data_age_s)} old"


def _breach_words(breaches: Sequence[Breach]) -> str:
    n = len(breaches)
    return f"{n} service{'s' if n != 1 else ''} breaching, no alert yet"


def headline(
    counts: Counts, unknown: Sequence[UnknownAlerts], breaches: Sequence[Breach]
) -> Headline:
    """What the alerts add up to, never a green "No alert firing" unless that is known.

    Firing pages lead; a backend whose link is not LIVE makes the alerts unknown (with the
    age of what is known); services over a limit whose rule's `for` has not elapsed yet are
    said before any alert fires for them.
    """
    colours = theme.STATE_COLOURS
    grey, dim = colours[Health.UNKNOWN], theme.TEXT_DIM
    unknown_text = "; ".join(_unknown_words(u) for u in unknown)
    parts_html: list[str] = []
    parts_plain: list[str] = []

    def part(text: str, colour: str, bold: bool = False) -> None:
        tag = "b" if bold else "span"
        parts_html.append(f'<{tag} style="color:{colour}">{html.escape(text)}</{tag}>')
        parts_plain.append(text)

    breach_said = False
    if counts.loud:
        severities = ", ".join(f"{n} {sev}" for sev, n in counts.firing.items() if n)
        colour = colours[Health.CRITICAL if counts.firing.get("page") else Health.WARNING]
        part(f"{counts.loud} FIRING ({severities})", colour, bold=True)
    elif unknown:
        # The last known list may be empty or quiet: that proves nothing while stale.
        part(f"Alerts unknown — {unknown_text}", grey, bold=True)
    elif breaches:
        part(_breach_words(breaches), colours[Health.WARNING], bold=True)
        breach_said = True
    elif counts.muted:
        # Still firing, only muted: "no alert firing" in green would be a lie.
        part("Nothing firing unmuted", grey, bold=True)
    else:
        part("No alert firing", colours[Health.HEALTHY], bold=True)
    if breaches and not breach_said:
        part(_breach_words(breaches), colours[Health.WARNING], bold=True)
    if counts.muted:
        part(f"{counts.muted} silenced/inhibited", dim)
    if counts.resolved:
        part(f"{counts.resolved} resolved", dim)
    if unknown and counts.loud:
        part(f"alerts unknown — {unknown_text}", grey, bold=True)
    separator = f' <span style="color:{dim}">·</span> '
    tooltip = "\n".join(
        [f"{b.service} on {b.backend}: {b.reason}" for b in breaches]
        + ([f"alerts unknown: {unknown_text}"] if unknown else [])
    )
    return Headline(separator.join(parts_html), " · ".join(parts_plain), tooltip)


# ------------------------------------------------------------------ links


LINK_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Runbook", ("runbook",)),
    ("Dashboard", ("dashboard", "grafana")),
)


def web_url(text: str) -> str | None:
    """The text as an http(s) URL with a host, or None: nothing else is ever opened."""
    text = text.strip()
    if not text or any(c.isspace() for c in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return text


def alert_links(alert: Alert) -> tuple[tuple[str, str], ...]:
    """(label, url) of the alert's runbook and dashboard annotations, runbook first."""
    found: list[tuple[str, str]] = []
    for label, words in LINK_KINDS:
        for key, value in sorted(alert.annotations.items()):
            url = web_url(value)
            if url is None or not any(w in key.casefold() for w in words):
                continue
            if all(url != seen for _, seen in found):
                found.append((label, url))
    return tuple(found)


def open_link(url: str) -> bool:
    """Open an http(s) link in the operator's browser; anything else is refused."""
    checked = web_url(url)
    if checked is None:
        return False
    return bool(QDesktopServices.openUrl(QUrl(checked)))


# ------------------------------------------------------------------ model

FILTER_ROLE = Qt.ItemDataRole.UserRole + 1  # the text "/" searches


class AlertsModel(RowTableModel):
    """Rows kept in order; updates emit dataChanged for the rows that changed only."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[RowView] = []
        self._pos: dict[Key, int] = {}
        self._columns: tuple[Column, ...] = COLUMNS
        self.mono_font = theme.mono_font(FONT_POINTS)
        self.bold_font = QFont()
        self.bold_font.setPointSize(FONT_POINTS)
        self.bold_font.setBold(True)
        self.resets = 0

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
            t = row.texts
            words = ("state", "severity", "service", "rule", "summary", "acked")
            return " ".join([*(t[w] for w in words), *row.key])
        return None

    def _foreground(self, row: RowView, key: str) -> QColor | None:
        if row.stale or not row.firing or row.muted:
            # Resolved rows recede; stale rows cannot be vouched for: both grey.
            return QColor(theme.TEXT_DIM)
        if key in ("state", "severity"):
            return theme.colour(row.health)
        return None

    # ------------------------------------------------------------ reading

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    def column_of(self, key: str) -> int:
        return next((i for i, c in enumerate(self._columns) if c.key == key), -1)

    def row_of(self, backend: str, alert_id: str) -> int:
        return self._pos.get((backend, alert_id), -1)

    def row_view(self, row: int) -> RowView:
        return self._rows[row]

    # ------------------------------------------------------------ writing

    def reset_rows(self, rows: Sequence[RowView], show_backend: bool) -> None:
        """A new row set (alerts came or went): the rare full reset."""
        self.beginResetModel()
        self._columns = (BACKEND_COLUMN, *COLUMNS) if show_backend else COLUMNS
        self._rows = sorted(rows, key=lambda r: r.sort_key)
        self._pos = {r.key: i for i, r in enumerate(self._rows)}
        self.endResetModel()
        self.resets += 1

    def update_rows(self, rows: Sequence[RowView]) -> None:
        """New views for listed rows: dataChanged where they differ, a re-sort if needed."""
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
            return
        last_col = len(self._columns) - 1
        for i in touched:
            self.dataChanged.emit(self.index(i, 0), self.index(i, last_col))

    def _resort(self) -> None:
        # A layout change keeps persistent indexes: the selection follows its alert.
        self.layoutAboutToBeChanged.emit()
        old_rows = self._rows
        self._rows = sorted(old_rows, key=lambda r: r.sort_key)
        self._pos = {r.key: i for i, r in enumerate(self._rows)}
        old = self.persistentIndexList()
        new = [self.index(self._pos[old_rows[i.row()].key], i.column()) for i in old]
        self.changePersistentIndexList(old, new)
        self.layoutChanged.emit()


# ------------------------------------------------------------------ the panel

ACK_COMMAND = "alert.ack"
ALERT_COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(ACK_COMMAND, "Acknowledge…", "Mark the alert as being handled by you"),
)


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
        self.commands = CommandButtons(self, ctx.commands, ALERT_COMMANDS, self._run)
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
        layout.addWidget(self.summary)
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
        self._last_refresh = -math.inf
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
        self._update_commands()

    # Ages count up, a stale backend's data ages, and a service can cross a limit with no
    # store signal this panel hears: once a second (run_refresh), and only while visible.
    wants_tick = True

    def run_refresh(self, now: float) -> None:
        # Ticks without news are rate-limited to whole seconds; store signals never are.
        if not self.dirty and now - self._last_refresh < AGE_TICK_S:
            return
        self._last_refresh = now
        super().run_refresh(now)

    # ------------------------------------------------------------ refresh

    def refresh(self, now: float) -> None:
        store = self.ctx.store
        wall = self.ctx.wall_clock()
        rows: list[RowView] = []
        alerts: dict[Key, Alert] = {}
        counts = Counts()
        unknown = unknown_alerts(store)
        unknown_names = {u.backend for u in unknown}
        for name, state in store.backends.items():
            stale = name in unknown_names
            server_now = store.server_now(name, wall)
            for alert in state.alerts.values():
                alerts[(name, alert.id)] = alert
                service = state.services.get(alert.service)
                rows.append(build_row(name, alert, service, server_now, stale, state.silences))
                counts.add(alert)
        self._alerts = alerts
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
        self.commands.menu(self).popup(self.view.viewport().mapToGlobal(pos))


def _make_view(model: QSortFilterProxyModel, parent: QWidget) -> QTableView:
    view = QTableView(parent)
    view.setObjectName("alerts_view")
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
    vheader = view.verticalHeader()
    vheader.setVisible(False)
    vheader.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    header = view.horizontalHeader()
    header.setStretchLastSection(True)
    header.setHighlightSections(False)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setSectionsClickable(False)  # the order is fixed: firing, severity, newest
    view.setStyleSheet(
        f"QTableView {{ border: 1px solid {theme.BORDER}; }}"
        f"QTableView:focus {{ border: 1px solid {theme.ACCENT}; }}"
        f"QTableView::item {{ padding: 0 {CELL_PADDING}px; }}"
        f"QHeaderView::section {{ padding: 3px {CELL_PADDING}px; }}"
    )
    return view

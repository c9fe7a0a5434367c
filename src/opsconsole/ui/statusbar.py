"""Status-bar strip: each backend's link state, transport and data age, plus the DEMO badge."""

from __future__ import annotations

import html
import math
import time
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QPaintEvent, QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

from opsconsole.core.clocktext import age_text as format_age
from opsconsole.core.health import Health
from opsconsole.core.models import ConnectionState, LinkStatus, Transport
from opsconsole.core.urls import without_credentials
from opsconsole.core.words import stale_text
from opsconsole.ui import theme
from opsconsole.ui.context import UiContext
from opsconsole.ui.panel import Panel
from opsconsole.ui.steadylabel import SteadyLabel

# Ages are shown to 0.1 s at best; refreshing faster than this only burns CPU.
AGE_REFRESH_S = 0.2
# A refresh lands this long after the moment its words change (clocks read a moment apart).
AFTER_CHANGE_S = 0.005

# The operator's words for each link state, and the state colour that goes with them.
LINK_WORDS: dict[ConnectionState, tuple[str, Health]] = {
    ConnectionState.CONNECTING: ("CONNECTING", Health.UNKNOWN),
    ConnectionState.LIVE: ("LIVE", Health.HEALTHY),
    ConnectionState.STALE: ("STALE", Health.UNKNOWN),
    ConnectionState.RECONNECTING: ("RECONNECTING", Health.WARNING),
    ConnectionState.AUTH_FAILED: ("AUTH FAILED", Health.CRITICAL),
    ConnectionState.STOPPED: ("STOPPED", Health.UNKNOWN),
}
TRANSPORT_WORDS: dict[Transport, str] = {
    Transport.WEBSOCKET: "WebSocket",
    # Anything but WebSocket means a proxy or server refused it: worth the operator's notice.
    Transport.SSE: "fallback: SSE",
    Transport.POLLING: "fallback: polling",
    Transport.PROMETHEUS: "Prometheus",
    Transport.ALERTMANAGER: "Alertmanager",
    Transport.PATRONI: "Patroni",
}
INSECURE_WORD = "INSECURE"
# The states whose words carry the data's age ("data 0.4 s", "STALE 12 s", "last data 5 s ago").
LIVE_AGE_STATES = (ConnectionState.LIVE, ConnectionState.STALE, ConnectionState.RECONNECTING)


def next_age_change(age: float, precise: bool) -> float:
    """Seconds until `age_text(age, precise)` next reads differently: tenths under 10 s when
    precise, then whole seconds, minutes from an hour, hours from a day."""
    if precise and age < 10:
        step = 0.1
    elif age < 3600:
        step = 1.0
    elif age < 86_400:
        step = 60.0
    else:
        step = 3600.0
    return step - age % step


@dataclass(frozen=True)
class LinkText:
    """One backend's item: the state word (coloured) and the plain-text rest around it."""

    backend: str
    word: str
    health: Health
    rest: str  # everything after the word, e.g. " · WebSocket · data 0.2 s"
    insecure: bool = False  # TLS not verified: said before anything else about the link

    @property
    def plain(self) -> str:
        marker = f"{INSECURE_WORD} " if self.insecure else ""
        return f"● {self.backend}  {marker}{self.word}{self.rest}"

    @property
    def rich(self) -> str:
        col = theme.STATE_COLOURS[self.health]
        marker = ""
        if self.insecure:
            bad = theme.STATE_COLOURS[Health.CRITICAL]
            marker = (
                f'<b style="color:{theme.BACKGROUND}; background:{bad}">'
                f"&nbsp;{INSECURE_WORD}&nbsp;</b>&nbsp;"
            )
        return (
            f'<span style="color:{col}">●</span> <b>{html.escape(self.backend)}</b>&nbsp;&nbsp;'
            f'{marker}<b style="color:{col}">{html.escape(self.word)}</b>{html.escape(self.rest)}'
        )


def describe_link(
    backend: str,
    link: LinkStatus,
    data_age: float | None,
    now: float,
    insecure: bool = False,
) -> LinkText:
    """The words for one backend's link; `now` is on the same clock as `link.since`."""
    word, health = LINK_WORDS[link.state]
    transport = TRANSPORT_WORDS.get(link.transport) if link.transport else None
    parts: list[str] = []
    state = link.state
    if state is ConnectionState.LIVE:
        if transport:
            parts.append(transport)
        parts.append("no data yet" if data_age is None else f"data {format_age(data_age)}")
        if link.detail:
            # Live, but something is wrong (a refused query): said, not hidden in a tooltip.
            parts.append(link.detail)
    elif state is ConnectionState.STALE:
        if data_age is not None:
            word = stale_text(data_age)
        if transport:
            parts.append(transport)
        # The age already says "no data for N s"; any other reason (a timed-out query) is news.
        if link.detail and not link.detail.startswith("no data"):
            parts.append(link.detail)
    elif state is ConnectionState.RECONNECTING:
        if link.retry_in_s is not None:
            left = link.retry_in_s - (now - link.since)
            word = f"RECONNECTING in {left:.1f} s" if left >= 0.05 else "RECONNECTING now"
        if data_age is not None:
            parts.append(f"last data {format_age(data_age, precise=False)} ago")
        if link.detail and link.detail != "reconnecting":
            parts.append(link.detail)  # why: "connection refused", "Prometheus unavailable"
    elif state is ConnectionState.AUTH_FAILED:
        word = f"AUTH FAILED — {link.detail}" if link.detail else word
    rest = "".join(f" · {p}" for p in parts)
    return LinkText(backend, word, health, rest, insecure)


class _LinkLabel(SteadyLabel):
    """One backend's item; it never shrinks, so the status bar does not jitter as ages tick.

    Of fixed size (SteadyLabel: grown for wider words, never shrunk), so a new age repaints
    this label alone; a label free to change size re-laid out the status bar and the main
    window at every new text, and repainted the whole status bar a second time.

    Opaque (WA_OpaquePaintEvent; it fills its own background): a new age paints this label
    only. See-through, each one also repainted the main window, the status bar and the strip
    under it through the stylesheet, once a second while an age ticks.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.plain = ""

    def showEvent(self, event: QShowEvent) -> None:
        # Here, after polishing: the stylesheet's polish may clear the flag.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        super().showEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        # Opaque widgets get no background painted for them: the one the stylesheet gives
        # every widget (the palette's), then the label's own styled background and text.
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        painter.end()
        super().paintEvent(event)

    def show_link(self, text: LinkText, tooltip: str) -> None:
        if text.plain == self.plain:
            return
        self.plain = text.plain
        self.set_steady_text(text.rich)
        self.setToolTip(tooltip)


class BackendStatusBar(Panel):
    """Compact strip for QStatusBar.addPermanentWidget: DEMO badge, then one item per backend."""

    panel_id = "backend_status"
    title = "Backends"

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self._items: dict[str, _LinkLabel] = {}
        # Data ages and reconnect countdowns move without news: when (scheduler clock) the
        # words next change, e.g. the next whole second of a STALE age; inf: only news.
        self._due = math.inf
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(16)
        self._layout = layout
        self.demo_badge = QLabel("DEMO", self)
        self.demo_badge.setObjectName("demo_badge")
        self.demo_badge.setToolTip("Connected to the built-in demo backend: the data is simulated")
        self.demo_badge.setStyleSheet(
            f"background: {theme.ACCENT}; color: {theme.BACKGROUND}; font-weight: bold;"
            " padding: 1px 8px; border-radius: 3px;"
        )
        self.demo_badge.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.demo_badge.setVisible(ctx.demo)
        layout.addWidget(self.demo_badge)
        # Given spare width (a stretch factor in the status bar), keep the badge at the left and
        # the backends at the right, where status bars put permanent state.
        layout.addStretch(1)
        store = ctx.store
        store.connection_changed.connect(self.mark_dirty)
        store.services_changed.connect(self.mark_dirty)
        store.metrics_appended.connect(self.mark_dirty)
        store.backend_described.connect(self.mark_dirty)

    def needs_refresh(self) -> bool:
        # The scheduler's clock, as `now` in `refresh` and `next_tick`.
        return self.isVisible() and (self.dirty or time.monotonic() >= self._due)

    def next_tick(self, now: float) -> float:
        if not self.isVisible():
            return math.inf
        return now if self.dirty else self._due

    def refresh(self, now: float) -> None:
        self.demo_badge.setVisible(self.ctx.demo)
        backends = self.ctx.store.backends
        for name in [n for n in self._items if n not in backends]:
            self._items.pop(name).deleteLater()
        for name in sorted(backends):
            label = self._items.get(name)
            if label is None:
                label = self._items[name] = _LinkLabel(self)
                label.setObjectName(f"link_{name}")
                self._layout.addWidget(label)
            text, tooltip = self._describe(name)
            label.show_link(text, tooltip)
        changes = (self._next_change(name) for name in backends)
        self._due = now + max(AGE_REFRESH_S, min(changes, default=math.inf) + AFTER_CHANGE_S)

    def _next_change(self, name: str) -> float:
        """Seconds until this backend's words can change with no news (inf: not before news)."""
        link = self.ctx.store.backend(name).link
        age = self.ctx.store.data_age(name)
        state = link.state
        counting = state is ConnectionState.RECONNECTING and link.retry_in_s is not None
        if counting and self.ctx.clock() - link.since < (link.retry_in_s or 0.0):
            return AGE_REFRESH_S  # "RECONNECTING in 1.3 s" counts down in tenths
        if age is None or state not in LIVE_AGE_STATES:
            return math.inf
        return next_age_change(age, precise=state is ConnectionState.LIVE)

    def _describe(self, name: str) -> tuple[LinkText, str]:
        state = self.ctx.store.backend(name)
        age = self.ctx.store.data_age(name)
        info = state.info
        insecure = info is not None and info.insecure
        text = describe_link(name, state.link, age, self.ctx.clock(), insecure)
        lines = [f"Backend {name}: {state.link.state.value}"]
        if info is not None:
            lines.append(f"{info.kind} at {without_credentials(info.url)}")
        if insecure:
            lines.append("INSECURE: the TLS certificate is not verified (verify_tls = false)")
        if state.link.transport is not None:
            lines.append(f"Transport: {state.link.transport.value}")
        if state.link.detail:
            lines.append(f"Detail: {state.link.detail}")
        lines.append(
            "No data received yet" if age is None else f"Newest data {format_age(age)} ago"
        )
        return text, "\n".join(lines)

    def text_for(self, backend: str) -> str:
        """Plain text of that backend's item as last drawn ("" if not drawn yet)."""
        label = self._items.get(backend)
        return label.plain if label is not None else ""

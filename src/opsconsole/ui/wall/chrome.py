"""The wall's chrome around its pages: the header line and the STALE banner."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from opsconsole.core.alarms import link_words
from opsconsole.core.alertsummary import firing_pages
from opsconsole.core.health import Health
from opsconsole.core.incident import Incident
from opsconsole.core.models import ConnectionState
from opsconsole.core.words import age_text
from opsconsole.ui import theme
from opsconsole.ui.context import UiContext
from opsconsole.ui.elided import ElidedLabel
from opsconsole.ui.incidentbadge import SEVERITY_COLOURS, incident_words
from opsconsole.ui.panel import Panel
from opsconsole.ui.wall.theme import (
    BANNER_BACKGROUND,
    BANNER_TEXT,
    WALL_BACKGROUND,
    WALL_TEXT,
    WALL_TILE,
    WallTheme,
)

NOTICE_S = 6.0  # a refusal stays on the header this long
CHROME_TICK_S = 0.5  # clock and ages: whole seconds, so twice a second is enough


class WallHeader(Panel):
    """Page title, page dots and hint, hold and notices, pages firing, link and data age,
    DEMO, clock: one line across the top."""

    panel_id = "wall_header"
    title = "Wall header"
    wants_tick = True  # the clock

    def __init__(self, ctx: UiContext, wall_theme: WallTheme, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        t = wall_theme
        self._last_refresh = -math.inf
        self._notice_until = -math.inf
        rows = QVBoxLayout(self)
        rows.setContentsMargins(t.gap * 2, t.gap, t.gap * 2, t.gap)
        rows.setSpacing(t.gap // 2)
        layout = QHBoxLayout()
        layout.setSpacing(t.gap * 3)
        rows.addLayout(layout)
        self.page_title = ElidedLabel(self)
        self.page_title.setObjectName("wall_page_title")
        self.page_title.setFont(t.font(t.header_px, bold=True))
        self.dots = QLabel(self)
        self.dots.setFont(t.font(round(t.header_px * 0.7)))
        self.dots.setStyleSheet(f"color: {theme.TEXT_DIM};")
        # Someone walking up to the wall should know the arrows turn the pages.
        self.hint = QLabel("← → pages", self)
        self.hint.setObjectName("wall_hint")
        self.hint.setFont(t.font(round(t.header_px * 0.55)))
        self.hint.setStyleSheet(f"color: {theme.TEXT_DIM};")
        # Hold reason or a notice: a line of its own, shown only when there is something.
        self.status = ElidedLabel(self)
        self.status.setObjectName("wall_status")
        self.status.setFont(t.font(round(t.header_px * 0.8), bold=True))
        self.status.hide()
        self.demo = QLabel("DEMO", self)
        self.demo.setFont(t.font(round(t.header_px * 0.7), bold=True))
        self.demo.setStyleSheet(
            f"background: {theme.ACCENT}; color: {WALL_BACKGROUND}; padding: 2px 12px;"
            " border-radius: 4px;"
        )
        self.demo.setVisible(ctx.demo)
        # A backend whose TLS is not verified says so on the wall too, not only on the desk.
        self.insecure = QLabel(self)
        self.insecure.setObjectName("wall_insecure")
        self.insecure.setFont(t.font(round(t.header_px * 0.7), bold=True))
        self.insecure.setStyleSheet(
            f"background: {theme.STATE_COLOURS[Health.CRITICAL]}; color: {WALL_BACKGROUND};"
            " padding: 2px 12px; border-radius: 4px;"
        )
        self.insecure.hide()
        # Pages firing unmuted, on every page of the rotation, not only on the alerts page.
        self.firing = QLabel(self)
        self.firing.setObjectName("wall_firing")
        self.firing.setFont(t.font(round(t.header_px * 0.8), bold=True))
        self.firing.setStyleSheet(
            f"background: {theme.STATE_COLOURS[Health.CRITICAL]}; color: {WALL_TEXT};"
            " padding: 2px 12px; border-radius: 4px;"
        )
        self.firing.hide()
        # The open incident, as the status bar says it, large and in its severity's colour.
        self.incident = ElidedLabel(self)
        self.incident.setObjectName("wall_incident")
        self.incident.setFont(t.font(t.header_px, bold=True))
        self.incident.hide()
        self.link = QLabel(self)
        self.link.setObjectName("wall_link")
        self.link.setFont(t.font(round(t.header_px * 0.7), bold=True))
        self.clock = QLabel(self)
        self.clock.setObjectName("wall_clock")
        self.clock.setFont(t.font(t.header_px, bold=True, mono=True))
        for label in (
            self.page_title,
            self.dots,
            self.hint,
            self.status,
            self.firing,
            self.incident,
            self.link,
            self.demo,
            self.insecure,
            self.clock,
        ):
            label.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout.addWidget(self.page_title)
        layout.addWidget(self.dots)
        layout.addStretch(1)
        layout.addWidget(self.firing)
        layout.addWidget(self.insecure)
        layout.addWidget(self.demo)
        layout.addWidget(self.clock)
        # A second, smaller line: hold or notice on the left; the link, its data's age and
        # the arrows on the right (one line would not fit a 16:9 screen's width).
        second = QHBoxLayout()
        second.setSpacing(t.gap * 3)
        # The incident under the clock line, as large, across the whole width: beside the
        # title, pages and clock a title would be cut to nothing on a small wall.
        rows.addWidget(self.incident)
        rows.addLayout(second)
        second.addWidget(self.status, 10)
        second.addStretch(1)  # keeps the link on the right while there is no status
        second.addWidget(self.link)
        second.addWidget(self.hint)
        self.setStyleSheet(
            f"WallHeader {{ background: {WALL_TILE}; border-bottom: 2px solid {theme.BORDER}; }}"
            f"QLabel {{ color: {WALL_TEXT}; background: transparent; }}"
        )
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        #: Why the rotation holds now (None: not holding, or not rotating); set by WallMode.
        self.hold_source: Callable[[], str | None] = lambda: None
        #: The open incident (None: none); set by the console's wiring.
        self.incident_source: Callable[[], Incident | None] = lambda: None
        self._notice = ""
        self._link_health: Health | None = None

    def run_refresh(self, now: float) -> None:
        if not self.dirty and now - self._last_refresh < CHROME_TICK_S:
            return
        self._last_refresh = now
        super().run_refresh(now)

    @property
    def status_text(self) -> str:
        """The hold reason or notice as shown in full ("" when none)."""
        return self.status.full_text if self.status.isVisible() else ""

    def show_page(self, title: str, index: int, count: int) -> None:
        self.page_title.set_full_text(title)
        self.dots.setText(
            " ".join(
                f'<span style="color:{WALL_TEXT}">●</span>' if i == index else "○"
                for i in range(count)
            )
        )
        self.mark_dirty()

    def notify(self, text: str) -> None:
        """A passing message (a refused command): shown for a few seconds, never a dialog."""
        self._notice = text
        self._notice_until = self.ctx.clock() + NOTICE_S
        self.mark_dirty()
        self.refresh(self.ctx.clock())

    def refresh(self, now: float) -> None:
        self.clock.setText(time.strftime("%H:%M:%S", time.localtime(self.ctx.wall_clock())))
        if self.ctx.clock() < self._notice_until:
            colour, text = theme.STATE_COLOURS[Health.WARNING], f"✖ {self._notice}"
        elif hold := self.hold_source():
            colour, text = theme.STATE_COLOURS[Health.CRITICAL], f"❚❚ HOLD — {hold}"
        else:
            colour, text = theme.TEXT_DIM, ""
        if self.status.full_text != text:
            self.status.set_full_text(text)
            self.status.setStyleSheet(f"color: {colour};")
        if self.status.isHidden() == bool(text):
            self.status.setVisible(bool(text))
        self.demo.setVisible(self.ctx.demo)
        insecure = sorted(
            name
            for name, state in self.ctx.store.backends.items()
            if state.info is not None and state.info.insecure
        )
        words = f"INSECURE: {', '.join(insecure)}" if insecure else ""
        if self.insecure.text() != words:
            self.insecure.setText(words)
            self.insecure.setVisible(bool(words))
        self._show_incident()
        pages = firing_pages(self.ctx.store)
        firing = f"{pages} FIRING" if pages else ""
        if self.firing.text() != firing:
            self.firing.setText(firing)
            self.firing.setVisible(bool(firing))
        link, health = link_words(self.ctx.store)
        if self.link.text() != link:
            self.link.setText(link)
        if health is not self._link_health:  # a style sheet is costly: only on a change
            self._link_health = health
            self.link.setStyleSheet(f"color: {theme.STATE_COLOURS[health]};")

    @property
    def incident_text(self) -> str:
        """The incident line as shown in full ("" when none is open)."""
        return self.incident.full_text if self.incident.isVisible() else ""

    def _show_incident(self) -> None:
        incident = self.incident_source()
        words = incident_words(incident, self.ctx.wall_clock())
        if self.incident.full_text != words:
            self.incident.set_full_text(words)
            if incident is not None:
                self.incident.setStyleSheet(f"color: {SEVERITY_COLOURS[incident.severity]};")
        if self.incident.isHidden() == bool(words):
            self.incident.setVisible(bool(words))


class StaleBanner(Panel):
    """STALE in capitals at least 1/12 of the screen high, with the data's age, on every page."""

    panel_id = "wall_stale"
    title = "Stale banner"
    wants_tick = True  # the age grows without news

    def __init__(self, ctx: UiContext, wall_theme: WallTheme, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        t = wall_theme
        self._last_refresh = -math.inf
        layout = QVBoxLayout(self)
        layout.setContentsMargins(t.gap * 2, t.gap, t.gap * 2, t.gap)
        layout.setSpacing(0)
        self.headline = QLabel(self)
        self.headline.setObjectName("wall_stale_headline")
        self.headline.setFont(t.font(t.banner_px, bold=True))
        self.headline.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.headline.setWordWrap(True)
        self.detail = QLabel(self)
        self.detail.setObjectName("wall_stale_detail")
        self.detail.setFont(t.font(round(t.header_px * 0.85), bold=True))
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail.setWordWrap(True)
        layout.addWidget(self.headline)
        layout.addWidget(self.detail)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(
            f"StaleBanner {{ background: {BANNER_BACKGROUND}; }}"
            f"QLabel {{ color: {BANNER_TEXT}; background: transparent; }}"
        )
        # Preferred, not Maximum: wrapped on a narrow screen, the headline needs the height
        # its width gives it (height-for-width), more than its one-line size hint.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.hide()
        store = ctx.store
        store.connection_changed.connect(self.mark_dirty)
        store.metrics_appended.connect(self.mark_dirty)

    def needs_refresh(self) -> bool:
        # Unlike a panel, it runs while hidden (it decides to show itself), but only while
        # the wall is on screen.
        return self.window().isVisible()

    def run_refresh(self, now: float) -> None:
        if not self.dirty and now - self._last_refresh < CHROME_TICK_S:
            return
        self._last_refresh = now
        super().run_refresh(now)

    @property
    def text(self) -> str:
        """Both lines as shown ("" when hidden)."""
        if self.isHidden():
            return ""
        return f"{self.headline.text()}\n{self.detail.text()}"

    def refresh(self, now: float) -> None:
        store = self.ctx.store
        stale: list[tuple[str, float | None, str]] = []
        for name, state in sorted(store.backends.items()):
            if state.link.state is ConnectionState.LIVE:
                continue
            stale.append((name, store.data_age(name), state.link.state.value))
        if not stale:
            if not self.isHidden():
                self.hide()
            return
        ages = [age for _, age, _ in stale if age is not None]
        age = age_text(max(ages), precise=False) if ages else None
        headline = "NO DATA" if age is None else f"STALE · data {age} old"
        margins = self.layout().contentsMargins()
        room = self.window().width() - margins.left() - margins.right()
        if self.headline.fontMetrics().horizontalAdvance(headline) > room and age is not None:
            headline = f"STALE\ndata {age} old"  # a narrow screen: two lines, never mid-phrase
        detail = " · ".join(
            f"{name}: {link}"
            + ("" if age is None else f", last data {age_text(age, precise=False)} ago")
            for name, age, link in stale
        )
        if self.headline.text() != headline:
            self.headline.setText(headline)
        if self.detail.text() != detail:
            self.detail.setText(detail)
        if self.isHidden():
            self.show()

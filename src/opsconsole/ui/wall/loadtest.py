"""The wall's Load test page: the stop countdown across the room, and each criterion as a tile."""

from __future__ import annotations

import math
from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics, QKeySequence, QShortcut
from PySide6.QtWidgets import QVBoxLayout, QWidget

from opsconsole.core.durations import age_text
from opsconsole.core.health import Health
from opsconsole.core.loadtest.spec import value_text
from opsconsole.core.loadtest.view import WatchView
from opsconsole.ui import theme
from opsconsole.ui.context import UiContext
from opsconsole.ui.elided import ElidedLabel
from opsconsole.ui.panel import Panel, poll_time
from opsconsole.ui.panels.loadtest import (
    HOLD_KEY,
    STATE_HEALTH,
    banner_words,
    header_text,
    hold_or_release,
)
from opsconsole.ui.wall.theme import BANNER_TEXT, WallTheme
from opsconsole.ui.wall.tiles import Tile, TileBoard

PAGE = "loadtest"
TITLE = "Load test"


def watch_alarm(view: WatchView | None) -> str | None:
    """What holds the wall on this page: a stop counting down or held (its reason)."""
    if view is None or view.phase not in ("counting down", "held"):
        return None
    reason = view.stop_reason.words if view.stop_reason is not None else "a stop is due"
    return f"load test {view.name}: {reason}"


class CriteriaBoard(TileBoard):
    """One tile per criterion: its label, its state word in its colour, value and times."""

    panel_id = "wall_loadtest_criteria"
    title = "Load test criteria"

    def __init__(self, ctx: UiContext, wall_theme: WallTheme, parent: QWidget | None = None):
        super().__init__(ctx, wall_theme, parent)
        self.view_shown: WatchView | None = None

    def empty_text(self) -> str:
        return "No load test watched"

    def build_tiles(self) -> Iterable[Tile]:
        view = self.view_shown
        if view is None:
            return
        for cs in view.criteria:
            c = cs.criterion
            # Across a room the title must read whole: the signal's words alone ("p95",
            # "stop: error rate"), the limit on the line with the value.
            op = ">" if c.kind == "stop" else ("≤" if c.above_is_bad else "≥")
            words, _, limit = c.label.partition(f" {op} ")
            limit = limit.removesuffix(" (stop)")
            title = f"stop: {words}" if c.kind == "stop" else words
            lines = [f"{value_text(c.signal, cs.value)} ({op} {limit})"]
            if cs.state == "breaching" and cs.left_s is not None:
                lines.append(f"counts in {age_text(cs.left_s, precise=False)}")
            else:
                lines.append(f"for {age_text(max(0.0, view.judged_now - cs.since), precise=False)}")
            if cs.violation_s > 0:
                lines.append(f"in violation {age_text(cs.violation_s, precise=False)}")
            yield Tile(
                key=c.key,
                title=title,
                word=cs.state.upper(),
                health=STATE_HEALTH.get(cs.state, Health.UNKNOWN),
                lines=tuple(lines),
            )


class LoadTestWall(Panel):
    """The page: the watch's line, the countdown in letters readable across a room (with the
    stop's reason), then the criteria board. H holds the countdown (and releases it), as in
    the window: holding is the safe direction, so the read-only wall allows it."""

    panel_id = "wall_loadtest"
    title = TITLE

    def __init__(self, ctx: UiContext, wall_theme: WallTheme, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self.wall_theme = t = wall_theme
        self.view_shown: WatchView | None = None
        self.headline = ElidedLabel(self)
        self.headline.setObjectName("wall_loadtest_headline")
        self.headline.setFont(t.font(t.header_px, bold=True))
        self.countdown = ElidedLabel(self)
        self.countdown.setObjectName("wall_loadtest_countdown")
        # The STALE banner's size: capitals a twelfth of the screen high.
        self.countdown.setFont(t.font(t.banner_px, bold=True))
        self.countdown.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.reason = ElidedLabel(self)
        self.reason.setObjectName("wall_loadtest_reason")
        self.reason.setFont(t.font(t.header_px, bold=True))
        self.reason.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.board = CriteriaBoard(ctx, t, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(t.gap)
        layout.addWidget(self.headline)
        layout.addWidget(self.countdown)
        layout.addWidget(self.reason)
        layout.addWidget(self.board, 1)
        self.countdown.hide()
        self.reason.hide()
        self._style = ""
        # The wall's window has the keys (nothing on it takes the focus): a window shortcut
        # that only fires while this page is the one shown.
        self.hold_shortcut = QShortcut(QKeySequence(HOLD_KEY), self)
        self.hold_shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        self.hold_shortcut.activated.connect(self.hold_key)

    def show_view(self, view: WatchView) -> None:
        if view != self.view_shown:
            self.view_shown = view
            self.board.view_shown = view
            self.board.mark_dirty()
            self.mark_dirty()

    def hold_key(self) -> object:
        if not self.isVisible():
            return None
        return hold_or_release(self.ctx, self.view_shown, source="wall")

    def next_tick(self, now: float) -> float:
        if self.dirty and self.needs_refresh():
            return now
        view = self.view_shown
        if view is not None and view.phase == "counting down" and self.isVisible():
            return poll_time(now)
        return math.inf

    def needs_refresh(self) -> bool:
        view = self.view_shown
        counting = view is not None and view.phase == "counting down"
        return (self.dirty or counting) and self.isVisible()

    def refresh(self, now: float) -> None:
        view = self.view_shown
        if view is None:
            self.headline.set_full_text("No load test watched")
            return
        self.headline.set_full_text(header_text(view))
        words = banner_words(view, self.ctx.wall_clock())
        if words is None:
            self.countdown.hide()
            self.reason.hide()
        else:
            big, small, health = words
            # Across a room the count comes first: "Stopping Locust in 7 s" alone on the big
            # line, its key and reason on the line under it.
            big, _, key_words = big.partition(" — ")
            small = " — ".join(w for w in (small, key_words) if w)
            self._fit(big)
            style = f"background: {theme.STATE_COLOURS[health]}; color: {BANNER_TEXT};"
            if style != self._style:
                self._style = style
                self.countdown.setStyleSheet(style)
                self.reason.setStyleSheet(style)
            self.countdown.set_full_text(big)
            self.reason.set_full_text(small)
            self.countdown.show()
            self.reason.setVisible(bool(small))
        self.board.run_refresh(now)

    def _fit(self, text: str) -> None:
        """The big line as large as the STALE banner, smaller only if it would not fit."""
        t = self.wall_theme
        room = max(1, self.width() - 2 * t.gap)
        px = t.banner_px
        font = t.font(px, bold=True)
        while px > t.header_px and QFontMetrics(font).horizontalAdvance(text) > room:
            px = max(t.header_px, int(px * 0.9))
            font = t.font(px, bold=True)
        if font != self.countdown.font():
            self.countdown.setFont(font)

    def countdown_text(self) -> str:
        """The big line's words ("" while there is none), for tests."""
        return self.countdown.full_text if self.countdown.isVisibleTo(self) else ""

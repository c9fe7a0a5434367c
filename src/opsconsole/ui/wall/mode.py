"""Wall mode's controller: enters and leaves the wall, turns its pages and holds on an incident."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QApplication, QWidget

from opsconsole.core.alarms import (
    alerts_alarm,
    breakers_alarm,
    budgets_alarm,
    clusters_alarm,
    service_alarm,
    services_alarm,
    worst_service,
)
from opsconsole.core.commands import Command, CommandRegistry
from opsconsole.ui.context import UiContext
from opsconsole.ui.panel import Panel
from opsconsole.ui.repaint import RepaintScheduler
from opsconsole.ui.wall.guard import ReadOnlyGuard
from opsconsole.ui.wall.pages import PAGE_TITLES, PAGES, make_page
from opsconsole.ui.wall.theme import WallTheme
from opsconsole.ui.wall.window import WallWindow

log = logging.getLogger(__name__)

# A page keeps holding this long after its critical state was last seen: one noisy sample
# under the limit, or a breaker's half-open trial, must not rotate the incident off screen.
HOLD_GRACE_S = 5.0


class WallHost(Protocol):
    """What the wall needs of the console window (MainWindow has all of it)."""

    ctx: UiContext
    scheduler: RepaintScheduler

    def isVisible(self) -> bool: ...
    def hide(self) -> None: ...
    def show(self) -> None: ...
    def close(self) -> bool: ...
    def windowState(self) -> Qt.WindowState: ...
    def setWindowState(self, state: Qt.WindowState) -> None: ...


class WallMode(QObject):
    """Turns a console into a wall display and back: `enter()`, `leave()`, `active`.

    The wall is its own frameless top-level on the chosen screen; the main window is hidden
    while it shows (its docks, menus and shortcuts stay as they were, and none of its keys
    reach the wall). Pages are wall-owned views over the same store, sized for the screen;
    `panels` may supply the widget of a page instead: it is reparented into the wall for
    good, so pass a widget made for it, never a docked panel of the window.
    """

    entered = Signal()
    left = Signal()
    page_changed = Signal(str)

    def __init__(
        self,
        window: WallHost,
        *,
        screen: int | None = None,
        rotate_s: float | None = None,
        lock: bool = False,
        pages: Sequence[str] | None = None,
        panels: Mapping[str, QWidget] | None = None,
    ) -> None:
        super().__init__(window if isinstance(window, QObject) else None)
        self.window = window
        self.ctx: UiContext = window.ctx
        self.screen_index = screen
        self.rotate_s = rotate_s if rotate_s and rotate_s > 0 else None
        self.lock = lock
        chosen = tuple(pages) if pages else PAGES
        unknown = [p for p in chosen if p not in PAGE_TITLES]
        if unknown:
            raise ValueError(f"unknown wall pages {unknown}; expected some of {list(PAGES)}")
        self._pages = chosen
        self._supplied = dict(panels or {})
        self._index = 0
        self._active = False
        self.view: WallWindow | None = None
        self.wall_theme: WallTheme | None = None
        self.guard_handle: ReadOnlyGuard | None = None
        self._window_state = Qt.WindowState.WindowNoState
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._rotate)
        self.rotation_ticks = 0  # rotation intervals elapsed (held ones included), for tests
        self._last_alarm: dict[str, tuple[str, float]] = {}
        self._alarms: dict[str, Callable[[], str | None]] = {
            "services": lambda: services_alarm(self.ctx.store),
            "overview": lambda: services_alarm(self.ctx.store),
            "signals": self._signals_alarm,
            "breakers": lambda: breakers_alarm(self.ctx.store),
            "clusters": lambda: clusters_alarm(self.ctx.store),
            "alerts": lambda: alerts_alarm(self.ctx.store),
            "budgets": lambda: budgets_alarm(self.ctx.store),
        }
        closed = getattr(window, "closed", None)
        if closed is not None:
            closed.connect(self._window_closed)

    # ------------------------------------------------------------ read-only

    @staticmethod
    def is_allowed(command: Command) -> bool:
        """False for every command that changes anything outside the console."""
        return ReadOnlyGuard.is_allowed(command)

    @staticmethod
    def guard(
        registry: CommandRegistry, on_refused: Callable[[str], None] | None = None
    ) -> ReadOnlyGuard:
        """Refuse every mutating command of `registry` from now on; `.release()` undoes it."""
        return ReadOnlyGuard(registry, on_refused).install()

    # ------------------------------------------------------------ state

    @property
    def active(self) -> bool:
        return self._active

    @property
    def pages(self) -> tuple[str, ...]:
        return self._pages

    @property
    def current_page(self) -> str:
        return self._pages[self._index]

    @property
    def hold_reason(self) -> str | None:
        """Why the current page holds the rotation (its critical state), or None.

        A critical state seen within the last HOLD_GRACE_S still holds, so a flickering
        signal does not let the rotation slip away from the incident.
        """
        page = self.current_page
        reason = self.page_alarm(page)
        now = self.ctx.clock()
        if reason is not None:
            self._last_alarm[page] = (reason, now)
            return reason
        seen = self._last_alarm.get(page)
        if seen is not None and now - seen[1] < HOLD_GRACE_S:
            return seen[0]
        return None

    @property
    def holding(self) -> bool:
        return self.hold_reason is not None

    def page_alarm(self, page: str) -> str | None:
        """The critical state a page shows (from the live store), or None."""
        alarm = self._alarms.get(page)  # a load test page shown before its watch: none
        return alarm() if alarm is not None else None

    def page_widget(self, page: str) -> QWidget:
        view = self._build()
        return view.pages[page]

    def screen(self) -> QScreen:
        screens = QGuiApplication.screens()
        if self.screen_index is None:
            return QGuiApplication.primaryScreen()
        if 0 <= self.screen_index < len(screens):
            return screens[self.screen_index]
        log.warning(
            "wall: no screen %d (there are %d); using the primary screen",
            self.screen_index,
            len(screens),
        )
        return QGuiApplication.primaryScreen()

    # ------------------------------------------------------------ enter and leave

    def enter(self) -> None:
        if self._active:
            return
        view = self._build()
        self._active = True
        self.guard_handle = ReadOnlyGuard(self.ctx.commands, view.header.notify).install()
        self._window_state = self.window.windowState()
        QApplication.setOverrideCursor(Qt.CursorShape.BlankCursor)
        screen = self.screen()
        view.setScreen(screen)
        view.setGeometry(screen.geometry())
        view.showFullScreen()
        view.raise_()
        view.activateWindow()
        view.setFocus(Qt.FocusReason.OtherFocusReason)
        self.window.hide()
        self.show_page(self.current_page)
        self.entered.emit()

    def leave(self) -> None:
        """Back to the console window (Esc does this only without `lock`)."""
        if not self._active:
            return
        self._teardown()
        self.window.setWindowState(self._window_state)
        self.window.show()
        self.left.emit()

    def _teardown(self) -> None:
        self._active = False
        self._timer.stop()
        if self.guard_handle is not None:
            self.guard_handle.release()
            self.guard_handle = None
        QApplication.restoreOverrideCursor()
        if self.view is not None:
            self.view.hide()

    def _window_closed(self) -> None:
        # The console is quitting: put everything back, without showing anything.
        if self._active:
            self._teardown()

    def _escape(self) -> None:
        if self.lock:
            return
        self.leave()

    def _wall_closed(self) -> None:
        # Closed by the window manager: an unlocked wall goes back to the console; a locked
        # one quits the console rather than leave it unattended behind a closed wall.
        if not self._active:
            return
        if self.lock:
            self._teardown()
            self.window.close()
        else:
            self.leave()

    # ------------------------------------------------------------ pages

    def add_page(self, page: str, widget: QWidget, alarm: Callable[[], str | None]) -> None:
        """A page that joins the playlist while the wall runs (a load test's watch); `alarm`
        holds the rotation on it like the other pages' critical states."""
        self._alarms[page] = alarm
        if page in self._pages:
            return
        view = self._build()
        self._pages = (*self._pages, page)
        view.add_page(page, widget)
        if isinstance(widget, Panel):
            self.window.scheduler.add([widget])

    def next_page(self) -> str:
        """The rotation step: hold on a page showing a critical state, else the next page."""
        if self.hold_reason is None and len(self._pages) > 1:
            self._go((self._index + 1) % len(self._pages))
        return self.current_page

    def _rotate(self) -> None:
        self.rotation_ticks += 1
        self.next_page()

    def show_page(self, page: str) -> None:
        """Show a page now (keys, tests), and start its rotation interval afresh."""
        self._go(self._pages.index(page))

    def step(self, delta: int) -> None:
        self._go((self._index + delta) % len(self._pages))

    def _go(self, index: int) -> None:
        self._index = index
        page = self.current_page
        if self.view is not None:
            if page == "signals":
                self._select_worst()
            self.view.show_page(page)
            self.view.header.show_page(self._page_title(page), index, len(self._pages))
            # The page should be up to date now, not at the next repaint tick.
            widget = self.view.pages[page]
            if isinstance(widget, Panel):
                widget.run_refresh(time.monotonic())
        if self._active and self.rotate_s is not None:
            self._timer.start(round(self.rotate_s * 1000))
        self.page_changed.emit(page)

    def _page_title(self, page: str) -> str:
        title = PAGE_TITLES[page]
        sel = self.ctx.selection
        if page == "signals" and sel.service is not None:
            title = f"{title} — {sel.service}"
        return title

    def _select_worst(self) -> None:
        worst = worst_service(self.ctx.store)
        if worst is not None:
            # The wall follows the worst service: showing it is no operator's pick.
            self.ctx.selection.select(*worst, picked=False)

    def _signals_alarm(self) -> str | None:
        sel = self.ctx.selection
        return service_alarm(self.ctx.store, sel.backend, sel.service)

    # ------------------------------------------------------------ building

    def _build(self) -> WallWindow:
        if self.view is not None:
            return self.view
        t = self.wall_theme = WallTheme.for_screen(self.screen())
        view = self.view = WallWindow(self.ctx, t)
        made: list[Panel] = [view.header, view.banner]
        for page in self._pages:
            widget = self._supplied.get(page) or make_page(self.ctx, page, t)
            view.add_page(page, widget)
            if isinstance(widget, Panel) and page not in self._supplied:
                made.append(widget)
        # The window's one repaint timer drives the wall too; hidden, its pages cost nothing.
        self.window.scheduler.add(made)
        view.header.hold_source = lambda: self.hold_reason if self.rotate_s else None
        view.escape_pressed.connect(self._escape)
        view.step_pressed.connect(self.step)
        view.close_requested.connect(self._wall_closed)
        return view

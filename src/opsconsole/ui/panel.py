"""Base of every docked panel: dirty flag, visibility, and one refresh entry for the scheduler."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QPaintEvent, QShowEvent
from PySide6.QtWidgets import QAbstractItemView, QDockWidget, QStyle, QStyleOption, QWidget

from opsconsole.ui.context import UiContext
from opsconsole.ui.filterbar import FilterBar

#: How often a time-driven panel (ages, countdowns) that does not say when it next needs a
#: refresh is asked again while nothing is owed: ages are shown in whole seconds at most, so
#: one shows at most half a second late. Every such panel is asked on the same grid of this
#: period (`poll_time`), so they wake the loop, refresh and paint together, not in turns.
TIME_POLL_S = 0.5


def poll_time(now: float, period: float = TIME_POLL_S) -> float:
    """The next point after `now` of the grid all time-driven panels share."""
    return (math.floor(now / period) + 1) * period


class Panel(QWidget):
    """A view over the store. Store signals only mark it dirty; `refresh` does the drawing.

    The repaint scheduler calls `refresh(now)` at most ~25 times a second, and only when the
    panel is dirty (or `wants_tick` for age counters) and visible, so a burst of frames costs
    one redraw and hidden docks cost nothing. Between news the scheduler sleeps until the
    earliest `next_tick` of its panels, or for good when none has one: an idle console idles.
    """

    #: Unique, stable: used as the dock's objectName so saved layouts find it again.
    panel_id: str = "panel"
    title: str = "Panel"
    #: Panels showing ages (STALE 12 s) need a refresh every tick even without new data.
    wants_tick: bool = False

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._dirty = True
        self._wired = False  # focus proxy and filter hook, set on first show
        #: Set by the scheduler that refreshes this panel: news wakes it if it sleeps.
        self.on_dirty: Callable[[], None] | None = None
        self.setObjectName(self.panel_id)

    def mark_dirty(self, *_: object) -> None:
        self._dirty = True
        if self.on_dirty is not None:
            self.on_dirty()

    @property
    def dirty(self) -> bool:
        return self._dirty

    def needs_refresh(self) -> bool:
        return (self._dirty or self.wants_tick) and self.in_sight()

    def in_sight(self) -> bool:
        """Shown and not all behind another dock's tab (a tabbed-away dock still says visible;
        coming forward marks it dirty). Its children are asked too: opaque ones cover it."""
        if not self.isVisible():
            return False
        if self.width() <= 0 or self.height() <= 0 or not self.visibleRegion().isEmpty():
            return True  # (not laid out yet: refreshed as before, never left owing)
        return any(
            not child.visibleRegion().isEmpty()
            for child in self.findChildren(
                QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly
            )
        )

    def next_tick(self, now: float) -> float:
        """When (scheduler time, like `now`) this panel next needs a refresh if no news comes;
        inf: only when marked dirty. The scheduler sleeps until the earliest of its panels'.

        Dirty and due: the next frame. A panel whose refreshes are also driven by time (it
        sets `wants_tick` or overrides `needs_refresh`) is asked again at the next point of
        the shared TIME_POLL_S grid while it is in sight or owed a refresh; it overrides this
        to say precisely when.
        """
        if self._dirty and self.needs_refresh():
            return now
        cls = type(self)
        timed = cls.wants_tick is not Panel.wants_tick or (
            cls.needs_refresh is not Panel.needs_refresh
        )
        if timed and (self._dirty or self.in_sight()):
            return poll_time(now)
        return math.inf

    def run_refresh(self, now: float) -> None:
        """Called by the scheduler: clears the dirty flag, then redraws."""
        self._dirty = False
        self.refresh(now)

    def refresh(self, now: float) -> None:
        """Bring the widgets up to date with the store. Subclasses override."""

    def catch_up(self) -> None:
        """Refresh now rather than at the next tick (the operator is about to act on it)."""
        if self.needs_refresh():
            self.run_refresh(time.monotonic())

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self.testAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent):
            return
        # What the stylesheet gives a widget for a background (the palette's first, in case
        # no stylesheet is applied); Qt clips the painter to the region being repainted.
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        option = QStyleOption()
        option.initFrom(self)
        self.style().drawPrimitive(QStyle.PrimitiveElement.PE_Widget, option, painter, self)
        painter.end()

    def main_list(self) -> QAbstractItemView | None:
        """The list the panel's keys belong to (`self.view` by convention), if it has one."""
        view = getattr(self, "view", None)
        return view if isinstance(view, QAbstractItemView) else None

    def showEvent(self, event: QShowEvent) -> None:
        # Docked, the panel paints its own background: Qt then repaints nothing under it when a
        # child's text changes. Otherwise (the stylesheet leaves item views' viewports and
        # labels see-through) each age that ticks repainted the dock's title bar (its icons
        # loaded anew every time) and the main window's background under the changed cell.
        # Elsewhere (the status bar, the wall) a panel stays see-through, as its parent's
        # colour shows through it there.
        self.setAttribute(
            Qt.WidgetAttribute.WA_OpaquePaintEvent, isinstance(self.parentWidget(), QDockWidget)
        )
        # On show, not in __init__: the subclass has built its widgets by then, and a hidden
        # dock raised by Alt+N is shown before it takes the focus. From then on focusing the
        # panel puts the keys in its list, so `/`, the arrows and Enter work there, whether or
        # not the subclass set a focus proxy itself. (Not `event()`: a Python override there
        # would run for every event the panel gets.)
        if not self._wired:
            self._wired = True
            view = self.main_list()
            if view is not None and self.focusProxy() is None:
                self.setFocusProxy(view)
            for bar in self.findChildren(FilterBar):
                # A filter applied at the next refresh would hand back a stale list.
                bar.before_handing_back = self.catch_up
        super().showEvent(event)

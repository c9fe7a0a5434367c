"""Base of every docked panel: dirty flag, visibility, and one refresh entry for the scheduler."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from opsconsole.ui.context import UiContext


class Panel(QWidget):
    """A view over the store. Store signals only mark it dirty; `refresh` does the drawing.

    The repaint scheduler calls `refresh(now)` at most ~25 times a second, and only when the
    panel is dirty (or `wants_tick` for age counters) and visible, so a burst of frames costs
    one redraw and hidden docks cost nothing.
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
        self.setObjectName(self.panel_id)

    def mark_dirty(self, *_: object) -> None:
        self._dirty = True

    @property
    def dirty(self) -> bool:
        return self._dirty

    def needs_refresh(self) -> bool:
        return (self._dirty or self.wants_tick) and self.isVisible()

    def run_refresh(self, now: float) -> None:
        """Called by the scheduler: clears the dirty flag, then redraws."""
        self._dirty = False
        self.refresh(now)

    def refresh(self, now: float) -> None:
        """Bring the widgets up to date with the store. Subclasses override."""

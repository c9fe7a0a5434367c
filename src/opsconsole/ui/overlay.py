"""A frame over the main window (palette, command line, key help): non-modal, not a new window."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QEvent, QObject, QRect, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QFrame, QWidget

from opsconsole.ui import theme

# Keys an open overlay keeps for itself even when a window shortcut (wall mode's Esc, a user's
# binding on Return) would otherwise take them first.
OWN_KEYS = frozenset(
    {
        Qt.Key.Key_Escape,
        Qt.Key.Key_Return,
        Qt.Key.Key_Enter,
        Qt.Key.Key_Up,
        Qt.Key.Key_Down,
        Qt.Key.Key_PageUp,
        Qt.Key.Key_PageDown,
        Qt.Key.Key_Tab,
        Qt.Key.Key_Backtab,
    }
)


class Overlay(QFrame):
    """A child of the host window, raised above the docks; it hands focus back when it closes.

    A child rather than a dialog: no window-manager focus dance, it moves with the window,
    it never blocks the event loop, and the window's own shortcuts keep working under it.
    """

    closed = Signal()

    def __init__(self, host: QWidget, object_name: str) -> None:
        super().__init__(host)
        self.host = host
        self.setObjectName(object_name)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setStyleSheet(
            f"#{object_name} {{ background: {theme.SURFACE}; border: 1px solid {theme.ACCENT};"
            " border-radius: 4px; }"
        )
        self._return_focus: QWidget | None = None
        self.hide()
        host.installEventFilter(self)

    # ------------------------------------------------------------ placement

    def placement(self, area: QRect) -> QRect:
        """Where the overlay sits inside the host's free area. Subclasses override."""
        return area

    def host_area(self) -> QRect:
        """The host's area below its menu bar and above its status bar."""
        rect = self.host.rect()
        top, bottom = rect.top(), rect.bottom()
        menu = getattr(self.host, "menuBar", None)
        if callable(menu) and menu().isVisible():
            top = menu().geometry().bottom() + 1
        status = getattr(self.host, "statusBar", None)
        if callable(status) and status().isVisible():
            bottom = status().geometry().top() - 1
        return QRect(rect.left(), top, rect.width(), max(0, bottom - top + 1))

    def place(self) -> None:
        self.setGeometry(self.placement(self.host_area()))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.host and event.type() == QEvent.Type.Resize and self.isVisible():
            self.place()
        return False

    # ------------------------------------------------------------ open / close

    def focus_target(self) -> QWidget:
        """The widget that takes the keys while the overlay is open."""
        return self

    def open_overlay(self) -> None:
        focused = QApplication.focusWidget()
        if focused is not None and not self.isAncestorOf(focused) and focused is not self:
            self._return_focus = focused
        self.place()
        self.show()
        self.raise_()
        self.focus_target().setFocus(Qt.FocusReason.ShortcutFocusReason)

    def close_overlay(self) -> None:
        if not self.isVisible():
            return
        had_focus = self.isAncestorOf(QApplication.focusWidget() or self) or self.hasFocus()
        self.hide()
        back = self._return_focus
        self._return_focus = None
        # Give the keys back to where the operator was, if it still exists and can take them.
        if had_focus and back is not None and shiboken6.isValid(back) and back.isVisible():
            back.setFocus(Qt.FocusReason.OtherFocusReason)
        self.closed.emit()


def claim_shortcut_override(event: QEvent) -> bool:
    """Accept a ShortcutOverride for a key the overlay answers itself; True when claimed."""
    if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if event.key() in OWN_KEYS and mods in (
            Qt.KeyboardModifier.NoModifier,
            Qt.KeyboardModifier.ShiftModifier,
        ):
            event.accept()
            return True
    return False

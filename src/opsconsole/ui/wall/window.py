"""The wall's window: a frameless top-level holding the header, the banner and the pages."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import QLayout, QStackedWidget, QVBoxLayout, QWidget

from opsconsole.ui import theme
from opsconsole.ui.context import UiContext
from opsconsole.ui.panel import Panel
from opsconsole.ui.wall.chrome import StaleBanner, WallHeader
from opsconsole.ui.wall.theme import WALL_BACKGROUND, WALL_TEXT, WALL_TILE, WallTheme


class WallWindow(QWidget):
    """The wall itself: a frameless top-level with the header, the banner and the pages."""

    escape_pressed = Signal()
    step_pressed = Signal(int)  # -1 / +1: previous / next page
    close_requested = Signal()

    def __init__(self, ctx: UiContext, wall_theme: WallTheme) -> None:
        super().__init__(None, Qt.WindowType.Window | Qt.WindowType.FramelessWindowHint)
        self.setObjectName("wall_window")
        self.setWindowTitle("opsconsole — wall")
        self.wall_theme = wall_theme
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        # Its own colours, whatever the application's theme: tables included.
        self.setStyleSheet(
            f"#wall_window {{ background: {WALL_BACKGROUND}; }}"
            f"#wall_window QLabel {{ color: {WALL_TEXT}; }}"
            f"#wall_window QTableView {{ background: {WALL_TILE}; color: {WALL_TEXT};"
            f" alternate-background-color: {theme.SURFACE_ALT}; border: none; }}"
            f"#wall_window QHeaderView::section {{ background: {theme.SURFACE_ALT};"
            f" color: {theme.TEXT_DIM}; border: none; border-bottom: 2px solid {theme.BORDER}; }}"
        )
        layout = QVBoxLayout(self)
        # The screen sets the size: no child's minimum may grow the wall past its edges.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.header = WallHeader(ctx, wall_theme, self)
        self.banner = StaleBanner(ctx, wall_theme, self)
        self.stack = QStackedWidget(self)
        self.stack.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout.addWidget(self.header)
        layout.addWidget(self.banner)
        layout.addWidget(self.stack, 1)
        self.pages: dict[str, QWidget] = {}

    def add_page(self, name: str, widget: QWidget) -> None:
        frame = QWidget(self.stack)
        frame.setObjectName(f"wall_page_{name}")
        inner = QVBoxLayout(frame)
        gap = self.wall_theme.gap
        inner.setContentsMargins(gap, gap, gap, gap)
        inner.addWidget(widget)
        self.stack.addWidget(frame)
        self.pages[name] = widget
        # Nothing on the wall takes the keyboard: Esc and the arrows must reach the window.
        for child in (widget, *widget.findChildren(QWidget)):
            child.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def show_page(self, name: str) -> None:
        widget = self.pages[name]
        self.stack.setCurrentWidget(widget.parentWidget())
        if isinstance(widget, Panel):
            widget.mark_dirty()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Escape:
            self.escape_pressed.emit()
        elif key in (Qt.Key.Key_Right, Qt.Key.Key_PageDown, Qt.Key.Key_Space):
            self.step_pressed.emit(1)
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_PageUp):
            self.step_pressed.emit(-1)
        else:
            super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.close_requested.emit()
        super().closeEvent(event)

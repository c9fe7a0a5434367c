"""`--wall --layout NAME`: the docked window itself on the wall, fullscreen and read-only."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow

from opsconsole.core.commands import CommandRegistry
from opsconsole.ui.wall.guard import ReadOnlyGuard


class LayoutWall(QObject):
    """A saved layout instead of rotating pages: no chrome, no cursor, nothing that acts."""

    entered = Signal()
    left = Signal()

    def __init__(
        self,
        window: QMainWindow,
        registry: CommandRegistry,
        *,
        screen: int | None = None,
        lock: bool = False,
    ) -> None:
        super().__init__(window)
        self.window, self.registry, self.screen_index, self.lock = window, registry, screen, lock
        self.active = False
        self._guard: ReadOnlyGuard | None = None
        self._features: dict[QDockWidget, QDockWidget.DockWidgetFeature] = {}
        self._escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), window)
        self._escape.setEnabled(False)
        self._escape.activated.connect(self._esc)

    def enter(self) -> None:
        if self.active:
            return
        self.active = True
        window = self.window
        self._guard = ReadOnlyGuard(
            self.registry, lambda text: window.statusBar().showMessage(text, 10_000)
        ).install()
        for dock in window.findChildren(QDockWidget):
            # Docks stay where the layout put them: no title-bar buttons to knock them about.
            self._features[dock] = dock.features()
            dock.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
        window.menuBar().hide()
        QApplication.setOverrideCursor(Qt.CursorShape.BlankCursor)
        screens = QGuiApplication.screens()
        screen = (
            screens[self.screen_index]
            if self.screen_index is not None and 0 <= self.screen_index < len(screens)
            else QGuiApplication.primaryScreen()
        )
        window.setWindowFlag(Qt.WindowType.FramelessWindowHint, True)
        window.setScreen(screen)
        window.setGeometry(screen.geometry())
        window.showFullScreen()
        self._escape.setEnabled(True)
        self.entered.emit()

    def leave(self) -> None:
        if not self.active:
            return
        self.active = False
        self._escape.setEnabled(False)
        if self._guard is not None:
            self._guard.release()
            self._guard = None
        for dock, features in self._features.items():
            dock.setFeatures(features)
        self._features.clear()
        QApplication.restoreOverrideCursor()
        window = self.window
        window.menuBar().show()
        window.setWindowFlag(Qt.WindowType.FramelessWindowHint, False)
        window.showNormal()
        self.left.emit()

    def _esc(self) -> None:
        if not self.lock:
            self.leave()

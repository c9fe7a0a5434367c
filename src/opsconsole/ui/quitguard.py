"""Asks before the window closes while an operator action is still running."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from opsconsole.ui import theme

log = logging.getLogger(__name__)


class QuitDialog(QDialog):
    """ "Quit while X runs?" — Enter keeps the console open; quitting takes a deliberate choice."""

    def __init__(self, running: Sequence[str], parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("quit_dialog")
        self.setWindowTitle("Quit while an action runs?")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumWidth(480)
        layout = QVBoxLayout(self)
        what = "".join(f"<li>{html.escape(text)}</li>" for text in running)
        still = "An action is" if len(running) == 1 else f"{len(running)} actions are"
        headline = QLabel(f"<b>{still} still running:</b><ul>{what}</ul>")
        headline.setObjectName("quit_running")
        headline.setWordWrap(True)
        layout.addWidget(headline)
        consequence = QLabel(
            "Quitting now stops watching for the outcome: the request may already have reached "
            "the backend, and how it ended will not be seen here."
        )
        consequence.setWordWrap(True)
        consequence.setStyleSheet(f"color: {theme.STATE_COLOURS[theme.Health.WARNING]};")
        layout.addWidget(consequence)
        buttons = QDialogButtonBox()
        self.stay_button: QPushButton = buttons.addButton(
            "Keep running", QDialogButtonBox.ButtonRole.RejectRole
        )
        self.quit_button: QPushButton = buttons.addButton(
            "Quit anyway", QDialogButtonBox.ButtonRole.AcceptRole
        )
        # Enter (and Esc) keep the console open: quitting is never the key under the thumb.
        self.stay_button.setDefault(True)
        self.quit_button.setAutoDefault(False)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setFocusProxy(self.stay_button)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.stay_button.setFocus(Qt.FocusReason.ActiveWindowFocusReason)


class QuitGuard(QObject):
    """Holds a close of `window` while `running()` names actions, and asks the operator.

    An event filter, not a closeEvent override: every way of closing the window (Ctrl+Q, `:quit`,
    the palette, the window manager's close button, a locked wall) passes through it. The
    question is opened with `open()`, never a nested `exec()`: the actions keep running and
    their outcome keeps arriving while the operator reads it.
    `release()` lets every later close through unasked (SIGTERM, and the orderly shutdown once
    the operator said yes).
    """

    def __init__(self, window: QWidget, running: Callable[[], Sequence[str]]) -> None:
        super().__init__(window)
        self.setObjectName("quit_guard")
        self.window = window
        self.running = running
        self.released = False
        self.dialog: QuitDialog | None = None
        window.installEventFilter(self)

    def release(self) -> None:
        """From now on the window closes without asking."""
        self.released = True
        if self.dialog is not None and shiboken6.isValid(self.dialog):
            self.dialog.reject()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is not self.window or event.type() != QEvent.Type.Close or self.released:
            return False
        running = list(self.running())
        # A hidden window (a locked wall being closed) has nobody to ask.
        if not running or not self.window.isVisible():
            return False
        event.ignore()  # a consumed close event that stays accepted would still close
        self._ask(running)
        return True

    def _ask(self, running: Sequence[str]) -> None:
        if self.dialog is not None and shiboken6.isValid(self.dialog) and self.dialog.isVisible():
            self.dialog.raise_()
            self.dialog.activateWindow()
            return
        dialog = QuitDialog(running, self.window)
        dialog.finished.connect(lambda code, d=dialog: self._answered(d, code))
        self.dialog = dialog
        dialog.open()

    def _answered(self, dialog: QuitDialog, code: int) -> None:
        dialog.deleteLater()
        if self.dialog is dialog:
            self.dialog = None
        if code != QDialog.DialogCode.Accepted or self.released:
            return
        log.info("quit while actions ran: %s", "; ".join(self.running()) or "none any more")
        self.released = True
        self.window.close()

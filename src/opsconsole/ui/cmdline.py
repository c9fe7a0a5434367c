"""The `:` command line: typed commands over live names, Tab completion, history, answers inline."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QEvent, QRect, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from opsconsole.core.cmdline import SCENARIOS, CmdlineError, Completion, Names, complete, parse
from opsconsole.ui import theme
from opsconsole.ui.context import UiContext
from opsconsole.ui.overlay import Overlay, claim_shortcut_override

log = logging.getLogger(__name__)

HINT = "Tab completes · Enter runs · ↑↓ history · Esc closes"
HISTORY_LIMIT = 200


class _Edit(QLineEdit):
    """The line itself; Tab is completion here, not focus movement."""

    def __init__(self, owner: CommandLine) -> None:
        super().__init__(owner)
        self._owner = owner

    def event(self, event: QEvent) -> bool:
        if claim_shortcut_override(event):
            return True
        # QWidget.event turns Tab into focus movement before keyPressEvent sees it.
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and self._owner.handle_key(event)
        ):
            return True
        return super().event(event)


class CommandLine(Overlay):
    """A one-line prompt at the bottom of the window, opened with `:` (as in vim and k9s).

    Nothing runs until the whole line names real things: an unknown command or name is
    answered here, in plain words with what was expected, and the line stays for fixing.
    """

    ran = Signal(str, object)  # command id, kwargs

    def __init__(
        self,
        ctx: UiContext,
        host: QWidget,
        *,
        layouts: Callable[[], Iterable[str]] | None = None,
        scenarios: Iterable[str] = SCENARIOS,
    ) -> None:
        super().__init__(host, "command_line")
        self.ctx = ctx
        self.layouts = layouts
        self.scenarios = tuple(scenarios)
        self.loadtests: Callable[[], Iterable[str]] = lambda: ()  # set by app/loadtesting.py
        self.history: list[str] = []
        self.last_result: Any = None
        self._history_at: int | None = None
        self._draft = ""
        self._completion: Completion | None = None
        self._cycle = -1

        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 4, 8, 4)
        outer.setSpacing(2)
        self.message = QLabel(HINT)
        self.message.setObjectName("command_line_message")
        self.message.setWordWrap(True)
        outer.addWidget(self.message)
        row = QHBoxLayout()
        row.setSpacing(4)
        colon = QLabel(":")
        colon.setFont(theme.mono_font(12))
        row.addWidget(colon)
        self.edit = _Edit(self)
        self.edit.setObjectName("command_line_edit")
        self.edit.setFont(theme.mono_font(12))
        self.edit.setFrame(False)
        self.edit.textEdited.connect(self._edited)
        row.addWidget(self.edit, 1)
        outer.addLayout(row)
        self._tell(HINT)

    # ------------------------------------------------------------ Overlay

    def placement(self, area: QRect) -> QRect:
        height = self.sizeHint().height() + 8
        return QRect(area.left(), area.bottom() - height + 1, area.width(), height)

    def focus_target(self) -> QWidget:
        return self.edit

    # ------------------------------------------------------------ public

    def open_line(self, text: str = "") -> None:
        self.edit.setText(text)
        self._reset_completion()
        self._history_at = None
        self._tell(HINT)
        self.open_overlay()

    def names(self) -> Names:
        layouts = tuple(self.layouts()) if self.layouts is not None else ()
        return Names.from_store(
            self.ctx.store,
            layouts=layouts,
            scenarios=self.scenarios,
            loadtests=tuple(self.loadtests()),
        )

    def available(self) -> set[str]:
        return {c.id for c in self.ctx.commands}

    def submit(self) -> bool:
        """Enter: parse, refuse with the reason, or run; True when something ran."""
        line = self.edit.text().strip()
        if not line:
            self.close_overlay()
            return False
        self._remember(line)
        try:
            invocation = parse(line, self.names(), self.available())
        except CmdlineError as exc:
            self._tell(exc.message, error=True)
            return False
        command = self.ctx.commands.get(invocation.command_id)
        if not command.is_enabled():
            self._tell(f"{command.title} is not available now", error=True)
            return False
        # Close before running: the command opens its confirmation, which takes the focus.
        self.edit.clear()
        self.close_overlay()
        attempt = self.ctx.runner.attempt(
            invocation.command_id, source="command line", **invocation.kwargs
        )
        if attempt.problem is not None:
            if attempt.problem.kind != "failed":
                self.open_line(line)  # a refusal: the operator may fix the line and retry
                self._tell(attempt.problem.words, error=True)
            return False
        self.last_result = attempt.result
        self.ran.emit(invocation.command_id, invocation.kwargs)
        return True

    # ------------------------------------------------------------ keys

    def handle_key(self, event: QKeyEvent) -> bool:
        key = event.key()
        if key == Qt.Key.Key_Escape:
            self.edit.clear()
            self.close_overlay()
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.submit()
            return True
        if key == Qt.Key.Key_Tab:
            self.complete_step(1)
            return True
        if key == Qt.Key.Key_Backtab:
            self.complete_step(-1)
            return True
        if key == Qt.Key.Key_Up:
            self._recall(-1)
            return True
        if key == Qt.Key.Key_Down:
            self._recall(1)
            return True
        return False

    def complete_step(self, direction: int) -> None:
        """Tab: complete the last word; with several answers, each Tab shows the next one."""
        if self._completion is None:
            completion = complete(self.edit.text(), self.names(), self.available())
            if not completion.candidates:
                self._tell(self._nothing_to_complete(), error=True)
                return
            if len(completion.candidates) == 1:
                self.edit.setText(completion.apply(0))
                # An alert id alone says nothing: say which alert it is.
                detail = completion.detail(0)
                self._tell(f"{completion.candidates[0]} {detail}" if detail else HINT)
                return
            self._completion = completion
            self._cycle = 0 if direction > 0 else len(completion.candidates) - 1
        else:
            self._cycle = (self._cycle + direction) % len(self._completion.candidates)
        completion = self._completion
        self.edit.setText(completion.apply(self._cycle))
        shown = []
        for i, text in enumerate(completion.candidates):
            mark = f"[{text}]" if i == self._cycle else text
            detail = completion.detail(i)
            shown.append(f"{mark} {detail}" if detail else mark)
        # Wider gaps once candidates carry words of their own ("replica-1 lag 0 B").
        self._tell(("   " if completion.details else "  ").join(shown))

    def _nothing_to_complete(self) -> str:
        try:
            parse(self.edit.text(), self.names(), self.available())
        except CmdlineError as exc:
            return exc.message
        return "nothing to complete; Enter runs"

    def _edited(self, _text: str) -> None:
        # Typing ends a Tab cycle and a history walk; the next Tab starts from what is typed.
        self._reset_completion()
        self._history_at = None
        self._tell(HINT)

    def _reset_completion(self) -> None:
        self._completion = None
        self._cycle = -1

    def _remember(self, line: str) -> None:
        if not self.history or self.history[-1] != line:
            self.history.append(line)
            del self.history[:-HISTORY_LIMIT]
        self._history_at = None

    def _recall(self, direction: int) -> None:
        if not self.history:
            return
        if self._history_at is None:
            if direction > 0:
                return
            self._draft = self.edit.text()
            self._history_at = len(self.history)
        self._history_at += direction
        if self._history_at >= len(self.history):
            self._history_at = None
            self.edit.setText(self._draft)
        else:
            self._history_at = max(0, self._history_at)
            self.edit.setText(self.history[self._history_at])
        self._reset_completion()

    def _tell(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        colour = theme.STATE_COLOURS[theme.Health.CRITICAL] if error else theme.TEXT_DIM
        self.message.setStyleSheet(f"color: {colour};")
        if self.isVisible():
            self.place()  # a long message wraps onto more lines: grow upwards

"""The command palette (Ctrl+K): fuzzy search over every command, then its arguments in turn."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QEvent, QRect, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from opsconsole.core.choices import (
    DEFAULT,
    FREE_TEXT,
    Choice,
    answer_kwargs,
    argument_choices,
    command_choices,
    default_index,
    filtered,
    steps,
)
from opsconsole.core.cmdline import Arg
from opsconsole.core.commands import Command
from opsconsole.ui import theme
from opsconsole.ui.context import UiContext
from opsconsole.ui.overlay import Overlay, claim_shortcut_override

log = logging.getLogger(__name__)

ARG_PROMPTS = {
    Arg.BACKEND: "backend",
    Arg.CLUSTER: "cluster",
    Arg.MEMBER: "member",
    Arg.ON_OFF: "read-only on or off",
    Arg.CIRCUIT: "circuit",
    Arg.ALERT: "alert",
    Arg.COMMENT: "comment (optional; Enter to go on)",
    Arg.LAYOUT: "layout",
    Arg.SCENARIO: "scenario",
    Arg.TARGET: "target (optional)",
    Arg.DURATION: "duration (pick, or type one such as 90m)",
    Arg.SILENCE: "silence",
    Arg.SERVICE: "service",
}
COMMAND_HINT = "type to search commands — Enter runs, Esc closes"
#: One line of the palette (built in core, `core.choices`).
Row = Choice


@dataclass
class _Answer:
    arg: Arg
    value: Any
    auto: bool  # filled in because there was only one choice; Esc skips over it


@dataclass
class _Pending:
    command: Command
    answers: list[_Answer] = field(default_factory=list)

    def given(self) -> dict[Arg, Any]:
        return {a.arg: a.value for a in self.answers}

    def kwargs(self) -> dict[str, Any]:
        return answer_kwargs(self.given())


class _Edit(QLineEdit):
    """The palette's search line: arrows, Enter and Esc steer the list, text filters it."""

    def __init__(self, palette: CommandPalette) -> None:
        super().__init__(palette)
        self._palette = palette

    def event(self, event: QEvent) -> bool:
        if claim_shortcut_override(event):
            return True
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and self._palette.handle_key(event)
        ):
            return True
        return super().event(event)


class CommandPalette(Overlay):
    """Ctrl+K: every command by fuzzy title or id, its keys beside it; Enter runs.

    A command that needs arguments (the action commands) asks for them in the same popup, from
    the live names (backend when there are several, then circuit, or cluster then member, or
    alert), then runs through `ctx.runner`, whose pipeline asks for confirmation. What it
    offers at each step is built in core (`core.choices`), from the action declarations.
    Esc goes back one step, and closes from the first.
    """

    ran = Signal(str, object)  # command id, kwargs

    def __init__(
        self,
        ctx: UiContext,
        host: QWidget,
        keys_for: Callable[[str], Sequence[str]] = lambda _cid: (),
        *,
        layouts: Callable[[], Iterable[str]] | None = None,
        hidden: Iterable[str] = ("keys.palette",),
    ) -> None:
        super().__init__(host, "command_palette")
        self.ctx = ctx
        self.keys_for = keys_for
        self.layouts = layouts
        self.hidden = frozenset(hidden)
        self.last_result: Any = None  # what the last run returned (an action's task)
        self._pending: _Pending | None = None
        self._rows: list[Row] = []

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        self.prompt = QLabel("Command")
        self.prompt.setObjectName("palette_prompt")
        self.prompt.setStyleSheet(f"color: {theme.TEXT_DIM};")
        layout.addWidget(self.prompt)
        self.edit = _Edit(self)
        self.edit.setObjectName("palette_edit")
        self.edit.setPlaceholderText(COMMAND_HINT)
        self.edit.textEdited.connect(lambda _t: self._refill())
        layout.addWidget(self.edit)
        self.list = QTreeWidget(self)
        self.list.setObjectName("palette_list")
        self.list.setColumnCount(3)
        self.list.setHeaderHidden(True)
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay in the search line
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.list.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.list.currentItemChanged.connect(lambda *_: self._show_reason())
        self.list.itemClicked.connect(lambda *_: self.accept_current())
        layout.addWidget(self.list)
        self.status = QLabel("")
        self.status.setObjectName("palette_status")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

    # ------------------------------------------------------------ Overlay

    def placement(self, area: QRect) -> QRect:
        width = min(760, max(320, area.width() - 40))
        height = min(460, max(200, area.height() - 40))
        return QRect(area.left() + (area.width() - width) // 2, area.top() + 24, width, height)

    def focus_target(self) -> QWidget:
        return self.edit

    # ------------------------------------------------------------ public

    def open_palette(self) -> None:
        """Open at the command list (or bring it back to it)."""
        self._pending = None
        self.edit.clear()
        self._refill()
        self.open_overlay()

    def open_for(self, command_id: str) -> None:
        """Open at the first argument step of one command (a key bound to an action)."""
        self.open_palette()
        self._choose_command(self.ctx.commands.get(command_id))

    @property
    def step(self) -> Arg | None:
        """The argument being asked for, or None at the command list."""
        return self._next_arg() if self._pending is not None else None

    def rows(self) -> list[Row]:
        """The rows shown now, in order (tests and accessibility read them)."""
        return list(self._rows)

    def current_row(self) -> Row | None:
        item = self.list.currentItem()
        if item is None:
            return None
        index = self.list.indexOfTopLevelItem(item)
        return self._rows[index] if 0 <= index < len(self._rows) else None

    # ------------------------------------------------------------ keys

    def handle_key(self, event: QKeyEvent) -> bool:
        key = event.key()
        if key == Qt.Key.Key_Escape:
            self.back()
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.accept_current()
            return True
        moves = {
            Qt.Key.Key_Down: 1,
            Qt.Key.Key_Tab: 1,
            Qt.Key.Key_Up: -1,
            Qt.Key.Key_Backtab: -1,
            Qt.Key.Key_PageDown: 8,
            Qt.Key.Key_PageUp: -8,
        }
        if key in moves:
            self._move(moves[key])
            return True
        return False

    def _move(self, delta: int) -> None:
        count = self.list.topLevelItemCount()
        if not count:
            return
        item = self.list.currentItem()
        index = self.list.indexOfTopLevelItem(item) if item is not None else -1
        index = max(0, min(count - 1, index + delta))
        self.list.setCurrentItem(self.list.topLevelItem(index))

    def back(self) -> None:
        """Esc: undo the last answer; at the command list, close."""
        pending = self._pending
        if pending is None:
            self.close_overlay()
            return
        manual = [i for i, a in enumerate(pending.answers) if not a.auto]
        if not manual:
            self._pending = None
            self.edit.clear()
            self._refill(select=pending.command.id)
            return
        undone = pending.answers[manual[-1]]
        del pending.answers[manual[-1] :]
        self.edit.clear()
        self._refill(select=undone.value)

    def accept_current(self) -> None:
        if self._pending is None:
            row = self.current_row()
            if row is None:
                self._say(
                    "type a command's name, or ↓ to pick one; Esc closes"
                    if self._rows
                    else "no command matches; Esc closes"
                )
                return
            if not row.enabled:
                self._say(f"{row.label}: {row.reason}")
                return
            self._choose_command(self.ctx.commands.get(row.value))
            return
        arg = self._next_arg()
        assert arg is not None
        row = self.current_row()
        text = self.edit.text().strip()
        if arg is Arg.COMMENT:
            value: Any = text
        elif arg is Arg.DURATION and text:
            # What was typed wins over the nearest suggestion ("5m" must not become "15m");
            # the pipeline refuses a text that is no duration, in words.
            value = text
        elif row is None:
            if arg in FREE_TEXT and text:
                value = text
            elif arg in FREE_TEXT and arg is Arg.TARGET:
                value = DEFAULT
            else:
                self._say(f"nothing matches {text!r}; Esc goes back")
                return
        elif not row.enabled:
            self._say(f"{row.label}: {row.reason}")
            return
        else:
            value = row.value
        self._pending.answers.append(_Answer(arg, value, auto=False))
        self.edit.clear()
        self._advance()

    # ------------------------------------------------------------ steps

    def _choose_command(self, command: Command) -> None:
        if not command.is_enabled():
            self._say(f"{command.title} is not available now")
            return
        self._pending = _Pending(command)
        self.edit.clear()
        self._advance()

    def _args(self) -> tuple[Arg, ...]:
        assert self._pending is not None
        return steps(self._pending.command.id)

    def _next_arg(self) -> Arg | None:
        assert self._pending is not None
        answered = {a.arg for a in self._pending.answers}
        return next((a for a in self._args() if a not in answered), None)

    def _advance(self) -> None:
        """Ask the next question, filling in single-choice backends; run when all answered."""
        pending = self._pending
        assert pending is not None
        while (arg := self._next_arg()) is Arg.BACKEND:
            rows = self._choices(arg)
            if len(rows) != 1:
                break
            pending.answers.append(_Answer(arg, rows[0].value, auto=True))
        if arg is None:
            self._run(pending.command, pending.kwargs())
            return
        self._refill()

    def _run(self, command: Command, kwargs: dict[str, Any]) -> None:
        # Close first: the command may open something that wants the focus (the confirmation,
        # the key help), and the palette must not take it back afterwards.
        self._pending = None
        self.close_overlay()
        # The one runner says a refusal or an error in words; nothing escapes into Qt.
        attempt = self.ctx.runner.attempt(command.id, source="palette", **kwargs)
        self.last_result = attempt.result
        if attempt.ran:
            self.ran.emit(command.id, kwargs)

    # ------------------------------------------------------------ rows

    def _refill(self, select: Any = None) -> None:
        query = self.edit.text()
        note = ""
        if self._pending is None:
            self.prompt.setText("Command")
            self.edit.setPlaceholderText(COMMAND_HINT)
            rows = self._command_rows()
        else:
            arg = self._next_arg()
            assert arg is not None
            chosen = " › ".join(
                str(a.value) for a in self._pending.answers if a.value is not DEFAULT
            )
            self.prompt.setText(
                f"{self._pending.command.title} › "
                + (f"{chosen} › " if chosen else "")
                + ARG_PROMPTS[arg]
            )
            self.edit.setPlaceholderText(
                "type a comment"
                if arg is Arg.COMMENT
                else "type a duration (e.g. 90m) or pick one — Esc goes back"
                if arg is Arg.DURATION
                else "type to filter — Enter picks, Esc goes back"
            )
            rows = self._choices(arg)
            if not rows and arg not in FREE_TEXT:
                note = self._nothing_to_pick(arg)
        self._rows = filtered(query, rows)
        self.list.clear()
        dim = QBrush(QColor(theme.TEXT_DIM))
        for row in self._rows:
            item = QTreeWidgetItem([row.label, row.detail, row.keys])
            item.setForeground(1, dim)
            item.setForeground(2, QBrush(QColor(theme.ACCENT)))
            if not row.enabled:
                # Greyed, still selectable: the reason shows when the operator lands on it.
                for col in range(3):
                    item.setForeground(col, dim)
                item.setToolTip(0, row.reason)
            self.list.addTopLevelItem(item)
        target = self._default_row(query)
        if select is not None:
            target = next((i for i, r in enumerate(self._rows) if r.value == select), target)
        if target is not None:
            self.list.setCurrentItem(self.list.topLevelItem(target))
        if note:
            self._say(note)
        else:
            self._show_reason()

    def _default_row(self, query: str) -> int | None:
        """The row Enter picks before any arrow key (`core.choices.default_index`)."""
        return default_index(query, self._rows, at_commands=self._pending is None)

    def _show_reason(self) -> None:
        row = self.current_row()
        if row is not None and not row.enabled:
            self._say(f"{row.label}: {row.reason}")
        elif self._pending is not None and self._next_arg() is Arg.COMMENT:
            self._say("type a comment, or Enter for none")
        else:
            self._say("")

    def _say(self, text: str) -> None:
        self.status.setText(text)
        colour = theme.STATE_COLOURS[theme.Health.WARNING] if text else theme.TEXT_DIM
        self.status.setStyleSheet(f"color: {colour};")

    def _command_rows(self) -> list[Row]:
        return command_choices(self.ctx.commands, self.ctx.store, self.keys_for, self.hidden)

    def _choices(self, arg: Arg) -> list[Row]:
        assert self._pending is not None
        layouts = list(self.layouts()) if self.layouts is not None else []
        return argument_choices(
            self._pending.command.id, arg, self._pending.given(), self.ctx.store, layouts
        )

    @staticmethod
    def _nothing_to_pick(arg: Arg) -> str:
        return f"there is no {ARG_PROMPTS[arg]} to pick; Esc goes back"

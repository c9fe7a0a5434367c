"""Attaches the keyboard model to a window: palette, command line, key help, every binding."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDockWidget,
    QKeySequenceEdit,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from opsconsole.core.cmdline import COMMAND_ARGS, SCENARIOS
from opsconsole.core.commands import Command, CommandRegistry
from opsconsole.core.keymap import KEYBOARD_COMMANDS, build_keymap, is_printable_bare
from opsconsole.ui.cmdline import CommandLine
from opsconsole.ui.context import UiContext
from opsconsole.ui.help import KeyHelp
from opsconsole.ui.palette import CommandPalette

log = logging.getLogger(__name__)

PALETTE, COMMAND_LINE, HELP = (cid for cid, _title, _keys in KEYBOARD_COMMANDS)
#: Keys that open the keyboard layer win even inside a text field (Ctrl+K there would
#: otherwise delete to the end of the line), so the palette and help are always one key away.
GLOBAL_COMMANDS = frozenset({PALETTE, HELP})
_CHORD = (
    Qt.KeyboardModifier.ControlModifier
    | Qt.KeyboardModifier.AltModifier
    | Qt.KeyboardModifier.MetaModifier
)


def is_text_input(widget: QWidget) -> bool:
    """A widget where a printable key is typing, so `:` and `?` must reach it unchanged."""
    if isinstance(widget, QLineEdit | QTextEdit | QPlainTextEdit):
        return not widget.isReadOnly()
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    return isinstance(widget, QAbstractSpinBox | QKeySequenceEdit)


def bare_sequence(event: QKeyEvent) -> str | None:
    """The printable key of an event in key-map spelling (":", "J", "Shift+J"), or None."""
    if event.modifiers() & _CHORD:
        return None
    text = event.text()
    if len(text) != 1 or not text.isprintable():
        return None
    if text == " ":
        return "Space"
    if text.isalpha():
        shifted = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        return ("Shift+" if shifted else "") + text.upper()
    # Shift is how ":" and "?" are typed on most layouts; the character is the key.
    return text


class KeyboardUi(QObject):
    """The palette, command line and key help of one window, and the bindings behind them."""

    def __init__(
        self,
        window: QMainWindow,
        ctx: UiContext,
        bindings: Mapping[str, str],
        problems: Iterable[str] = (),
        *,
        layouts: Callable[[], Iterable[str]] | None = None,
        scenarios: Iterable[str] = SCENARIOS,
    ) -> None:
        super().__init__(window)
        self.setObjectName("keyboard_ui")
        self.window = window
        self.ctx = ctx
        self.registry: CommandRegistry = ctx.commands
        self.bindings: dict[str, str] = dict(bindings)
        self.problems: list[str] = list(problems)
        self.shortcuts: dict[str, QShortcut] = {}  # sequence → shortcut we created
        self.actions: dict[str, QAction] = {}  # command id → the window's own action
        self.bare: dict[str, str] = {}  # printable sequence → command id (event filter)
        self.palette = CommandPalette(ctx, window, self.keys_for, layouts=layouts)
        self.command_line = CommandLine(ctx, window, layouts=layouts, scenarios=scenarios)
        self.help = KeyHelp(self.registry, window, self.keys_for, self.problems)

    # ------------------------------------------------------------ public

    def keys_for(self, command_id: str) -> list[str]:
        """Every sequence bound to a command, as the key map spells it."""
        return [seq for seq, cid in self.bindings.items() if cid == command_id]

    def open_palette(self) -> None:
        self.command_line.close_overlay()
        self.help.close_overlay()
        self.palette.open_palette()

    def open_command_line(self, text: str = "") -> None:
        self.palette.close_overlay()
        self.help.close_overlay()
        self.command_line.open_line(text)

    def toggle_help(self) -> None:
        self.palette.close_overlay()
        self.command_line.close_overlay()
        self.help.toggle()

    def run(self, command_id: str) -> None:
        """A bound key was pressed: run the command, or ask for its arguments first."""
        if command_id in COMMAND_ARGS:
            self.palette.open_for(command_id)
            return
        self.ctx.runner.run(command_id, source="keys")

    def notify(self, message: str) -> None:
        log.info("%s", message)
        if isinstance(self.window, QMainWindow):
            self.window.statusBar().showMessage(message, 15_000)

    # ------------------------------------------------------------ wiring

    def register_commands(self) -> None:
        """The keyboard layer's own commands: listed in the help and the palette, remappable."""
        handlers = {
            PALETTE: self.open_palette,
            COMMAND_LINE: lambda: self.open_command_line(),
            HELP: self.toggle_help,
        }
        for cid, title, keys in KEYBOARD_COMMANDS:
            if cid in self.registry:
                continue
            try:
                self.registry.register(Command(cid, title, handlers[cid], keys))
            except ValueError as exc:
                # Someone else took the default key: register without it and say so.
                self.problems.append(f"{cid}: {exc}; it has no default key")
                self.registry.register(Command(cid, title, handlers[cid]))

    def apply_bindings(self) -> None:
        """Give every binding to exactly one receiver: the window's action, a shortcut, or
        the printable-key filter. Two receivers on one key would make Qt fire neither."""
        foreign = self._foreign_keys()
        owned: set[str] = set()
        for action in self.window.findChildren(QAction):
            cid = self._command_of(action)
            if cid is None:
                continue
            keys = [s for s in self.keys_for(cid) if not is_printable_bare(s)]
            # Our bindings replace the defaults mainwindow gave its menu actions, so the menu
            # shows the remapped key and no second shortcut fights the action over it.
            action.setShortcuts([QKeySequence(k) for k in keys])
            self.actions[cid] = action
            owned.add(cid)
        for seq, cid in self.bindings.items():
            if cid not in self.registry:
                self.problems.append(f"{seq}: no command {cid!r} is registered; key not bound")
                continue
            if is_printable_bare(seq):
                self.bare[seq] = cid
                continue
            if cid in owned:
                continue
            if seq in foreign:
                self.problems.append(
                    f"{seq} is already {foreign[seq]} in this window; {cid} does not get it"
                )
                continue
            shortcut = QShortcut(QKeySequence(seq), self.window)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(lambda c=cid: self.run(c))
            shortcut.activatedAmbiguously.connect(
                lambda s=seq: self.notify(f"{s} is bound twice in this window")
            )
            self.shortcuts[seq] = shortcut
        for problem in self.problems:
            log.warning("keys: %s", problem)

    def _command_of(self, action: QAction) -> str | None:
        """The command a window action runs: its data, else its (unique) title."""
        data = action.data()
        if isinstance(data, str) and data in self.registry:
            return data
        titled = [c.id for c in self.registry if c.title == action.text()]
        return titled[0] if len(titled) == 1 else None

    def _foreign_keys(self) -> dict[str, str]:
        """Keys the window already uses for things that are not commands (menu mnemonics)."""
        taken: dict[str, str] = {}
        if isinstance(self.window, QMainWindow):
            for action in self.window.menuBar().actions():
                text = action.text()
                at = text.find("&")
                if 0 <= at < len(text) - 1 and text[at + 1] != "&":
                    taken[f"Alt+{text[at + 1].upper()}"] = f"the {text.replace('&', '')} menu"
        for action in self.window.findChildren(QAction):
            if self._command_of(action) is None:
                for seq in action.shortcuts():
                    taken[seq.toString()] = f"the {action.text().replace('&', '')!r} action"
        return taken

    def install_filter(self) -> None:
        """Printable keys (`:`, `?`) are caught on their way to the focused widget.

        Not QShortcuts: Qt would fire them inside text fields too (or never, depending on
        how the layout reports Shift). Not an application-wide filter either: that would
        put a Python call on every paint and timer event. The filter sits on the window and
        on each widget of it that takes the focus, the only ones that receive keys.
        """
        self.window.installEventFilter(self)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_changed)
            focused = app.focusWidget()
            if focused is not None:
                self._focus_changed(None, focused)

    def _focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if new is not None and shiboken6.isValid(new) and self._inside(new):
            new.installEventFilter(self)

    def _inside(self, widget: QWidget) -> bool:
        """True for widgets of this window, floating docks included, dialogs excluded."""
        top = widget.window()
        while isinstance(top, QDockWidget) and top.parentWidget() is not None:
            top = top.parentWidget().window()
        return top is self.window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride):
            return False
        if not isinstance(event, QKeyEvent) or not isinstance(watched, QWidget):
            return False
        if kind == QEvent.Type.ShortcutOverride:
            if is_text_input(watched):
                seq = QKeySequence(event.keyCombination()).toString()
                # Returning True without accepting: the text field never claims the key,
                # so Qt goes on to the palette's or help's shortcut.
                return self.bindings.get(seq) in GLOBAL_COMMANDS
            return False
        seq = bare_sequence(event)
        if seq is None or seq not in self.bare:
            return False
        if is_text_input(watched) or not self._inside(watched):
            return False
        if QApplication.activeModalWidget() is not None or QApplication.activePopupWidget():
            return False  # a confirmation or a menu is up: its keys are its own
        self.run(self.bare[seq])
        return True


def install_keyboard(
    window: QMainWindow,
    keymap_bindings: Mapping[str, str] | None = None,
    *,
    problems: Sequence[str] = (),
    layouts: Callable[[], Iterable[str]] | None = None,
    scenarios: Iterable[str] = SCENARIOS,
) -> KeyboardUi:
    """Give `window` the whole keyboard model; returns the palette, command line and help.

    `keymap_bindings` is `load_keymap(path, ctx.commands)[0]` (sequence → command id); None
    means every command's default keys. Pass `load_keymap`'s problems as `problems`: the key
    help lists them with those found here (keys the window already uses for something else).
    The window must have `ctx` (a UiContext); its commands must all be registered already.
    """
    ctx: UiContext = window.ctx  # type: ignore[attr-defined]
    ui = KeyboardUi(window, ctx, {}, problems, layouts=layouts, scenarios=scenarios)
    ui.register_commands()
    if keymap_bindings is None:
        keymap = build_keymap(ctx.commands)
        ui.bindings = keymap.bindings
        ui.problems.extend(keymap.problems)
    else:
        ui.bindings = dict(keymap_bindings)
    ui.apply_bindings()
    ui.help.problems = ui.problems  # one list: problems found while binding show there too
    ui.install_filter()
    window.keyboard = ui  # type: ignore[attr-defined]  # kept alive with the window
    return ui

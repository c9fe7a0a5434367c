"""First run without a config: choose the demo, an Ops API URL or a Prometheus URL."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from opsconsole.core.urls import UrlProblem, check_backend_url
from opsconsole.ui import theme
from opsconsole.ui.asking import answer_of

Kind = Literal["demo", "opsapi", "prometheus"]
KINDS: tuple[Kind, ...] = ("demo", "opsapi", "prometheus")


@dataclass(frozen=True)
class FirstRunChoice:
    """What the operator picked; `url` is None for the demo; `remember` = write it to config."""

    kind: Kind
    url: str | None
    remember: bool


@dataclass(frozen=True)
class UrlCheck:
    """A typed address judged: the cleaned URL when usable, else None; `hint` in plain words."""

    url: str | None
    hint: str


EXAMPLES: dict[Kind, str] = {
    "demo": "",
    "opsapi": "http://127.0.0.1:8080",
    "prometheus": "http://prometheus:9090",
}

_LABELS: dict[Kind, str] = {
    "demo": "&Demo: a built-in simulated system on this computer",
    "opsapi": "&Ops API backend: a server speaking the opsconsole Ops API",
    "prometheus": "&Prometheus: a Prometheus-compatible server (Thanos, Mimir, VictoriaMetrics)",
}


def check_url(text: str, example: str = EXAMPLES["opsapi"]) -> UrlCheck:
    """Is `text` an http(s) address with a host? Says what to fix in words, not a parse error."""
    value = text.strip()
    if not value:
        return UrlCheck(None, f"Type the server's address, for example {example}")
    if any(ch.isspace() for ch in value):
        return UrlCheck(None, "An address has no spaces in it.")
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or "://" not in value:
        return UrlCheck(None, f"Start the address with http:// or https://, for example {example}")
    if parts.username is not None or parts.password is not None:
        # A password in the URL would land in config.toml in plain text: tokens go elsewhere.
        return UrlCheck(
            None,
            "Leave the user name and password out of the address; "
            "a token is set separately and kept in the keyring.",
        )
    if not parts.hostname:
        return UrlCheck(None, f"Add the server's name after {parts.scheme}://, e.g. {example}")
    try:
        port = parts.port
    except ValueError:
        return UrlCheck(None, "The port after ':' must be a number from 1 to 65535.")
    if port == 0:
        return UrlCheck(None, "The port after ':' must be a number from 1 to 65535.")
    if parts.fragment:
        return UrlCheck(None, "Leave out the '#…' part: it is never sent to the server.")
    try:
        # The same rules as --url and the config file, so a remembered choice always loads.
        check_backend_url(value)
    except UrlProblem as problem:
        return UrlCheck(None, f"This address cannot be used: {problem}.")
    url = value.rstrip("/")
    where = parts.hostname + (f":{port}" if port else "")
    return UrlCheck(url, f"Will connect to {where} over {parts.scheme.lower()}.")


# The global theme flattens inputs onto the window colour; this dialog is all inputs, so it
# draws the field, the option circles and the default button where the eye can find them.


class FirstRunDialog(QDialog):
    """Asks once, keyboard first (Alt+D/O/P/U/R, Enter, Esc); never `exec()`-ed.

    Shown alone at start-up, prefer `ask_first_run`: it also keeps Qt from quitting the event
    loop when this, the only window, closes.
    """

    chosen = Signal(object)  # FirstRunChoice, emitted on accept only

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("first_run_dialog")
        self.setWindowTitle("Welcome to opsconsole")
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        headline = QLabel("<b>No backend is set up yet.</b> What should the console show?")
        headline.setWordWrap(True)
        layout.addWidget(headline)

        self.group = QButtonGroup(self)
        self.buttons: dict[Kind, QRadioButton] = {}
        for index, kind in enumerate(KINDS):
            button = QRadioButton(_LABELS[kind])
            button.setObjectName(f"first_run_{kind}")
            self.group.addButton(button, index)
            self.buttons[kind] = button
            layout.addWidget(button)
        self.buttons["demo"].setChecked(True)

        self.url_label = QLabel("&URL:")
        layout.addWidget(self.url_label)
        self.url_edit = QLineEdit()
        self.url_edit.setObjectName("first_run_url")
        self.url_edit.setAccessibleName("Server address")
        self.url_edit.setClearButtonEnabled(True)
        self.url_label.setBuddy(self.url_edit)
        layout.addWidget(self.url_edit)
        self.hint = QLabel()
        self.hint.setObjectName("first_run_hint")
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)

        self.remember = QCheckBox("&Remember this choice (saved to config.toml)")
        self.remember.setObjectName("first_run_remember")
        self.remember.setChecked(True)
        layout.addWidget(self.remember)

        box = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = box.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setDefault(True)  # Enter anywhere in the dialog, also in the URL field
        self.cancel_button = box.button(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setText("&Quit")
        box.accepted.connect(self._accept_if_valid)
        box.rejected.connect(self.reject)
        layout.addWidget(box)
        footer = QLabel("Enter starts; Esc quits. Later: edit config.toml or use --demo / --url.")
        footer.setStyleSheet(f"color: {theme.TEXT_DIM};")
        layout.addWidget(footer)

        self.group.idToggled.connect(self._kind_changed)
        self.url_edit.textChanged.connect(self._refresh)
        self._refresh()

    @property
    def kind(self) -> Kind:
        return KINDS[max(self.group.checkedId(), 0)]

    def select(self, kind: Kind) -> None:
        self.buttons[kind].setChecked(True)

    def url_check(self) -> UrlCheck:
        return check_url(self.url_edit.text(), EXAMPLES[self.kind] or EXAMPLES["opsapi"])

    def choice(self) -> FirstRunChoice | None:
        """The current answer if it can be used, else None (OK is disabled then)."""
        if self.kind == "demo":
            return FirstRunChoice("demo", None, self.remember.isChecked())
        checked = self.url_check()
        if checked.url is None:
            return None
        return FirstRunChoice(self.kind, checked.url, self.remember.isChecked())

    def _kind_changed(self, _id: int, checked: bool) -> None:
        if checked:
            self._refresh()

    def _refresh(self) -> None:
        needs_url = self.kind != "demo"
        self.url_label.setEnabled(needs_url)
        self.url_edit.setEnabled(needs_url)
        self.url_edit.setPlaceholderText(EXAMPLES[self.kind])
        # No mnemonic here: Alt+D belongs to the demo option, and Enter presses this button.
        self.ok_button.setText("Start the demo" if not needs_url else "Connect")
        if not needs_url:
            self._show_hint("The demo runs on this computer; nothing leaves it.", error=False)
        else:
            checked = self.url_check()
            # An empty field is a prompt, not a mistake: only typed text shows as an error.
            error = checked.url is None and bool(self.url_edit.text().strip())
            self._show_hint(checked.hint, error=error)
        self.ok_button.setEnabled(self.choice() is not None)

    def _show_hint(self, text: str, *, error: bool) -> None:
        colour = theme.STATE_COLOURS[theme.Health.CRITICAL] if error else theme.TEXT_DIM
        self.hint.setStyleSheet(f"color: {colour};")
        self.hint.setText(html.escape(text))
        self.hint.setProperty("error", error)

    def _accept_if_valid(self) -> None:
        answer = self.choice()
        if answer is None:
            return  # Enter with an unusable address does nothing; the hint says why
        self.accept()
        self.chosen.emit(answer)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        # Keyboard focus on the choice at once: arrows move between the options, Enter starts.
        self.buttons[self.kind].setFocus(Qt.FocusReason.ActiveWindowFocusReason)


async def ask_first_run(parent: QWidget | None = None) -> FirstRunChoice | None:
    """Show the dialog with `open()` (never a nested exec); None when the operator quits."""
    app = QApplication.instance()
    # At start-up the dialog is the only window: when it closes, Qt would quit the event loop
    # (quitOnLastWindowClosed) before the main window exists. Hold that off while we ask.
    quit_on_close = app.quitOnLastWindowClosed() if isinstance(app, QApplication) else None
    if isinstance(app, QApplication):
        app.setQuitOnLastWindowClosed(False)
    dialog = FirstRunDialog(parent)
    try:
        return await answer_of(
            dialog, lambda code: dialog.choice() if code == QDialog.DialogCode.Accepted else None
        )
    finally:
        if isinstance(app, QApplication) and quit_on_close is not None:
            app.setQuitOnLastWindowClosed(quit_on_close)

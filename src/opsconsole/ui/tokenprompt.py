"""Asks the operator for a backend's token after an authentication failure, never echoing it."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from opsconsole.ui.asking import answer_of


class TokenDialog(QDialog):
    """A password field and two buttons; the text never leaves the field but through `token`."""

    def __init__(self, backend: str, reason: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("token_dialog")
        self.setWindowTitle(f"Credentials for {backend}")
        layout = QVBoxLayout(self)
        words = QLabel(
            f"<b>{backend}</b> refused the console's credentials ({reason}).<br>"
            "Paste a token to try again now. It is kept for this run only; "
            f"<code>opsconsole auth set {backend}</code> stores one in the keyring."
        )
        words.setWordWrap(True)
        layout.addWidget(words)
        self.field = QLineEdit(self)
        self.field.setObjectName("token_field")
        self.field.setEchoMode(QLineEdit.EchoMode.Password)
        self.field.setPlaceholderText("token")
        layout.addWidget(self.field)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setEnabled(False)
        self.field.textChanged.connect(lambda text: self.ok.setEnabled(bool(text.strip())))
        layout.addWidget(buttons)

    @property
    def token(self) -> str:
        return self.field.text().strip()


async def ask_token(backend: str, reason: str, parent: QWidget | None) -> str | None:
    """The token the operator typed, or None when they cancelled."""
    dialog = TokenDialog(backend, reason, parent)
    # Read while the dialog still exists: it is deleted once it has answered.
    return await answer_of(
        dialog,
        lambda code: (dialog.token or None) if code == QDialog.DialogCode.Accepted else None,
    )

"""Confirmation of an operator action by tier: Enter for confirm, the typed name for dangerous."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from opsconsole.core.actions import Intent
from opsconsole.core.commands import DangerTier
from opsconsole.ui import theme
from opsconsole.ui.asking import answer_of


class ConfirmDialog(QDialog):
    """Names the target, what is at stake and the consequence before anything is sent.

    A dangerous action is confirmed by typing `intent.typed_name`: for a failover that is the
    member taking over, the name whose lag the operator has just read. Never `exec()`-ed.
    """

    def __init__(self, intent: Intent, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.intent = intent
        spec = intent.spec
        self.dangerous = spec.tier >= DangerTier.DANGEROUS
        self.setObjectName("confirm_dialog")
        self.setWindowTitle(spec.title)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumWidth(520)
        self.typed_name = intent.typed_name
        layout = QVBoxLayout(self)
        title = QLabel(f"<b>{html.escape(spec.title)}</b>")
        layout.addWidget(title)
        # Plain text: names come from a backend and are shown, never interpreted.
        self.headline = QLabel(intent.headline())
        self.headline.setObjectName("confirm_headline")
        self.headline.setTextFormat(Qt.TextFormat.PlainText)
        self.headline.setWordWrap(True)
        if intent.stakes is not None and intent.stakes.may_lose and intent.stakes.lag_bytes > 0:
            self.headline.setStyleSheet(
                f"color: {theme.STATE_COLOURS[theme.Health.CRITICAL]}; font-weight: bold;"
            )
        layout.addWidget(self.headline)
        consequence = QLabel(html.escape(spec.consequence))
        consequence.setWordWrap(True)
        colour = theme.STATE_COLOURS[
            theme.Health.CRITICAL if self.dangerous else theme.Health.WARNING
        ]
        consequence.setStyleSheet(f"color: {colour};")
        layout.addWidget(consequence)
        self.name_edit: QLineEdit | None = None
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(spec.verb.capitalize())
        buttons.accepted.connect(self._accept_if_allowed)
        buttons.rejected.connect(self.reject)
        if self.dangerous:
            prompt = QLabel(f"Type <b>{html.escape(self.typed_name)}</b> to confirm:")
            prompt.setObjectName("confirm_prompt")
            layout.addWidget(prompt)
            self.name_edit = QLineEdit()
            self.name_edit.setObjectName("confirm_name")
            self.name_edit.setPlaceholderText(self.typed_name)
            self.name_edit.textChanged.connect(self._name_changed)
            self.name_edit.returnPressed.connect(self._accept_if_allowed)
            layout.addWidget(self.name_edit)
            self.ok_button.setEnabled(False)
            self.ok_button.setDefault(False)
            self.ok_button.setAutoDefault(False)
            self.setFocusProxy(self.name_edit)
        else:
            self.ok_button.setDefault(True)
            self.setFocusProxy(self.ok_button)
        layout.addWidget(buttons)
        hint = QLabel("Esc cancels; nothing is sent until you confirm.")
        hint.setStyleSheet(f"color: {theme.TEXT_DIM};")
        layout.addWidget(hint)

    def _name_changed(self, text: str) -> None:
        self.ok_button.setEnabled(text == self.typed_name)

    def _accept_if_allowed(self) -> None:
        if self.dangerous and (self.name_edit is None or self.name_edit.text() != self.typed_name):
            return  # Enter with a wrong or empty name does nothing: no single-key danger
        self.accept()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        # The confirmation has keyboard focus the moment it appears.
        (self.name_edit or self.ok_button).setFocus(Qt.FocusReason.ActiveWindowFocusReason)


async def ask(intent: Intent, parent: QWidget | None) -> bool:
    """Show the dialog with `open()` (never a nested exec) and await the operator's answer."""
    dialog = ConfirmDialog(intent, parent)
    return await answer_of(dialog, lambda code: code == QDialog.DialogCode.Accepted)

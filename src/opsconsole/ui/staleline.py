"""The line over a grid of services that says which backends went stale, and for how long."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from opsconsole.core.health import Health
from opsconsole.ui import theme


def stale_label(parent: QWidget) -> QLabel:
    """Hidden until a backend is stale; grey like every STALE word, on a visible band."""
    label = QLabel(parent)
    label.setObjectName("staleLine")
    label.setWordWrap(True)
    label.setStyleSheet(
        f"#staleLine {{ color: {theme.TEXT}; background: {theme.SURFACE_ALT};"
        f" border-left: 4px solid {theme.STATE_COLOURS[Health.UNKNOWN]}; padding: 3px 8px; }}"
    )
    label.hide()
    return label


def show_stale_words(label: QLabel, words: str) -> None:
    """Set the words (empty: hide), touching the label only when they changed."""
    if label.text() != words:
        label.setText(words)
    if label.isHidden() == bool(words):
        label.setVisible(bool(words))

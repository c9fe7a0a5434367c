"""The pulse that lights a row up after a transition: its strength over time and its colour."""

from __future__ import annotations

from PySide6.QtGui import QColor

FLASH_S = 1.5  # a transition lights its row up this long, fading out
FLASH_RISE_S = 0.15
FLASH_ALPHA = 0.3  # strongest blend of the state colour over the row background


def blend(base: str, over: str, alpha: float) -> QColor:
    """`over` laid on `base` at `alpha` (0…1), each channel rounded."""
    a, b = QColor(base), QColor(over)
    return QColor(
        round(a.red() + (b.red() - a.red()) * alpha),
        round(a.green() + (b.green() - a.green()) * alpha),
        round(a.blue() + (b.blue() - a.blue()) * alpha),
    )


def flash_strength(age: float) -> float:
    """0…1 brightness of a transition pulse `age` seconds after it: a quick rise, a slow fade."""
    if age < 0 or age >= FLASH_S:
        return 0.0
    if age < FLASH_RISE_S:
        return age / FLASH_RISE_S
    return 1.0 - (age - FLASH_RISE_S) / (FLASH_S - FLASH_RISE_S)

"""Puts the main window on its screen: the first time sized to fit, a saved size clamped."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QWidget

from opsconsole.core.geometry import Rect, WindowFit, clamp_saved, first_fit


def _rect(r: QRect) -> Rect:
    return Rect(r.x(), r.y(), r.width(), r.height())


def fit_to_screen(window: QWidget, restored: bool, area: QRect | None = None) -> WindowFit:
    """Before the first show: size from the screen's free area, or clamp a restored geometry.

    `restored` says the window already holds a geometry saved by an earlier run (maybe on a
    larger monitor); otherwise the window gets the size the screen can take. `area` is the
    free area to fit (default: that of the window's screen).
    """
    available = _rect(area if area is not None else window.screen().availableGeometry())
    state = window.windowState()
    if restored:
        fit = clamp_saved(
            _rect(window.geometry()),
            available,
            maximised=bool(state & Qt.WindowState.WindowMaximized),
        )
    else:
        fit = first_fit(available)
    r = fit.rect
    window.setGeometry(r.x, r.y, r.width, r.height)
    if fit.maximised:
        window.setWindowState(state | Qt.WindowState.WindowMaximized)
    return fit

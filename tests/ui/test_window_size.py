"""The first window fits its screen; a geometry saved on a larger monitor is brought back in.

In-process against a 1366×768 work area given explicitly (the offscreen screen is smaller
than the docks' minimum width); the real app on a 1366×768 Xvfb display is further down.
"""

from __future__ import annotations

from PySide6.QtCore import QRect

from opsconsole.core.store import Store
from opsconsole.ui.context import Selection, UiContext
from opsconsole.ui.geometry import fit_to_screen
from opsconsole.ui.layout import LayoutStore
from opsconsole.ui.mainwindow import MainWindow
from tests.support.live_process import RunningConsole
from tests.support.x11 import find_window, keys, window_size, xvfb

LAPTOP = QRect(0, 0, 1366, 740)  # 1366×768 less a 28 px panel


def new_window(qtbot, layouts: LayoutStore | None) -> MainWindow:
    win = MainWindow(UiContext(Store(capacity=60), Selection(), demo=True), layouts)
    qtbot.addWidget(win)
    return win


def within(rect: QRect, area: QRect) -> bool:
    return area.contains(rect.topLeft()) and area.contains(rect.bottomRight())


def save_big_layout(qtbot, layouts: LayoutStore) -> None:
    """What a run on the office monitor leaves behind: a 1760×1040 window."""
    big = new_window(qtbot, None)
    big.setGeometry(300, 200, 1760, 1040)
    layouts.save(big)


def test_the_first_window_on_a_laptop_is_maximised_and_no_larger(qtbot) -> None:
    win = new_window(qtbot, None)
    assert win.width() > LAPTOP.width()  # what the constructor alone would show
    fit = fit_to_screen(win, restored=False, area=LAPTOP)
    assert fit.maximised and win.isMaximized()
    assert within(win.geometry(), LAPTOP), win.geometry()


def test_the_app_on_a_1366x768_display_fits_even_with_a_big_saved_layout(qtbot, tmp_path):
    save_big_layout(qtbot, LayoutStore(tmp_path / "state" / "opsconsole" / "layouts.json"))
    with xvfb(1366, 768) as display:
        console = RunningConsole(
            "--demo", tmp_path=tmp_path, env={"QT_QPA_PLATFORM": "xcb", "DISPLAY": display}
        )
        try:
            window = find_window(display, "^opsconsole — DEMO$")
            width, height = window_size(display, window)
            assert width <= 1366 and height <= 768, (width, height)
            keys(display, window, "ctrl+q")
            assert console.wait_exit() == 0, console.stderr[-2000:]
        finally:
            console.stop()

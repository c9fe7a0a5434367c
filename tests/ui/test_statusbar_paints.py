"""A status-bar age that ticks paints its own label only, and the label looks as it did."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMainWindow, QWidget

from opsconsole.ui.statusbar import BackendStatusBar
from tests.support.panels import PanelHarness
from tests.ui.test_idle_paints import EventCounter, settle, stale_for


@pytest.fixture
def ui(qapp, qtbot) -> Iterator[PanelHarness]:
    harness = PanelHarness(qapp, qtbot)
    yield harness
    harness.close()


def window_with_bar(ui: PanelHarness, qtbot) -> tuple[QMainWindow, BackendStatusBar, QWidget]:
    window = QMainWindow()
    qtbot.addWidget(window)
    window.setCentralWidget(QWidget())
    bar = BackendStatusBar(ui.ctx)
    window.statusBar().addPermanentWidget(bar, 1)
    window.resize(900, 300)
    window.show()
    qtbot.waitExposed(window)
    stale_for(ui, 12.3)
    bar.run_refresh(time.monotonic())
    label = bar.findChild(QWidget, "link_sim")
    assert label is not None and "STALE 12 s" in bar.text_for("sim")
    qtbot.waitUntil(label.isVisible, timeout=3000)  # a layout shows a new child later
    return window, bar, label


def test_a_ticking_age_repaints_nothing_under_the_label(ui, qtbot) -> None:
    window, bar, label = window_with_bar(ui, qtbot)
    counter = EventCounter(label, bar, window.statusBar(), window)
    ui.store.backend("sim").data_mono -= 1.0
    bar.run_refresh(time.monotonic())
    assert "STALE 13 s" in bar.text_for("sim")
    settle(qtbot, counter, label)
    assert counter.paints[label] == 1
    # See-through, the label's change repainted these three under it every second.
    assert counter.paints[bar] == 0
    assert counter.paints[window.statusBar()] == 0
    assert counter.paints[window] == 0
    counter.close()


def test_the_opaque_label_looks_as_the_see_through_one_did(ui, qtbot) -> None:
    window, _bar, label = window_with_bar(ui, qtbot)
    assert label.testAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
    opaque = pixels(window)
    label.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, False)
    assert pixels(window) == opaque


def pixels(widget: QWidget) -> bytes:
    """The widget as drawn now, pixel by pixel (32-bit RGB, no metadata)."""
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    return bytes(image.constBits())

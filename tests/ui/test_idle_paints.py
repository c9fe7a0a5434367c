"""An age that ticks repaints its own words only: no dock, no plots under the STALE banner, no
re-layout of the window, only the cells that changed, and panels refreshed when their words
change rather than on every grid point."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QModelIndex, QObject
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow, QWidget

from opsconsole.core.events import AlertChanged, ConnectionChanged, MetricsBatch, SnapshotLoaded
from opsconsole.core.models import (
    METRIC_FIELDS,
    Alert,
    ConnectionState,
    LinkStatus,
    Service,
    Transport,
)
from opsconsole.ui.charts import ChartWidget
from opsconsole.ui.panel import TIME_POLL_S
from opsconsole.ui.panels.alerts import AlertsPanel
from opsconsole.ui.panels.services import ServicesPanel
from opsconsole.ui.statusbar import BackendStatusBar
from tests.support.panels import PanelHarness

LIVE = LinkStatus(ConnectionState.LIVE, Transport.WEBSOCKET)
STALE = LinkStatus(ConnectionState.STALE, Transport.WEBSOCKET)


class EventCounter(QObject):
    """Counts paints and layout requests per watched widget."""

    def __init__(self, *widgets: QWidget) -> None:
        super().__init__()
        self.paints: Counter[QWidget] = Counter()
        self.layouts: Counter[QWidget] = Counter()
        self.widgets = widgets
        for w in widgets:
            w.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.paints[watched] += 1
        elif event.type() == QEvent.Type.LayoutRequest:
            self.layouts[watched] += 1
        return False

    def clear(self) -> None:
        self.paints.clear()
        self.layouts.clear()

    def close(self) -> None:
        for w in self.widgets:
            w.removeEventFilter(self)


def settle(qtbot, counter: EventCounter, painted: QWidget) -> None:
    """Wait until `painted` was painted, then let any later paint or layout pass through."""
    qtbot.waitUntil(lambda: counter.paints[painted] >= 1, timeout=3000)
    # Then deliver everything that paint or layout queued (a second paint asked for by
    # UpdateLater, a re-layout, the repaints they post): what is owed lands here, and nothing
    # is left to come, so a count taken after this is final without waiting a fixed time.
    for _ in range(4):
        QApplication.sendPostedEvents()
        QApplication.processEvents()


@pytest.fixture
def ui(qapp, qtbot) -> Iterator[PanelHarness]:
    harness = PanelHarness(qapp, qtbot)
    yield harness
    harness.close()


def docked(qtbot, panel: QWidget) -> tuple[QMainWindow, QDockWidget]:
    window = QMainWindow()
    qtbot.addWidget(window)
    dock = QDockWidget("Panel", window)
    dock.setObjectName("dock_test")
    dock.setWidget(panel)
    window.addDockWidget(dock_area(), dock)
    window.setCentralWidget(QWidget())
    window.resize(900, 500)
    window.show()
    qtbot.waitExposed(window)
    return window, dock


def dock_area():
    from PySide6.QtCore import Qt

    return Qt.DockWidgetArea.LeftDockWidgetArea


def stale_for(ui: PanelHarness, seconds: float, backend: str = "sim") -> None:
    ui.store.apply(ConnectionChanged(backend, STALE))
    ui.store.backend(backend).data_mono = time.monotonic() - seconds


# ------------------------------------------------------------------ the STALE banner


def test_a_new_banner_text_repaints_the_banner_not_the_plots_under_it(qapp, qtbot) -> None:
    from opsconsole.ui import theme

    theme.apply_theme(qapp)  # as in the app: the stylesheet changes how labels are polished
    chart = ChartWidget()
    qtbot.addWidget(chart)
    chart.addPlot()
    chart.resize(700, 400)
    chart.show()
    qtbot.waitExposed(chart)
    chart.show_banner("<b>STALE 11 s</b>")
    banner = chart._banner
    assert banner is not None
    counter = EventCounter(chart.viewport(), banner)
    settle(qtbot, counter, banner)
    # The first new text after the first show may still size the banner for the stylesheet
    # polished with it; from then on a new age repaints the banner alone.
    chart.show_banner("<b>STALE 12 s</b>")
    settle(qtbot, counter, banner)
    geometry = banner.geometry()

    counter.clear()
    chart.show_banner("<b>STALE 13 s</b>")
    settle(qtbot, counter, banner)
    assert counter.paints[banner] == 1
    assert counter.paints[chart.viewport()] == 0, "the plots were repainted under the banner"
    # A narrower text keeps the banner's size and place: nothing under it is uncovered.
    chart.show_banner("<b>STALE 9 s</b>")
    assert banner.geometry() == geometry
    # Gone and back: sized afresh for its new words.
    chart.hide_banner()
    chart.show_banner("<b>STALE</b>")
    assert banner.width() < geometry.width()
    counter.close()


def test_the_banner_is_drawn_on_its_solid_background(qapp, qtbot) -> None:
    from opsconsole.ui import theme

    chart = ChartWidget()
    qtbot.addWidget(chart)
    chart.resize(500, 300)
    chart.show()
    chart.show_banner("<b>STALE 40 s</b>")
    banner = chart._banner
    assert banner is not None
    image = banner.grab().toImage()
    # Inside the 2 px border, away from the text: the console's background, not garbage.
    assert image.pixelColor(6, image.height() // 2).name() == theme.BACKGROUND


# ------------------------------------------------------------------ the status bar


def test_a_status_bar_age_that_ticks_paints_its_label_once_and_lays_out_nothing(ui, qtbot) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    bar = BackendStatusBar(ui.ctx)
    window.statusBar().addPermanentWidget(bar, 1)
    window.resize(900, 300)
    window.show()
    qtbot.waitExposed(window)
    stale_for(ui, 12.3)
    bar.run_refresh(time.monotonic())
    label = bar.findChild(QWidget, "link_sim")
    assert "STALE 12 s" in bar.text_for("sim")
    counter = EventCounter(label, bar, window.statusBar(), window)
    settle(qtbot, counter, label)
    width = label.width()

    counter.clear()
    ui.store.backend("sim").data_mono -= 1.0
    bar.run_refresh(time.monotonic())
    assert "STALE 13 s" in bar.text_for("sim")
    settle(qtbot, counter, label)
    assert counter.paints[label] == 1
    assert counter.layouts[bar] == 0 and counter.layouts[window] == 0, "re-laid out"
    assert label.width() == width
    # Wider words still get their room.
    ui.store.backend("sim").data_mono -= 3600.0
    bar.run_refresh(time.monotonic())
    assert label.width() >= label.sizeHint().width() > width
    counter.close()


# ------------------------------------------------------------------ a docked panel


def alert_at(since_ts: float) -> Alert:
    return Alert(
        id="a1",
        service="orders",
        rule="latency",
        severity="page",
        state="firing",
        since_ts=since_ts,
        value=612.0,
        threshold=500.0,
    )


def test_a_docked_panel_repaints_its_words_not_the_dock_or_the_window(ui, qtbot) -> None:
    panel = AlertsPanel(ui.ctx)
    window, dock = docked(qtbot, panel)
    stale_for(ui, 20.4)
    panel.run_refresh(time.monotonic())
    assert "data 20 s old" in panel.summary_text
    counter = EventCounter(panel.summary, panel, dock, window)
    settle(qtbot, counter, panel.summary)

    counter.clear()
    ui.store.backend("sim").data_mono -= 1.0
    panel.run_refresh(time.monotonic())
    assert "data 21 s old" in panel.summary_text
    settle(qtbot, counter, panel.summary)
    assert counter.paints[panel.summary] == 1
    assert counter.paints[dock] == 0, "the dock's title bar was repainted under the words"
    assert counter.paints[window] == 0
    assert counter.layouts[panel] == 0 and counter.layouts[window] == 0, "re-laid out"
    counter.close()


# ------------------------------------------------------------------ when panels are due


def test_alerts_are_due_when_the_stale_age_next_reads_differently(ui, qtbot) -> None:
    panel = ui.show(AlertsPanel(ui.ctx), (900, 300))
    stale_for(ui, 12.3)
    now = time.monotonic()
    panel.run_refresh(now)
    assert "data 12 s old" in panel.summary_text
    due = panel.next_tick(now)
    assert 0.6 < due - now < 0.75, "not when '12 s' turns '13 s'"  # was every grid point
    assert not panel.needs_refresh()
    qtbot.waitUntil(panel.needs_refresh, timeout=2000)
    panel.run_refresh(time.monotonic())
    assert "data 13 s old" in panel.summary_text


def test_alert_ages_are_refreshed_at_least_once_a_second(ui) -> None:
    panel = ui.show(AlertsPanel(ui.ctx), (900, 300))
    ui.store.apply(ConnectionChanged("sim", LIVE))
    ui.store.apply(AlertChanged("sim", alert_at(time.time() - 30.5)))
    now = time.monotonic()
    panel.run_refresh(now)
    assert 0.0 < panel.next_tick(now) - now <= 1.0 + TIME_POLL_S / 10


def metrics(ui: PanelHarness, service: str, ts: float, **fields: float) -> None:
    """One row of real core input: the fields given, NaN (no data) for the rest."""
    values = np.full((1, len(METRIC_FIELDS)), np.nan)
    for name, value in fields.items():
        values[0, METRIC_FIELDS.index(name)] = value
    ui.store.apply(MetricsBatch("sim", (service,), np.array([ts]), values, METRIC_FIELDS))


def test_a_stale_age_repaints_only_the_why_cells_and_is_due_on_its_second(ui, qtbot) -> None:
    panel = ui.show(ServicesPanel(ui.ctx), (1000, 300))
    names = ("orders", "users")
    ui.store.apply(SnapshotLoaded("sim", tuple(Service(name=n) for n in names), (), (), (), ts=1.0))
    ui.store.apply(ConnectionChanged("sim", LIVE))
    for n in names:
        metrics(ui, n, time.time(), latency_p99_ms=80.0, rps=50.0, error_ratio=0.0)
    stale_for(ui, 12.3)
    now = time.monotonic()
    panel.run_refresh(now)
    model = panel.model
    why = model.column_of("why")
    assert model.text(0, "why") == "STALE 12 s"
    due = panel.next_tick(now)
    assert 0.6 < due - now < 0.75, "not when '12 s' turns '13 s'"

    changed: list[tuple[int, int, int, int]] = []

    def record(top_left: QModelIndex, bottom_right: QModelIndex, *_: object) -> None:
        changed.append(
            (top_left.row(), bottom_right.row(), top_left.column(), bottom_right.column())
        )

    model.dataChanged.connect(record)
    panel.run_refresh(time.monotonic())  # nothing moved: nothing said
    assert changed == []
    qtbot.waitUntil(panel.needs_refresh, timeout=2000)  # due when "12 s" turns "13 s"
    panel.run_refresh(time.monotonic())
    assert model.text(0, "why") == "STALE 13 s"
    assert {c for _, _, first, last in changed for c in range(first, last + 1)} == {why}
    assert {r for first, last, _, _ in changed for r in range(first, last + 1)} == {0, 1}


def test_a_stale_age_that_ticks_does_not_judge_the_samples_again(ui, qtbot) -> None:
    panel = ui.show(ServicesPanel(ui.ctx), (1000, 300))
    ui.store.apply(SnapshotLoaded("sim", (Service(name="orders"),), (), (), (), ts=1.0))
    ui.store.apply(ConnectionChanged("sim", LIVE))
    metrics(ui, "orders", time.time(), latency_p99_ms=80.0, rps=50.0, error_ratio=0.0)
    stale_for(ui, 12.3)
    panel.run_refresh(time.monotonic())
    judged = panel._judged[("sim", "orders")]
    qtbot.waitUntil(panel.needs_refresh, timeout=2000)
    panel.run_refresh(time.monotonic())
    assert panel.model.text(0, "why") == "STALE 13 s"
    assert panel._judged[("sim", "orders")] is judged, "judged again for a new age alone"
    # New samples are judged.
    ui.store.apply(ConnectionChanged("sim", LIVE))
    metrics(ui, "orders", time.time(), latency_p99_ms=90.0, rps=50.0, error_ratio=0.0)
    panel.run_refresh(time.monotonic())
    assert panel._judged[("sim", "orders")] is not judged

"""The quick start: live values in the Services table first, the charts' panels made after."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import Qt

from opsconsole.core.events import ConnectionChanged, MetricsBatch, SnapshotLoaded
from opsconsole.core.models import METRIC_FIELDS, ConnectionState, LinkStatus, Service
from opsconsole.core.store import Store
from opsconsole.ui.context import Selection, UiContext
from opsconsole.ui.layout import LayoutStore
from opsconsole.ui.mainwindow import DEFERRED_PANELS, PANEL_ORDER, MainWindow
from opsconsole.ui.panel import Panel

T0 = 1_800_000_000.0


def deferred_window(qtbot, store: Store, layouts: LayoutStore | None = None) -> MainWindow:
    win = MainWindow(UiContext(store, Selection()), layouts, defer_charts=True)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.start()
    return win


def live_services(store: Store) -> None:
    """The backend says its services (no samples yet), as a hello's snapshot does."""
    services = (Service(name="orders"), Service(name="payments"))
    store.apply(SnapshotLoaded("b", services, (), (), (), ts=T0))
    store.apply(ConnectionChanged("b", LinkStatus(ConnectionState.LIVE)))


def one_second_of_samples(store: Store, p99_ms: float) -> None:
    values = np.full((1, len(METRIC_FIELDS)), 1.0)
    values[0, METRIC_FIELDS.index("latency_p99_ms")] = p99_ms
    for name in ("orders", "payments"):
        store.apply(MetricsBatch("b", (name,), np.array([T0 + 1.0]), values, METRIC_FIELDS))


def test_the_services_tables_first_live_values_are_the_consoles_first_data(qtbot) -> None:
    store = Store(capacity=600)
    live_services(store)
    win = deferred_window(qtbot, store)
    stats = win.ctx.stats
    # Rows without samples are no live data: a few frames later nothing is stamped.
    qtbot.waitUntil(lambda: win.services.model.rowCount() == 2)
    ticks = win.scheduler.ticks
    qtbot.waitUntil(lambda: win.scheduler.ticks >= ticks + 2 or not win.scheduler.ticking)
    assert stats.first_data_painted_at is None

    before = time.monotonic()
    one_second_of_samples(store, 432.0)
    qtbot.waitUntil(lambda: stats.first_data_painted_at is not None)
    assert stats.first_data_painted_at >= before
    model = win.services.model
    assert model.text(model.row_of("b", "orders"), "p99") == "432"
    # The charts were never needed for it: their panels still wait.
    assert not win.complete
    assert all(win.docks[i].widget().objectName() != i for i in DEFERRED_PANELS)


def test_waiting_panels_are_made_into_their_docks_one_per_loop_turn(qtbot) -> None:
    win = deferred_window(qtbot, Store(capacity=600))
    made: list[Panel] = []
    win.when_built("budgets", made.append)
    assert [p.panel_id for p in win.panels] == [
        i for i, _ in PANEL_ORDER if i not in DEFERRED_PANELS
    ]
    assert "golden_signals" not in [p.panel_id for p in win.scheduler.panels]
    win.finish_build_soon()
    assert not win.complete  # nothing made inside the call: the loop makes them
    qtbot.waitUntil(lambda: win.complete)
    assert [p.panel_id for p in win.panels] == [i for i, _ in PANEL_ORDER]
    for panel_id in DEFERRED_PANELS:
        panel = win.panel(panel_id)
        assert win.docks[panel_id].widget() is panel
        assert panel in win.scheduler.panels
    assert made == [win.budgets]
    win.when_built("budgets", made.append)  # once made, at once
    assert made == [win.budgets, win.budgets]


def test_reading_a_waiting_panel_makes_it_at_once(qtbot) -> None:
    win = deferred_window(qtbot, Store(capacity=600))
    signals = win.signals
    assert signals.panel_id == "golden_signals"
    assert win.docks["golden_signals"].widget() is signals
    assert not win.complete
    win.ctx.runner.run("panel.focus.overview", source="test")  # Alt+0 on a waiting panel
    assert win.docks["overview"].widget() is win.overview
    win.finish_build()
    assert win.complete


def test_a_saved_layout_is_restored_onto_the_waiting_docks(qtbot, tmp_path) -> None:
    layouts = LayoutStore(tmp_path / "layouts.json")
    first = MainWindow(UiContext(Store(), Selection()), layouts)
    qtbot.addWidget(first)
    first.show()
    qtbot.waitExposed(first)
    first.docks["overview"].close()
    first.removeDockWidget(first.docks["budgets"])  # the budgets on their own, at the bottom
    first.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, first.docks["budgets"])
    first.docks["budgets"].show()
    layouts.save(first)
    first.close()

    win = deferred_window(qtbot, Store(capacity=600), layouts)
    assert win.docks["overview"].isHidden()
    win.finish_build()
    assert win.docks["overview"].isHidden()
    assert win.docks["overview"].widget() is win.overview
    budgets = win.docks["budgets"]
    assert win.dockWidgetArea(budgets) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert not win.tabifiedDockWidgets(budgets)
    assert budgets.widget() is win.budgets

"""The main window against the real reference backend: panels, status, STALE and recovery."""

from __future__ import annotations

import numpy as np
import pytest

from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.core.events import AlertChanged, MetricsBatch
from opsconsole.core.models import METRIC_FIELDS, Alert, ConnectionState
from opsconsole.core.store import Store
from opsconsole.ui.context import Selection, UiContext
from opsconsole.ui.layout import LayoutStore
from opsconsole.ui.mainwindow import MainWindow
from tests.support.waiting import wait_until

SERVICES = {
    "api-gateway",
    "orders",
    "payments",
    "inventory",
    "users",
    "analytics",
    "notifications",
    "search",
}


@pytest.fixture
def window(qtbot, tmp_path):
    store = Store(capacity=600)
    ctx = UiContext(store, Selection(), demo=True)
    win = MainWindow(ctx, LayoutStore(tmp_path / "layouts.json"))
    qtbot.addWidget(win)
    win.show()
    win.start()
    return win


def service_names(win: MainWindow) -> set[str]:
    model = win.services.model
    return {model.key_at(r)[1] for r in range(model.rowCount())}


def curve_len(curve) -> int:
    xs = curve.getData()[0]
    return 0 if xs is None else len(xs)


def why(win: MainWindow) -> str:
    model = win.services.model
    return model.text(model.row_of("sim", "orders"), "why")


def test_window_shows_live_data_then_stale_then_live_again(window, qloop, sim_thread):
    sim = sim_thread()
    port = int(sim.url.rsplit(":", 1)[1])
    store = window.ctx.store

    async def scenario() -> None:
        client = OpsApiClient("sim", sim.url, store.apply)
        client.start()
        try:
            await wait_until(lambda: service_names(window) == SERVICES, 10, "every service")
            await wait_until(lambda: window.ctx.selection.service is not None, 5, "a selection")
            curve = window.signals.curves["latency_p99_ms"]
            await wait_until(lambda: curve_len(curve) > 3, 10, "chart data")
            await wait_until(lambda: "LIVE" in window.status.text_for("sim"), 5, "LIVE")
            assert window.ctx.stats.first_data_painted_at is not None

            sim.stop()
            await wait_until(
                lambda: (
                    "STALE" in window.status.text_for("sim")
                    or "RECONNECTING" in window.status.text_for("sim")
                ),
                10,
                "loss shown",
            )
            await wait_until(lambda: store.data_age("sim") > 3.0, 10, "data to age")
            assert "STALE" in why(window)

            sim_thread(port=port)  # the same port, a new epoch: the client finds it by itself
            await wait_until(lambda: client.status.state is ConnectionState.LIVE, 15, "relink")
            await wait_until(lambda: "LIVE" in window.status.text_for("sim"), 5, "LIVE again")
            await wait_until(
                lambda: "STALE" not in why(window),
                5,
                "rows live again",
            )
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=60)


def test_a_burst_of_frames_causes_a_bounded_number_of_repaints(window, qloop):
    store = window.ctx.store
    window.ctx.selection.select("burst", "svc-0")
    names = tuple(f"svc-{i}" for i in range(8))
    panel = window.signals

    async def scenario() -> tuple[int, int]:
        await window.scheduler.frames(2)
        before_refresh, before_ticks = panel.refresh_count, window.scheduler.ticks
        t0 = 1_800_000_000.0
        for k in range(1000):  # 1,000 frames with no chance for the loop to run in between
            values = np.full((len(names), len(METRIC_FIELDS)), 0.5)
            store.apply(
                MetricsBatch("burst", names, np.full(len(names), t0 + k), values, METRIC_FIELDS)
            )
        await window.scheduler.frames(3)
        return panel.refresh_count - before_refresh, window.scheduler.ticks - before_ticks

    refreshes, ticks = qloop.run(scenario())
    assert refreshes >= 1 and refreshes <= ticks <= 5, (refreshes, ticks)
    assert curve_len(panel.curves["cpu"]) > 0


def test_hidden_panel_does_no_work(window, qloop):
    store = window.ctx.store
    window.ctx.selection.select("burst", "svc-0")
    window.docks["golden_signals"].hide()

    async def scenario() -> int:
        await window.scheduler.frames(2)
        before = window.signals.refresh_count
        for k in range(50):
            store.apply(
                MetricsBatch(
                    "burst",
                    ("svc-0",),
                    np.array([1e9 + k]),
                    np.full((1, len(METRIC_FIELDS)), 0.1),
                    METRIC_FIELDS,
                )
            )
            await window.scheduler.frames(1)
        return window.signals.refresh_count - before

    assert qloop.run(scenario()) == 0


def test_layout_is_saved_and_restored(qtbot, tmp_path):
    layouts = LayoutStore(tmp_path / "layouts.json")
    ctx = UiContext(Store(), Selection())
    first = MainWindow(ctx, layouts)
    qtbot.addWidget(first)
    first.show()
    first.docks["console_health"].close()
    first.close()
    assert (tmp_path / "layouts.json").exists()

    second = MainWindow(UiContext(Store(), Selection()), layouts)
    qtbot.addWidget(second)
    second.show()
    qtbot.waitUntil(lambda: second.docks["services"].isVisible(), timeout=2000)
    assert not second.docks["console_health"].isVisible()
    second.reset_layout()
    assert second.docks["console_health"].isVisible()


def test_corrupt_layout_file_is_ignored(qtbot, tmp_path):
    path = tmp_path / "layouts.json"
    path.write_text("{not json")
    win = MainWindow(UiContext(Store(), Selection()), LayoutStore(path))
    qtbot.addWidget(win)
    win.show()
    assert win.docks["services"].isVisible()


def shown(win: MainWindow, dock_id: str) -> bool:
    """On screen: not closed, not behind another tab, not squeezed to nothing."""
    dock = win.docks[dock_id]
    return dock.isVisible() and not dock.visibleRegion().isEmpty()


def test_alerts_are_never_behind_a_tab_in_the_built_in_layouts(qtbot, tmp_path):
    win = MainWindow(UiContext(Store(), Selection()), LayoutStore(tmp_path / "layouts.json"))
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitExposed(win)
    for name in (None, "Triage", "Database"):
        if name is not None:
            win.load_layout(name)
        qtbot.waitUntil(lambda: shown(win, "alerts"), timeout=2000)
        assert win.tabifiedDockWidgets(win.docks["alerts"]) == [], name
        # Room for the headline and a few rows, not a sliver.
        assert win.alerts.view.height() >= 3 * win.alerts.view.verticalHeader().defaultSectionSize()
        for other in ("services", "golden_signals", "breakers", "clusters", "timeline"):
            assert shown(win, other), (name, other)


def page(alert_id: str, **kw) -> Alert:
    base = {
        "id": alert_id,
        "service": "orders",
        "rule": "latency",
        "severity": "page",
        "state": "firing",
        "since_ts": 1_800_000_000.0,
    }
    return Alert(**{**base, **kw})


def test_pages_firing_are_counted_in_the_titles(qtbot, tmp_path):
    store = Store()
    win = MainWindow(UiContext(store, Selection(), demo=True), None)
    qtbot.addWidget(win)
    win.show()
    assert win.windowTitle() == "opsconsole — DEMO"
    store.apply(AlertChanged("sim", page("a")))
    store.apply(AlertChanged("sim", page("b", service="payments")))
    store.apply(AlertChanged("sim", page("ticket", severity="ticket")))  # not a page
    store.apply(AlertChanged("sim", page("muted", silenced_by=("s-1",))))  # nobody is paged
    qtbot.waitUntil(lambda: win.windowTitle() == "2 FIRING · opsconsole — DEMO", timeout=2000)
    assert win.docks["alerts"].windowTitle() == "Alerts · 2 FIRING"
    store.apply(AlertChanged("sim", page("a", state="resolved")))
    store.apply(AlertChanged("sim", page("b", service="payments", state="resolved")))
    qtbot.waitUntil(lambda: win.windowTitle() == "opsconsole — DEMO", timeout=2000)
    assert win.docks["alerts"].windowTitle() == "Alerts"


def test_a_page_brings_alerts_forward_in_an_old_saved_layout(qtbot, tmp_path):
    layouts = LayoutStore(tmp_path / "layouts.json")
    # An older version's arrangement: alerts tabbed behind the circuit breakers.
    old = MainWindow(UiContext(Store(), Selection()), layouts)
    qtbot.addWidget(old)
    old.show()
    qtbot.waitExposed(old)
    old.tabifyDockWidget(old.docks["breakers"], old.docks["alerts"])
    old.docks["breakers"].raise_()
    qtbot.waitUntil(lambda: not shown(old, "alerts"), timeout=2000)
    old.close()

    store = Store()
    win = MainWindow(UiContext(store, Selection()), layouts)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: shown(win, "breakers"), timeout=2000)
    assert not shown(win, "alerts")  # the operator's layout is restored as it was
    store.apply(AlertChanged("sim", page("a")))
    qtbot.waitUntil(lambda: shown(win, "alerts"), timeout=2000)
    assert win.docks["alerts"].windowTitle() == "Alerts · 1 FIRING"
    # Once looked at, the operator may go back to the breakers: the same page does not
    # pull alerts forward again, a new one does.
    win.docks["breakers"].raise_()
    store.apply(AlertChanged("sim", page("a", acked_by="alice", acked_ts=1_800_000_001.0)))
    qtbot.waitUntil(lambda: not win.pages_timer.isActive(), timeout=2000)  # counted
    qtbot.waitUntil(lambda: shown(win, "breakers"), timeout=2000)
    assert not shown(win, "alerts")
    store.apply(AlertChanged("sim", page("b", service="payments")))
    qtbot.waitUntil(lambda: shown(win, "alerts"), timeout=2000)
    # A closed alerts dock comes back for a new page too.
    win.docks["alerts"].close()
    store.apply(AlertChanged("sim", page("c", service="search")))
    qtbot.waitUntil(lambda: shown(win, "alerts"), timeout=2000)

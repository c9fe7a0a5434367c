"""Fleet overview panel: a cell per service from real store events, limits, health words,
broken lines, STALE, opening a service, rebuilding only what changed, and the real backend."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

import numpy as np
import pytest
from PySide6.QtCore import Qt

from opsconsole.core.events import ConnectionChanged, EventOccurred, MetricsBatch, SnapshotLoaded
from opsconsole.core.health import Health
from opsconsole.core.models import (
    METRIC_FIELDS,
    ConnectionState,
    Event,
    LinkStatus,
    Service,
    Thresholds,
)
from opsconsole.core.store import Store
from opsconsole.ui import theme
from opsconsole.ui.context import Selection, UiContext
from opsconsole.ui.panels.overview import FleetOverviewPanel
from opsconsole.ui.repaint import RepaintScheduler
from tests.support.shots import save_shot
from tests.support.waiting import wait_until

T0 = 1_800_000_000.0
CALM = {
    "latency_p50_ms": 40.0,
    "latency_p95_ms": 90.0,
    "latency_p99_ms": 150.0,
    "rps": 100.0,
    "error_ratio": 0.002,
    "cpu": 0.3,
    "memory": 0.5,
}


class Fleet:
    """A store on a clock the test moves, the panel over it, and ways to feed it."""

    def __init__(self, qapp, qtbot, names: tuple[str, ...], size=(1100, 700)) -> None:
        theme.apply_theme(qapp)
        self.now = 1000.0
        self.store = Store(capacity=3600, clock=lambda: self.now)
        self.ctx = UiContext(self.store, Selection(), clock=lambda: self.now)
        self.panel = FleetOverviewPanel(self.ctx)
        qtbot.addWidget(self.panel)
        self.panel.resize(*size)
        self.panel.show()
        qtbot.waitExposed(self.panel)
        self.services = {n: Service(name=n) for n in names}
        self.ts = T0
        self.snapshot()
        self.store.apply(ConnectionChanged("b", LinkStatus(ConnectionState.LIVE)))

    def snapshot(self) -> None:
        services = tuple(self.services.values())
        self.store.apply(SnapshotLoaded("b", services, (), (), (), ts=self.ts))

    def second(self, ts: float | None = None, **per_service: dict[str, float]) -> None:
        """One sample for every service at `ts` (default: the next second), calm unless told."""
        self.ts = self.ts + 1.0 if ts is None else ts
        names = tuple(self.services)
        values = np.array(
            [[{**CALM, **per_service.get(n, {})}[f] for f in METRIC_FIELDS] for n in names]
        )
        self.store.apply(
            MetricsBatch("b", names, np.full(len(names), self.ts), values, METRIC_FIELDS)
        )

    def seconds(self, n: int, **per_service: dict[str, float]) -> None:
        for _ in range(n):
            self.second(**per_service)

    def refresh(self) -> int:
        self.panel.run_refresh(self.now)
        return self.panel.rebuilt

    def cell(self, name: str):
        grid = self.panel.grid
        return grid.cells[self.panel.cell_keys().index(("b", name))]


@pytest.fixture
def fleet(qapp, qtbot) -> Iterator[Fleet]:
    yield Fleet(qapp, qtbot, ("payments", "orders", "api-gateway", "search"))


def test_a_cell_per_service_in_a_stable_order_with_its_limit_lines(qapp, qtbot) -> None:
    f = Fleet(qapp, qtbot, ("orders", "api-gateway"))
    f.services["orders"] = Service(
        name="orders", thresholds=Thresholds(latency_p99_ms=300.0, error_ratio=0.02, cpu=0.7)
    )
    f.snapshot()
    f.seconds(120)
    f.refresh()
    assert f.panel.cell_keys() == [("b", "api-gateway"), ("b", "orders")], "by name, not worst"
    orders = f.cell("orders")
    # Each strip names its signal and its scale (the top the limit line sits under).
    labels = [s.label for s in orders.strips]
    assert [label.rsplit(" ", 1)[0] for label in labels] == ["p99 ms", "rps", "err %", "CPU %"]
    assert all(
        label.endswith(f" 0–{s.y_top:g}") for label, s in zip(labels, orders.strips, strict=True)
    )
    assert [s.limit for s in orders.strips] == pytest.approx([300.0, None, 2.0, 70.0])
    gateway = f.cell("api-gateway")
    assert [s.limit for s in gateway.strips] == pytest.approx([500.0, None, 1.0, 80.0])
    # The Y axis holds the limit line with headroom, so it is always on screen.
    for strip in orders.strips:
        if strip.limit is not None:
            assert strip.y_top > strip.limit
    assert orders.state == "OK" and orders.colour == theme.STATE_COLOURS[Health.HEALTHY]
    assert all(strip.lines[0].count == 1 for strip in orders.strips), "one unbroken line each"
    # A new backend's services come after, the existing cells keep their places.
    f.store.apply(SnapshotLoaded("a-first", (Service(name="zeta"),), (), (), (), ts=T0))
    f.refresh()
    assert f.panel.cell_keys()[:1] == [("a-first", "zeta")]
    assert f.cell("orders").title == "orders · b", "several backends: the backend is named"
    save_shot(f.panel, "overview_panel_limits.png")


def test_a_service_made_critical_turns_red_with_its_word(fleet: Fleet) -> None:
    fleet.seconds(60)
    fleet.refresh()
    assert fleet.cell("payments").state == "OK"
    fleet.seconds(6, payments={"latency_p99_ms": 1400.0})
    fleet.refresh()
    payments = fleet.cell("payments")
    assert payments.state == "CRIT"
    assert payments.colour == theme.STATE_COLOURS[Health.CRITICAL]
    assert fleet.cell("orders").state == "OK", "only the service in trouble"
    # The spike is on screen: the p99 axis grew over it instead of clipping it.
    assert payments.strips[0].y_top >= 1400.0
    fleet.seconds(6)
    fleet.refresh()
    assert fleet.cell("payments").state == "OK", "back under the limit, back to OK"


def test_no_traffic_is_said_not_judged(fleet: Fleet) -> None:
    fleet.seconds(30, search={"rps": 0.0, "latency_p99_ms": math.nan})
    fleet.refresh()
    assert fleet.cell("search").state == "no traffic"
    assert fleet.cell("search").colour == theme.STATE_COLOURS[Health.UNKNOWN]


def test_a_nan_sample_and_a_hole_in_time_break_the_line(fleet: Fleet) -> None:
    fleet.seconds(200)
    fleet.second(orders={"latency_p99_ms": math.nan})  # no data for one second
    fleet.seconds(100)
    fleet.refresh()
    assert fleet.cell("orders").strips[0].lines[0].count >= 2, "NaN breaks the p99 line"
    assert fleet.cell("orders").strips[1].lines[0].count == 1, "rps had data: unbroken"
    assert fleet.cell("payments").strips[0].lines[0].count == 1
    # Nothing from any service for two minutes: every line breaks there.
    fleet.second(ts=fleet.ts + 120.0)
    fleet.seconds(60)
    fleet.refresh()
    assert fleet.cell("payments").strips[0].lines[0].count >= 2, "a hole in time breaks it"
    assert fleet.cell("api-gateway").strips[3].lines[0].count >= 2


def test_a_stale_backend_dims_its_cells_and_says_stale_with_a_growing_age(fleet: Fleet) -> None:
    fleet.seconds(60)
    fleet.refresh()
    assert not fleet.panel.wants_tick, "live and idle: no ticking"
    fleet.store.apply(ConnectionChanged("b", LinkStatus(ConnectionState.RECONNECTING)))
    fleet.now += 12.0
    fleet.refresh()
    assert fleet.panel.wants_tick, "the age counts up without news"
    stale = re.compile(r"^STALE (\d+) s · no new data from b")
    ages = []
    for _ in range(3):
        cells = fleet.panel.grid.cells
        assert all(c.dim and c.state == "STALE" for c in cells), [c.state for c in cells]
        assert all(c.colour == theme.STATE_COLOURS[Health.UNKNOWN] for c in cells)
        # The age, the same for every cell of the backend, is said once over the grid.
        line = fleet.panel.stale_line
        assert not line.isHidden()
        match = stale.match(line.text())
        assert match, line.text()
        ages.append(int(match[1]))
        fleet.now += 1.0
        fleet.refresh()
    assert ages == [12, 13, 14], "the age only grows while nothing arrives"
    save_shot(fleet.panel, "overview_panel_stale.png")
    fleet.store.apply(ConnectionChanged("b", LinkStatus(ConnectionState.LIVE)))
    fleet.second(ts=fleet.ts + 15.0)
    fleet.refresh()
    assert all(not c.dim and c.state == "OK" for c in fleet.panel.grid.cells)
    assert fleet.panel.stale_line.isHidden()


def test_click_and_enter_open_the_service(fleet: Fleet, qtbot) -> None:
    fleet.seconds(30)
    fleet.refresh()
    opened: list[tuple[str, str]] = []
    fleet.panel.opened.connect(lambda b, s: opened.append((b, s)))
    grid = fleet.panel.grid
    i = fleet.panel.cell_keys().index(("b", "orders"))
    qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=grid.cell_rect(i).center())
    sel = fleet.ctx.selection
    assert (sel.backend, sel.service, sel.picked) == ("b", "orders", True)
    assert opened == [("b", "orders")]
    grid.setFocus()
    qtbot.keyClick(grid, Qt.Key.Key_Right)  # orders → payments (by name)
    assert (sel.backend, sel.service) == ("b", "orders"), "moving alone opens nothing"
    qtbot.keyClick(grid, Qt.Key.Key_Return)
    assert (sel.backend, sel.service) == ("b", "payments")
    assert opened[-1] == ("b", "payments")


def test_only_the_cells_whose_data_changed_are_rebuilt(fleet: Fleet) -> None:
    fleet.seconds(120)
    assert fleet.refresh() == 4, "the first refresh builds every cell"
    assert fleet.refresh() == 0, "no news, nothing rebuilt"
    # One new sample for one service, inside the column the window already ends in (a new
    # column would move every curve left by a pixel, and rebuild them all, rightly).
    bins = fleet.panel.grid.bins
    boundary = (bins.column_of(fleet.ts) + 1) * bins.width_s
    ts = fleet.ts + (boundary - fleet.ts) / 2
    fleet.store.apply(
        MetricsBatch(
            "b",
            ("orders",),
            np.array([ts]),
            np.array([[CALM[f] for f in METRIC_FIELDS]]),
            METRIC_FIELDS,
        )
    )
    assert fleet.refresh() == 1


def test_event_markers_on_the_services_they_concern(fleet: Fleet) -> None:
    fleet.seconds(120)
    deploy = Event(ts=fleet.ts - 30.0, kind="deploy", message="orders v2", service="orders", seq=7)
    fleet.store.apply(EventOccurred("b", deploy))
    fleet.refresh()
    assert fleet.cell("orders").markers == (deploy.ts,)
    assert fleet.cell("search").markers == (), "search does not depend on orders"


def test_two_hundred_services_scroll_with_every_cell_present(qapp, qtbot) -> None:
    names = tuple(f"svc-{i:03d}" for i in range(200))
    f = Fleet(qapp, qtbot, names, size=(1920, 1080))
    f.seconds(30)
    f.refresh()
    assert f.panel.cell_keys() == [("b", n) for n in names]
    grid = f.panel.grid
    assert grid.height() > f.panel.scroll.viewport().height(), "more than fit: it scrolls"
    assert grid.columns == f.panel.scroll.viewport().width() // 180


def test_the_console_window_against_the_real_backend(qloop, qtbot, sim_thread, tmp_path) -> None:
    from opsconsole.backends.opsapi import OpsApiClient
    from tests.support.console import make_console, show

    sim = sim_thread()
    store = Store(capacity=600)
    client = OpsApiClient("sim", sim.url, store.apply)
    console, _ = make_console(tmp_path, {"sim": client}, store)
    window = console.window
    show(qtbot, window)
    panel: FleetOverviewPanel = window.overview
    assert not panel.in_sight(), "tabbed behind the services list"
    window.docks["budgets"].raise_()  # the charts behind a tab, to be brought forward
    assert window.docks["golden_signals"].visibleRegion().isEmpty()

    async def scenario() -> None:
        client.start()
        try:
            await wait_until(lambda: store.backend("sim").samples_ingested > 0, 10, "data")
            await window.scheduler.frames(3)
            assert panel.cell_keys() == [], "out of sight, it does no work"
            window.docks["overview"].raise_()

            def drawn() -> bool:
                names = set(store.backend("sim").services)
                cells = panel.grid.cells
                return (
                    bool(names)
                    and {s for _, s in panel.cell_keys()} == names
                    and all(c.strips[1].lines and c.strips[1].lines[0].count for c in cells)
                )

            await wait_until(drawn, 15, "a line in every service's cell")
            grid = panel.grid
            i = panel.cell_keys().index(("sim", "payments"))
            qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=grid.cell_rect(i).center())
            sel = console.ctx.selection
            assert (sel.backend, sel.service) == ("sim", "payments")
            await wait_until(
                lambda: not window.docks["golden_signals"].visibleRegion().isEmpty(),
                5,
                "the golden signals in front",
            )
            assert window.signals.isVisible()
            assert panel.in_sight(), "the overview stays in sight"
            save_shot(window, "overview_in_console.png")
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=40)
    console.close()


def test_hidden_panel_costs_nothing(qapp, qtbot) -> None:
    f = Fleet(qapp, qtbot, ("orders",))
    scheduler = RepaintScheduler(f.ctx.stats)
    scheduler.add([f.panel])
    f.panel.hide()
    f.seconds(10)
    assert not f.panel.needs_refresh()

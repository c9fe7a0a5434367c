"""Error budgets panel: rows from real store events, colours, formulas on hover, `/`, the
detail's burn-down and tier table, and the panel against the real reference backend."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest
from PySide6.QtCore import Qt

from opsconsole.core.events import (
    ConnectionChanged,
    DeploysSeen,
    EventOccurred,
    SlosObserved,
)
from opsconsole.core.health import Health
from opsconsole.core.models import ConnectionState, Event, LinkStatus
from opsconsole.core.slo.model import WINDOW_SECONDS, Counts, Deploy, Slo, SloObservation, SloWindow
from opsconsole.core.store import Store
from opsconsole.ui import theme
from opsconsole.ui.panels.budgets import BudgetsPanel
from opsconsole.ui.panels.burndown import PLOT_MIN_HEIGHT, BurnDownPlot
from tests.support.console import make_console, show
from tests.support.panels import PanelHarness
from tests.support.shots import save_shot
from tests.support.waiting import wait_until

DAY = 86_400.0


def observation(
    service: str, error_ratio: float, whole_bad: float, now: float, **slo: object
) -> SloObservation:
    """100 000 requests an hour failing at `error_ratio`; the 30 d window holds `whole_bad`."""
    counts = {}
    for name, seconds in WINDOW_SECONDS.items():
        total = 100_000.0 * seconds / 3600
        counts[name] = Counts(total * (1 - error_ratio), total)
    counts["window"] = Counts(72_000_000 - whole_bad, 72_000_000)
    window = slo.get("window", SloWindow.rolling(30))
    return SloObservation(Slo(service, 0.999, window), now, counts)  # type: ignore[arg-type]


class Harness(PanelHarness):
    def __init__(self, qapp, qtbot) -> None:
        super().__init__(qapp, qtbot)
        self.panel = self.show(BudgetsPanel(self.ctx), (1100, 760))

    def listed(self) -> list[str]:
        return [service for _, service in self.panel.visible_keys()]

    def cell(self, service: str, column: str, role: Qt.ItemDataRole) -> object:
        model = self.panel.model
        index = model.index(model.row_of("sim", service), model.column_of(column))
        return model.data(index, role)

    def feed(self, *observations: SloObservation) -> None:
        self.store.apply(SlosObserved("sim", observations))


@pytest.fixture
def ui(qapp, qtbot) -> Iterator[Harness]:
    harness = Harness(qapp, qtbot)
    yield harness
    harness.close()


def test_worst_budget_first_coloured_by_tier_with_formulas_and_detail(ui, qtbot) -> None:
    now = time.time()
    ui.store.apply(ConnectionChanged("sim", LinkStatus(ConnectionState.LIVE)))
    ui.feed(
        observation("search", 0.0005, 36_000, now),
        observation("orders", 0.02, 64_800, now),  # 10 % left, burning at 20
        observation("payments", 0.0, 0, now, window=SloWindow.calendar_month()),
    )
    ui.store.apply(
        DeploysSeen("sim", (Deploy("d1", "orders", "v42", "v41", now - 2 * 3600 - 5, "ci"),))
    )
    ui.store.apply(
        EventOccurred("sim", Event(now - 3600, "scenario", "bad_deploy on orders", "orders"))
    )
    ui.refresh()
    assert ui.listed() == ["orders", "search", "payments"]
    panel = ui.panel
    assert panel.text("sim", "orders", "burn_1h") == "20× page"
    assert ui.cell("orders", "burn_1h", Qt.ItemDataRole.ForegroundRole) == theme.colour(
        Health.CRITICAL
    )
    assert panel.text("sim", "orders", "tier") == "page 1h/5m +3 more"
    assert panel.text("sim", "payments", "window") == "calendar month"
    assert panel.text("sim", "orders", "deploy") == "2 h ago · v42"
    tip = ui.cell("orders", "remaining", Qt.ItemDataRole.ToolTipRole)
    assert "remaining = 1 − failed ÷ allowed failures" in str(tip)
    assert "64\u202f800 failed of 72\u202f000\u202f000" in str(tip)

    # The worst SLO is in the detail: burn-down with the ideal line and both markers.
    detail = panel.detail
    assert panel.selected() == ("sim", "orders")
    assert detail.key == ("sim", "orders")
    assert "orders on sim" in detail.title.full_text
    assert "window totals only" in detail.source.full_text
    assert [m.kind for m in detail.plot.shown_markers] == ["deploy", "incident"]
    # From the window's start (100 %) to 3 days ago the totals say nothing: drawn dotted.
    assert detail.plot.unknown.getData()[1][0] == 100.0
    assert detail.plot.curve.getData()[1][-1] == pytest.approx(10.0)
    assert detail.tiers.rowCount() == 4
    assert detail.tiers.text(0, "windows") == "1h / 5m"
    assert detail.tiers.text(0, "state") == "firing"
    assert "threshold = factor × budget" in detail.tiers.item(0, 3).toolTip()
    save_shot(panel, "budgets_panel.png")

    # Per-step counts replace the coarse line and say so.
    start = now - 30 * DAY
    steps = np.array([[start + i * 3600, 99_990.0, 100_000.0] for i in range(720)])
    panel.set_burndown_points("sim", "orders", steps, 3600.0)
    ui.refresh()
    assert "hourly counts, 720 steps" in detail.source.full_text
    assert len(detail.plot.curve.getData()[0]) == 720

    # Another row selected: the detail follows.
    assert panel.select("sim", "payments")
    assert detail.key == ("sim", "payments")
    assert "calendar month" in detail.title.full_text
    save_shot(panel, "budgets_panel_payments.png")


def test_slash_filters_and_a_stale_backend_says_so(ui, qtbot) -> None:
    now = time.time()
    ui.store.apply(ConnectionChanged("sim", LinkStatus(ConnectionState.LIVE)))
    ui.feed(
        observation("search", 0.0005, 36_000, now),
        observation("orders", 0.0005, 64_800, now),
        observation("payments", 0.0, 0, now, window=SloWindow.calendar_month()),
    )
    ui.refresh()
    view = ui.panel.view
    view.setFocus()
    qtbot.waitUntil(view.hasFocus, timeout=2000)
    qtbot.keyClicks(view, "/")
    assert ui.panel.filter.isVisible()
    qtbot.keyClicks(ui.panel.filter, "calendar")
    assert ui.listed() == ["payments"]
    qtbot.keyClick(ui.panel.filter, Qt.Key.Key_Escape)
    assert ui.listed() == ["orders", "search", "payments"]

    ui.store.apply(ConnectionChanged("sim", LinkStatus(ConnectionState.STALE)))
    ui.refresh()
    assert ui.panel.text("sim", "orders", "tier").startswith("STALE")
    assert (
        ui.cell("orders", "remaining", Qt.ItemDataRole.ForegroundRole)
        == theme.colour(Health.UNKNOWN)
        or ui.cell("orders", "remaining", Qt.ItemDataRole.ForegroundRole).name() == theme.TEXT_DIM
    )
    # The detail greys too: its figures are the last known.
    assert theme.STATE_COLOURS[Health.UNKNOWN] in ui.panel.detail.title.styleSheet()
    # The tier table says STALE in every state, as the list does, with what it last was.
    tiers = ui.panel.detail.tiers
    states = [tiers.item(r, tiers.columnCount() - 1).text() for r in range(tiers.rowCount())]
    assert states and all(s.startswith("STALE") and "(was " in s for s in states)
    assert ui.panel.text("sim", "orders", "tier") == ui.panel.model.data(
        ui.panel.model.index(
            ui.panel.model.row_of("sim", "orders"), ui.panel.model.column_of("tier")
        )
    )
    save_shot(ui.panel, "budgets_stale.png")


def test_against_the_reference_backend_every_slo_is_listed(qloop, sim_thread, ui) -> None:
    sim = sim_thread(time_scale=20)

    async def scenario() -> None:
        client = ui.connect(sim.url, slo_every_s=0.5)
        ui.scheduler.start()
        try:
            await wait_until(lambda: len(ui.listed()) >= 8, 15, "every SLO listed")
            ui.refresh()
            listed = ui.listed()
            state = ui.store.backends["sim"]
            assert set(listed) == set(state.slos)
            remaining = [ui.panel.model.row_view(i).remaining for i in range(len(listed))]
            assert remaining == sorted(remaining)  # worst first
            # The seeded month: partly spent budgets and deploys of every few days.
            assert all(0 < r < 1 for r in remaining)
            await wait_until(lambda: bool(state.deploys), 10, "deploys read")
            ui.refresh()
            assert ui.panel.text("sim", "orders", "deploy").endswith("v41")
            assert ui.panel.text("sim", "payments", "window") == "calendar month"
            assert ui.panel.detail.key == ("sim", listed[0])
            assert ui.panel.select("sim", "orders")
            assert any(m.kind == "deploy" for m in ui.panel.detail.plot.shown_markers)
            save_shot(ui.panel, "budgets_sim.png")
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=40)


def test_the_console_loads_the_selected_slos_hourly_counts(qloop, qtbot, tmp_path, sim_thread):
    # The app's wiring reads GET /slo/{service}/budget for the SLO the operator selects.
    from opsconsole.backends.opsapi import OpsApiClient
    from opsconsole.core.store import Store
    from tests.support.console import make_console, show

    sim = sim_thread(time_scale=20)
    store = Store(capacity=600)
    client = OpsApiClient("sim", sim.url, store.apply, slo_every_s=0.5)
    console, _ = make_console(tmp_path, {"sim": client}, store)
    show(qtbot, console.window)
    panel = console.window.budgets
    console.window.docks["budgets"].raise_()

    async def scenario() -> None:
        client.start()
        try:
            await wait_until(lambda: "orders" in store.backend("sim").slos, 15, "SLOs")
            panel.refresh(time.monotonic())
            assert panel.select("sim", "orders")
            await wait_until(
                lambda: (
                    (panel.refresh(time.monotonic()) or True)
                    and "hourly counts" in panel.detail.source.full_text
                ),
                15,
                "hourly counts in the burn-down",
            )
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=40)
    console.close()


def test_behind_the_charts_tab_the_panel_waits_until_it_comes_forward(
    qapp, qtbot, tmp_path
) -> None:
    # At start the tab is behind the charts: no rows built, no burn-down plot made (a tabbed
    # away dock still says visible), until the operator brings it forward.
    store = Store(capacity=600)
    console, _keys = make_console(tmp_path, {}, store)
    window = console.window
    try:
        show(qtbot, window)
        panel = window.budgets
        store.apply(ConnectionChanged("sim", LinkStatus(ConnectionState.LIVE)))
        store.apply(SlosObserved("sim", (observation("orders", 0.02, 64_800, time.time()),)))
        ticks = window.scheduler.ticks
        qtbot.waitUntil(lambda: window.scheduler.ticks >= ticks + 3)
        assert not panel.in_sight()
        assert panel.model.rowCount() == 0
        assert panel.detail.findChildren(BurnDownPlot) == []

        window.bring_forward("budgets")
        qtbot.waitUntil(lambda: panel.detail.key == ("sim", "orders"))
        assert panel.in_sight()
        assert panel.detail.findChildren(BurnDownPlot) == [panel.detail.plot]
        assert len(panel.detail.plot.curve.getData()[0]) > 0
        # Between the title and the source line, at least as tall as it asks.
        qtbot.waitUntil(lambda: panel.detail.plot.height() >= PLOT_MIN_HEIGHT)
        detail = panel.detail
        # Placed once the layout has run (it may still be pending right after the first show).
        qtbot.waitUntil(lambda: detail.title.y() < detail.plot.y() < detail.source.y())
    finally:
        window.scheduler.stop()
        window.close()
        console.close()

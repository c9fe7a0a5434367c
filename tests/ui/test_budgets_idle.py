"""Error budgets while nothing new arrives: an SLO poll with the same counts redraws nothing
until the burn-down's end would move a pixel; a stale age ticks in the tier cells in place."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt

from opsconsole.core.events import ConnectionChanged, SlosObserved
from opsconsole.core.models import ConnectionState, LinkStatus
from opsconsole.core.slo.model import WINDOW_SECONDS, Counts, Slo, SloObservation, SloWindow
from opsconsole.core.store import Store
from opsconsole.ui.context import Selection, UiContext
from opsconsole.ui.panels.budgets import BudgetsPanel

MARK = Qt.ItemDataRole.UserRole + 77  # set on a cell: still there if the cell was kept


def observation(as_of: float) -> SloObservation:
    """orders: 100 000 requests an hour failing at 2 %, 64 800 failed in its 30 d window."""
    counts = {
        name: Counts(100_000.0 * s / 3600 * 0.98, 100_000.0 * s / 3600)
        for name, s in WINDOW_SECONDS.items()
    }
    counts["window"] = Counts(72_000_000 - 64_800, 72_000_000)
    return SloObservation(Slo("orders", 0.999, SloWindow.rolling(30)), as_of, counts)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def panel(qtbot, clock: Clock) -> Iterator[BudgetsPanel]:
    store = Store(capacity=60, clock=clock)
    panel = BudgetsPanel(UiContext(store, Selection(), clock=clock))
    qtbot.addWidget(panel)
    panel.resize(1100, 760)
    panel.show()
    qtbot.waitExposed(panel)
    yield panel


def refresh(panel: BudgetsPanel, clock: Clock) -> None:
    assert panel.needs_refresh()
    panel.run_refresh(clock.now)


def test_same_counts_later_redraw_only_a_pixel_on(panel: BudgetsPanel, clock: Clock) -> None:
    store = panel.ctx.store
    store.apply(ConnectionChanged("sim", LinkStatus(ConnectionState.LIVE)))
    as_of = time.time()
    store.apply(SlosObserved("sim", (observation(as_of),)))
    refresh(panel, clock)
    curve = panel.detail.plot.curve
    assert curve.getData()[0][-1] == pytest.approx(as_of)

    # The next poll: the same counts 10 s later (far less than a pixel of 30 days).
    store.apply(SlosObserved("sim", (observation(as_of + 10),)))
    refresh(panel, clock)
    assert curve.getData()[0][-1] == pytest.approx(as_of)
    # Two days later with the same counts: the line's end has moved pixels, so it is redrawn.
    store.apply(SlosObserved("sim", (observation(as_of + 2 * 86_400),)))
    refresh(panel, clock)
    assert curve.getData()[0][-1] == pytest.approx(as_of + 2 * 86_400)


def test_a_stale_age_ticks_each_second_in_the_same_cells(panel: BudgetsPanel, clock: Clock) -> None:
    store = panel.ctx.store
    store.apply(ConnectionChanged("sim", LinkStatus(ConnectionState.LIVE)))
    store.apply(SlosObserved("sim", (observation(time.time()),)))
    store.backend("sim").data_mono = clock.now  # data just arrived
    refresh(panel, clock)
    store.apply(ConnectionChanged("sim", LinkStatus(ConnectionState.STALE)))
    clock.now += 5.0
    refresh(panel, clock)
    tiers = panel.detail.tiers
    assert tiers.text(0, "state").startswith("STALE 5 s")
    tiers.item(0, 0).setData(MARK, "kept")

    clock.now += 1.0  # no news: only time passes
    refresh(panel, clock)  # due again a second later, not five
    assert tiers.text(0, "state").startswith("STALE 6 s")
    assert panel.text("sim", "orders", "tier") == "STALE 6 s"
    assert tiers.item(0, 0).data(MARK) == "kept"  # updated in place, not rebuilt
    assert not panel.needs_refresh()  # and not again before the next second

"""The golden-signals chart's live X range while stale: it scrolls in steps (a whole pixel and
half a per cent of the window at least), not per refresh, never lags the truth by a step, and
follows a new sample at once."""

from __future__ import annotations

import numpy as np

from opsconsole.core.events import ConnectionChanged, MetricsBatch, SnapshotLoaded
from opsconsole.core.models import METRIC_FIELDS, ConnectionState, LinkStatus, Service
from opsconsole.core.store import Store
from opsconsole.ui.context import Selection, UiContext
from opsconsole.ui.panels.signals import GoldenSignalsPanel

T0 = 1_800_000_000.0


def feed(store: Store, ts: float) -> None:
    values = np.full((1, len(METRIC_FIELDS)), 0.5)
    store.apply(MetricsBatch("b", ("svc",), np.array([ts]), values, METRIC_FIELDS))


def test_stale_window_moves_in_steps_and_follows_new_data(qtbot) -> None:
    now = [5000.0]
    store = Store(capacity=3600, clock=lambda: now[0])
    store.apply(SnapshotLoaded("b", (Service(name="svc"),), (), (), (), ts=T0))
    for i in range(120):
        feed(store, T0 + i)
    store.apply(ConnectionChanged("b", LinkStatus(ConnectionState.LIVE)))
    ctx = UiContext(store, Selection(), clock=lambda: now[0])
    panel = GoldenSignalsPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(400, 700)
    panel.show()
    qtbot.waitExposed(panel)
    ctx.selection.select("b", "svc")
    panel.run_refresh(now[0])
    window = panel.x_window
    start, end = window.owner.viewRange()[0]
    assert end == T0 + 119  # live: the window ends at the newest sample
    pixel = (end - start) / window.owner.getViewBox().width()
    assert pixel > 1.5  # a 15 min window over a few hundred pixels
    step = window.stale_step_s(end - start)
    assert step == max(pixel, 0.005 * (end - start)) == 4.5  # half a per cent of 15 min

    store.apply(ConnectionChanged("b", LinkStatus(ConnectionState.STALE)))
    moves, refreshes, shown_ends = window.moves, 0, [end]
    for _ in range(60):  # 30 s of stale refreshes, twice a second
        now[0] += 0.5
        panel.run_refresh(now[0])
        refreshes += 1
        true_end = T0 + 119 + store.data_age("b")
        shown_end = window.owner.viewRange()[0][1]
        # Old data scrolls left: the shown end never goes back, and never lags a step.
        assert shown_ends[-1] <= shown_end <= true_end
        assert true_end - shown_end < step
        shown_ends.append(shown_end)
    moved = window.moves - moves
    assert 30 / step - 1 <= moved <= 30 / step + 1, (moved, step)
    assert moved < refreshes / 2

    # A new sample moves the window at once, to the sample (its age is now 0).
    feed(store, T0 + 150)
    store.apply(ConnectionChanged("b", LinkStatus(ConnectionState.LIVE)))
    panel.run_refresh(now[0])
    assert window.owner.viewRange()[0][1] == T0 + 150

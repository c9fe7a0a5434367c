"""At start the Ops API client backfills the charts from `metrics/historical` (real backend)."""

from __future__ import annotations

import numpy as np

from opsconsole.core.models import METRIC_FIELDS, ConnectionState
from tests.support.waiting import wait_until, wait_until_async

TICK = 0.05  # tests/conftest.py REAL_TIME_SIM_FIELDS


async def test_history_lands_before_live_rows_with_no_seam(real_time_sim, store, client_factory):
    # The backend has been running (an incident in progress) before the console starts.
    await wait_until(
        lambda: len(real_time_sim.world.history) >= 80, 15, "80 ticks of backend history"
    )
    client = client_factory(real_time_sim.url)
    await wait_until(lambda: client.status.state is ConnectionState.LIVE, 10, "LIVE")
    await wait_until_async(client.history.done.wait, 15, "history loaded")

    assert set(client.history.loaded) >= {"orders", "payments"}
    assert min(client.history.loaded.values()) >= 60
    series = store.backend("sim").series.get("orders")
    times = series.times()
    hist_ts, hist_rps = real_time_sim.world.history.series(
        real_time_sim.world.index["orders"], METRIC_FIELDS.index("rps")
    )
    # The chart now reaches back to the backend's oldest kept samples…
    assert times[0] <= hist_ts[0] + TICK
    # …in time order, every backend tick once, and no hole where history meets the live
    # rows (the backend itself skips a tick when its loop stalls on a loaded box, so holes
    # are compared with its own record, not with the nominal tick).
    steps = np.diff(times)
    assert (steps > 0).all()
    held = hist_ts[(hist_ts >= times[0] - TICK / 2) & (hist_ts <= times[-1] + TICK / 2)]
    assert abs(len(times) - len(held)) <= 2, (len(times), len(held))
    seam = int(np.searchsorted(times, hist_ts[0] + client.history.loaded["orders"] * TICK))
    around = steps[max(0, seam - 3) : seam + 3]
    assert around.max() < 1.9 * TICK or np.diff(hist_ts).max() >= 1.9 * TICK, around
    # The backfilled values are the backend's own.
    rps = series.values("rps")
    first = np.searchsorted(hist_ts, times[0] - TICK / 2)
    assert np.allclose(rps[:10], hist_rps[first : first + 10], rtol=1e-4)
    assert store.backend("sim").newest_data_ts == times[-1]  # the newest is a live row


async def test_no_history_asked_when_turned_off(real_time_sim, store, client_factory):
    client = client_factory(real_time_sim.url, history_s=0)
    await wait_until(lambda: client.status.state is ConnectionState.LIVE, 10, "LIVE")
    await wait_until(lambda: len(store.backend("sim").series.get("orders") or ()) >= 5, 5, "rows")
    assert not client.history.done.is_set() and client.history.loaded == {}

"""Console health panel and loop-lag probe, with real data flowing from the reference backend."""

from __future__ import annotations

import resource
import time

import numpy as np

from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.core.events import FrameRejected, SnapshotLoaded
from opsconsole.core.health import Health
from opsconsole.core.store import Store
from opsconsole.ui import theme
from opsconsole.ui.context import Selection, UiContext
from opsconsole.ui.panels.health import ConsoleHealthPanel, percentile
from opsconsole.ui.probes import LoopLagProbe, memory_rss_bytes
from opsconsole.ui.repaint import RepaintScheduler
from tests.support.shots import save_shot
from tests.support.waiting import wait_until


def number(text: str) -> float:
    return float(text.replace(",", ""))


def hog_ui_thread(seconds: float) -> None:
    """Fault injection: a handler that holds the UI thread, as a slow paint or sync call would."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def make_panel(qtbot, **kwargs) -> tuple[UiContext, ConsoleHealthPanel]:
    ctx = UiContext(Store(capacity=600), Selection())
    panel = ConsoleHealthPanel(ctx, **kwargs)
    qtbot.addWidget(panel)
    panel.show()
    return ctx, panel


def test_live_numbers_while_data_flows(qapp, qloop, qtbot, sim_thread) -> None:
    theme.apply_theme(qapp)
    sim = sim_thread()
    ctx, panel = make_panel(qtbot)
    panel.resize(420, 330)
    scheduler = RepaintScheduler(ctx.stats)
    scheduler.add([panel])

    async def scenario() -> None:
        client = OpsApiClient("sim", sim.url, ctx.store.apply)
        client.start()
        scheduler.start()
        try:
            await wait_until(
                lambda: (
                    panel.values["samples_per_s"] != "—"
                    and number(panel.values["samples_per_s"]) > 0
                ),
                10,
                "a positive ingest rate",
            )
            values = panel.values
            assert number(values["loop_lag_ms"]) >= 0
            assert number(values["loop_lag_max_ms"]) >= number(values["loop_lag_ms"])
            assert panel.levels["loop_lag_ms"] in {Health.HEALTHY, Health.WARNING, Health.CRITICAL}
            assert number(values["frame_ms"]) >= 0  # the scheduler timed its own refreshes
            assert number(values["memory_mib"]) > 10
            assert values["invalid_frames"] == "0"
            assert values["frames_per_s"] == "0"  # no chart in this test paints anything
            save_shot(panel, "health_panel.png")
        finally:
            scheduler.stop()
            await client.aclose()

    qloop.run(scenario())


def test_probe_sees_a_blocked_event_loop(qloop, qtbot) -> None:
    ctx = UiContext(Store(), Selection())
    probe = LoopLagProbe(ctx.stats, interval_ms=20)
    probe.start()

    async def scenario() -> None:
        await wait_until(lambda: probe.latest_ms is not None, 5, "a first measurement")
        assert probe.max_ms() < 150
        hog_ui_thread(0.2)
        await wait_until(lambda: (probe.max_ms() or 0) >= 150, 5, "the lag to be measured")
        assert ctx.stats.loop_lag_ms == probe.latest_ms

    try:
        qloop.run(scenario())
        # The panel judges the worst lag of the minute against targets.md (crit > 100 ms).
        panel = ConsoleHealthPanel(ctx, probe=probe)
        qtbot.addWidget(panel)
        panel.run_refresh(time.monotonic())
        assert number(panel.values["loop_lag_max_ms"]) >= 150
        assert panel.levels["loop_lag_max_ms"] is Health.CRITICAL
    finally:
        probe.stop()
    assert not probe.running


def test_counters_refresh_at_most_once_a_second(qtbot) -> None:
    ctx, panel = make_panel(qtbot)
    store = ctx.store
    t0 = time.monotonic()
    panel.run_refresh(t0)
    assert panel.values["invalid_frames"] == "0"
    assert panel.values["samples_per_s"] == "—"  # a rate needs two readings

    for kind in ("schema", "schema", "decode"):
        store.apply(FrameRejected("sim", kind, "bad"))
    store.apply(SnapshotLoaded("sim", (), (), (), (), ts=1.0, resync=True))
    panel.run_refresh(t0 + 0.5)
    assert panel.values["invalid_frames"] == "0", "refreshed sooner than once a second"

    panel.run_refresh(t0 + 1.0)
    assert panel.values["invalid_frames"] == "3"
    assert panel.values["resyncs"] == "1"
    assert panel.values["samples_per_s"] == "0"
    tooltip = panel._rows["invalid_frames"].value.toolTip()
    assert "schema: 2" in tooltip and "decode: 1" in tooltip


def test_frame_time_levels_follow_the_targets(qtbot) -> None:
    ctx, panel = make_panel(qtbot)
    ctx.stats.frame_ms_history = [5.0] * 90 + [40.0] * 10
    ctx.stats.last_frame_ms = 20.0
    panel.run_refresh(time.monotonic())
    assert panel.values["frame_ms"] == "20.00"
    assert panel.levels["frame_ms"] is Health.WARNING  # > 16 ms
    assert panel.values["frame_p95_ms"] == "40.00"
    assert panel.levels["frame_p95_ms"] is Health.CRITICAL  # > 33 ms
    assert percentile(list(np.arange(1.0, 101.0)), 95) == 95.0


def test_memory_rss_is_plausible() -> None:
    rss = memory_rss_bytes()
    assert rss is not None and rss > 10 * 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    assert rss <= peak * 1.05

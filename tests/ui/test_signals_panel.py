"""The golden-signals panel against a real reference backend: data, gaps, limits, events, STALE."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtWidgets import QApplication

from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.core.events import ConnectionChanged, EventOccurred, MetricsBatch, SnapshotLoaded
from opsconsole.core.models import METRIC_FIELDS, ConnectionState, Event, LinkStatus, Service
from opsconsole.core.store import Store
from opsconsole.sim.embedded import EmbeddedSim
from opsconsole.ui import theme
from opsconsole.ui.charts import nice_ceiling, peak_decimate
from opsconsole.ui.context import Selection, UiContext
from opsconsole.ui.panels.eventmarkers import MARKER_POOL
from opsconsole.ui.panels.signals import CURVES, DEFAULT_WINDOW_S, GoldenSignalsPanel
from opsconsole.ui.repaint import RepaintScheduler
from tests.support.shots import save_image
from tests.support.waiting import wait_until

SCREENSHOT = "signals_panel.png"
LIVE_CAPACITY = 36_000


@dataclass
class Live:
    sim: EmbeddedSim
    store: Store
    ctx: UiContext
    panel: GoldenSignalsPanel
    scheduler: RepaintScheduler
    client: OpsApiClient


@pytest.fixture
def live(qloop, qtbot, sim_thread) -> Iterator[Live]:
    """A real sim in a thread, the real client feeding a store, the panel under a scheduler."""
    sim = sim_thread()
    # An hour at the UI sim's 10 Hz: the 5 min, 15 min and 1 h windows are all held.
    store = Store(capacity=LIVE_CAPACITY)
    ctx = UiContext(store, Selection())
    panel = GoldenSignalsPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(1000, 760)
    panel.show()
    scheduler = RepaintScheduler(ctx.stats)
    scheduler.add([panel])
    client = OpsApiClient("sim", sim.url, store.apply)

    async def start() -> None:
        client.start()
        await wait_until(
            lambda: store.backend("sim").link.state is ConnectionState.LIVE, 10, "a live link"
        )

    qloop.run(start())
    scheduler.start()
    yield Live(sim, store, ctx, panel, scheduler, client)
    scheduler.stop()
    qloop.run(client.aclose())


def series(live: Live, service: str):
    s = live.store.backend("sim").series.get(service)
    assert s is not None
    return s


def has_points(panel: GoldenSignalsPanel, n: int = 5) -> bool:
    return all(
        c.xData is not None and len(c.xData) >= n and np.isfinite(c.yData).any()
        for c in panel.curves.values()
    )


def samples(curve, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The plotted points that are samples (x is a sample time), without the NaN points
    that mark holes: a loaded sim skips ticks rather than bursting, a real hole in time."""
    keep = np.isin(curve.xData, times)
    return curve.xData[keep], curve.yData[keep]


def x_range(panel: GoldenSignalsPanel) -> tuple[float, float]:
    lo, hi = panel.plots[-1].getViewBox().viewRange()[0]
    return float(lo), float(hi)


def test_placeholder_until_a_service_is_selected(qtbot) -> None:
    ctx = UiContext(Store(), Selection())
    panel = GoldenSignalsPanel(ctx)
    qtbot.addWidget(panel)
    panel.show()
    assert panel.needs_refresh()
    panel.run_refresh(time.monotonic())
    assert panel.placeholder.isVisible() and panel.placeholder.text() == "Select a service"
    assert not panel.chart.isVisible()  # no empty axes
    assert panel.title == "Golden signals" and panel.objectName() == "golden_signals"
    assert panel.window_s == DEFAULT_WINDOW_S == 900.0


def test_curves_get_live_data_in_the_chosen_window(live: Live, qloop) -> None:
    panel = live.panel
    live.ctx.selection.select("sim", "orders")

    async def scenario() -> None:
        await wait_until(lambda: has_points(panel), 10, "every curve to get data")
        await wait_until(
            lambda: live.ctx.stats.first_data_painted_at is not None, 5, "the first data paint"
        )

    qloop.run(scenario())
    assert set(panel.curves) == set(METRIC_FIELDS)
    # Few points (10 Hz for seconds): no decimation, so the curve is the store's data (plus
    # a NaN point in any hole, should the loaded sim have skipped ticks).
    panel.run_refresh(time.monotonic())
    s = series(live, "orders")
    times, p99 = s.times(), s.values("latency_p99_ms")
    curve = panel.curves["latency_p99_ms"]
    assert curve.xData[-1] == times[-1]
    x, y = samples(curve, times)
    np.testing.assert_array_equal(x, times[-len(x) :])
    np.testing.assert_allclose(y, p99[-len(y) :])
    # Ratios are shown as %.
    err = s.values("error_ratio")
    errors = samples(panel.curves["error_ratio"], times)[1]
    np.testing.assert_allclose(errors, err[-len(y) :] * 100, rtol=1e-6)
    lo, hi = x_range(panel)
    assert hi - lo == pytest.approx(900.0)
    # The window ends at the newest sample plus its age: the server's "now" as best known.
    assert times[-1] <= hi < times[-1] + 2.0

    def width() -> float:
        lo, hi = x_range(panel)
        return hi - lo

    for seconds in (300.0, 3600.0):
        panel.set_window(seconds)
        assert panel.needs_refresh()
        qloop.run(wait_until(lambda s=seconds: width() == pytest.approx(s), 5, "the new window"))


def test_threshold_lines_and_traffic_baseline(live: Live, qloop) -> None:
    panel = live.panel
    live.ctx.selection.select("sim", "orders")
    qloop.run(wait_until(lambda: has_points(panel, 20), 10, "data"))
    thresholds = live.store.backend("sim").services["orders"].thresholds
    assert thresholds.latency_p99_ms == 500.0
    lines = panel.threshold_lines
    assert lines["latency_p99_ms"].value() == 500.0
    assert lines["error_ratio"].value() == pytest.approx(1.0)  # 1 %, shown in %
    assert lines["cpu"].value() == pytest.approx(80.0)
    assert lines["memory"].value() == pytest.approx(85.0)
    assert lines["latency_p99_ms"].label.toPlainText() == "p99 limit 500 ms"
    # Each limit sits on the chart of its own signal.
    assert lines["latency_p99_ms"] in panel.plots[0].items
    assert lines["error_ratio"] in panel.plots[2].items
    # Traffic: ±50 % around the median rps of what is kept. The median is recomputed every
    # 5 s or on a new selection; re-selecting and refreshing here, with no event processed
    # in between, compares it with the store's data of the same instant.
    live.ctx.selection.select("sim", "payments")
    live.ctx.selection.select("sim", "orders")
    panel.run_refresh(time.monotonic())
    rps = series(live, "orders").values("rps")
    assert panel.baseline == float(np.median(rps[np.isfinite(rps)]))
    lo, hi = panel.baseline_band.getRegion()
    assert (lo, hi) == pytest.approx((panel.baseline * 0.5, panel.baseline * 1.5))
    assert panel.baseline_band.isVisible()


def test_event_marker_after_a_scenario(live: Live, qloop) -> None:
    panel = live.panel
    live.ctx.selection.select("sim", "orders")
    qloop.run(wait_until(lambda: has_points(panel), 10, "data"))
    assert panel.markers() == []

    async def scenario() -> None:
        await live.client.scenario("latency_spike", "orders")
        await wait_until(
            lambda: any("latency_spike" in text for _, text in panel.markers()),
            10,
            "a latency_spike marker",
        )

    qloop.run(scenario())
    event = next(e for b, e in live.store.events if e.kind == "scenario")
    ts, text = next(m for m in panel.markers() if "latency_spike" in m[1])
    assert ts == event.ts and text.startswith("scenario latency_spike")
    assert len(text) <= 30  # labels are truncated; the tooltip has the whole message
    lo, hi = x_range(panel)
    assert lo <= ts <= hi


def test_stale_overlay_counts_up_after_the_backend_stops(live: Live, qloop) -> None:
    panel = live.panel
    live.ctx.selection.select("sim", "orders")
    qloop.run(wait_until(lambda: has_points(panel), 10, "data"))
    assert not panel.stale and not panel.chart.banner_visible
    ages: list[int] = []

    def age() -> int | None:
        m = re.fullmatch(r"STALE (\d+) s", panel.stale_text)
        return None if m is None else int(m.group(1))

    async def scenario() -> None:
        await asyncio.to_thread(live.sim.stop)
        await wait_until(lambda: panel.stale and panel.chart.banner_visible, 10, "STALE")
        ages.append(age())  # type: ignore[arg-type]
        # No data arrives any more, yet the age keeps counting (refreshes while stale).
        await wait_until(lambda: (age() or 0) >= ages[0] + 6, 12, "the age to count up")
        ages.append(age())  # type: ignore[arg-type]

    qloop.run(scenario())
    assert live.store.backend("sim").link.state is not ConnectionState.LIVE
    stale_grey = panel.curves["latency_p99_ms"].opts["pen"].color().name()
    assert stale_grey != theme.SERIES["latency_p99_ms"]
    # The window keeps moving with the age, so the gap after the last sample grows. While
    # stale it moves in steps (LiveXWindow: 4.5 s for 15 min), so it may trail the age by one.
    lo, hi = x_range(panel)
    step = panel.x_window.stale_step_s(hi - lo)
    gap = hi - series(live, "orders").times()[-1]
    assert gap >= ages[-1] - 0.6 - step  # the shown age is rounded


def test_selection_change_swaps_the_data(live: Live, qloop) -> None:
    panel = live.panel
    live.ctx.selection.select("sim", "orders")
    qloop.run(wait_until(lambda: has_points(panel), 10, "orders data"))
    curve = panel.curves["rps"]

    def shows(service: str) -> bool:
        s = series(live, service)
        rps = s.values("rps")
        y = samples(curve, s.times())[1]
        return y.size > 0 and np.array_equal(y, rps[-y.size :], equal_nan=True)

    live.ctx.selection.select("sim", "payments")
    assert panel.dirty
    qloop.run(wait_until(lambda: shows("payments"), 5, "payments on screen"))
    assert "payments" in panel._heading.text()
    assert panel.curves["rps"] is curve


def test_hidden_panel_is_not_refreshed(live: Live, qloop) -> None:
    panel = live.panel
    live.ctx.selection.select("sim", "orders")
    qloop.run(wait_until(lambda: has_points(panel), 10, "data"))
    panel.hide()
    count = panel.refresh_count
    state = live.store.backend("sim")
    ingested, ticks = state.samples_ingested, live.scheduler.ticks

    async def scenario() -> None:
        # Five more rows of 8 services × 7 fields, and ticks that would have refreshed.
        def more_rows() -> bool:
            return state.samples_ingested > ingested + 5 * 8 * 7

        await wait_until(
            lambda: more_rows() and live.scheduler.ticks > ticks + 10, 10, "data and ticks"
        )

    qloop.run(scenario())
    assert panel.dirty  # the data was noticed...
    assert panel.refresh_count == count  # ...but a hidden dock does no work
    panel.show()
    qloop.run(wait_until(lambda: panel.refresh_count > count, 5, "a refresh once shown"))


def test_set_data_on_the_same_curve_objects(live: Live, qloop) -> None:
    panel = live.panel
    live.ctx.selection.select("sim", "orders")
    qloop.run(wait_until(lambda: has_points(panel), 10, "data"))
    before = dict(panel.curves)
    items = [len(p.items) for p in panel.plots]
    calls: Counter[str] = Counter()
    for name, curve in panel.curves.items():
        original = curve.setData

        def spy(*args: object, _orig=original, _name=name, **kwargs: object) -> None:
            calls[_name] += 1
            _orig(*args, **kwargs)

        curve.setData = spy  # type: ignore[method-assign]
    count = panel.refresh_count
    qloop.run(wait_until(lambda: panel.refresh_count >= count + 5, 10, "five refreshes"))
    assert all(panel.curves[k] is before[k] for k in before)
    assert all(calls[k] >= 5 for k in before)
    assert [len(p.items) for p in panel.plots] == items  # nothing added, nothing cleared
    assert live.ctx.stats.frames_painted > 0


# ------------------------------------------------------------------ without a backend


def fed_store(
    n: int,
    gap: slice,
    t0: float = 1_800_000_000.0,
    hole: tuple[int, float] | None = None,
    services: tuple[Service, ...] = (Service(name="svc"),),
) -> Store:
    """A store holding `n` 1 Hz samples of `svc` with no latency (NaN) in `gap`.

    `hole` = (i, seconds): sample `i` comes `seconds` after sample `i - 1` instead of one
    second, as rows arrive after a backend was unreachable for that long.
    """
    store = Store(capacity=3600)
    store.apply(SnapshotLoaded("b", services, (), (), (), ts=t0))
    values = np.tile(np.arange(1.0, len(METRIC_FIELDS) + 1.0) / 10, (n, 1))
    values[:, 0] = 20.0 + np.arange(n) % 7  # p50 varies, so decimation has something to do
    values[gap, 0] = np.nan
    ts = t0 + np.arange(n, dtype=float)
    if hole is not None:
        ts[hole[0] :] += hole[1] - 1.0
    for i in range(n):  # one row per frame, as the wire delivers it
        store.apply(MetricsBatch("b", ("svc",), ts[i : i + 1], values[i : i + 1], METRIC_FIELDS))
    store.apply(ConnectionChanged("b", LinkStatus(ConnectionState.LIVE)))
    return store


def test_nan_stays_a_gap(qtbot) -> None:
    store = fed_store(300, slice(100, 130))
    ctx = UiContext(store, Selection())
    panel = GoldenSignalsPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    panel.show()
    ctx.selection.select("b", "svc")
    panel.run_refresh(time.monotonic())
    curve = panel.curves["latency_p50_ms"]
    assert curve.opts["connect"] == "finite"
    s = store.backend("b").series.get("svc")
    assert s is not None
    want = s.values("latency_p50_ms")
    np.testing.assert_array_equal(np.isnan(curve.yData), np.isnan(want[-len(curve.yData) :]))
    assert np.isnan(curve.yData).sum() == 30 and not (curve.yData == 0).any()


def test_nan_gap_survives_decimation(qtbot) -> None:
    store = fed_store(3600, slice(1000, 1400))
    ctx = UiContext(store, Selection())
    panel = GoldenSignalsPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(700, 600)
    panel.show()
    panel.set_window(3600.0)
    ctx.selection.select("b", "svc")
    panel.run_refresh(time.monotonic())
    curve = panel.curves["latency_p50_ms"]
    assert len(curve.xData) < 3600  # decimated to the plot width
    t0 = 1_800_000_000.0
    inside = (curve.xData > t0 + 1020) & (curve.xData < t0 + 1380)
    assert inside.any() and np.isnan(curve.yData[inside]).all()
    # The spikes survive: the decimated max equals the data max around them.
    assert np.nanmax(curve.yData) == 26.0


def test_stale_greys_throttles_and_recovers(qtbot) -> None:
    store = fed_store(120, slice(0, 0))
    now = [1000.0]
    ctx = UiContext(store, Selection(), clock=lambda: now[0])
    panel = GoldenSignalsPanel(ctx)
    qtbot.addWidget(panel)
    panel.show()
    ctx.selection.select("b", "svc")
    panel.run_refresh(now[0])
    colour = theme.SERIES["rps"]
    assert not panel.stale and panel.curves["rps"].opts["pen"].color().name() == colour

    store.apply(ConnectionChanged("b", LinkStatus(ConnectionState.RECONNECTING)))
    assert panel.needs_refresh()  # the link change marked it dirty
    panel.run_refresh(now[0])
    assert panel.stale and panel.chart.banner_visible
    assert panel.stale_text.startswith("STALE ")
    assert panel.curves["rps"].opts["pen"].color().name() != colour
    # Stale: refreshed without new data so the age counts, but only when its words next
    # change (whole seconds), never later than a second from now.
    assert not panel.needs_refresh()
    due = panel.next_tick(now[0])
    assert now[0] < due <= now[0] + 1.01
    now[0] = due
    assert panel.needs_refresh()

    # Away to a service with no data (placeholder), the link comes back, and back again:
    # the curves are in colour, not left grey from before.
    ctx.selection.select("b", "nothing-here")
    panel.run_refresh(now[0])
    assert panel.placeholder.text() == "Waiting for data from nothing-here…"
    store.apply(ConnectionChanged("b", LinkStatus(ConnectionState.LIVE)))
    ctx.selection.select("b", "svc")
    panel.run_refresh(now[0])
    assert not panel.stale and not panel.chart.banner_visible
    assert panel.curves["rps"].opts["pen"].color().name() == colour
    assert not panel.needs_refresh()  # live and clean: nothing to do


def test_peak_decimate_keeps_extremes_and_stable_bins() -> None:
    rng = np.random.default_rng(3)
    y = rng.normal(size=5000).astype(np.float32)
    x = np.arange(5000, dtype=float)
    y[1234] = 50.0
    cx, cy = peak_decimate(x, y, 400)
    assert len(cx) <= 400 + 2 and cy.max() == 50.0 and cy.min() == y.min()
    # Sliding the window by one sample keeps every full bin's min/max where it was.
    ax_, a = peak_decimate(x[100:4100], y[100:4100], 400, origin=100)
    bx, b = peak_decimate(x[101:4101], y[101:4101], 400, origin=101)
    # Pairs (min, max) per bin, keyed by the bin's first x; compare the bins both share,
    # except the partial ones at either end.
    bins_a = dict(zip(ax_[0::2], zip(a[0::2], a[1::2], strict=True), strict=True))
    bins_b = dict(zip(bx[0::2], zip(b[0::2], b[1::2], strict=True), strict=True))
    common = sorted(set(bins_a) & set(bins_b))[1:-1]
    assert len(common) > 150
    assert all(bins_a[k] == bins_b[k] for k in common)


def test_nice_ceiling() -> None:
    assert nice_ceiling(430) == 500
    assert nice_ceiling(1.3) == 1.5
    assert nice_ceiling(0.05, floor=0.1) == 0.1
    assert nice_ceiling(float("nan")) == 1.0
    assert [nice_ceiling(v) for v in (100, 101)] == [100, 120]


def test_screenshot(live: Live, qloop) -> None:
    """A PNG to look at: dark, readable, nothing clipped (written when OPSCONSOLE_SHOTS is set)."""
    panel = live.panel
    panel.setStyleSheet(theme.STYLESHEET)  # local: no global QApplication state changes
    live.ctx.selection.select("sim", "orders")

    async def scenario() -> None:
        await wait_until(lambda: has_points(panel, 30), 10, "data")
        await live.client.scenario("latency_spike", "orders")
        await wait_until(lambda: panel.markers(), 10, "a marker")
        n = len(series(live, "orders"))
        await wait_until(lambda: len(series(live, "orders")) > n + 30, 10, "the spike")

    qloop.run(scenario())
    panel.set_window(300.0)
    panel.run_refresh(time.monotonic())
    shot = panel.grab()
    save_image(shot, SCREENSHOT)
    image = shot.toImage()
    assert (image.width(), image.height()) == (1000, 760)
    # Dark: the corner pixel is the theme background.
    assert image.pixelColor(panel.width() - 3, panel.height() - 3).lightness() < 40
    assert {c.field for c in CURVES} == set(panel.curves)


def test_no_traffic_is_said_on_the_latency_chart_not_drawn_as_zero(qtbot) -> None:
    store = fed_store(60, slice(0, 0))
    ctx = UiContext(store, Selection())
    panel = GoldenSignalsPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    panel.show()
    ctx.selection.select("b", "svc")
    panel.run_refresh(time.monotonic())
    assert not panel.no_traffic_label.isVisible()
    # Prometheus' histogram_quantile over zero requests: NaN latency, rps 0.
    idle = np.full((1, len(METRIC_FIELDS)), np.nan)
    idle[0, METRIC_FIELDS.index("rps")] = 0.0
    store.apply(MetricsBatch("b", ("svc",), np.array([1_800_000_060.0]), idle, METRIC_FIELDS))
    panel.mark_dirty()
    panel.run_refresh(time.monotonic())
    assert panel.no_traffic_label.isVisible()
    assert "no traffic" in panel.no_traffic_label.textItem.toPlainText()
    assert np.isnan(panel.curves["latency_p99_ms"].yData[-1])  # a gap, with its reason
    busy = np.tile(np.arange(1.0, len(METRIC_FIELDS) + 1.0) / 10, (1, 1))
    store.apply(MetricsBatch("b", ("svc",), np.array([1_800_000_061.0]), busy, METRIC_FIELDS))
    panel.mark_dirty()
    panel.run_refresh(time.monotonic())
    assert not panel.no_traffic_label.isVisible()


# ------------------------------------------------------------------ gaps, hover, zoom, markers


def local_time(h: int, m: int, s: int) -> float:
    """Epoch seconds of a local wall-clock time today: the read-out's text in any time zone."""
    now = time.localtime()
    return time.mktime((now.tm_year, now.tm_mon, now.tm_mday, h, m, s, 0, 0, -1))


def panel_on(store: Store, qtbot, service: str = "svc", size=(900, 700)) -> GoldenSignalsPanel:
    ctx = UiContext(store, Selection())
    panel = GoldenSignalsPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(*size)
    panel.show()
    qtbot.waitExposed(panel)
    ctx.selection.select("b", service)
    panel.run_refresh(time.monotonic())
    return panel


def break_between(curve, before: float, after: float) -> bool:
    """The plotted data has a NaN point between the samples at `before` and `after`, and
    nothing else in between: the line stops at one and starts again at the other."""
    x, y = curve.xData, curve.yData
    inside = (x > before) & (x < after)
    return bool(inside.any()) and bool(np.isnan(y[inside]).all())


def test_an_outage_is_drawn_as_a_gap_not_a_line(live: Live, qloop, sim_thread) -> None:
    """The backend goes away and comes back (a restart): every curve breaks over the hole."""
    panel = live.panel
    live.ctx.selection.select("sim", "orders")
    qloop.run(wait_until(lambda: has_points(panel, 20), 10, "data"))
    port = int(live.sim.url.rsplit(":", 1)[1])
    s = series(live, "orders")
    store = live.store
    hole: list[float] = []

    async def outage() -> None:
        await asyncio.to_thread(live.sim.stop)
        await wait_until(
            lambda: store.backend("sim").link.state is not ConnectionState.LIVE, 10, "link lost"
        )
        # Long enough to be a hole at 10 Hz, measured by the console's own data age.
        await wait_until(lambda: (store.data_age("sim") or 0) >= 1.0, 10, "a second of silence")
        hole.append(float(s.times()[-1]))
        await asyncio.to_thread(sim_thread, port)
        await wait_until(lambda: float(s.times()[-1]) > hole[0] + 2.0, 20, "data after it")

    qloop.run(outage())
    times = s.times()
    before = hole[0]
    after = float(times[np.searchsorted(times, before, side="right")])
    assert after - before >= 1.0
    panel.run_refresh(time.monotonic())
    for field, curve in panel.curves.items():
        assert break_between(curve, before, after), field
        # The samples either side are still drawn.
        assert before in curve.xData and after in curve.xData


def test_a_hole_stays_a_hole_when_decimated(qtbot) -> None:
    store = fed_store(3400, slice(0, 0), hole=(2000, 120.0))
    panel = panel_on(store, qtbot, size=(700, 600))
    panel.set_window(3600.0)
    panel.run_refresh(time.monotonic())
    times = store.backend("b").series.get("svc").times()
    before, after = float(times[1999]), float(times[2000])
    for field, curve in panel.curves.items():
        assert len(curve.xData) < 3400, field  # decimated to the plot width
        assert break_between(curve, before, after), field
    # Without holes nothing is broken: the only NaN points are the one hole's.
    assert np.isnan(panel.curves["rps"].yData).sum() == 1


def test_peak_decimate_keeps_holes_and_nan_runs_narrower_than_a_bin() -> None:
    x = np.arange(1000, dtype=float)
    x[500:] += 30.0  # a 31 s hole after sample 499
    y = np.sin(x / 20).astype(np.float32)
    y[700:703] = np.nan  # three samples of "no data"
    gaps = np.array([499])
    cx, cy = peak_decimate(x, y, 100, gaps=gaps)  # bins of 20 samples
    assert len(cx) <= 100 + 6
    hole = (cx > x[499]) & (cx < x[500])
    assert hole.sum() == 1 and np.isnan(cy[hole]).all()
    # The last bin before the hole ends at it and the next starts after it: no bin spans it.
    assert cx[np.flatnonzero(hole)[0] + 1] == x[500]
    nan_run = (cx >= x[700]) & (cx <= x[702])
    assert nan_run.any() and np.isnan(cy[nan_run]).all()
    # Everything else is finite and the extremes survive.
    assert np.isnan(cy).sum() == hole.sum() + nan_run.sum()
    assert np.nanmax(cy) == np.nanmax(y) and np.nanmin(cy) == np.nanmin(y)


def test_hover_reads_the_sample_and_names_the_gap(qtbot, every_mouse_move) -> None:
    t0 = local_time(12, 22, 1)
    store = fed_store(200, slice(0, 0), t0=t0, hole=(130, 65.0))
    panel = panel_on(store, qtbot)
    times = store.backend("b").series.get("svc").times()
    assert (times[129], times[130]) == (local_time(12, 24, 10), local_time(12, 25, 15))

    text = panel.readout_at(float(times[10]) + 0.2)
    assert text == (
        "12:22:11\n"
        "p50 23.0 ms  p95 0.20 ms  p99 0.30 ms\n"
        "rps 0.40 req/s\n"
        "errors 50.0 %\n"
        "CPU 60.0 %  memory 70.0 %"
    )
    assert all(line.value() == times[10] for line in panel._cursor_lines)
    assert panel.readout_at(float(times[129]) + 30.0) == "no data 12:24:10 – 12:25:15 (65 s)"

    # The same through the mouse: a move over the Errors plot in the middle of the hole.
    vb = panel.plots[2].getViewBox()
    middle = sum(vb.viewRange()[1]) / 2
    scene = vb.mapViewToScene(pg.Point(float(times[129]) + 20.0, middle))
    panel.hide_readout()
    qtbot.mouseMove(panel.chart.viewport(), panel.chart.mapFromScene(scene))
    qtbot.waitUntil(lambda: panel.readout.isVisible(), timeout=3000)
    assert panel.readout_text == "no data 12:24:10 – 12:25:15 (65 s)"
    assert "12:24:10" in panel.readout.text()
    assert panel.chart.rect().contains(panel.readout.geometry())
    # Leaving the chart takes it away.
    QApplication.sendEvent(panel.chart, QEvent(QEvent.Type.Leave))
    assert not panel.readout.isVisible() and panel.readout_text == ""


def test_no_value_reads_as_a_dash_not_zero(qtbot) -> None:
    store = fed_store(60, slice(20, 30))
    panel = panel_on(store, qtbot)
    times = store.backend("b").series.get("svc").times()
    assert "p50 —  p95 0.20 ms" in panel.readout_at(float(times[25]))


@pytest.fixture
def every_mouse_move(monkeypatch) -> None:
    """pyqtgraph drops mouse moves closer than 10 ms apart (a rate limit of its own); a
    hand is slower than that, QTest is not."""
    monkeypatch.setitem(pg.CONFIG_OPTIONS, "mouseRateLimit", 0)


def drag(qtbot, panel: GoldenSignalsPanel, plot: int, a: float, b: float) -> tuple[float, float]:
    """Drag across `plot` from fraction `a` to `b` of its width; returns the times there."""
    vb = panel.plots[plot].getViewBox()
    rect = vb.sceneBoundingRect()
    y = rect.center().y()
    points = [QPointF(rect.left() + f * rect.width(), y) for f in (a, (a + b) / 2, b)]
    view = [panel.chart.mapFromScene(p) for p in points]
    port = panel.chart.viewport()
    qtbot.mousePress(port, Qt.MouseButton.LeftButton, pos=view[0])
    for p in view[1:]:
        qtbot.mouseMove(port, p)
    qtbot.mouseRelease(port, Qt.MouseButton.LeftButton, pos=view[-1])
    return float(vb.mapSceneToView(points[0]).x()), float(vb.mapSceneToView(points[-1]).x())


def double_click(qtbot, widget, pos) -> None:
    """What a mouse sends: press, release, double-click, release (QTest's mouseDClick sends
    the double-click alone, and pyqtgraph acts on the release after it)."""
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(widget, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=pos)


def test_drag_zooms_and_pauses_then_back_to_live(
    live: Live, qloop, qtbot, every_mouse_move
) -> None:
    panel = live.panel
    live.ctx.selection.select("sim", "orders")
    qloop.run(wait_until(lambda: has_points(panel, 30), 10, "data"))
    panel.set_window(300.0)
    panel.run_refresh(time.monotonic())
    s = series(live, "orders")
    newest = float(s.times()[-1])
    lo, hi = x_range(panel)
    # Drag over the newest part of the Traffic plot: the last fifth of the window.
    t0, t1 = drag(qtbot, panel, 1, 0.8, 0.99)
    assert lo < t0 < t1 < hi and t1 - t0 == pytest.approx(0.19 * 300.0, rel=0.05)
    assert not panel.following and panel.zoom == pytest.approx((t0, t1))
    assert panel.live_button.isVisible()
    assert panel.note_label.full_text.startswith("Paused: ")
    qloop.run(wait_until(lambda: x_range(panel) == pytest.approx((t0, t1)), 5, "the zoom"))
    # Data keeps arriving and refreshing, but the view stays where the operator put it.
    count = panel.refresh_count
    qloop.run(
        wait_until(
            lambda: float(s.times()[-1]) > newest + 1.0 and panel.refresh_count > count + 3,
            10,
            "more data and refreshes",
        )
    )
    assert x_range(panel) == pytest.approx((t0, t1))
    # Esc (the panel took focus from the drag) goes back to live.
    assert panel.hasFocus()
    qtbot.keyClick(panel, Qt.Key.Key_Escape)
    assert panel.following and panel.zoom is None and not panel.live_button.isVisible()

    def live_again() -> bool:
        lo, hi = x_range(panel)
        return hi - lo == pytest.approx(300.0) and hi >= float(s.times()[-1])

    qloop.run(wait_until(live_again, 5, "the live window again"))
    assert not panel.note_label.isVisible()
    # The button and a double click do the same.
    drag(qtbot, panel, 0, 0.3, 0.6)
    assert not panel.following
    panel.live_button.click()
    assert panel.following
    drag(qtbot, panel, 3, 0.3, 0.6)
    assert not panel.following
    rect = panel.plots[3].getViewBox().sceneBoundingRect()
    where = panel.chart.mapFromScene(rect.center())
    double_click(qtbot, panel.chart.viewport(), where)
    assert panel.following
    # A click without a drag zooms nothing.
    qtbot.mouseClick(panel.chart.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert panel.following


def test_a_wall_page_does_not_zoom_or_read_out(qtbot) -> None:
    store = fed_store(300, slice(0, 0))
    panel = panel_on(store, qtbot)
    panel.set_interactive(False)
    times = store.backend("b").series.get("svc").times()
    panel.zoom_to(float(times[10]), float(times[100]))
    assert panel.following and panel.zoom is None and not panel.live_button.isVisible()
    vb = panel.plots[0].getViewBox()
    panel.chart.scene().sigMouseMoved.emit(vb.sceneBoundingRect().center())
    assert not panel._hover_timer.isActive() and not panel.readout.isVisible()


def test_long_windows_say_what_the_console_holds(qtbot) -> None:
    store = fed_store(3600, slice(0, 0))  # capacity 3600 at 1 Hz: one hour
    panel = panel_on(store, qtbot)
    labels = [b.text() for b in panel._window_group.buttons()]
    assert labels == ["5 min", "15 min", "1 h", "6 h", "24 h"]

    def width() -> float:
        lo, hi = x_range(panel)
        return hi - lo

    for seconds, asked in ((21600.0, "6 h"), (86400.0, "24 h")):
        panel.set_window(seconds)
        panel.run_refresh(time.monotonic())
        assert width() == pytest.approx(3600.0)
        assert panel.note_label.isVisible()
        assert panel.note_label.full_text == f"{asked} asked: 3,600 samples kept, 1 h at this rate"
    panel.set_window(3600.0)
    panel.run_refresh(time.monotonic())
    assert width() == pytest.approx(3600.0) and not panel.note_label.isVisible()


def test_window_commands_include_6h_24h_and_back_to_live(qtbot, tmp_path) -> None:
    from opsconsole.ui.layout import LayoutStore
    from opsconsole.ui.mainwindow import MainWindow

    ctx = UiContext(Store(capacity=600), Selection())
    win = MainWindow(ctx, LayoutStore(tmp_path / "layouts.json"))
    qtbot.addWidget(win)
    win.registry.run("charts.window.24h")
    assert win.signals.window_s == 86400.0
    win.registry.run("charts.window.6h")
    assert win.signals.window_s == 21600.0
    win.signals.zoom_to(1_800_000_000.0, 1_800_000_060.0)
    win.registry.run("charts.live")
    assert win.signals.following


def test_markers_only_for_the_service_and_its_dependencies(live: Live, qloop) -> None:
    panel = live.panel
    live.ctx.selection.select("sim", "orders")
    qloop.run(wait_until(lambda: has_points(panel), 10, "data"))
    state = live.store.backend("sim")
    # What the backend says orders depends on: payments is one, search is not.
    assert "payments" in state.services["orders"].depends_on
    assert "search" not in state.services["orders"].depends_on

    def scenario_event(target: str):
        return next(
            (e for _, e in live.store.events if e.kind == "scenario" and e.service == target),
            None,
        )

    async def scenario() -> None:
        await live.client.scenario("latency_spike", "search")
        await live.client.scenario("error_burst", "payments")
        await wait_until(
            lambda: scenario_event("search") is not None and scenario_event("payments") is not None,
            10,
            "both scenario events",
        )
        payments = scenario_event("payments")
        await wait_until(lambda: payments.ts in panel.marker_lines(), 10, "the payments marker")

    qloop.run(scenario())
    panel.run_refresh(time.monotonic())
    assert scenario_event("search").ts not in panel.marker_lines()
    lo, hi = x_range(panel)
    assert lo <= scenario_event("search").ts <= hi  # in view, yet not drawn: unrelated


def test_marker_items_are_made_as_events_need_them_up_to_the_pool(qtbot) -> None:
    t0 = 1_800_000_000.0
    store = fed_store(600, slice(0, 0), t0=t0, services=(Service(name="svc"),))
    panel = panel_on(store, qtbot, size=(1000, 700))
    panel.set_window(900.0)
    panel.run_refresh(time.monotonic())

    def items() -> list[object]:
        chart_items = panel.chart.scene().items()
        return [i for i in chart_items if isinstance(i, pg.InfiniteLine) and i.zValue() == 4]

    assert items() == [] and panel.marker_labels == []  # no event, no marker item
    seq = iter(range(1, 10_000))

    def event(ts: float, message: str) -> None:
        ev = Event(ts=ts, kind="deploy", message=message, service="svc", seq=next(seq))
        store.apply(EventOccurred("b", ev))

    event(t0 + 300, "deploy v1")
    panel.run_refresh(time.monotonic())
    assert panel.marker_lines() == [t0 + 300]
    assert len(items()) == len(panel.plots)  # one line on each plot
    assert [lb.text for lb in panel.marker_labels] == ["deploy v1"]

    for k in range(80):  # more events than the pool holds: the newest kept, no more items
        event(t0 + 10 + 7 * k, f"deploy n{k}")
    panel.run_refresh(time.monotonic())
    assert len(panel.marker_lines()) == MARKER_POOL
    assert len(items()) == MARKER_POOL * len(panel.plots)
    assert 0 < len(panel.marker_labels) <= MARKER_POOL


def test_close_markers_are_grouped_and_labels_never_overlap(qtbot) -> None:
    t0 = 1_800_000_000.0
    services = (Service(name="svc", depends_on=("db-proxy",)), Service(name="other"))
    store = fed_store(600, slice(0, 0), t0=t0, services=services)
    seq = iter(range(1, 10_000))

    def event(ts: float, message: str, service: str | None = "svc", **data: object) -> None:
        ev = Event(ts=ts, kind="deploy", message=message, service=service, data=data, seq=next(seq))
        store.apply(EventOccurred("b", ev))

    for k in range(4):  # four deploys within three seconds
        event(t0 + 300 + k, f"deploy v{k}")
    event(t0 + 100, "deploy early")
    event(t0 + 450, "breaker db-proxy open", None, circuit="db-proxy")  # a dependency
    event(t0 + 200, "deploy of other", "other")  # unrelated: not drawn
    panel = panel_on(store, qtbot, size=(1000, 700))
    panel.set_window(900.0)
    panel.run_refresh(time.monotonic())
    labels = dict(panel.markers())
    assert labels == {
        t0 + 303: "deploy v3 ×4",
        t0 + 100: "deploy early",
        t0 + 450: "deploy: breaker db-proxy open",
    }
    assert sorted(panel.marker_lines()) == [
        t0 + 100,
        t0 + 300,
        t0 + 301,
        t0 + 302,
        t0 + 303,
        t0 + 450,
    ]
    tip = next(ln for ln in panel._marker_lines[0] if ln.value() == t0 + 303).toolTip()
    assert all(f"deploy v{k}" in tip for k in range(4))

    # A busy stretch: 60 events over the window, every label clear of every other.
    for k in range(60):
        event(t0 + 10 + 9.5 * k, f"deploy n{k}")
    panel.run_refresh(time.monotonic())
    shown = [lb for lb in panel.marker_labels if lb.isVisible()]
    assert len(shown) >= 5 and len(shown) == len(panel.markers())
    view = panel.chart.viewportTransform()
    # Labels are drawn in pixels: their rectangles on screen, from the device transform.
    rects = [lb.deviceTransform(view).mapRect(lb.boundingRect()) for lb in shown]
    for i, a in enumerate(rects):
        for b in rects[i + 1 :]:
            assert not a.intersects(b)
    plot_rect = view.mapRect(panel.plots[0].getViewBox().sceneBoundingRect())
    assert all(plot_rect.contains(r) for r in rects)  # none cut off at an edge
    counted = sum(int(text.rsplit("×", 1)[1]) if "×" in text else 1 for _, text in panel.markers())
    assert counted == 66  # every event in view is in exactly one label


def test_the_consoles_first_data_is_drawn_without_waiting_for_a_tick(qtbot) -> None:
    # No scheduler at all: until the first data is painted, news draws when the loop is free.
    t0 = 1_800_000_000.0
    store = fed_store(30, slice(0, 0), t0=t0)
    ctx = UiContext(store, Selection())
    panel = GoldenSignalsPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.refresh_count == 0
    ctx.selection.select("b", "svc")  # as the services panel's first refresh does
    qtbot.waitUntil(lambda: ctx.stats.first_data_painted_at is not None)
    assert panel.refresh_count == 1 and panel.chart.has_data

    # From then on news waits for the scheduler's frame, as every other panel's does.
    row = np.full((1, len(METRIC_FIELDS)), 1.0)
    store.apply(MetricsBatch("b", ("svc",), np.array([t0 + 30.0]), row, METRIC_FIELDS))
    assert panel.dirty
    QApplication.processEvents()
    QApplication.processEvents()
    assert panel.refresh_count == 1 and panel.dirty

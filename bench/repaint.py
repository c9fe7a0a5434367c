"""Repaint benchmark: a 1920×1080 4×4 grid of 64 curves × 3,600 points, and the signals panel.

What one "frame" is here, for both the fast grid and the naive baseline: new data and a new
X window for every curve, the whole viewport marked dirty, then Qt's events processed until
nothing more is painted. That is one full 1920×1080 repaint plus whatever else the frame
makes Qt do (a second paint, a relayout), the way it would cost the UI thread in the app.
The widget is shown on the offscreen platform, so painting goes to the same raster backing
store as on a desktop without a GPU.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

from opsconsole.core.events import ConnectionChanged, MetricsBatch, SnapshotLoaded
from opsconsole.core.models import METRIC_FIELDS, ConnectionState, LinkStatus, Service
from opsconsole.core.store import Store
from opsconsole.ui.charts import ChartWidget, add_live_plot, live_curve, peak_decimate, settle
from opsconsole.ui.context import Selection, UiContext
from opsconsole.ui.panels.signals import GoldenSignalsPanel

WIDTH, HEIGHT = 1920, 1080
ROWS = COLS = 4
PER_PLOT = 4
N_CURVES = ROWS * COLS * PER_PLOT  # 64
POINTS = 3600
FRAMES = 100  # timed frames per run of the fast grid (after WARMUP)
MAX_FAST_RUNS = 5
# The baseline is ~10x slower: fewer frames and runs keep the scenario under a minute.
BASELINE_FRAMES = 20
MAX_BASELINE_RUNS = 2
WARMUP = 5
MAX_DRAIN = 4  # processEvents rounds per frame; a frame that needs more is broken anyway
COLOURS = ("#58a6ff", "#d2a8ff", "#ff7b72", "#3fb950")
T0 = 1_800_000_000.0


def random_walks(n_curves: int, n_points: int, seed: int = 11) -> np.ndarray:
    """Smooth random walks (a monitoring series, not white noise), one row per curve."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, 1.0, (n_curves, n_points))
    walks = np.cumsum(steps, axis=1)
    # Curves sharing a plot are offset so they do not sit on top of each other.
    offsets = 40.0 * (np.arange(n_curves) % PER_PLOT)
    return (walks + offsets[:, None]).astype(np.float32)


def app() -> QApplication:
    instance = QApplication.instance()
    return instance if isinstance(instance, QApplication) else QApplication([])


class FastGrid:
    """What the console does: PlotCurveItems fed by setData, decimated to the pixel width."""

    def __init__(self, walks: np.ndarray) -> None:
        self.walks = walks
        self.widget = ChartWidget(None)
        self.widget.resize(WIDTH, HEIGHT)
        self.plots: list[pg.PlotItem] = []
        self.curves: list[pg.PlotCurveItem] = []
        for k in range(ROWS * COLS):
            r, c = divmod(k, COLS)
            plot = add_live_plot(self.widget, r, c, time_labels=r == ROWS - 1)
            rows = walks[k * PER_PLOT : (k + 1) * PER_PLOT]
            plot.setYRange(float(rows.min()), float(rows.max()), padding=0.02)
            for j in range(PER_PLOT):
                curve = live_curve(COLOURS[j])
                plot.addItem(curve)
                self.curves.append(curve)
            self.plots.append(plot)
        for plot in self.plots[1:]:
            plot.setXLink(self.plots[0])

    def frame(self, k: int) -> None:
        x = T0 + np.arange(k, k + POINTS, dtype=np.float64)
        px = int(self.plots[0].getViewBox().width())
        for i, curve in enumerate(self.curves):
            cx, cy = peak_decimate(x, self.walks[i, k : k + POINTS], 2 * px, origin=k)
            curve.setData(cx, cy)
        self.plots[0].setXRange(x[0], x[-1], padding=0.0)
        settle(self.plots)


class NaiveGrid:
    """The baseline: clear() + plot() (PlotDataItem) every frame, antialiased, auto-range."""

    def __init__(self, walks: np.ndarray) -> None:
        self.walks = walks
        self.widget = pg.GraphicsLayoutWidget()
        self.widget.resize(WIDTH, HEIGHT)
        self.widget.setAntialiasing(True)
        self.plots = [
            self.widget.addPlot(row=r, col=c, axisItems={"bottom": pg.DateAxisItem()})
            for r in range(ROWS)
            for c in range(COLS)
        ]
        self.pens = [pg.mkPen(c, width=1) for c in COLOURS]

    def frame(self, k: int) -> None:
        x = T0 + np.arange(k, k + POINTS, dtype=np.float64)
        for p, plot in enumerate(self.plots):
            plot.clear()
            for j in range(PER_PLOT):
                y = self.walks[p * PER_PLOT + j, k : k + POINTS]
                plot.plot(x, y, pen=self.pens[j], antialias=True)


def time_frames(grid: FastGrid | NaiveGrid, frames: int, start: int = 0) -> dict[str, Any]:
    """Run frames; returns wall, update-only and UI-thread CPU ms, and paints, per frame."""
    qapp = app()
    widget = grid.widget
    wall: list[float] = []
    update: list[float] = []
    cpu: list[float] = []
    paints: list[int] = []
    counter = _PaintCounter(widget)
    for i in range(WARMUP + frames):
        k = start + i
        before = counter.count
        t0, c0 = time.perf_counter(), time.thread_time()
        grid.frame(k)
        t_update = time.perf_counter()
        widget.viewport().update()  # the whole window, every frame
        for _ in range(MAX_DRAIN):
            n = counter.count
            qapp.processEvents()
            if counter.count == n and counter.count > before:
                break
        t1, c1 = time.perf_counter(), time.thread_time()
        if i >= WARMUP:
            wall.append((t1 - t0) * 1000)
            update.append((t_update - t0) * 1000)
            cpu.append((c1 - c0) * 1000)
            paints.append(counter.count - before)
    return {"wall": wall, "update": update, "cpu": cpu, "paints": paints}


class _PaintCounter(QObject):
    """Counts paint events of a pyqtgraph view's viewport (ChartWidget or not)."""

    def __init__(self, widget: pg.GraphicsView) -> None:
        super().__init__()
        self.count = 0
        widget.viewport().installEventFilter(self)

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
        if ev.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def summary(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Median over runs of each run's p50/p95/p99 (wall), p50 (CPU, update), mean paints."""
    med = statistics.median
    return {
        "p50_ms": round(med(pct(r["wall"], 50) for r in runs), 2),
        "p95_ms": round(med(pct(r["wall"], 95) for r in runs), 2),
        "p99_ms": round(med(pct(r["wall"], 99) for r in runs), 2),
        "cpu_p50_ms": round(med(pct(r["cpu"], 50) for r in runs), 2),
        # Of the frame: new data and range (setData, decimation), the rest is painting.
        "update_p50_ms": round(med(pct(r["update"], 50) for r in runs), 2),
        "paints_per_frame": round(med(float(np.mean(r["paints"])) for r in runs), 2),
    }


# ---------------------------------------------------------------------- the panel


def panel_with_hour(window_s: float) -> tuple[GoldenSignalsPanel, Store, Callable[..., None]]:
    """A GoldenSignalsPanel over an hour of 1 Hz samples; `append()` adds the next second."""
    store = Store(capacity=3600)
    names = tuple(f"svc-{i}" for i in range(8))
    services = tuple(Service(name=n) for n in names)
    store.apply(SnapshotLoaded("bench", services, (), (), (), ts=time.time()))
    rng = np.random.default_rng(5)
    base = np.array([40, 80, 150, 100, 0.002, 0.3, 0.6])  # p50 p95 p99 rps err cpu mem
    now = [time.time() - 3600.0]

    def append(n: int = 1) -> None:
        for _ in range(n):
            now[0] += 1.0
            values = base * (1 + 0.2 * rng.standard_normal((len(names), len(METRIC_FIELDS))))
            values = np.abs(values)
            ts = np.full(len(names), now[0])
            store.apply(MetricsBatch("bench", names, ts, values, METRIC_FIELDS))

    append(3600)
    store.apply(ConnectionChanged("bench", LinkStatus(ConnectionState.LIVE)))
    ctx = UiContext(store, Selection())
    panel = GoldenSignalsPanel(ctx)
    panel.resize(1000, 760)
    panel.set_window(window_s)
    ctx.selection.select("bench", "svc-3")
    panel.show()
    return panel, store, append


def time_panel(window_s: float, frames: int) -> dict[str, float]:
    """refresh() alone, and refresh() plus the paint it causes, with a new sample per frame."""
    qapp = app()
    panel, _store, append = panel_with_hour(window_s)
    counter = _PaintCounter(panel.chart)
    qapp.processEvents()
    refresh_ms: list[float] = []
    frame_ms: list[float] = []
    paints: list[int] = []
    for i in range(WARMUP + frames):
        append()
        before = counter.count
        t0 = time.perf_counter()
        panel.run_refresh(time.monotonic())
        t1 = time.perf_counter()
        for _ in range(MAX_DRAIN):
            n = counter.count
            qapp.processEvents()
            if counter.count == n and counter.count > before:
                break
        t2 = time.perf_counter()
        if i >= WARMUP:
            refresh_ms.append((t1 - t0) * 1000)
            frame_ms.append((t2 - t0) * 1000)
            paints.append(counter.count - before)
    panel.close()
    panel.deleteLater()
    return {
        "refresh_p50_ms": round(pct(refresh_ms, 50), 2),
        "refresh_p95_ms": round(pct(refresh_ms, 95), 2),
        "refresh_plus_paint_p50_ms": round(pct(frame_ms, 50), 2),
        "refresh_plus_paint_p95_ms": round(pct(frame_ms, 95), 2),
        "paints_per_refresh": round(float(np.mean(paints)), 2),
    }


def _progress(what: str, since: float) -> None:
    if os.environ.get("BENCH_VERBOSE"):
        print(f"  {what}: {time.perf_counter() - since:.1f} s", file=sys.stderr, flush=True)


def bench_repaint(runs: int) -> dict[str, object]:
    """64 curves × 3,600 points, fast vs naive in the same process, plus the panel's cost."""
    qapp = app()
    started = time.perf_counter()
    walks = random_walks(N_CURVES, POINTS + (WARMUP + FRAMES) * MAX_FAST_RUNS)
    fast = FastGrid(walks)
    naive = NaiveGrid(walks)
    fast.widget.show()
    naive.widget.show()
    qapp.processEvents()
    fast_runs: list[dict[str, Any]] = []
    naive_runs: list[dict[str, Any]] = []
    # Interleaved runs: load from the rest of the machine hits both sides alike.
    fast_n = max(1, min(runs, MAX_FAST_RUNS))
    baseline_runs = max(1, min(runs, MAX_BASELINE_RUNS))
    for r in range(fast_n):
        t = time.perf_counter()
        fast_runs.append(time_frames(fast, FRAMES, start=r * (WARMUP + FRAMES)))
        _progress(f"fast run {r}", t)
        if r < baseline_runs:
            t = time.perf_counter()
            naive_runs.append(time_frames(naive, BASELINE_FRAMES, start=r * WARMUP))
            _progress(f"naive run {r}", t)
    fast.widget.close()
    naive.widget.close()
    f, n = summary(fast_runs), summary(naive_runs)
    t = time.perf_counter()
    panel_1h = time_panel(3600.0, 50)
    panel_15m = time_panel(900.0, 50)
    # 24 h asked of a ring holding an hour at 1 Hz: the panel shows the hour it holds (and
    # says so), decimated to the pixel width like any window.
    panel_24h = time_panel(86400.0, 50)
    _progress("panel", t)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "scenario": "repaint_64_curves",
        "what": (
            f"{WIDTH}x{HEIGHT} window, {ROWS}x{COLS} plots, {N_CURVES} curves x {POINTS} points"
            " (smooth random walk), window slides one sample per frame; frame = setData on every"
            " curve + new X range + whole viewport marked dirty + Qt events processed until"
            " painted (wall ms, offscreen raster)"
        ),
        "runs": fast_n,
        "frames_per_run": FRAMES,
        "fast": f,
        "baseline_naive_clear_plot_antialias": {
            **n,
            "runs": baseline_runs,
            "frames_per_run": BASELINE_FRAMES,
        },
        "ratio_p50_vs_baseline": round(n["p50_ms"] / f["p50_ms"], 2),
        "ratio_p95_vs_baseline": round(n["p95_ms"] / f["p95_ms"], 2),
        "panel_refresh_1h_window_3600_points": panel_1h,
        "panel_refresh_15min_window": panel_15m,
        "panel_refresh_24h_window_1h_held": panel_24h,
        "target_p95_ms": 16,
        "target_p99_ms": 33,
        "meets_target": f["p95_ms"] <= 16 and f["p99_ms"] <= 33,
        "load_avg_1min": None if load is None else round(load, 2),
        "seconds": round(time.perf_counter() - started, 1),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(bench_repaint(int(sys.argv[1]) if len(sys.argv) > 1 else 3)), flush=True)

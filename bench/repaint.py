"""Repaint benchmark: a 1920×1080 4×4 grid of 64 curves × 3,600 points, and the signals panel.

What one "frame" is here, for the new LiveGrid and the current pyqtgraph design alike: new data
and a new X window for every curve, the whole widget marked dirty, then Qt's events processed until
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
import pyqtgraph.functions as pgfn
from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QApplication, QWidget

from opsconsole.core.events import ConnectionChanged, MetricsBatch, SnapshotLoaded
from opsconsole.core.models import METRIC_FIELDS, ConnectionState, LinkStatus, Service
from opsconsole.core.store import Store
from opsconsole.ui.charts import ChartWidget, add_live_plot, live_curve, peak_decimate, settle
from opsconsole.ui.context import Selection, UiContext
from opsconsole.ui.livegrid import Cell, LiveGrid, Strip
from opsconsole.ui.panels.signals import GoldenSignalsPanel

WIDTH, HEIGHT = 1920, 1080
ROWS = COLS = 4
PER_PLOT = 4
N_CURVES = ROWS * COLS * PER_PLOT  # 64
POINTS = 3600
FRAMES = 100  # timed frames per run of the fast grid (after WARMUP)
MAX_FAST_RUNS = 5
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

    @property
    def paint_target(self) -> QWidget:
        return self.widget.viewport()

    def frame(self, k: int) -> None:
        x = T0 + np.arange(k, k + POINTS, dtype=np.float64)
        px = int(self.plots[0].getViewBox().width())
        for i, curve in enumerate(self.curves):
            cx, cy = peak_decimate(x, self.walks[i, k : k + POINTS], 2 * px, origin=k)
            curve.setData(cx, cy)
        self.plots[0].setXRange(x[0], x[-1], padding=0.0)
        settle(self.plots)


class NewGrid:
    """The new drawing path: one LiveGrid (QPainter, persistent polygons, column bins)."""

    def __init__(self, walks: np.ndarray) -> None:
        self.walks = walks
        self.widget = LiveGrid(columns=COLS, rows=ROWS, time_labels=True)
        self.widget.resize(WIDTH, HEIGHT)
        self.widget.show()
        self.widget.set_window(float(POINTS))
        cells = []
        for k in range(ROWS * COLS):
            rows = tuple(range(k * PER_PLOT, (k + 1) * PER_PLOT))
            top = float(walks[list(rows)].max()) * 1.02
            cells.append(Cell(key=k, title=f"plot {k}", strips=[Strip(rows, COLOURS, y_top=top)]))
        self.widget.set_cells(cells, rows=N_CURVES)
        self.shift = float(-walks.min()) + 1.0  # the grid's Y axes start at 0
        self.rows = np.repeat(np.arange(N_CURVES), 1)
        self._fed = -1

    def frame(self, k: int) -> None:
        grid = self.widget
        last = k + POINTS - 1
        if self._fed < 0 or grid.generation != self._gen:
            # First frame (or new column width): the whole window at once.
            self._gen = grid.generation
            idx = np.arange(k, last + 1)
            rows = np.repeat(np.arange(N_CURVES), idx.size)
            ts = np.tile(T0 + idx, N_CURVES)
            vals = (self.walks[:, k : last + 1] + self.shift).ravel()
        else:
            rows = self.rows
            ts = np.full(N_CURVES, T0 + last)
            vals = self.walks[:, last] + self.shift
        self._fed = last
        changed = grid.bins.add(rows, ts, vals)
        grid.set_end(T0 + last)
        grid.mark_rows(changed)
        grid.refresh()

    @property
    def paint_target(self) -> QWidget:
        return self.widget


class Floor:
    """QPainter alone: 64 polylines of already decimated points into a 1920×1080 image."""

    PLOT_W = 400

    def __init__(self, walks: np.ndarray) -> None:
        self.walks = walks
        self.image = QImage(WIDTH, HEIGHT, QImage.Format.Format_ARGB32_Premultiplied)
        self.pens = [QPen(QColor(c), 0) for c in COLOURS]
        self.background = QColor("#0d1117")
        lo, hi = float(walks.min()), float(walks.max())
        self.scale = (HEIGHT / ROWS - 20) / (hi - lo)
        self.lo = lo

    def polygons(self, k: int) -> list[QPolygonF]:
        """The frame's 64 polylines (800 points each), built outside the timed part."""
        x = T0 + np.arange(k, k + POINTS, dtype=np.float64)
        polys = []
        cell_w, cell_h = WIDTH / COLS, HEIGHT / ROWS
        for i in range(N_CURVES):
            cx, cy = peak_decimate(x, self.walks[i, k : k + POINTS], 2 * self.PLOT_W, origin=k)
            r, c = divmod(i // PER_PLOT, COLS)
            px = c * cell_w + 50 + (cx - cx[0]) * (self.PLOT_W / (cx[-1] - cx[0]))
            py = (r + 1) * cell_h - 10 - (cy - self.lo) * self.scale
            poly = pgfn.create_qpolygonf(px.size)
            view = pgfn.ndarray_from_qpolygonf(poly)
            view[:, 0], view[:, 1] = px, py
            polys.append(poly)
        return polys

    def draw(self, polys: list[QPolygonF]) -> None:
        self.image.fill(self.background)
        painter = QPainter(self.image)
        for i, poly in enumerate(polys):
            painter.setPen(self.pens[i % PER_PLOT])
            painter.drawPolyline(poly)
        painter.end()


def time_floor(floor: Floor, frames: int, start: int = 0) -> dict[str, Any]:
    wall: list[float] = []
    for i in range(WARMUP + frames):
        polys = floor.polygons(start + i)
        t0 = time.perf_counter()
        floor.draw(polys)
        if i >= WARMUP:
            wall.append((time.perf_counter() - t0) * 1000)
    return {"wall": wall, "update": [0.0] * len(wall), "cpu": wall, "paints": [1] * len(wall)}


def time_frames(grid: FastGrid | NewGrid, frames: int, start: int = 0) -> dict[str, Any]:
    """Run frames; returns wall, update-only and UI-thread CPU ms, and paints, per frame."""
    qapp = app()
    wall: list[float] = []
    update: list[float] = []
    cpu: list[float] = []
    paints: list[int] = []
    target = grid.paint_target
    counter = _PaintCounter(target)
    for i in range(WARMUP + frames):
        k = start + i
        before = counter.count
        t0, c0 = time.perf_counter(), time.thread_time()
        grid.frame(k)
        t_update = time.perf_counter()
        target.update()  # the whole window, every frame
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
    """Counts paint events of the widget that paints (a pyqtgraph view's viewport, a LiveGrid)."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__()
        self.count = 0
        widget.installEventFilter(self)

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
    counter = _PaintCounter(panel.chart.viewport())
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


def noise(n_curves: int, n_points: int, seed: int = 13) -> np.ndarray:
    """White noise (the worst case for a line: every column is a full-height stroke)."""
    rng = np.random.default_rng(seed)
    offsets = 40.0 * (np.arange(n_curves) % PER_PLOT)
    return (rng.normal(0.0, 10.0, (n_curves, n_points)) + offsets[:, None]).astype(np.float32)


def with_floor_ratio(s: dict[str, float], floor_p95: float) -> dict[str, float]:
    return {**s, "p95_ratio_to_floor": round(s["p95_ms"] / floor_p95, 2)}


def bench_data(kind: str, data: np.ndarray, runs: int) -> dict[str, object]:
    """Floor, new grid and current design on one data set, interleaved run by run."""
    qapp = app()
    floor, new, current = Floor(data), NewGrid(data), FastGrid(data)
    current.widget.show()
    qapp.processEvents()
    floor_runs: list[dict[str, Any]] = []
    new_runs: list[dict[str, Any]] = []
    current_runs: list[dict[str, Any]] = []
    n = max(1, min(runs, MAX_FAST_RUNS))
    for r in range(n):
        # Interleaved: load from the rest of the machine hits all three alike.
        start = r * (WARMUP + FRAMES)
        t = time.perf_counter()
        floor_runs.append(time_floor(floor, FRAMES, start))
        new_runs.append(time_frames(new, FRAMES, start))
        current_runs.append(time_frames(current, FRAMES, start))
        _progress(f"{kind} run {r}", t)
    new.widget.close()
    current.widget.close()
    fl = summary(floor_runs)
    return {
        "floor_qpainter_only": {k: fl[k] for k in ("p50_ms", "p95_ms", "p99_ms")},
        "new_livegrid": with_floor_ratio(summary(new_runs), fl["p95_ms"]),
        "current_pyqtgraph_items": with_floor_ratio(summary(current_runs), fl["p95_ms"]),
    }


def bench_repaint(runs: int) -> list[dict[str, object]]:
    """64 curves × 3,600 points on smooth data and on white noise, plus the panel's cost."""
    started = time.perf_counter()
    frames_needed = POINTS + (WARMUP + FRAMES) * MAX_FAST_RUNS
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    what = (
        f"{WIDTH}x{HEIGHT} window, {ROWS}x{COLS} plots, {N_CURVES} curves x {POINTS} points,"
        " window slides one sample per frame; frame = new sample on every curve + new X range +"
        " whole widget marked dirty + Qt events processed until painted (wall ms, offscreen"
        " raster). Floor: QPainter alone stroking 64 already decimated polylines (800 points,"
        " 1 px cosmetic pen, no antialiasing) into a 1920x1080 image, same run."
    )
    lines: list[dict[str, object]] = []
    for kind, data in (
        ("smooth", random_walks(N_CURVES, frames_needed)),
        ("noise", noise(N_CURVES, frames_needed)),
    ):
        t = time.perf_counter()
        result = bench_data(kind, data, runs)
        new = result["new_livegrid"]
        assert isinstance(new, dict)
        lines.append(
            {
                "scenario": "repaint_64_curves" if kind == "smooth" else "repaint_64_curves_noise",
                "what": what,
                "runs": max(1, min(runs, MAX_FAST_RUNS)),
                "frames_per_run": FRAMES,
                **result,
                "p95_ratio_to_floor": new["p95_ratio_to_floor"],
                "target_p95_ratio_to_floor": 2.0,
                "meets_target": new["p95_ratio_to_floor"] <= 2.0,
                "load_avg_1min": None if load is None else round(load, 2),
                "seconds": round(time.perf_counter() - t, 1),
            }
        )
    t = time.perf_counter()
    lines.append(
        {
            "scenario": "signals_panel_refresh",
            "what": "the golden signals panel (pyqtgraph: hover, zoom, markers), one new sample",
            "panel_refresh_1h_window_3600_points": time_panel(3600.0, 50),
            "panel_refresh_15min_window": time_panel(900.0, 50),
            # 24 h asked of a ring holding an hour at 1 Hz: the panel shows the hour it holds.
            "panel_refresh_24h_window_1h_held": time_panel(86400.0, 50),
            "seconds": round(time.perf_counter() - t, 1),
        }
    )
    _progress("all", started)
    return lines


if __name__ == "__main__":
    import json

    for line in bench_repaint(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
        print(json.dumps(line), flush=True)

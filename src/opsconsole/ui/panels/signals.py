"""Golden signals of the selected service: latency, traffic, errors, saturation on one time axis."""

from __future__ import annotations

import html
import math
import time
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from opsconsole.core.health import Health, no_traffic
from opsconsole.core.models import ConnectionState, Event, Thresholds
from opsconsole.core.series import BankSeries
from opsconsole.ui import theme
from opsconsole.ui.charts import (
    LABEL_FILL,
    ChartWidget,
    LiveCurve,
    add_live_plot,
    dashed_pen,
    live_curve,
    nice_ceiling,
    peak_decimate,
    settle,
    threshold_line,
)
from opsconsole.ui.context import UiContext
from opsconsole.ui.panel import Panel


@dataclass(frozen=True)
class CurveSpec:
    field: str  # METRIC_FIELDS name, also the key in `panel.curves`
    label: str
    plot: int  # index into PLOTS
    scale: float  # ratios (0–1) are shown as %


CURVES: tuple[CurveSpec, ...] = (
    # p50 and p99 share one chart: a p99 climbing over a flat p50 is the long-tail signature.
    CurveSpec("latency_p50_ms", "p50", 0, 1.0),
    CurveSpec("latency_p95_ms", "p95", 0, 1.0),
    CurveSpec("latency_p99_ms", "p99", 0, 1.0),
    CurveSpec("rps", "rps", 1, 1.0),
    CurveSpec("error_ratio", "errors", 2, 100.0),
    CurveSpec("cpu", "CPU", 3, 100.0),
    CurveSpec("memory", "memory", 3, 100.0),
)
PLOTS: tuple[tuple[str, str], ...] = (
    ("Latency", "ms"),
    ("Traffic", "req/s"),
    ("Errors", "%"),
    ("Saturation", "%"),
)
LATENCY, TRAFFIC, ERRORS, SATURATION = range(4)

WINDOWS: tuple[tuple[str, float], ...] = (("5 min", 300.0), ("15 min", 900.0), ("1 h", 3600.0))
DEFAULT_WINDOW_S = 900.0

MARKER_POOL = 8  # newest events shown; the lines are made once and reused
MARKER_LABEL_CHARS = 30
# Events of other services that still explain what the selected one does.
MARKER_KINDS_ALWAYS = frozenset({"failover", "breaker", "scenario"})
# The event deque is in arrival order, which follows event time to within clock noise; stop
# scanning once this far before the window.
MARKER_SCAN_SLACK_S = 120.0

# While stale only the age text and the scrolling window change: twice a second is enough and
# keeps a wall display showing STALE for hours from burning a core.
STALE_REFRESH_S = 0.5
# The median of an hour of traffic moves slowly; recomputing it every frame would be waste.
BASELINE_EVERY_S = 5.0
# An axis top only shrinks when the data falls well under it, so it does not pump each frame.
SHRINK_BELOW = 0.6
STALE_PEN_COLOUR = "#6e7681"


class GoldenSignalsPanel(Panel):
    """Four stacked live plots for `ctx.selection`, redrawn only by `refresh`.

    For tests and the app: `curves` (field → PlotCurveItem), `refresh_count`, `window_s` /
    `set_window()`, `threshold_lines`, `baseline_band`, `markers()`, `stale`, `stale_text`,
    `chart` (the ChartWidget) and `plots`.
    """

    panel_id = "golden_signals"
    title = "Golden signals"

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.refresh_count = 0
        self.window_s = DEFAULT_WINDOW_S
        self.stale = False
        self.stale_text = ""
        self.baseline: float = math.nan
        self.curves: dict[str, LiveCurve] = {}
        self.threshold_lines: dict[str, pg.InfiniteLine] = {}
        self._pens = {spec.field: pg.mkPen(theme.SERIES[spec.field], width=1) for spec in CURVES}
        self._stale_pen = pg.mkPen(STALE_PEN_COLOUR, width=1)
        self._last_refresh = -math.inf
        self._build()
        self._reset_selection_state()
        store = ctx.store
        # Store signals only mark the panel dirty (and only when they concern what it shows);
        # the drawing happens in refresh(), at the scheduler's pace.
        store.metrics_appended.connect(self._on_metrics)
        store.event_added.connect(self._on_event)
        store.services_changed.connect(self._on_backend_changed)
        store.connection_changed.connect(self._on_backend_changed)
        store.snapshot_loaded.connect(self._on_backend_changed)
        ctx.selection.changed.connect(self._on_selection)
        self._update_heading()

    # ------------------------------------------------------------------ building

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)

        bar = QHBoxLayout()
        bar.setSpacing(4)
        self._heading = QLabel()
        self._heading.setTextFormat(Qt.TextFormat.RichText)
        bar.addWidget(self._heading)
        bar.addStretch(1)
        self._window_group = QButtonGroup(self)
        self._window_group.setExclusive(True)
        self._window_buttons: dict[float, QPushButton] = {}
        for label, seconds in WINDOWS:
            button = QPushButton(label)
            button.setCheckable(True)
            button.setChecked(seconds == self.window_s)
            button.setToolTip(f"Show the last {label}")
            button.clicked.connect(lambda _=False, s=seconds: self.set_window(s))
            self._window_group.addButton(button)
            self._window_buttons[seconds] = button
            bar.addWidget(button)
        layout.addLayout(bar)

        self._stack = QStackedWidget()
        self.placeholder = QLabel("Select a service")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 14pt;")
        self.chart = ChartWidget(self.ctx.stats)
        self._stack.addWidget(self.placeholder)
        self._stack.addWidget(self.chart)
        layout.addWidget(self._stack, 1)

        self.plots: list[pg.PlotItem] = []
        for i, (name, unit) in enumerate(PLOTS):
            specs = [s for s in CURVES if s.plot == i]
            title = (
                f'<span style="color:{theme.TEXT}; font-weight:bold">{name}</span>'
                f'&nbsp;<span style="color:{theme.TEXT_DIM}">{unit}</span>&nbsp;&nbsp;'
                + "&nbsp;&nbsp;".join(
                    f'<span style="color:{theme.SERIES[s.field]}">━&nbsp;{s.label}</span>'
                    for s in specs
                )
            )
            plot = add_live_plot(self.chart, i, 0, title, time_labels=i == len(PLOTS) - 1)
            self.plots.append(plot)
            for spec in specs:
                curve = live_curve(theme.SERIES[spec.field])
                plot.addItem(curve)
                self.curves[spec.field] = curve
        # One plot owns the X range; the others follow it through the link.
        self._x_owner = self.plots[-1]
        for plot in self.plots[:-1]:
            plot.setXLink(self._x_owner)
        self.plots[SATURATION].setYRange(0.0, 100.0, padding=0.0)

        for key, plot_i, label, below in (
            ("latency_p99_ms", LATENCY, "p99 limit", False),
            ("error_ratio", ERRORS, "error limit", False),
            # CPU 80 % and memory 85 % lie 5 % apart: one label under, one over.
            ("cpu", SATURATION, "CPU limit", True),
            ("memory", SATURATION, "memory limit", False),
        ):
            line = threshold_line(label, below)
            line.setZValue(5)
            self.plots[plot_i].addItem(line, ignoreBounds=True)
            self.threshold_lines[key] = line
        self._threshold_values: dict[str, float] = {}

        band_pen = dashed_pen(theme.THRESHOLD)
        self.baseline_band = pg.LinearRegionItem(
            values=(0.0, 1.0),
            orientation="horizontal",
            brush=pg.mkBrush(240, 136, 62, 22),
            pen=band_pen,
            movable=False,
        )
        self.baseline_band.setZValue(-5)  # under the curve
        self._band_label = pg.InfLineLabel(
            self.baseline_band.lines[1],
            text="baseline ±50 %",
            position=0.01,
            anchors=[(0, 1), (0, 1)],
            color=theme.THRESHOLD,
            fill=LABEL_FILL,
        )
        self.plots[TRAFFIC].addItem(self.baseline_band, ignoreBounds=True)
        self.baseline_band.hide()

        # Parented to the view box (not its data group): fixed pixels at the top left, so it
        # needs no data coordinates and never moves the autorange.
        self.no_traffic_label = pg.TextItem(
            "no traffic — latency undefined", color=theme.TEXT_DIM, fill=LABEL_FILL
        )
        self.no_traffic_label.setParentItem(self.plots[LATENCY].getViewBox())
        self.no_traffic_label.setPos(6, 4)
        self.no_traffic_label.hide()

        # Event markers: a fixed pool of vertical lines per plot, moved and relabelled as
        # events come and go; only the top plot carries the text.
        self._marker_lines: list[list[pg.InfiniteLine]] = []
        marker_pen = dashed_pen(theme.EVENT_MARKER)
        for i, plot in enumerate(self.plots):
            lines = []
            for _ in range(MARKER_POOL):
                opts: dict[str, object] = {}
                if i == 0:
                    opts = {
                        "label": "",
                        "labelOpts": {
                            "color": theme.TEXT,
                            # Text right of the line, flipping to its left near the right
                            # edge (where the newest events are) so it is never cut off.
                            "anchors": [(0, 0), (1, 0)],
                            "fill": LABEL_FILL,
                        },
                    }
                line = pg.InfiniteLine(pos=0.0, angle=90, pen=marker_pen, movable=False, **opts)
                if i == 0:
                    # Staggered heights: events close in time do not print over each other.
                    line.label.setPosition(0.97 - 0.16 * (len(lines) % 4))
                line.setZValue(4)
                line.hide()
                plot.addItem(line, ignoreBounds=True)
                lines.append(line)
            self._marker_lines.append(lines)
        self._marker_events: tuple[Event, ...] = ()
        self._stack.setCurrentWidget(self.placeholder)

    # ------------------------------------------------------------------ public

    def set_window(self, seconds: float) -> None:
        """Show the last `seconds` (one of WINDOWS); the next refresh re-slices."""
        self.window_s = float(seconds)
        button = self._window_buttons.get(self.window_s)
        if button is not None and not button.isChecked():
            button.setChecked(True)
        self.mark_dirty()

    def markers(self) -> list[tuple[float, str]]:
        """The event markers on screen now: (time, label)."""
        return [
            (float(line.value()), line.label.toPlainText())
            for line in self._marker_lines[0]
            if line.isVisible()
        ]

    def needs_refresh(self) -> bool:
        if not self.isVisible():
            return False
        if self._dirty:
            return True
        # Stale: nothing arrives to mark us dirty, yet the age must count up.
        return self.stale and self.ctx.clock() - self._last_refresh >= STALE_REFRESH_S

    # ------------------------------------------------------------------ store signals

    def _on_metrics(self, backend: str, services: Collection[str]) -> None:
        sel = self.ctx.selection
        if backend == sel.backend and sel.service in services:
            self.mark_dirty()

    def _on_event(self, backend: str, event: Event) -> None:
        if backend == self.ctx.selection.backend:
            self.mark_dirty()

    def _on_backend_changed(self, backend: str, *_: object) -> None:
        if backend == self.ctx.selection.backend:
            self.mark_dirty()

    def _on_selection(self, backend: str, service: str) -> None:
        self._reset_selection_state()
        self._update_heading()
        self.mark_dirty()

    def _reset_selection_state(self) -> None:
        self._data_key: tuple[object, ...] | None = None
        self._tops = [0.0] * len(PLOTS)
        self._baseline_at = -math.inf
        self.baseline = math.nan
        self.chart.has_data = False

    def _update_heading(self) -> None:
        sel = self.ctx.selection
        if sel.service is None:
            self._heading.setText(
                f'<span style="color:{theme.TEXT_DIM}">No service selected</span>'
            )
        else:
            # Names come from the backend: escaped, they cannot inject markup.
            self._heading.setText(
                f'<b style="font-size:12pt">{html.escape(sel.service)}</b>&nbsp;'
                f'<span style="color:{theme.TEXT_DIM}">on {html.escape(sel.backend or "")}</span>'
            )

    # ------------------------------------------------------------------ drawing

    def refresh(self, now: float) -> None:
        self.refresh_count += 1
        self._last_refresh = self.ctx.clock()
        sel = self.ctx.selection
        backend, service = sel.backend, sel.service
        if backend is None or service is None:
            self._show_placeholder("Select a service")
            return
        store = self.ctx.store
        state = store.backends.get(backend)  # .backend() would create an empty one
        series = state.series.get(service) if state is not None else None
        if state is None or series is None or len(series) == 0:
            self._show_placeholder(f"Waiting for data from {service}…")
            return
        if self._stack.currentWidget() is not self.chart:
            self._stack.setCurrentWidget(self.chart)
        # Views are fetched again on every refresh: the bank reallocates when it grows.
        times = series.times()
        age = store.data_age(backend) or 0.0
        # The window ends at the server's "now" as best we know it: the newest server time
        # seen (a sample, or an event that came after it) plus the time since anything
        # arrived. Live, that is the newest sample; stale, the gap grows.
        end = max(float(times[-1]), self._newest_server_event_ts(backend)) + age
        start = end - self.window_s
        svc = state.services.get(service)
        thresholds = svc.thresholds if svc is not None else Thresholds()
        self._update_baseline(series, thresholds)
        self._update_curves(series, times, start, thresholds)
        self._update_no_traffic(series)
        self._update_thresholds(thresholds)
        self._update_markers(backend, service, start)
        self._update_stale(state.link.state, age)
        self._x_owner.setXRange(start, end, padding=0.0)
        settle(self.plots)

    def _newest_server_event_ts(self, backend: str) -> float:
        """Time of the newest event the backend itself stamped (-inf if none).

        Console-made events (seq None, e.g. "lost the link") carry the local clock, which may
        be minutes off the server's: they must not move the window.
        """
        for b, ev in reversed(self.ctx.store.events):
            if b == backend and ev.seq is not None:
                return ev.ts
        return -math.inf

    def _update_no_traffic(self, series: BankSeries) -> None:
        latest = series.latest()
        idle = no_traffic(latest)
        if idle != self.no_traffic_label.isVisible():
            self.no_traffic_label.setVisible(idle)

    def _show_placeholder(self, text: str) -> None:
        if self.placeholder.text() != text:
            self.placeholder.setText(text)
        if self._stack.currentWidget() is not self.placeholder:
            self._stack.setCurrentWidget(self.placeholder)
        self._set_stale(False)  # nothing is shown, so nothing is stale; pens back to colour
        self.chart.has_data = False

    def _update_curves(
        self, series: BankSeries, times: np.ndarray, start: float, thresholds: Thresholds
    ) -> None:
        width = int(self.plots[0].getViewBox().width())
        max_points = 2 * (width if width >= 50 else 1000)
        key = (series.name, series.version, len(series), self.window_s, max_points)
        if key == self._data_key:
            return  # nothing new (a stale tick): only the X range moves
        self._data_key = key
        # Only the visible window is handed to Qt, plus one point to the left so the line
        # enters from the edge.
        i0 = max(int(np.searchsorted(times, start, side="left")) - 1, 0)
        x = times[i0:]
        # Absolute index of x[0]: `version` counts every sample ever kept for this series.
        origin = series.version - len(series) + i0
        peaks = [0.0] * len(PLOTS)
        any_finite = False
        for spec in CURVES:
            y = series.values(spec.field)[i0:]
            if x.size > max_points:
                cx, cy = peak_decimate(x, y, max_points, origin)
            else:
                # Copies, never views: once full, the ring overwrites its oldest slot in place
                # and pyqtgraph keeps the arrays it was given until the next setData.
                cx, cy = np.array(x, dtype=np.float64), np.array(y, dtype=np.float64)
            if spec.scale != 1.0:
                cy *= spec.scale
            curve = self.curves[spec.field]
            curve.setData(cx, cy)
            if curve.bounds is not None:
                any_finite = True
                peaks[spec.plot] = max(peaks[spec.plot], curve.bounds[3])
        self.chart.has_data = self.chart.has_data or any_finite
        # Y tops: the data, and the limit lines so the headroom is always on screen.
        self._set_top(LATENCY, max(peaks[LATENCY], thresholds.latency_p99_ms) * 1.08)
        band_top = self.baseline * (1 + thresholds.traffic_deviation)
        self._set_top(TRAFFIC, max(peaks[TRAFFIC], 0 if math.isnan(band_top) else band_top) * 1.1)
        self._set_top(ERRORS, max(peaks[ERRORS], thresholds.error_ratio * 100) * 1.25)

    def _set_top(self, plot: int, wanted: float) -> None:
        top = nice_ceiling(wanted, floor=0.1 if plot == ERRORS else 1.0)
        current = self._tops[plot]
        if top > current or top < current * SHRINK_BELOW:
            self._tops[plot] = top
            self.plots[plot].setYRange(0.0, top, padding=0.0)

    def _update_baseline(self, series: BankSeries, thresholds: Thresholds) -> None:
        now = self.ctx.clock()
        if now - self._baseline_at < BASELINE_EVERY_S:
            return
        self._baseline_at = now
        rps = series.values("rps")
        finite = rps[np.isfinite(rps)]
        self.baseline = float(np.median(finite)) if finite.size else math.nan
        if math.isnan(self.baseline):
            self.baseline_band.hide()
            return
        dev = thresholds.traffic_deviation
        self.baseline_band.setRegion((self.baseline * (1 - dev), self.baseline * (1 + dev)))
        self._band_label.setFormat(f"baseline ±{dev * 100:.0f} %")
        self.baseline_band.show()

    def _update_thresholds(self, thresholds: Thresholds) -> None:
        values = {
            "latency_p99_ms": (thresholds.latency_p99_ms, "p99 limit {:g} ms"),
            "error_ratio": (thresholds.error_ratio * 100, "error limit {:g} %"),
            "cpu": (thresholds.cpu * 100, "CPU limit {:g} %"),
            "memory": (thresholds.memory * 100, "memory limit {:g} %"),
        }
        for key, (value, fmt) in values.items():
            value = round(value, 6)  # 0.85 * 100 is 85.00000000000001
            if self._threshold_values.get(key) != value:
                self._threshold_values[key] = value
                line = self.threshold_lines[key]
                line.setValue(value)
                line.label.setFormat(fmt.format(value))

    def _update_markers(self, backend: str, service: str, start: float) -> None:
        chosen: list[Event] = []
        for b, ev in reversed(self.ctx.store.events):
            # Only server-stamped events end the scan: a console-made one carries the local
            # clock, which may be minutes off and must not hide older server events.
            if ev.seq is not None and ev.ts < start - MARKER_SCAN_SLACK_S:
                break
            if b != backend or ev.ts < start:
                continue
            if ev.service is None or ev.service == service or ev.kind in MARKER_KINDS_ALWAYS:
                chosen.append(ev)
                if len(chosen) == MARKER_POOL:
                    break
        events = tuple(chosen)
        if events == self._marker_events:
            return
        self._marker_events = events
        for lines in self._marker_lines:
            for i, line in enumerate(lines):
                if i >= len(events):
                    line.hide()
                    continue
                ev = events[i]
                # Shown first: a hidden InfLineLabel ignores new text.
                line.show()
                line.setValue(ev.ts)
                when = time.strftime("%H:%M:%S", time.localtime(ev.ts))
                # Rich text on purpose: the escaped message shows as written, markup or not.
                tip = html.escape(f"{when}  {ev.kind}: {ev.message}")
                line.setToolTip(f"<p>{tip}</p>")
                if lines is self._marker_lines[0]:
                    # The label text is a format string ({value}); braces in messages are not.
                    text = _marker_text(ev).replace("{", "{{").replace("}", "}}")
                    line.label.setFormat(text)

    def _set_stale(self, stale: bool) -> None:
        if stale != self.stale:
            self.stale = stale
            # Grey, not hidden: the last known shape still helps, but must not look live.
            for spec in CURVES:
                self.curves[spec.field].setPen(self._stale_pen if stale else self._pens[spec.field])
        if not stale:
            self.stale_text = ""
            self.chart.hide_banner()

    def _update_stale(self, link: ConnectionState, age: float) -> None:
        stale = link is not ConnectionState.LIVE
        self._set_stale(stale)
        if not stale:
            return
        self.stale_text = f"STALE — last data {age:.0f} s ago"
        colour = theme.STATE_COLOURS[Health.UNKNOWN]
        self.chart.show_banner(
            f'<div style="font-size:26pt; font-weight:bold">{self.stale_text}</div>'
            f'<div style="font-size:12pt; color:{colour}">link {link.value}</div>'
        )


def _marker_text(ev: Event, limit: int = MARKER_LABEL_CHARS) -> str:
    """Short label: the message, prefixed by the kind unless the message already says it."""
    text = ev.message if ev.message.startswith(ev.kind) else f"{ev.kind}: {ev.message}"
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""Golden signals of the selected service: latency, traffic, errors, saturation on one time axis."""

from __future__ import annotations

import html
import math
from collections.abc import Collection

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from opsconsole.core.clocktext import span_text
from opsconsole.core.gaps import (
    find_gaps,
    gap_spans,
    gap_text,
    length_text,
    point_at,
    usual_step,
)
from opsconsole.core.health import Health, no_traffic
from opsconsole.core.models import ConnectionState, Event, Thresholds

# The chart's curves and windows are declared in core; tests import them from here.
from opsconsole.core.rows.signals import (
    CURVES,
    DEFAULT_WINDOW_S,
    ERRORS,
    LATENCY,
    PLOTS,
    SATURATION,
    TRAFFIC,
    WINDOWS,
)
from opsconsole.core.series import BankSeries
from opsconsole.core.words import stale_text
from opsconsole.ui import theme
from opsconsole.ui.charts import (
    LABEL_FILL,
    ChartWidget,
    LiveCurve,
    ZoomViewBox,
    add_live_plot,
    break_at_gaps,
    dashed_pen,
    live_curve,
    nice_ceiling,
    peak_decimate,
    threshold_line,
)
from opsconsole.ui.context import UiContext
from opsconsole.ui.elided import ElidedLabel
from opsconsole.ui.panel import Panel
from opsconsole.ui.panels.eventmarkers import (
    MARKER_FONT_PT,
    EventMarkers,
    events_in_view,
    newest_server_event_ts,
)
from opsconsole.ui.panels.readout import sample_text
from opsconsole.ui.statusbar import next_age_change
from opsconsole.ui.xwindow import LiveXWindow

__all__ = ["CURVES", "DEFAULT_WINDOW_S", "GoldenSignalsPanel"]

# The usual step behind "how much does the ring hold" comes from the newest samples only:
# what the rate is now, not an hour ago, and cheap to get on every refresh.
STEP_SAMPLES = 256

# A zoom narrower than this is a slip of the mouse, not a question about the data.
MIN_ZOOM_S = 2.0
# The read-out follows the mouse at most this often: a move costs one search and a label.
HOVER_INTERVAL_MS = 33
READOUT_OFFSET_PX = 14

HELD_SLACK = 1.05  # a window at most this much longer than what the ring holds is shown whole
# The median of an hour of traffic moves slowly; recomputing it every frame would be waste.
BASELINE_EVERY_S = 5.0
# An axis top only shrinks when the data falls well under it, so it does not pump each frame.
SHRINK_BELOW = 0.6
STALE_PEN_COLOUR = "#6e7681"


class GoldenSignalsPanel(Panel):
    """Four stacked live plots for `ctx.selection`, redrawn only by `refresh`.

    For tests and the app: `curves` (field → PlotCurveItem), `refresh_count`, `window_s` /
    `set_window()`, `shown_span_s` and `span_note` (what the ring really holds),
    `following` / `zoom` / `zoom_to()` / `back_to_live()`, `readout_at()` and
    `readout_text`, `set_interactive()` (off for a wall page), `threshold_lines`,
    `baseline_band`, `markers()` / `marker_lines()` / `marker_labels`, `stale`,
    `stale_text`, `chart` (the ChartWidget) and `plots`.
    """

    panel_id = "golden_signals"
    title = "Golden signals"

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.refresh_count = 0
        self.window_s = DEFAULT_WINDOW_S
        self.shown_span_s = DEFAULT_WINDOW_S
        self.span_note = ""
        self.following = True
        self.zoom: tuple[float, float] | None = None
        # A wall display is looked at, not pointed at: no zoom, no read-out there.
        self.interactive = True
        self.stale, self.stale_text, self.readout_text = False, "", ""
        self.baseline: float = math.nan
        self.curves: dict[str, LiveCurve] = {}
        self.threshold_lines: dict[str, pg.InfiniteLine] = {}
        self._pens = {spec.field: pg.mkPen(theme.SERIES[spec.field], width=1) for spec in CURVES}
        self._stale_pen = pg.mkPen(STALE_PEN_COLOUR, width=1)
        self._stale_due = -math.inf
        # What the last refresh plotted, for the read-out: the live edge, the usual step and
        # the holes in time (copies: the ring moves on under them).
        self._live_end = 0.0
        self._step = math.nan
        self._gap_starts = np.empty(0)
        self._gap_ends = np.empty(0)
        self._first_data_pending = False
        # Click focus, so Esc reaches the panel after a drag on the chart.
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
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
        # Says what the chart cannot show: a span the ring does not hold, or a paused view.
        self.note_label = ElidedLabel()
        self.note_label.setStyleSheet(f"color: {theme.THRESHOLD};")
        self.note_label.hide()
        bar.addWidget(self.note_label)
        self.live_button = QPushButton("Back to live")
        self.live_button.setToolTip("Follow the newest data again (Esc, or double-click the chart)")
        self.live_button.clicked.connect(self.back_to_live)
        self.live_button.hide()
        bar.addWidget(self.live_button)
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
            plot = add_live_plot(
                self.chart, i, 0, title, time_labels=i == len(PLOTS) - 1, zoomable=True
            )
            self.plots.append(plot)
            vb = plot.getViewBox()
            assert isinstance(vb, ZoomViewBox)
            vb.sigZoomRequested.connect(self.zoom_to)
            vb.sigLiveRequested.connect(self.back_to_live)
            for spec in specs:
                curve = live_curve(theme.SERIES[spec.field])
                plot.addItem(curve)
                self.curves[spec.field] = curve
        # One plot owns the X range; the others follow it through the link.
        self._x_owner = self.plots[-1]
        for plot in self.plots[:-1]:
            plot.setXLink(self._x_owner)
        self.x_window = LiveXWindow(self._x_owner, self.plots)
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

        font = QFont(self.font())
        font.setPointSize(MARKER_FONT_PT)
        self.event_markers = EventMarkers(self.plots, self.plots[LATENCY].getViewBox(), font)
        self.marker_labels = self.event_markers.labels
        self._marker_lines = self.event_markers.lines  # per plot (tests read tooltips)
        self._build_readout()
        self._stack.setCurrentWidget(self.placeholder)

    def _build_readout(self) -> None:
        """The hover read-out: a line across every plot and a text box by the pointer."""
        self._cursor_lines: list[pg.InfiniteLine] = []
        pen = pg.mkPen(theme.TEXT_DIM, width=1)
        for plot in self.plots:
            line = pg.InfiniteLine(pos=0.0, angle=90, pen=pen, movable=False)
            line.setZValue(20)
            line.hide()
            plot.addItem(line, ignoreBounds=True)
            self._cursor_lines.append(line)
        readout = QLabel(self.chart)
        readout.setObjectName("chartReadout")
        readout.setTextFormat(Qt.TextFormat.RichText)
        readout.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        readout.setFont(theme.mono_font(9))
        readout.setStyleSheet(
            f"#chartReadout {{ color: {theme.TEXT}; background: rgba(22, 27, 34, 235);"
            f" border: 1px solid {theme.BORDER}; border-radius: 4px; padding: 4px 6px; }}"
        )
        readout.hide()
        self.readout = readout
        self._hover_pos: QPointF | None = None
        self._hover_timer = QTimer(self)
        self._hover_timer.setSingleShot(True)
        self._hover_timer.setInterval(HOVER_INTERVAL_MS)
        self._hover_timer.timeout.connect(self._hover_now)
        self.chart.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.chart.pointer_left.connect(self.hide_readout)

    # ------------------------------------------------------------------ public

    def set_window(self, seconds: float) -> None:
        """Show the last `seconds` (one of WINDOWS), live; the next refresh re-slices."""
        self.window_s = float(seconds)
        button = self._window_buttons.get(self.window_s)
        if button is not None and not button.isChecked():
            button.setChecked(True)
        self.back_to_live()
        self.mark_dirty()

    def set_interactive(self, enabled: bool) -> None:
        """Off (a wall page): drags, double clicks and the pointer change nothing."""
        self.interactive = enabled
        if not enabled:
            self.back_to_live()

    def zoom_to(self, start: float, end: float) -> None:
        """Show `start`…`end` and stop following the live edge until `back_to_live()`."""
        start, end = sorted((float(start), float(end)))
        if end - start < MIN_ZOOM_S or not self.interactive:
            return
        self.zoom = (start, end)
        self.following = False
        self.live_button.show()
        self._update_note()
        self.hide_readout()  # the view moves under it; the next mouse move brings it back
        # A drag does not focus anything by itself; Esc should work right after it.
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        self.mark_dirty()

    def back_to_live(self) -> None:
        """Follow the newest data again in the chosen window."""
        if self.zoom is None and self.following:
            return  # nothing to undo; a wall's hidden button stays hidden
        self.zoom = None
        self.following = True
        self.live_button.hide()
        self._update_note()
        self.hide_readout()
        self.mark_dirty()

    def markers(self) -> list[tuple[float, str]]:
        """The labelled event markers on screen now: (time of the group's newest, label)."""
        return self.event_markers.labelled()

    def marker_lines(self) -> list[float]:
        """Times of every event line on screen now."""
        return self.event_markers.line_times()

    def needs_refresh(self) -> bool:
        if not self.isVisible():
            return False
        # Stale: nothing arrives to mark us dirty, yet the age must count up: refreshed when
        # its words next change (once a second), not on every point of the scheduler's grid.
        return self._dirty or (self.stale and self.ctx.clock() >= self._stale_due)

    def next_tick(self, now: float) -> float:
        if not self.isVisible() or not (self._dirty or self.stale):
            return math.inf
        return now if self._dirty else now + max(0.0, self._stale_due - self.ctx.clock())

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and not self.following:
            self.back_to_live()
            event.accept()
            return
        super().keyPressEvent(event)

    # ------------------------------------------------------------------ store signals

    def _on_metrics(self, backend: str, services: Collection[str]) -> None:
        sel = self.ctx.selection
        if backend == sel.backend and sel.service in services:
            self.mark_dirty()
            self._first_data_now()

    def _first_data_now(self) -> None:
        # Until the console's first data is painted, draw when the loop is free rather than
        # at the scheduler's next tick (up to 2 frames, 80 ms, with the services panel's).
        if self.ctx.stats.first_data_painted_at is None and not self._first_data_pending:
            self._first_data_pending = True
            QTimer.singleShot(0, self._first_data_due)

    def _first_data_due(self) -> None:
        self._first_data_pending = False
        self.catch_up()  # only if still owed and shown

    def _on_event(self, backend: str, event: Event) -> None:
        if backend == self.ctx.selection.backend:
            self.mark_dirty()

    def _on_backend_changed(self, backend: str, *_: object) -> None:
        if backend == self.ctx.selection.backend:
            self.mark_dirty()

    def _on_selection(self, backend: str, service: str) -> None:
        self._reset_selection_state()
        self._update_heading()
        self.hide_readout()
        self.mark_dirty()
        self._first_data_now()

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
        newest = max(float(times[-1]), newest_server_event_ts(self.ctx.store, backend))
        live_end = newest + age
        self._update_span(series, times)
        if self.zoom is None:
            start, end = self.x_window.live(newest, live_end - self.shown_span_s, live_end)
        else:
            start, end = self.zoom
        self._live_end = live_end
        svc = state.services.get(service)
        thresholds = svc.thresholds if svc is not None else Thresholds()
        self._update_baseline(series, thresholds)
        self._update_curves(series, times, start, end, thresholds)
        self._update_no_traffic(series)
        self._update_thresholds(thresholds)
        events = events_in_view(self.ctx.store, backend, service, start, end)
        self.event_markers.update(events, start, end)
        self._update_stale(state.link.state, age)
        self._update_note()
        self.x_window.apply(start, end)

    def _update_span(self, series: BankSeries, times: np.ndarray) -> None:
        """The span the chart can honestly show: the window asked for, or what the ring holds.

        The ring keeps `capacity` samples, so at the current rate it holds capacity × step
        seconds; a longer window would be mostly empty while looking like history that was
        never kept. The chart shows what is held and says so.
        """
        step = usual_step(times[-STEP_SAMPLES:])
        held = series.capacity * step if math.isfinite(step) and step > 0 else math.inf
        # A few per cent of slack: sampling jitter makes the usual step wobble, and a window
        # that is all but held must not flip between "1 h" and "59 min 58 s" from frame to frame.
        if self.window_s > held * HELD_SLACK:
            self.shown_span_s = held
            asked = next((lb for lb, s in WINDOWS if s == self.window_s), None)
            asked = asked or length_text(self.window_s)
            self.span_note = (
                f"{asked} asked: {series.capacity:,} samples kept, {length_text(held)} at this rate"
            )
        else:
            self.shown_span_s = self.window_s
            self.span_note = ""

    def _update_note(self) -> None:
        parts = []
        if self.zoom is not None:
            parts.append(f"Paused: {span_text(*self.zoom, sep=' – ')}")
        elif self.span_note:
            parts.append(self.span_note)
        text = "   ".join(parts)
        self.note_label.set_full_text(text)
        if self.note_label.isHidden() == bool(text):
            self.note_label.setVisible(bool(text))

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
        self.hide_readout()

    def _update_curves(
        self,
        series: BankSeries,
        times: np.ndarray,
        start: float,
        end: float,
        thresholds: Thresholds,
    ) -> None:
        width = int(self.plots[0].getViewBox().width())
        max_points = 2 * (width if width >= 50 else 1000)
        key = (series.name, series.version, len(series), start if self.zoom else None)
        key += (end if self.zoom else None, self.shown_span_s, max_points)
        if key == self._data_key:
            return  # nothing new (a stale tick): only the X range moves
        self._data_key = key
        # Only the visible window is handed to Qt, plus one point beyond each edge so the
        # line enters from the edge.
        i0 = max(int(np.searchsorted(times, start, side="left")) - 1, 0)
        i1 = min(int(np.searchsorted(times, end, side="right")) + 1, times.size)
        x = times[i0:i1]
        # Holes in time become NaN points (drawn as breaks by connect="finite"); the same
        # holes are what the read-out names when the pointer is over one.
        step = usual_step(x)
        gaps = find_gaps(x, step=step)
        self._step = step
        self._gap_starts, self._gap_ends = gap_spans(x, gaps)
        # Absolute index of x[0]: `version` counts every sample ever kept for this series.
        origin = series.version - len(series) + i0
        peaks = [0.0] * len(PLOTS)
        any_finite = False
        for spec in CURVES:
            y = series.values(spec.field)[i0:i1]
            if x.size > max_points:
                cx, cy = peak_decimate(x, y, max_points, origin, gaps)
            else:
                cx, cy = break_at_gaps(x, y, gaps)
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

    # ------------------------------------------------------------------ hover read-out

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        if not self.interactive:
            return
        self._hover_pos = QPointF(scene_pos)
        if not self._hover_timer.isActive():
            self._hover_timer.start()

    def _hover_now(self) -> None:
        pos = self._hover_pos
        if pos is None or self._stack.currentWidget() is not self.chart:
            return
        for plot in self.plots:
            vb = plot.getViewBox()
            if vb.sceneBoundingRect().contains(pos):
                t = float(vb.mapSceneToView(pos).x())
                self.readout_at(t)
                self._place_readout(self.chart.mapFromScene(pos))
                return
        self.hide_readout()

    def readout_at(self, t: float) -> str:
        """Show the read-out for time `t` (the line and the text); returns it as plain text."""
        sel = self.ctx.selection
        state = self.ctx.store.backends.get(sel.backend or "")
        series = state.series.get(sel.service or "") if state is not None else None
        if series is None or len(series) == 0:
            self.hide_readout()
            return ""
        times = series.times()
        pointed = point_at(times, self._gap_starts, self._gap_ends, t, self._step)
        if pointed.is_gap:
            plain = gap_text(pointed, self._live_end)
            rich = f'<span style="color:{theme.TEXT_DIM}">{html.escape(plain)}</span>'
            at = t
        else:
            assert pointed.index is not None
            at = float(times[pointed.index])
            plain, rich = sample_text(series, pointed.index, at, self.curves)
        self.readout_text = plain
        self.readout.setText(rich)
        self.readout.adjustSize()
        for line in self._cursor_lines:
            line.setValue(at)
            line.show()
        if self.readout.isHidden():
            self.readout.show()
            self.readout.raise_()
        return plain

    def _place_readout(self, at: QPoint) -> None:
        """Put the text box by the pointer, on whichever side keeps it inside the chart."""
        x, y = at.x(), at.y()
        w, h = self.readout.width(), self.readout.height()
        left = x + READOUT_OFFSET_PX
        if left + w > self.chart.width():
            left = x - READOUT_OFFSET_PX - w
        top = min(max(y + READOUT_OFFSET_PX, 0), max(self.chart.height() - h, 0))
        self.readout.move(int(max(left, 0)), int(top))

    def hide_readout(self) -> None:
        self._hover_pos = None
        self._hover_timer.stop()
        self.readout_text = ""
        if not self.readout.isHidden():
            self.readout.hide()
        for line in self._cursor_lines:
            if line.isVisible():
                line.hide()

    # ------------------------------------------------------------------ stale

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
        self.stale_text = stale_text(age)
        self._stale_due = self.ctx.clock() + next_age_change(age, precise=False) + 0.005
        colour = theme.STATE_COLOURS[Health.UNKNOWN]
        self.chart.show_banner(
            f'<div style="font-size:26pt; font-weight:bold">{self.stale_text}</div>'
            f'<div style="font-size:12pt; color:{colour}">link {link.value}</div>'
        )

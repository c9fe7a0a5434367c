"""Chart building blocks: time axis, counted chart widget, peak decimation, styled plots."""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from pyqtgraph.GraphicsScene.mouseEvents import MouseClickEvent, MouseDragEvent
from PySide6.QtCore import QEvent, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QPainter,
    QPaintEvent,
    QPen,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsSimpleTextItem,
    QWidget,
)

from opsconsole.core.health import Health
from opsconsole.ui import theme
from opsconsole.ui.context import ConsoleStats
from opsconsole.ui.steadylabel import SteadyLabel

#: Fixed width of every left axis: a width that follows the tick text would re-lay out the
#: whole chart whenever "90" becomes "110", which is both a jolt for the eye and a layout pass.
LEFT_AXIS_WIDTH = 54
#: Height of the labelled time axis (tick text plus tick); also fixed for the same reason.
TIME_AXIS_HEIGHT = 26
#: Height of a plot's title row (pyqtgraph's default of 30 px wastes a quarter of a small plot).
TITLE_HEIGHT = 20
TICK_FONT_PT = 9
# Behind line labels, so they stay readable where a curve runs through them.
LABEL_FILL = pg.mkBrush(13, 17, 23, 200)

#: Tick spacings (seconds) a clock reader finds natural, smallest first.
TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200)
#: Room one "HH:MM:SS" label needs, with air around it, at the tick font size.
TIME_LABEL_PX = 96


def time_tick_spacing(start: float, end: float, size_px: float) -> tuple[float, float] | None:
    """(step, offset) of clock ticks for `end - start` seconds over `size_px` pixels.

    Steps of a minute or less align the same in every time zone; longer ones are shifted so
    that ticks fall on local round hours, not UTC ones. None when there is nothing to tick.
    """
    span = end - start
    if not (math.isfinite(span) and span > 0 and size_px > 0):
        return None
    wanted = max(2.0, size_px / TIME_LABEL_PX)
    for step in TIME_STEPS:
        if span / step <= wanted:
            break
    offset = -time.localtime(end).tm_gmtoff % step if step > 60 else 0.0
    return (float(step), float(offset))


class TimeAxisItem(pg.AxisItem):
    """Bottom axis over epoch seconds: HH:MM:SS local time at round-clock spacings."""

    def __init__(self) -> None:
        super().__init__("bottom")
        style_axis(self)
        self.enableAutoSIPrefix(False)
        self.setHeight(TIME_AXIS_HEIGHT)

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:
        spacing = time_tick_spacing(minVal, maxVal, size)
        return [] if spacing is None else [spacing]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [time.strftime("%H:%M:%S", time.localtime(v)) for v in values]


class ValueAxisItem(pg.AxisItem):
    """Left axis with a fixed width and plain numbers (no SI prefix changing with zoom)."""

    def __init__(self) -> None:
        super().__init__("left")
        style_axis(self)
        self.enableAutoSIPrefix(False)
        self.setWidth(LEFT_AXIS_WIDTH)


def style_axis(axis: pg.AxisItem) -> None:
    """Readable ticks on the dark background, in a fixed-width font so digits do not jiggle."""
    axis.setPen(pg.mkPen(theme.BORDER, width=1))
    axis.setTextPen(pg.mkPen(theme.TEXT_DIM))
    axis.setStyle(
        tickFont=theme.mono_font(TICK_FONT_PT),
        tickLength=4,
        tickTextOffset=4,
        # Never grow or shrink with the text: widths are fixed above.
        autoExpandTextSpace=False,
        autoReduceTextSpace=False,
    )


class ChartBanner(SteadyLabel):
    """A big message over the plots (STALE 12 s) on a solid background of its own.

    Opaque (WA_OpaquePaintEvent, the background filled here): a new text repaints the banner
    alone. See-through, as it was, each text that ticked once a second also repainted the
    plots' scene under it.
    """

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("chartBanner")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setStyleSheet(  # no selector: it is measured on a twin too (SteadyLabel)
            f"color: {theme.TEXT}; background: {theme.BACKGROUND};"
            f" border: 2px solid {theme.STATE_COLOURS[Health.UNKNOWN]};"
            " border-radius: 6px; padding: 10px 22px;"
        )
        self._fill = QColor(theme.BACKGROUND)

    def showEvent(self, event: QShowEvent) -> None:
        # Here, after polishing: the stylesheet's polish clears the flag on a label with a
        # border radius or padding.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        super().showEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        # Opaque widgets get no background painted for them: the chart's own colour, then the
        # stylesheet's border and the text over it.
        painter = QPainter(self)
        painter.fillRect(self.rect(), self._fill)
        painter.end()
        super().paintEvent(event)


class ChartWidget(pg.GraphicsLayoutWidget):
    """The view all plots of a panel live in; counts its paints into the console's stats.

    `has_data` is set by the owner once real samples are plotted, so the first paint after
    that stamps `first_data_painted_at` (what `--self-test` and the startup target wait for).
    """

    #: The mouse left the chart (the hover read-out hides).
    pointer_left = Signal()

    def __init__(self, stats: ConsoleStats | None = None, parent: QWidget | None = None) -> None:
        # Before super(): pyqtgraph's constructor already calls resizeEvent.
        self._banner: ChartBanner | None = None
        super().__init__(parent)
        self._stats = stats
        self.has_data = False
        self.paints = 0
        self.setBackground(theme.BACKGROUND)
        # Antialiased lines cost far more to rasterise on a CPU raster surface (no GPU here);
        # 1 px lines on a dark background read fine without it.
        self.setAntialiasing(False)
        self.ci.setContentsMargins(4, 4, 10, 2)
        self.ci.setSpacing(2)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    # A banner is a plain child QLabel over the plots rather than a scene item: it needs no
    # data coordinates, stays centred on resize, and costs nothing while hidden.
    def show_banner(self, rich_text: str) -> None:
        """Show (or update) a big centred message over the plots, e.g. STALE."""
        banner = self._banner
        if banner is None:
            banner = self._banner = ChartBanner(self)
        if banner.text() != rich_text:
            # As wide as the widest words since it appeared: "STALE 12 s" after "STALE 11 s"
            # changes no geometry, so only the banner repaints.
            banner.set_steady_text(rich_text, max(self.width() - 16, 40))
            self._place_banner()
        if banner.isHidden():
            self._place_banner()
            banner.show()
            banner.raise_()

    def hide_banner(self) -> None:
        if self._banner is not None and not self._banner.isHidden():
            self._banner.hide()
            self._banner.forget_size()  # the next message is sized for itself

    @property
    def banner_visible(self) -> bool:
        return self._banner is not None and not self._banner.isHidden()

    def _place_banner(self) -> None:
        banner = self._banner
        if banner is None:
            return
        x = (self.width() - banner.width()) // 2
        y = max((self.height() - banner.height()) // 2, 0)
        if banner.pos().toTuple() != (x, y):
            banner.move(x, y)

    def resizeEvent(self, ev: QResizeEvent | None) -> None:
        super().resizeEvent(ev)
        self._place_banner()

    def leaveEvent(self, ev: QEvent) -> None:
        super().leaveEvent(ev)
        self.pointer_left.emit()

    def paintEvent(self, ev: QPaintEvent) -> None:
        super().paintEvent(ev)
        self.paints += 1
        stats = self._stats
        if stats is None:
            return
        stats.frames_painted += 1
        if self.has_data and stats.first_data_painted_at is None:
            stats.first_data_painted_at = time.monotonic()


class ZoomViewBox(pg.ViewBox):
    """A view box that never pans: a left drag selects a time span, a double click asks for
    live again. What to do with either is the owner's business (signals below).

    The selection is drawn as a full-height band, since only time is zoomed; a drag narrower
    than a few pixels is a click, not a zoom.
    """

    #: A drag selected the time span (start, end), in data coordinates.
    sigZoomRequested = Signal(float, float)
    #: A double click: back to the live window.
    sigLiveRequested = Signal()

    MIN_DRAG_PX = 4.0

    def __init__(self) -> None:
        super().__init__(enableMenu=False)  # live plots have no context menu
        band = QGraphicsRectItem(0, 0, 1, 1)
        band.setPen(pg.mkPen(theme.ACCENT, width=1))
        band.setBrush(pg.mkBrush(88, 166, 255, 40))
        band.setZValue(1e9)
        band.setParentItem(self)  # pixel coordinates of the box, not data ones
        band.hide()
        self.zoom_band = band

    def mouseDragEvent(self, ev: MouseDragEvent, axis: int | None = None) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        lo, hi = sorted((float(ev.buttonDownPos().x()), float(ev.pos().x())))
        if not ev.isFinish():
            self.zoom_band.setRect(QRectF(lo, 0.0, hi - lo, self.height()))
            self.zoom_band.show()
            return
        self.zoom_band.hide()
        if hi - lo < self.MIN_DRAG_PX:
            return
        to_view = self.childGroup.mapFromParent
        t0 = float(to_view(pg.Point(lo, 0.0)).x())
        t1 = float(to_view(pg.Point(hi, 0.0)).x())
        self.sigZoomRequested.emit(t0, t1)

    def mouseClickEvent(self, ev: MouseClickEvent) -> None:
        if ev.button() == Qt.MouseButton.LeftButton and ev.double():
            ev.accept()
            self.sigLiveRequested.emit()
            return
        super().mouseClickEvent(ev)


def add_live_plot(
    chart: ChartWidget,
    row: int,
    col: int = 0,
    title_html: str | None = None,
    time_labels: bool = True,
    zoomable: bool = False,
) -> pg.PlotItem:
    """A plot set up for live data: no mouse panning, no auto-range, fixed axes, no grid.

    Only plots with `time_labels` get a bottom axis at all: stacked plots share the one at
    the bottom, and a scrolling X axis regenerates its ticks on every frame (measured: about
    a quarter of a 4×4 grid's frame when every plot had one). No grid either: pyqtgraph draws
    it as axis ticks across the plot, and it doubled the 4×4 grid's frame time and added
    ~18 ms to each refresh of the four-plot signals panel. `zoomable` plots get a
    ZoomViewBox (drag to select a time span, double click for live).
    """
    axes: dict[str, pg.AxisItem] = {"left": ValueAxisItem()}
    if time_labels:
        axes["bottom"] = TimeAxisItem()
    extra: dict[str, object] = {"viewBox": ZoomViewBox()} if zoomable else {}
    # No view box menu made at all (the menus are disabled below anyway): pyqtgraph builds
    # a ViewBoxMenu with its axis forms for each plot, a few ms of every start per plot.
    plot = chart.addPlot(row=row, col=col, axisItems=axes, enableMenu=False, **extra)
    if not time_labels:
        plot.hideAxis("bottom")
    for name in ("top", "right", "bottom"):
        # Hidden axes still follow the view: without this each range change re-renders
        # their (invisible) HTML unit label for the SI prefix.
        plot.getAxis(name).enableAutoSIPrefix(False)
    if title_html is not None:
        plot.setTitle(title_html, justify="left", size=f"{TICK_FONT_PT + 1}pt")
        plot.layout.setRowFixedHeight(0, TITLE_HEIGHT)
        plot.titleLabel.setMaximumHeight(TITLE_HEIGHT)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    vb = plot.getViewBox()
    # A live chart is positioned by its refresh; the mouse must not fight it, and auto-range
    # would walk every item's bounds on every change.
    vb.setMouseEnabled(x=False, y=False)
    vb.disableAutoRange()
    vb.setDefaultPadding(0.0)
    # The PlotDataItem clip/downsample machinery is not used (we plot PlotCurveItems and
    # clip and decimate ourselves), but set it so any PlotDataItem added later behaves.
    plot.setClipToView(True)
    plot.setDownsampling(auto=True, mode="peak")
    return plot


class PixelLabel(QGraphicsRectItem):
    """Text in a filled box, pinned to a point in data coordinates and drawn in pixels.

    Qt itself keeps it at its point (ItemIgnoresTransformations), so a scrolling view costs
    no Python for it; pyqtgraph's TextItem and InfLineLabel recompute their position on
    every range change (measured: a pool of 24 line labels added ~1.5 ms to each refresh
    of the signals panel, hidden or not). The box hangs below its point, left of it or, with
    `right`, right of it; `row` moves it down by whole rows.
    """

    PAD_PX = 3.0

    def __init__(self, view: pg.ViewBox, font: QFont, colour: str, fill: QBrush) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setParentItem(view.childGroup)  # not addItem: no bounds, no view callbacks
        self.setPen(QPen(Qt.PenStyle.NoPen))
        self.setBrush(fill)
        self.setZValue(6)
        self.text_item = QGraphicsSimpleTextItem(self)
        self.text_item.setFont(font)
        self.text_item.setBrush(QColor(colour))
        self.hide()

    @property
    def text(self) -> str:
        return self.text_item.text()

    def place(self, x: float, y: float, text: str, right: bool, top_px: float) -> None:
        """Show `text` at data point (x, y): its box `top_px` below, on the chosen side."""
        self.text_item.setText(text)
        size = self.text_item.boundingRect()
        w, h = size.width() + 2 * self.PAD_PX, size.height() + 2 * self.PAD_PX
        left = 0.0 if right else -w
        self.setRect(left, top_px, w, h)
        self.text_item.setPos(left + self.PAD_PX, top_px + self.PAD_PX)
        self.setPos(x, y)
        self.show()


def settle(plots: list[pg.PlotItem]) -> None:
    """Apply new view ranges now instead of inside the next paint.

    pyqtgraph applies a range change lazily from paintEvent; the new transform then marks
    every curve dirty and Qt paints the whole view a second time. Applying it here, right
    after setting the ranges, makes one refresh cost one paint (measured: 2 paints → 1).
    """
    for plot in plots:
        plot.getViewBox().prepareForPaint()


class LiveCurve(pg.PlotCurveItem):
    """A PlotCurveItem whose bounds are computed once per setData, not per view change.

    pyqtgraph recomputes a curve's bounds (nanmin/nanmax plus pixel-size maths in Python) on
    every view transform change, several times a frame while the X window scrolls; that was
    about a fifth of a 64-curve frame. Here they come from one fmin/fmax pass at setData.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        self._bounds: tuple[float, float, float, float] | None = None
        super().__init__(*args, **kwargs)

    def updateData(self, *args: object, **kwargs: object) -> None:
        super().updateData(*args, **kwargs)
        self._bounds = _finite_bounds(self.xData, self.yData)
        self.invalidateBounds()

    @property
    def bounds(self) -> tuple[float, float, float, float] | None:
        """(x min, x max, y min, y max) of the finite data, None when there is none."""
        return self._bounds

    def dataBounds(
        self, ax: int, frac: float = 1.0, orthoRange: object = None
    ) -> tuple[float | None, float | None]:
        if frac < 1.0 or orthoRange is not None:
            return super().dataBounds(ax, frac, orthoRange)
        b = self._bounds
        if b is None:
            return (None, None)
        return (b[0], b[1]) if ax == 0 else (b[2], b[3])

    def boundingRect(self) -> QRectF:
        if self._boundingRect is None:
            b = self._bounds
            if b is None:
                return QRectF()
            x0, x1, y0, y1 = b
            # The 1 px pen sticks out half a pixel past the data. A relative margin covers
            # that without pyqtgraph's pixel-size maths; never zero, or a flat line (errors at
            # 0 %) would have an empty rect and Qt would never paint it.
            px = (x1 - x0) * 0.01 or max(abs(x0) * 1e-9, 1e-9)
            py = (y1 - y0) * 0.02 or max(abs(y0) * 1e-3, 1e-6)
            self._boundingRect = QRectF(x0 - px, y0 - py, x1 - x0 + 2 * px, y1 - y0 + 2 * py)
        return self._boundingRect


def _finite_bounds(
    x: np.ndarray | None, y: np.ndarray | None
) -> tuple[float, float, float, float] | None:
    if x is None or y is None or x.size == 0 or y.size == 0:
        return None
    # fmin/fmax skip NaN (gaps) and return NaN only when everything is NaN.
    y0, y1 = float(np.fmin.reduce(y)), float(np.fmax.reduce(y))
    x0, x1 = float(np.fmin.reduce(x)), float(np.fmax.reduce(x))
    if math.isnan(y0) or math.isnan(x0) or math.isinf(y0) or math.isinf(y1):
        finite = np.isfinite(y)
        if not finite.any():
            return None
        y0, y1 = float(y[finite].min()), float(y[finite].max())
    return (x0, x1, y0, y1)


def live_curve(colour: str) -> LiveCurve:
    """A curve created once and then only fed with setData: 1 px opaque pen, NaN = gap."""
    return LiveCurve(
        pen=pg.mkPen(colour, width=1), antialias=False, connect="finite", skipFiniteCheck=False
    )


def dashed_pen(colour: str) -> pg.QtGui.QPen:
    pen = pg.mkPen(colour, width=1)
    pen.setStyle(Qt.PenStyle.DashLine)
    return pen


def threshold_line(label: str, below: bool = False) -> pg.InfiniteLine:
    """A horizontal dashed limit line, labelled at its left end.

    Left, because live data enters at the right: a label there would sit on the newest
    samples. `below` puts the text under the line, for two limits close together.
    """
    anchor = (0, 0) if below else (0, 1)
    return pg.InfiniteLine(
        pos=0.0,
        angle=0,
        pen=dashed_pen(theme.THRESHOLD),
        movable=False,
        label=label,
        labelOpts={
            "position": 0.01,
            "color": theme.THRESHOLD,
            "anchors": [anchor, anchor],
            "fill": LABEL_FILL,
        },
    )


def peak_decimate(
    x: np.ndarray,
    y: np.ndarray,
    max_points: int,
    origin: int = 0,
    gaps: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Keep the min and max of each bin so spikes survive; returns new float64 arrays.

    Bins hold `k` samples where `k` makes at most `max_points` points (plus a few where bins
    are split, below). They are aligned to the absolute sample index `origin + i` (not to the
    window start), so as the window slides one sample per frame the same samples stay binned
    together and the curve does not shimmer.

    Gaps stay gaps. `gaps` (from `core.gaps.find_gaps`) are holes in time after sample `i`:
    no bin spans one, and a NaN point is put in each, so the line breaks there even when the
    hole is narrower than a bin. Runs of NaN values ("no data" samples) get bins of their
    own, so they come out NaN instead of being bridged by the finite values beside them.
    """
    n = int(y.size)
    bins = max(1, max_points // 2)
    k = -(-n // bins)
    if k < 2:
        return break_at_gaps(x, y, gaps)
    first = (-origin) % k
    starts = np.arange(first, n, k)
    forced = []
    if gaps is not None and gaps.size:
        forced.append(gaps + 1)
    nan = np.isnan(y)
    if nan.any():
        # Where a NaN run starts or ends: a bin boundary, so no bin mixes the two.
        forced.append(np.flatnonzero(nan[1:] != nan[:-1]) + 1)
    if forced:
        starts = np.union1d(starts, np.concatenate([[0], *forced]))
    elif first:
        starts = np.concatenate(([0], starts))
    # fmin/fmax ignore NaN unless the whole bin is NaN, and never warn.
    lo = np.fmin.reduceat(y, starts)
    hi = np.fmax.reduceat(y, starts)
    m = starts.size
    slots = 2 * np.arange(m)
    breaks = np.empty(0, dtype=np.int64)
    if gaps is not None and gaps.size:
        gap_bins = np.searchsorted(starts, gaps + 1)
        shift = np.zeros(m, dtype=np.int64)
        shift[gap_bins] = 1
        slots += np.cumsum(shift)
        breaks = slots[gap_bins] - 1  # the slot just before the first bin after each hole
    size = 2 * m + breaks.size
    out_x = np.empty(size, dtype=np.float64)
    out_y = np.empty(size, dtype=np.float64)
    out_x[slots] = x[starts]
    out_x[slots + 1] = x[starts]
    out_y[slots] = lo
    out_y[slots + 1] = hi
    if breaks.size:
        assert gaps is not None
        out_x[breaks] = 0.5 * (x[gaps] + x[gaps + 1])
        out_y[breaks] = np.nan
    return out_x, out_y


def break_at_gaps(
    x: np.ndarray, y: np.ndarray, gaps: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """New float64 copies of `x`, `y` with a NaN point in the middle of every hole in time.

    Copies, never views: once full, a ring overwrites its oldest slot in place, and pyqtgraph
    keeps the arrays it was given until the next setData. With `connect="finite"` each NaN
    point breaks the line, so a hole is drawn as a hole and not as a straight line across.
    """
    if gaps is None or gaps.size == 0:
        return np.array(x, dtype=np.float64), np.array(y, dtype=np.float64)
    at = gaps + 1
    mid = 0.5 * (x[gaps] + x[at])
    return (
        np.insert(np.asarray(x, dtype=np.float64), at, mid),
        np.insert(np.asarray(y, dtype=np.float64), at, np.nan),
    )


_NICE = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def nice_ceiling(value: float, floor: float = 1.0) -> float:
    """The smallest 'round' number ≥ value (1, 1.2, 1.5, 2, 2.5 … × 10ⁿ): stable axis tops."""
    if not math.isfinite(value) or value <= floor:
        return floor
    exp = 10.0 ** math.floor(math.log10(value))
    for m in _NICE:
        if m * exp >= value * (1 - 1e-9):
            return m * exp
    return 10.0 * exp

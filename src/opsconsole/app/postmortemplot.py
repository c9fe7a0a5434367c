"""Draws one service's golden signals over an incident into a PNG, offscreen, with its markers."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPen

from opsconsole.app.sloplot import ensure_gui
from opsconsole.core.incident.record import Sample

WIDTH, HEIGHT = 1200, 760
LEFT, RIGHT, TOP, BOTTOM = 90, 30, 92, 60
GAP = 26  # between the stacked panels
INK, GRID, P99, ERRORS, TRAFFIC = "#1f2328", "#d0d7de", "#8250df", "#cf222e", "#0969da"
MARKER_COLOURS = {"start": "#cf222e", "action": "#bf8700", "recovery": "#1a7f37", "end": "#57606a"}
#: A hole longer than this many sample steps is drawn as a hole, not a line across it.
GAP_STEPS = 3
_TICK_STEPS = (10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21_600, 43_200, 86_400)


@dataclass(frozen=True)
class Marker:
    """A vertical line on every panel: the start, an operator action, the recovery, the end."""

    ts: float
    label: str
    kind: str  # a key of MARKER_COLOURS


@dataclass(frozen=True)
class _Panel:
    title: str
    field: str
    colour: str
    scale: float  # the value drawn = sample value × scale
    unit: str


PANELS = (
    _Panel("p99 latency", "latency_p99_ms", P99, 1.0, "ms"),
    _Panel("error ratio", "error_ratio", ERRORS, 100.0, "%"),
    _Panel("traffic", "rps", TRAFFIC, 1.0, "req/s"),
)


def chart_window(start: float, end: float) -> tuple[float, float]:
    """The incident's window plus a margin each side (a tenth of it, at least two minutes)."""
    margin = max(120.0, (end - start) * 0.1)
    return start - margin, end + margin


def render_signals(
    service: str,
    samples: Sequence[Sample],
    window: tuple[float, float],
    markers: Sequence[Marker],
    path: Path,
    tz: tzinfo | None = None,
    during: str = "the incident",
    legend: str = "red: start · amber: operator actions · green: recovery · grey: closed",
) -> None:
    """p99, error ratio and traffic stacked on one time axis, markers across all three;
    written as a PNG at `path`. `during` names the window in the title."""
    ensure_gui()
    image = QImage(WIDTH, HEIGHT, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    lo, hi = window
    span = max(hi - lo, 1.0)
    inner = HEIGHT - TOP - BOTTOM - GAP * (len(PANELS) - 1)
    height = inner / len(PANELS)
    width = WIDTH - LEFT - RIGHT
    rects = [QRectF(LEFT, TOP + i * (height + GAP), width, height) for i in range(len(PANELS))]
    shown = sorted((s for s in samples if lo <= s.ts <= hi), key=lambda s: s.ts)

    def x_of(ts: float) -> float:
        return LEFT + (ts - lo) / span * width

    font = QFont()
    font.setPixelSize(13)
    p.setFont(font)
    ticks = _ticks(lo, hi)
    for panel, rect in zip(PANELS, rects, strict=True):
        _draw_panel(p, panel, rect, shown, x_of, ticks)
    # The time axis under the last panel, local time with the zone's name.
    p.setPen(QColor(INK))
    bottom = rects[-1].bottom()
    for ts in ticks:
        label = datetime.fromtimestamp(ts, tz).strftime("%H:%M" if span >= 600 else "%H:%M:%S")
        p.drawText(QRectF(x_of(ts) - 40, bottom + 4, 80, 18), Qt.AlignmentFlag.AlignCenter, label)
    _draw_markers(p, markers, rects, x_of, lo, hi)
    title = QFont(font)
    title.setPixelSize(20)
    title.setBold(True)
    p.setFont(title)
    p.setPen(QColor(INK))
    p.drawText(
        QRectF(LEFT, 8, width, 28),
        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
        f"{service}: golden signals during {during}",
    )
    p.setFont(font)
    zone = datetime.fromtimestamp(lo, tz).astimezone(tz).tzname() or "local time"
    note = "no samples recorded in this window · " if not shown else ""
    p.drawText(
        QRectF(LEFT, HEIGHT - 24, width, 20),
        Qt.AlignmentFlag.AlignLeft,
        f"{note}times in {zone} · {legend}",
    )
    p.end()
    if not image.save(str(path), "PNG"):
        raise OSError(f"could not write {path}")


def _draw_panel(
    p: QPainter,
    panel: _Panel,
    rect: QRectF,
    samples: Sequence[Sample],
    x_of: Callable[[float], float],
    ticks: Sequence[float],
) -> None:
    values = [(s.ts, s.value(panel.field) * panel.scale) for s in samples]
    finite = [v for _, v in values if math.isfinite(v)]
    top = _nice_top(max(finite) if finite else 1.0)

    def y_of(value: float) -> float:
        return rect.bottom() - value / top * rect.height()

    for i in range(5):
        level = top * i / 4
        y = y_of(level)
        p.setPen(QPen(QColor(GRID), 1))
        p.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
        p.setPen(QColor(INK))
        p.drawText(
            QRectF(0, y - 9, LEFT - 8, 18),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            f"{level:g}",
        )
    p.setPen(QPen(QColor(GRID), 1, Qt.PenStyle.DotLine))
    for ts in ticks:
        x = x_of(ts)
        p.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
    times = [ts for ts, _ in values]
    steps = sorted(b - a for a, b in itertools.pairwise(times) if b > a)
    hole = GAP_STEPS * steps[len(steps) // 2] if steps else math.inf
    line = QPainterPath()
    last: float | None = None
    for ts, value in values:
        if not math.isfinite(value):
            last = None
            continue
        point = QPointF(x_of(ts), y_of(value))
        if last is None or ts - last > hole:
            line.moveTo(point)
        else:
            line.lineTo(point)
        last = ts
    p.setPen(QPen(QColor(panel.colour), 2.2))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawPath(line)
    p.setPen(QPen(QColor(INK), 1))
    p.drawRect(rect)
    p.drawText(
        QRectF(rect.left() + 6, rect.top() + 2, rect.width() - 12, 18),
        Qt.AlignmentFlag.AlignLeft,
        f"{panel.title} ({panel.unit})",
    )


def _draw_markers(
    p: QPainter,
    markers: Sequence[Marker],
    rects: Sequence[QRectF],
    x_of: Callable[[float], float],
    lo: float,
    hi: float,
) -> None:
    """Each marker a line through every panel, its label above the first; a label that
    would overlap the one before goes a row higher."""
    rows: list[float] = []  # the right end of the last label in each row
    for marker in sorted(markers, key=lambda m: m.ts):
        if not lo <= marker.ts <= hi:
            continue
        x = x_of(marker.ts)
        colour = QColor(MARKER_COLOURS.get(marker.kind, INK))
        style = Qt.PenStyle.SolidLine if marker.kind != "action" else Qt.PenStyle.DashLine
        p.setPen(QPen(colour, 1.8, style))
        for rect in rects:
            p.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
        width = p.fontMetrics().horizontalAdvance(marker.label) + 8
        left = min(x + 3, WIDTH - RIGHT - width)
        row = next((i for i, right in enumerate(rows) if left > right), len(rows))
        if row == len(rows):
            rows.append(left + width)
        else:
            rows[row] = left + width
        row = min(row, 2)  # three rows fit above the first panel
        p.setPen(colour)
        p.drawText(
            QRectF(left, rects[0].top() - 20 - row * 17, width, 17),
            Qt.AlignmentFlag.AlignLeft,
            marker.label,
        )


def _ticks(lo: float, hi: float) -> list[float]:
    """Round times on the axis, at most about eight."""
    step = next((s for s in _TICK_STEPS if (hi - lo) / s <= 8), _TICK_STEPS[-1])
    first = math.ceil(lo / step) * step
    return [float(first + i * step) for i in range(int((hi - first) // step) + 1)]


def _nice_top(value: float) -> float:
    """A round axis top just above `value` (1, 2, 2.5, 5 × a power of ten)."""
    if not math.isfinite(value) or value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value * 1.05))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value * 1.05 <= factor * power:
            return factor * power
    return 10 * power

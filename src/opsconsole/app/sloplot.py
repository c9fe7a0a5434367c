"""Draws one SLO's budget burn-down into a PNG with QPainter on a QImage (no window needed)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QImage, QPainter, QPainterPath, QPen

from opsconsole.core.slo.burndown import BurnDown
from opsconsole.core.slo.model import DAY_S, Deploy, Slo

WIDTH, HEIGHT = 1200, 560
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 80, 30, 56, 56
INK, GRID, IDEAL, LINE, ZERO, DEPLOY = (
    "#1f2328",
    "#d0d7de",
    "#8c959f",
    "#0969da",
    "#cf222e",
    "#bf8700",
)


def ensure_gui() -> QGuiApplication:
    """The QGuiApplication fonts need; offscreen unless a platform was chosen."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QGuiApplication.instance()
    return app if isinstance(app, QGuiApplication) else QGuiApplication([])


def render_burndown(
    slo: Slo,
    line: BurnDown,
    start: float,
    length_s: float,
    deploys: Sequence[Deploy],
    path: Path,
) -> None:
    """Budget left (blue) against the even-spend line (grey dashes) over the whole window,
    0 % in red, deploys as amber marks with their version; written as a PNG at `path`."""
    ensure_gui()
    image = QImage(WIDTH, HEIGHT, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    plot = QRectF(
        MARGIN_LEFT,
        MARGIN_TOP,
        WIDTH - MARGIN_LEFT - MARGIN_RIGHT,
        HEIGHT - MARGIN_TOP - MARGIN_BOTTOM,
    )
    low = min(0.0, float(np.nanmin(line.remaining))) if len(line.remaining) else 0.0
    low = min(low, -0.05)
    high = 1.05

    def x_of(ts: float) -> float:
        return plot.left() + (ts - start) / length_s * plot.width()

    def y_of(value: float) -> float:
        return plot.bottom() - (value - low) / (high - low) * plot.height()

    font = QFont()
    font.setPixelSize(14)
    p.setFont(font)
    # Grid and labels: every 25 % of the budget, every few days of the window.
    p.setPen(QPen(QColor(GRID), 1))
    level = 0.0 if low >= 0 else -0.25 * int(-low / 0.25)
    while level <= 1.0001:
        y = y_of(level)
        p.setPen(QPen(QColor(GRID), 1))
        p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
        p.setPen(QColor(INK))
        p.drawText(
            QRectF(0, y - 10, MARGIN_LEFT - 8, 20),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            f"{round(level * 100)} %",
        )
        level += 0.25
    days = length_s / DAY_S
    every = 7 if days > 40 else 5 if days > 14 else 1
    day = 0
    while day <= days:
        ts = start + day * DAY_S
        x = x_of(ts)
        p.setPen(QPen(QColor(GRID), 1))
        p.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
        p.setPen(QColor(INK))
        p.drawText(
            QRectF(x - 40, plot.bottom() + 6, 80, 20),
            Qt.AlignmentFlag.AlignCenter,
            datetime.fromtimestamp(ts, UTC).strftime("%d %b"),
        )
        day += every
    p.setPen(QPen(QColor(ZERO), 1.5))
    p.drawLine(QPointF(plot.left(), y_of(0.0)), QPointF(plot.right(), y_of(0.0)))
    ideal = QPen(QColor(IDEAL), 2, Qt.PenStyle.DashLine)
    p.setPen(ideal)
    p.drawLine(QPointF(x_of(start), y_of(1.0)), QPointF(x_of(start + length_s), y_of(0.0)))
    # Deploys inside the window, with their version at the top; a label that would overlap
    # the one before (a deploy rolled back within hours) goes a line lower.
    label_right: list[float] = []
    for deploy in sorted(deploys, key=lambda d: d.ts):
        if not start <= deploy.ts <= start + length_s:
            continue
        x = x_of(deploy.ts)
        p.setPen(QPen(QColor(DEPLOY), 1.5, Qt.PenStyle.DotLine))
        p.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
        p.setPen(QColor(DEPLOY))
        row = next((i for i, right in enumerate(label_right) if x > right), len(label_right))
        width = p.fontMetrics().horizontalAdvance(deploy.version) + 8
        if row == len(label_right):
            label_right.append(x + width)
        else:
            label_right[row] = x + width
        box = QRectF(x + 3, plot.top() + 2 + row * 18, width, 18)
        p.drawText(box, Qt.AlignmentFlag.AlignLeft, deploy.version)
    if len(line.ts):
        path_line = QPainterPath(QPointF(x_of(start), y_of(1.0)))
        for ts, value in zip(line.ts, line.remaining, strict=True):
            path_line.lineTo(QPointF(x_of(float(ts)), y_of(float(value))))
        p.setPen(QPen(QColor(LINE), 2.5))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(path_line)
    p.setPen(QPen(QColor(INK), 1))
    p.drawRect(plot)
    title = QFont(font)
    title.setPixelSize(20)
    title.setBold(True)
    p.setFont(title)
    left = "—" if not len(line.remaining) else f"{float(line.remaining[-1]) * 100:.1f} % left"
    p.drawText(
        QRectF(MARGIN_LEFT, 8, plot.width(), 30),
        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
        f"{slo.service}: error budget over the {slo.window.words} window ({left})",
    )
    p.setFont(font)
    p.drawText(
        QRectF(MARGIN_LEFT, HEIGHT - 26, plot.width(), 20),
        Qt.AlignmentFlag.AlignLeft,
        "blue: budget left · grey dashes: even spend to 0 at the window's end · "
        "red: 0 % · amber: deploys",
    )
    p.end()
    if not image.save(str(path), "PNG"):
        raise OSError(f"could not write {path}")

"""Regression guard for the PySide6 6.12.0 bug that leaks references to None per drawPath."""

from __future__ import annotations

import sys

from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter, QPainterPath


def test_drawpath_does_not_steal_references_to_none(qapp) -> None:
    # 6.12.0 took a reference from None on every QPainter.drawPath and aborted the process
    # after a few thousand paints ("none_dealloc"). Lift the <6.12 pin only when this passes.
    image = QImage(64, 64, QImage.Format.Format_ARGB32)
    path = QPainterPath()
    path.addRect(QRectF(2, 2, 40, 40))
    painter = QPainter(image)
    try:
        before = sys.getrefcount(None)
        for _ in range(20_000):
            painter.drawPath(path)
        after = sys.getrefcount(None)
    finally:
        painter.end()
    assert abs(after - before) < 100, f"None refcount moved by {after - before}"

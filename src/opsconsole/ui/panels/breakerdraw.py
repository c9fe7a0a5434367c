"""What the breakers table draws itself: a glyph per state, the error-rate sparklines."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem, QWidget

from opsconsole.ui import theme
from opsconsole.ui.tablemodel import Index

GLYPH_SIZE = 12
CELL_PADDING = 4

SPARK_ROLE = Qt.ItemDataRole.UserRole + 1  # (((x, y), ...), colour) for the sparkline
FILTER_ROLE = Qt.ItemDataRole.UserRole + 2  # the text "/" searches: name and state
KEY_ROLE = Qt.ItemDataRole.UserRole + 3  # (backend, circuit): the sparkline cache's key


def state_glyph(state: str, colour: str, size: int = GLYPH_SIZE) -> QPixmap:
    """A shape per state, so the state reads without its colour: ● closed, ◐ half open,
    ⛔ open (round), ■ with a bar forced open (square), ○ disabled."""
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    fill = QColor(colour)
    r = size - 2
    bar_pen = QPen(QColor(theme.BACKGROUND), 2)
    if state == "closed":
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(fill)
        p.drawEllipse(1, 1, r, r)
    elif state == "half_open":
        p.setPen(QPen(fill, 1.5))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(1, 1, r, r)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(fill)
        p.drawPie(1, 1, r, r, 90 * 16, 180 * 16)
    elif state in ("open", "forced_open"):
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(fill)
        if state == "open":
            p.drawEllipse(1, 1, r, r)
        else:
            p.drawRoundedRect(1, 1, r, r, 2, 2)
        p.setPen(bar_pen)
        p.drawLine(QPointF(3.5, size / 2), QPointF(size - 3.5, size / 2))
    else:  # disabled or unknown
        p.setPen(QPen(fill, 1.5))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(2, 2, r - 2, r - 2)
    p.end()
    return pix


SparkShape = tuple[tuple[float, float], ...]


class SparklineDelegate(QStyledItemDelegate):
    """Draws the error-rate step line with one QPainter polyline: no chart item per row.

    Each row's line is drawn once into a transparent pixmap, kept while its shape, size and
    colour stay the same: repainting an unchanged sparkline (a flash, a scroll, a selection)
    is one blit.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmaps: dict[object, tuple[SparkShape, QSize, str, float, QPixmap]] = {}
        self.drawn = 0  # sparklines drawn into a pixmap (cache misses), for tests

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        super().paint(painter, option, index)  # background, selection, flash
        spark = index.data(SPARK_ROLE)
        if not spark or not spark[0]:
            return
        shape, colour = spark
        rect = option.rect.adjusted(CELL_PADDING, 4, -CELL_PADDING, -4)
        if rect.width() < 4 or rect.height() < 4:
            return
        ratio = painter.device().devicePixelRatioF()
        key = index.data(KEY_ROLE)
        size = rect.size()
        cached = self._pixmaps.get(key)
        # The shape is the history's cached tuple: the same object until the line changes.
        if cached is not None and cached[0] is shape and cached[1:4] == (size, colour, ratio):
            pix = cached[4]
        else:
            pix = self._draw(shape, colour, size, ratio)
            if len(self._pixmaps) > 4 * max(1, index.model().rowCount()):
                self._pixmaps.clear()  # rows come and go: never grow without bound
            self._pixmaps[key] = (shape, size, colour, ratio, pix)
        painter.drawPixmap(rect.topLeft(), pix)

    def _draw(self, shape: SparkShape, colour: str, size: QSize, ratio: float) -> QPixmap:
        self.drawn += 1
        pix = QPixmap(round(size.width() * ratio), round(size.height() * ratio))
        pix.setDevicePixelRatio(ratio)
        pix.fill(Qt.GlobalColor.transparent)
        # Same geometry as drawing into the cell: x0 = 0, y0 = the rect's bottom pixel row.
        w, h = size.width(), size.height()
        y0 = h - 1
        line = QPolygonF([QPointF(x * w, y0 - y * h) for x, y in shape])
        painter = QPainter(pix)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(theme.BORDER), 1))
        painter.drawLine(QPointF(0, y0), QPointF(w, y0))  # the zero line
        painter.setPen(QPen(QColor(colour), 1.5))
        painter.drawPolyline(line)
        painter.end()
        return pix

"""A grid of small live charts drawn straight with QPainter, one column of data per pixel."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFocusEvent,
    QFont,
    QFontMetrics,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
    QStaticText,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from opsconsole.core.columns import ColumnBins
from opsconsole.core.gaps import GAP_FACTOR
from opsconsole.ui import theme
from opsconsole.ui.charts import time_tick_spacing
from opsconsole.ui.livecurves import CurvePixels, Strip

TITLE_PX = 15
TIME_BAND_PX = 15
CELL_GAP_PX = 3
FONT_PT = 8
#: Static texts kept for time labels; a day of distinct labels would be far fewer.
TEXT_CACHE_MAX = 512


@dataclass
class Cell:
    """One tile of the grid: a title with its state words, strips stacked under it."""

    key: object
    title: str
    strips: list[Strip]
    colour: str = theme.STATE_COLOURS[theme.Health.UNKNOWN]
    #: Shown instead of `title` when that does not fit (e.g. the service's id).
    short_title: str = ""
    state: str = ""
    dim: bool = False
    markers: tuple[float, ...] = ()


class LiveGrid(QWidget):
    """Cells of strips over one shared time window, painted without a scene graph.

    Why not pyqtgraph here: a 64-curve frame through PlotItems costs several times what
    QPainter needs to stroke the pixels (axes re-laid out, linked view boxes, a new path per
    curve). Here the frame, titles and limit lines sit in a cached background pixmap, time
    labels are cached static texts, each curve is a few persistent polygons, and only cells
    whose data changed are repainted, unless the window moved by a whole pixel column.
    The data sits in `bins` (a ColumnBins, one row per curve): the owner folds samples in
    and calls `refresh()`.
    """

    #: A cell was chosen (click, or Enter on the current cell): its key.
    cell_activated = Signal(object)

    def __init__(
        self,
        columns: int,
        rows: int | None = None,
        cell_height: int = 96,
        time_labels: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.columns = max(1, columns)
        #: Fit this many rows of cells to the height; None: `cell_height` each (scrollable).
        self.fit_rows = rows
        self.cell_height = cell_height
        self.time_labels = time_labels
        self.cells: list[Cell] = []
        self.window_s = 900.0
        self.end_t = math.nan
        self.bins = ColumnBins(1, 1.0, 1, GAP_FACTOR)
        self.paints = 0
        #: Bumped whenever `bins` is rebuilt: the owner must offer all its samples again.
        self.generation = 0
        self._bins_key: tuple[int, float, int, float] | None = None
        self.current = 0
        self._gap_step_s = 1.0
        self._rects: list[QRect] = []
        self._strip_rects: list[list[QRectF]] = []
        self._plot_w = 0
        self._cell_of_row = np.full(1, -1, dtype=np.int64)
        self._curves = CurvePixels()
        self._last_id = 0
        self._bg: QPixmap | None = None
        self._bg_stale: set[int] = set()
        self._dirty: set[int] = set()
        #: Dirty cells that were out of sight at `refresh()`: built by the paint that shows them.
        self._pending: set[int] = set()
        self._texts: dict[str, QStaticText] = {}
        self._font = theme.mono_font(FONT_PT)
        self._metrics = QFontMetrics(self._font)
        # Titles and state words: the labels' font unless `set_title_font` gives a larger one.
        self._title_font = self._font
        self._title_metrics = self._metrics
        self.title_px = TITLE_PX
        self._title_base = 11
        self._pens: dict[str, QPen] = {}
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    # ------------------------------------------------------------------ the owner's side

    def set_cells(self, cells: Sequence[Cell], rows: int, step_s: float = 1.0) -> None:
        """New cells over `rows` curves sampled every `step_s` (gaps are judged against it)."""
        self.cells = list(cells)
        self._gap_step_s = step_s
        self._cell_of_row = np.full(max(rows, 1), -1, dtype=np.int64)
        for i, cell in enumerate(self.cells):
            for strip in cell.strips:
                self._cell_of_row[list(strip.rows)] = i
        self.current = min(self.current, max(len(self.cells) - 1, 0))
        self._relayout(rows)

    def set_window(self, window_s: float) -> None:
        if window_s != self.window_s:
            self.window_s = window_s
            self._relayout(self.bins.rows)

    def set_end(self, end_t: float) -> None:
        """The window's right edge (newest time shown); it moves only by whole columns."""
        self.end_t = end_t
        last_id = self.bins.column_of(end_t) if math.isfinite(end_t) else 0
        if last_id != self._last_id:
            self._last_id = last_id
            self._dirty.update(range(len(self.cells)))

    def mark_rows(self, rows: np.ndarray) -> None:
        """Curves whose data changed: their cells are redrawn at the next `refresh()`."""
        if rows.size == 0:
            return
        rows = rows[rows < self._cell_of_row.size]
        cells = self._cell_of_row[rows]
        self._dirty.update(cells[cells >= 0].tolist())

    def restyle(self, index: int) -> None:
        """Cell `index`'s title, state, colours or limits changed: repaint its background."""
        self._bg_stale.add(index)
        self._dirty.add(index)

    def refresh(self) -> int:
        """Rebuild the polygons of dirty cells and ask Qt to repaint them; returns how many."""
        if self._plot_w <= 0:
            return 0
        seen = self.visibleRegion().boundingRect()
        dirty: list[int] = []
        for i in sorted(self._dirty):
            if i >= len(self.cells):
                continue
            if self._rects[i].intersects(seen):
                dirty.append(i)
            else:
                # Out of sight (scrolled away): built when a paint exposes it.
                self._pending.add(i)
        self._dirty.clear()
        if not dirty:
            return 0
        self._pending.difference_update(dirty)
        self._build(dirty)
        if len(dirty) == len(self.cells):
            self.update()
        else:
            for i in dirty:
                self.update(self._rects[i])
        return len(dirty)

    def set_title_font(self, font: QFont) -> None:
        """A larger font for cell titles and state words (a wall read from across a room)."""
        self._title_font = font
        self._title_metrics = QFontMetrics(font)
        self.title_px = max(TITLE_PX, self._title_metrics.height() + 3)
        self._title_base = self._title_metrics.ascent() + 1
        self._relayout(self.bins.rows)

    def cell_rect(self, index: int) -> QRect:
        return QRect(self._rects[index]) if 0 <= index < len(self._rects) else QRect()

    # ------------------------------------------------------------------ geometry

    def _relayout(self, rows: int) -> None:
        n = len(self.cells)
        grid_rows = max(1, -(-n // self.columns))
        w = self.width()
        band = TIME_BAND_PX if self.time_labels else 0
        if self.fit_rows is None:
            cell_h = self.cell_height
            self.setMinimumHeight(grid_rows * (cell_h + CELL_GAP_PX) + band)
        else:
            cell_h = max(24, (self.height() - band) // max(self.fit_rows, 1) - CELL_GAP_PX)
        cell_w = max(16, (w - CELL_GAP_PX) // self.columns - CELL_GAP_PX)
        self._rects = []
        self._strip_rects = []
        for i, cell in enumerate(self.cells):
            r, c = divmod(i, self.columns)
            rect = QRect(
                CELL_GAP_PX + c * (cell_w + CELL_GAP_PX),
                r * (cell_h + CELL_GAP_PX),
                cell_w,
                cell_h,
            )
            self._rects.append(rect)
            k = max(len(cell.strips), 1)
            inner_h = (cell_h - self.title_px - 2) / k
            self._strip_rects.append(
                [
                    QRectF(
                        rect.left() + 1,
                        rect.top() + self.title_px + j * inner_h,
                        cell_w - 2,
                        inner_h - 1,
                    )
                    for j in range(len(cell.strips))
                ]
            )
        self._plot_w = max(1, cell_w - 2)
        self._curves.lay_out(self.cells, self._strip_rects, self._plot_w)
        key = (max(rows, 1), self.window_s, self._plot_w, self._gap_step_s)
        if key != self._bins_key:
            # New column width or curves: the owner feeds every sample again (generation).
            self._bins_key = key
            gap_s = max(GAP_FACTOR * self._gap_step_s, 0.0)
            self.bins = ColumnBins(key[0], self.window_s / self._plot_w, self._plot_w + 2, gap_s)
            self.generation += 1
            self._last_id = self.bins.column_of(self.end_t) if math.isfinite(self.end_t) else 0
        self._bg = None
        self._dirty.update(range(n))
        self._pending.clear()
        self.update()

    def resizeEvent(self, ev: QResizeEvent) -> None:
        super().resizeEvent(ev)
        self._relayout(self.bins.rows)

    def sizeHint(self) -> QSize:
        return QSize(640, 480)

    # ------------------------------------------------------------------ polygons

    def _build(self, dirty: list[int]) -> None:
        self._curves.build(self.bins, dirty, self._last_id - self._plot_w + 1, self._last_id)

    # ------------------------------------------------------------------ painting

    def _text(self, text: str) -> QStaticText:
        st = self._texts.get(text)
        if st is None:
            if len(self._texts) >= TEXT_CACHE_MAX:
                self._texts.clear()
            st = self._texts[text] = QStaticText(text)
            st.setTextFormat(Qt.TextFormat.PlainText)
            st.prepare(font=self._font)
        return st

    def _pen(self, colour: str, dashed: bool = False) -> QPen:
        key = f"{colour}{'-' if dashed else ''}"
        pen = self._pens.get(key)
        if pen is None:
            pen = self._pens[key] = QPen(QColor(colour), 0)  # 0: cosmetic 1 px
            if dashed:
                pen.setStyle(Qt.PenStyle.DashLine)
        return pen

    def _background(self) -> QPixmap:
        dpr = self.devicePixelRatioF()
        bg = self._bg
        if bg is None or bg.size() != self.size() * dpr:
            bg = self._bg = QPixmap(self.size() * dpr)
            bg.setDevicePixelRatio(dpr)
            bg.fill(QColor(theme.BACKGROUND))
            self._bg_stale = set(range(len(self.cells)))
        if self._bg_stale:
            painter = QPainter(bg)
            painter.setFont(self._font)
            for i in sorted(self._bg_stale):
                if i < len(self.cells):
                    self._paint_cell_background(painter, i)
            painter.end()
            self._bg_stale.clear()
        return bg

    def _paint_cell_background(self, painter: QPainter, index: int) -> None:
        cell, rect = self.cells[index], self._rects[index]
        painter.fillRect(rect.adjusted(-1, -1, 1, 1), QColor(theme.BACKGROUND))
        painter.fillRect(rect, QColor(theme.SURFACE))
        painter.setPen(self._pen(cell.colour))
        painter.drawRect(rect.adjusted(0, 0, -1, -1))
        painter.setPen(QColor(theme.TEXT_DIM if cell.dim else theme.TEXT))
        painter.setFont(self._title_font)
        metrics = self._title_metrics
        state_w = metrics.horizontalAdvance(cell.state) if cell.state else 0
        title_w = rect.width() - state_w - 12
        title = cell.title
        if cell.short_title and metrics.horizontalAdvance(title) > title_w:
            title = cell.short_title
        # Elided in the middle: "Synthetic 012" and "Synthetic 013" must not both read
        # "Synthetic…" on a wall; the end of a name tells them apart.
        title = metrics.elidedText(title, Qt.TextElideMode.ElideMiddle, title_w)
        painter.drawText(QPointF(rect.left() + 4, rect.top() + self._title_base), title)
        if cell.state:
            painter.setPen(QColor(cell.colour))
            painter.drawText(
                QPointF(rect.right() - state_w - 3, rect.top() + self._title_base), cell.state
            )
        painter.setFont(self._font)
        for strip, srect in zip(cell.strips, self._strip_rects[index], strict=True):
            painter.fillRect(srect, QColor(theme.BACKGROUND))
            if strip.limit is not None and strip.y_top > 0 and math.isfinite(strip.limit):
                y = srect.bottom() - strip.limit * srect.height() / strip.y_top
                if srect.top() <= y <= srect.bottom():
                    painter.setPen(self._pen(theme.THRESHOLD, dashed=True))
                    painter.drawLine(QPointF(srect.left(), y), QPointF(srect.right(), y))
            if strip.label and srect.height() >= 10:
                # On its own patch of background: a limit line near the top must not run
                # through the words.
                w = self._metrics.horizontalAdvance(strip.label) + 4
                painter.fillRect(
                    QRectF(srect.left(), srect.top(), w, min(11.0, srect.height())),
                    QColor(theme.BACKGROUND),
                )
                painter.setPen(QColor(theme.TEXT_DIM))
                painter.drawText(QPointF(srect.left() + 2, srect.top() + 9), strip.label)

    def paintEvent(self, ev: QPaintEvent) -> None:
        self.paints += 1
        painter = QPainter(self)
        exposed = ev.rect()
        painter.drawPixmap(QRectF(exposed), self._background(), self._device_rect(exposed))
        first_id = self._last_id - self._plot_w + 1
        if self._pending:
            rects = self._rects
            due = [i for i in self._pending if i < len(rects) and rects[i].intersects(exposed)]
            if due:
                self._pending.difference_update(due)
                self._build(sorted(due))
        for i, cell in enumerate(self.cells):
            rect = self._rects[i]
            if not rect.intersects(exposed):
                continue
            for strip in cell.strips:
                for colour, lines in zip(strip.colours, strip.lines, strict=False):
                    painter.setPen(self._pen(theme.TEXT_DIM if cell.dim else colour))
                    lines.draw(painter)
            if cell.markers:
                self._paint_markers(painter, i, first_id)
            if i == self.current and self.hasFocus():
                painter.setPen(QPen(QColor(theme.ACCENT), 2))
                painter.drawRect(rect.adjusted(1, 1, -1, -1))
        if self.time_labels and self.cells:
            self._paint_time_labels(painter, exposed, first_id)
        painter.end()

    def _device_rect(self, rect: QRect) -> QRectF:
        dpr = self.devicePixelRatioF()
        return QRectF(rect.x() * dpr, rect.y() * dpr, rect.width() * dpr, rect.height() * dpr)

    def _paint_markers(self, painter: QPainter, index: int, first_id: int) -> None:
        painter.setPen(self._pen(theme.EVENT_MARKER, dashed=True))
        rect = self._rects[index]
        for t in self.cells[index].markers:
            col = self.bins.column_of(t) - first_id
            if 0 <= col < self._plot_w:
                x = rect.left() + 1.5 + col
                painter.drawLine(QPointF(x, rect.top() + self.title_px), QPointF(x, rect.bottom()))

    def _paint_time_labels(self, painter: QPainter, exposed: QRect, first_id: int) -> None:
        last_row_top = self._rects[-1].top()
        band_top = self._rects[-1].bottom() + 2
        if band_top > exposed.bottom() or band_top + TIME_BAND_PX < exposed.top():
            return
        width_s = self.bins.width_s
        start, end = first_id * width_s, (self._last_id + 1) * width_s
        spacing = time_tick_spacing(start, end, self._plot_w)
        if spacing is None:
            return
        step, offset = spacing
        ticks = np.arange(math.ceil((start - offset) / step) * step + offset, end, step)
        fmt = "%H:%M:%S" if step < 60 else "%H:%M"
        painter.setPen(QColor(theme.TEXT_DIM))
        for rect in self._rects:
            if rect.top() != last_row_top:
                continue
            for t in ticks:
                x = rect.left() + 1 + (t / width_s - first_id)
                text = self._text(time.strftime(fmt, time.localtime(t)))
                tw = text.size().width()
                if rect.left() <= x - tw / 2 and x + tw / 2 <= rect.right():
                    painter.drawLine(QPointF(x, rect.bottom() - 3), QPointF(x, rect.bottom()))
                    painter.drawStaticText(QPointF(x - tw / 2, band_top), text)

    # ------------------------------------------------------------------ keys and mouse

    def index_at(self, x: int, y: int) -> int:
        for i, rect in enumerate(self._rects):
            if rect.contains(x, y):
                return i
        return -1

    def set_current(self, index: int) -> None:
        if not self.cells:
            return
        index = max(0, min(index, len(self.cells) - 1))
        old, self.current = self.current, index
        for i in (old, index):
            if 0 <= i < len(self._rects):
                self.update(self._rects[i])

    def mousePressEvent(self, ev: QMouseEvent) -> None:
        index = self.index_at(int(ev.position().x()), int(ev.position().y()))
        if index < 0:
            super().mousePressEvent(ev)
            return
        self.set_current(index)
        self.cell_activated.emit(self.cells[index].key)

    def keyPressEvent(self, ev: QKeyEvent) -> None:
        moves = {
            Qt.Key.Key_Left: -1,
            Qt.Key.Key_Right: 1,
            Qt.Key.Key_Up: -self.columns,
            Qt.Key.Key_Down: self.columns,
        }
        key = Qt.Key(ev.key())
        if key in moves and self.cells:
            self.set_current(self.current + moves[key])
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.cells:
            self.cell_activated.emit(self.cells[self.current].key)
            return
        super().keyPressEvent(ev)

    def focusInEvent(self, ev: QFocusEvent) -> None:
        super().focusInEvent(ev)
        self.set_current(self.current)

    def focusOutEvent(self, ev: QFocusEvent) -> None:
        super().focusOutEvent(ev)
        self.set_current(self.current)

    def font_for_labels(self) -> QFont:
        return self._font

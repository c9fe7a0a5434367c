"""The selected SLO's detail: budget burn-down with its ideal line and markers, and its tiers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from opsconsole.core.health import Health
from opsconsole.core.rows.slodetail import TIER_COLUMNS, BurnDownView, Marker, TierRow
from opsconsole.core.slo.figure import percent_text
from opsconsole.ui import theme
from opsconsole.ui.charts import LABEL_FILL, TICK_FONT_PT, dashed_pen, style_axis
from opsconsole.ui.elided import ElidedLabel

MARKER_POOL = 24  # vertical lines kept and reused; more markers than this keep the newest
DEPLOY_COLOUR = theme.ACCENT
INCIDENT_COLOUR = theme.THRESHOLD
CURVE_COLOUR = theme.SERIES["error_ratio"]
IDEAL_COLOUR = theme.TEXT_DIM
PLOT_MIN_HEIGHT = 90
MAX_DOTTED_POINTS = 60
LABEL_GAP = 0.06  # markers nearer than this share of the width stagger their labels
LABEL_ROW = 0.09  # one label row, as a share of the plot's height
LABEL_ROWS = 6


class BurnDownPlot(pg.PlotWidget):
    """Budget left (%) over the SLO window: the line, the ideal line, 0 %, and markers."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
        self.setObjectName("burndown_plot")
        self.setBackground(theme.SURFACE)
        self.setMinimumHeight(PLOT_MIN_HEIGHT)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        item = self.getPlotItem()
        for name in ("left", "bottom"):
            style_axis(item.getAxis(name))
        item.getAxis("left").setWidth(48)
        item.getAxis("left").setLabel("budget left %", color=theme.TEXT_DIM)
        self.ideal = pg.PlotCurveItem(pen=dashed_pen(IDEAL_COLOUR))
        self.curve = pg.PlotDataItem(
            pen=pg.mkPen(CURVE_COLOUR, width=2),
            symbol="o",
            symbolSize=5,
            symbolBrush=CURVE_COLOUR,
            symbolPen=None,
        )
        # Window totals say nothing about how the budget went before the longest burn
        # window: that stretch is drawn dotted, as an unknown, not as a flat line.
        self.unknown = pg.PlotCurveItem(
            pen=pg.mkPen(CURVE_COLOUR, width=1, style=Qt.PenStyle.DotLine)
        )
        self.zero = pg.InfiniteLine(pos=0.0, angle=0, pen=pg.mkPen(theme.BORDER, width=1))
        item.addItem(self.zero)
        item.addItem(self.ideal)
        item.addItem(self.unknown)
        item.addItem(self.curve)
        self.legend_ideal = pg.TextItem("ideal", color=IDEAL_COLOUR, anchor=(1, 1))
        self.legend_ideal.setFont(theme.mono_font(TICK_FONT_PT))
        item.addItem(self.legend_ideal)
        self.markers: list[pg.InfiniteLine] = []
        for _ in range(MARKER_POOL):
            line = pg.InfiniteLine(
                angle=90,
                movable=False,
                label="",
                labelOpts={"position": 0.95, "fill": LABEL_FILL, "anchors": [(0, 0), (0, 0)]},
            )
            line.hide()
            item.addItem(line)
            self.markers.append(line)
        self.shown_markers: list[Marker] = []

    def show_line(self, view: BurnDownView, markers: Sequence[Marker]) -> None:
        line = view.line
        percent = line.remaining * 100.0
        if view.coarse and len(line.ts) > 2:
            # The window's start (100 %) to the first point the totals give.
            self.unknown.setData(line.ts[:2], percent[:2])
            self.curve.setData(line.ts[1:], percent[1:])
        else:
            self.unknown.setData([], [])
            self.curve.setData(line.ts, percent)
        # Dots mark the few points window totals give; on hundreds of hourly steps they would
        # merge into a thick band that hides the line's shape.
        self.curve.setSymbol("o" if len(line.ts) <= MAX_DOTTED_POINTS else None)
        ideal_ts = np.array([view.start, view.end])
        self.ideal.setData(ideal_ts, np.array([100.0, 0.0]))
        self.legend_ideal.setPos(view.end, 0.0)
        low = min(0.0, float(np.nanmin(percent)) if len(percent) else 0.0)
        self.setXRange(view.start, view.end, padding=0.02)
        self.setYRange(low, 100.0, padding=0.05)
        self._show_markers(markers, view.start, view.end)

    def _show_markers(
        self, markers: Sequence[Marker], start: float = 0.0, end: float = 1.0
    ) -> None:
        kept = list(markers)[-MARKER_POOL:]
        self.shown_markers = kept
        span = max(end - start, 1.0)
        previous_x = -1.0
        row = 0
        for line, marker in zip(self.markers, kept, strict=False):
            x = (marker.ts - start) / span
            # Labels of markers close together step down a row, so they do not overlap;
            # in the right half they sit left of their line, so none runs off the plot.
            row = row + 1 if x - previous_x < LABEL_GAP else 0
            previous_x = x
            anchor = (1, 0) if x > 0.5 else (0, 0)
            line.label.anchors = [anchor, anchor]
            line.label.setPosition(0.97 - LABEL_ROW * (row % LABEL_ROWS))
            colour = DEPLOY_COLOUR if marker.kind == "deploy" else INCIDENT_COLOUR
            line.setPen(dashed_pen(colour))
            line.setPos(marker.ts)
            line.label.setText(marker.label)
            line.label.setColor(colour)
            line.setToolTip(marker.tooltip)
            line.label.setToolTip(marker.tooltip)
            line.show()
        for line in self.markers[len(kept) :]:
            line.hide()

    def clear_line(self) -> None:
        self.curve.setData([], [])
        self.unknown.setData([], [])
        self.ideal.setData([], [])
        self._show_markers(())


class TierTable(QTableWidget):
    """The four tiers: windows, factor, threshold, budget spent, both burns and state."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(TIER_COLUMNS), parent)
        self.setObjectName("tier_table")
        self.setHorizontalHeaderLabels([c.header for c in TIER_COLUMNS])
        for i, col in enumerate(TIER_COLUMNS):
            self.horizontalHeaderItem(i).setToolTip(col.tooltip)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setShowGrid(False)
        self.setWordWrap(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.mono = theme.mono_font(10)

    def show_rows(self, rows: Sequence[TierRow]) -> None:
        if len(rows) == self.rowCount() and self._update_cells(rows):
            return
        self.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, col in enumerate(TIER_COLUMNS):
                item = QTableWidgetItem(row.texts[col.key])
                tip = row.tooltips.get(col.key)
                if tip:
                    item.setToolTip(tip)
                if col.key in ("factor", "threshold", "spent", "long", "short"):
                    item.setFont(self.mono)
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                if col.key == "state":
                    item.setForeground(QColor(theme.STATE_COLOURS[row.health]))
                self.setItem(r, c, item)
        # Computed, not read from the headers: they lay out lazily, after the first paint.
        row_height = self.verticalHeader().defaultSectionSize()
        header = self.horizontalHeader().sizeHint().height()
        self.setFixedHeight(max(len(rows), 4) * row_height + header + 4)

    def _update_cells(self, rows: Sequence[TierRow]) -> bool:
        """Same rows, new words (a STALE age ticking): only the cells whose text, hover or
        colour changed are set, not 32 new items each relaid out. False: no items yet."""
        for r, row in enumerate(rows):
            for c, col in enumerate(TIER_COLUMNS):
                item = self.item(r, c)
                if item is None:
                    return False
                if item.text() != row.texts[col.key]:
                    item.setText(row.texts[col.key])
                tip = row.tooltips.get(col.key) or ""
                if item.toolTip() != tip:
                    item.setToolTip(tip)
                if col.key == "state":
                    colour = QColor(theme.STATE_COLOURS[row.health])
                    if item.foreground().color() != colour:
                        item.setForeground(colour)
        return True

    def text(self, row: int, key: str) -> str:
        col = next(i for i, c in enumerate(TIER_COLUMNS) if c.key == key)
        item = self.item(row, col)
        return "" if item is None else item.text()


class BudgetDetail(QWidget):
    """What the list's selected SLO is made of: the burn-down and the tier table."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("budget_detail")
        self.title = ElidedLabel(self)
        self.title.setObjectName("budget_detail_title")
        self.title.setStyleSheet("font-weight: bold; padding: 4px 6px 0 6px;")
        self.source = ElidedLabel(self)
        self.source.setObjectName("budget_detail_source")
        self.source.setStyleSheet(f"color: {theme.TEXT_DIM}; padding: 0 6px;")
        self.tiers = TierTable(self)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        self._layout.addWidget(self.title)
        self._layout.addWidget(self.source)
        self._layout.addWidget(self.tiers)
        # Made on first use (the panel's first refresh in sight): the budgets tab starts
        # behind the charts, and its plot (a PlotItem with 24 labelled marker lines) cost
        # ~20 ms of every start.
        self._plot: BurnDownPlot | None = None
        self.key: tuple[str, str] | None = None
        self.title.set_full_text("select an SLO to see its burn-down and tiers")
        self.tiers.show_rows(())

    @property
    def plot(self) -> BurnDownPlot:
        """The burn-down plot, made (between the title and the source line) when first needed."""
        if self._plot is None:
            self._plot = BurnDownPlot(self)
            self._layout.insertWidget(1, self._plot, 1)
        return self._plot

    def show_nothing(self, words: str) -> None:
        self.key = None
        self.title.set_full_text(words)
        self.source.set_full_text("")
        self.plot.clear_line()
        self.tiers.show_rows(())

    def show_slo(
        self,
        key: tuple[str, str],
        title: str,
        view: BurnDownView | None,
        markers: Sequence[Marker],
        tiers: Sequence[TierRow],
        health: Health,
    ) -> None:
        self.key = key
        self.title.set_full_text(title)
        self.title.setStyleSheet(
            f"font-weight: bold; padding: 4px 6px 0 6px; color: {theme.STATE_COLOURS[health]};"
        )
        if view is None:
            self.plot.clear_line()
            self.source.set_full_text("burn-down: no counts for the SLO window")
        else:
            self.plot.show_line(view, markers)
            deploys = sum(m.kind == "deploy" for m in markers)
            incidents = len(markers) - deploys
            now = percent_text(float(view.line.remaining[-1]), 1) if len(view.line.ts) else "—"
            self.source.set_full_text(
                f"burn-down from {view.source}; {now} left now · "
                f"{deploys} deploys, {incidents} incidents marked · dashed: even spending"
            )
        self.tiers.show_rows(tiers)

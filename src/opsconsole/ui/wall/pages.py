"""The wall's pages: their playlist, their titles, and each page's widget built for the wall."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from opsconsole.ui import theme
from opsconsole.ui.context import UiContext
from opsconsole.ui.panels.alerts import AlertsPanel
from opsconsole.ui.panels.signals import GoldenSignalsPanel
from opsconsole.ui.wall.boards import BreakersBoard, ClustersBoard, ServicesBoard
from opsconsole.ui.wall.budgets import BudgetsBoard
from opsconsole.ui.wall.loadtest import LoadTestWall
from opsconsole.ui.wall.overview import OverviewWall
from opsconsole.ui.wall.theme import WALL_TEXT, WallTheme

# The playlist, in order; `--layout`-style subsets keep this order.
PAGES: tuple[str, ...] = (
    "services",
    "signals",
    "breakers",
    "clusters",
    "alerts",
    "budgets",
    "overview",
)
PAGE_TITLES: dict[str, str] = {
    "services": "Services",
    "overview": "Fleet overview",
    "signals": "Golden signals",
    "breakers": "Circuit breakers",
    "clusters": "Database clusters",
    "alerts": "Alerts",
    "budgets": "Error budgets",
    "loadtest": "Load test",  # not in the playlist: joins it while a watch runs (add_page)
}


def make_page(ctx: UiContext, page: str, t: WallTheme) -> QWidget:
    """A wall-owned widget for `page`, sized for the wall (never a docked panel's)."""
    if page == "services":
        return ServicesBoard(ctx, t)
    if page == "breakers":
        return BreakersBoard(ctx, t)
    if page == "clusters":
        return ClustersBoard(ctx, t)
    if page == "budgets":
        return BudgetsBoard(ctx, t)
    if page == "overview":
        return OverviewWall(ctx, t)
    if page == "loadtest":
        return LoadTestWall(ctx, t)  # fed by the watch (app/loadtesting.py)
    if page == "signals":
        signals = GoldenSignalsPanel(ctx)
        style_signals_for_wall(signals, t)
        return signals
    alerts = AlertsPanel(ctx)
    # The alerts list is text to read, not tiles to glance at: a size up from the body.
    alerts.set_font_pixel_size(round(t.base_px * 1.3))
    alerts.set_command_bar_visible(False)
    alerts.set_fit_to_width(True)
    return alerts


def style_signals_for_wall(panel: GoldenSignalsPanel, t: WallTheme) -> None:
    """Large ticks, titles and lines on a wall-owned signals panel (never the window's)."""
    panel.set_interactive(False)  # nobody zooms or hovers a wall: it always shows live
    for button in panel.findChildren(QPushButton):
        button.hide()  # the window buttons: nobody clicks a wall
    for label in panel.findChildren(QLabel, options=Qt.FindChildOption.FindDirectChildrenOnly):
        label.hide()  # the heading: the wall's header names the service instead
    panel.placeholder.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: {t.header_px}px;")
    tick = t.font(t.base_px, mono=True)
    label_width = QFontMetrics(tick).horizontalAdvance("88:88:88") + t.base_px * 2
    for plot in panel.plots:
        title = plot.titleLabel.text
        plot.setTitle(title, justify="left", size=f"{t.base_px}px")
        plot.layout.setRowFixedHeight(0, round(t.base_px * 1.7))
        plot.titleLabel.setMaximumHeight(round(t.base_px * 1.7))
        left = plot.getAxis("left")
        left.setStyle(tickFont=tick, tickTextOffset=max(4, t.base_px // 3))
        left.setTextPen(pg.mkPen(WALL_TEXT))
        left.setWidth(QFontMetrics(tick).horizontalAdvance("88888") + t.base_px)
        bottom = plot.getAxis("bottom")
        if bottom.isVisible():
            bottom.setStyle(tickFont=tick, tickTextOffset=max(4, t.base_px // 3))
            bottom.setTextPen(pg.mkPen(WALL_TEXT))
            bottom.setHeight(round(t.base_px * 2.0))
            _space_time_labels(bottom, label_width)
    for line in panel.threshold_lines.values():
        line.label.setFont(t.font(round(t.base_px * 0.8), bold=True))
    # 1 px lines vanish at five metres. The panel keeps its live and stale pens in private
    # maps that it swaps in on a stale change; widening them in place keeps both wide.
    width = max(2, round(t.height / 360))
    for pen in (*getattr(panel, "_pens", {}).values(), getattr(panel, "_stale_pen", None)):
        if pen is not None:
            pen.setWidth(width)
    for curve in panel.curves.values():
        pen = pg.mkPen(curve.opts["pen"])
        pen.setWidth(width)
        curve.setPen(pen)


def _space_time_labels(axis: pg.AxisItem, label_px: int) -> None:
    """The time axis spaces labels for a 9 pt font; scale the size it plans with instead."""
    planned = axis.tickSpacing
    factor = 96 / max(1, label_px)  # charts plan one label per 96 px

    def spacing(min_val: float, max_val: float, size: float) -> list[tuple[float, float]]:
        return planned(min_val, max_val, size * factor)

    axis.tickSpacing = spacing  # type: ignore[method-assign]

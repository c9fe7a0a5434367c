"""LiveGrid: what it paints is the data (values, gaps, limits, colours), and only what changed."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from opsconsole.ui import theme
from opsconsole.ui.livegrid import Cell, LiveGrid, Strip

T0 = 1_800_000_000.0
RED = "#ff0000"


def make_grid(qtbot: QtBot, n_cells: int = 4, window_s: float = 120.0) -> LiveGrid:
    grid = LiveGrid(columns=2, rows=2, time_labels=True)
    qtbot.addWidget(grid)
    grid.resize(500, 300)
    grid.show()
    qtbot.waitExposed(grid)
    grid.set_window(window_s)
    cells = [
        Cell(
            key=f"svc-{i}", title=f"svc-{i}", strips=[Strip((i,), (RED,), y_top=100.0, limit=80.0)]
        )
        for i in range(n_cells)
    ]
    grid.set_cells(cells, rows=n_cells)
    return grid


def feed(grid: LiveGrid, row: int, ts: np.ndarray, vs: np.ndarray) -> int:
    changed = grid.bins.add(np.full(ts.size, row), ts, vs)
    grid.set_end(float(ts[-1]))
    grid.mark_rows(changed)
    return grid.refresh()


def red_pixels(image: QImage, x0: int, x1: int, y0: int, y1: int) -> list[tuple[int, int]]:
    red = QColor(RED).rgb()
    return [(x, y) for x in range(x0, x1) for y in range(y0, y1) if image.pixel(x, y) == red]


def test_a_flat_series_is_drawn_at_its_value_with_the_limit_line(qtbot: QtBot) -> None:
    grid = make_grid(qtbot)
    ts = T0 + np.arange(120.0)
    assert feed(grid, 0, ts, np.full(120, 50.0)) == 4  # the first frame: every cell
    qtbot.waitUntil(lambda: grid.paints > 0)
    image = grid.grab().toImage()
    strip = grid._strip_rects[0][0]
    y_value = round(strip.bottom() - 50.0 * strip.height() / 100.0)
    hits = red_pixels(
        image, int(strip.left()), int(strip.right()), int(strip.top()), int(strip.bottom())
    )
    assert hits, "the curve was not painted"
    assert {y for _, y in hits} <= {y_value - 1, y_value, y_value + 1}
    # The limit line (dashed, threshold colour) sits at 80 of 100.
    y_limit = int(strip.bottom() - 80.0 * strip.height() / 100.0)
    limit = QColor(theme.THRESHOLD).rgb()
    rows = {
        y
        for y in range(y_limit - 1, y_limit + 2)
        for x in range(int(strip.left()), int(strip.right()))
        if image.pixel(x, y) == limit
    }
    assert rows


def test_a_gap_is_a_gap_on_screen(qtbot: QtBot) -> None:
    grid = make_grid(qtbot)
    ts = np.r_[T0 + np.arange(40.0), T0 + 80 + np.arange(40.0)]  # 40 s without data
    vs = np.full(ts.size, 50.0)
    vs[60] = np.nan  # and one "no data" sample
    feed(grid, 0, ts, vs)
    lines = grid.cells[0].strips[0].lines[0]
    assert lines.count == 3
    qtbot.waitUntil(lambda: grid.paints > 0)
    image = grid.grab().toImage()
    strip = grid._strip_rects[0][0]
    columns = {
        x
        for x, _ in red_pixels(
            image, int(strip.left()), int(strip.right()) + 1, int(strip.top()), int(strip.bottom())
        )
    }
    # No red between the last column before the hole and the first after it.
    before = grid.bins.column_of(T0 + 39) - grid.bins.column_of(ts[-1]) + grid._plot_w - 1
    after = grid.bins.column_of(T0 + 80) - grid.bins.column_of(ts[-1]) + grid._plot_w - 1
    left = strip.left()
    assert not any(left + before + 2 <= x <= left + after - 1 for x in columns)
    assert any(x <= left + before + 1 for x in columns) and any(x >= left + after for x in columns)


def test_values_above_the_top_stay_inside_their_strip(qtbot: QtBot) -> None:
    grid = make_grid(qtbot)
    ts = T0 + np.arange(60.0)
    feed(grid, 0, ts, np.full(60, 1e9))
    lines = grid.cells[0].strips[0].lines[0]
    strip = grid._strip_rects[0][0]
    view = lines._views[0]
    assert view[:, 1].min() >= strip.top() - 1.0


def test_only_cells_whose_data_changed_are_rebuilt(qtbot: QtBot) -> None:
    grid = make_grid(qtbot, window_s=3600.0)
    ts = T0 + np.arange(3600.0)
    for row in range(4):
        grid.bins.add(np.full(ts.size, row), ts, np.full(ts.size, 10.0 + row))
    grid.set_end(float(ts[-1]))
    grid.mark_rows(np.arange(4))
    assert grid.refresh() == 4
    # One more second for one service, inside the same pixel column: one cell.
    width = grid.bins.width_s
    t = ts[-1] + 1.0
    if grid.bins.column_of(t) != grid.bins.column_of(ts[-1]):
        t = ts[-1] + 0.5 * width  # never across a column boundary for this check
    changed = grid.bins.add(np.array([2]), np.array([t]), np.array([99.0]))
    grid.set_end(float(ts[-1]))
    grid.mark_rows(changed)
    assert grid.refresh() == 1
    assert grid.refresh() == 0  # nothing new: nothing rebuilt, nothing repainted


def test_the_window_moves_only_by_whole_columns(qtbot: QtBot) -> None:
    grid = make_grid(qtbot, window_s=3600.0)
    ts = T0 + np.arange(100.0)
    feed(grid, 0, ts, np.ones(100))
    width = grid.bins.width_s
    assert width > 1.0
    column = grid.bins.column_of(ts[-1])
    grid.set_end(column * width + 0.1)  # same column: nothing to redo
    assert grid.refresh() == 0
    grid.set_end((column + 1) * width + 0.1)
    assert grid.refresh() == 4  # one column on: every cell moves left by a pixel


def test_click_and_enter_choose_a_cell(qtbot: QtBot) -> None:
    grid = make_grid(qtbot)
    chosen: list[object] = []
    grid.cell_activated.connect(chosen.append)
    qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=grid.cell_rect(3).center())
    assert chosen == ["svc-3"]
    grid.setFocus()
    qtbot.keyClick(grid, Qt.Key.Key_Up)
    qtbot.keyClick(grid, Qt.Key.Key_Left)
    qtbot.keyClick(grid, Qt.Key.Key_Return)
    assert chosen == ["svc-3", "svc-0"]
    assert grid.index_at(-5, -5) == -1
    assert grid.cell_rect(0).contains(QPoint(grid.cell_rect(0).center()))


def test_a_dim_cell_draws_its_curve_grey_and_says_its_state(qtbot: QtBot) -> None:
    grid = make_grid(qtbot)
    ts = T0 + np.arange(120.0)
    feed(grid, 0, ts, np.full(120, 50.0))
    cell = grid.cells[0]
    cell.dim, cell.state = True, "STALE 12 s"
    grid.restyle(0)
    grid.refresh()
    qtbot.waitUntil(lambda: grid.paints > 0)
    image = grid.grab().toImage()
    strip = grid._strip_rects[0][0]
    assert not red_pixels(
        image, int(strip.left()), int(strip.right()), int(strip.top()), int(strip.bottom())
    )
    grey = QColor(theme.TEXT_DIM).rgb()
    y_value = round(strip.bottom() - 50.0 * strip.height() / 100.0)
    assert any(
        image.pixel(x, y) == grey
        for x in range(int(strip.left()), int(strip.right()))
        for y in (y_value - 1, y_value, y_value + 1)
    )

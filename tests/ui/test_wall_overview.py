"""The wall's fleet overview page: every service at once when cells stay readable, else pages
that turn on their own and say so; in the wall's playlist with its alarm."""

from __future__ import annotations

import re

import numpy as np
import pytest

from opsconsole.core.events import ConnectionChanged, MetricsBatch, SnapshotLoaded
from opsconsole.core.models import METRIC_FIELDS, ConnectionState, LinkStatus, Service
from opsconsole.core.store import Store
from opsconsole.ui import theme
from opsconsole.ui.context import Selection, UiContext
from opsconsole.ui.wall import PAGE_TITLES, PAGES, make_page
from opsconsole.ui.wall.overview import MIN_CELL, OverviewWall, plan_grid
from opsconsole.ui.wall.theme import WallTheme
from tests.support.shots import save_shot

T0 = 1_800_000_000.0
NAMES = tuple(f"svc-{i:03d}" for i in range(200))


def fleet_store(n_seconds: int = 30) -> Store:
    store = Store(capacity=600)
    store.apply(SnapshotLoaded("b", tuple(Service(name=n) for n in NAMES), (), (), (), ts=T0))
    rng = np.random.default_rng(3)
    base = np.array([40, 80, 150, 100, 0.002, 0.3, 0.6])
    for k in range(n_seconds):
        values = base * (1 + 0.1 * rng.standard_normal((len(NAMES), len(METRIC_FIELDS))))
        store.apply(
            MetricsBatch("b", NAMES, np.full(len(NAMES), T0 + k), np.abs(values), METRIC_FIELDS)
        )
    store.apply(ConnectionChanged("b", LinkStatus(ConnectionState.LIVE)))
    return store


def wall_page(qtbot, store: Store, width: int, height: int, **kwargs) -> OverviewWall:
    t = WallTheme.for_size(width, height)
    page = OverviewWall(UiContext(store, Selection()), t, **kwargs)
    qtbot.addWidget(page)
    page.resize(width, height)
    page.show()
    qtbot.waitExposed(page)
    page.run_refresh(0.0)
    return page


def test_plan_keeps_cells_readable_and_shows_all_when_they_fit() -> None:
    cols, rows = plan_grid(200, 3840, 2100, MIN_CELL)
    assert cols * rows >= 200
    assert 3840 // cols >= MIN_CELL[0] and 2100 // rows >= MIN_CELL[1]
    cols, rows = plan_grid(200, 1900, 1000, MIN_CELL)
    assert cols * rows < 200, "at 1080p 200 cells of 150x80 do not fit: pages"
    assert 1900 // cols >= MIN_CELL[0] and 1000 // rows >= MIN_CELL[1]
    assert plan_grid(8, 1900, 1000, MIN_CELL)[0] * plan_grid(8, 1900, 1000, MIN_CELL)[1] >= 8


def test_a_4k_wall_shows_every_service_at_once(qapp, qtbot) -> None:
    theme.apply_theme(qapp)
    page = wall_page(qtbot, fleet_store(), 3840, 2160)
    assert page.pages == 1 and page.shown_keys() == [("b", n) for n in NAMES]
    assert page.pager.isHidden(), "one page: nothing to say about pages"
    rect = page.grid.cell_rect(0)
    assert rect.width() >= MIN_CELL[0] and rect.height() >= MIN_CELL[1]
    assert all(c.strips[0].limit == 500.0 for c in page.grid.cells)
    # Health is judged a few dozen services per refresh; the page stays dirty until all are.
    for _ in range(60):
        if not page.dirty:
            break
        page.run_refresh(0.0)
    assert page.feed.pending == 0
    # Every service judged (10 % noise around healthy values: a rare one may warn).
    states = [c.state for c in page.grid.cells]
    assert "" not in states and states.count("OK") >= 190


def test_a_1080p_wall_pages_through_the_services_and_says_which_page(qapp, qtbot) -> None:
    theme.apply_theme(qapp)
    page = wall_page(qtbot, fleet_store(), 1920, 1080)
    assert page.pages == 2
    first = page.shown_keys()
    assert first == [("b", n) for n in NAMES[: len(first)]]
    rect = page.grid.cell_rect(len(first) - 1)
    assert rect.width() >= MIN_CELL[0] and rect.height() >= MIN_CELL[1]
    assert rect.bottom() <= page.grid.height(), "the last cell of a page is on screen"
    assert page.pager.isVisible()
    assert re.fullmatch(rf"Services 1–{len(first)} of 200 · page 1 of 2", page.pager.text())
    save_shot(page, "wall_overview_page1.png")
    page.next_page()  # what its timer does
    page.run_refresh(0.0)
    second = page.shown_keys()
    assert second == [("b", n) for n in NAMES[len(first) :]]
    assert page.pager.text() == f"Services {len(first) + 1}–200 of 200 · page 2 of 2"
    page.next_page()
    page.run_refresh(0.0)
    assert page.shown_keys() == first, "round again"


def test_a_page_holding_smaller_cells_shows_all_two_hundred_at_1080p(qapp, qtbot) -> None:
    theme.apply_theme(qapp)
    page = wall_page(qtbot, fleet_store(), 1920, 1080, min_cell=(120, 56))
    assert page.pages == 1 and len(page.shown_keys()) == 200
    assert all(c.strips[1].lines and c.strips[1].lines[0].count == 1 for c in page.grid.cells)
    save_shot(page, "wall_overview_all.png")


def test_the_overview_is_a_wall_page_with_the_services_alarm(qapp, qtbot) -> None:
    theme.apply_theme(qapp)
    assert "overview" in PAGES and PAGE_TITLES["overview"] == "Fleet overview"
    widget = make_page(
        UiContext(fleet_store(), Selection()), "overview", WallTheme.for_size(1920, 1080)
    )
    qtbot.addWidget(widget)
    assert isinstance(widget, OverviewWall)


@pytest.mark.parametrize("size", [(1920, 1080)])
def test_a_stale_backend_dims_the_wall_cells(qapp, qtbot, size) -> None:
    theme.apply_theme(qapp)
    store = fleet_store()
    page = wall_page(qtbot, store, *size)
    store.apply(ConnectionChanged("b", LinkStatus(ConnectionState.RECONNECTING)))
    page.run_refresh(0.0)
    assert all(c.dim and c.state.startswith("STALE") for c in page.grid.cells)
    assert page.wants_tick

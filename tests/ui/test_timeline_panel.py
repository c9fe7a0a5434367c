"""Timeline panel against the real reference backend: an incident's lines, restart, filter, keys."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.core.events import EventOccurred
from opsconsole.core.models import Event
from opsconsole.core.store import Store
from opsconsole.core.timeline import TimelineEntry, TimelineRecorder, TimelineStore
from opsconsole.core.timeline.entry import KINDS
from opsconsole.ui import theme
from opsconsole.ui.context import Selection, UiContext
from opsconsole.ui.panels.timeline import GLYPHS, KIND_COLOURS, TimelinePanel, format_time
from tests.support.panels import PanelHarness
from tests.support.shots import save_shot
from tests.support.waiting import wait_until

SHOT = "timeline_panel.png"
PANEL_SIZE = (960, 380)


class Harness(PanelHarness):
    """The timeline panel over a timeline file that a recorder fills from the store."""

    def __init__(self, qapp, qtbot, path: Path) -> None:
        super().__init__(qapp, qtbot)
        self.path = path
        self.timeline = TimelineStore(path)
        self.recorder = TimelineRecorder(self.store, self.timeline)
        self.panel = self.show(TimelinePanel(self.ctx, self.timeline), PANEL_SIZE)

    def close(self) -> None:
        super().close()
        self.recorder.close()
        self.timeline.close()

    def index_of(self, pattern: str) -> int:
        """Row of the first (newest) line matching `pattern`; -1 when none does."""
        regex = re.compile(pattern)
        return next((i for i, r in enumerate(self.panel.rows()) if regex.search(r)), -1)

    def shows(self, pattern: str) -> bool:
        return self.index_of(pattern) >= 0


def make_panel(qtbot, ctx: UiContext, timeline: TimelineStore) -> TimelinePanel:
    panel = TimelinePanel(ctx, timeline)
    qtbot.addWidget(panel)
    panel.resize(*PANEL_SIZE)
    panel.show()
    return panel


@pytest.fixture
def ui(qapp, qtbot, tmp_path) -> Iterator[Harness]:
    harness = Harness(qapp, qtbot, tmp_path / "data" / "timeline.sqlite3")
    yield harness
    harness.close()


def test_an_incident_is_recorded_survives_a_restart_and_filters(
    qloop, qtbot, sim_thread, ui
) -> None:
    sim = sim_thread(time_scale=20)
    panel = ui.panel

    async def scenario() -> None:
        client = OpsApiClient("sim", sim.url, ui.store.apply)
        client.start()
        ui.scheduler.start()
        try:
            await wait_until(lambda: ui.store.backend("sim").clusters, 10, "the first snapshot")
            assert panel.rows() == [], "the first snapshot is a baseline, not history"

            await client.scenario("primary_down")
            await wait_until(lambda: ui.shows("orders-db failed → healthy"), 20, "failover")
            scenario_row = ui.index_of(
                r"✱ scenario\s+primary-db\s+scenario primary_down started on primary-db"
            )
            failed_row = ui.index_of(r"■ cluster\s+orders-db\s+orders-db healthy → failed")
            promoted_row = ui.index_of(
                r"⇄ failover\s+orders-db\s+orders-db: replica-\d promoted to primary "
                r"\(timeline 2, was primary-db\)"
            )
            healthy_row = ui.index_of(r"■ cluster\s+orders-db\s+orders-db failed → healthy")
            # Newest first: back to healthy, the promotion, the failure, the scenario.
            assert 0 <= healthy_row < promoted_row < failed_row < scenario_row, panel.rows()
            stamps = [e.ts for e in panel.entries()]
            assert stamps == sorted(stamps, reverse=True)
            # The backend's own failover events said the same: no second line for them.
            assert not ui.shows(r"failover by failover manager")
            assert ui.recorder.skipped_events >= 2

            await client.scenario("dependency_outage", "inventory-service")
            await wait_until(
                lambda: ui.shows(
                    r"◆ breaker\s+inventory-service\s+inventory-service closed → open"
                ),
                20,
                "the breaker to open",
            )
            assert not ui.shows(r"circuit inventory-service: closed → open"), "no double line"
            kind_col = panel.model.column_of("kind")
            row = ui.index_of("inventory-service closed → open")
            colour = panel.model.data(
                panel.model.index(row, kind_col), Qt.ItemDataRole.ForegroundRole
            )
            assert colour == QColor(theme.STATE_COLOURS[theme.Health.CRITICAL])

            sim.stop()
            await wait_until(
                lambda: ui.shows(r"○ connection\s+Lost the link to sim"), 20, "the lost link"
            )
            assert ui.index_of("Lost the link to sim") == 0, "the newest line is on top"
            assert panel.model.column_of("backend") == -1, "one backend: no Backend column"
            save_shot(panel, SHOT)
        finally:
            await client.aclose()
        await ui.scheduler.frames(2)

    qloop.run(scenario(), timeout=90)
    ui.refresh()
    before = panel.rows()
    assert len(before) >= 6

    # "Restart": the recorder and the file closed, a new store and panel on the same file.
    ui.recorder.close()
    ui.timeline.close()
    reopened = TimelineStore(ui.path)
    fresh = make_panel(qtbot, UiContext(Store(), Selection()), reopened)
    fresh.run_refresh(time.monotonic())
    assert fresh.rows() == before
    assert reopened.count() == len(before)

    # `/` opens the filter line; kind:cluster keeps the cluster lines only.
    fresh.view.setFocus()
    qtbot.keyClick(fresh.view, "/")
    assert fresh.filter.isVisible()
    qtbot.keyClicks(fresh.filter, "kind:cluster")
    assert fresh.filter_text == "kind:cluster"
    rows = fresh.rows()
    assert rows and all("■ cluster" in r for r in rows), rows
    assert any("healthy → failed" in r for r in rows)
    assert len(rows) < len(before)
    assert fresh.count_label.text() == f"{len(rows)} matching"
    save_shot(fresh, "timeline_panel_filter.png")
    # More words narrow further; matching is case-insensitive.
    qtbot.keyClicks(fresh.filter, " HEALTHY FAILED")  # QTest types ASCII only
    narrowed = fresh.rows()
    assert narrowed and all("healthy" in r and "failed" in r for r in narrowed), narrowed
    assert len(narrowed) < len(rows) or all("failed" in r for r in rows)
    qtbot.keyClick(fresh.filter, Qt.Key.Key_Escape)
    assert fresh.filter_text == "" and not fresh.filter.isVisible()
    assert fresh.rows() == before
    reopened.close()


def feed(store: Store, backend: str, ts: float, message: str, kind: str = "deploy") -> None:
    store.apply(EventOccurred(backend, Event(ts=ts, kind=kind, message=message)))  # type: ignore[arg-type]


def test_keys_order_backends_and_dates(qtbot, ui) -> None:
    panel, store = ui.panel, ui.store
    ui.refresh()
    assert panel.rows() == [] and panel.empty_label.isVisible()
    assert "Nothing recorded yet" in panel.empty_label.text()

    # Noon today, on the panel's clock too: no line falls into yesterday near midnight.
    t = time.localtime()
    now = time.mktime((t.tm_year, t.tm_mon, t.tm_mday, 12, 0, 0, 0, 0, -1))
    ui.ctx.wall_clock = lambda: now
    feed(store, "sim", now - 30, "orders v2.3.1 deployed")
    feed(store, "sim", now - 20, "scenario latency_spike started on orders", "scenario")
    assert panel.dirty
    ui.refresh()
    assert [e.message for e in panel.entries()] == [
        "scenario latency_spike started on orders",
        "orders v2.3.1 deployed",
    ]
    assert not panel.empty_label.isVisible()
    loads = panel.loads
    # Late arrivals go where their time puts them, without reloading everything.
    feed(store, "sim", now - 25, "payments v1.9 deployed")
    feed(store, "sim", now - 10, "search v4 deployed")
    ui.refresh()
    assert [e.message for e in panel.entries()] == [
        "search v4 deployed",
        "scenario latency_spike started on orders",
        "payments v1.9 deployed",
        "orders v2.3.1 deployed",
    ]
    assert panel.loads == loads
    # Yesterday's lines carry their date; today's only the time.
    yesterday = now - 86_400
    feed(store, "sim", yesterday, "analytics v7 deployed")
    ui.refresh()
    day = time.strftime("%Y-%m-%d", time.localtime(yesterday))
    assert panel.rows()[-1].startswith(f"{day} ")
    assert panel.rows()[0] == "11:59:50  ↑ deploy    search v4 deployed"
    assert format_time(now, (0, 0, 0)).startswith(time.strftime("%Y-%m-%d", time.localtime(now)))

    # A second backend brings the Backend column.
    feed(store, "eu", now - 5, "eu-orders v3 deployed")
    ui.refresh()
    assert panel.model.column_of("backend") == 2
    assert panel.rows()[0].split("  ")[2] == "eu"

    # Keyboard: Home/End go to the ends of the list, arrows move one line.
    view, last = panel.view, panel.model.rowCount() - 1
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_End)
    assert view.currentIndex().row() == last
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert view.currentIndex().row() == last - 1
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert view.currentIndex().row() == 0
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert view.currentIndex().row() == 1
    save_shot(panel, "timeline_panel_keys.png")

    # A filter that matches nothing says so; Esc in the list clears it and keeps the place.
    panel.set_filter("kind:alert")
    assert panel.rows() == [] and panel.empty_label.isVisible()
    assert "No entries match “kind:alert”" in panel.empty_label.text()
    panel.set_filter("service:nothing deployed")
    assert panel.rows() == []
    panel.set_filter("v2.3")
    assert [e.message for e in panel.entries()] == ["orders v2.3.1 deployed"]
    qtbot.keyClick(panel.filter, Qt.Key.Key_Return)  # back to the list, filter kept
    assert panel.filter.isVisible() and panel.filter_text == "v2.3"
    view.setCurrentIndex(panel.model.index(0, 0))  # the operator is on the line found
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert panel.filter_text == "" and not panel.filter.isVisible()
    assert len(panel.rows()) == 6
    assert panel.entries()[view.currentIndex().row()].message == "orders v2.3.1 deployed"


def test_new_entries_keep_the_reader_in_place(qapp, ui) -> None:
    panel = ui.panel
    panel.resize(700, 200)
    base = time.time() - 3600
    for i in range(60):
        ui.timeline.append(
            TimelineEntry(ts=base + i, backend="sim", kind="info", message=f"line {i}")
        )
    ui.refresh()
    qapp.processEvents()  # lay the view out: the scroll range exists from here on
    bar = panel.view.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)
    top = panel.view.rowAt(0)
    assert top > 0
    shown = panel.rows()[top]
    for i in range(3):
        ui.timeline.append(
            TimelineEntry(ts=base + 100 + i, backend="sim", kind="info", message=f"new {i}")
        )
    ui.refresh()
    qapp.processEvents()
    assert panel.rows()[:3] == [r for r in panel.rows() if "new " in r]
    assert panel.rows()[panel.view.rowAt(0)] == shown, "the line being read stayed in view"


def test_every_kind_has_its_own_glyph_and_a_colour() -> None:
    """A kind added to the timeline (loadtest was) reads without colour too: its own glyph."""
    assert set(KINDS) <= set(GLYPHS) and set(KINDS) <= set(KIND_COLOURS)
    assert len(set(GLYPHS.values())) == len(GLYPHS)

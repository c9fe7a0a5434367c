"""Idle costs nothing: the repaint timer sleeps while no panel is owed a refresh, and the
breakers table repaints only the cells whose text changed (an age that ticks, not the row)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QModelIndex

from opsconsole.core.events import CircuitChanged, ConnectionChanged
from opsconsole.core.models import Circuit, ConnectionState, LinkStatus, Transport
from opsconsole.ui.panels.breakers import BreakersPanel
from tests.support.panels import PanelHarness
from tests.support.waiting import wait_until

LIVE = LinkStatus(ConnectionState.LIVE, Transport.WEBSOCKET)
T0 = 1_800_000_000.0


class Harness(PanelHarness):
    def __init__(self, qapp, qtbot) -> None:
        self.wall = [T0]
        super().__init__(qapp, qtbot, wall_clock=lambda: self.wall[0])
        self.panel = self.show(BreakersPanel(self.ctx), (900, 300))
        self.changes: list[tuple[int, int, int, int]] = []
        self.panel.model.dataChanged.connect(self._record)

    def _record(self, top_left: QModelIndex, bottom_right: QModelIndex, *_: object) -> None:
        self.changes.append(
            (top_left.row(), bottom_right.row(), top_left.column(), bottom_right.column())
        )

    def circuit(self, name: str, success: float, changed_at: float = T0 - 30) -> None:
        circuit = Circuit(
            "closed",
            failure_count=0,
            failure_threshold=5,
            timeout_s=30.0,
            success_rate=success,
            total_requests_5min=100,
            last_transition_ts=changed_at,
            name=name,
        )
        self.store.apply(CircuitChanged("sim", circuit))

    def columns_changed(self) -> set[int]:
        return {c for _, _, first, last in self.changes for c in range(first, last + 1)}


@pytest.fixture
def ui(qapp, qtbot) -> Iterator[Harness]:
    harness = Harness(qapp, qtbot)
    yield harness
    harness.close()


def test_the_timer_sleeps_while_nothing_is_owed_and_news_wakes_it(qloop, ui) -> None:
    scheduler = ui.scheduler

    async def scenario() -> None:
        scheduler.start()
        # No circuits, nothing dirty after the first refresh: nothing to tick for.
        await wait_until(lambda: scheduler.sleeps >= 1, 5, "the scheduler went to sleep")
        assert not scheduler.ticking
        asleep_at = scheduler.ticks
        ui.store.apply(ConnectionChanged("sim", LIVE))
        ui.circuit("payment-service", 0.99)
        assert scheduler.ticking, "news did not wake the timer"
        await wait_until(lambda: ui.panel.model.rowCount() == 1, 5, "the circuit listed")
        assert scheduler.ticks > asleep_at
        # A waiter for frames is served although only an age is left to tick for.
        ticks = scheduler.ticks
        await scheduler.frames(3)
        assert scheduler.ticks >= ticks + 3
        ui.panel.hide()  # hidden docks cost nothing: asleep again
        await wait_until(lambda: not scheduler.ticking, 5, "asleep with the panel hidden")

    qloop.run(scenario(), timeout=20)


def test_an_age_that_ticks_repaints_only_its_cells_never_the_sparklines(ui) -> None:
    ui.store.apply(ConnectionChanged("sim", LIVE))
    for name, success in (("payment-service", 0.99), ("user-service", 0.97)):
        ui.circuit(name, success)
        ui.circuit(name, success - 0.01)  # two points: a sparkline to draw
    ui.refresh()
    model = ui.panel.model
    assert model.rowCount() == 2
    since, spark = model.column_of("since"), model.column_of("spark")
    assert model.text(0, "since") == "30 s"

    # Nothing changed: no signal at all.
    ui.changes.clear()
    ui.refresh()
    assert ui.changes == []

    # One second later only the "Since" texts differ: that column, both rows, nothing else.
    ui.wall[0] += 1
    ui.refresh()
    assert model.text(0, "since") == "31 s"
    assert ui.changes, "the ages that moved were not announced"
    assert ui.columns_changed() == {since}
    assert {r for first, last, _, _ in ui.changes for r in range(first, last + 1)} == {0, 1}

    # A new rate for one circuit: its success text and its sparkline, in its row only.
    ui.changes.clear()
    ui.circuit("user-service", 0.90)
    ui.refresh()
    row = model.row_of("sim", "user-service")
    assert ui.columns_changed() == {model.column_of("success"), spark}
    assert {(first, last) for first, last, _, _ in ui.changes} == {(row, row)}

"""What wakes an idle console: the status bar only when its words change, time-driven refreshes
on one shared grid, and nothing for a panel hidden behind another."""

from __future__ import annotations

import time

import pytest
from PySide6.QtWidgets import QWidget

from opsconsole.core.events import ConnectionChanged
from opsconsole.core.models import ConnectionState, LinkStatus, Transport
from opsconsole.core.store import Store
from opsconsole.ui.context import ConsoleStats, Selection, UiContext
from opsconsole.ui.panel import TIME_POLL_S, Panel
from opsconsole.ui.repaint import RepaintScheduler
from opsconsole.ui.statusbar import BackendStatusBar, next_age_change


def test_age_words_change_on_whole_seconds_tenths_only_when_precise() -> None:
    assert next_age_change(12.3, precise=False) == pytest.approx(0.7)
    assert next_age_change(4.23, precise=True) == pytest.approx(0.07)
    assert next_age_change(4.23, precise=False) == pytest.approx(0.77)
    assert next_age_change(3700.0, precise=False) == pytest.approx(20.0)  # "1 h 01 min"


def test_a_stale_status_bar_asks_again_when_its_age_next_reads_differently(qtbot) -> None:
    store = Store(capacity=10, clock=time.monotonic)
    ctx = UiContext(store, Selection())
    bar = BackendStatusBar(ctx)
    qtbot.addWidget(bar)
    bar.show()
    store.apply(ConnectionChanged("b", LinkStatus(ConnectionState.STALE, Transport.WEBSOCKET)))
    store.backend("b").data_mono = time.monotonic() - 12.3  # data 12.3 s old
    now = time.monotonic()
    bar.run_refresh(now)
    assert "STALE 12 s" in bar.text_for("b")
    due = bar.next_tick(now)
    assert 0.6 < due - now < 0.75  # when "12 s" turns "13 s", not a poll in between
    assert not bar.needs_refresh()
    qtbot.waitUntil(bar.needs_refresh, timeout=2000)
    bar.run_refresh(time.monotonic())
    assert "STALE 13 s" in bar.text_for("b")


class Ticking(Panel):
    """A panel whose words move with time alone (as an age does)."""

    wants_tick = True

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.refreshed_at: list[float] = []

    def refresh(self, now: float) -> None:
        self.refreshed_at.append(now)


def test_time_driven_refreshes_share_one_grid_and_hidden_panels_sleep(qtbot) -> None:
    ctx = UiContext(Store(capacity=10), Selection())
    host = QWidget()
    qtbot.addWidget(host)
    host.resize(300, 200)
    first, second = Ticking(ctx, host), Ticking(ctx, host)
    for panel in (first, second):
        panel.setGeometry(0, 0, 300, 200)
    host.show()
    scheduler = RepaintScheduler(ConsoleStats())
    scheduler.add([first, second])
    scheduler.start()
    try:
        # `second` lies over `first`, opaque, as a dock tab in front of another.
        second.setAutoFillBackground(True)
        second.raise_()
        assert first.isVisible() and not first.in_sight() and second.in_sight()
        assert not first.needs_refresh()  # owed its first refresh, but nobody can see it
        qtbot.waitUntil(lambda: len(second.refreshed_at) >= 4, timeout=5000)
        ticks = second.refreshed_at[1:]  # after the first, on the grid
        assert all(t / TIME_POLL_S == pytest.approx(round(t / TIME_POLL_S)) for t in ticks)
        assert first.refreshed_at == []  # behind: never refreshed
    finally:
        scheduler.stop()

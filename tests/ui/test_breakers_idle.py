"""Breakers refresh when an age they show next reads differently: once a second, not twice."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from opsconsole.core.events import ConnectionChanged, SnapshotLoaded
from opsconsole.core.models import Circuit, ConnectionState, LinkStatus, Transport
from opsconsole.ui.panels.breakers import BreakersPanel
from tests.support.panels import PanelHarness

LIVE = LinkStatus(ConnectionState.LIVE, Transport.WEBSOCKET)
STALE = LinkStatus(ConnectionState.STALE, Transport.WEBSOCKET)


@pytest.fixture
def ui(qapp, qtbot) -> Iterator[PanelHarness]:
    harness = PanelHarness(qapp, qtbot)
    yield harness
    harness.close()


def circuit(state: str, since_s: float | None) -> Circuit:
    return Circuit(
        name="inventory-service",
        state=state,
        failure_threshold=3,
        timeout_s=30.0,
        success_rate=0.99,
        total_requests_5min=100,
        last_transition_ts=None if since_s is None else time.time() - since_s,
    )


def shown(ui: PanelHarness, panel: BreakersPanel, link: LinkStatus, c: Circuit) -> None:
    ui.store.apply(SnapshotLoaded("sim", (), (c,), (), (), ts=1.0))
    ui.store.apply(ConnectionChanged("sim", link))


def test_a_stale_age_is_due_on_its_next_second(ui, qtbot) -> None:
    panel = ui.show(BreakersPanel(ui.ctx), (900, 300))
    shown(ui, panel, STALE, circuit("closed", 100.0))
    ui.store.backend("sim").data_mono = time.monotonic() - 12.3
    now = time.monotonic()
    panel.run_refresh(now)
    assert panel.text("sim", "inventory-service", "half_open_in") == "STALE 12 s"
    due = panel.next_tick(now)
    assert 0.6 < due - now < 0.75, "not when '12 s' turns '13 s'"  # was every half second
    qtbot.waitUntil(panel.needs_refresh, timeout=2000)
    panel.run_refresh(time.monotonic())
    assert panel.text("sim", "inventory-service", "half_open_in") == "STALE 13 s"


def test_a_live_since_is_due_on_its_next_second(ui) -> None:
    panel = ui.show(BreakersPanel(ui.ctx), (900, 300))
    shown(ui, panel, LIVE, circuit("closed", 40.7))
    now = time.monotonic()
    panel.run_refresh(now)
    assert panel.text("sim", "inventory-service", "since") == "40 s"
    assert 0.2 < panel.next_tick(now) - now < 0.35


def test_an_open_breaker_still_counts_down_in_tenths(ui) -> None:
    panel = ui.show(BreakersPanel(ui.ctx), (900, 300))
    shown(ui, panel, LIVE, circuit("open", 3.0))
    now = time.monotonic()
    panel.run_refresh(now)
    assert panel.next_tick(now) - now <= 0.11


def test_nothing_that_ticks_waits_for_news(ui) -> None:
    panel = ui.show(BreakersPanel(ui.ctx), (900, 300))
    shown(ui, panel, LIVE, circuit("closed", None))
    now = time.monotonic()
    panel.run_refresh(now)
    assert panel.next_tick(now) == float("inf")

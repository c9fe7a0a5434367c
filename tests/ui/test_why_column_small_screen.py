"""At 1366×768 the services panel still shows why a service is unhealthy, without scrolling."""

from __future__ import annotations

from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.core.store import Store
from tests.support.console import make_console, show
from tests.support.waiting import wait_until

#: Enough of the Why text to read the start of a reason ("p99 412 ms > 300 ms").
READABLE_PX = 120


def test_the_why_column_is_on_screen_in_a_1366x768_window(qtbot, qloop, tmp_path, sim_thread):
    sim = sim_thread()
    store = Store(capacity=600)
    client = OpsApiClient("sim", sim.url, store.apply)
    console, _ui = make_console(tmp_path, {"sim": client}, store)
    window = console.window
    window.resize(1366, 740)  # a 1366×768 laptop's work area
    show(qtbot, window)
    panel = window.services

    async def scenario() -> None:
        client.start()
        try:
            await wait_until(lambda: panel.model.rowCount() >= 8, 10, "the services listed")
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=30)
    qtbot.waitUntil(lambda: window.width() == 1366, timeout=5000)
    header = panel.view.horizontalHeader()
    why = next(i for i, c in enumerate(panel.model.columns) if c.key == "why")
    left = header.sectionViewportPosition(why)
    visible = min(header.sectionSize(why), panel.view.viewport().width() - left)
    assert not header.isSectionHidden(why)
    assert left >= 0 and visible >= READABLE_PX, (left, header.sectionSize(why), visible)
    console.close()

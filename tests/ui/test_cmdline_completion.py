"""Tab in the `:` line over a live backend: who may take over, and alerts by name and state."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt

from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.core.store import Store
from tests.support.console import focus_clusters, key, make_console, show, type_text, wait_live
from tests.support.waiting import wait_until

UNITS = {"B": 1, "KiB": 1024}


@pytest.fixture
def live(qtbot, tmp_path, sim_thread):
    # Fast enough that an error burst pages within about a second.
    sim = sim_thread(time_scale=120)
    store = Store(capacity=600)
    client = OpsApiClient("sim", sim.url, store.apply)
    built, ui = make_console(tmp_path, {"sim": client}, store)
    show(qtbot, built.window)
    yield built, ui
    built.close()


def test_tab_offers_replicas_by_lag_and_alerts_by_name(live, qloop, qtbot):
    console, ui = live
    store, client, line = console.ctx.store, console.clients["sim"], ui.command_line

    async def scenario() -> None:
        client.start()
        try:
            await wait_live(console)
            focus_clusters(qtbot, console.window)
            key(qtbot, ":")
            type_text(qtbot, "failover orders-db  ")  # two spaces, as fingers do
            seen = []
            for _ in range(3):
                key(qtbot, Qt.Key.Key_Tab)
                seen.append(line.edit.text())
            # One space before the member; every replica offered once, never the primary.
            assert sorted(seen) == [f"failover orders-db replica-{n}" for n in (1, 2, 3)]
            shown = line.message.text()
            assert "primary-db" not in shown
            # Least lag first, as the lags read when Tab was pressed.
            sizes = re.findall(r"lag ([\d.]+) (B|KiB)", shown)
            lags = [float(size) * UNITS[unit] for size, unit in sizes]
            assert len(lags) == 3 and lags == sorted(lags)
            key(qtbot, Qt.Key.Key_Escape)

            await client.scenario("error_burst", "payments")
            await wait_until(
                lambda: any(
                    a.service == "payments" and a.state == "firing"
                    for a in store.backend("sim").alerts.values()
                ),
                20,
                "a page for payments",
            )
            alert = next(
                a
                for a in store.backend("sim").alerts.values()
                if a.service == "payments" and a.state == "firing"
            )
            key(qtbot, ":")
            type_text(qtbot, f"ack {alert.rule[:3]}")
            key(qtbot, Qt.Key.Key_Tab)
            # The id goes in the line (what `ack` takes); the name and state are shown.
            assert line.edit.text() == f"ack {alert.id} "
            assert line.message.text() == f"{alert.id} {alert.rule} firing · payments"
            key(qtbot, Qt.Key.Key_Escape)
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=60)

"""A whole incident by keyboard only, against the real reference backend (issue: keyboard)."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.core.audit import verify
from opsconsole.core.store import Store
from tests.support.console import (
    back_from_dialog,
    command_line,
    confirm_by_typing,
    key,
    make_console,
    open_dialog,
    show,
    type_text,
    wait_live,
)
from tests.support.waiting import wait_until


@pytest.fixture
def demo_console(qtbot, tmp_path, sim_thread):
    sim = sim_thread(time_scale=30)
    store = Store(capacity=600)
    client = OpsApiClient("sim", sim.url, store.apply)
    built, _ = make_console(tmp_path, {"sim": client}, store, demo=True)
    show(qtbot, built.window)
    yield built
    built.close()


def test_primary_down_incident_handled_without_the_mouse(demo_console, qloop, qtbot):
    console = demo_console
    window, store, client = console.window, console.ctx.store, console.clients["sim"]
    state = store.backend("sim")

    async def incident() -> None:
        client.start()
        try:
            await wait_live(console)
            # The incident: the database primary dies while payments throws errors.
            command_line(qtbot, window, "scenario primary_down")
            command_line(qtbot, window, "scenario error_burst payments")
            await wait_until(
                lambda: state.clusters["orders-db"].primary != "primary-db",
                10,
                "the failover manager to promote a replica",
            )
            await wait_until(
                lambda: any(
                    a.state == "firing" and a.service == "payments" for a in state.alerts.values()
                ),
                20,
                "a page for payments",
            )
            alert = next(
                a for a in state.alerts.values() if a.state == "firing" and a.service == "payments"
            )

            # Alt+N opens the alerts panel; the firing page is listed first.
            n = window.panels.index(window.alerts) + 1
            key(qtbot, getattr(Qt.Key, f"Key_{n}"), Qt.KeyboardModifier.AltModifier)
            assert window.alerts.isVisible()
            # A dock brought forward catches up on its next frame.
            await wait_until(lambda: window.alerts.visible_keys(), 2, "the alerts listed")
            assert window.alerts.visible_keys()[0] == ("sim", alert.id)

            # Acknowledge it from the command line, the id completed with Tab.
            window.activateWindow()
            key(qtbot, ":")
            type_text(qtbot, "ack " + alert.id[:4])
            key(qtbot, Qt.Key.Key_Tab)
            assert window.keyboard.command_line.edit.text().startswith(f"ack {alert.id}")
            key(qtbot, Qt.Key.Key_Return)
            await wait_until(lambda: open_dialog(window) is not None, 5, "ack confirmation")
            key(qtbot, Qt.Key.Key_Return)  # confirm tier: Enter
            await wait_until(lambda: state.alerts[alert.id].acked_by, 10, "the ack")

            # Now move the primary where the operator wants it: a dangerous, typed failover.
            target = (
                "replica-2" if state.clusters["orders-db"].primary != "replica-2" else ("replica-3")
            )
            await back_from_dialog(window)
            command_line(qtbot, window, f"failover orders-db {target}")
            await confirm_by_typing(qtbot, window, target)  # the member taking over
            await wait_until(
                lambda: state.clusters["orders-db"].primary == target, 15, f"{target} primary"
            )

            # The backend, the audit log and the timeline all show it.
            assert (await client.clusters()).clusters[0].primary == target
            records = [json.loads(x) for x in console.audit.path.read_text().splitlines()]
            assert [(r["command"], r["phase"]) for r in records] == [
                ("alert.ack", "intent"),
                ("alert.ack", "result"),
                ("db.failover", "intent"),
                ("db.failover", "result"),
            ]
            assert records[-1]["outcome"] == "succeeded"
            assert verify(console.audit.path).ok
            await wait_until(
                lambda: any(
                    "db.failover orders-db: succeeded" in e.message
                    for e in console.timeline.recent(100, kinds=["action"])
                ),
                5,
                "the failover on the timeline",
            )
            lines = [e.message for e in console.timeline.recent(200)]
            assert any("ack" in m.lower() and "succeeded" in m for m in lines)
            assert any("promoted" in m for m in lines)
        finally:
            await client.aclose()

    qloop.run(incident(), timeout=90)

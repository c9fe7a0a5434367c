"""Operator actions from the window: the real dialog, typed names, audit, timeline, live state."""

from __future__ import annotations

import json
import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel

from opsconsole.app.wiring import build_console
from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.core.actions import STATUS_LIFETIME_S
from opsconsole.core.audit import verify
from opsconsole.core.eligibility import human_bytes
from opsconsole.core.models import ConnectionState
from opsconsole.core.store import Store
from opsconsole.ui.confirm import ConfirmDialog
from opsconsole.ui.context import Selection, UiContext
from tests.support.tcpproxy import FaultProxy
from tests.support.waiting import wait_until


@pytest.fixture
def console(qtbot, tmp_path, sim_thread):
    sim = sim_thread(time_scale=20)
    store = Store(capacity=600)
    ctx = UiContext(store, Selection())
    client = OpsApiClient("sim", sim.url, store.apply)
    built = build_console(
        ctx,
        {"sim": client},
        audit_path=tmp_path / "audit.jsonl",
        timeline_path=tmp_path / "timeline.sqlite3",
        outcome_timeout_s=15,
    )
    qtbot.addWidget(built.window)
    built.window.show()
    built.window.start()
    yield built
    built.close()


def breaker_state(window, name: str) -> str:
    """The breakers panel's state cell, "" while its row is not drawn yet (a refresh away)."""
    try:
        return window.breakers.text("sim", name, "state")
    except KeyError:
        return ""


def open_dialog(window) -> ConfirmDialog | None:
    dialogs = [d for d in window.findChildren(ConfirmDialog) if d.isVisible()]
    return dialogs[-1] if dialogs else None


def test_force_open_needs_the_typed_name_and_lands_everywhere(console, qloop, qtbot):
    window, store = console.window, console.ctx.store
    client = console.clients["sim"]

    async def scenario() -> None:
        client.start()
        try:
            await wait_until(lambda: client.status.state is ConnectionState.LIVE, 10, "LIVE")
            await wait_until(
                lambda: "payment-service" in store.backend("sim").circuits, 5, "circuits"
            )
            task = console.ctx.commands.run(
                "breaker.force_open", backend="sim", name="payment-service"
            )
            await wait_until(lambda: open_dialog(window) is not None, 5, "the confirmation")
            dialog = open_dialog(window)
            assert QApplication.focusWidget() is dialog.name_edit  # focus at once
            qtbot.keyClicks(dialog.name_edit, "payment")  # not the name yet
            qtbot.keyClick(dialog.name_edit, Qt.Key.Key_Return)
            assert dialog.isVisible() and not task.done()  # Enter alone does nothing
            assert not console.audit.path.exists()  # and nothing was sent or audited
            qtbot.keyClicks(dialog.name_edit, "-service")
            qtbot.keyClick(dialog.name_edit, Qt.Key.Key_Return)
            result = await task
            assert result.ok and result.message == "payment-service is forced open"
            assert (await client.circuits()).circuits["payment-service"].state == "forced_open"
            await wait_until(
                lambda: "forced" in breaker_state(window, "payment-service"),
                5,
                "the breakers panel to show it",
            )
            assert "forced open" in window.last_action.text()
            assert verify(console.audit.path).ok
            lines = [e.message for e in console.timeline.recent(50, kinds=["action"])]
            assert any("breaker.force_open payment-service: succeeded" in m for m in lines)
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=60)


def test_escape_cancels_and_sends_nothing(console, qloop, qtbot):
    window, store = console.window, console.ctx.store
    client = console.clients["sim"]

    async def scenario() -> None:
        client.start()
        try:
            await wait_until(
                lambda: (
                    "orders-db" in store.backend("sim").clusters
                    and client.status.state is ConnectionState.LIVE
                ),
                10,
                "clusters",
            )
            task = console.ctx.commands.run(
                "db.switchover", backend="sim", cluster="orders-db", member="replica-1"
            )
            await wait_until(lambda: open_dialog(window) is not None, 5, "the confirmation")
            dialog = open_dialog(window)
            assert QApplication.focusWidget() is dialog.ok_button  # confirm tier: Enter
            qtbot.keyClick(dialog, Qt.Key.Key_Escape)
            result = await task
            assert result.status == "cancelled"
            assert not console.audit.path.exists()
            assert (await client.clusters()).clusters[0].primary == "primary-db"
            assert "cancelled" in window.last_action.text()
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=60)


def test_switchover_confirmed_with_enter_is_watched_to_the_end(console, qloop, qtbot):
    window, store = console.window, console.ctx.store
    client = console.clients["sim"]

    async def scenario() -> None:
        client.start()
        try:
            await wait_until(
                lambda: (
                    "orders-db" in store.backend("sim").clusters
                    and client.status.state is ConnectionState.LIVE
                ),
                10,
                "clusters",
            )
            task = console.ctx.commands.run(
                "db.switchover", backend="sim", cluster="orders-db", member="replica-1"
            )
            await wait_until(lambda: open_dialog(window) is not None, 5, "the confirmation")
            qtbot.keyClick(open_dialog(window).ok_button, Qt.Key.Key_Return)
            result = await task
            assert result.ok and result.message == "replica-1 is primary, timeline 2"
            assert store.backend("sim").clusters["orders-db"].primary == "replica-1"
            assert "replica-1 is primary, timeline 2" in window.last_action.text()
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=60)


def test_failover_shows_the_member_and_its_lag_and_wants_the_member_typed(console, qloop, qtbot):
    window, store = console.window, console.ctx.store
    client = console.clients["sim"]

    async def scenario() -> None:
        client.start()
        try:
            await wait_until(
                lambda: (
                    "orders-db" in store.backend("sim").clusters
                    and client.status.state is ConnectionState.LIVE
                ),
                10,
                "clusters",
            )
            task = console.ctx.commands.run(
                "db.failover", backend="sim", cluster="orders-db", member="replica-2"
            )
            await wait_until(lambda: open_dialog(window) is not None, 5, "the confirmation")
            dialog = open_dialog(window)
            stakes = dialog.intent.stakes
            assert stakes is not None and stakes.member == "replica-2" and stakes.lag_bytes > 0
            lag = human_bytes(stakes.lag_bytes)
            assert dialog.headline.text() == (
                f"Fail over orders-db to replica-2 (lag {lag}: up to {lag} of committed writes "
                "may be lost) on sim."
            )
            assert "replica-2" in dialog.findChild(QLabel, "confirm_prompt").text()
            # The cluster's name no longer confirms a failover: the member's does.
            qtbot.keyClicks(dialog.name_edit, "orders-db")
            qtbot.keyClick(dialog.name_edit, Qt.Key.Key_Return)
            assert dialog.isVisible() and not dialog.ok_button.isEnabled()
            assert not console.audit.path.exists()
            dialog.name_edit.clear()
            qtbot.keyClicks(dialog.name_edit, "replica-2")
            qtbot.keyClick(dialog.name_edit, Qt.Key.Key_Return)
            result = await task
            assert result.ok and result.message == "replica-2 is primary, timeline 2"
            assert (await client.clusters()).clusters[0].primary == "replica-2"
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=60)


def test_a_blocked_action_reads_once_and_the_last_action_leaves_the_status_bar(
    console, qloop, qtbot, monkeypatch
):
    window, store = console.window, console.ctx.store
    client = console.clients["sim"]
    # Seconds instead of minutes, so the test sees the words go.
    monkeypatch.setitem(STATUS_LIFETIME_S, "cancelled", 0.3)

    async def scenario() -> None:
        client.start()
        try:
            await wait_until(
                lambda: (
                    "orders-db" in store.backend("sim").clusters
                    and client.status.state is ConnectionState.LIVE
                ),
                10,
                "clusters",
            )
            result = await console.ctx.commands.run(
                "db.switchover", backend="sim", cluster="orders-db", member="primary-db"
            )
            assert result.status == "blocked"
            text = window.last_action.text()
            assert text == (
                "switch over orders-db to primary-db on sim: blocked — "
                "primary-db cannot take over: is already primary"
            )
            assert text.count("blocked") == 1
            # Shown once: no temporary message repeating it beside the label.
            assert window.statusBar().currentMessage() == ""
            [record] = [json.loads(x) for x in console.audit.path.read_text().splitlines()]
            assert record["phase"] == "refused" and record["rules"] == ["candidate-eligible"]

            task = console.ctx.commands.run(
                "db.switchover", backend="sim", cluster="orders-db", member="replica-1"
            )
            await wait_until(lambda: open_dialog(window) is not None, 5, "the confirmation")
            qtbot.keyClick(open_dialog(window), Qt.Key.Key_Escape)
            assert (await task).status == "cancelled"
            assert "cancelled" in window.last_action.text()
            await wait_until(lambda: window.last_action.text() == "", 5, "the words to go")
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=60)


def test_an_outcome_seen_while_blind_reads_unknown_then_settles(qtbot, qloop, tmp_path, sim_thread):
    """The link dies as the operator confirms: the status bar, the timeline and the audit log
    say "unknown" (never "no change"), then the settled result once the link is back."""
    sim = sim_thread(time_scale=20)
    store = Store(capacity=600)
    proxy = FaultProxy("127.0.0.1", int(sim.url.rsplit(":", 1)[1]))
    qloop.run(proxy.start())
    # The console's view goes through the proxy; its requests go straight to the backend,
    # so a cut link hides what the request did instead of stopping it.
    client = OpsApiClient("sim", proxy.url, store.apply)
    rest = OpsApiClient("sim", sim.url, lambda e: None)
    built = build_console(
        UiContext(store, Selection()),
        {"sim": client},
        audit_path=tmp_path / "audit.jsonl",
        timeline_path=tmp_path / "timeline.sqlite3",
        outcome_timeout_s=6,  # the link reads STALE after 3 s without a frame
    )
    qtbot.addWidget(built.window)
    built.window.show()
    built.window.start()
    window = built.window

    def audit() -> list[tuple[str, str | None]]:
        lines = built.audit.path.read_text().splitlines() if built.audit.path.exists() else []
        return [(r["phase"], r.get("outcome")) for r in map(json.loads, lines)]

    def actions() -> list[str]:
        return [e.message for e in built.timeline.recent(50, kinds=["action"])]

    built.runner.clients = {"sim": rest}

    async def scenario() -> None:
        client.start()
        try:
            await wait_until(
                lambda: (
                    client.status.state is ConnectionState.LIVE
                    and "payment-service" in store.backend("sim").circuits
                ),
                10,
                "circuits",
            )
            task = built.ctx.commands.run(
                "breaker.force_open", backend="sim", name="payment-service"
            )
            await wait_until(lambda: open_dialog(window) is not None, 5, "the confirmation")
            dialog = open_dialog(window)
            proxy.silence_existing()  # the link dies as the operator confirms
            proxy.new_links_silent = True
            qtbot.keyClicks(dialog.name_edit, "payment-service")
            qtbot.keyClick(dialog.name_edit, Qt.Key.Key_Return)
            result = await task
            assert result.status == "unknown", result.message
            assert (await rest.circuits()).circuits["payment-service"].state == "forced_open"
            assert re.fullmatch(
                r"force open payment-service on sim: unknown — the link to sim has been down "
                r"since \d\d:\d\d:\d\d; will settle when it is back",
                window.last_action.text(),
            )
            assert audit() == [("intent", None), ("result", "unknown")]
            assert any("payment-service: unknown — the link to sim" in m for m in actions())

            proxy.new_links_silent = False
            proxy.reset_all()  # the link comes back
            await wait_until(lambda: len(audit()) == 3, 20, "the settled result")
            assert audit()[-1] == ("settled", "succeeded")
            assert re.fullmatch(
                r"force open payment-service on sim: succeeded — payment-service is forced "
                r"open \(seen after the link came back at \d\d:\d\d:\d\d\)",
                window.last_action.text(),
            )
            assert any(
                "payment-service: succeeded — payment-service is forced open (seen after" in m
                for m in actions()
            )
            assert verify(built.audit.path).ok
        finally:
            await client.aclose()
            await rest.aclose()
            await proxy.stop()

    try:
        qloop.run(scenario(), timeout=60)
    finally:
        built.close()

"""After a bad deploy: `:assess orders` says ROLLBACK, R asks to roll back, the state shows it."""

from __future__ import annotations

import json
import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.core.deploydecision import decide
from opsconsole.core.slo.assess import Recommendation
from opsconsole.core.store import Store
from opsconsole.ui.assess import AssessmentCard
from tests.support.console import key, make_console, open_dialog, show, type_text, wait_live
from tests.support.waiting import wait_until

# A simulated hour takes 6 s; SLO counts are read twice a second (5 simulated minutes).
TIME_SCALE = 600


@pytest.fixture
def live(qtbot, tmp_path, sim_thread):
    sim = sim_thread(time_scale=TIME_SCALE)
    store = Store(capacity=600)
    client = OpsApiClient("sim", sim.url, store.apply, slo_every_s=0.5)
    built, ui = make_console(tmp_path, {"sim": client}, store)
    show(qtbot, built.window)
    yield built, ui, tmp_path
    built.close()


def visible_card(window) -> AssessmentCard | None:
    cards = [c for c in window.findChildren(AssessmentCard) if c.isVisible()]
    return cards[-1] if cards else None


def test_bad_deploy_assessed_rollback_one_key_away_and_seen_live(live, qloop, qtbot):
    console, _ui, tmp_path = live
    store, client, window = console.ctx.store, console.clients["sim"], console.window

    def recommendation() -> Recommendation | None:
        decision = decide(store.backend("sim"), "orders")
        return None if isinstance(decision, str) else decision.assessment.recommendation

    async def scenario() -> None:
        client.start()
        try:
            await wait_live(console)
            await wait_until(lambda: bool(store.backend("sim").deploys), 10, "the deploy log")
            running = store.backend("sim").services["orders"].version
            await client.scenario("bad_deploy", "orders")

            def newest_orders_deploy():
                orders = [d for d in store.backend("sim").deploys if d.service == "orders"]
                return orders[-1] if orders else None

            # The seeded log may still be arriving beside the deploy event: wait for orders'
            # own new deploy, not for any new entry.
            await wait_until(
                lambda: (d := newest_orders_deploy()) is not None and d.prev_version == running,
                10,
                "the deploy event",
            )
            bad = newest_orders_deploy()
            assert bad is not None and bad.version != running
            # Within a simulated hour or two (about 10 s here) the decision is made.
            await wait_until(
                lambda: recommendation() is Recommendation.ROLLBACK, 20, "ROLLBACK for orders"
            )

            # Typed on the command line, as an operator would.
            window.activateWindow()
            key(qtbot, ":")
            type_text(qtbot, "assess orders")
            key(qtbot, Qt.Key.Key_Return)
            await wait_until(lambda: visible_card(window) is not None, 5, "the assessment card")
            card = visible_card(window)
            assert card.headline.text() == f"orders {bad.version}: ROLLBACK"
            assert card.markdown.startswith(
                f"### Deploy assessment: orders {bad.version} (was {bad.prev_version})"
            )
            assert card.rollback_button is not None
            card.copy_button.click()
            assert QApplication.clipboard().text() == card.markdown
            # On the timeline, with the inputs.
            entries = console.timeline.recent()
            assessed = [e for e in entries if e.message.startswith("assessed orders")]
            assert assessed and assessed[-1].data["recommendation"] == "ROLLBACK"

            # R: the rollback, still confirmed by the pipeline.
            card.activateWindow()
            await wait_until(card.isActiveWindow, 5, "the card active")
            qtbot.keyClick(card, "r")
            await wait_until(lambda: open_dialog(window) is not None, 5, "the confirmation")
            dialog = open_dialog(window)
            assert dialog.headline.text() == "Roll back orders to its previous version on sim."
            dialog.accept()
            await wait_until(
                lambda: "orders back on" in window.last_action.text(), 20, "the outcome"
            )
            text = window.last_action.text()
            assert re.search(rf"orders back on {bad.prev_version}, error rate [\d.]+ %", text)
            newest = newest_orders_deploy()
            assert newest is not None and newest.version == bad.prev_version
            records = [
                json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()
            ]
            rollback = [r for r in records if r["command"] == "deploy.rollback"]
            assert [r["phase"] for r in rollback] == ["intent", "result"]
            assert rollback[-1]["outcome"] == "succeeded"
            actions = [e for e in console.timeline.recent() if e.kind == "action"]
            assert any(e.data.get("command") == "deploy.rollback" for e in actions)
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=90)


def test_the_palette_offers_rollback_and_assess_with_services(live, qloop, qtbot):
    console, ui, _ = live
    client = console.clients["sim"]

    async def scenario() -> None:
        client.start()
        try:
            await wait_live(console)
            key(qtbot, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
            type_text(qtbot, "roll back")
            row = ui.palette.current_row()
            assert row is not None and row.value == "deploy.rollback" and row.enabled
            key(qtbot, Qt.Key.Key_Return)
            await wait_until(lambda: ui.palette.step is not None, 5, "the service step")
            services = {r.value: r for r in ui.palette.rows()}
            assert "orders" in services and services["orders"].detail
            key(qtbot, Qt.Key.Key_Escape)
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=60)

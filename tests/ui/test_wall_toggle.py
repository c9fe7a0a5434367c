"""`:wall` from the desktop window: read-only while up, Esc back to the desk."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.core.commands import CommandError
from opsconsole.core.store import Store
from tests.support.console import key, make_console, show, type_text, wait_live
from tests.support.waiting import wait_until


@pytest.fixture
def desk(qtbot, tmp_path, sim_thread):
    sim = sim_thread(time_scale=20)
    store = Store(capacity=600)
    client = OpsApiClient("sim", sim.url, store.apply)
    built, _ = make_console(tmp_path, {"sim": client}, store)
    show(qtbot, built.window)
    yield built
    if built.walls.active:
        built.walls.mode.leave()
    built.close()


def test_wall_toggles_from_the_command_line_and_refuses_actions(desk, qloop, qtbot):
    window, client = desk.window, desk.clients["sim"]

    async def scenario() -> None:
        client.start()
        try:
            await wait_live(desk)
            key(qtbot, ":")
            type_text(qtbot, "wall")
            key(qtbot, Qt.Key.Key_Return)
            await wait_until(lambda: desk.walls.active, 5, "wall mode")
            assert not window.isVisible() and desk.runner.read_only
            with pytest.raises(CommandError, match="read-only wall display"):
                desk.ctx.commands.run("breaker.force_open", backend="sim", name="inventory-service")
            assert (await client.circuits()).circuits["inventory-service"].state == "closed"
            qtbot.keyClick(desk.walls.mode.view, Qt.Key.Key_Escape)
            await wait_until(lambda: not desk.walls.active, 5, "back at the desk")
            assert window.isVisible() and not desk.runner.read_only
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=60)


def test_wall_with_a_saved_layout_is_fullscreen_read_only_and_escapable(desk, qloop, qtbot):
    window, client = desk.window, desk.clients["sim"]
    window.docks["console_health"].close()
    window.save_layout("noc")  # an operator's own arrangement, saved by name

    async def scenario() -> None:
        client.start()
        try:
            await wait_live(desk)
            wall = desk.walls.enter_layout("noc")
            screen = window.screen().geometry()
            await wait_until(lambda: window.geometry() == screen, 5, "fullscreen")
            assert not window.menuBar().isVisible()
            assert not window.docks["console_health"].isVisible()  # the saved layout
            assert desk.runner.read_only
            with pytest.raises(CommandError, match="read-only wall display"):
                desk.ctx.commands.run(
                    "db.read_only", backend="sim", cluster="orders-db", enabled=True
                )
            # Said where the layout wall shows words: its status bar, never a dialog.
            refusal = "read-only wall display: "
            assert window.statusBar().currentMessage().startswith(refusal)
            window.statusBar().clearMessage()
            # The same through the one command runner every entry point uses.
            assert desk.ctx.runner.run("breaker.force_open", source="keys") is None
            problem = desk.ctx.runner.last_problem
            assert problem is not None and problem.kind == "refused"
            assert problem.words.startswith(refusal)
            assert window.statusBar().currentMessage() == problem.words
            qtbot.keyClick(window, Qt.Key.Key_Escape)
            await wait_until(lambda: not wall.active, 5, "left the wall")
            assert window.menuBar().isVisible() and not desk.runner.read_only
            assert desk.ctx.commands.refusal(desk.ctx.commands.get("db.read_only")) is None
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=60)

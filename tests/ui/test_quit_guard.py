"""Quitting while an action is on its way asks first; Enter keeps the console open."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from opsconsole.app.window import guard_quit
from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.core.store import Store
from opsconsole.ui.quitguard import QuitDialog
from tests.support.console import (
    back_from_dialog,
    focused,
    key,
    make_console,
    open_dialog,
    show,
    wait_live,
)
from tests.support.waiting import wait_until


@pytest.fixture
def slow(qapp, qtbot, tmp_path, sim_thread):
    """A real backend whose switchover completes 20 s after it is accepted (time_scale 0.05)."""
    # As the app runs it: the loop ends with the app's shutdown, not with the last window.
    qapp.setQuitOnLastWindowClosed(False)
    sim = sim_thread(time_scale=0.05)
    store = Store(capacity=600)
    client = OpsApiClient("sim", sim.url, store.apply)
    console, _ui = make_console(tmp_path, {"sim": client}, store)
    guard = guard_quit(console)  # what the app installs on its window
    show(qtbot, console.window)
    yield console, guard
    guard.release()
    console.close()
    qapp.setQuitOnLastWindowClosed(True)


def quit_dialog(window) -> QuitDialog | None:
    shown = [d for d in window.findChildren(QuitDialog) if d.isVisible()]
    return shown[-1] if shown else None


def test_quit_with_a_switchover_on_its_way_asks_and_enter_keeps_the_console(slow, qloop, qtbot):
    console, _guard = slow
    window, client = console.window, console.clients["sim"]
    closed: list[bool] = []
    window.closed.connect(lambda: closed.append(True))

    async def scenario() -> None:
        client.start()
        try:
            await wait_live(console)
            task = console.ctx.commands.run(
                "db.switchover", backend="sim", cluster="orders-db", member="replica-1"
            )
            await wait_until(lambda: open_dialog(window) is not None, 5, "the confirmation")
            key(qtbot, Qt.Key.Key_Return)  # switchover: Enter confirms
            await wait_until(
                lambda: (
                    console.audit.path.exists()
                    and '"intent"' in console.audit.path.read_text(encoding="utf-8")
                ),
                5,
                "the switchover sent",
            )
            assert not task.done() and console.runner.in_flight
            await back_from_dialog(window)

            key(qtbot, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
            await wait_until(lambda: quit_dialog(window) is not None, 5, "the quit question")
            dialog = quit_dialog(window)
            running = dialog.findChild(QLabel, "quit_running").text()
            assert "orders-db" in running and "on sim" in running, running
            assert window.isVisible() and not closed
            await wait_until(
                lambda: focused() is dialog.stay_button, 5, "the keys on 'Keep running'"
            )
            key(qtbot, Qt.Key.Key_Return)  # the key under the thumb keeps the console
            await wait_until(lambda: quit_dialog(window) is None, 5, "the question gone")
            assert window.isVisible() and not closed and not task.done()

            # Asked again, the operator picks "Quit anyway" on purpose: the window closes.
            await back_from_dialog(window)
            key(qtbot, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
            await wait_until(lambda: quit_dialog(window) is not None, 5, "the quit question")
            quit_dialog(window).quit_button.click()
            await wait_until(lambda: bool(closed), 5, "the window closed")
            assert not window.isVisible()
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=60)


def test_quit_with_nothing_running_closes_at_once(slow, qtbot):
    console, _guard = slow
    window = console.window
    closed: list[bool] = []
    window.closed.connect(lambda: closed.append(True))
    key(qtbot, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert closed and not window.isVisible()
    assert quit_dialog(window) is None

"""A 401 that goes away: the console offers a new token and retries, without a restart."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from opsconsole.app.wiring import build_console
from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.backends.secrets import Secret
from opsconsole.core.commands import CommandError
from opsconsole.core.models import ConnectionState
from opsconsole.core.store import Store
from opsconsole.ui.context import Selection, UiContext
from opsconsole.ui.tokenprompt import TokenDialog
from tests.support.waiting import wait_until

RIGHT = "tok-right-7731"


def open_prompt(window) -> TokenDialog | None:
    dialogs = [d for d in window.findChildren(TokenDialog) if d.isVisible()]
    return dialogs[-1] if dialogs else None


def test_a_refused_token_is_replaced_from_the_prompt_and_the_link_comes_back(
    qtbot, qloop, tmp_path, sim_thread
):
    sim = sim_thread(token=RIGHT)
    store = Store(capacity=600)
    ctx = UiContext(store, Selection())
    client = OpsApiClient("sim", sim.url, store.apply, token=Secret("tok-wrong-1"))
    console = build_console(
        ctx,
        {"sim": client},
        audit_path=tmp_path / "audit.jsonl",
        timeline_path=tmp_path / "timeline.sqlite3",
    )
    window = console.window
    qtbot.addWidget(window)
    window.show()
    window.start()

    async def scenario() -> None:
        client.start()
        try:
            await wait_until(lambda: client.status.state is ConnectionState.AUTH_FAILED, 10, "401")
            # Offered in words where the operator looks, with the command to use.
            await wait_until(
                lambda: ":credentials sim" in window.statusBar().currentMessage(), 5, "the offer"
            )
            assert ctx.commands.get("backend.credentials").is_enabled()
            task = ctx.commands.run("backend.credentials")
            await wait_until(lambda: open_prompt(window) is not None, 5, "the prompt")
            prompt = open_prompt(window)
            assert prompt.field.echoMode() is QLineEdit.EchoMode.Password  # never echoed
            qtbot.keyClicks(prompt.field, RIGHT)
            qtbot.keyClick(prompt.field, Qt.Key.Key_Return)
            assert await task == "sim: trying the new credentials"
            await wait_until(lambda: client.status.state is ConnectionState.LIVE, 10, "LIVE")
            assert RIGHT not in window.statusBar().currentMessage()
            # Nothing refused any more: the command is not offered and asks nothing.
            assert not ctx.commands.get("backend.credentials").is_enabled()
            try:
                ctx.commands.run("backend.credentials")
            except CommandError as exc:
                assert "not available now" in str(exc)
            else:
                raise AssertionError("the command ran with nothing to ask for")
            assert open_prompt(window) is None
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=60)
    console.close()

"""A confirmation whose waiting task is cancelled (the console closing) is taken away."""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QApplication, QMainWindow

from opsconsole.core.actions import Intent
from opsconsole.ui.confirm import ConfirmDialog, ask
from tests.support.waiting import wait_until


def open_confirmations() -> list[ConfirmDialog]:
    return [
        w for w in QApplication.topLevelWidgets() if isinstance(w, ConfirmDialog) and w.isVisible()
    ]


def test_cancelling_the_question_closes_the_dialog_and_answers_nothing(qtbot, qloop) -> None:
    intent = Intent("breaker.reset", "sim", "payment-service")
    window = QMainWindow()  # as in the console: the dialog is not the last window
    qtbot.addWidget(window)
    window.show()

    async def scenario() -> None:
        task = asyncio.ensure_future(ask(intent, window))
        await wait_until(lambda: open_confirmations(), 5, "the confirmation")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled()
        await wait_until(lambda: not open_confirmations(), 5, "the dialog taken away")

    qloop.run(scenario(), timeout=20)

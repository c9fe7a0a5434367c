"""Await a dialog's answer on the one event loop: opened with `open()`, never a nested exec."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from PySide6.QtWidgets import QDialog

T = TypeVar("T")


async def answer_of(dialog: QDialog, result: Callable[[int], T]) -> T:
    """Open `dialog` and return `result(code)` once it finishes.

    A cancelled wait (the console closing) takes the question away: nothing is answered.
    """
    answer: asyncio.Future[T] = asyncio.get_running_loop().create_future()

    def finished(code: int) -> None:
        if not answer.done():
            answer.set_result(result(code))
        dialog.deleteLater()

    dialog.finished.connect(finished)
    dialog.open()
    try:
        return await answer
    except asyncio.CancelledError:
        # Cancelling our task cancels the awaited future too, so "cancelled" also means
        # nobody answered.
        if not answer.done() or answer.cancelled():
            dialog.reject()
        raise

"""The qasync fixture runs coroutines while Qt keeps painting."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from tests.support.waiting import wait_until


def test_coroutines_run_and_qt_paints(qloop, qtbot) -> None:
    label = QLabel("x")
    qtbot.addWidget(label)
    painted = []
    label.paintEvent = lambda ev: painted.append(1)  # type: ignore[method-assign]
    label.show()

    async def scenario() -> int:
        await wait_until(lambda: painted, 5, "a paint")
        return len(painted)

    assert qloop.run(scenario()) >= 1

"""Ctrl+K then Enter never quits: nothing that cannot be taken back sits pre-selected."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from opsconsole.core.store import Store
from tests.support.console import key, make_console, show, type_text


@pytest.fixture
def console(qapp, qtbot, tmp_path):
    """A console with no backend: nothing fires, so Quit is the first command one can run."""
    qapp.setQuitOnLastWindowClosed(False)  # as the app runs: a closed window is no crash here
    built, ui = make_console(tmp_path, {}, Store(capacity=60))
    show(qtbot, built.window)
    closed: list[bool] = []
    built.window.closed.connect(lambda: closed.append(True))
    yield built, ui, closed
    built.close()
    qapp.setQuitOnLastWindowClosed(True)


def test_ctrl_k_then_enter_runs_nothing_and_says_how_to_pick(console, qtbot) -> None:
    built, ui, closed = console
    palette = ui.palette
    key(qtbot, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert palette.isVisible()
    enabled = [r.value for r in palette.rows() if r.enabled]
    assert enabled[0] == "app.quit"  # the case that used to quit: it is first, and runnable
    assert palette.current_row() is None
    key(qtbot, Qt.Key.Key_Return)
    assert not closed and built.window.isVisible() and palette.isVisible()
    assert "↓ to pick one" in palette.status.text()
    # The arrows still reach every row, Quit included, by choice.
    key(qtbot, Qt.Key.Key_Down)
    assert palette.current_row() is not None


@pytest.mark.parametrize("query", ["t", "l", "a"])
def test_a_query_that_does_not_name_quit_or_reset_never_lands_on_them(
    console, qtbot, query
) -> None:
    _built, ui, closed = console
    key(qtbot, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    type_text(qtbot, query)
    row = ui.palette.current_row()
    assert row is None or row.value not in ("app.quit", "layout.reset"), (query, row)
    assert not closed


def test_typing_quit_then_enter_quits(console, qtbot) -> None:
    built, ui, closed = console
    key(qtbot, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    type_text(qtbot, "quit")
    assert ui.palette.current_row().value == "app.quit"
    key(qtbot, Qt.Key.Key_Return)
    assert closed and not built.window.isVisible()

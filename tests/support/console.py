"""Driving a whole console by keyboard in UI tests: build it, show it, type into it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

from opsconsole.app.wiring import build_console
from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.core.models import ConnectionState
from opsconsole.core.store import Store
from opsconsole.ui.confirm import ConfirmDialog
from opsconsole.ui.context import Selection, UiContext
from opsconsole.ui.layout import LayoutStore
from tests.support.waiting import wait_until


def make_console(
    tmp_path: Path,
    clients: dict[str, OpsApiClient],
    store: Store,
    keys: str = "",
    demo: bool = False,
):
    ctx = UiContext(store, Selection(), demo=demo)
    keymap_path = tmp_path / "keys.toml"
    if keys:
        keymap_path.write_text(keys, encoding="utf-8")
    # The app's own wiring installs the keyboard model from the keymap file.
    built = build_console(
        ctx,
        clients,
        audit_path=tmp_path / "audit.jsonl",
        timeline_path=tmp_path / "timeline.sqlite3",
        incidents_path=tmp_path / "incidents.sqlite3",
        outcome_timeout_s=15,
        keymap_path=keymap_path,
        layouts=LayoutStore(tmp_path / "layouts.json"),
    )
    return built, built.keyboard


def live_console(qtbot, tmp_path: Path, url: str, **client_options: Any):
    """A console on one reference backend ("sim", its client not started yet) at a 1366×768
    laptop's work area, shown; the caller closes it (`console.close()`)."""
    store = Store(capacity=600)
    client = OpsApiClient("sim", url, store.apply, **client_options)
    console, keyboard = make_console(tmp_path, {"sim": client}, store)
    console.window.resize(1366, 740)
    show(qtbot, console.window)
    return console, keyboard


def show(qtbot, window: QWidget) -> None:
    qtbot.addWidget(window)
    window.show()
    window.start()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)


def focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None, "nothing has the keyboard focus"
    return widget


def key(qtbot, k: Qt.Key | str, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """One key press where the operator's keys go: the focused widget."""
    qtbot.keyClick(focused(), k, modifier)


def type_text(qtbot, text: str) -> None:
    qtbot.keyClicks(focused(), text)


def focus_clusters(qtbot, window) -> None:
    """Alt+N, N the clusters dock's place in the window: keys land in its list."""
    n = window.panels.index(window.clusters) + 1
    qtbot.keyClick(
        QApplication.focusWidget() or window,
        getattr(Qt.Key, f"Key_{n}"),
        Qt.KeyboardModifier.AltModifier,
    )
    assert focused() is window.clusters.view


async def back_from_dialog(window) -> None:
    """What the window manager does when a dialog closes: its parent window is active again.

    The offscreen platform has no window manager, so nothing re-activates the main window.
    """
    window.activateWindow()
    await wait_until(window.isActiveWindow, 5, "the main window active again")


def open_dialog(window) -> ConfirmDialog | None:
    dialogs = [d for d in window.findChildren(ConfirmDialog) if d.isVisible()]
    return dialogs[-1] if dialogs else None


async def wait_live(console) -> None:
    store, client = console.ctx.store, console.clients["sim"]
    await wait_until(
        lambda: (
            client.status.state is ConnectionState.LIVE
            and "orders-db" in store.backend("sim").clusters
            and store.backend("sim").clusters["orders-db"].primary == "primary-db"
        ),
        10,
        "orders-db live",
    )


async def confirm_by_typing(qtbot, window, name: str) -> None:
    await wait_until(lambda: open_dialog(window) is not None, 5, "the confirmation")
    dialog = open_dialog(window)
    assert focused() is dialog.name_edit
    type_text(qtbot, name)
    key(qtbot, Qt.Key.Key_Return)


def audit_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def command_line(qtbot, window, text: str) -> None:
    """`:` where the operator's keys go, the words, then Enter."""
    window.activateWindow()
    key(qtbot, ":")
    assert focused() is window.keyboard.command_line.edit
    type_text(qtbot, text)
    key(qtbot, Qt.Key.Key_Return)

"""The keyboard model in the real console: palette, `:` line, key help, remaps; keys only."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication

from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.core.audit import verify
from opsconsole.core.cmdline import Arg
from opsconsole.core.keymap import normalise
from opsconsole.core.store import Store
from opsconsole.ui.keyboard import KeyboardUi
from tests.support.console import (
    audit_text,
    back_from_dialog,
    confirm_by_typing,
    focus_clusters,
    focused,
    key,
    make_console,
    open_dialog,
    show,
    type_text,
    wait_live,
)

MEMBERS = ("primary-db", "replica-1", "replica-2", "replica-3")
REFUSAL = (
    "orders-db has no member 'replica-9'; expected one of: primary-db, replica-1, replica-2, "
    "replica-3"
)


@pytest.fixture
def live(qtbot, tmp_path, sim_thread):
    """A console against a real reference backend, with the keyboard model installed."""
    sim = sim_thread(time_scale=20)
    store = Store(capacity=600)
    client = OpsApiClient("sim", sim.url, store.apply)
    built, ui = make_console(tmp_path, {"sim": client}, store)
    show(qtbot, built.window)
    yield built, ui
    built.close()


# ---------------------------------------------------------------- palette


def test_palette_finds_failover_and_asks_for_live_names_then_confirms(live, qloop, qtbot):
    console, ui = live
    window, store = console.window, console.ctx.store
    client = console.clients["sim"]
    palette = ui.palette

    async def scenario() -> None:
        client.start()
        try:
            await wait_live(console)
            focus_clusters(qtbot, window)
            key(qtbot, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
            assert palette.isVisible() and focused() is palette.edit
            # Every command is listed with its key.
            listed = {r.value: r for r in palette.rows()}
            assert set(listed) >= {c.id for c in console.ctx.commands} - {"keys.palette"}
            assert listed["app.quit"].keys == "Ctrl+Q"
            assert "dangerous" in listed["db.failover"].detail

            type_text(qtbot, "fail ov")
            assert palette.rows()[0].value == "db.failover"
            assert palette.rows()[0].label == "Fail over a database cluster"
            key(qtbot, Qt.Key.Key_Return)
            # One backend: no question about it. Clusters come from the live state.
            assert palette.step is Arg.CLUSTER
            assert [r.value for r in palette.rows()] == ["orders-db"]
            key(qtbot, Qt.Key.Key_Return)
            assert palette.step is Arg.MEMBER
            rows = {r.value: r for r in palette.rows()}
            assert tuple(rows) == MEMBERS
            # The primary is greyed with the pipeline's own reason.
            assert not rows["primary-db"].enabled
            assert "already primary" in rows["primary-db"].reason
            # Esc goes back one step, and the answer is offered again.
            key(qtbot, Qt.Key.Key_Escape)
            assert palette.step is Arg.CLUSTER and palette.current_row().value == "orders-db"
            key(qtbot, Qt.Key.Key_Return)
            type_text(qtbot, "2")
            assert palette.current_row().value == "replica-2"
            key(qtbot, Qt.Key.Key_Return)

            assert not palette.isVisible()
            await confirm_by_typing(qtbot, window, "replica-2")  # the member taking over
            result = await palette.last_result
            assert result.ok, result.message
            assert result.message.startswith("replica-2 is primary")
            assert store.backend("sim").clusters["orders-db"].primary == "replica-2"
            assert verify(console.audit.path).ok
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=60)


def test_palette_keys_stay_in_its_search_line_and_esc_closes(live, qtbot):
    console, ui = live
    window = console.window
    focus_clusters(qtbot, window)
    before = focused()
    key(qtbot, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    # ":" and "?" are typing here, not the command line or the help.
    type_text(qtbot, ":?")
    assert ui.palette.edit.text() == ":?"
    assert not ui.command_line.isVisible() and not ui.help.isVisible()
    key(qtbot, Qt.Key.Key_Escape)
    assert not ui.palette.isVisible()
    assert focused() is before


def test_palette_greys_commands_without_names_and_says_why(live, qtbot):
    console, ui = live  # the backend is never started: no clusters are known
    focus_clusters(qtbot, console.window)
    key(qtbot, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    type_text(qtbot, "fail ov")
    row = ui.palette.current_row()
    assert row.value == "db.failover" and not row.enabled
    assert "no database clusters known yet" in ui.palette.status.text()
    key(qtbot, Qt.Key.Key_Return)  # greyed: nothing happens but the reason
    assert ui.palette.step is None and ui.palette.isVisible()


# ---------------------------------------------------------------- command line


def test_command_line_failover_confirms_and_changes_the_backend(live, qloop, qtbot):
    console, ui = live
    window, store = console.window, console.ctx.store
    client = console.clients["sim"]
    line = ui.command_line

    async def scenario() -> None:
        client.start()
        try:
            await wait_live(console)
            focus_clusters(qtbot, window)
            key(qtbot, ":")
            assert line.isVisible() and focused() is line.edit
            type_text(qtbot, "failover orders-db replica-2")
            key(qtbot, Qt.Key.Key_Return)
            assert not line.isVisible()
            await confirm_by_typing(qtbot, window, "replica-2")  # the member taking over
            result = await line.last_result
            assert result.ok, result.message
            assert store.backend("sim").clusters["orders-db"].primary == "replica-2"
            assert (await client.clusters()).clusters[0].primary == "replica-2"
            text = audit_text(console.audit.path)
            assert '"db.failover"' in text and '"intent"' in text and '"succeeded"' in text
            assert verify(console.audit.path).ok
            # Up brings the line back from history.
            await back_from_dialog(window)
            assert focused() is window.clusters.view  # where the operator was
            key(qtbot, ":")
            key(qtbot, Qt.Key.Key_Up)
            assert line.edit.text() == "failover orders-db replica-2"
            key(qtbot, Qt.Key.Key_Escape)
            assert not line.isVisible() and focused() is window.clusters.view
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=60)


def test_tab_completes_live_names_and_an_unknown_member_runs_nothing(live, qloop, qtbot):
    console, ui = live
    window, store = console.window, console.ctx.store
    client = console.clients["sim"]
    line = ui.command_line

    async def scenario() -> None:
        client.start()
        try:
            await wait_live(console)
            focus_clusters(qtbot, window)
            key(qtbot, ":")
            type_text(qtbot, "failover ord")
            key(qtbot, Qt.Key.Key_Tab)
            assert line.edit.text() == "failover orders-db "
            assert focused() is line.edit  # Tab completed; it did not move the focus
            type_text(qtbot, "rep")
            seen = []
            for _ in range(4):
                key(qtbot, Qt.Key.Key_Tab)
                seen.append(line.edit.text())
            # Replicas least lag first (the order moves with the live lag), then round again.
            assert sorted(seen[:3]) == [f"failover orders-db replica-{n}" for n in (1, 2, 3)]
            assert seen[3] == seen[0]
            assert f"[{seen[0].split()[-1]}]" in line.message.text()

            key(
                qtbot, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier
            )  # select all: typing replaces it
            type_text(qtbot, "failover orders-db replica-9")
            key(qtbot, Qt.Key.Key_Return)
            assert line.message.text() == REFUSAL
            assert line.isVisible() and line.edit.text() == "failover orders-db replica-9"
            assert open_dialog(window) is None
            assert not console.audit.path.exists()  # nothing was sent, nothing audited

            key(qtbot, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
            type_text(qtbot, "explode orders-db")
            key(qtbot, Qt.Key.Key_Return)
            assert line.message.text().startswith("unknown command 'explode'; expected one of:")
            key(qtbot, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
            # Scenarios exist only against the demo backend; this console is not a demo.
            type_text(qtbot, "scenario latency_spike orders")
            key(qtbot, Qt.Key.Key_Return)
            assert line.message.text() == "scenario is not available here"
            key(qtbot, Qt.Key.Key_Escape)

            assert open_dialog(window) is None and not console.audit.path.exists()
            assert store.backend("sim").clusters["orders-db"].primary == "primary-db"
            assert (await client.clusters()).clusters[0].primary == "primary-db"
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=60)


def test_scenario_from_the_command_line_reaches_the_demo_backend(
    qtbot, qloop, tmp_path, sim_thread
):
    sim = sim_thread(time_scale=20)
    store = Store(capacity=600)
    client = OpsApiClient("sim", sim.url, store.apply)
    console, ui = make_console(tmp_path, {"sim": client}, store, demo=True)
    show(qtbot, console.window)
    line = ui.command_line

    async def scenario() -> None:
        client.start()
        try:
            await wait_live(console)
            focus_clusters(qtbot, console.window)
            key(qtbot, ":")
            type_text(qtbot, "scen")
            key(qtbot, Qt.Key.Key_Tab)
            type_text(qtbot, "lat")
            key(qtbot, Qt.Key.Key_Tab)
            assert line.edit.text() == "scenario latency_spike "
            type_text(qtbot, "orders")
            key(qtbot, Qt.Key.Key_Return)
            message = await line.last_result
            assert message.startswith("scenario latency_spike started on orders"), message
            assert message in console.window.statusBar().currentMessage()
        finally:
            await client.aclose()
            console.close()

    qloop.run(scenario(), timeout=60)


# ---------------------------------------------------------------- help and window keys


def test_question_mark_and_f1_show_every_binding_and_esc_closes(live, qtbot):
    console, ui = live
    window = console.window
    focus_clusters(qtbot, window)
    key(qtbot, "?")
    assert ui.help.isVisible()
    shown = ui.help.text()
    for command in console.ctx.commands:
        assert command.title in shown and command.id in shown
    for seq in ui.bindings:
        assert any(seq in row.keys.split("  ") for row in ui.help.rows), seq
    assert any(
        r.command_id == "db.failover" and r.tier == "type the target's name" for r in ui.help.rows
    )
    key(qtbot, Qt.Key.Key_Escape)
    assert not ui.help.isVisible() and focused() is window.clusters.view

    key(qtbot, Qt.Key.Key_F1)
    assert ui.help.isVisible()
    key(qtbot, Qt.Key.Key_F1)
    assert not ui.help.isVisible()


def test_window_keys_reach_their_commands_and_ctrl_k_works_from_a_text_field(live, qtbot):
    console, ui = live
    window = console.window
    # Alt+N focuses each dock in order (the window's own menu actions, bound once).
    for n, panel in enumerate(window.panels[:9], start=1):
        qtbot.keyClick(
            focused() if QApplication.focusWidget() else window,
            getattr(Qt.Key, f"Key_{n}"),
            Qt.KeyboardModifier.AltModifier,
        )
        target = panel.focusProxy() or panel
        assert window.docks[panel.panel_id].isVisible()
        if target.focusPolicy() != Qt.FocusPolicy.NoFocus:
            assert focused() is target, panel.panel_id
    focus_clusters(qtbot, window)
    key(qtbot, ":")
    assert ui.command_line.isVisible()
    # Ctrl+K in a line edit would delete to the end of the line; here it opens the palette.
    key(qtbot, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert ui.palette.isVisible() and not ui.command_line.isVisible()
    key(qtbot, Qt.Key.Key_Escape)
    # One receiver per key: no QShortcut of ours shadows a menu action of the window.
    ours = {s.key().toString() for s in ui.shortcuts.values()}
    theirs = {seq.toString() for a in window.findChildren(QAction) for seq in a.shortcuts()}
    assert not ours & theirs
    assert "Ctrl+K" in ours and "F1" in ours and "Ctrl+Q" in theirs


# ---------------------------------------------------------------- remapping


@pytest.fixture
def offline(qtbot, tmp_path):
    """A console with no backend: enough for keys that do not touch one."""

    def build(keys: str) -> tuple[object, KeyboardUi]:
        built, ui = make_console(tmp_path, {}, Store(capacity=60), keys)
        show(qtbot, built.window)
        return built, ui

    return build


def test_a_remapped_key_works_in_the_window_and_the_menu_shows_it(offline, qtbot):
    console, ui = offline(
        '[keys]\n"layout.reset" = "Ctrl+Alt+R"\n"keys.palette" = "Ctrl+P"\n'
        '"db.switchover" = "Ctrl+Shift+S"\n'
    )
    window = console.window
    assert ui.problems == []
    reset = next(a for a in window.findChildren(QAction) if a.text() == "Reset the panel layout")
    assert reset.shortcut().toString() == "Ctrl+Alt+R"
    window.docks["clusters"].hide()  # the operator closed a dock; the reset brings it back
    qtbot.keyClick(
        QApplication.focusWidget() or window,
        Qt.Key.Key_R,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier,
    )
    assert window.docks["clusters"].isVisible()
    qtbot.keyClick(
        QApplication.focusWidget() or window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier
    )
    assert ui.palette.isVisible()
    key(qtbot, Qt.Key.Key_Escape)
    qtbot.keyClick(
        QApplication.focusWidget() or window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier
    )
    assert not ui.palette.isVisible()  # the old key is gone
    # A key on a command that needs names opens the palette at its first question.
    qtbot.keyClick(
        QApplication.focusWidget() or window,
        Qt.Key.Key_S,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert ui.palette.isVisible() and ui.palette.step is Arg.BACKEND
    assert "there is no backend to pick" in ui.palette.status.text()  # none connected
    key(qtbot, Qt.Key.Key_Escape)  # back to the command list, on the command
    assert ui.palette.step is None and ui.palette.current_row().value == "db.switchover"
    key(qtbot, Qt.Key.Key_Escape)
    assert not ui.palette.isVisible()


def test_conflicts_and_unknown_ids_are_reported_in_plain_words(offline, qtbot, tmp_path):
    console, ui = offline('[keys]\n"layout.reset" = "Ctrl+Q"\n"db.failovr" = "Ctrl+Shift+F"\n')
    window = console.window
    keys_file = str(tmp_path / "keys.toml")
    assert len(ui.problems) == 2, ui.problems
    conflict = next(p for p in ui.problems if "Ctrl+Q" in p)
    assert keys_file in conflict and "layout.reset" in conflict and "app.quit" in conflict
    unknown = next(p for p in ui.problems if "db.failovr" in p)
    assert keys_file in unknown and "no such command" in unknown and "db.failover" in unknown
    # The remap won the key: Ctrl+Q resets the layout and does not quit.
    window.docks["clusters"].hide()
    qtbot.keyClick(
        QApplication.focusWidget() or window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier
    )
    assert window.isVisible() and window.docks["clusters"].isVisible()
    # The key help says so too.
    qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_F1)
    assert ui.help.isVisible()
    assert "db.failovr" in ui.help.problem_label.text()


@pytest.mark.parametrize(
    "typed",
    [
        "ctrl+shift+f",
        "Alt+Ctrl+Meta+Shift+x",
        "escape",
        "Delete",
        "PgDown",
        "f12",
        "Ctrl++",
        "Ctrl+,",
        "Ctrl+X, Ctrl+S",
        ":",
        "?",
        "j",
        "Return",
        "Ctrl+Alt+R",
        "Space",
        "Ins",
    ],
)
def test_the_key_map_spells_sequences_as_qt_does(typed: str) -> None:
    # The pure key map and Qt agree on spelling, so conflicts found at load are real ones.
    assert normalise(typed) == QKeySequence(typed).toString()
    assert QKeySequence(normalise(typed)).toString() == normalise(typed)

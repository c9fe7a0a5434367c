"""The first-run choice: URL checks in plain words, keyboard only, answered through a future."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from opsconsole.ui.firstrun import FirstRunChoice, FirstRunDialog, ask_first_run, check_url
from tests.support.waiting import wait_until


@pytest.mark.parametrize(
    ("typed", "url"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("  https://ops.example.com/  ", "https://ops.example.com"),
        ("HTTP://prometheus:9090", "HTTP://prometheus:9090"),
        ("https://mimir.example.com/prometheus", "https://mimir.example.com/prometheus"),
        ("http://[::1]:9090", "http://[::1]:9090"),
    ],
)
def test_usable_addresses_are_cleaned_and_named(typed: str, url: str) -> None:
    checked = check_url(typed)
    assert checked.url == url
    assert checked.hint.startswith("Will connect to ")


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("", "Type the server's address"),
        ("   ", "Type the server's address"),
        ("prometheus:9090", "Start the address with http:// or https://"),
        ("localhost", "Start the address with http:// or https://"),
        ("ftp://files.example.com", "Start the address with http:// or https://"),
        ("http://", "Add the server's name after http://"),
        ("http://exa mple.com", "no spaces"),
        ("http://host:99999", "port"),
        ("http://host:0", "port"),
        ("http://admin:secret@host:9090", "Leave the user name and password out"),
        ("http://host:9090/#graph", "Leave out the '#"),
    ],
)
def test_unusable_addresses_say_what_to_fix(typed: str, words: str) -> None:
    checked = check_url(typed)
    assert checked.url is None
    assert words in checked.hint


def alt(qtbot, key: Qt.Key) -> None:
    """Alt+key as typed: mnemonics are shortcuts of the active window, seen by the focus."""
    qtbot.keyClick(QApplication.focusWidget(), key, Qt.KeyboardModifier.AltModifier)


@pytest.fixture
def dialog(qtbot) -> FirstRunDialog:
    dialog = FirstRunDialog()
    qtbot.addWidget(dialog)
    dialog.open()
    dialog.activateWindow()
    # Mnemonics (Alt+O...) are window shortcuts: they need the dialog to be the active window.
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)
    return dialog


def test_enter_starts_the_demo_by_default(dialog: FirstRunDialog, qtbot) -> None:
    assert dialog.buttons["demo"].isChecked()
    assert QApplication.focusWidget() is dialog.buttons["demo"]
    assert not dialog.url_edit.isEnabled()
    assert dialog.ok_button.isEnabled()
    with qtbot.waitSignal(dialog.chosen) as signal:
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    assert signal.args == [FirstRunChoice("demo", None, True)]
    assert dialog.result() == dialog.DialogCode.Accepted


def test_ops_api_needs_a_valid_url_before_ok(dialog: FirstRunDialog, qtbot) -> None:
    received: list[FirstRunChoice] = []
    dialog.chosen.connect(received.append)
    alt(qtbot, Qt.Key.Key_O)
    # A mnemonic presses its button the way a click does (animated): wait for the outcome.
    qtbot.waitUntil(lambda: dialog.kind == "opsapi")
    assert dialog.url_edit.isEnabled()
    assert not dialog.ok_button.isEnabled()
    assert dialog.hint.property("error") is False  # an empty field is a prompt
    alt(qtbot, Qt.Key.Key_U)
    assert QApplication.focusWidget() is dialog.url_edit
    qtbot.keyClicks(dialog.url_edit, "ops.internal:8080")
    assert not dialog.ok_button.isEnabled()
    assert dialog.hint.property("error") is True
    assert "http:// or https://" in dialog.hint.text()
    qtbot.keyClick(dialog.url_edit, Qt.Key.Key_Return)
    assert dialog.isVisible() and received == []  # Enter with a bad address does nothing
    dialog.url_edit.clear()
    qtbot.keyClicks(dialog.url_edit, "https://ops.internal:8080/")
    assert dialog.ok_button.isEnabled()
    assert dialog.hint.text() == "Will connect to ops.internal:8080 over https."
    qtbot.keyClick(dialog.url_edit, Qt.Key.Key_Return)
    assert received == [FirstRunChoice("opsapi", "https://ops.internal:8080", True)]
    assert not dialog.isVisible()


def test_prometheus_without_remembering(dialog: FirstRunDialog, qtbot) -> None:
    alt(qtbot, Qt.Key.Key_P)
    qtbot.waitUntil(lambda: dialog.kind == "prometheus")
    assert dialog.url_edit.placeholderText() == "http://prometheus:9090"
    alt(qtbot, Qt.Key.Key_U)
    qtbot.keyClicks(dialog.url_edit, "http://127.0.0.1:9090")
    alt(qtbot, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: not dialog.remember.isChecked())
    with qtbot.waitSignal(dialog.chosen) as signal:
        qtbot.keyClick(dialog.url_edit, Qt.Key.Key_Return)
    assert signal.args == [FirstRunChoice("prometheus", "http://127.0.0.1:9090", False)]


def test_arrow_keys_move_between_the_options(dialog: FirstRunDialog, qtbot) -> None:
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Down)
    assert dialog.kind == "opsapi"
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Down)
    assert dialog.kind == "prometheus"
    assert not dialog.ok_button.isEnabled()
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Up)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Up)
    assert dialog.kind == "demo"
    assert dialog.ok_button.isEnabled()


def test_switching_back_to_demo_ignores_a_bad_url(dialog: FirstRunDialog, qtbot) -> None:
    dialog.select("opsapi")
    qtbot.keyClicks(dialog.url_edit, "not a url")
    assert not dialog.ok_button.isEnabled()
    alt(qtbot, Qt.Key.Key_D)
    qtbot.waitUntil(lambda: dialog.kind == "demo")
    assert dialog.ok_button.isEnabled()
    assert dialog.choice() == FirstRunChoice("demo", None, True)


def test_esc_quits_without_a_choice(dialog: FirstRunDialog, qtbot) -> None:
    received: list[FirstRunChoice] = []
    dialog.chosen.connect(received.append)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    assert dialog.result() == dialog.DialogCode.Rejected
    assert not dialog.isVisible()
    assert received == []


def _open_first_run() -> FirstRunDialog | None:
    found = [
        w for w in QApplication.topLevelWidgets() if isinstance(w, FirstRunDialog) and w.isVisible()
    ]
    return found[-1] if found else None


def _active_first_run() -> FirstRunDialog | None:
    active = QApplication.activeWindow()
    return active if isinstance(active, FirstRunDialog) else None


def test_ask_first_run_answers_through_the_loop(qloop, qtbot) -> None:
    async def scenario() -> FirstRunChoice | None:
        task = asyncio.ensure_future(ask_first_run(None))
        await wait_until(lambda: _active_first_run() is not None, 5, "the first-run dialog")
        dialog = _active_first_run()
        assert dialog is not None
        alt(qtbot, Qt.Key.Key_O)
        await wait_until(lambda: dialog.kind == "opsapi", 5, "Ops API chosen")
        alt(qtbot, Qt.Key.Key_U)
        qtbot.keyClicks(dialog.url_edit, "http://127.0.0.1:8080")
        qtbot.keyClick(dialog.url_edit, Qt.Key.Key_Return)
        return await task

    assert qloop.run(scenario(), timeout=10) == FirstRunChoice(
        "opsapi", "http://127.0.0.1:8080", True
    )


def test_ask_first_run_is_none_when_the_operator_quits(qloop, qtbot) -> None:
    async def scenario() -> FirstRunChoice | None:
        task = asyncio.ensure_future(ask_first_run(None))
        await wait_until(lambda: _active_first_run() is not None, 5, "the first-run dialog")
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
        return await task

    assert qloop.run(scenario(), timeout=10) is None


def test_cancelling_the_question_takes_the_dialog_away(qloop) -> None:
    async def scenario() -> list[int]:
        task = asyncio.ensure_future(ask_first_run(None))
        await wait_until(lambda: _open_first_run() is not None, 5, "the first-run dialog")
        dialog = _open_first_run()
        assert dialog is not None
        codes: list[int] = []
        dialog.finished.connect(codes.append)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return codes

    assert qloop.run(scenario(), timeout=10) == [FirstRunDialog.DialogCode.Rejected]
    assert QApplication.instance().quitOnLastWindowClosed()  # given back after the question


def test_the_first_start_asks_then_remembers_a_prometheus(qtbot, qloop, tmp_path, monkeypatch):
    """The window's first-run path: the question, the plan it gives, the file it writes."""
    from opsconsole.app.backends import plan_from_args
    from opsconsole.app.cli import parse_args
    from opsconsole.app.window import _first_run

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    plan = plan_from_args(parse_args([]))
    assert plan.first_run

    async def answer() -> None:
        await wait_until(
            lambda: any(isinstance(w, FirstRunDialog) and w.isVisible() for w in qt_windows()),
            10,
            "the first-run question",
        )
        dialog = next(w for w in qt_windows() if isinstance(w, FirstRunDialog) and w.isVisible())
        dialog.select("prometheus")
        dialog.url_edit.setText("http://127.0.0.1:9090/")
        qtbot.keyClick(dialog.url_edit, Qt.Key.Key_Return)

    async def run():
        asker = asyncio.ensure_future(_first_run(plan))
        await answer()
        return await asker

    chosen = qloop.run(run(), timeout=30)
    (backend,) = chosen.backends
    assert (backend.kind, backend.url) == ("prometheus", "http://127.0.0.1:9090")
    assert not plan_from_args(parse_args([])).first_run  # remembered: not asked again
    assert 'kind = "prometheus"' in (tmp_path / "opsconsole" / "config.toml").read_text()


def qt_windows() -> list:
    return QApplication.topLevelWidgets()


def test_an_address_the_config_would_refuse_is_refused_at_once() -> None:
    from opsconsole.ui.firstrun import check_url

    # A control character and a non-ASCII host: the config file refuses both, so the first
    # run must not remember them.
    assert check_url("http://ops\x01.example").url is None
    assert check_url("http://ëxample.org").url is None
    assert check_url("http://ops.example:8080").url == "http://ops.example:8080"

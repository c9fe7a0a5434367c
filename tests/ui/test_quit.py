"""Every way of quitting ends the process cleanly: exit status 0, no traceback on stderr.

Subprocess tests of the real `opsconsole --demo`: signals on the offscreen platform; keys and
the window manager's close on a private Xvfb display at 1366×768 (xdotool types like a person).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from tests.support.live_process import RunningConsole
from tests.support.x11 import close_window, find_window, keys, type_text, window_size, xvfb

STARTED = "opsconsole-sim listening"  # logged once the console's own start has begun
MAIN_TITLE = "^opsconsole — DEMO$"
WALL_TITLE = "^opsconsole — wall$"


def assert_clean(console: RunningConsole, code: int) -> None:
    err = console.stderr
    assert code == 0, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    assert "Event loop stopped before Future completed" not in err
    assert "was destroyed but it is pending" not in err
    assert "opsconsole-sim stopped" in err  # the orderly shutdown ran to its end


@pytest.fixture
def console_factory(tmp_path) -> Iterator:
    started: list[RunningConsole] = []

    def start(*args: str, display: str | None = None) -> RunningConsole:
        env = {"QT_QPA_PLATFORM": "xcb", "DISPLAY": display} if display else None
        console = RunningConsole("--demo", *args, tmp_path=tmp_path, env=env)
        started.append(console)
        return console

    yield start
    for console in started:
        console.stop()


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    with xvfb(1366, 768) as name:
        yield name


# ---------------------------------------------------------------- signals (a supervisor)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_shuts_down_in_order_and_exits_zero(console_factory, sig) -> None:
    console = console_factory()
    console.wait_for_stderr(STARTED)
    console.proc.send_signal(sig)
    assert_clean(console, console.wait_exit())


def test_sigterm_while_the_first_run_question_waits_exits_zero(tmp_path, display) -> None:
    # No config and no flags: the console asks what to watch. Qt waits for input there with
    # no Python timer running, so only the loop's wake-up pipe gets the signal through.
    console = RunningConsole(tmp_path=tmp_path, env={"QT_QPA_PLATFORM": "xcb", "DISPLAY": display})
    try:
        find_window(
            display,
            "^Welcome to opsconsole$",
            process=console.proc,
            stderr=lambda: console.stderr,
        )
        console.proc.send_signal(signal.SIGTERM)
        code = console.wait_exit()
        assert code == 0 and "Traceback" not in console.stderr, console.stderr[-3000:]
    finally:
        console.stop()


# ---------------------------------------------------------------- the operator, on a display


def test_ctrl_q_exits_zero_and_the_first_window_fits_a_small_screen(
    console_factory, display
) -> None:
    console = console_factory(display=display)
    window = find_window(display, MAIN_TITLE)
    width, height = window_size(display, window)
    assert width <= 1366 and height <= 768, (width, height)
    keys(display, window, "ctrl+q")
    assert_clean(console, console.wait_exit())


def test_the_quit_command_exits_zero(console_factory, display) -> None:
    console = console_factory(display=display)
    window = find_window(display, MAIN_TITLE)
    type_text(display, window, ":quit")
    keys(display, window, "Return")
    assert_clean(console, console.wait_exit())


def test_quit_from_the_palette_exits_zero(console_factory, display) -> None:
    console = console_factory(display=display)
    window = find_window(display, MAIN_TITLE)
    keys(display, window, "ctrl+k")
    type_text(display, window, "quit")
    keys(display, window, "Return")
    assert_clean(console, console.wait_exit())


def test_the_window_managers_close_exits_zero(console_factory, display) -> None:
    console = console_factory(display=display)
    window = find_window(display, MAIN_TITLE)
    close_window(display, window)
    assert_clean(console, console.wait_exit())


def test_closing_a_locked_wall_quits_and_exits_zero(console_factory, display) -> None:
    console = console_factory("--wall", "--lock", display=display)
    wall = find_window(display, WALL_TITLE)
    close_window(display, wall)
    assert_clean(console, console.wait_exit())


def test_leaving_the_wall_then_ctrl_q_exits_zero(console_factory, display) -> None:
    console = console_factory("--wall", display=display)
    wall = find_window(display, WALL_TITLE)
    keys(display, wall, "Escape")
    window = find_window(display, MAIN_TITLE)
    width, height = window_size(display, window)
    assert width <= 1366 and height <= 768, (width, height)  # back from the wall, it fits too
    keys(display, window, "ctrl+q")
    assert_clean(console, console.wait_exit())

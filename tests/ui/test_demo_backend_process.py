"""`opsconsole --demo` runs its backend as a child process that never outlives the console.

Subprocess tests of the real console: the child is found through /proc as the console's own
child, then every way the console ends (self-test done, a signal, Ctrl+Q on a real X display,
SIGKILL) must leave it stopped.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator

import pytest

from tests.support.live_process import RunningConsole, poll_until
from tests.support.processes import children_of, running
from tests.support.x11 import find_window, keys, xvfb

MAIN_TITLE = "^opsconsole — DEMO$"


def demo_child(console: RunningConsole) -> int:
    """The pid of the console's demo backend (its only child process)."""
    found = poll_until(lambda: children_of(console.proc.pid), 30, "the demo backend process")
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def consoles(tmp_path) -> Iterator:
    started: list[RunningConsole] = []

    def start(*args: str, env: dict[str, str] | None = None) -> RunningConsole:
        console = RunningConsole("--demo", *args, tmp_path=tmp_path, env=env)
        started.append(console)
        return console

    yield start
    for console in started:
        console.stop()


def test_the_self_test_paints_live_data_from_the_child_and_leaves_none_behind(consoles) -> None:
    console = consoles("--self-test")
    child = demo_child(console)
    assert console.wait_exit() == 0, console.stderr[-3000:]
    report = json.loads(console._stdout[-1])
    assert report["ok"] and report["backends"] == {"demo": "live"}, report
    assert report["transport"] == "websocket"
    assert not running(child)
    assert "opsconsole-sim stopped" in console.stderr  # the child's own orderly end


def test_sigterm_stops_the_console_and_its_backend_in_order(consoles) -> None:
    console = consoles()
    child = demo_child(console)
    console.wait_for_stderr("opsconsole-sim listening")
    console.proc.send_signal(signal.SIGTERM)
    assert console.wait_exit() == 0, console.stderr[-3000:]
    assert not running(child)
    assert "opsconsole-sim stopped" in console.stderr
    assert "Traceback" not in console.stderr


def test_a_killed_console_does_not_leave_its_backend_running(consoles) -> None:
    console = consoles()
    child = demo_child(console)
    console.wait_for_stderr("opsconsole-sim listening")
    console.proc.kill()  # SIGKILL: nothing runs in the console any more
    console.proc.wait(10)
    poll_until(lambda: not running(child), 15, "the orphaned demo backend to exit")


def test_ctrl_q_exits_zero_and_the_backend_is_gone(consoles) -> None:
    with xvfb(1366, 768) as display:
        console = consoles(env={"QT_QPA_PLATFORM": "xcb", "DISPLAY": display})
        child = demo_child(console)
        window = find_window(display, MAIN_TITLE)
        keys(display, window, "ctrl+q")
        assert console.wait_exit() == 0, console.stderr[-3000:]
    assert not running(child)
    assert "opsconsole-sim stopped" in console.stderr
    assert "Traceback" not in console.stderr

"""A real X display for subprocess tests: Xvfb, xdotool keys, and the window manager's close."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator

import pytest

from tests.support.live_process import poll_until

#: Debian packages these tests need (installed by `make system-deps`).
X_PACKAGES = "xvfb xdotool libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1"


def need_x() -> None:
    """Skip without Xvfb and xdotool on a laptop; under CI=true their absence is a failure."""
    missing = [b for b in ("Xvfb", "xdotool") if shutil.which(b) is None]
    if not missing:
        return
    message = f"{', '.join(missing)} not installed (Debian: {X_PACKAGES}; make system-deps)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@contextlib.contextmanager
def xvfb(width: int = 1366, height: int = 768) -> Iterator[str]:
    """A private X server of that size; yields its DISPLAY (":N")."""
    need_x()
    read_fd, write_fd = os.pipe()
    # -displayfd: Xvfb picks a free display number and writes it once it accepts clients.
    proc = subprocess.Popen(
        [
            "Xvfb",
            "-displayfd",
            str(write_fd),
            "-screen",
            "0",
            f"{width}x{height}x24",
            "-nolisten",
            "tcp",
        ],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start")
        yield f":{number}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def xdotool(display: str, *args: str) -> str:
    result = subprocess.run(
        ["xdotool", *args],
        env={**os.environ, "DISPLAY": display},
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    return result.stdout


def find_window(
    display: str,
    title_regex: str,
    timeout: float = 30,
    process: subprocess.Popen[str] | None = None,
    stderr: Callable[[], str] = lambda: "",
) -> int:
    """The id of the first visible window whose title matches, once it is mapped.

    Given the `process` that should show it, fails at once (with its `stderr`) if it exits.
    """

    def found() -> int | None:
        if process is not None and process.poll() is not None:
            raise AssertionError(
                f"exited ({process.returncode}) before showing {title_regex!r}: {stderr()[-2000:]}"
            )
        ids = xdotool(display, "search", "--onlyvisible", "--name", title_regex).split()
        return int(ids[0]) if ids else None

    try:
        return poll_until(found, timeout, f"a window titled {title_regex!r} on {display}")
    except AssertionError as exc:
        titles = xdotool(display, "search", "--name", ".").split()
        names = [xdotool(display, "getwindowname", w).strip() for w in titles]
        raise AssertionError(f"{exc}; windows there: {names}; stderr: {stderr()[-2000:]}") from None


def window_size(display: str, window: int) -> tuple[int, int]:
    out = xdotool(display, "getwindowgeometry", "--shell", str(window))
    values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return int(values["WIDTH"]), int(values["HEIGHT"])


def keys(display: str, window: int, *sequence: str) -> None:
    """Focus the window (no window manager does it) and press the keys, as a person would."""
    xdotool(display, "windowfocus", "--sync", str(window))
    xdotool(display, "key", "--delay", "40", *sequence)


def type_text(display: str, window: int, text: str) -> None:
    xdotool(display, "windowfocus", "--sync", str(window))
    xdotool(display, "type", "--delay", "40", text)


class _ClientMessage(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", ctypes.c_ulong),
        ("message_type", ctypes.c_ulong),
        ("format", ctypes.c_int),
        ("data", ctypes.c_long * 5),
    ]


class _XEvent(ctypes.Union):
    _fields_ = [("xclient", _ClientMessage), ("pad", ctypes.c_long * 24)]


def close_window(display: str, window: int) -> None:
    """What a window manager's close button sends: WM_DELETE_WINDOW, a polite request."""
    name = ctypes.util.find_library("X11")
    if name is None:
        raise RuntimeError("libX11 not found")
    x = ctypes.cdll.LoadLibrary(name)
    x.XOpenDisplay.restype = ctypes.c_void_p
    x.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x.XInternAtom.restype = ctypes.c_ulong
    x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x.XSendEvent.argtypes = [
        ctypes.c_void_p,
        ctypes.c_ulong,
        ctypes.c_int,
        ctypes.c_long,
        ctypes.POINTER(_XEvent),
    ]
    x.XFlush.argtypes = [ctypes.c_void_p]
    x.XCloseDisplay.argtypes = [ctypes.c_void_p]
    dpy = x.XOpenDisplay(display.encode())
    if not dpy:
        raise RuntimeError(f"cannot open display {display}")
    try:
        event = _XEvent()
        message = event.xclient
        message.type = 33  # ClientMessage
        message.window = window
        message.message_type = x.XInternAtom(dpy, b"WM_PROTOCOLS", 0)
        message.format = 32
        message.data[0] = x.XInternAtom(dpy, b"WM_DELETE_WINDOW", 0)
        message.data[1] = 0  # CurrentTime
        x.XSendEvent(dpy, window, 0, 0, ctypes.byref(event))
        x.XFlush(dpy)
    finally:
        x.XCloseDisplay(dpy)

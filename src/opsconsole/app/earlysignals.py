"""SIGTERM and Ctrl-C that come while the window still starts: remembered for its event loop.

Between the first lines of `main` and the moment the window's loop installs its own handlers
lie the imports of Qt and of every panel (most of a second). A signal there used to end the
process at once (status -15, or a KeyboardInterrupt traceback) with the demo backend just
started; now it is remembered and the loop, once it runs, shuts down in order at once.
"""

from __future__ import annotations

import signal
import threading

_came: list[int] = []


def _remember(signum: int, frame: object) -> None:
    _came.append(signum)


def remember_stop_signals() -> None:
    """From now on SIGINT and SIGTERM are remembered, until the loop takes them over."""
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may set handlers (a test calling main() from a thread)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _remember)


def stop_signal_came() -> bool:
    """Whether a stop signal came before the loop's handlers were installed (then forgotten)."""
    came = bool(_came)
    _came.clear()
    return came

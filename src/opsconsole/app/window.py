"""Window mode: the Qt application on the one qasync loop, wired to the backends."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from typing import TYPE_CHECKING

from opsconsole.app.backends import (
    BackendClient,
    Plan,
    plan_from_choice,
    remember_choice,
    start_backends,
    token_from,
)
from opsconsole.app.demoprocess import DemoProcess
from opsconsole.app.earlysignals import stop_signal_came
from opsconsole.app.selftest import process_age_s, self_test
from opsconsole.app.starttrace import follow_panels, follow_store, mark
from opsconsole.core.audit import AUDIT_FILE
from opsconsole.core.commands import CommandError
from opsconsole.core.incident import INCIDENTS_FILE
from opsconsole.core.paths import CONFIG_FILE, config_dir, data_dir, state_dir
from opsconsole.core.store import Store

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from opsconsole.app.wiring import Console
    from opsconsole.ui.layout import LayoutStore
    from opsconsole.ui.quitguard import QuitGuard
from opsconsole.core.timeline import TIMELINE_FILE

log = logging.getLogger("opsconsole")

# The demo backend's imports and world take well under a second; a loaded box, a few.
DEMO_START_TIMEOUT_S = 20.0
# Without data by then (a backend slow to answer), the charts' panels are made anyway.
DEFERRED_PANELS_AFTER_MS = 1000


def run_window(args: argparse.Namespace, plan: Plan, demo: DemoProcess | None = None) -> int:
    """Create the QApplication and run `main_window` on the one qasync event loop.

    `demo` is the demo backend's process when the caller launched it already (first thing,
    before these imports); a demo chosen later, at the first-run question, is launched here.
    """
    import qasync
    from PySide6.QtWidgets import QApplication

    from opsconsole.ui.icon import app_icon
    from opsconsole.ui.theme import apply_theme

    mark("Qt imported")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("opsconsole")
    app.setOrganizationName("opsconsole")
    app.setDesktopFileName("opsconsole")  # matches packaging/opsconsole.desktop
    app.setWindowIcon(app_icon())
    apply_theme(app)
    # The loop ends when `main_window` returns, after its orderly shutdown. Left on, Qt would
    # stop the loop the moment the last window closes, with that shutdown still pending: every
    # quit then ended in "Event loop stopped before Future completed" and exit status 1.
    app.setQuitOnLastWindowClosed(False)
    mark("QApplication made")
    # qasync.run is asyncio.run with a policy whose loops are QEventLoops for `app`.
    return qasync.run(main_window(args, plan, demo))


async def main_window(args: argparse.Namespace, plan: Plan, demo: DemoProcess | None = None) -> int:
    """Start everything, wait for the window to close (or the self-test), shut down in order."""
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QWidget

    from opsconsole.app.loadtesting import config_loadtests
    from opsconsole.app.loadtestrecords import records_dir
    from opsconsole.app.wiring import build_console
    from opsconsole.ui.context import Selection, UiContext
    from opsconsole.ui.geometry import fit_to_screen
    from opsconsole.ui.layout import LayoutStore

    mark("window modules imported")
    # Ctrl-C and SIGTERM from the first moment on: an orderly stop, exit status 0.
    closed = asyncio.Event()
    _install_signal_handlers(closed)
    if plan.first_run and not args.self_test:
        chosen = await _until_closed(_first_run(plan), closed)
        if chosen is None:
            return 0  # the operator closed the question (or a signal came): nothing to watch
        plan = chosen

    # The demo backend runs in its own process (launched by the caller before Qt was
    # imported, or now): its address is read on a thread while this one builds the window.
    embedded_start = None
    if plan.demo:
        demo = demo or DemoProcess.launch(verbose=args.verbose)
        embedded_start = asyncio.ensure_future(_demo_address(demo))
    store = Store()
    ctx = UiContext(store, Selection(), demo=plan.demo)
    follow_store(store, ctx.stats)
    # Filled once the backends' addresses are known; the pipeline looks clients up per action.
    clients: dict[str, BackendClient] = {}
    # A self-test must neither disturb nor depend on the operator's layout and timeline
    # (the audit log is only written when an action runs, which a self-test never does).
    layouts = None if args.self_test else LayoutStore(state_dir() / "layouts.json")
    console = build_console(
        ctx,
        clients,
        audit_path=data_dir() / AUDIT_FILE,
        timeline_path=None if args.self_test else data_dir() / TIMELINE_FILE,
        incidents_path=None if args.self_test else data_dir() / INCIDENTS_FILE,
        layouts=layouts,
        keymap_path=plan.config_path or config_dir() / CONFIG_FILE,
        # The charts' panels (and pyqtgraph's import) after the first live data is on screen;
        # the wall shows its own pages, made when it is entered.
        defer_charts=not args.wall,
        loadtests=config_loadtests(plan.config_path or config_dir() / CONFIG_FILE),
        loadtest_records=None if args.self_test else records_dir(),
    )
    window = console.window
    mark("window built")
    follow_panels(window)
    window.closed.connect(closed.set)
    guard = guard_quit(console)
    # Also under the wall: leaving it shows the window. The offscreen platform (self-test,
    # screenshots) has a nominal 800×800 screen nobody looks at: there the window keeps the
    # size the panels are laid out for.
    if QGuiApplication.platformName() != "offscreen":
        fit_to_screen(window, restored=_has_saved_geometry(layouts))
    try:
        if args.wall and args.layout:
            console.walls.enter_layout(args.layout, screen=args.screen, lock=args.lock)
        elif args.wall:
            console.walls.enter(screen=args.screen, rotate_s=args.rotate, lock=args.lock)
        else:
            if args.layout:
                window.load_layout(args.layout)
            window.show()
    except CommandError as exc:
        log.warning("--layout: %s; starting with the default layout", exc)
        window.show()
    startup_s = process_age_s()
    mark("window shown")
    window.start()
    # The waiting panels are made once the first data is painted, or after a while without.
    ctx.stats.on_first_data(window.finish_build_soon)
    QTimer.singleShot(DEFERRED_PANELS_AFTER_MS, window.finish_build_soon)
    running = await start_backends(
        plan, store.apply, clients, embedded=embedded_start, url_token=token_from(args)
    )
    mark("links started")
    for warning in running.warnings:
        window.statusBar().showMessage(warning, 60_000)
    try:
        if args.self_test:
            walls = console.walls

            def on_screen() -> QWidget:
                # The wall, when it is up, is what the operator sees (the window is hidden).
                return walls.mode.view if walls.active and walls.mode.view else window

            return await self_test(args, ctx, list(clients), window, startup_s, on_screen)
        await closed.wait()
        return 0
    finally:
        # Orderly: stop painting, close the links (cancels their tasks), stop the demo backend.
        # A signal is no operator to ask, and a "yes, quit" was already given.
        guard.release()
        window.scheduler.stop()
        await running.aclose()
        if window.isVisible():
            window.close()
        console.close()


def guard_quit(console: Console) -> QuitGuard:
    """Closing the window while an action runs asks first (every way of closing it)."""
    from opsconsole.ui.quitguard import QuitGuard

    runner = console.runner
    return QuitGuard(
        console.window,
        lambda: [f"{intent.describe()} on {intent.backend}" for intent in runner.in_flight],
    )


def _has_saved_geometry(layouts: LayoutStore | None) -> bool:
    # `restore` ran in the window's constructor: "last" is what it restored from.
    return layouts is not None and "last" in layouts.names()


async def _until_closed(question: Awaitable[Plan | None], closed: asyncio.Event) -> Plan | None:
    """The first-run answer, or None when a signal asks us to stop before it is given."""
    answer = asyncio.ensure_future(question)
    stop = asyncio.ensure_future(closed.wait())
    try:
        await asyncio.wait({answer, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (answer, stop):
            task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await answer
    return answer.result() if answer.done() and not answer.cancelled() else None


async def _first_run(plan: Plan) -> Plan | None:
    """No flags and no config: ask what to watch (demo, Ops API or Prometheus URL)."""
    from opsconsole.ui.firstrun import ask_first_run

    choice = await ask_first_run(None)
    if choice is None:
        return None
    path = plan.config_path or config_dir() / CONFIG_FILE
    if choice.remember:
        try:
            remember_choice(choice.kind, choice.url, path)
        except OSError as exc:  # e.g. written meanwhile, or a read-only home
            log.warning("first run: could not save the choice to %s: %s", path, exc)
    return plan_from_choice(choice.kind, choice.url, path)


async def _demo_address(demo: DemoProcess) -> DemoProcess:
    """The demo backend once it listens; stopped and `TimeoutError` if it never says where."""
    try:
        ready = await asyncio.wait_for(asyncio.to_thread(demo.wait_url), DEMO_START_TIMEOUT_S)
        mark("demo backend's URL read")
        return ready
    except BaseException:
        await asyncio.to_thread(demo.stop)
        raise


def _install_signal_handlers(closed: asyncio.Event) -> None:
    """Ctrl-C and SIGTERM close the window in order instead of killing it mid-write.

    Through the loop's own wake-up pipe, not a bare `signal.signal`: Python runs a plain
    handler only when it next runs bytecode, and while Qt waits for input with no Python timer
    due (the first-run question) that is never, so the signal went unanswered.
    """
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, closed.set)
        except (NotImplementedError, RuntimeError, ValueError):
            # No wake-up pipe on this loop (Windows) or not the main thread (tests).
            with contextlib.suppress(ValueError):
                signal.signal(sig, lambda *_: loop.call_soon_threadsafe(closed.set))
    if stop_signal_came():  # while Qt and the panels were still being imported
        closed.set()

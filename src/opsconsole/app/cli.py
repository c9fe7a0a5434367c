"""The `opsconsole` command: arguments, logging, and the choice of window or text mode."""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import sys
from collections.abc import Callable

from opsconsole import __version__
from opsconsole.app.demoprocess import CHILD_FLAG, DemoProcess
from opsconsole.app.earlysignals import remember_stop_signals
from opsconsole.app.starttrace import mark
from opsconsole.backends.secrets import install_log_redaction

log = logging.getLogger("opsconsole")


DAY_S = 86400.0


def _seconds(most: float | None = None) -> Callable[[str], float]:
    """An argparse type: a finite number of seconds above zero (and at most `most`)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        # nan and inf parse as floats, yet no timer can wait for them.
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds")
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds above 0")
        if most is not None and value > most:
            raise argparse.ArgumentTypeError(f"{text!r}: at most {most:g} seconds")
        return value

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="opsconsole",
        description="Operations console for SREs and NOC staff.",
        epilog="other commands: 'opsconsole audit verify|show' (the audit log: check it, "
        "list it for a post-mortem; see 'opsconsole audit show --help'), "
        "'opsconsole auth set|delete|status' (backend tokens), "
        "'opsconsole slo report' (a Markdown error budget report), "
        "'opsconsole postmortem INCIDENT|last [--out DIR]' (an incident's post-mortem draft), "
        "'opsconsole investigate SERVICE [--json]' (the triage checks, headless), "
        "'opsconsole loadtest watch|report NAME' (referee a [[loadtest]], headless)",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--demo", action="store_true", help="run against the built-in backend")
    src.add_argument("--url", help="an Ops API v1 backend, e.g. http://127.0.0.1:8080")
    p.add_argument(
        "--config",
        metavar="FILE",
        help="backends and keys from this TOML file (default: config.toml in the config folder)",
    )
    p.add_argument("--token-env", metavar="VAR", help="read the bearer token from this variable")
    p.add_argument("--no-verify-tls", action="store_true", help="do not verify TLS (INSECURE)")
    p.add_argument(
        "--self-test",
        action="store_true",
        help="start, wait for the first live data on screen, print one JSON line, exit",
    )
    p.add_argument(
        "--self-test-timeout",
        type=_seconds(DAY_S),
        default=20.0,
        metavar="S",
        help="self-test: give up after S seconds without live data (default 20)",
    )
    p.add_argument("--screenshot", metavar="PATH", help="self-test: also save a PNG of the window")
    p.add_argument("--text", action="store_true", help="no window: print a status line instead")
    wall = p.add_argument_group("wall display")
    wall.add_argument("--wall", action="store_true", help="fullscreen read-only NOC wall display")
    wall.add_argument(
        "--screen",
        type=int,
        default=None,
        metavar="N",
        help="wall: screen N (0 = first; default the primary screen)",
    )
    wall.add_argument(
        "--rotate",
        type=_seconds(DAY_S),
        default=None,
        metavar="S",
        help="wall: next page every S seconds (holds on a critical page)",
    )
    wall.add_argument("--lock", action="store_true", help="wall: Esc does not leave wall mode")
    p.add_argument("--layout", metavar="NAME", help="start with this named layout")
    p.add_argument(
        "--status-every",
        type=_seconds(DAY_S),
        default=2.0,
        metavar="S",
        help="text mode: print the live status every S seconds",
    )
    p.add_argument(
        "--duration",
        type=_seconds(),
        default=None,
        metavar="S",
        help="text mode: exit after S seconds",
    )
    p.add_argument("-v", "--verbose", action="store_true")
    p.add_argument("--version", action="version", version=f"opsconsole {__version__}")
    return p.parse_args(argv)


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not verbose:
        # httpx logs every request at INFO: a Prometheus backend alone makes 9 a step.
        logging.getLogger("httpx").setLevel(logging.WARNING)
    install_log_redaction()


def _display_available() -> bool:
    """False on a Linux box without a screen, where Qt's default platform would abort."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def skip_httpx_command_line() -> None:
    """Keep httpx from importing its own command-line client, which the console never runs.

    `import httpx` imports `httpx._main` whenever click and rich happen to be installed (a
    developer's tools bring them), and with them pygments: a tenth of a second of every start
    spent on terminal colours. A None entry makes that import fail, and httpx falls back to
    its stub, as on an operator's machine without them (the bundle leaves them out too).
    """
    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[assignment]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    mark("main entered")
    skip_httpx_command_line()
    if argv[:1] == [CHILD_FLAG]:  # a frozen console re-entered as its own demo backend
        from opsconsole.sim.child import main as demo_backend_main

        return demo_backend_main(argv[1:])
    if argv[:1] == ["audit"]:
        from opsconsole.app.auditcli import audit_main

        return audit_main(argv[1:])
    if argv[:1] == ["auth"]:
        from opsconsole.app.authcli import auth_main

        configure_logging(False)
        return auth_main(argv[1:])
    if argv[:1] == ["investigate"]:
        from opsconsole.app.investigatecli import investigate_main

        configure_logging(False)
        return investigate_main(argv[1:])
    if argv[:1] == ["postmortem"]:
        from opsconsole.app.postmortem import postmortem_main

        configure_logging(False)
        return postmortem_main(argv[1:])
    if argv[:1] == ["loadtest"]:
        from opsconsole.app.loadtestcli import loadtest_main

        configure_logging(False)
        return loadtest_main(argv[1:])
    if argv[:1] == ["slo"]:
        from opsconsole.app.sloreport import slo_main

        configure_logging(False)
        return slo_main(argv[1:])
    args = parse_args(argv)
    if args.screenshot and not args.self_test:
        print("opsconsole: --screenshot needs --self-test", file=sys.stderr)
        return 2
    launched: list[DemoProcess] = []
    try:
        if args.demo and not args.text and (args.self_test or _display_available()):
            # Its backend first, before the config's and Qt's imports: its start runs on the
            # other core meanwhile. Every way out below stops it (the `finally`).
            remember_stop_signals()
            launched.append(DemoProcess.launch(verbose=args.verbose))
            mark("demo backend launched")
        return _start(args, launched)
    except KeyboardInterrupt:
        return 130
    finally:
        for demo in launched:
            demo.stop()  # reaped on every way out; a no-op after the orderly stop


def _start(args: argparse.Namespace, launched: list[DemoProcess]) -> int:
    """The console after its arguments: the config, then window or text mode.

    `launched` holds the demo backend's process when `main` launched it already (--demo);
    one launched here for a config's demo goes there too: the caller stops it on every way out.
    """
    configure_logging(args.verbose)
    # The file first: a broken config is the one thing to say, before any other notice.
    from opsconsole.app.backends import plan_from_args
    from opsconsole.core.config import ConfigError

    try:
        plan = plan_from_args(args)
    except ConfigError as exc:
        if all(problem.path is None for problem in exc.problems):  # an option, e.g. --url
            print(f"opsconsole: {exc}", file=sys.stderr)
        else:
            print(f"opsconsole: the configuration has problems:\n{exc}", file=sys.stderr)
        return 2
    if not args.text and not _display_available():
        if args.self_test:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        else:
            log.warning(
                "no display found (DISPLAY/WAYLAND_DISPLAY unset): printing the live status "
                "instead of opening the window; QT_QPA_PLATFORM=offscreen forces the window"
            )
            args.text = True
    if not args.text:
        # Until the window's loop takes the signals over, Ctrl-C and SIGTERM are remembered
        # for it: the start ends in order (exit 0, the demo backend stopped), not with -15.
        remember_stop_signals()
        # The demo backend first, before Qt is imported: its start runs on the other core.
        if plan.demo and not plan.first_run and not launched:
            launched.append(DemoProcess.launch(verbose=args.verbose))
            mark("demo backend launched")
    if args.text:
        from opsconsole.app.textmode import run_text_mode

        return asyncio.run(run_text_mode(args, plan))
    from opsconsole.app.malloctune import fix_mmap_threshold

    fix_mmap_threshold()  # before Qt's first image; app/malloctune.py says why
    from opsconsole.app.window import run_window

    return run_window(args, plan, launched[0] if launched else None)

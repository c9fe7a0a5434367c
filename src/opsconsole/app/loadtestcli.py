"""`opsconsole loadtest watch|report`: the load-test referee without a window (CI, terminals)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import TextIO

from opsconsole.app.backends import BackendClient, Plan, start_backends
from opsconsole.core.audit import AUDIT_FILE, AuditLog
from opsconsole.core.config import Config, ConfigError, load_config
from opsconsole.core.durations import age_text
from opsconsole.core.loadtest.spec import LoadTestSpec, value_text
from opsconsole.core.loadtest.view import WatchView
from opsconsole.core.paths import CONFIG_FILE, config_dir, data_dir
from opsconsole.core.store import Store

PROG = "opsconsole loadtest"
EXIT_CODES = """\
exit codes (watch), as k6 says how a run ended:
  0  the test ended and every success criterion held
  1  a success criterion failed (breached for its time)
  3  a stop condition (or a guard) held and the test was stopped
  2  wrong arguments, or a configuration with problems
  4  no test was watched: the tool never started one within --wait
"""
EXIT_NEVER_STARTED = 4
_STATE_WORDS = {
    "pass": "ok",
    "breaching": "BREACHING",
    "failed": "FAILED",
    "no data": "no data",
    "warming up": "warming up",
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Referee a load test from the server's side and the tool's side.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="verb", required=True, metavar="watch|report")
    watch = sub.add_parser(
        "watch",
        help="watch a [[loadtest]] live: one status line a second, stop it when a stop "
        "condition holds, exit with how it ended",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    watch.add_argument("name", metavar="NAME", help="the [[loadtest]]'s name")
    watch.add_argument("--config", metavar="FILE", help="the config file (default: the usual one)")
    watch.add_argument(
        "--wait",
        type=float,
        default=600.0,
        metavar="S",
        help="give up when the tool has not started a test after S seconds (default 600)",
    )
    report = sub.add_parser("report", help="write the report of the last watched run of NAME")
    report.add_argument("name", metavar="NAME")
    report.add_argument("--out", metavar="DIR", default=".", help="where (default: here)")
    return p


def _config(path_arg: str | None) -> tuple[Config, Path]:
    path = Path(path_arg) if path_arg else config_dir() / CONFIG_FILE
    return load_config(path), path


def _spec(config: Config, name: str) -> LoadTestSpec | str:
    for spec in config.loadtests:
        if spec.name == name:
            return spec
    names = ", ".join(s.name for s in config.loadtests) or "none"
    return f"no [[loadtest]] named {name!r} (configured: {names})"


def status_line(view: WatchView) -> str:
    """One line of the watch: the time, the phase, every criterion, the tool's own figures."""
    clock = datetime.fromtimestamp(view.now).strftime("%H:%M:%S")
    parts = [f"{clock} {view.phase_words}"]
    if view.phase in ("counting down", "held") and view.stop_reason is not None:
        left = age_text(view.countdown_left_s or 0.0)
        verb = "HELD with" if view.phase == "held" else "STOPPING in"
        parts.append(f"{verb} {left}: {view.stop_reason.words}")
    if view.stop_words:
        parts.append(f"stop: {view.stop_words}")
    for c in view.criteria:
        shown = "" if c.value is None else " " + value_text(c.criterion.signal, c.value)
        left = f" ({age_text(c.left_s)} left)" if c.left_s is not None else ""
        parts.append(f"{c.criterion.label}: {_STATE_WORDS.get(c.state, c.state)}{shown}{left}")
    stats = view.tool_stats
    if stats is not None:
        rps = "?" if stats.rps is None else f"{stats.rps:,.0f} rps"
        fails = "?" if stats.fail_ratio is None else f"{stats.fail_ratio * 100:.2f} % failed"
        parts.append(f"{view.tool}: {rps}, {fails}")
    parts += [f"WARNING {w}" for w in view.warnings]
    return " | ".join(parts)


async def watch(
    spec: LoadTestSpec,
    plan: Plan,
    *,
    wait_s: float,
    out: TextIO,
    audit_path: Path,
    records: Path | None,
) -> int:
    """Connect, watch the test to its end, print a line a second; the exit code."""
    from opsconsole.app.loadtestwatch import LoadTestWatch
    from opsconsole.backends.loadtools import tool_client

    store = Store()
    clients: dict[str, BackendClient] = {}
    running = await start_backends(plan, store.apply, clients)
    audit = AuditLog(audit_path)
    engine = LoadTestWatch(spec, store, tool_client(spec), audit, records=records)
    engine.changed.connect(lambda view: print(status_line(view), file=out, flush=True))
    task = asyncio.get_running_loop().create_task(engine.run())
    try:
        deadline = time.monotonic() + wait_s
        while not task.done():
            if engine.view.started is None and time.monotonic() >= deadline:
                task.cancel()
                tool = engine.tool_name
                print(f"{PROG}: {tool} at {spec.url} started no test in {wait_s:g} s", file=out)
                return EXIT_NEVER_STARTED
            await asyncio.wait({task}, timeout=1.0)
        result = task.result()
    finally:
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await running.aclose()
    print(f"{spec.name}: {result.verdict} (exit code {result.exit_code})", file=out)
    for c in result.criteria:
        violation = age_text(c.violation_s) if c.violation_s > 0 else "none"
        print(f"  {c.label}: {c.verdict}; time in violation {violation}", file=out)
    if engine.record_path is not None:
        print(f"report: opsconsole loadtest report {spec.name} --out DIR", file=out)
    return result.exit_code


def loadtest_main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help is 0, a wrong argument 2
        return int(exc.code or 0)
    if args.verb == "report":
        return _report(args.name, Path(args.out))
    if not 0 < args.wait < float("inf"):
        print(f"{PROG}: --wait must be a number of seconds above 0", file=sys.stderr)
        return 2
    try:
        config, path = _config(args.config)
    except ConfigError as exc:
        print(f"{PROG}: the configuration has problems:\n{exc}", file=sys.stderr)
        return 2
    spec = _spec(config, args.name)
    if isinstance(spec, str):
        print(f"{PROG}: {spec}", file=sys.stderr)
        return 2
    if not config.backends:
        print(f"{PROG}: {path} has no [[backend]] to watch the services on", file=sys.stderr)
        return 2
    # A link's reconnect notes are for the console's log; the status line says what matters.
    logging.getLogger("opsconsole.backends").setLevel(logging.WARNING)
    plan = Plan(config.backends, config_path=path)
    from opsconsole.app.loadtestrecords import records_dir

    try:
        return asyncio.run(
            watch(
                spec,
                plan,
                wait_s=args.wait,
                out=sys.stdout,
                audit_path=data_dir() / AUDIT_FILE,
                records=records_dir(),
            )
        )
    except KeyboardInterrupt:
        return 130


def _report(name: str, out: Path) -> int:
    from opsconsole.app.loadtestrecords import latest_run, records_dir
    from opsconsole.app.loadtestreport import write_run_report

    try:
        run = latest_run(name, records_dir())
    except ValueError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    if run is None:
        print(
            f"{PROG}: no watched run of {name!r} is kept in {records_dir()}; "
            f"watch it first (opsconsole loadtest watch {name})",
            file=sys.stderr,
        )
        return 2
    try:
        path = write_run_report(run, out)
    except OSError as exc:
        print(f"{PROG}: cannot write the report in {out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(path)
    return 0

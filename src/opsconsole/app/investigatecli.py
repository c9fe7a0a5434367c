"""`opsconsole investigate SERVICE`: the investigation without a window, for scripts and bots."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import sys
import time

from opsconsole.app.backends import BackendClient, Plan, start_backends
from opsconsole.app.investigator import InvestigationRun, Investigator, UnknownService
from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.backends.secrets import Secret
from opsconsole.core.investigate import Verdict
from opsconsole.core.models import ConnectionState
from opsconsole.core.store import Store

EXIT_CODES = """\
exit codes:
  0  the investigation ran (findings that could not look are in the output)
  1  no backend answered, or none knows the service
  2  wrong arguments, or a configuration with problems
"""
PROG = "opsconsole investigate"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Connect to the backends, run the triage checks on SERVICE and print the "
        "findings (interesting first, the likely cause above its effects).",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("service", metavar="SERVICE")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--config", metavar="FILE", help="the backends of this TOML file")
    src.add_argument("--url", metavar="URL", help="one Ops API v1 backend")
    p.add_argument("--json", action="store_true", help="print the run as JSON")
    p.add_argument(
        "--timeout",
        type=float,
        default=15.0,
        metavar="S",
        help="wait at most S seconds for the backends' live data (default 15)",
    )
    p.add_argument("--token-env", metavar="VAR", help="--url: the bearer token's variable")
    p.add_argument("--no-verify-tls", action="store_true", help="do not verify TLS (INSECURE)")
    return p


async def _ready(store: Store, clients: dict[str, BackendClient], timeout_s: float) -> None:
    """Until every backend is live with its history loaded, or the time is up (the ones that
    are not then say "could not look" in the findings)."""

    def settled() -> bool:
        for name, client in clients.items():
            if store.backend(name).link.state is not ConnectionState.LIVE:
                return False
            if isinstance(client, OpsApiClient) and not client.history.done.is_set():
                return False
        return True

    changed = asyncio.Event()
    wake = lambda *_: changed.set()  # noqa: E731 - a signal slot
    store.connection_changed.connect(wake)
    store.metrics_appended.connect(wake)
    deadline = time.monotonic() + timeout_s
    try:
        while not settled():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(left, 0.5))
    finally:
        store.connection_changed.disconnect(wake)
        store.metrics_appended.disconnect(wake)


async def investigate(
    plan: Plan, service: str, timeout_s: float, url_token: Secret | None = None
) -> InvestigationRun | str:
    """The run, or why there is none."""
    store = Store()
    clients: dict[str, BackendClient] = {}
    running = await start_backends(plan, store.apply, clients, url_token=url_token)
    try:
        await _ready(store, clients, timeout_s)
        investigator = Investigator(store, clients, lambda: ())
        try:
            return await investigator.run(service)
        except UnknownService as exc:
            return str(exc)
    finally:
        await running.aclose()


def run_text(run: InvestigationRun) -> str:
    """The findings as plain lines: the verdict, the check and its sentence."""
    lines = [
        f"{run.service}: {len(run.findings)} finding(s) in {run.finished_ts - run.started_ts:.1f} s"
    ]
    for f in run.findings:
        lines.append(f"{f.verdict.value.upper():11} {f.check:15} {f.sentence}")
        if f.verdict is Verdict.INTERESTING and f.evidence.query:
            lines.append(f"{'':27} query: {f.evidence.query}")
    return "\n".join(lines)


def investigate_main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help is 0, a wrong argument 2
        return int(exc.code or 0)
    if not 0 < args.timeout < math.inf:
        print(f"{PROG}: --timeout must be a number of seconds above 0", file=sys.stderr)
        return 2
    from opsconsole.app.backends import token_from
    from opsconsole.app.headless import headless_plan

    plan = headless_plan(args, PROG, "no backend to ask")
    if plan is None:
        return 2
    # A link's reconnect notes are for the console's log; here the findings say it once.
    logging.getLogger("opsconsole.backends").setLevel(logging.WARNING)
    result = asyncio.run(investigate(plan, args.service, args.timeout, token_from(args)))
    if isinstance(result, str):
        print(f"{PROG}: {result}", file=sys.stderr)
        return 1
    if all(
        f.sentence.startswith("could not look") for f in result.findings if f.check != "telemetry"
    ):
        print(f"{PROG}: no backend answered; every check could not look", file=sys.stderr)
        print(json.dumps(result.as_json(), indent=2) if args.json else run_text(result))
        return 1
    print(json.dumps(result.as_json(), indent=2) if args.json else run_text(result))
    return 0

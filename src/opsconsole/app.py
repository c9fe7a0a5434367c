"""Bootstrap: arguments, logging, the one event loop, wiring, orderly shutdown."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import os
import signal
import sys
import time

from opsconsole import __version__
from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.backends.secrets import Secret, install_log_redaction
from opsconsole.core.models import ConnectionState
from opsconsole.core.store import Store

log = logging.getLogger("opsconsole")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="opsconsole", description="Operations console for SREs and NOC staff."
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--demo", action="store_true", help="run against the built-in backend")
    src.add_argument("--url", help="an Ops API v1 backend, e.g. http://127.0.0.1:8080")
    p.add_argument("--token-env", metavar="VAR", help="read the bearer token from this variable")
    p.add_argument("--no-verify-tls", action="store_true", help="do not verify TLS (INSECURE)")
    p.add_argument(
        "--status-every",
        type=float,
        default=2.0,
        metavar="S",
        help="text mode: print the live status every S seconds",
    )
    p.add_argument(
        "--duration", type=float, default=None, metavar="S", help="text mode: exit after S seconds"
    )
    p.add_argument("-v", "--verbose", action="store_true")
    p.add_argument("--version", action="version", version=f"opsconsole {__version__}")
    return p.parse_args(argv)


def status_line(store: Store, client: OpsApiClient) -> str:
    """One line for the terminal: link state, data age, per-service p99/rps/errors."""
    state = store.backend(client.name)
    link = client.status
    age = store.data_age(client.name)
    head = f"[{client.name}] {link.state.value}"
    if link.transport is not None:
        head += f" via {link.transport.value}"
    if link.retry_in_s is not None and link.state is ConnectionState.RECONNECTING:
        head += f" (retry in {link.retry_in_s:.1f} s)"
    if age is not None:
        head += f", data age {age:.1f} s"
    cells = []
    for name in sorted(state.services)[:8]:
        ring = state.series.get(name)
        latest = ring.latest() if ring is not None else None
        if latest is None:
            continue
        p99 = latest["latency_p99_ms"]
        cells.append(
            f"{name} p99 {'—' if math.isnan(p99) else f'{p99:.0f}ms'}"
            f" {latest['rps']:.0f}rps err {latest['error_ratio'] * 100:.2f}%"
        )
    return head + ("\n  " + " | ".join(cells) if cells else "")


async def run_text_mode(args: argparse.Namespace) -> int:
    """Until the window lands: connect, keep the store live and print a status line."""
    embedded = None
    if args.demo or not args.url:
        from opsconsole.sim.embedded import start_in_thread

        embedded = await asyncio.to_thread(start_in_thread)
        url, token = embedded.url, None
        print(f"opsconsole: demo backend listening on {url}", flush=True)
    else:
        url = args.url
        value = os.environ.get(args.token_env, "") if args.token_env else ""
        token = Secret(value) if value else None
    store = Store()
    client = OpsApiClient(
        "demo" if args.demo or not args.url else "backend",
        url,
        store.apply,
        token=token,
        verify_tls=not args.no_verify_tls,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    client.start()
    started = time.monotonic()
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), args.status_every)
            print(status_line(store, client), flush=True)
            if args.duration is not None and time.monotonic() - started >= args.duration:
                break
    finally:
        await client.aclose()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
    return 0


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    install_log_redaction()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging(args.verbose)
    try:
        return asyncio.run(run_text_mode(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

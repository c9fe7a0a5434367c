"""Text mode: no window, a live status line per backend on stdout (for boxes without a screen)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import signal
import time

from opsconsole.app.cli import token_from
from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.core.models import ConnectionState
from opsconsole.core.store import Store


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
    """Headless: connect, keep the store live and print a status line."""
    embedded = None
    if args.demo or not args.url:
        from opsconsole.sim.embedded import start_in_thread

        embedded = await asyncio.to_thread(start_in_thread)
        url, token = embedded.url, None
        print(f"opsconsole: demo backend listening on {url}", flush=True)
    else:
        url, token = args.url, token_from(args)
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

"""Text mode: no window, a live status line per backend on stdout (for boxes without a screen)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import signal
import time

from opsconsole.app.backends import BackendClient, Plan, start_backends, token_from
from opsconsole.core.models import ConnectionState
from opsconsole.core.store import Store
from opsconsole.core.words import age_text
from opsconsole.sim.embedded import start_in_thread


def status_line(store: Store, name: str) -> str:
    """One line for the terminal: link state, data age, per-service p99/rps/errors."""
    state = store.backend(name)
    link = state.link
    age = store.data_age(name)
    head = f"[{name}] {link.state.value}"
    if state.info is not None and state.info.insecure:
        head += " INSECURE (TLS not verified)"
    if link.transport is not None:
        head += f" via {link.transport.value}"
    if link.retry_in_s is not None and link.state is ConnectionState.RECONNECTING:
        head += f" (retry in {link.retry_in_s:.1f} s)"
    if age is not None:
        head += f", data age {age_text(age)}"  # as in the status bar: "0.4 s", "12 s"
    if link.detail:
        # Said while LIVE too: "server data 30 s behind" is news, not noise.
        head += f": {link.detail}"
    cells = []
    for service in sorted(state.services)[:8]:
        ring = state.series.get(service)
        latest = ring.latest() if ring is not None else None
        if latest is None:
            continue
        p99, rps, err = latest["latency_p99_ms"], latest["rps"], latest["error_ratio"]
        if math.isnan(p99) and rps == 0:
            latency = "no traffic"
        else:
            latency = "p99 —" if math.isnan(p99) else f"p99 {p99:.0f}ms"
        cells.append(
            f"{service} {latency} {'—' if math.isnan(rps) else f'{rps:.0f}'}rps"
            f" err {'—' if math.isnan(err) else f'{err * 100:.2f}%'}"
        )
    firing = sum(1 for a in state.alerts.values() if a.state == "firing")
    if firing:
        cells.append(f"{firing} alert(s) firing")
    return head + ("\n  " + " | ".join(cells) if cells else "")


async def run_text_mode(args: argparse.Namespace, plan: Plan) -> int:
    """Headless: connect, keep the store live and print a status line per backend."""
    store = Store()
    embedded = asyncio.ensure_future(asyncio.to_thread(start_in_thread)) if plan.demo else None
    clients: dict[str, BackendClient] = {}
    running = await start_backends(
        plan, store.apply, clients, embedded=embedded, url_token=token_from(args)
    )
    if running.embedded is not None:
        print(f"opsconsole: demo backend listening on {running.embedded.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    started = time.monotonic()
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), args.status_every)
            for name in clients:
                print(status_line(store, name), flush=True)
            if args.duration is not None and time.monotonic() - started >= args.duration:
                break
    finally:
        await running.aclose()
    return 0

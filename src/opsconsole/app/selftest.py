"""`--self-test`: wait for live data on screen, report startup figures as one JSON line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from opsconsole.backends.secrets import redact
from opsconsole.core.models import ConnectionState
from opsconsole.core.store import Store
from opsconsole.core.urls import without_credentials

if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtWidgets import QWidget

    from opsconsole.ui.context import UiContext
    from opsconsole.ui.mainwindow import MainWindow

_IMPORTED_AT = time.monotonic()


def process_age_s() -> float:
    """Seconds since this process was created (Linux), else since this module was imported."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED_AT


async def self_test(
    args: argparse.Namespace,
    ctx: UiContext,
    backends: list[str],
    window: MainWindow,
    startup_s: float,
    on_screen: Callable[[], QWidget] | None = None,
) -> int:
    """Wait for live data on screen; print one JSON line; 0 on success, 1 with a reason."""
    stats = ctx.stats
    store = ctx.store
    painted = asyncio.Event()
    stats.on_first_data(painted.set)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(painted.wait(), args.self_test_timeout)

    def links() -> dict[str, str]:
        return {name: store.backend(name).link.state.value for name in backends}

    first = store.backend(backends[0]) if backends else None
    report: dict[str, object] = {
        "ok": stats.first_data_painted_at is not None,
        "startup_s": round(startup_s, 3),
        "first_data_s": None,
        "frames_painted": stats.frames_painted,
        "invalid_frames": sum(sum(store.backend(n).invalid_frames.values()) for n in backends),
        "transport": first.link.transport.value if first and first.link.transport else None,
        "backend_state": first.link.state.value if first else None,
        "backends": links(),
    }
    if stats.first_data_painted_at is None:
        words = "; ".join(_describe(store, name) for name in backends) or "no backend configured"
        report["reason"] = f"no live data painted within {args.self_test_timeout:g} s: {words}"
        _print_report(report)
        return 1
    painted_ago_s = time.monotonic() - stats.first_data_painted_at
    report["first_data_s"] = round(process_age_s() - painted_ago_s, 3)
    # Wall clock, so a launcher can time it from its own start (bench/startup.py).
    report["first_data_at"] = round(time.time() - painted_ago_s, 4)
    if args.screenshot:
        window.finish_build()  # the picture shows every panel, the charts' included
        # Let every panel catch up with a few frames before the picture is taken.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5.0):
                await window.scheduler.frames(3)
        path = Path(args.screenshot)
        path.parent.mkdir(parents=True, exist_ok=True)
        target = on_screen() if on_screen is not None else window
        if not target.grab().save(str(path), "PNG"):
            report["ok"] = False
            report["reason"] = f"could not write the screenshot to {path}"
        report["screenshot"] = str(path)
    report["frames_painted"] = stats.frames_painted
    report["backends"] = links()
    report["backend_state"] = first.link.state.value if first else None
    # Every backend must be live: a self-test that passes with one link down would lie.
    live = all(store.backend(n).link.state is ConnectionState.LIVE for n in backends)
    if report["ok"] and not live:
        report["ok"] = False
        report["reason"] = "; ".join(
            _describe(store, n)
            for n in backends
            if store.backend(n).link.state is not ConnectionState.LIVE
        )
    _print_report(report)
    return 0 if report["ok"] else 1


def _print_report(report: dict[str, object]) -> None:
    # Link details quote what backends and libraries said: no token or password goes out.
    print(redact(json.dumps(report)), flush=True)


def _describe(store: Store, name: str) -> str:
    state = store.backend(name)
    where = f" ({without_credentials(state.info.url)})" if state.info is not None else ""
    detail = f" ({state.link.detail})" if state.link.detail else ""
    return f"backend {name}{where} is {state.link.state.value}{detail}"

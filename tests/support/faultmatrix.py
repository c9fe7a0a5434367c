"""The fault matrix: each fault of targets.md run against the real window, its screen judged.

One run: a reference backend on its own thread, the TCP fault proxy in front of it (on the
console's loop), and the whole console (window, status bar, store, Ops API client) behind it.
A probe reads the status bar's exact text every 100 ms and compares it with the truth known
from the backend itself: LIVE must never stand over data older than the stale limit, a shown
age must never go down while no newer sample arrived. It also measures the time to detect
the fault, the time to recover once it is removed, holes left in the data after a resume,
exceptions left in any task, and the event loop's worst stall.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from opsconsole.app.wiring import build_console
from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.backends.secrets import Secret
from opsconsole.core.models import ConnectionState, Transport
from opsconsole.core.store import Store
from opsconsole.sim.config import SimConfig
from opsconsole.sim.embedded import EmbeddedSim, start_in_thread
from opsconsole.ui.context import Selection, UiContext
from tests.support.tcpproxy import FaultProxy
from tests.support.waiting import wait_until
from tests.support.wsproxy import FrameProxy

# Every fault run's figures, printed at the end of the session (tests/conftest.py).
RESULTS: list[FaultResult] = []
TICK_S = 0.2
STALE_LIMIT_S = 3.0
# A probe sees the screen up to one probe period and one repaint late, and a tick may be
# on its way: what LIVE may stand over without being a lie.
LIVE_SLACK_S = 0.6
PROBE_S = 0.1
TOKEN = "matrix-token-5512"
AGE_WORDS = re.compile(
    r"(?:data|STALE|last data)\s+(?:(\d+) h (\d+) min|(\d+) min (\d+) s|([\d.]+) s)"
)


@dataclass
class Rig:
    """Everything one fault run touches."""

    sim: EmbeddedSim
    proxy: FaultProxy | None
    frames: FrameProxy | None
    client: OpsApiClient
    store: Store
    console: Any
    config: SimConfig
    port: int  # the backend's port (kept across restarts)

    def newest_backend_ts(self) -> float | None:
        """The newest sample the console holds, on the backend's clock."""
        ts = self.store.backend("sim").newest_data_ts
        return None if ts is None else ts - self.client.session.shift

    def backend_now(self) -> float:
        server = self.sim.server
        return server.now() if server is not None else time.time()

    def restart(self, **config: Any) -> None:
        self.sim.stop()
        self.config = SimConfig(**{**self.config.__dict__, **config})
        self.sim = start_in_thread(self.config, port=self.port)


Step = Callable[[Rig], Awaitable[None] | None]


@dataclass(frozen=True)
class Fault:
    name: str
    apply: Step
    remove: Step | None = None
    hold_s: float = 6.0  # how long the fault stays before it is removed
    sim: dict[str, Any] = field(default_factory=dict)
    transports: tuple[Transport, ...] = (Transport.WEBSOCKET, Transport.SSE, Transport.POLLING)
    expect_detect: bool = True  # the screen must leave LIVE while it lasts
    resumable: bool = True  # after it, the data has no hole (replayed by seq)
    tls: bool = False  # the backend serves a self-signed certificate; the link cannot recover
    token: bool = False  # the backend wants TOKEN
    frames: bool = False  # a WebSocket frame proxy in front instead of the TCP one
    recover_within_s: float | None = None  # targets.md: streaming again ≤ 1 s (+ probe slack)


@dataclass
class FaultResult:
    name: str
    samples: int = 0
    lies: list[str] = field(default_factory=list)
    detect_s: float | None = None
    recover_s: float | None = None
    holes: int = 0
    task_errors: list[str] = field(default_factory=list)
    worst_stall_ms: float = 0.0
    words: list[str] = field(default_factory=list)  # distinct state words seen, in order

    @property
    def ok(self) -> bool:
        return not self.lies and not self.task_errors and self.holes == 0

    def line(self) -> str:
        def fmt(v: float | None) -> str:
            return "   -  " if v is None else f"{v:6.2f}"

        verdict = "ok  " if self.ok else "FAIL"
        shown = " > ".join(self.words)
        return (
            f"{verdict} {self.name:<28} detect {fmt(self.detect_s)} s  recover "
            f"{fmt(self.recover_s)} s  holes {self.holes}  stall {self.worst_stall_ms:5.0f} ms  "
            f"samples {self.samples}  lies {len(self.lies)}  [{shown}]"
        )


def summary_lines() -> list[str]:
    if not RESULTS:
        return []
    return [
        "fault matrix (seconds; detect = to a non-LIVE word; holes = ticks missing after a",
        "resume; stall = the event loop's worst lateness; lies = untrue status-bar moments):",
        *("  " + r.line() for r in RESULTS),
    ]


def shown_age(text: str) -> float | None:
    match = AGE_WORDS.search(text)
    if match is None:
        return None
    h, hm, m, ms, s = match.groups()
    if h is not None:
        return int(h) * 3600 + int(hm) * 60
    if m is not None:
        return int(m) * 60 + int(ms)
    return float(s)


def word_of(text: str) -> str:
    """The state word after the backend's name: "● sim  LIVE · …" → "LIVE"."""
    rest = text.split("  ", 1)[-1].removeprefix("INSECURE ")
    for word in ("LIVE", "STALE", "RECONNECTING", "AUTH FAILED", "CONNECTING", "STOPPED"):
        if rest.startswith(word):
            return word
    return rest[:12]


def self_signed_context(folder: Path) -> ssl.SSLContext:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def run_fault(fault: Fault, folder: Path) -> FaultResult:
    """Run one fault against a whole console; returns its figures (never raises on a lie)."""
    result = FaultResult(fault.name)
    loop = asyncio.get_running_loop()
    errors: list[str] = []
    previous_handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: errors.append(str(context.get("message"))))
    config = SimConfig(
        tick_s=TICK_S, heartbeat_s=0.5, token=TOKEN if fault.token else None, **fault.sim
    )
    tls = self_signed_context(folder) if fault.tls else None
    sim = start_in_thread(config, ssl_context=tls)
    port = int(sim.url.rsplit(":", 1)[1])
    proxy = frames = None
    url = sim.url
    if fault.frames:
        frames = FrameProxy(sim.url.replace("http", "ws", 1) + "/api/v1/stream")
        await frames.start()
        url = frames.url
    elif not fault.tls:
        proxy = FaultProxy("127.0.0.1", port)
        await proxy.start()
        url = proxy.url
    store = Store(capacity=3600)
    ctx = UiContext(store, Selection())
    client = OpsApiClient(
        "sim",
        url,
        store.apply,
        token=Secret(TOKEN) if fault.token else None,
        transports=fault.transports,
        history_s=0,
    )
    console = build_console(
        ctx,
        {"sim": client},
        audit_path=folder / "audit.jsonl",
        timeline_path=folder / "timeline.sqlite3",
    )
    window = console.window
    window.resize(1366, 768)
    window.show()
    window.start()
    rig = Rig(sim, proxy, frames, client, store, console, config, port)
    stall = _StallMeter()
    stall.start()
    try:
        client.start()
        if not fault.tls:
            await wait_until(lambda: client.status.state is ConnectionState.LIVE, 15, "LIVE")
            # A steady state before the fault: the status bar drawn LIVE and a few ticks held.
            await wait_until(
                lambda: (
                    word_of(window.status.text_for("sim")) == "LIVE"
                    and len(store.backend("sim").series.get("orders") or ()) >= 5
                ),
                15,
                "a steady LIVE screen",
            )
        applied = time.monotonic()
        await _call(fault.apply, rig)
        removed_at: float | None = None
        recovered_at: float | None = None
        last_text = ""
        last_age: float | None = None
        recent: deque[float | None] = deque(maxlen=6)
        deadline = applied + fault.hold_s + 20.0
        while time.monotonic() < deadline:
            await asyncio.sleep(PROBE_S)  # the probe's period: it samples, it does not wait
            now = time.monotonic()
            if removed_at is None and now - applied >= fault.hold_s:
                if fault.remove is not None:
                    await _call(fault.remove, rig)
                removed_at = time.monotonic()
            text = window.status.text_for("sim")
            word, age = word_of(text), shown_age(text)
            newest = rig.newest_backend_ts()
            true_age = None if newest is None else rig.backend_now() - newest
            result.samples += 1
            if not result.words or result.words[-1] != word:
                result.words.append(word)
            if word == "LIVE" and true_age is not None and true_age > STALE_LIMIT_S + LIVE_SLACK_S:
                result.lies.append(f"LIVE over data {true_age:.1f} s old: {text!r}")
            recent.append(newest)
            # The status bar redraws ages at most every 0.2 s: a newer sample may reach the text
            # a few probes after the store. Only an age that drops while the newest sample
            # stayed the same for the last 0.5 s is a lie; whole-second texts may drop by the
            # rounding ("3.2 s" → "STALE 3 s").
            steady = len(recent) == recent.maxlen and all(n == newest for n in recent)
            slack = 0.15 if "." in (AGE_WORDS.search(text) or [""])[0] else 1.0
            if age is not None and last_age is not None and steady and age < last_age - slack:
                result.lies.append(f"age went back {last_age} → {age}: {last_text!r} → {text!r}")
            if result.detect_s is None and word != "LIVE":
                result.detect_s = now - applied
            # A fault with a removal step recovers from its removal; one that is over at once
            # (a reset, a forged hello) from the moment it struck, once the screen left LIVE.
            since = applied if fault.remove is None else removed_at
            if (
                since is not None
                and word == "LIVE"
                and recovered_at is None
                and (fault.remove is not None or result.detect_s is not None)
            ):
                recovered_at = now
                result.recover_s = now - since
            if recovered_at is not None and now - recovered_at > 2.0:
                break
            unseen = fault.remove is None and result.detect_s is None
            if unseen and now - applied > fault.hold_s + 3:
                break  # over at once and never shown: nothing left to watch
            last_text, last_age = text, age
        if fault.expect_detect and result.detect_s is None:
            result.lies.append("the fault was never shown: LIVE throughout")
        late = fault.recover_within_s
        if late is not None and result.recover_s is not None and result.recover_s > late:
            result.lies.append(f"recovered only {result.recover_s:.1f} s after (target {late} s)")
        if not fault.tls and fault.remove is not None and result.recover_s is None:
            result.lies.append("did not recover within 20 s of the fault's removal")
        if fault.resumable and recovered_at is not None:
            result.holes = _holes(rig, applied - 1.0)
        if client._task is None or client._task.done():
            errors.append("the link task ended")
        if client.stats.defects:
            errors.append(f"{client.stats.defects} unexpected exception(s) in the link")
    finally:
        result.worst_stall_ms = stall.stop()
        await client.aclose()
        if proxy is not None:
            await proxy.stop()
        if frames is not None:
            await frames.stop()
        rig.sim.stop()
        console.close()
        window.close()
        window.deleteLater()
        loop.set_exception_handler(previous_handler)
    result.task_errors = errors
    return result


def _holes(rig: Rig, since_local: float) -> int:
    """Backend ticks since `since` that the console does not hold (resumed links only)."""
    server = rig.sim.server
    if server is None:
        return 0
    row = server.world.index["orders"]
    ticks, _ = server.world.history.series(row, 0)
    held = rig.store.backend("sim").series.get("orders")
    if held is None:
        return len(ticks)
    times = held.times() - rig.client.session.shift
    start = times[0] if times.size else np.inf
    end = times[-1] if times.size else -np.inf
    # Only the span the console covers: the newest tick may still be on its way.
    wanted = ticks[(ticks >= start) & (ticks <= end)]
    found = np.isin(np.round(wanted, 4), np.round(times, 4))
    return int((~found).sum())


async def _call(step: Step, rig: Rig) -> None:
    out = step(rig)
    if asyncio.iscoroutine(out):
        await out


class _StallMeter:
    """The event loop's worst lateness: a 20 ms ticker measures how late it wakes."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.02)
            self.worst = max(self.worst, time.monotonic() - before - 0.02)

    def stop(self) -> float:
        if self._task is not None:
            self._task.cancel()
        return self.worst * 1000


def temp_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="opsconsole-faults-"))

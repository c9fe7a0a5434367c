"""The Prometheus adapter against VictoriaMetrics as Debian packages it (default flags).

VictoriaMetrics keeps the newest 30 s out of its answers (`-search.latencyOffset`): an instant
query for "now" is evaluated 30 s back, and range points in the last 30 s are copies of an
older one or left out. The console must learn that, read where the data is, say so, and never
show LIVE while nothing new arrives.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from opsconsole.backends.prometheus import PrometheusClient
from opsconsole.core.events import MetricsBatch, StoreEvent
from opsconsole.core.models import ConnectionState
from opsconsole.core.promql import decode_answer, render_queries, stale_after
from opsconsole.core.store import Store
from tests.support.promstack import Daemon, restart, start_victoriametrics

STEP_S = 1.0
WINDOW = "4s"
SAMPLE_SERVICES = ("api-gateway", "orders", "payments")
DEFAULT_OFFSET_S = 30.0  # VictoriaMetrics' -search.latencyOffset default
POLL_S = 0.1  # how often the tests look at the link


def _host(url: str) -> str:
    return url.removeprefix("http://")


@pytest.fixture
async def victoriametrics(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """`await victoriametrics(targets=[...], flags=(...))`: started fresh, stopped at the end."""
    started: list[Daemon] = []

    async def start(targets: list[str], flags: tuple[str, ...] = ()) -> Daemon:
        daemon = await start_victoriametrics(tmp_path / f"vm{len(started)}", targets, flags=flags)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.stop()


@dataclass
class Watched:
    """A client feeding its own store, with the arrival time of every batch of new rows."""

    client: PrometheusClient
    store: Store
    new_rows_at: list[float] = field(default_factory=list)  # monotonic

    @property
    def link(self) -> Any:
        return self.store.backend(self.client.name).link

    def has_rps(self, service: str) -> bool:
        series = self.store.backend(self.client.name).series.get(service)
        latest = None if series is None else series.latest()
        return latest is not None and not math.isnan(latest["rps"])


@pytest.fixture
async def watch() -> AsyncIterator[Callable[..., Watched]]:
    made: list[Watched] = []

    def make(url: str) -> Watched:
        store = Store(capacity=2000)
        watched: Watched

        def apply(event: StoreEvent) -> None:
            newest = store.backend("vm").newest_data_ts
            if (
                isinstance(event, MetricsBatch)
                and event.ts.size
                and (newest is None or float(event.ts.max()) > newest)
            ):
                watched.new_rows_at.append(time.monotonic())
            store.apply(event)

        client = PrometheusClient("vm", url, apply, step_s=STEP_S, history_s=60.0)
        watched = Watched(client, store)
        client.start()
        made.append(watched)
        return watched

    yield make
    for w in made:
        await w.client.aclose()


async def _sample_until(
    w: Watched,
    done: Callable[[], bool],
    timeout: float,  # noqa: ASYNC109  (a deadline on sampling, the helper's whole job)
    what: str,
) -> list[tuple[ConnectionState, str]]:
    """Look at the link every 100 ms until `done`; LIVE must always stand on new samples."""
    # The client's own limit, plus one look and a little scheduling slack on a busy machine.
    limit = stale_after(STEP_S) + POLL_S + 0.5
    seen: list[tuple[ConnectionState, str]] = []

    def look() -> bool:
        now = time.monotonic()
        link = w.link
        seen.append((link.state, link.detail))
        if link.state is ConnectionState.LIVE:
            assert w.new_rows_at, f"LIVE before any sample arrived: {link.detail!r}"
            silent = now - w.new_rows_at[-1]
            assert silent < limit, f"LIVE with no new sample for {silent:.1f} s"
        return done()

    deadline = time.monotonic() + timeout
    while not look():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}: {seen[-3:]}")
        await asyncio.sleep(POLL_S)  # the sampling period, not a wait for something
    return seen


def _said_behind(detail: str) -> float | None:
    found = re.search(r"server data (\d+) s behind", detail)
    return None if found is None else float(found.group(1))


def _behind_s(detail: str) -> float:
    said = _said_behind(detail)
    assert said is not None, f"the lag is not said: {detail!r}"
    return said


async def _traffic_at(url: str, times: np.ndarray) -> dict[float, float]:
    """VictoriaMetrics' own answer for orders' request rate at `times` (old enough to be whole)."""
    query = render_queries(None, "service", WINDOW)[3].promql
    params = {
        "query": query,
        "start": f"{times.min():.3f}",
        "end": f"{times.max():.3f}",
        "step": "1s",
    }
    async with httpx.AsyncClient(timeout=5.0) as http:
        r = await http.get(f"{url}/api/v1/query_range", params=params)
    matrix = decode_answer(r.status_code, r.content, "matrix")
    for s in getattr(matrix, "series", ()):
        if s.labels.get("service") == "orders":
            return dict(zip(s.ts.tolist(), s.values.tolist(), strict=True))
    return {}


async def test_victoriametrics_with_defaults_is_read_30_s_back_and_says_so(
    sim_factory: Callable[..., Any],
    victoriametrics: Callable[..., Any],
    watch: Callable[..., Watched],
) -> None:
    sim = await sim_factory()
    vm = await victoriametrics([_host(sim.url)])
    w = watch(vm.url)  # at once: for its first 30 s VictoriaMetrics answers nothing at all

    def live_with_numbers() -> bool:
        return w.link.state is ConnectionState.LIVE and all(w.has_rps(s) for s in SAMPLE_SERVICES)

    seen = await _sample_until(w, live_with_numbers, 75.0, "numbers for the services")
    assert any("no samples from Prometheus yet" in d for _, d in seen), seen[:5]
    # Keep looking for a while: live steps keep coming, and LIVE always stands on them.
    rows = len(w.new_rows_at)
    seen = await _sample_until(w, lambda: len(w.new_rows_at) >= rows + 5, 20.0, "live steps")
    assert all(state is ConnectionState.LIVE for state, _ in seen[-10:]), seen[-10:]

    assert 28.0 <= _behind_s(w.link.detail) <= 32.0, w.link.detail
    assert w.client.lag_s == pytest.approx(DEFAULT_OFFSET_S, abs=2.0)
    # The data age shown is the newest sample's: half a minute, not "2 s" over nothing.
    age = w.store.data_age("vm")
    assert age is not None and DEFAULT_OFFSET_S <= age < DEFAULT_OFFSET_S + 6.0, age
    assert w.client.last_refresh_requests == 9  # 7 signals + breakers + clock, as Prometheus

    series = w.store.backend("vm").series.get("orders")
    assert series is not None
    times, rps = series.times(), series.values("rps")
    assert np.all(np.diff(times) == STEP_S), times  # no holes, no copies from the future
    assert time.time() - times[-1] >= DEFAULT_OFFSET_S
    # What the console keeps is what VictoriaMetrics answers for those times: no padded copies.
    recent = times[-8:]
    truth = await _traffic_at(vm.url, recent)
    for t, value in zip(recent.tolist(), rps[-8:].tolist(), strict=True):
        want = truth.get(t, math.nan)
        assert (math.isnan(value) and math.isnan(want)) or math.isclose(
            value, float(np.float32(want)), rel_tol=1e-6
        ), (t, value, want)


async def test_a_server_falling_further_behind_is_measured_again_without_a_hole(
    sim_factory: Callable[..., Any],
    victoriametrics: Callable[..., Any],
    watch: Callable[..., Watched],
) -> None:
    sim = await sim_factory()
    vm = await victoriametrics([_host(sim.url)], flags=("-search.latencyOffset=5s",))
    w = watch(vm.url)
    await _sample_until(
        w,
        lambda: w.link.state is ConnectionState.LIVE and w.has_rps("orders"),
        40.0,
        "LIVE 5 s behind",
    )
    assert abs(_behind_s(w.link.detail) - 5.0) <= 1.0  # its clock is read to the second
    # Same storage, now keeping the newest 20 s back: the next steps come back empty.
    restarted = await restart(vm, ("-search.latencyOffset=20s",))
    try:
        seen = await _sample_until(
            w,
            lambda: (
                w.link.state is ConnectionState.LIVE and (_said_behind(w.link.detail) or 0.0) > 15.0
            ),
            60.0,
            "LIVE again, 20 s behind",
        )
        assert any(state is ConnectionState.STALE for state, _ in seen), "the gap was said"
        assert abs(_behind_s(w.link.detail) - 20.0) <= 1.0, w.link.detail
        series = w.store.backend("vm").series.get("orders")
        assert series is not None
        times = series.times()
        # The steps read while the server hid them are read again once it has them.
        assert np.all(np.diff(times) == STEP_S), times
    finally:
        restarted.stop()

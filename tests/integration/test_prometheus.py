"""The Prometheus adapter against the real `prometheus` binary scraping the reference backend."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import pytest
import pytest_asyncio

from opsconsole.app.investigator import Investigator
from opsconsole.backends.prometheus import PrometheusClient
from opsconsole.backends.secrets import Secret
from opsconsole.core.events import CircuitChanged, ConnectionChanged, EventOccurred, StoreEvent
from opsconsole.core.investigate import Verdict
from opsconsole.core.models import ConnectionState
from opsconsole.core.promql import decode_answer, render_queries
from opsconsole.core.protocol import CircuitsBody, decode_body
from opsconsole.core.store import BackendState, Store
from opsconsole.sim.embedded import EmbeddedSim
from opsconsole.sim.server import SimConfig
from tests.support.promstack import Daemon, restart, start_prometheus
from tests.support.tcpproxy import FaultProxy
from tests.support.waiting import wait_until, wait_until_async

STEP_S = 1.0
WINDOW = "4s"  # the rate window the client must use at a 1 s step (4 × step)
SIM = SimConfig(tick_s=0.1, seed=6)
SAMPLE_SERVICES = ("api-gateway", "orders", "payments")


def _host(url: str) -> str:
    return url.removeprefix("http://")


@dataclass
class Stack:
    sim: EmbeddedSim
    prom: Daemon


async def _traffic_points(prom_url: str, start: float, end: float) -> np.ndarray:
    """Timestamps at which Prometheus has a request rate for `orders`."""
    query = render_queries(None, "service", WINDOW)[3].promql
    params = {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": "1s"}
    async with httpx.AsyncClient(timeout=5.0) as http:
        r = await http.get(f"{prom_url}/api/v1/query_range", params=params)
    matrix = decode_answer(r.status_code, r.content, "matrix")
    for s in getattr(matrix, "series", ()):
        if s.labels.get("service") == "orders":
            return s.ts
    return np.empty(0)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """One sim (on its own thread) and one Prometheus scraping it, shared by the module."""
    sim = EmbeddedSim(SIM, "127.0.0.1", 0)
    sim.start(timeout=15.0)
    try:
        prom = await start_prometheus(tmp_path_factory.mktemp("prom"), [_host(sim.url)])
        try:

            async def rates() -> bool:
                now = time.time()
                return (await _traffic_points(prom.url, now - 10.0, now)).size > 0

            # Two scrapes make a rate: from here on every golden signal has data.
            await wait_until_async(rates, timeout=30.0, what="a first request rate")
            yield Stack(sim, prom)
        finally:
            prom.stop()
    finally:
        sim.stop()


@dataclass
class Link:
    client: PrometheusClient
    store: Store
    events: list[StoreEvent] = field(default_factory=list)

    @property
    def state(self) -> BackendState:
        return self.store.backend(self.client.name)

    def states(self) -> list[ConnectionState]:
        return [e.status.state for e in self.events if isinstance(e, ConnectionChanged)]

    def points(self, service: str) -> int:
        series = self.state.series.get(service)
        return 0 if series is None else len(series)

    def has_rps(self, service: str) -> bool:
        series = self.state.series.get(service)
        latest = None if series is None else series.latest()
        return latest is not None and not math.isnan(latest["rps"])


@pytest.fixture
async def connect() -> AsyncIterator[Callable[..., Link]]:
    """Started clients at a 1 s step feeding their own store; closed at the end."""
    links: list[Link] = []

    def make(url: str, **kwargs: Any) -> Link:
        store = Store(capacity=2000)
        events: list[StoreEvent] = []

        def apply(event: StoreEvent) -> None:
            events.append(event)
            store.apply(event)

        kwargs.setdefault("history_s", 30.0)
        client = PrometheusClient("prom", url, apply, step_s=STEP_S, **kwargs)
        client.start()
        link = Link(client, store, events)
        links.append(link)
        return link

    yield make
    for link in links:
        await link.client.aclose()
        assert link.state.link.state is ConnectionState.STOPPED


async def _instant(prom_url: str, promql: str, at: float) -> dict[str, float]:
    async with httpx.AsyncClient(timeout=5.0) as http:
        r = await http.get(
            f"{prom_url}/api/v1/query", params={"query": promql, "time": f"{at:.3f}"}
        )
    vector = decode_answer(r.status_code, r.content, "vector")
    return {s.labels["service"]: s.value for s in getattr(vector, "samples", ())}


async def test_golden_signals_are_what_prometheus_answers(
    stack: Stack, connect: Callable[..., Link]
) -> None:
    # A workstation clock an hour behind must not move the ranges: the server's clock rules.
    link = connect(stack.prom.url, clock=lambda: time.time() - 3600.0)
    await wait_until(
        lambda: all(link.has_rps(s) and link.points(s) >= 3 for s in SAMPLE_SERVICES),
        timeout=20.0,
        what="three points with traffic",
    )
    assert link.state.link.state is ConnectionState.LIVE and link.state.link.detail == ""
    assert len(link.state.services) == 8
    queries = render_queries(None, "service", WINDOW)
    assert [q.promql for q in link.client.live_queries] == [q.promql for q in queries]
    for name in SAMPLE_SERVICES:
        series = link.state.series.get(name)
        assert series is not None
        times = series.times()
        # Fresh (the newest step is at most settle + a step or two old) and without holes.
        assert time.time() - times[-1] < 6.0
        assert np.all(np.diff(times) == STEP_S), times
        for at in (float(times[-1]), float(times[-3])):
            i = int(np.flatnonzero(times == at)[0])
            for q in queries:
                expected = (await _instant(stack.prom.url, q.promql, at)).get(name, math.nan)
                stored = float(series.values(q.field)[i])
                want = float(np.float32(expected * q.scale))  # the store keeps float32
                assert (math.isnan(stored) and math.isnan(want)) or math.isclose(
                    stored, want, rel_tol=1e-6, abs_tol=1e-12
                ), (name, q.field, at, stored, want)
        latest = series.latest()
        assert latest is not None
        p50, p99 = latest["latency_p50_ms"], latest["latency_p99_ms"]
        assert p50 > 0 and p50 <= p99 and p99 < 60_000
        for ratio in ("error_ratio", "cpu", "memory"):
            assert latest[ratio] >= 0 and latest[ratio] <= 1, (ratio, latest)
        assert latest["rps"] > 0


async def test_requests_per_refresh_do_not_grow_with_services(
    stack: Stack,
    connect: Callable[..., Link],
    sim_factory: Callable[..., Any],
    prometheus_factory: Callable[..., Any],
) -> None:
    small = connect(stack.prom.url)
    big_sim = await sim_factory(services=200, tick_s=0.2)
    big_prom = await prometheus_factory(targets=[_host(big_sim.url)])
    big = connect(big_prom.url)
    await wait_until(
        lambda: small.client.refreshes >= 3 and len(small.state.services) == 8,
        timeout=20.0,
        what="refreshes of 8 services",
    )
    await wait_until(
        lambda: big.client.refreshes >= 3 and len(big.state.services) == 200,
        timeout=30.0,
        what="refreshes of 200 services",
    )
    # 7 signal queries + the breakers + the server clock, for 8 or for 200 services.
    assert small.client.last_refresh_requests == big.client.last_refresh_requests == 9
    assert len(big.state.series) == 200


async def test_history_is_backfilled_at_start(stack: Stack, connect: Callable[..., Link]) -> None:
    async def history() -> bool:
        now = time.time()
        return bool(((await _traffic_points(stack.prom.url, now - 30.0, now)) < now - 8.0).any())

    await wait_until_async(history, timeout=20.0, what="8 s of history in Prometheus")
    started = time.time()
    link = connect(stack.prom.url, history_s=30.0)
    await wait_until(lambda: link.client.refreshes >= 1, timeout=15.0, what="the first load")
    # What the first load brought, before any live refresh could add to it:
    series = link.state.series.get("orders")
    assert series is not None
    times, rps = series.times(), series.values("rps")
    old = times < started - 5.0
    # (The very first point may lack a rate: Prometheus needs two scrapes for one.)
    assert (old & ~np.isnan(rps)).sum() >= 3
    assert np.all(np.diff(times) == STEP_S)
    assert link.state.link.state is ConnectionState.LIVE


async def test_a_broken_override_is_named_while_the_others_flow(
    stack: Stack, connect: Callable[..., Link]
) -> None:
    link = connect(
        stack.prom.url,
        queries={"cpu": "avg by ({service_label}) (opsconsole_cpu_utilisation_ratio"},
    )
    await wait_until(
        lambda: link.client.refreshes >= 2 and link.has_rps("orders"),
        timeout=20.0,
        what="traffic despite the broken cpu query",
    )
    status = link.state.link
    assert status.state is ConnectionState.LIVE
    assert status.detail.startswith("Prometheus refused the cpu query: "), status.detail
    assert "unclosed left parenthesis" in status.detail
    latest = link.state.series.get("orders").latest()  # type: ignore[union-attr]
    assert latest is not None and math.isnan(latest["cpu"])
    assert not math.isnan(latest["memory"]) and not math.isnan(latest["latency_p99_ms"])


async def test_breaker_states_come_from_resilience4j_gauges(
    stack: Stack, connect: Callable[..., Link]
) -> None:
    link = connect(stack.prom.url)
    async with httpx.AsyncClient(base_url=stack.sim.url, timeout=5.0) as sim:
        body = decode_body((await sim.get("/api/v1/circuits")).content, CircuitsBody)
        assert isinstance(body, CircuitsBody)
        truth = {name: c.state for name, c in body.circuits.items()}
        await wait_until(
            lambda: {n: c.state for n, c in link.state.circuits.items()} == truth,
            timeout=15.0,
            what=f"the sim's breakers {truth}",
        )
        forced = await sim.post(
            "/api/v1/circuits/inventory-service",
            json={"action": "force_open"},
            headers={"Idempotency-Key": f"prom-test-{time.time_ns()}"},
        )
        assert forced.status_code == 200, forced.text
        try:
            await wait_until(
                lambda: link.state.circuits["inventory-service"].state == "forced_open",
                timeout=15.0,
                what="the forced-open breaker",
            )
        finally:
            await sim.post(
                "/api/v1/circuits/inventory-service",
                json={"action": "close"},
                headers={"Idempotency-Key": f"prom-test-{time.time_ns()}"},
            )
    changes = [
        e.circuit
        for e in link.events
        if isinstance(e, CircuitChanged) and e.circuit.name == "inventory-service"
    ]
    states = [c.state for c in changes]
    assert [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s] == [
        truth["inventory-service"],
        "forced_open",
    ]
    assert all(a != b for a, b in itertools.pairwise(changes)), "on change only"
    # resilience4j's failure rate (same request) gives the success rate, once calls were seen.
    await wait_until(
        lambda: any(c.success_rate is not None for c in link.state.circuits.values()),
        timeout=15.0,
        what="a success rate from resilience4j_circuitbreaker_failure_rate",
    )
    assert all(
        0.0 <= c.success_rate <= 1.0
        for c in link.state.circuits.values()
        if c.success_rate is not None
    )


async def test_prometheus_going_away_and_coming_back(
    stack: Stack, connect: Callable[..., Link], prometheus_factory: Callable[..., Any]
) -> None:
    prom = await prometheus_factory(targets=[_host(stack.sim.url)])
    link = connect(prom.url)
    await wait_until(
        lambda: link.client.refreshes >= 2 and link.state.link.state is ConnectionState.LIVE,
        timeout=20.0,
        what="a live link",
    )
    prom.stop()
    await wait_until(
        lambda: link.state.link.state is ConnectionState.RECONNECTING,
        timeout=10.0,
        what="RECONNECTING",
    )
    assert "cannot reach Prometheus" in link.state.link.detail
    before = link.client.refreshes
    again = await restart(prom)
    try:
        await wait_until(
            lambda: (
                link.state.link.state is ConnectionState.LIVE and link.client.refreshes > before
            ),
            timeout=30.0,
            what="LIVE again",
        )
    finally:
        again.stop()
    messages = [e.event.message for e in link.events if isinstance(e, EventOccurred)]
    assert any(m.startswith("Lost the link to prom") for m in messages)
    assert "Link to prom restored (prometheus)" in messages


async def test_a_hung_prometheus_makes_the_data_stale(
    stack: Stack, connect: Callable[..., Link]
) -> None:
    host, port = _host(stack.prom.url).split(":")
    proxy = FaultProxy(host, int(port))
    await proxy.start()
    try:
        link = connect(proxy.url)
        await wait_until(
            lambda: link.client.refreshes >= 2 and link.state.link.state is ConnectionState.LIVE,
            timeout=20.0,
            what="a live link",
        )
        proxy.silence_existing()  # the pooled connections hang: no answer, no error
        await wait_until(
            lambda: link.state.link.state is ConnectionState.STALE,
            timeout=10.0,
            what="STALE",
        )
        assert link.state.link.detail.startswith("no answer from Prometheus for "), (
            link.state.link.detail
        )
        proxy.reset_all()  # the hung requests fail at once; new connections pass
        await wait_until(
            lambda: link.state.link.state is ConnectionState.LIVE, timeout=15.0, what="LIVE again"
        )
        seen = link.states()
        assert seen.index(ConnectionState.STALE) < len(seen) - 1
    finally:
        await proxy.stop()


async def test_refused_credentials_stop_the_retries(
    sim_factory: Callable[..., Any], connect: Callable[..., Link]
) -> None:
    # The sim answers every path with 401 without its token: a Prometheus behind auth.
    sim = await sim_factory(token="s3cret-prom")
    link = connect(sim.url, token=Secret("wrong-token"))
    await wait_until(
        lambda: link.state.link.state is ConnectionState.AUTH_FAILED, timeout=10.0, what="401"
    )
    assert "HTTP 401" in link.state.link.detail and "wrong-token" not in link.state.link.detail
    sent = link.client.requests_sent
    link.client.set_token(Secret("s3cret-prom"))
    # With the right token the bearer header passes; the sim is no Prometheus (404 in words).
    await wait_until(
        lambda: link.client.requests_sent > sent and "HTTP 404" in link.state.link.detail,
        timeout=10.0,
        what="a retry with the new token",
    )
    assert link.state.link.state is not ConnectionState.AUTH_FAILED


async def test_answers_without_new_samples_are_not_live(
    sim_factory: Callable[..., Any],
    prometheus_factory: Callable[..., Any],
    connect: Callable[..., Link],
) -> None:
    # The scrape target goes away: Prometheus keeps answering every query, with nothing in it.
    sim = await sim_factory()
    prom = await prometheus_factory(targets=[_host(sim.url)])
    link = connect(prom.url)
    await wait_until(
        lambda: link.has_rps("orders") and link.state.link.state is ConnectionState.LIVE,
        timeout=30.0,
        what="a live link with traffic",
    )
    await sim.stop()
    answered = link.client.refreshes
    await wait_until(
        lambda: link.state.link.state is ConnectionState.STALE,
        timeout=15.0,
        what="STALE once no new samples come",
    )
    assert link.state.link.detail.startswith("no new samples for "), link.state.link.detail
    assert "behind" not in link.state.link.detail  # `up` is fresh: Prometheus keeps up
    # Prometheus still answers, the link stays STALE and the data only ages.
    before = link.client.refreshes
    age = link.store.data_age("prom")
    await wait_until(
        lambda: link.client.refreshes >= before + 3, timeout=10.0, what="empty refreshes"
    )
    assert link.client.refreshes > answered
    assert link.state.link.state is ConnectionState.STALE
    later = link.store.data_age("prom")
    assert age is not None and later is not None and later > age


async def test_the_investigation_reads_its_baseline_hour_from_prometheus(
    stack: Stack, connect: Callable[..., Link]
) -> None:
    link = connect(stack.prom.url)  # its ring holds 30 s: the hour must be asked for
    await wait_until(
        lambda: link.state.link.state is ConnectionState.LIVE and link.has_rps("orders"),
        30,
        "live orders",
    )
    started = time.time() - 2
    investigator = Investigator(
        link.store, {"prom": link.client}, lambda: (), incident_start=lambda: started
    )
    run = await investigator.run("orders")
    golden = {f.check: f for f in run.findings}["golden_signals"]
    assert golden.verdict in (Verdict.OK, Verdict.INTERESTING), golden.sentence
    query = golden.evidence.query or ""
    assert query.startswith("query_range ") and "orders" not in query  # one query, all services
    assert math.isfinite(float(golden.evidence.values["rps baseline"]))
    assert "backend history" not in golden.evidence.values  # nothing went wrong reading it
    # Prometheus has no breakers here, no clusters: skipped, never ok, never an error.
    checks = {f.check: f for f in run.findings}
    assert checks["database"].verdict is Verdict.SKIPPED

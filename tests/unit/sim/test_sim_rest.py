"""REST endpoints of the reference backend against a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time

import httpx
import pytest

from opsconsole.core.models import METRIC_FIELDS
from opsconsole.core.protocol import (
    ActionAccepted,
    AlertsBody,
    CircuitFrame,
    CircuitsBody,
    ClustersBody,
    ErrorBody,
    EventsBody,
    HealthBody,
    HistoricalBody,
    RealtimeBody,
    ServicesBody,
    decode_frame,
)
from opsconsole.sim.server import SimServer
from tests.unit.sim.sim_helpers import ACCELERATED_SIM_CONFIG, StartSim, body, eventually, key

SERVICES = ("api-gateway", "orders", "payments", "inventory")
CIRCUITS = {"inventory-service", "analytics-service", "payment-service", "user-service"}


def error(response: httpx.Response, status: int, code: str) -> ErrorBody:
    assert response.status_code == status, response.text
    err = body(response, ErrorBody)
    assert err.error.code == code and err.error.message
    return err


async def first_sample(client: httpx.AsyncClient) -> RealtimeBody:
    async def probe() -> RealtimeBody | None:
        rt = body(await client.get("/api/v1/metrics/realtime"), RealtimeBody)
        return rt if rt.services["api-gateway"].rps is not None else None

    return await eventually(probe, what="a first metrics sample")


async def events_since(client: httpx.AsyncClient, seq: int) -> list:
    response = await client.get("/api/v1/events", params={"since_seq": seq})
    assert response.status_code == 200, response.text
    return [decode_frame(bytes(raw)) for raw in body(response, EventsBody).events]


async def test_health_answers_without_auth(start_sim: StartSim) -> None:
    sim = await start_sim(dataclasses.replace(ACCELERATED_SIM_CONFIG, token="s3cret"))
    async with httpx.AsyncClient(base_url=sim.url) as c:
        health = body(await c.get("/api/v1/health"), HealthBody)
        assert (health.status, health.version, health.epoch) == ("ok", "1", sim.epoch)
        assert abs(health.server_time - time.time()) < 5


async def test_read_endpoints_conform_to_the_contract(client: httpx.AsyncClient) -> None:
    services = body(await client.get("/api/v1/services"), ServicesBody)
    names = [s.name for s in services.services]
    assert len(names) == 8 and set(SERVICES) <= set(names)
    orders = next(s for s in services.services if s.name == "orders")
    assert orders.display_name and orders.tier and "inventory-service" in orders.depends_on
    assert orders.slo.target == 0.999 and orders.slo.window_days == 30
    assert orders.thresholds.latency_p99_ms == 500.0

    rt = await first_sample(client)
    assert set(rt.services) == set(names) and rt.system_health == "healthy"
    m = rt.services["api-gateway"]
    assert m.latency_p99_ms >= m.latency_p95_ms >= m.latency_p50_ms > 0  # type: ignore[operator]
    assert 0 <= m.cpu <= 1 and 0 <= m.memory <= 1  # type: ignore[operator]

    circuits = body(await client.get("/api/v1/circuits"), CircuitsBody).circuits
    assert set(circuits) == CIRCUITS
    inv = circuits["inventory-service"]
    assert (inv.state, inv.failure_threshold, inv.timeout_s) == ("closed", 3, 30.0 / 50)
    assert circuits["payment-service"].failure_threshold == 5

    (cluster,) = body(await client.get("/api/v1/db/clusters"), ClustersBody).clusters
    assert (cluster.name, cluster.state, cluster.primary, cluster.read_only) == (
        "orders-db",
        "healthy",
        "primary-db",
        False,
    )
    assert [m.name for m in cluster.members] == [
        "primary-db",
        "replica-1",
        "replica-2",
        "replica-3",
    ]
    assert all(m.timeline == 1 for m in cluster.members)
    assert all(0 < m.lag_bytes < 1024 * 1024 for m in cluster.members[1:])
    assert cluster.failure_threshold == 3 and cluster.health_check_interval_s == 5.0 / 50

    assert body(await client.get("/api/v1/alerts"), AlertsBody).alerts == ()
    frames = await events_since(client, 0)
    assert [f.seq for f in frames] == list(range(1, len(frames) + 1))


async def test_historical_buckets_null_where_no_sample_and_limits_points(
    client: httpx.AsyncClient,
) -> None:
    await first_sample(client)
    now = time.time()
    params = {"service": "orders", "metric": "rps", "start": now - 30, "end": now, "step": 1.0}

    async def probe() -> HistoricalBody | None:
        h = body(await client.get("/api/v1/metrics/historical", params=params), HistoricalBody)
        return h if sum(v is not None for _, v in h.points) >= 1 else None

    hist = await eventually(probe, what="kept history")
    assert (hist.service, hist.metric, hist.step) == ("orders", "rps", 1.0)
    assert len(hist.points) == 31 and hist.points[0][0] == now - 30
    assert hist.points[0][1] is None  # before the server started: no data, not 0
    assert any(v and v > 0 for _, v in hist.points)

    too_many = {**params, "start": now - 11_000, "step": 1.0}
    err = error(await client.get("/api/v1/metrics/historical", params=too_many), 400, "bad_request")
    assert err.error.details["limit"] == 11_000
    ok = {**params, "start": now - 10_999, "step": 1.0}
    assert (await client.get("/api/v1/metrics/historical", params=ok)).status_code == 200
    error(
        await client.get("/api/v1/metrics/historical", params={**params, "service": "nope"}),
        404,
        "not_found",
    )
    err = error(
        await client.get("/api/v1/metrics/historical", params={**params, "metric": "nope"}),
        400,
        "bad_request",
    )
    assert err.error.details["valid"] == list(METRIC_FIELDS)
    error(
        await client.get("/api/v1/metrics/historical", params={**params, "step": 0}),
        400,
        "bad_request",
    )


async def test_auth_401_on_rest_and_403_for_readonly_actions(start_sim: StartSim) -> None:
    sim = await start_sim(
        dataclasses.replace(ACCELERATED_SIM_CONFIG, token="s3cret", readonly_token="look")
    )
    async with httpx.AsyncClient(base_url=sim.url) as c:
        err = error(await c.get("/api/v1/services"), 401, "unauthorized")
        assert "s3cret" not in err.error.message
        assert (await c.get("/api/v1/services")).headers["WWW-Authenticate"].startswith("Bearer")
        bad = {"Authorization": "Bearer wrong"}
        error(await c.get("/api/v1/circuits", headers=bad), 401, "unauthorized")
        error(await c.get("/api/v1/no-such-route"), 401, "unauthorized")  # no route probing

        ro = {"Authorization": "Bearer look"}
        assert (await c.get("/api/v1/circuits", headers=ro)).status_code == 200
        forced = await c.post(
            "/api/v1/circuits/inventory-service",
            json={"action": "force_open"},
            headers={**ro, **key()},
        )
        error(forced, 403, "forbidden")
        circuits = body(await c.get("/api/v1/circuits", headers=ro), CircuitsBody).circuits
        assert circuits["inventory-service"].state == "closed"

        full = {"Authorization": "bearer s3cret"}  # the scheme is case-insensitive
        done = await c.post(
            "/api/v1/circuits/inventory-service",
            json={"action": "force_open"},
            headers={**full, **key()},
        )
        assert done.status_code == 200, done.text


async def test_errors_have_the_contract_shape(client: httpx.AsyncClient) -> None:
    error(await client.get("/api/v1/nope"), 404, "not_found")
    error(await client.get("/nope"), 404, "not_found")
    wrong_method = await client.delete("/api/v1/circuits")
    assert wrong_method.status_code == 405 and body(wrong_method, ErrorBody).error.code
    error(
        await client.post("/api/v1/circuits/inventory-service", json={"action": "force_open"}),
        400,
        "bad_request",
    )  # no Idempotency-Key
    bad_json = await client.post(
        "/api/v1/circuits/inventory-service",
        content=b"{not json",
        headers={**key(), "Content-Type": "application/json"},
    )
    assert "JSON" in error(bad_json, 400, "bad_request").error.message
    error(
        await client.post(
            "/api/v1/circuits/inventory-service", json={"action": "explode"}, headers=key()
        ),
        400,
        "bad_request",
    )
    huge = await client.post(
        "/api/v1/circuits/inventory-service",
        content=b'{"action": "' + b"x" * 300_000 + b'"}',
        headers=key(),
    )
    error(huge, 413, "too_large")


async def test_unknown_circuit_is_404_and_never_created(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/circuits/teleporter", json={"action": "force_open"}, headers=key()
    )
    err = error(response, 404, "not_found")
    assert set(err.error.details["circuits"]) == CIRCUITS
    circuits = body(await client.get("/api/v1/circuits"), CircuitsBody).circuits
    assert set(circuits) == CIRCUITS


async def test_same_key_twice_acts_once_and_repeats_the_first_answer(
    accelerated_sim: SimServer, client: httpx.AsyncClient
) -> None:
    start = accelerated_sim.hub.log.last_seq
    headers = key()
    url = "/api/v1/circuits/inventory-service"
    first = await client.post(url, json={"action": "force_open"}, headers=headers)
    # The operator closes it with a new intent, then the first request is retried.
    closed = await client.post(url, json={"action": "close"}, headers=key())
    again = await client.post(url, json={"action": "force_open"}, headers=headers)
    assert first.status_code == again.status_code == 200 and closed.status_code == 200
    assert again.content == first.content and again.headers["Idempotent-Replayed"] == "true"
    assert body(first, ActionAccepted).status == "succeeded"

    transitions = [
        (f.prev_state, f.state)
        for f in await events_since(client, start)
        if isinstance(f, CircuitFrame) and f.name == "inventory-service"
    ]
    assert transitions == [("closed", "forced_open"), ("forced_open", "closed")]
    circuits = body(await client.get("/api/v1/circuits"), CircuitsBody).circuits
    assert circuits["inventory-service"].state == "closed"  # the retry did not act again

    conflict = await client.post(url, json={"action": "reset"}, headers=headers)
    error(conflict, 409, "conflict")


async def test_concurrent_duplicates_act_once(
    accelerated_sim: SimServer, client: httpx.AsyncClient
) -> None:
    start = accelerated_sim.hub.log.last_seq
    headers = key()
    responses = await asyncio.gather(
        *(
            client.post(
                "/api/v1/circuits/payment-service", json={"action": "force_open"}, headers=headers
            )
            for _ in range(8)
        )
    )
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    opened = [
        f
        for f in await events_since(client, start)
        if isinstance(f, CircuitFrame) and f.name == "payment-service"
    ]
    assert [(f.prev_state, f.state) for f in opened] == [("closed", "forced_open")]


async def test_realtime_is_206_while_a_circuit_is_open(client: httpx.AsyncClient) -> None:
    await first_sample(client)
    assert (await client.get("/api/v1/metrics/realtime")).status_code == 200
    url = "/api/v1/circuits/analytics-service"
    await client.post(url, json={"action": "force_open"}, headers=key())
    partial = await client.get("/api/v1/metrics/realtime")
    assert partial.status_code == 206
    assert body(partial, RealtimeBody).system_health == "degraded"
    await client.post(url, json={"action": "reset"}, headers=key())
    assert (await client.get("/api/v1/metrics/realtime")).status_code == 200


async def test_events_replay_after_since_seq_and_410_when_too_old(start_sim: StartSim) -> None:
    sim = await start_sim(dataclasses.replace(ACCELERATED_SIM_CONFIG, replay_capacity=30))
    async with httpx.AsyncClient(base_url=sim.url) as c:

        async def enough() -> bool:
            return sim.hub.log.last_seq > 40

        await eventually(enough, what="40 frames")
        last = sim.hub.log.last_seq
        frames = await events_since(c, last - 5)
        assert [f.seq for f in frames][:5] == list(range(last - 4, last + 1))
        assert all(b.seq == a.seq + 1 for a, b in itertools.pairwise(frames))

        gone = error(await c.get("/api/v1/events", params={"since_seq": 0}), 410, "gone")
        assert gone.error.details["epoch"] == sim.epoch
        assert gone.error.details["first_seq"] > 1
        other = {"since_seq": last, "epoch": "another-run"}
        error(await c.get("/api/v1/events", params=other), 410, "gone")
        error(await c.get("/api/v1/events", params={"since_seq": last + 1000}), 410, "gone")
        position = body(await c.get("/api/v1/events"), EventsBody)  # extension: where it stands
        assert (position.epoch, position.events) == (sim.epoch, [])
        assert position.seq is not None and position.seq >= last
        error(await c.get("/api/v1/events", params={"since_seq": "x"}), 400, "bad_request")
        error(await c.get("/api/v1/events", params={"since_seq": -1}), 400, "bad_request")


async def test_unknown_scenario_is_400_listing_valid_names(client: httpx.AsyncClient) -> None:
    err = error(
        await client.post("/api/v1/sim/scenario", json={"name": "meteor"}), 400, "bad_request"
    )
    assert "latency_spike" in err.error.details["valid"] and "recover" in err.error.message
    err = error(
        await client.post("/api/v1/sim/scenario", json={"name": "latency_spike", "target": "nope"}),
        400,
        "bad_request",
    )
    assert "orders" in err.error.details["valid"]


async def test_prometheus_exposition(client: httpx.AsyncClient) -> None:
    await first_sample(client)
    text = (await client.get("/metrics")).text
    assert 'http_requests_total{code="200",service="orders"}' in text
    assert 'http_requests_total{code="500",service="orders"}' in text
    assert 'http_request_duration_seconds_bucket{le="0.5",service="orders"}' in text
    assert 'opsconsole_cpu_utilisation_ratio{service="orders"}' in text
    assert 'opsconsole_memory_utilisation_ratio{service="orders"}' in text
    assert 'resilience4j_circuitbreaker_state{name="inventory-service",state="closed"} 1.0' in text
    assert 'resilience4j_circuitbreaker_state{name="inventory-service",state="open"} 0.0' in text
    assert 'opsconsole_db_member_healthy{cluster="orders-db",member="primary-db"' in text
    assert "opsconsole_sim_" not in text


def _sample(text: str, line_start: str) -> float:
    """The value of the one exposition line starting with `line_start`."""
    (line,) = [ln for ln in text.splitlines() if ln.startswith(line_start)]
    return float(line.rsplit(" ", 1)[1])


async def test_prometheus_status_codes_split_the_request_count(
    client: httpx.AsyncClient,
) -> None:
    await first_sample(client)
    burst = {"name": "error_burst", "target": "payments"}
    started = await client.post("/api/v1/sim/scenario", json=burst)
    assert started.status_code < 300, started.text

    async def failures_counted() -> str | None:
        text = (await client.get("/metrics")).text
        return text if _sample(text, 'http_requests_total{code="500",service="payments"}') else None

    text = await eventually(failures_counted, what="a failed payments request")
    ok = _sample(text, 'http_requests_total{code="200",service="payments"}')
    failed = _sample(text, 'http_requests_total{code="500",service="payments"}')
    buckets = _sample(text, 'http_request_duration_seconds_count{service="payments"}')
    # Every observed request is either a success or a failure, never both or neither.
    assert ok + failed == buckets and ok > 0


async def test_prometheus_breaker_state_and_failure_rate(start_sim: StartSim) -> None:
    # Real time (scale 1): the breaker's 5-minute call window does not slide during the test.
    sim = await start_sim(dataclasses.replace(ACCELERATED_SIM_CONFIG, time_scale=1.0))
    async with httpx.AsyncClient(base_url=sim.url, timeout=10.0) as c:

        async def enough_calls() -> bool:
            circuits = body(await c.get("/api/v1/circuits"), CircuitsBody).circuits
            return circuits["inventory-service"].total_requests_5min >= 10

        await eventually(enough_calls, what="10 calls through the inventory breaker")
        forced = await c.post(
            "/api/v1/circuits/inventory-service", json={"action": "force_open"}, headers=key()
        )
        assert forced.status_code == 200, forced.text
        # Forced open, the breaker records no more calls: both views see the same window.
        breaker = body(await c.get("/api/v1/circuits"), CircuitsBody).circuits["inventory-service"]
        text = (await c.get("/metrics")).text
    states = {
        s: _sample(
            text, f'resilience4j_circuitbreaker_state{{name="inventory-service",state="{s}"}}'
        )
        for s in ("closed", "open", "half_open", "forced_open", "disabled")
    }
    assert states == {"closed": 0, "open": 0, "half_open": 0, "forced_open": 1, "disabled": 0}
    rate = _sample(text, 'resilience4j_circuitbreaker_failure_rate{name="inventory-service"}')
    # resilience4j's convention: the failure percentage of the recorded calls.
    assert breaker.success_rate is not None
    assert rate == pytest.approx(100.0 * (1.0 - breaker.success_rate))


@pytest.mark.parametrize("services", [1, 200])
async def test_service_count_is_configurable(start_sim: StartSim, services: int) -> None:
    sim = await start_sim(dataclasses.replace(ACCELERATED_SIM_CONFIG, services=services))
    async with httpx.AsyncClient(base_url=sim.url) as c:
        names = [s.name for s in body(await c.get("/api/v1/services"), ServicesBody).services]
        assert len(names) == services and names[0] == "api-gateway"
        if services == 200:
            assert names[8] == "svc-009" and names[-1] == "svc-200"
        rt = await first_sample(c)
        assert len(rt.services) == services

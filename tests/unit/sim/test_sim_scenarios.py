"""Scenarios change what is served; failover, switchover, read-only and alert flows."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx

from opsconsole.core.models import DbCluster
from opsconsole.core.protocol import (
    ActionAccepted,
    ActionResultFrame,
    AlertFrame,
    AlertsBody,
    CircuitsBody,
    ClustersBody,
    DbFrame,
    ErrorBody,
    EventFrame,
    EventsBody,
    RealtimeBody,
    decode_frame,
)
from opsconsole.sim.scenarios import ScenariosBody
from opsconsole.sim.server import SimServer
from tests.unit.sim.sim_helpers import ACCELERATED_SIM_CONFIG, StartSim, body, eventually, key


async def scenario(client: httpx.AsyncClient, name: str, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/sim/scenario", json={"name": name, **fields})
    assert response.status_code == 202, response.text
    return response.json()


async def realtime(client: httpx.AsyncClient) -> RealtimeBody:
    return body(await client.get("/api/v1/metrics/realtime"), RealtimeBody)


async def cluster(client: httpx.AsyncClient) -> DbCluster:
    return body(await client.get("/api/v1/db/clusters"), ClustersBody).clusters[0]


async def frames_since(client: httpx.AsyncClient, seq: int) -> list:
    response = await client.get("/api/v1/events", params={"since_seq": seq})
    return [decode_frame(bytes(r)) for r in body(response, EventsBody).events]


def metric(field: str, service: str, test: Any) -> Any:
    async def probe(client: httpx.AsyncClient) -> bool:
        value = getattr((await realtime(client)).services[service], field)
        return value is not None and test(value)

    return probe


async def wait_for(client: httpx.AsyncClient, probe: Any, what: str, within: float = 10.0) -> None:
    async def check() -> bool:
        return await probe(client)

    await eventually(check, within=within, what=what)


async def test_latency_spike_pushes_p99_over_500_then_recover_brings_it_back(
    client: httpx.AsyncClient,
) -> None:
    await wait_for(client, metric("latency_p99_ms", "orders", lambda v: v < 500), "normal p99")
    started = await scenario(client, "latency_spike")
    assert started["scenario"] == "latency_spike" and started["target"] == "orders"
    assert started["until_ts"] > started["started_ts"]
    await wait_for(client, metric("latency_p99_ms", "orders", lambda v: v > 500), "p99 > 500")
    listed = body(await client.get("/api/v1/sim/scenarios"), ScenariosBody).scenarios
    assert [(s.name, s.target) for s in listed] == [("latency_spike", "orders")]

    ended = await scenario(client, "recover")
    assert [s["name"] for s in ended["ended"]] == ["latency_spike"]
    assert body(await client.get("/api/v1/sim/scenarios"), ScenariosBody).scenarios == ()
    await wait_for(client, metric("latency_p99_ms", "orders", lambda v: v < 500), "p99 back")


async def test_error_burst_raises_the_error_ratio(client: httpx.AsyncClient) -> None:
    await scenario(client, "error_burst", target="payments")
    await wait_for(client, metric("error_ratio", "payments", lambda v: v > 0.05), "errors up")


async def test_traffic_surge_raises_rps(client: httpx.AsyncClient) -> None:
    await wait_for(client, metric("rps", "api-gateway", lambda v: v > 0), "traffic")
    base = (await realtime(client)).services["api-gateway"].rps
    assert base is not None
    await scenario(client, "traffic_surge")
    await wait_for(client, metric("rps", "api-gateway", lambda v: v > 2 * base), "surge")


async def test_dependency_outage_opens_the_breaker_and_answers_206(
    accelerated_sim: SimServer, client: httpx.AsyncClient
) -> None:
    start = accelerated_sim.hub.log.last_seq
    await scenario(client, "dependency_outage", duration_s=600)

    async def opened() -> bool:
        circuits = body(await client.get("/api/v1/circuits"), CircuitsBody).circuits
        return circuits["inventory-service"].state in ("open", "half_open")

    await eventually(opened, what="inventory-service breaker to open")
    await wait_for(client, metric("error_ratio", "orders", lambda v: v > 0.02), "orders fallback")

    async def partial() -> bool:
        return (await client.get("/api/v1/metrics/realtime")).status_code == 206

    await eventually(partial, what="206 while the breaker is open")
    frames = await frames_since(client, start)
    kinds = {f.kind for f in frames if isinstance(f, EventFrame)}
    assert {"scenario", "breaker"} <= kinds
    circuit = [f for f in frames if getattr(f, "name", None) == "inventory-service"]
    assert circuit[0].prev_state == "closed" and circuit[0].state == "open"

    await scenario(client, "recover")

    async def closed_again() -> bool:
        circuits = body(await client.get("/api/v1/circuits"), CircuitsBody).circuits
        return circuits["inventory-service"].state == "closed"

    await eventually(closed_again, what="the breaker to close after recovery")


async def test_primary_down_fails_over_to_a_replica_on_a_new_timeline(
    accelerated_sim: SimServer, client: httpx.AsyncClient
) -> None:
    start = accelerated_sim.hub.log.last_seq
    started = await scenario(client, "primary_down", duration_s=3_600)
    assert started["target"] == "primary-db"

    async def promoted() -> DbCluster | None:
        c = await cluster(client)
        return c if c.primary != "primary-db" and c.state == "healthy" else None

    # 3 checks × 5 s / 50 = 0.3 s in sim time; allow for a busy box.
    after = await eventually(promoted, within=10.0, what="a replica promoted")
    new_primary = next(m for m in after.members if m.name == after.primary)
    assert new_primary.timeline == 2 and new_primary.role == "primary"
    old = next(m for m in after.members if m.name == "primary-db")
    assert old.role == "replica" and not old.healthy
    frames = await frames_since(client, start)
    states = [f.cluster.state for f in frames if isinstance(f, DbFrame)]
    assert "failed" in states and states[-1] == "healthy"
    assert any(isinstance(f, EventFrame) and f.kind == "failover" for f in frames)


async def test_switchover_and_failover_are_accepted_then_happen(
    accelerated_sim: SimServer, client: httpx.AsyncClient
) -> None:
    start = accelerated_sim.hub.log.last_seq
    url = "/api/v1/db/clusters/orders-db"
    accepted = await client.post(
        f"{url}/switchover", json={"candidate": "replica-2"}, headers=key()
    )
    assert accepted.status_code == 202, accepted.text
    action_id = body(accepted, ActionAccepted).action_id
    assert action_id

    async def switched() -> DbCluster | None:
        c = await cluster(client)
        return c if c.primary == "replica-2" else None

    after = await eventually(switched, what="replica-2 to become primary")
    assert {m.timeline for m in after.members} == {2}  # planned: everyone follows at once
    results = [f for f in await frames_since(client, start) if isinstance(f, ActionResultFrame)]
    assert [(r.action_id, r.status) for r in results] == [(action_id, "succeeded")]

    failed_over = await client.post(
        f"{url}/failover", json={"candidate": "replica-3"}, headers=key()
    )
    assert failed_over.status_code == 202, failed_over.text

    async def failed() -> DbCluster | None:
        c = await cluster(client)
        return c if c.primary == "replica-3" else None

    assert next(m for m in (await eventually(failed)).members if m.role == "primary").timeline == 3


async def test_ineligible_candidates_get_412_with_reasons_per_member(
    client: httpx.AsyncClient,
) -> None:
    await scenario(client, "primary_down", target="orders-db/replica-1", duration_s=3_600)

    async def replica_down() -> bool:
        c = await cluster(client)
        return not next(m for m in c.members if m.name == "replica-1").healthy

    await eventually(replica_down, what="replica-1 unhealthy")
    url = "/api/v1/db/clusters/orders-db"
    cases = {
        "replica-1": "unhealthy",
        "primary-db": "is already primary",
        "replica-9": "unknown member",
    }
    for candidate, reason in cases.items():
        response = await client.post(
            f"{url}/switchover", json={"candidate": candidate}, headers=key()
        )
        assert response.status_code == 412, response.text
        err = body(response, ErrorBody).error
        assert err.code == "precondition_failed" and err.details["reasons"] == {candidate: reason}
        assert "replica-1" not in err.details["eligible"]

    await scenario(client, "replica_lag", target="replica-2", duration_s=3_600)

    async def lagging() -> bool:
        c = await cluster(client)
        return next(m for m in c.members if m.name == "replica-2").lag_bytes > 1024 * 1024

    await eventually(lagging, what="replica-2 lagging")
    response = await client.post(f"{url}/failover", json={"candidate": "replica-2"}, headers=key())
    reason = body(response, ErrorBody).error.details["reasons"]["replica-2"]
    assert (
        response.status_code == 412 and reason.startswith("lagging ") and "1.0 MiB limit" in reason
    )

    missing = await client.post(
        "/api/v1/db/clusters/users-db/switchover", json={"candidate": "x"}, headers=key()
    )
    assert missing.status_code == 404 and body(missing, ErrorBody).error.code == "not_found"


async def test_all_members_down_goes_read_only_and_degraded(client: httpx.AsyncClient) -> None:
    for member in ("replica-1", "replica-2", "replica-3", "primary-db"):
        await scenario(client, "primary_down", target=f"orders-db/{member}", duration_s=3_600)

    async def degraded() -> DbCluster | None:
        c = await cluster(client)
        return c if c.state == "degraded" else None

    c = await eventually(degraded, what="a degraded cluster")
    assert c.read_only and c.message == "Real-time data temporarily unavailable"
    assert c.data_age_s is not None and c.primary == "primary-db"
    await scenario(client, "recover")

    async def healthy() -> DbCluster | None:
        c = await cluster(client)
        return c if c.state == "healthy" else None

    assert not (await eventually(healthy, what="recovery")).read_only


async def test_operator_read_only(client: httpx.AsyncClient) -> None:
    url = "/api/v1/db/clusters/orders-db/read-only"
    response = await client.post(url, json={"enabled": True}, headers=key())
    assert response.status_code == 200 and body(response, ActionAccepted).status == "succeeded"
    assert (await cluster(client)).read_only
    response = await client.post(url, json={"enabled": False}, headers=key())
    assert not (await cluster(client)).read_only
    bad = await client.post(url, json={"enabled": "yes"}, headers=key())
    assert bad.status_code == 400


async def test_alerts_fire_from_a_scenario_and_can_be_acked(start_sim: StartSim) -> None:
    # Time scale 100: the errors rule's 2 minutes take 1.2 s.
    sim = await start_sim(dataclasses.replace(ACCELERATED_SIM_CONFIG, time_scale=100.0))
    async with httpx.AsyncClient(base_url=sim.url, timeout=10.0) as client:
        start = sim.hub.log.last_seq
        await scenario(client, "error_burst", target="payments", duration_s=3_600)

        async def firing() -> Any:
            alerts = body(await client.get("/api/v1/alerts"), AlertsBody).alerts
            return next((a for a in alerts if a.rule == "errors" and a.state == "firing"), None)

        alert = await eventually(firing, within=15.0, what="an errors alert")
        assert (alert.service, alert.severity) == ("payments", "page")
        assert alert.value > alert.threshold == 0.01 and "payments" in alert.summary

        url = f"/api/v1/alerts/{alert.id}/ack"
        response = await client.post(url, json={"by": "alice", "comment": "on it"}, headers=key())
        assert response.status_code == 200, response.text
        acked = next(
            a
            for a in body(await client.get("/api/v1/alerts"), AlertsBody).alerts
            if a.id == alert.id
        )
        assert acked.acked_by == "alice" and acked.acked_ts is not None
        frames = await frames_since(client, start)
        alert_frames = [f.alert for f in frames if isinstance(f, AlertFrame)]
        assert any(a.id == alert.id and a.acked_by == "alice" for a in alert_frames)

        unknown = await client.post("/api/v1/alerts/nope/ack", json={"by": "alice"}, headers=key())
        assert unknown.status_code == 404

        await scenario(client, "recover")

        async def resolved() -> bool:
            alerts = body(await client.get("/api/v1/alerts"), AlertsBody).alerts
            return any(a.id == alert.id and a.state == "resolved" for a in alerts)

        await eventually(resolved, within=15.0, what="the alert to resolve")

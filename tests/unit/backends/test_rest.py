"""The client's REST calls against the real reference backend: typed answers, plain errors."""

from __future__ import annotations

import time

import pytest

from opsconsole.backends.errors import ApiError, AuthFailed
from opsconsole.backends.opsapi import OpsApiClient, new_intent_key
from opsconsole.backends.secrets import Secret
from opsconsole.core.models import ConnectionState
from tests.support.waiting import wait_until


@pytest.fixture
async def rest(real_time_sim, store) -> OpsApiClient:
    client = OpsApiClient("sim", real_time_sim.url, store.apply)
    yield client
    await client.aclose()


async def test_reads_decode_into_typed_bodies(rest: OpsApiClient) -> None:
    health = await rest.health()
    assert health.status == "ok" and health.version == "1"
    names = {s.name for s in (await rest.services()).services}
    assert "orders" in names and len(names) == 8
    clusters = (await rest.clusters()).clusters
    assert clusters[0].name == "orders-db" and len(clusters[0].members) == 4
    assert "inventory-service" in (await rest.circuits()).circuits
    assert isinstance((await rest.alerts()).alerts, tuple)


async def test_history_and_its_point_limit(
    rest: OpsApiClient, store, client_factory, real_time_sim
) -> None:
    link = client_factory(real_time_sim.url)
    ring = lambda: store.backend("sim").series.get("orders")  # noqa: E731
    await wait_until(lambda: ring() is not None and len(ring()) >= 10, 10, "ten samples")
    now = time.time()
    body = await rest.historical("orders", "rps", now - 5, now, 0.1)
    assert body.service == "orders" and body.metric == "rps" and body.step == 0.1
    kept = [v for _, v in body.points if v is not None]
    assert len(kept) >= 5 and all(v >= 0 for v in kept)
    assert link.status.state is ConnectionState.LIVE
    with pytest.raises(ApiError) as info:
        now = time.time()
        await rest.historical("orders", "rps", now - 20_000, now, 1)
    assert info.value.status == 400 and "11" in str(info.value)


async def test_scenario_changes_what_is_served(
    rest: OpsApiClient, store, client_factory, real_time_sim
) -> None:
    link = client_factory(real_time_sim.url)
    await wait_until(lambda: link.status.state is ConnectionState.LIVE, 5, "LIVE")
    started = await rest.scenario("dependency_outage", "inventory-service")
    assert started.scenario == "dependency_outage" and started.target == "inventory-service"
    circuits = store.backend("sim").circuits
    await wait_until(lambda: circuits["inventory-service"].state == "open", 10, "open circuit")
    _, partial = await rest.realtime()
    assert partial  # 206 while a circuit is open
    active = await rest.scenarios()
    assert [s.name for s in active.scenarios] == ["dependency_outage"]
    await rest.scenario("recover")
    assert (await rest.scenarios()).scenarios == ()


async def test_action_errors_read_as_plain_words(rest: OpsApiClient) -> None:
    with pytest.raises(ApiError) as unknown:
        await rest.circuit_action("no-such-circuit", "force_open", new_intent_key())
    assert unknown.value.status == 404
    assert "Traceback" not in str(unknown.value)
    with pytest.raises(ApiError) as refused:
        await rest.switchover("orders-db", "primary-db", new_intent_key())
    assert refused.value.status == 412
    assert "primary-db" in str(refused.value)  # the per-member reason is in the message


async def test_same_intent_acts_once(rest: OpsApiClient, store) -> None:
    key = new_intent_key()
    first = await rest.circuit_action("analytics-service", "force_open", key)
    again = await rest.circuit_action("analytics-service", "force_open", key)
    assert first == again
    assert (await rest.circuits()).circuits["analytics-service"].state == "forced_open"


async def test_readonly_token_is_refused_actions(sim_factory) -> None:
    sim = await sim_factory(token="rw-token", readonly_token="ro-token")
    client = OpsApiClient("ro", sim.url, lambda e: None, token=Secret("ro-token"))
    try:
        assert (await client.circuits()).circuits
        with pytest.raises(ApiError) as info:
            await client.read_only("orders-db", True, new_intent_key())
        assert info.value.status == 403 and "ro-token" not in str(info.value)
        anon = OpsApiClient("anon", sim.url, lambda e: None)
        with pytest.raises(AuthFailed):
            await anon.services()
        await anon.aclose()
    finally:
        await client.aclose()

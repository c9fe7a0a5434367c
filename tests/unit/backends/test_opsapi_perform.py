"""`OpsApiClient.perform` against the real reference backend: each intent, one request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from opsconsole.backends.errors import BackendError
from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.backends.prometheus import PrometheusClient
from opsconsole.core.actions import Intent
from opsconsole.core.audit import os_user
from opsconsole.core.models import Alert, DbCluster
from tests.support.waiting import wait_until_async

OPSAPI_ACTIONS = frozenset(
    {
        "breaker.force_open",
        "breaker.close",
        "breaker.reset",
        "db.switchover",
        "db.failover",
        "db.read_only",
        "alert.ack",
        "deploy.rollback",
    }
)


@pytest.fixture
async def rest(real_time_sim) -> AsyncIterator[OpsApiClient]:
    client = OpsApiClient("sim", real_time_sim.url, lambda event: None)
    yield client
    await client.aclose()


async def circuit_state(client: OpsApiClient, name: str) -> str:
    return (await client.circuits()).circuits[name].state


async def orders_db(client: OpsApiClient) -> DbCluster:
    return next(c for c in (await client.clusters()).clusters if c.name == "orders-db")


def test_what_each_adapter_performs() -> None:
    assert OpsApiClient.performs == OPSAPI_ACTIONS
    assert PrometheusClient.performs == frozenset()  # read-only


async def test_breaker_intents_move_the_circuit(rest: OpsApiClient) -> None:
    await rest.perform(Intent("breaker.force_open", "sim", "analytics-service"))
    assert await circuit_state(rest, "analytics-service") == "forced_open"
    await rest.perform(Intent("breaker.close", "sim", "analytics-service"))
    assert await circuit_state(rest, "analytics-service") == "closed"
    await rest.perform(Intent("breaker.force_open", "sim", "analytics-service"))
    await rest.perform(Intent("breaker.reset", "sim", "analytics-service"))
    assert await circuit_state(rest, "analytics-service") == "closed"


async def test_a_repeated_intent_acts_once(rest: OpsApiClient) -> None:
    force = Intent("breaker.force_open", "sim", "analytics-service")
    await rest.perform(force)
    await rest.perform(Intent("breaker.close", "sim", "analytics-service"))
    await rest.perform(force)  # a retry of the first intent: its key was used, nothing happens
    assert await circuit_state(rest, "analytics-service") == "closed"


async def test_read_only_intents_set_and_clear_the_flag(rest: OpsApiClient) -> None:
    await rest.perform(Intent("db.read_only", "sim", "orders-db", {"enabled": True}))
    assert (await orders_db(rest)).read_only
    await rest.perform(Intent("db.read_only", "sim", "orders-db", {"enabled": False}))
    assert not (await orders_db(rest)).read_only


async def test_switchover_then_failover_promote_the_chosen_member(rest: OpsApiClient) -> None:
    async def primary_is(member: str) -> DbCluster | None:
        cluster = await orders_db(rest)
        return cluster if cluster.primary == member else None

    await rest.perform(Intent("db.switchover", "sim", "orders-db", {"member": "replica-2"}))
    await wait_until_async(lambda: primary_is("replica-2"), 10, "replica-2 primary")
    await rest.perform(Intent("db.failover", "sim", "orders-db", {"member": "replica-3"}))
    await wait_until_async(lambda: primary_is("replica-3"), 10, "replica-3 primary")


@pytest.mark.parametrize(
    ("args", "by"),
    [({"comment": "on it"}, os_user()), ({"by": "alice", "comment": "mine"}, "alice")],
    ids=["the-operator", "told-who"],
)
async def test_ack_names_the_operator_unless_told_who(
    sim_factory, args: dict[str, Any], by: str
) -> None:
    # Time scale 100: the errors rule's 2 minutes take 1.2 s.
    sim = await sim_factory(time_scale=100.0)
    client = OpsApiClient("sim", sim.url, lambda event: None)
    try:
        await client.scenario("error_burst", "payments", 3_600)

        async def firing() -> Alert | None:
            alerts = (await client.alerts()).alerts
            return next((a for a in alerts if a.state == "firing"), None)

        alert = await wait_until_async(firing, 15, "a firing alert")
        await client.perform(Intent("alert.ack", "sim", alert.id, args))
        acked = next(a for a in (await client.alerts()).alerts if a.id == alert.id)
        assert acked.acked_by == by and acked.acked_ts is not None
    finally:
        await client.aclose()


async def test_an_intent_it_does_not_carry_out_is_refused_in_words(rest: OpsApiClient) -> None:
    with pytest.raises(BackendError) as info:
        await rest.perform(Intent("alert.silence", "sim", "some-alert", {"duration": "1h"}))
    assert str(info.value) == "sim cannot carry out alert.silence"

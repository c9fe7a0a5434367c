"""What the action pipeline says: the stakes of a promotion, the name to type, how long it shows."""

from __future__ import annotations

import dataclasses

from opsconsole.core.actions import Intent, Stakes, stakes_of, status_lifetime_s
from opsconsole.core.events import SnapshotLoaded
from opsconsole.core.models import DbCluster, DbMember
from opsconsole.core.store import Store

MiB = 1024 * 1024


def cluster_store(lag: int) -> Store:
    store = Store(capacity=8)
    members = (
        DbMember(name="primary-db", role="primary", healthy=False),
        DbMember(name="replica-2", role="replica", healthy=True, lag_bytes=lag),
    )
    cluster = DbCluster(
        name="orders-db", state="degraded", read_only=False, primary="primary-db", members=members
    )
    store.apply(
        SnapshotLoaded("sim", services=(), circuits=(), clusters=(cluster,), alerts=(), ts=1.0)
    )
    return store


def test_a_failover_says_how_much_may_be_lost_and_asks_for_the_member() -> None:
    intent = Intent("db.failover", "sim", "orders-db", {"member": "replica-2"})
    stakes = stakes_of(intent, cluster_store(int(1.2 * MiB)).backend("sim"))
    assert stakes == Stakes("replica-2", int(1.2 * MiB), may_lose=True, timeline=1)
    asked = dataclasses.replace(intent, stakes=stakes)
    assert asked.headline() == (
        "Fail over orders-db to replica-2 (lag 1.2 MiB: up to 1.2 MiB of committed writes may "
        "be lost) on sim."
    )
    assert asked.typed_name == "replica-2"
    # The stakes are what was read, not part of what is intended.
    assert asked == intent and asked.identity == intent.identity


def test_a_replica_with_no_lag_and_a_switchover_lose_nothing() -> None:
    assert Stakes("replica-2", 0, may_lose=True).words() == (
        "lag 0 B: no committed writes are known to be missing"
    )
    assert Stakes("replica-1", 2048, may_lose=False).words() == (
        "lag 2.0 KiB; a switchover waits for it, no writes are lost"
    )


def test_other_actions_have_no_stakes_and_type_their_target() -> None:
    store = cluster_store(0)
    force = Intent("breaker.force_open", "sim", "payment-service")
    assert stakes_of(force, store.backend("sim")) is None
    assert force.typed_name == "payment-service"
    assert force.headline() == "Force open payment-service on sim."
    ghost = Intent("db.failover", "sim", "orders-db", {"member": "replica-9"})
    assert stakes_of(ghost, store.backend("sim")) is None  # the preconditions say why


def test_trouble_stays_on_screen_longer_than_success() -> None:
    assert status_lifetime_s("succeeded") == 30.0
    assert status_lifetime_s("cancelled") < status_lifetime_s("succeeded")
    for status in ("blocked", "refused", "failed", "no_change"):
        assert status_lifetime_s(status) == 120.0

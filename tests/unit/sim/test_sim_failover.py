"""Failover manager decisions (pure, time injected)."""

from __future__ import annotations

from opsconsole.sim.failover import DEGRADED_MESSAGE, MIB, FailoverConfig, FailoverManager, Probe


def manager() -> FailoverManager:
    return FailoverManager(
        "orders-db", "primary-db", ["replica-1", "replica-2", "replica-3"], FailoverConfig(), 0.0
    )


def probes(down: set[str] = frozenset(), lag: dict[str, int] | None = None) -> dict[str, Probe]:
    lag = lag or {}
    names = ("primary-db", "replica-1", "replica-2", "replica-3")
    return {n: Probe(reachable=n not in down, lag_bytes=lag.get(n, 10_000)) for n in names}


def test_three_failed_checks_promote_the_least_lagging_healthy_replica() -> None:
    m = manager()
    lag = {"replica-1": 90_000, "replica-2": 20_000, "replica-3": 50_000}
    assert m.check(probes({"primary-db"}, lag), 5.0) == []
    assert m.check(probes({"primary-db"}, lag), 10.0) == []
    assert m.state == "healthy" and m.snapshot(10.0).members[0].consecutive_failures == 2
    changes = m.check(probes({"primary-db"}, lag), 15.0)
    assert [c.cluster.state for c in changes] == ["failed", "healthy"]
    assert m.primary == "replica-2"
    snap = m.snapshot(15.0)
    by_name = {x.name: x for x in snap.members}
    assert by_name["replica-2"].role == "primary" and by_name["replica-2"].timeline == 2
    assert by_name["replica-1"].timeline == 2  # live replicas follow the new timeline
    assert by_name["primary-db"].role == "replica" and not by_name["primary-db"].healthy
    assert by_name["primary-db"].timeline == 1  # until it rejoins


def test_a_healthy_check_resets_the_count() -> None:
    m = manager()
    m.check(probes({"primary-db"}), 5.0)
    m.check(probes({"primary-db"}), 10.0)
    m.check(probes(), 15.0)
    m.check(probes({"primary-db"}), 20.0)
    m.check(probes({"primary-db"}), 25.0)
    assert m.primary == "primary-db" and m.state == "healthy"


def test_old_primary_rejoins_as_healthy_replica_on_the_new_timeline() -> None:
    m = manager()
    for t in (5.0, 10.0, 15.0):
        m.check(probes({"primary-db"}), t)
    changes = m.check(probes(), 20.0)
    assert any("rejoined" in c.message for c in changes)
    old = next(x for x in m.snapshot(20.0).members if x.name == "primary-db")
    assert (old.role, old.healthy, old.timeline) == ("replica", True, 2)


def test_no_eligible_replica_goes_read_only_degraded_with_growing_data_age() -> None:
    m = manager()
    everyone = {"primary-db", "replica-1", "replica-2", "replica-3"}
    for t in (5.0, 10.0, 15.0):
        m.check(probes(everyone), t)
    snap = m.snapshot(15.0)
    assert snap.state == "degraded" and snap.read_only and snap.message == DEGRADED_MESSAGE
    assert snap.data_age_s == 15.0 and m.snapshot(40.0).data_age_s == 40.0
    m.check(probes(), 45.0)  # the primary is back: healthy and writable again
    snap = m.snapshot(45.0)
    assert snap.state == "healthy" and not snap.read_only and snap.data_age_s is None


def test_vet_names_a_reason_per_member_considered() -> None:
    m = manager()
    m.check(probes({"replica-1"}, {"replica-3": 3 * MIB + 300_000}), 5.0)
    assert m.vet("replica-1", planned=True) == (None, {"replica-1": "unhealthy"})
    chosen, reasons = m.vet("replica-3", planned=True)
    assert chosen is None and reasons["replica-3"] == "lagging 3.3 MiB > 1.0 MiB limit"
    assert m.vet("primary-db", planned=False) == (None, {"primary-db": "is already primary"})
    assert m.vet("nope", planned=False) == (None, {"nope": "unknown member"})
    assert m.vet("replica-2", planned=True) == ("replica-2", {})
    assert m.vet(None, planned=True) == ("replica-2", {})  # the only eligible one


def test_switchover_needs_a_healthy_primary_failover_does_not() -> None:
    m = manager()
    m.check(probes({"primary-db"}), 5.0)
    chosen, reasons = m.vet("replica-1", planned=True)
    assert chosen is None and "primary-db" in reasons
    assert m.vet("replica-1", planned=False) == ("replica-1", {})
    change = m.promote("replica-1", 6.0, planned=False, by="alice")
    assert m.primary == "replica-1" and change.data["timeline"] == 2


def test_operator_read_only_is_kept_apart_from_the_automatic_one() -> None:
    m = manager()
    change = m.set_read_only(True, 1.0, "bob")
    assert change is not None and change.cluster.read_only
    assert m.set_read_only(True, 2.0, "bob") is None
    assert m.set_read_only(False, 3.0, "bob") is not None and not m.read_only

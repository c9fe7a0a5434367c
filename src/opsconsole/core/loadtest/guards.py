"""The console's own alarms that stop a load test: budget page tiers, open breakers, db lag."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from opsconsole.core.eligibility import DEFAULT_LAG_LIMIT, human_bytes
from opsconsole.core.loadtest.spec import Guards
from opsconsole.core.slo.tiers import WORKBOOK_TIERS, BurnTier, evaluate_tiers
from opsconsole.core.store import Store

GuardKind = Literal["budget_page", "breaker_open", "db_lag"]
OPEN_STATES = frozenset({"open", "forced_open"})


@dataclass(frozen=True)
class GuardTrip:
    """One guard that says stop: what kind, on what, in plain words."""

    kind: GuardKind
    subject: str  # the service, the circuit, or "cluster/member"
    words: str


def _circuit_sides(name: str) -> tuple[str, ...]:
    """The services a circuit is about: "orders->payments" is about both, "payments" itself."""
    for arrow in ("->", "→", ":"):
        if arrow in name:
            return tuple(part.strip() for part in name.split(arrow))
    return (name,)


def guard_trips(
    store: Store,
    backend: str,
    services: tuple[str, ...],
    guards: Guards,
    tiers: tuple[BurnTier, ...] = WORKBOOK_TIERS,
) -> tuple[GuardTrip, ...]:
    """Every switched-on guard tripped now for the services under test, in a stable order.

    - budget_page: a page tier of the service's SLO fires (both its windows burn above the
      factor; too little traffic or no data is not firing).
    - breaker_open: an open or forced-open breaker (half-open is already recovering) that one
      of the services depends on (its `depends_on` names the circuit, as the Ops API's
      services do: orders → "payment-service"), or whose name has one of them on either side
      ("orders->payments").
    - db_lag: a healthy-looking replica lags past its cluster's `max_lag_bytes` (or 1 MiB, the
      failover manager's own limit); a lag the backend calls unknown is not a trip. Only the
      clusters the services depend on count, when they name any; a backend whose services
      name no cluster has every cluster watched (better a stop too many than a lagging
      database nobody linked to the test).
    """
    state = store.backends.get(backend)
    if state is None:
        return ()
    wanted = set(services)
    depends = {d for s in services if (svc := state.services.get(s)) for d in svc.depends_on}
    trips: list[GuardTrip] = []
    if guards.budget_page:
        for service in services:
            obs = state.slos.get(service)
            if obs is None:
                continue
            firing = [
                v for v in evaluate_tiers(obs, tiers) if v.firing and v.tier.severity == "page"
            ]
            if firing:
                tier = firing[0].tier
                words = f"{service}: the error-budget page tier {tier.name} fires"
                trips.append(GuardTrip("budget_page", service, words))
    if guards.breaker_open:
        for name in sorted(state.circuits):
            circuit = state.circuits[name]
            ours = name in depends or wanted.intersection(_circuit_sides(name))
            if circuit.state in OPEN_STATES and ours:
                how = "forced open" if circuit.state == "forced_open" else "open"
                trips.append(GuardTrip("breaker_open", name, f"the breaker {name} is {how}"))
    if guards.db_lag:
        named = depends.intersection(state.clusters)
        for cluster_name in sorted(named or state.clusters):
            cluster = state.clusters[cluster_name]
            limit = cluster.max_lag_bytes or DEFAULT_LAG_LIMIT
            for member in cluster.members:
                if member.role == "primary" or member.name == cluster.primary:
                    continue
                if member.lag_known and member.lag_bytes > limit:
                    words = (
                        f"database {cluster_name}: {member.name} lags "
                        f"{human_bytes(member.lag_bytes)}, over its {human_bytes(limit)} limit"
                    )
                    trips.append(GuardTrip("db_lag", f"{cluster_name}/{member.name}", words))
    return tuple(trips)

"""The lived-in month a fresh reference backend starts with: traffic, deploys and past incidents.

So the first run shows real budgets: 35 simulated days of requests with the daily traffic
shape, a deploy every few days per service (orders v37 → v41 and so on), and three incidents
that ate part of some budgets (one of them a bad orders deploy that was rolled back).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from opsconsole.sim.ledger import COARSE_KEEP, HOUR_S, MINUTE_S, PER_HOUR, RequestLedger, SimTime
from opsconsole.sim.releases import Releases
from opsconsole.sim.topology import DAY_S, ServiceSpec, daily_curves

HISTORY_DAYS = 35.0
MINUTE_HOURS = 72  # whole hours before the current one that are seeded minute by minute


@dataclass(frozen=True)
class PastIncident:
    service: str
    days_ago: float  # simulated days before the start, when it began
    hours: float
    error_p: float  # share of requests that failed meanwhile
    by_deploy: bool = False  # a bad deploy, rolled back after `hours`


PAST_INCIDENTS: tuple[PastIncident, ...] = (
    PastIncident("orders", 23.2, 1.5, 0.04, by_deploy=True),
    PastIncident("search", 16.6, 4.0, 0.03),
    PastIncident("inventory", 9.4, 2.0, 0.10),
)
# The version each default service runs at the start; older ones count down from it.
CURRENT_VERSION: dict[str, int] = {
    "api-gateway": 212,
    "orders": 41,
    "payments": 118,
    "inventory": 77,
    "users": 63,
    "analytics": 29,
    "notifications": 15,
    "search": 54,
}
DEPLOYERS = ("ci", "ci", "ci", "deploy-bot", "alice", "bob")
LAST_DEPLOY_DAYS = (0.3, 3.5)  # the newest deploy happened this many days before the start
DEPLOY_GAP_DAYS = (2.0, 6.0)


def seed_releases(
    releases: Releases,
    specs: Sequence[ServiceSpec],
    time: SimTime,
    now: float,
    rng: np.random.Generator,
) -> None:
    """Every service's deploys over the past month, ending with the version it runs now.

    A service without a known history (the synthetic ones) has run one version all along,
    so it has nothing to roll back to.
    """
    start_sim = time.sim(now)
    for spec in specs:
        name = spec.service.name
        current = CURRENT_VERSION.get(name)
        if current is None:
            releases.deploy(name, "v1", time.wall(start_sim - (HISTORY_DAYS + 1) * DAY_S), "ci")
            continue
        ages = [float(rng.uniform(*LAST_DEPLOY_DAYS))]
        while ages[-1] < HISTORY_DAYS:
            ages.append(ages[-1] + float(rng.uniform(*DEPLOY_GAP_DAYS)))
        incident = next((i for i in PAST_INCIDENTS if i.service == name and i.by_deploy), None)
        steps: list[tuple[float, str]] = [(age, "deploy") for age in ages]
        if incident is not None:
            steps.append((incident.days_ago, "bad"))
            steps.append((incident.days_ago - incident.hours / 24.0, "rollback"))
        steps.sort(key=lambda s: -s[0])  # oldest first
        numbered = sum(1 for _, kind in steps if kind != "rollback")
        number = current - numbered + 1
        for age, kind in steps:
            ts = time.wall(start_sim - age * DAY_S)
            if kind == "rollback":
                plan = releases.rollback_plan(name)
                if plan is not None:
                    releases.roll_back(plan, ts, "alice")
                continue
            by = DEPLOYERS[int(rng.integers(len(DEPLOYERS)))]
            releases.deploy(name, f"v{number}", ts, by)
            number += 1


def incident_error_p(names: Sequence[str], sim_ts: np.ndarray, start_sim: float) -> np.ndarray:
    """Extra failure share per (time, service) from the past incidents."""
    extra = np.zeros((sim_ts.shape[0], len(names)))
    index = {name: i for i, name in enumerate(names)}
    for incident in PAST_INCIDENTS:
        i = index.get(incident.service)
        if i is None:
            continue
        begin = start_sim - incident.days_ago * DAY_S
        during = (sim_ts >= begin) & (sim_ts < begin + incident.hours * HOUR_S)
        extra[during, i] = incident.error_p
    return extra


def seed_traffic(
    ledger: RequestLedger,
    specs: Sequence[ServiceSpec],
    now: float,
    rng: np.random.Generator,
) -> None:
    """Requests and failures of the past 35 days: minutes for the last three, hours before.

    Each bucket holds a Poisson draw of the base rate on the daily curve, and a binomial draw
    of failures at the service's own error rate (plus an incident's, while one ran).
    """
    time = ledger.time
    names = [s.service.name for s in specs]
    base = np.array([s.base_rps for s in specs])
    own_p = np.array([s.error_p for s in specs])
    start_sim = time.sim(now)

    def draw(mid_wall: np.ndarray, sim_seconds: float) -> tuple[np.ndarray, np.ndarray]:
        sim_ts = time.sim(mid_wall)
        expected = base[None, :] * daily_curves(sim_ts)[:, None] * sim_seconds
        total = rng.poisson(expected)
        p = np.clip(own_p[None, :] + incident_error_p(names, sim_ts, start_sim), 0.0, 1.0)
        return total, rng.binomial(total, p)

    this_minute = ledger.minute(now)
    first_minute = (this_minute // PER_HOUR - MINUTE_HOURS) * PER_HOUR
    if this_minute > first_minute:
        ks = np.arange(first_minute, this_minute, dtype=np.int64)
        total, bad = draw((ks + 0.5) * ledger.minute_s, MINUTE_S)
        ledger.seed_minutes(first_minute, total, bad)
    first_hour = this_minute // PER_HOUR - (COARSE_KEEP - 1)
    hours = np.arange(first_hour, first_minute // PER_HOUR, dtype=np.int64)
    total, bad = draw((hours + 0.5) * ledger.hour_s, HOUR_S)
    ledger.seed_hours(first_hour, total, bad)

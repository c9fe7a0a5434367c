"""The wall's alarm rules: what the live store says is critical, and why, in the wall's words."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, tzinfo

from opsconsole.core.health import Health, Verdict, service_health, settled
from opsconsole.core.models import ConnectionState, Service, Thresholds
from opsconsole.core.rows.services import SORT_RANK
from opsconsole.core.slo.budget import BudgetStatus, observed_budget
from opsconsole.core.slo.burn import DEFAULT_MIN_REQUESTS, Burn, burn_rates
from opsconsole.core.slo.exhaustion import Exhaustion, exhaustion, soonest
from opsconsole.core.slo.model import DAY_S, SloObservation
from opsconsole.core.slo.tiers import WORKBOOK_TIERS, BurnTier, TierVerdict, evaluate_tiers
from opsconsole.core.slo.tiers import worst_firing as worst_firing_tier
from opsconsole.core.store import BackendState, Store
from opsconsole.core.words import age_text

# Worst first, the Services table's own order: the wall's worst service is the table's first row.
SERVICE_RANK = SORT_RANK


def _live(store: Store) -> Iterator[tuple[str, BackendState]]:
    """Backends whose data is current: stale data cannot prove a critical state."""
    for name, state in store.backends.items():
        if state.link.state is ConnectionState.LIVE:
            yield name, state


def _more(reasons: list[str]) -> str | None:
    if not reasons:
        return None
    return reasons[0] + (f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else "")


def _critical_words(service: Service, verdict: Verdict) -> str:
    return f"{service.display_name or service.name} CRITICAL — {verdict.reason}"


def services_alarm(store: Store) -> str | None:
    """ "orders CRITICAL — p99 612 ms > 500 ms" for the most critical service, else None."""
    found: list[tuple[float, str, str]] = []
    for _, state in _live(store):
        for service in state.services.values():
            latest = settled(state.series.get(service.name))
            verdict = service_health(latest, service.thresholds)
            if latest is not None and verdict.level is Health.CRITICAL:
                name = service.display_name or service.name
                # Furthest past its limit first: that is the one the room should look at.
                found.append(
                    (-pressure(latest, service.thresholds), name, _critical_words(service, verdict))
                )
    return _more([text for *_, text in sorted(found)])


def service_alarm(store: Store, backend: str | None, name: str | None) -> str | None:
    """The same words for one service (the one the signals page charts), or None when it is
    not critical, has no data or its backend is not LIVE."""
    if backend is None or name is None:
        return None
    state = store.backends.get(backend)
    if state is None or state.link.state is not ConnectionState.LIVE:
        return None
    service = state.services.get(name)
    latest = settled(state.series.get(name))
    if service is None or latest is None:
        return None
    verdict = service_health(latest, service.thresholds)
    if verdict.level is not Health.CRITICAL:
        return None
    return _critical_words(service, verdict)


def breakers_alarm(store: Store) -> str | None:
    """ "inventory-service circuit OPEN" for the open breakers of live backends, else None."""
    reasons = [
        f"{circuit.name} circuit OPEN"
        for _, state in _live(store)
        for circuit in sorted(state.circuits.values(), key=lambda c: c.name)
        if circuit.state == "open"
    ]
    return _more(reasons)


def clusters_alarm(store: Store) -> str | None:
    """ "orders-db FAILED — no primary" for failed or degraded clusters, else None."""
    reasons = [
        f"{cluster.name} {cluster.state.upper()}"
        + (f" — {cluster.message}" if cluster.message else "")
        for _, state in _live(store)
        for cluster in sorted(state.clusters.values(), key=lambda c: c.name)
        if cluster.state in ("failed", "degraded")
    ]
    return _more(reasons)


def alerts_alarm(store: Store) -> str | None:
    """ "orders latency_p99_high paging" for firing pages, newest first, else None."""
    reasons = [
        f"{alert.service} {alert.rule} paging"
        for _, state in _live(store)
        for alert in sorted(state.alerts.values(), key=lambda a: -a.since_ts)
        if alert.state == "firing" and alert.severity == "page"
    ]
    return _more(reasons)


# A budget projected to run out sooner than this is critical on the wall: nobody can wait for
# the next planning meeting, and a day is the time a fix (or a rollback) needs to land.
BUDGET_CRITICAL_WITHIN_S = DAY_S


@dataclass(frozen=True, slots=True)
class BudgetVerdict:
    """An SLO judged for the wall: its colour by projected exhaustion, and the figures shown.

    CRITICAL: a page tier fires, the budget is used up or overspent, or it is projected to
    run out within BUDGET_CRITICAL_WITHIN_S (before the window renews it); WARNING: a ticket
    tier fires, or it is projected to run out later but still before the window ends;
    HEALTHY: it lasts the window at the current 1 h and 6 h burns; UNKNOWN: no counts for the
    window, or neither burn can be judged (too little traffic).
    """

    obs: SloObservation
    level: Health
    budget: BudgetStatus
    burn_1h: Burn
    runs_out: Exhaustion | None  # the sooner of the 1 h and 6 h projections
    firing: TierVerdict | None  # the most urgent firing tier
    words: str  # why it has its colour, for the hold line and the tile

    @property
    def paging(self) -> bool:
        return self.firing is not None and self.firing.tier.severity == "page"


def exhaustion_words(runs_out: Exhaustion | None) -> str:
    """ "runs out in 3 d 04 h", "used up", "lasts the window", "not projected"."""
    if runs_out is None or runs_out.seconds is None:
        return "not projected"
    if runs_out.seconds <= 0:
        return "used up"
    if not runs_out.before_end:
        return "lasts the window"
    return f"runs out {runs_out.figure.text}"


def budget_verdict(
    obs: SloObservation,
    tiers: tuple[BurnTier, ...] = WORKBOOK_TIERS,
    min_requests: float = DEFAULT_MIN_REQUESTS,
    tz: tzinfo = UTC,
) -> BudgetVerdict:
    """The wall's judgement of one SLO (see BudgetVerdict for the colours)."""
    status = observed_budget(obs, tz)
    burns = burn_rates(obs, min_requests)
    runs_out = soonest(exhaustion(obs, min_requests, status, tz))
    firing = worst_firing_tier(evaluate_tiers(obs, tiers, min_requests))
    fraction = status.fraction
    seconds = None if runs_out is None else runs_out.seconds
    if firing is not None and firing.tier.severity == "page":
        level = Health.CRITICAL
        words = f"{firing.tier.name} burning {burns[firing.tier.long_window].figure.text}"
    elif fraction is not None and fraction <= 0:
        level, words = Health.CRITICAL, status.words
    elif runs_out is not None and runs_out.before_end and seconds is not None:
        within_day = seconds < BUDGET_CRITICAL_WITHIN_S
        level = Health.CRITICAL if within_day else Health.WARNING
        words = exhaustion_words(runs_out)
    elif firing is not None:
        level = Health.WARNING
        words = f"{firing.tier.name} burning {burns[firing.tier.long_window].figure.text}"
    elif fraction is None or seconds is None:
        level, words = Health.UNKNOWN, "no data" if fraction is None else "too little traffic"
    else:
        level, words = Health.HEALTHY, exhaustion_words(runs_out)
    return BudgetVerdict(obs, level, status, burns["1h"], runs_out, firing, words)


def budgets_alarm(store: Store) -> str | None:
    """ "orders error budget — page 1h/5m burning 16×" for SLOs whose page tier fires on live
    backends (a critical burn), else None; used-up budgets alone do not hold the wall."""
    found: list[tuple[float, str]] = []
    for _, state in _live(store):
        for service in sorted(state.slos):
            verdict = budget_verdict(state.slos[service])
            if verdict.paging:
                rate = verdict.burn_1h.rate or 0.0
                found.append((-rate, f"{service} error budget — {verdict.words}"))
    return _more([text for _, text in sorted(found)])


def pressure(latest: Mapping[str, float], thresholds: Thresholds) -> float:
    """The largest signal-to-limit ratio: of two services in the same health, the nearer to
    (or further past) a limit is the worse one."""
    limits = {
        "latency_p99_ms": thresholds.latency_p99_ms,
        "error_ratio": thresholds.error_ratio,
        "cpu": thresholds.cpu,
        "memory": thresholds.memory,
    }
    ratios = [
        latest[k] / limit
        for k, limit in limits.items()
        if limit > 0 and math.isfinite(latest.get(k, math.nan))
    ]
    return max(ratios, default=0.0)


def worst_service(store: Store) -> tuple[str, str] | None:
    """(backend, service) in the worst health among live backends with data, or None."""
    best: tuple[tuple[int, float, str, str], tuple[str, str]] | None = None
    for name, state in _live(store):
        for service in state.services.values():
            latest = settled(state.series.get(service.name))
            if not latest:
                continue
            verdict = service_health(latest, service.thresholds)
            rank = (
                SERVICE_RANK[verdict.level],
                -pressure(latest, service.thresholds),
                name,
                service.name,
            )
            if best is None or rank < best[0]:
                best = (rank, (name, service.name))
    return None if best is None else best[1]


def link_words(store: Store, now: float | None = None) -> tuple[str, Health]:
    """ "LIVE · data 2 s old" while every backend is LIVE; else the worst link's word.

    The wall says it is live too, not only when it is stale: a frozen screen looks calm.
    """
    states = store.backends
    if not states:
        return "NO DATA", Health.UNKNOWN
    down = sorted(
        (name for name, state in states.items() if state.link.state is not ConnectionState.LIVE)
    )
    names = down or sorted(states)
    ages = [a for name in names if (a := store.data_age(name, now)) is not None]
    if down:
        word = states[down[0]].link.state.value.upper()
        health = Health.UNKNOWN
    else:
        word, health = "LIVE", Health.HEALTHY
    if not ages:
        return f"{word} · no data yet", Health.UNKNOWN
    age = max(ages)
    age_words = "< 1 s" if age < 1 else age_text(age, precise=False)
    return f"{word} · data {age_words} old", health

"""The wall's alarm rules: what the live store says is critical, and why, in the wall's words."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

from opsconsole.core.health import Health, Verdict, service_health, settled
from opsconsole.core.models import ConnectionState, Service, Thresholds
from opsconsole.core.rows.services import SORT_RANK
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

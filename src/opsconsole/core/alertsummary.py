"""What the alerts add up to: pages firing, alerts nobody can vouch for, breaches with no alert."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opsconsole.core.health import JUDGE_WINDOW_S, Health, service_health, settled
from opsconsole.core.models import Alert, ConnectionState, Thresholds
from opsconsole.core.series import BankSeries
from opsconsole.core.store import BackendState, Store

# Kinds of backend that report alerts. Prometheus here reads metrics only: its silence says
# nothing about alerts, so a stale Prometheus does not make the alerts unknown.
ALERT_KINDS = frozenset({"opsapi", "alertmanager"})


def is_muted(alert: Alert) -> bool:
    """Silenced or inhibited in Alertmanager: firing, but nobody is being notified."""
    return bool(alert.silenced_by or alert.inhibited_by)


def is_loud_page(alert: Alert) -> bool:
    """A page that fires and notifies: what wakes someone up, and what the count counts."""
    return alert.state == "firing" and alert.severity == "page" and not is_muted(alert)


def firing_pages(store: Store) -> int:
    """Pages firing unmuted on every backend (a stale backend's last known ones included)."""
    return sum(is_loud_page(a) for state in store.backends.values() for a in state.alerts.values())


def reports_alerts(state: BackendState) -> bool:
    """Whether this backend is a source of alerts (one not yet described is assumed to be)."""
    return state.info is None or state.info.kind in ALERT_KINDS


@dataclass(frozen=True)
class UnknownAlerts:
    """A source of alerts whose link is not LIVE: its alerts are last known, not current."""

    backend: str
    link: ConnectionState
    data_age_s: float | None  # None: no data has ever arrived


def unknown_alerts(store: Store, now: float | None = None) -> tuple[UnknownAlerts, ...]:
    """Alert sources that are not LIVE, by name, with the age of their newest data."""
    return tuple(
        UnknownAlerts(name, state.link.state, store.data_age(name, now))
        for name, state in sorted(store.backends.items())
        if state.link.state is not ConnectionState.LIVE and reports_alerts(state)
    )


@dataclass(frozen=True)
class Breach:
    """A service over one of its limits now, with no alert firing for it (yet)."""

    backend: str
    service: str
    reason: str  # "p99 612 ms > 500 ms"


def breaches_without_alert(store: Store) -> tuple[Breach, ...]:
    """Services of LIVE backends whose settled signals are over a limit and that no firing
    alert names: the rule's `for` has not elapsed yet, or no rule watches it.

    Alerts are matched by service name on any backend: Alertmanager reports the alerts of
    the services a Prometheus backend measures.
    """
    alerted = {
        a.service
        for state in store.backends.values()
        for a in state.alerts.values()
        if a.state == "firing"
    }
    found: list[Breach] = []
    for name, state in sorted(store.backends.items()):
        if state.link.state is not ConnectionState.LIVE:
            continue  # stale numbers cannot prove a breach
        for service in sorted(state.services.values(), key=lambda s: s.name):
            series = state.series.get(service.name)
            if service.name in alerted or not _may_breach(series, service.thresholds):
                continue
            verdict = service_health(settled(series), service.thresholds)
            if verdict.level is Health.CRITICAL:
                found.append(Breach(name, service.name, verdict.reason))
    return tuple(found)


def _may_breach(series: BankSeries | None, thresholds: Thresholds) -> bool:
    """Whether any limited signal went over its limit within the judging window.

    A median cannot exceed the window's largest value, so services that fail this cheap
    test (a max per signal) skip the full judgement: with hundreds of services that is ten
    times less work once a second.
    """
    if series is None or len(series) == 0:
        return False
    times = series.times()
    start = int(np.searchsorted(times, times[-1] - JUDGE_WINDOW_S, side="left"))
    limits = (
        ("latency_p99_ms", thresholds.latency_p99_ms),
        ("error_ratio", thresholds.error_ratio),
        ("cpu", thresholds.cpu),
        ("memory", thresholds.memory),
    )
    # fmax ignores NaN (no data), unlike max; all-NaN gives NaN, which is over nothing.
    return any(
        np.fmax.reduce(series.values(field)[start:]) > limit
        for field, limit in limits
        if field in series.fields
    )

"""The names the command line completes and resolves: a snapshot of what each backend holds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from opsconsole.core.models import Alert, DbCluster
from opsconsole.core.store import Store

#: The demo's fault scenarios, in the order the palette and completion offer them.
SCENARIOS: tuple[str, ...] = (
    "primary_down",
    "latency_spike",
    "error_burst",
    "dependency_outage",
    "traffic_surge",
    "bad_deploy",
    "recover",
)


@dataclass(frozen=True)
class AlertName:
    """What Tab shows for an alert id: the alert's name, its state and its service."""

    name: str  # alertname (Alertmanager) or the rule that fired
    state: str  # firing, acked, silenced or resolved
    service: str

    @classmethod
    def of(cls, alert: Alert) -> AlertName:
        if alert.state == "resolved":
            state = "resolved"
        elif alert.silenced_by:
            state = "silenced"
        elif alert.acked_by:
            state = "acked"
        else:
            state = "firing"
        return cls(alert.rule, state, alert.service)

    def words(self) -> str:
        """ "LatencyHigh firing · orders"."""
        return f"{self.name} {self.state} · {self.service}"


@dataclass(frozen=True)
class BackendNames:
    """The names one backend has now: what the command line may act on."""

    clusters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # cluster → members
    circuits: tuple[str, ...] = ()
    alerts: tuple[str, ...] = ()  # firing, unacknowledged first
    services: tuple[str, ...] = ()
    silences: tuple[str, ...] = ()  # active and pending first, then expired
    # The live records behind the names, where completion needs more than the name: which
    # member is primary and how far each lags, what an alert id stands for.
    cluster_records: Mapping[str, DbCluster] = field(default_factory=dict)
    alert_names: Mapping[str, AlertName] = field(default_factory=dict)  # alert id → name


@dataclass(frozen=True)
class Names:
    """A snapshot of every name the command line completes and resolves."""

    backends: Mapping[str, BackendNames] = field(default_factory=dict)
    layouts: tuple[str, ...] = ()  # empty: any layout name is passed on unchecked
    scenarios: tuple[str, ...] = SCENARIOS
    loadtests: tuple[str, ...] = ()  # the config's [[loadtest]] names

    @classmethod
    def from_store(
        cls,
        store: Store,
        *,
        layouts: Iterable[str] = (),
        scenarios: Iterable[str] = SCENARIOS,
        loadtests: Iterable[str] = (),
    ) -> Names:
        backends = {}
        for name, state in sorted(store.backends.items()):
            alerts = sorted(
                state.alerts.values(),
                # The ones worth acknowledging come first: firing and nobody on them yet.
                key=lambda a: (a.state != "firing", bool(a.acked_by), -a.since_ts, a.id),
            )
            silences = sorted(
                state.silences.values(),
                # The ones an operator may still expire first, the longest-running first.
                key=lambda s: (s.state == "expired", -s.ends_ts, s.id),
            )
            backends[name] = BackendNames(
                clusters={c: tuple(m.name for m in cl.members) for c, cl in state.clusters.items()},
                circuits=tuple(sorted(state.circuits)),
                alerts=tuple(a.id for a in alerts),
                services=tuple(sorted(state.services)),
                silences=tuple(s.id for s in silences),
                cluster_records=dict(state.clusters),
                alert_names={a.id: AlertName.of(a) for a in alerts},
            )
        return cls(backends, tuple(layouts), tuple(scenarios), tuple(loadtests))

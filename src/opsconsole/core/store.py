"""The live state of every backend: applies core events and announces changes via signals."""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import msgspec
import numpy as np
from psygnal import Signal

from opsconsole.core.events import (
    ActionFinished,
    AlertChanged,
    BackendDescribed,
    CircuitChanged,
    ClusterChanged,
    ConnectionChanged,
    DataReceived,
    DeploysSeen,
    EventOccurred,
    FrameRejected,
    HistoryLoaded,
    MetricsBatch,
    SilenceChanged,
    SlosObserved,
    SnapshotLoaded,
    StoreEvent,
)
from opsconsole.core.models import (
    METRIC_FIELDS,
    Alert,
    BackendInfo,
    Circuit,
    ConnectionState,
    DbCluster,
    Event,
    LinkStatus,
    Service,
    Silence,
)
from opsconsole.core.series import DEFAULT_CAPACITY, SeriesBank
from opsconsole.core.slo.model import Deploy, SloObservation

EVENT_HISTORY = 1000
# Deploys kept per backend: a month of a few deploys a week for 200 services, with room.
DEPLOY_HISTORY = 2000


@dataclass
class BackendState:
    """Everything known about one backend. Mutated only by the Store."""

    name: str
    series: SeriesBank
    services: dict[str, Service] = field(default_factory=dict)
    circuits: dict[str, Circuit] = field(default_factory=dict)
    clusters: dict[str, DbCluster] = field(default_factory=dict)
    alerts: dict[str, Alert] = field(default_factory=dict)
    silences: dict[str, Silence] = field(default_factory=dict)
    info: BackendInfo | None = None  # None until described (an Ops API backend by --url)
    link: LinkStatus = field(default_factory=lambda: LinkStatus(ConnectionState.CONNECTING))
    newest_data_ts: float | None = None  # sample time (server clock) of the newest metric row
    newest_data_mono: float | None = None  # local monotonic time when that row arrived
    # When the newest real data arrived (local monotonic): a metric row newer than any before,
    # or a complete answer from a backend that has no samples (Alertmanager). Never a
    # reconnect, a hello, a heartbeat, a timeline line or a replayed old row: the data age
    # shown everywhere is measured from here, so it only grows while nothing new arrives.
    data_mono: float | None = None
    samples_ingested: int = 0
    invalid_frames: Counter[str] = field(default_factory=Counter)
    resyncs: int = 0
    slos: dict[str, SloObservation] = field(default_factory=dict)  # by service
    # Oldest first, newest last (by the deploy's own time), each deploy once (by id).
    deploys: deque[Deploy] = field(default_factory=lambda: deque(maxlen=DEPLOY_HISTORY))


class Store:
    """Applies StoreEvents; knows nothing of its listeners (views subscribe to the signals)."""

    services_changed = Signal(str)  # backend
    metrics_appended = Signal(str, object)  # backend, set of services
    circuit_changed = Signal(str, object)  # backend, Circuit
    cluster_changed = Signal(str, object)  # backend, DbCluster
    alert_changed = Signal(str, object)  # backend, Alert
    event_added = Signal(str, object)  # backend, Event
    action_finished = Signal(str, object)  # backend, ActionFinished
    connection_changed = Signal(str, object)  # backend, LinkStatus
    frame_rejected = Signal(str, str, str)  # backend, kind, reason
    resynced = Signal(str, object)  # backend, SnapshotLoaded
    snapshot_loaded = Signal(str)  # backend: whole state replaced, views rebuild their lists
    silence_changed = Signal(str, object)  # backend, Silence
    backend_described = Signal(str, object)  # backend, BackendInfo
    slo_changed = Signal(str)  # backend: its SLO observations were replaced
    deploy_seen = Signal(str, object)  # backend, Deploy (each deploy once)

    def __init__(
        self,
        capacity: int = DEFAULT_CAPACITY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self._clock = clock
        self._backends: dict[str, BackendState] = {}
        self.events: deque[tuple[str, Event]] = deque(maxlen=EVENT_HISTORY)

    # ------------------------------------------------------------ reading

    @property
    def backends(self) -> dict[str, BackendState]:
        return self._backends

    def backend(self, name: str) -> BackendState:
        state = self._backends.get(name)
        if state is None:
            state = self._backends[name] = BackendState(
                name, SeriesBank(self.capacity, METRIC_FIELDS)
            )
        return state

    def server_now(self, backend: str, wall_now: float) -> float:
        """Best estimate of the backend's clock now: its newest sample time plus its age.

        Countdowns against server times (a breaker's half-open moment) use this, so a
        workstation clock skewed by minutes does not lie about them.
        """
        state = self._backends.get(backend)
        if state is None or state.newest_data_ts is None or state.newest_data_mono is None:
            return wall_now
        return state.newest_data_ts + max(0.0, self._clock() - state.newest_data_mono)

    def data_age(self, backend: str, now: float | None = None) -> float | None:
        """Seconds since the newest real data arrived from this backend (local clock), or None.

        Only new data resets it (see `BackendState.data_mono`), so while a backend hangs,
        restarts or merely says hello the age keeps growing.
        """
        state = self._backends.get(backend)
        if state is None or state.data_mono is None:
            return None
        return max(0.0, (self._clock() if now is None else now) - state.data_mono)

    # ------------------------------------------------------------ writing

    def apply(self, event: StoreEvent) -> None:
        """Apply one event; the handler is chosen by the event's type."""
        handler = self._handlers.get(type(event))
        if handler is None:
            raise TypeError(f"no handler for {type(event).__name__}")
        handler(self, event)

    def _apply_snapshot(self, ev: SnapshotLoaded) -> None:
        state = self.backend(ev.backend)
        state.services = {s.name: s for s in ev.services}
        state.circuits = {c.name: c for c in ev.circuits}
        state.clusters = {c.name: c for c in ev.clusters}
        state.alerts = {a.id: a for a in ev.alerts}
        if ev.resync:
            state.resyncs += 1
        self.snapshot_loaded.emit(ev.backend)
        self.services_changed.emit(ev.backend)
        for c in state.circuits.values():
            self.circuit_changed.emit(ev.backend, c)
        for cl in state.clusters.values():
            self.cluster_changed.emit(ev.backend, cl)
        for a in state.alerts.values():
            self.alert_changed.emit(ev.backend, a)
        if ev.resync:
            self.resynced.emit(ev.backend, ev)

    def _apply_metrics(self, ev: MetricsBatch) -> None:
        state = self.backend(ev.backend)
        if ev.fields != state.series.fields:
            ev = _reorder_fields(ev, state.series.fields)
        touched, kept = state.series.append_rows(ev.services, ev.ts, ev.values)
        state.samples_ingested += kept * len(ev.fields)
        if ev.ts.size:
            newest = float(ev.ts.max())
            if state.newest_data_ts is None or newest > state.newest_data_ts:
                state.newest_data_ts = newest
                state.newest_data_mono = state.data_mono = self._clock() - max(
                    0.0, ev.age_at_arrival
                )
        unknown = touched.difference(state.services)
        if unknown:
            # A row for a service that no snapshot announced: keep it, show it by name.
            for name in unknown:
                state.services[name] = Service(name=name, display_name=name)
            self.services_changed.emit(ev.backend)
        if touched:
            self.metrics_appended.emit(ev.backend, touched)

    def _apply_history(self, ev: HistoryLoaded) -> None:
        state = self.backend(ev.backend)
        values = ev.values
        if ev.fields != state.series.fields:
            values = _reorder_fields(
                MetricsBatch(ev.backend, (ev.service,) * len(ev.ts), ev.ts, values, ev.fields),
                state.series.fields,
            ).values
        if state.series.prepend(ev.service, ev.ts, values):
            if ev.service not in state.services:
                state.services[ev.service] = Service(name=ev.service, display_name=ev.service)
                self.services_changed.emit(ev.backend)
            self.metrics_appended.emit(ev.backend, {ev.service})

    def _apply_circuit(self, ev: CircuitChanged) -> None:
        state = self.backend(ev.backend)
        state.circuits[ev.circuit.name] = ev.circuit
        self.circuit_changed.emit(ev.backend, ev.circuit)

    def _apply_cluster(self, ev: ClusterChanged) -> None:
        state = self.backend(ev.backend)
        state.clusters[ev.cluster.name] = ev.cluster
        self.cluster_changed.emit(ev.backend, ev.cluster)

    def _apply_alert(self, ev: AlertChanged) -> None:
        state = self.backend(ev.backend)
        state.alerts[ev.alert.id] = ev.alert
        self.alert_changed.emit(ev.backend, ev.alert)

    def _apply_event(self, ev: EventOccurred) -> None:
        self.backend(ev.backend)
        self.events.append((ev.backend, ev.event))
        self.event_added.emit(ev.backend, ev.event)

    def _apply_action(self, ev: ActionFinished) -> None:
        self.action_finished.emit(ev.backend, ev)

    def _apply_connection(self, ev: ConnectionChanged) -> None:
        state = self.backend(ev.backend)
        if state.link == ev.status:
            return
        state.link = ev.status
        self.connection_changed.emit(ev.backend, ev.status)

    def _apply_described(self, ev: BackendDescribed) -> None:
        self.backend(ev.backend).info = ev.info
        self.backend_described.emit(ev.backend, ev.info)

    def _apply_silence(self, ev: SilenceChanged) -> None:
        state = self.backend(ev.backend)
        state.silences[ev.silence.id] = ev.silence
        self.silence_changed.emit(ev.backend, ev.silence)

    def _apply_data_received(self, ev: DataReceived) -> None:
        self.backend(ev.backend).data_mono = self._clock()

    def _apply_slos(self, ev: SlosObserved) -> None:
        state = self.backend(ev.backend)
        slos = {obs.service: obs for obs in ev.observations}
        if slos == state.slos:
            return  # a poll that brought the same observations (`as_of` included): no news
        state.slos = slos
        self.slo_changed.emit(ev.backend)

    def _apply_deploys(self, ev: DeploysSeen) -> None:
        state = self.backend(ev.backend)
        known = {d.id for d in state.deploys}
        new: list[Deploy] = []
        for deploy in sorted(ev.deploys, key=lambda d: d.ts):
            if deploy.id not in known:
                known.add(deploy.id)
                new.append(deploy)
        if not new:
            return
        if state.deploys and new[0].ts < state.deploys[-1].ts:
            # A late report of an older deploy (a list fetched after a live event): keep the
            # order by time, dropping the oldest beyond the bound.
            merged = sorted((*state.deploys, *new), key=lambda d: d.ts)
            state.deploys = deque(merged, maxlen=DEPLOY_HISTORY)
        else:
            state.deploys.extend(new)
        self._follow_versions(state, {d.service for d in new})
        kept = {d.id for d in state.deploys}
        for deploy in new:
            if deploy.id in kept:
                self.deploy_seen.emit(ev.backend, deploy)

    @staticmethod
    def _follow_versions(state: BackendState, services: set[str]) -> None:
        """A service runs the version of its newest deploy (a rollback included), not the one
        its last snapshot named: between snapshots, deploy events are all that say it."""
        newest: dict[str, Deploy] = {}
        for deploy in state.deploys:
            if deploy.service in services:
                newest[deploy.service] = deploy  # oldest first: the last one wins
        for name, deploy in newest.items():
            service = state.services.get(name)
            if service is not None and service.version != deploy.version:
                state.services[name] = msgspec.structs.replace(service, version=deploy.version)

    def _apply_rejected(self, ev: FrameRejected) -> None:
        self.backend(ev.backend).invalid_frames[ev.kind] += 1
        self.frame_rejected.emit(ev.backend, ev.kind, ev.reason)

    _handlers: ClassVar[dict[type, Callable[[Store, Any], None]]] = {
        SnapshotLoaded: _apply_snapshot,
        MetricsBatch: _apply_metrics,
        HistoryLoaded: _apply_history,
        CircuitChanged: _apply_circuit,
        ClusterChanged: _apply_cluster,
        AlertChanged: _apply_alert,
        EventOccurred: _apply_event,
        ActionFinished: _apply_action,
        ConnectionChanged: _apply_connection,
        FrameRejected: _apply_rejected,
        BackendDescribed: _apply_described,
        SilenceChanged: _apply_silence,
        DataReceived: _apply_data_received,
        SlosObserved: _apply_slos,
        DeploysSeen: _apply_deploys,
    }


def _reorder_fields(ev: MetricsBatch, wanted: tuple[str, ...]) -> MetricsBatch:
    """Map a batch with another field order (or subset) onto the store's fields."""
    out = np.full((ev.values.shape[0], len(wanted)), np.nan)
    for j, name in enumerate(wanted):
        if name in ev.fields:
            out[:, j] = ev.values[:, ev.fields.index(name)]
    return MetricsBatch(ev.backend, ev.services, ev.ts, out, wanted)

"""The timeline recorder: turns what the core store hears into timeline entries.

Post-mortems are built from a timestamped timeline (docs: domain.md), so every entry keeps the
time the event itself happened, in one time base per backend, and survives a console restart.

Where entries come from (`TimelineRecorder`):

- Breaker and cluster lines are derived from *state changes only* (circuit and db frames,
  snapshots and resyncs alike), compared with the last state seen; the first sighting of a
  circuit or cluster is its baseline and writes nothing. A backend that also sends `event`
  frames of kind "breaker" or "failover" for the very change just derived (the reference backend
  sends each change as a state frame immediately followed by its event) would print the same
  fact twice, so such an event is skipped when it names a circuit or cluster whose change was
  derived within `PAIR_WINDOW_S`: each derived change pairs with at most one event. Events that
  pair with nothing (a replica rejoining, a backend that sends no state frames) are kept.
- A restarted backend (the client's "Backend … restarted" line, written before the new run's
  snapshot) starts a new history: its circuits and clusters are taken as new baselines, never
  compared with the old run's. A cluster whose timeline went down has started over too (a
  timeline only grows within one history): one "state after a restart" line, never a promotion.
- A breaker flapping between two states (each change within `FLAP_WINDOW_S` of the last, see
  `core.flapping`) is one line: its first change is written at once as usual, the rest grow
  one "flapping open ↔ half-open ×N (12:01:10–12:03:40)" entry, rewritten in place.
- Alerts: a line when one starts firing, resolves, or is first acknowledged; repeated frames of
  the same alert write nothing. These lines carry a stable `ref` so a restarted console that
  sees the same firing alert again (with another current value in its message) adds no
  duplicate.
- Link changes: the client already reports them as "info" events (lost, restored,
  resynchronised), recorded as kind "connection"; the recorder adds "auth failed" itself.
- Operator actions: `record_action`, called by the action pipeline.

Times in messages are local HH:MM:SS (`core.clocktext`), written when the line is made.
Entry times: events carry the backend's own time; alerts their `since_ts`/`acked_ts`; breakers their
`last_transition_ts`. Changes without a time of their own (a cluster's state, an alert's
resolution, operator actions) are stamped with the store's estimate of that backend's clock,
so they sort correctly among the backend's events even when the workstation clock is off.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

import msgspec

from opsconsole.core.events import LINK_RESTARTED
from opsconsole.core.flapping import FlapRun, next_run
from opsconsole.core.models import (
    Alert,
    Circuit,
    ConnectionState,
    DbCluster,
    DbMember,
    Event,
    LinkStatus,
)
from opsconsole.core.store import Store
from opsconsole.core.timeline import wording
from opsconsole.core.timeline.entry import KINDS, TimelineEntry
from opsconsole.core.timeline.store import TimelineStore

log = logging.getLogger(__name__)

# A derived breaker/cluster change and the backend's own event for it arrive back to back;
# a few seconds of slack covers a busy loop without swallowing a later, unrelated event.
PAIR_WINDOW_S = 5.0
# Alerts remembered per backend; resolved ones beyond this are forgotten (a forgotten resolved
# alert seen again is only a baseline, so forgetting never invents a line).
MAX_KNOWN_ALERTS = 5000


@dataclass(frozen=True)
class _AlertSeen:
    state: str
    since_ts: float
    acked_by: str | None


@dataclass(frozen=True)
class _Flapping:
    """A circuit's current run of changes and, once it groups, the entry that shows it."""

    run: FlapRun | None
    entry: TimelineEntry | None = None  # the group's stored entry
    generation: int = 0  # of the timeline database the entry lives in


def _guarded(method: Callable[..., None]) -> Callable[..., None]:
    """A failing timeline must never break ingestion: the store's emit would raise into the
    client. Log and carry on."""

    @functools.wraps(method)
    def wrapper(self: TimelineRecorder, *args: Any) -> None:
        try:
            method(self, *args)
        except Exception:
            log.exception("timeline: could not record %s", method.__name__.lstrip("_"))

    return wrapper


class TimelineRecorder:
    """Subscribes to a core Store and writes what changed into a TimelineStore.

    Keep a reference to the recorder for as long as it should record: psygnal holds bound
    methods weakly, so a recorder nobody references silently stops. `close()` disconnects.
    """

    def __init__(
        self,
        store: Store,
        timeline: TimelineStore,
        on_entry: Callable[[TimelineEntry], None] | None = None,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        tz: tzinfo | None = None,
    ) -> None:
        self.store = store
        self.timeline = timeline
        self.on_entry = on_entry
        self._clock = clock
        self._monotonic = monotonic
        self._tz = tz  # for times written into messages; None: the workstation's local time
        self._circuits: dict[tuple[str, str], tuple[str, float]] = {}  # → (state, entry ts)
        self._flaps: dict[tuple[str, str], _Flapping] = {}
        self._clusters: dict[tuple[str, str], DbCluster] = {}
        self._alerts: dict[str, dict[str, _AlertSeen]] = {}
        self._links: dict[str, ConnectionState] = {}
        # Derived breaker/cluster changes awaiting the backend's own event for them:
        # backend → (what, name, monotonic time).
        self._pending: dict[str, deque[tuple[str, str, float]]] = {}
        self.skipped_events = 0  # events dropped as duplicates of derived lines
        self._slots: list[tuple[Any, Callable[..., None]]] = [
            (store.event_added, self._on_event),
            (store.alert_changed, self._on_alert),
            (store.cluster_changed, self._on_cluster),
            (store.circuit_changed, self._on_circuit),
            (store.connection_changed, self._on_connection),
        ]
        for signal, slot in self._slots:
            signal.connect(slot)

    def last_id(self) -> int:
        """The id of the newest stored entry (0 when empty): later entries have larger ids."""
        return self.timeline.last_id()

    def close(self) -> None:
        for signal, slot in self._slots:
            signal.disconnect(slot)
        self._slots.clear()

    # ------------------------------------------------------------ public

    def record_action(
        self,
        backend: str,
        command_id: str,
        target: str | None,
        outcome: str,
        message: str = "",
        data: dict[str, Any] | None = None,
    ) -> TimelineEntry | None:
        """An operator action and its outcome (called by the action pipeline)."""
        text = wording.action_text(command_id, target, outcome, message)
        details = {"command": command_id, "target": target, "outcome": outcome, **(data or {})}
        return self._write(
            TimelineEntry(
                ts=self._observed(backend),
                backend=backend,
                kind="action",
                service=target,
                message=text,
                data=details,
            )
        )

    # ------------------------------------------------------------ helpers

    def _observed(self, backend: str) -> float:
        """Now, on the backend's clock as far as the store can tell."""
        return self.store.server_now(backend, self._clock())

    def _write(self, entry: TimelineEntry) -> TimelineEntry | None:
        stored = self.timeline.append(entry)
        if stored is not None and self.on_entry is not None:
            self.on_entry(stored)
        return stored

    def _rewrite(self, entry: TimelineEntry) -> TimelineEntry | None:
        stored = self.timeline.update(entry)
        if stored is not None and self.on_entry is not None:
            self.on_entry(stored)
        return stored

    def _new_history(self, backend: str) -> None:
        """The backend restarted: what it said before is another history. Its next circuits
        and clusters are baselines again, and nothing pairs or groups across the restart."""
        for known in (self._circuits, self._clusters, self._flaps):
            for key in [k for k in known if k[0] == backend]:
                del known[key]
        self._pending.pop(backend, None)

    def _derived(self, backend: str, what: str, name: str) -> None:
        self._pending.setdefault(backend, deque()).append((what, name, self._monotonic()))

    def _pairs_with_derived(self, backend: str, event: Event) -> bool:
        """True when this breaker/failover event reports a change already derived from state."""
        pending = self._pending.get(backend)
        if not pending:
            return False
        now = self._monotonic()
        while pending and now - pending[0][2] > PAIR_WINDOW_S:
            pending.popleft()
        what = "breaker" if event.kind == "breaker" else "cluster"
        key = "circuit" if what == "breaker" else "cluster"
        for i, (kind, name, _) in enumerate(pending):
            if kind == what and (event.data.get(key) == name or name in event.message):
                del pending[i]
                return True
        return False

    # ------------------------------------------------------------ store signals

    @_guarded
    def _on_event(self, backend: str, event: Event) -> None:
        # A line of the backend's own history (Patroni's) says why; it is kept beside the
        # change the console derived from the state.
        own_history = event.data.get("source") == "patroni history"
        if (
            event.kind in ("breaker", "failover")
            and not own_history
            and self._pairs_with_derived(backend, event)
        ):
            self.skipped_events += 1
            return
        if event.kind == "info" and event.data.get("link") == LINK_RESTARTED:
            self._new_history(backend)
        kind: str = event.kind
        if kind == "info" and wording.is_link_message(event.message):
            kind = "connection"
        elif kind not in KINDS:
            kind = "info"
        service = event.service
        target = event.data.get("target")
        if service is None and kind == "scenario" and isinstance(target, str) and target:
            # A scenario aimed at a dependency or a database member names no service; its
            # target is what the operator will look for in the Service column.
            service = target
        self._write(
            TimelineEntry(
                ts=event.ts,
                backend=backend,
                kind=kind,
                service=service,
                message=event.message,
                data=dict(event.data),
            )
        )

    @_guarded
    def _on_circuit(self, backend: str, circuit: Circuit) -> None:
        key = (backend, circuit.name)
        known = self._circuits.get(key)
        if known is None:
            self._circuits[key] = (circuit.state, -math.inf)  # baseline
            return
        old, last_ts = known
        if old == circuit.state:
            return
        ts = circuit.last_transition_ts
        if ts is None or ts <= last_ts:
            # No transition time, or a stale one from a backend that does not update it.
            ts = self._observed(backend)
        self._circuits[key] = (circuit.state, ts)
        self._derived(backend, "breaker", circuit.name)
        flapping = self._flaps.get(key)
        run = next_run(flapping.run if flapping else None, old, circuit.state, ts)
        if run is not None and run.grouped and flapping is not None:
            self._flaps[key] = self._grow_group(backend, circuit.name, run, flapping)
            return
        self._flaps[key] = _Flapping(run)
        text = wording.breaker_change_text(old, circuit)
        self._write(
            TimelineEntry(
                ts=ts,
                backend=backend,
                kind="breaker",
                service=circuit.name,
                message=text,
                data={"circuit": circuit.name, "from": old, "to": circuit.state},
            )
        )

    def _grow_group(self, backend: str, name: str, run: FlapRun, was: _Flapping) -> _Flapping:
        """Show a flapping run as one entry: written at its second change, then rewritten.

        The entry keeps the run's start time, so it sits just above the run's first line and
        stays there while it grows; the span in its words tells how long it has lasted.
        """
        text = wording.flapping_text(name, run, self._tz)
        data = {"circuit": name, "to": run.last_to, "changes": run.count}
        generation = self.timeline.generation
        if was.entry is not None and was.generation == generation:
            grown = msgspec.structs.replace(was.entry, message=text, data=data)
            if self._rewrite(grown) is not None:
                return _Flapping(run, grown, generation)
        # The first group line, or its database was replaced meanwhile: a new entry.
        stored = self._write(
            TimelineEntry(
                ts=run.start_ts,
                backend=backend,
                kind="breaker",
                service=name,
                message=text,
                data=data,
            )
        )
        return _Flapping(run, stored, generation)

    @_guarded
    def _on_cluster(self, backend: str, cluster: DbCluster) -> None:
        key = (backend, cluster.name)
        old = self._clusters.get(key)
        self._clusters[key] = cluster
        if old is None:
            return  # baseline
        name = cluster.name
        ts = self._observed(backend)
        old_timeline, new_timeline = _timeline_of(old), _timeline_of(cluster)
        if new_timeline < old_timeline:
            # A timeline only grows within one history: lower means the cluster (or the backend
            # reporting it) started over. Its state now is a new baseline, never a promotion.
            text = wording.cluster_restart_text(cluster, new_timeline)
            data = {
                "cluster": name,
                "primary": cluster.primary,
                "timeline": new_timeline,
                "previous_timeline": old_timeline,
                "to": cluster.state,
            }
            self._write(_cluster_entry(backend, ts, name, text, data))
            return
        entries: list[TimelineEntry] = []
        if cluster.primary != old.primary:
            entries.append(_promotion(backend, ts, old, cluster))
        if cluster.state != old.state:
            text = wording.cluster_state_text(old.state, cluster, _member(cluster, old.primary))
            data = {"cluster": name, "from": old.state, "to": cluster.state}
            entries.append(_cluster_entry(backend, ts, name, text, data))
        if cluster.read_only != old.read_only:
            text = wording.read_only_text(name, cluster.read_only)
            data = {"cluster": name, "read_only": cluster.read_only}
            entries.append(_cluster_entry(backend, ts, name, text, data))
        if cluster.primary != old.primary or cluster.state != old.state:
            # Read-only switches come with "action" events (who did it), which are kept.
            self._derived(backend, "cluster", name)
        for entry in entries:
            self._write(entry)

    @_guarded
    def _on_alert(self, backend: str, alert: Alert) -> None:
        known = self._alerts.setdefault(backend, {})
        seen = known.get(alert.id)
        firing = alert.state == "firing"
        ref = f"alert:{alert.id}:{alert.since_ts!r}"
        data = {
            "alert_id": alert.id,
            "rule": alert.rule,
            "severity": alert.severity,
            "state": alert.state,
            "value": alert.value,
            "threshold": alert.threshold,
        }
        entries: list[TimelineEntry] = []

        def add(ts: float, what: str, text: str, **extra: Any) -> None:
            entries.append(
                TimelineEntry(
                    ts=ts,
                    backend=backend,
                    kind="alert",
                    service=alert.service or None,
                    message=text,
                    data={**data, "change": what, **extra},
                    ref=f"{ref}:{what}",
                )
            )

        if firing and (seen is None or seen.state != "firing" or seen.since_ts != alert.since_ts):
            # A first sighting of a firing alert is recorded too (with its own start time):
            # after a restart the ref makes it a no-op when it is already in the timeline.
            add(alert.since_ts, "fired", wording.alert_fired_text(alert))
        elif seen is not None and seen.state == "firing" and not firing:
            add(self._observed(backend), "resolved", wording.alert_resolved_text(alert))
        acked_before = seen is not None and seen.acked_by
        if alert.acked_by and not acked_before and (firing or seen is not None):
            ts = alert.acked_ts if alert.acked_ts is not None else self._observed(backend)
            text = wording.alert_acked_text(alert)
            add(ts, "acked", text, acked_by=alert.acked_by)
        known[alert.id] = _AlertSeen(alert.state, alert.since_ts, alert.acked_by)
        if len(known) > MAX_KNOWN_ALERTS:
            for alert_id in [k for k, v in known.items() if v.state != "firing"]:
                del known[alert_id]
                if len(known) <= MAX_KNOWN_ALERTS // 2:
                    break
        for entry in entries:
            self._write(entry)

    @_guarded
    def _on_connection(self, backend: str, status: LinkStatus) -> None:
        previous = self._links.get(backend)
        self._links[backend] = status.state
        if status.state is ConnectionState.AUTH_FAILED and previous is not status.state:
            text = wording.auth_failed_text(backend, status.detail)
            self._write(
                TimelineEntry(
                    ts=self._clock(),
                    backend=backend,
                    kind="connection",
                    message=text,
                    data={"state": status.state.value},
                )
            )


def _timeline_of(cluster: DbCluster) -> int:
    """The cluster's timeline: the highest of its members' (a new primary raises it)."""
    return max((m.timeline for m in cluster.members), default=0)


def _member(cluster: DbCluster, name: str | None) -> DbMember | None:
    return next((m for m in cluster.members if m.name == name), None)


def _cluster_entry(
    backend: str, ts: float, name: str, text: str, data: dict[str, Any]
) -> TimelineEntry:
    return TimelineEntry(
        ts=ts, backend=backend, kind="cluster", service=name, message=text, data=data
    )


def _promotion(backend: str, ts: float, old: DbCluster, new: DbCluster) -> TimelineEntry:
    name = new.name
    member = _member(new, new.primary)
    timeline = member.timeline if member is not None else None
    text = wording.promotion_text(name, old.primary, new.primary, timeline)
    return TimelineEntry(
        ts=ts,
        backend=backend,
        kind="failover",
        service=name,
        message=text,
        data={
            "cluster": name,
            "previous_primary": old.primary,
            "primary": new.primary,
            "timeline": timeline,
        },
    )

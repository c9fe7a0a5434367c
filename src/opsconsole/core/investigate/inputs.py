"""What every check reads: the store, the service, the incident start and the timeline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from opsconsole.core.investigate.finding import Evidence, Finding, Verdict
from opsconsole.core.models import ConnectionState, Service
from opsconsole.core.store import BackendState, Store
from opsconsole.core.timeline.entry import TimelineEntry

# Link states in which the store's picture of a backend is not current.
BLIND_STATES = frozenset(
    {
        ConnectionState.STALE,
        ConnectionState.RECONNECTING,
        ConnectionState.STOPPED,
        ConnectionState.AUTH_FAILED,
        ConnectionState.CONNECTING,
    }
)


@dataclass(frozen=True)
class Inputs:
    """One investigation's read-only view: a service of one backend since `incident_start`."""

    store: Store
    backend: str
    service: str
    incident_start: float  # epoch seconds; the baseline is the hour before it
    timeline: tuple[TimelineEntry, ...] = ()
    # Read from the backend for the part of the baseline hour older than the store's first
    # sample (field → values); the baseline is the median of both. `yesterday` holds medians.
    # `history_query` is what was asked.
    baseline: Mapping[str, Sequence[float]] = field(default_factory=dict)
    yesterday: Mapping[str, float] = field(default_factory=dict)
    history_query: str | None = None
    history_problem: str | None = None  # why the backend's history could not be read

    @property
    def state(self) -> BackendState:
        return self.store.backend(self.backend)

    @property
    def service_record(self) -> Service | None:
        return self.state.services.get(self.service)


def clock_text(ts: float) -> str:
    """12:20:27 (UTC), as the timeline shows times."""
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M:%S")


def cannot_look(check: str, inputs: Inputs) -> Finding | None:
    """A SKIPPED finding when the backend's state is not current, else None."""
    link = inputs.state.link.state
    if link in BLIND_STATES:
        return Finding(
            check,
            inputs.service,
            Verdict.SKIPPED,
            f"could not look: backend {link.value.upper()}",
            Evidence(values={"backend": inputs.backend, "link": link.value}),
        )
    return None


NO_SOURCE = "skipped: no data source"


def no_source(check: str, inputs: Inputs, what: str) -> Finding:
    """A SKIPPED finding for a check with nothing to read."""
    return Finding(
        check,
        inputs.service,
        Verdict.SKIPPED,
        f"{NO_SOURCE} ({what})",
        Evidence(values={"backend": inputs.backend}),
    )

"""Core events: what a backend adapter hands to the store, already decoded and validated."""

from __future__ import annotations

import msgspec
import numpy as np

from opsconsole.core.models import (
    Alert,
    BackendInfo,
    Circuit,
    DbCluster,
    Event,
    LinkStatus,
    Service,
    Silence,
)
from opsconsole.core.slo.model import Deploy, SloObservation


class StoreEvent(msgspec.Struct, frozen=True):
    """Base of every event applied to the store; `backend` names the source."""

    backend: str


# `Event.data["link"]` of the client's line for a backend that came back as a new run (a new
# epoch): the state before it belongs to another history and is not compared with the new one.
LINK_RESTARTED = "restarted"


class SnapshotLoaded(StoreEvent, frozen=True):
    """The whole state of a backend. `resync` marks a snapshot that replaced lost frames;
    `restarted` one from a new run of the backend (a new epoch), not a continuation."""

    services: tuple[Service, ...]
    circuits: tuple[Circuit, ...]
    clusters: tuple[DbCluster, ...]
    alerts: tuple[Alert, ...]
    ts: float
    resync: bool = False
    gap_from_ts: float | None = None
    restarted: bool = False


class MetricsBatch(StoreEvent, frozen=True):
    """Many golden-signal rows at once; `values` is (rows, fields) float64 with NaN for no data."""

    services: tuple[str, ...]
    ts: np.ndarray
    values: np.ndarray
    fields: tuple[str, ...]
    # How old the newest row already was when it arrived (judged on the backend's clock):
    # rows that crawl through a slow link are not fresh just because they just arrived.
    age_at_arrival: float = 0.0


class HistoryLoaded(StoreEvent, frozen=True):
    """Past samples of one service (a backfill), to be put before what the store holds.

    Unlike a MetricsBatch it may arrive after live rows, and it is never fresh data.
    """

    service: str
    ts: np.ndarray
    values: np.ndarray  # (len(ts), len(fields)), NaN = no data
    fields: tuple[str, ...]


class CircuitChanged(StoreEvent, frozen=True):
    circuit: Circuit


class ClusterChanged(StoreEvent, frozen=True):
    cluster: DbCluster


class AlertChanged(StoreEvent, frozen=True):
    alert: Alert


class EventOccurred(StoreEvent, frozen=True):
    event: Event


class ActionFinished(StoreEvent, frozen=True):
    action_id: str
    status: str
    message: str
    ts: float


class ConnectionChanged(StoreEvent, frozen=True):
    status: LinkStatus


class FrameRejected(StoreEvent, frozen=True):
    """A frame failed validation and was dropped; `kind` is the ProtocolError kind."""

    kind: str
    reason: str


class BackendDescribed(StoreEvent, frozen=True):
    """The backend's kind, address, TLS trust and abilities, from the configuration."""

    info: BackendInfo


class SilenceChanged(StoreEvent, frozen=True):
    silence: Silence


class DataReceived(StoreEvent, frozen=True):
    """A complete, current answer from a backend whose data carries no sample times.

    Alertmanager's alert list is data even when nothing in it changed; metric backends never
    send this (a new sample is their proof of fresh data).
    """


class SlosObserved(StoreEvent, frozen=True):
    """The backend's SLOs with their request counts per window: the whole set, one per service
    (a service missing from it no longer has an SLO on this backend)."""

    observations: tuple[SloObservation, ...]


class DeploysSeen(StoreEvent, frozen=True):
    """Deploys the backend reported (a deploy event, or a list that may repeat known ones)."""

    deploys: tuple[Deploy, ...]

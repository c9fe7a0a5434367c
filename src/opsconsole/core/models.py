"""Typed, immutable records of the monitored system: services, circuits, clusters, alerts."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal

import msgspec

# Wire times are float seconds since the Unix epoch. Anything before 1970 or after 2100 is a
# broken clock or a corrupt frame, never a real sample.
MAX_TS = 4_102_444_800.0
Timestamp = Annotated[float, msgspec.Meta(ge=0.0, le=MAX_TS)]
# JSON cannot carry NaN/Inf, but an absurd magnitude is as bad; bounding also rejects them.
Finite = Annotated[float, msgspec.Meta(ge=-1e300, le=1e300)]
Ratio = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
NonNegative = Annotated[float, msgspec.Meta(ge=0.0, le=1e300)]
Count = Annotated[int, msgspec.Meta(ge=0)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]

METRIC_FIELDS: tuple[str, ...] = (
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "rps",
    "error_ratio",
    "cpu",
    "memory",
)

CircuitStateName = Literal["closed", "open", "half_open", "forced_open", "disabled"]
ClusterStateName = Literal["healthy", "degraded", "failed"]
SystemHealth = Literal["healthy", "degraded", "failed"]
Severity = Literal["page", "ticket", "info"]
AlertStateName = Literal["firing", "resolved"]
EventKind = Literal["deploy", "failover", "breaker", "action", "scenario", "info"]
MemberRole = Literal["primary", "replica"]


class Record(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """Base for immutable records; unknown wire fields are ignored for forward compatibility."""


class Thresholds(Record):
    latency_p99_ms: NonNegative = 500.0
    error_ratio: Ratio = 0.01
    cpu: Ratio = 0.80
    memory: Ratio = 0.85
    traffic_deviation: NonNegative = 0.5


class Slo(Record):
    target: Ratio = 0.999
    window_days: Annotated[int, msgspec.Meta(ge=1, le=3660)] = 30


class Service(Record):
    name: Name
    display_name: str = ""
    tier: str = ""
    depends_on: tuple[str, ...] = ()
    slo: Slo = Slo()
    thresholds: Thresholds = Thresholds()
    version: str | None = None  # the deployed version, where the backend says (Ops API)


class ServiceMetrics(Record):
    """One golden-signal sample of one service; None means "no data" (never 0)."""

    latency_p50_ms: NonNegative | None = None
    latency_p95_ms: NonNegative | None = None
    latency_p99_ms: NonNegative | None = None
    rps: NonNegative | None = None
    error_ratio: Ratio | None = None
    cpu: Ratio | None = None
    memory: Ratio | None = None


class GoldenSample(Record):
    """A golden-signal sample with its service and time."""

    service: Name
    ts: Timestamp
    metrics: ServiceMetrics


class Circuit(Record):
    """State of one circuit breaker. `name` comes from the map key on the wire."""

    state: CircuitStateName
    failure_count: Count = 0
    failure_threshold: Count = 0
    timeout_s: NonNegative = 0.0
    success_rate: Ratio | None = None
    total_requests_5min: Count = 0
    last_transition_ts: Timestamp | None = None
    name: str = ""


class DbMember(Record):
    name: Name
    role: MemberRole
    healthy: bool
    lag_bytes: Count = 0
    timeline: Count = 1
    consecutive_failures: Count = 0
    # What a backend with its own words and rules adds (Patroni); the defaults are the
    # reference backend's, which says none of it.
    role_words: str | None = None  # "leader", "sync standby", "standby leader", "replica"
    state_words: str | None = None  # as the backend says it: "running", "streaming", "stopped"
    lag_known: bool = True  # False: the backend said "unknown" (lag_bytes is then meaningless)
    reachable: bool = True  # False: the member's own API does not answer (the DCS still lists it)
    refusal: str | None = None  # why the backend's own rules refuse it as a candidate
    read_only: bool | None = None  # default_transaction_read_only as verified on it; None: unknown
    pending_restart: bool = False
    wal_words: str | None = None  # where its WAL stands: "at 0/3000060", "received … replayed …"
    dcs_seen_ts: Timestamp | None = None  # when it last reached the DCS (epoch seconds)


class DbCluster(Record):
    name: Name
    state: ClusterStateName
    read_only: bool
    primary: str | None
    health_check_interval_s: NonNegative = 5.0
    failure_threshold: Count = 3
    members: tuple[DbMember, ...] = ()
    # Set by the failover manager while degraded: what is wrong and how old the served data is.
    message: str | None = None
    data_age_s: NonNegative | None = None
    paused: bool = False  # maintenance mode: the backend will not fail over by itself
    max_lag_bytes: Count | None = None  # the backend's own limit for a candidate's lag
    synchronous_mode: bool = False
    # read_only is advisory (a default that sessions can override), not enforced
    read_only_advisory: bool = False
    scheduled_switchover: str | None = None  # "at 2026-12-06T22:00:00+00:00 from pg1 to pg2"


class Alert(Record):
    id: Name
    service: str
    rule: str
    severity: Severity
    state: AlertStateName
    since_ts: Timestamp
    value: Finite | None = None
    threshold: Finite | None = None
    summary: str = ""
    acked_by: str | None = None
    acked_ts: Timestamp | None = None
    # Alertmanager's view of the alert; empty for backends that have no such notions.
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    silenced_by: tuple[str, ...] = ()  # ids of the silences that mute it
    inhibited_by: tuple[str, ...] = ()  # fingerprints of the alerts that inhibit it


class Matcher(Record):
    """One silence matcher: label `name` equal to (or, with is_regex, matching) `value`."""

    name: Name
    value: str
    is_regex: bool = False
    is_equal: bool = True


SilenceStateName = Literal["active", "pending", "expired"]


class Silence(Record):
    """An Alertmanager silence: which alerts it mutes, from when until when, and who made it."""

    id: Name
    matchers: tuple[Matcher, ...]
    starts_ts: Timestamp
    ends_ts: Timestamp
    created_by: str
    comment: str
    state: SilenceStateName


class Event(Record):
    """Something that happened: a deploy, failover, breaker change, action or scenario."""

    ts: Timestamp
    kind: EventKind
    message: str
    service: str | None = None
    data: dict[str, Any] = {}
    seq: int | None = None


class ConnectionState(enum.Enum):
    """What the console knows about one backend link, in the words shown to the operator."""

    CONNECTING = "connecting"
    LIVE = "live"
    STALE = "stale"
    RECONNECTING = "reconnecting"
    AUTH_FAILED = "auth failed"
    STOPPED = "stopped"


class Transport(enum.Enum):
    WEBSOCKET = "websocket"
    SSE = "sse"
    POLLING = "polling"
    PROMETHEUS = "prometheus"  # PromQL queries every step
    ALERTMANAGER = "alertmanager"  # Alertmanager API v2 polled
    PATRONI = "patroni"  # Patroni's REST API polled, member by member


BackendKind = Literal["opsapi", "prometheus", "alertmanager", "patroni"]


class BackendInfo(msgspec.Struct, frozen=True):
    """What a backend is and what it can do, as configured; shown beside its link state."""

    name: str
    kind: BackendKind
    url: str
    insecure: bool = False  # TLS not verified: shown as INSECURE wherever the backend is
    actions: frozenset[str] = frozenset()  # command ids it can carry out ("*" for all)

    def can(self, command_id: str) -> bool:
        return "*" in self.actions or command_id in self.actions


class LinkStatus(msgspec.Struct, frozen=True):
    """Connection state of one backend as the operator should see it."""

    state: ConnectionState
    transport: Transport | None = None
    detail: str = ""
    retry_in_s: float | None = None
    since: float = 0.0

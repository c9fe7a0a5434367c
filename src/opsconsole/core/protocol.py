"""Ops API v1 wire format: typed frames and REST bodies, and decoders that never raise."""

from __future__ import annotations

import functools
from typing import Annotated, Any, Literal, TypeVar

import msgspec
import numpy as np

from opsconsole.core.models import (
    METRIC_FIELDS,
    Alert,
    AlertStateName,
    Circuit,
    CircuitStateName,
    Count,
    DbCluster,
    EventKind,
    Finite,
    Name,
    Service,
    ServiceMetrics,
    SystemHealth,
    Timestamp,
)

MAX_FRAME_BYTES = 1024 * 1024
API_VERSION = "1"
TOPICS: tuple[str, ...] = ("metrics", "circuits", "db", "alerts", "events")
Seq = Annotated[int, msgspec.Meta(ge=0)]


class ProtocolError(msgspec.Struct, frozen=True):
    """Why a frame or body was refused. `kind` is a short stable label used for counting."""

    kind: str
    reason: str
    frame_type: str | None = None


# ---------------------------------------------------------------- REST bodies


class HealthBody(msgspec.Struct, frozen=True):
    status: str
    version: str
    server_time: Timestamp
    epoch: str
    # Optional parts of the contract this backend offers ("slo", "deploys"); none: the core.
    features: tuple[str, ...] = ()


class ServicesBody(msgspec.Struct, frozen=True):
    services: tuple[Service, ...]


class RealtimeBody(msgspec.Struct, frozen=True):
    ts: Timestamp
    system_health: SystemHealth
    services: dict[str, ServiceMetrics]


class HistoricalBody(msgspec.Struct, frozen=True):
    service: str
    metric: str
    step: Annotated[float, msgspec.Meta(gt=0)]
    points: list[tuple[Timestamp, Finite | None]]


class CircuitsBody(msgspec.Struct, frozen=True):
    circuits: dict[str, Circuit]


class ClustersBody(msgspec.Struct, frozen=True):
    clusters: tuple[DbCluster, ...]


class AlertsBody(msgspec.Struct, frozen=True):
    alerts: tuple[Alert, ...]


class ActionAccepted(msgspec.Struct, frozen=True):
    action_id: str | None = None
    status: str | None = None
    message: str | None = None


class ErrorDetail(msgspec.Struct, frozen=True):
    code: str
    message: str
    details: dict[str, Any] = {}


class ErrorBody(msgspec.Struct, frozen=True):
    error: ErrorDetail


class EventsBody(msgspec.Struct, frozen=True):
    """Replay of raw stream frames; each frame is decoded separately so one bad frame is dropped."""

    epoch: str
    events: list[msgspec.Raw] = []
    # Extension (docs/ops-api.md): the server's last seq, so a polling client knows where
    # to resume from; asked for without `since_seq` it returns no frames, only this.
    seq: int | None = None


# Demo backends only (the reference backend's fault scenarios).


class ScenarioRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Body of POST /api/v1/sim/scenario."""

    name: str
    target: str | None = None
    duration_s: float | None = None


class ActiveScenario(msgspec.Struct, frozen=True):
    name: str
    target: str | None
    started_ts: float
    until_ts: float


class ScenarioStarted(msgspec.Struct, frozen=True):
    """202 answer: what was started (or ended, for recover) and until when."""

    scenario: str
    target: str | None
    started_ts: float
    until_ts: float | None
    ended: tuple[ActiveScenario, ...] = ()


class ScenariosBody(msgspec.Struct, frozen=True):
    scenarios: tuple[ActiveScenario, ...]
    available: tuple[str, ...] = ()


# ---------------------------------------------------------------- stream frames


class Frame(msgspec.Struct, frozen=True, tag_field="type"):
    """Base of every server-to-client frame."""


class HelloFrame(Frame, tag="hello"):
    version: str
    epoch: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    server_time: Timestamp
    seq: Seq
    metric_fields: tuple[str, ...] = METRIC_FIELDS


class SnapshotFrame(Frame, tag="snapshot"):
    seq: Seq
    ts: Timestamp
    resync: bool = False
    services: tuple[Service, ...] = ()
    realtime: RealtimeBody | None = None
    circuits: dict[str, Circuit] = {}
    clusters: tuple[DbCluster, ...] = ()
    alerts: tuple[Alert, ...] = ()
    epoch: str | None = None


class MetricsFrame(Frame, tag="metrics"):
    """Rows stay raw here; `decode_metric_rows` validates them against the hello's field list."""

    seq: Seq
    rows: msgspec.Raw


class CircuitFrame(Frame, tag="circuit"):
    seq: Seq
    ts: Timestamp
    name: Name
    state: CircuitStateName
    prev_state: CircuitStateName | None = None
    failure_count: Count = 0
    failure_threshold: Count | None = None
    timeout_s: float | None = None
    success_rate: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] | None = None
    total_requests_5min: Count = 0


class DbFrame(Frame, tag="db"):
    seq: Seq
    ts: Timestamp
    cluster: DbCluster


class AlertFrame(Frame, tag="alert"):
    seq: Seq
    ts: Timestamp
    alert: Alert


class EventFrame(Frame, tag="event"):
    seq: Seq
    ts: Timestamp
    kind: EventKind
    message: str
    service: str | None = None
    data: dict[str, Any] = {}


class ActionResultFrame(Frame, tag="action_result"):
    seq: Seq
    ts: Timestamp
    action_id: str
    status: Literal["succeeded", "failed"]
    message: str = ""


class HeartbeatFrame(Frame, tag="heartbeat"):
    ts: Timestamp
    seq: Seq


AnyFrame = (
    HelloFrame
    | SnapshotFrame
    | MetricsFrame
    | CircuitFrame
    | DbFrame
    | AlertFrame
    | EventFrame
    | ActionResultFrame
    | HeartbeatFrame
)
# Frames that carry a `seq` of their own (a snapshot's seq names where live frames resume).
STATE_FRAMES = (
    SnapshotFrame,
    MetricsFrame,
    CircuitFrame,
    DbFrame,
    AlertFrame,
    EventFrame,
    ActionResultFrame,
)
FRAME_TYPES: tuple[str, ...] = (
    "hello",
    "snapshot",
    "metrics",
    "circuit",
    "db",
    "alert",
    "event",
    "action_result",
    "heartbeat",
)

# ---------------------------------------------------------------- client-to-server


class SubscribeOp(msgspec.Struct, frozen=True, tag_field="op", tag="subscribe"):
    topics: tuple[str, ...] = TOPICS
    services: tuple[str, ...] = ("*",)
    since_seq: int | None = None
    epoch: str | None = None


class UnsubscribeOp(msgspec.Struct, frozen=True, tag_field="op", tag="unsubscribe"):
    topics: tuple[str, ...] = ()


ClientOp = SubscribeOp | UnsubscribeOp


# ---------------------------------------------------------------- decoders

_frame_decoder = msgspec.json.Decoder(AnyFrame)
_type_probe = msgspec.json.Decoder(dict[str, Any])
_encoder = msgspec.json.Encoder()
T = TypeVar("T")


def _frame_type_of(data: bytes | str) -> str | None:
    """Best-effort frame type for error labels; never raises."""
    try:
        value = _type_probe.decode(data).get("type")
    except (msgspec.DecodeError, AttributeError, RecursionError, ValueError):
        return None
    return value if isinstance(value, str) else None


def _classify(exc: msgspec.DecodeError, data: bytes | str) -> ProtocolError:
    text = str(exc)
    if isinstance(exc, msgspec.ValidationError):
        frame_type = _frame_type_of(data)
        if "Invalid value" in text and "`$.type`" in text:
            return ProtocolError("unknown_type", f"unknown frame type {frame_type!r}", frame_type)
        if "missing required field `type`" in text:
            return ProtocolError("missing_type", "frame has no 'type' field")
        if "Number out of range" in text:
            return ProtocolError("non_finite", text, frame_type)
        return ProtocolError("invalid_field", text, frame_type)
    if "Number out of range" in text:
        return ProtocolError("non_finite", text, _frame_type_of(data))
    return ProtocolError("malformed_json", text)


def _check_size(data: bytes | str) -> ProtocolError | None:
    size = len(data)
    if isinstance(data, str) and size <= MAX_FRAME_BYTES < 4 * size:
        # The limit is on UTF-8 bytes: one character may take up to four.
        size = len(data.encode("utf-8", "surrogatepass"))
    if size > MAX_FRAME_BYTES:
        return ProtocolError("oversize", f"frame of {size} bytes exceeds {MAX_FRAME_BYTES}")
    return None


def decode_frame(data: bytes | str) -> AnyFrame | ProtocolError:
    """Decode one stream frame; any defect comes back as a ProtocolError, never an exception."""
    if (err := _check_size(data)) is not None:
        return err
    try:
        return _frame_decoder.decode(data)
    except msgspec.DecodeError as exc:
        return _classify(exc, data)
    except (RecursionError, UnicodeDecodeError, ValueError) as exc:
        return ProtocolError("malformed_json", str(exc))


@functools.cache
def _decoder_for(kind: type[T]) -> msgspec.json.Decoder:
    return msgspec.json.Decoder(kind)


def decode_body(data: bytes | str, kind: type[T]) -> T | ProtocolError:
    """Decode a REST body into `kind`; a defect comes back as a ProtocolError."""
    if len(data) > 64 * MAX_FRAME_BYTES:
        return ProtocolError("oversize", f"body of {len(data)} bytes is too large")
    try:
        return _decoder_for(kind).decode(data)
    except msgspec.DecodeError as exc:
        return _classify(exc, data)
    except (RecursionError, UnicodeDecodeError, ValueError) as exc:
        return ProtocolError("malformed_json", str(exc))


class MetricRows(msgspec.Struct, frozen=True):
    """A decoded metrics frame: one entry per row, values in `fields` order, NaN for no data."""

    services: tuple[str, ...]
    ts: np.ndarray  # float64, shape (n,)
    values: np.ndarray  # float64, shape (n, len(fields))
    fields: tuple[str, ...]


@functools.cache
def _rows_decoder(n_fields: int) -> msgspec.json.Decoder:
    row = tuple.__class_getitem__((Name, Timestamp, *((Finite | None,) * n_fields)))
    return msgspec.json.Decoder(list[row])  # type: ignore[valid-type]


def decode_metric_rows(
    rows: msgspec.Raw | bytes, fields: tuple[str, ...] = METRIC_FIELDS
) -> MetricRows | ProtocolError:
    """Validate metric rows in one C-level pass and return them as numpy arrays."""
    try:
        decoded = _rows_decoder(len(fields)).decode(rows)
    except msgspec.DecodeError as exc:
        err = _classify(exc, b"{}")
        return ProtocolError(err.kind, err.reason, "metrics")
    except (RecursionError, ValueError) as exc:  # e.g. invalid UTF-8 inside the raw rows
        return ProtocolError("malformed_json", str(exc), "metrics")
    n = len(decoded)
    if n == 0:
        return MetricRows((), np.empty(0), np.empty((0, len(fields))), fields)
    services, ts, *columns = zip(*decoded, strict=True)
    # None -> NaN: "no data" stays distinguishable from 0 all the way to the screen.
    values = np.array(columns, dtype=np.float64).T.reshape(n, len(fields))
    bad = _out_of_range(values, fields)
    if bad is not None:
        return ProtocolError("invalid_field", bad, "metrics")
    return MetricRows(tuple(services), np.array(ts, dtype=np.float64), values, fields)


# Every golden signal is non-negative; ratios cannot exceed 1.
RATIO_FIELDS = frozenset({"error_ratio", "cpu", "memory"})


def _out_of_range(values: np.ndarray, fields: tuple[str, ...]) -> str | None:
    """Why a block of metric values is impossible, or None. NaN (no data) always passes."""
    if values.size == 0:
        return None
    with np.errstate(invalid="ignore"):
        if (values < 0).any():
            return "negative golden-signal value"
        for j, name in enumerate(fields):
            if name in RATIO_FIELDS and (values[:, j] > 1).any():
                return f"{name} above 1"
    return None


def encode(obj: Any) -> bytes:
    """Encode a frame, body or op. NaN and Inf become null, as the contract requires."""
    return _encoder.encode(obj)


def frame_seq(frame: AnyFrame) -> int | None:
    """The sequence number a state-bearing frame carries, None for hello and heartbeat."""
    if isinstance(frame, STATE_FRAMES):
        return frame.seq
    return None


def circuit_from_frame(frame: CircuitFrame, previous: Circuit | None) -> Circuit:
    """Merge a circuit frame into the known record (frames omit static fields)."""
    return Circuit(
        name=frame.name,
        state=frame.state,
        failure_count=frame.failure_count,
        failure_threshold=(
            frame.failure_threshold
            if frame.failure_threshold is not None
            else (previous.failure_threshold if previous else 0)
        ),
        timeout_s=(
            frame.timeout_s
            if frame.timeout_s is not None
            else (previous.timeout_s if previous else 0.0)
        ),
        success_rate=frame.success_rate,
        total_requests_5min=frame.total_requests_5min,
        last_transition_ts=(
            frame.ts
            if previous is None or previous.state != frame.state
            else previous.last_transition_ts
        ),
    )


def named_circuits(circuits: dict[str, Circuit]) -> dict[str, Circuit]:
    """Circuits keyed by name with the name filled into each record."""
    return {name: msgspec.structs.replace(c, name=name) for name, c in circuits.items()}


AlertState = AlertStateName

"""Property tests of the wire decoders: never raise, round-trip, and keep "no data" as NaN."""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsconsole.core.models import (
    MAX_TS,
    METRIC_FIELDS,
    Alert,
    Circuit,
    DbCluster,
    DbMember,
    Service,
    ServiceMetrics,
    Slo,
    Thresholds,
)
from opsconsole.core.protocol import (
    FRAME_TYPES,
    ActionResultFrame,
    AlertFrame,
    CircuitFrame,
    DbFrame,
    EventFrame,
    Frame,
    HeartbeatFrame,
    HelloFrame,
    MetricRows,
    MetricsFrame,
    ProtocolError,
    RealtimeBody,
    SnapshotFrame,
    decode_frame,
    decode_metric_rows,
    encode,
)

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------------ arbitrary input

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and ±inf serialise as the non-JSON literals NaN/Infinity
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)
small_json = st.recursive(
    json_scalars, lambda children: st.lists(children, max_size=3), max_leaves=4
)
# Objects that look like frames, so the fuzzing reaches field validation.
frame_like = st.fixed_dictionaries(
    {"type": st.sampled_from(FRAME_TYPES) | st.text(max_size=10)},
    optional={
        key: small_json
        for key in ("seq", "ts", "rows", "name", "state", "epoch", "cluster", "alert", "kind")
    },
)


def assert_frame_or_error(result: object) -> None:
    assert isinstance(result, Frame | ProtocolError), repr(result)
    if isinstance(result, ProtocolError):
        assert result.kind and result.reason


@FUZZ
@given(st.binary(max_size=512))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    assert_frame_or_error(decode_frame(data))


@FUZZ
@given(st.text(max_size=256))
def test_arbitrary_text_never_raises(data: str) -> None:
    assert_frame_or_error(decode_frame(data))


@FUZZ
@given(json_values)
def test_arbitrary_json_values_never_raise(value: Any) -> None:
    result = decode_frame(json.dumps(value).encode())
    assert_frame_or_error(result)
    if not isinstance(value, dict):
        assert isinstance(result, ProtocolError)


@FUZZ
@given(frame_like)
def test_frame_like_objects_never_raise(value: dict[str, Any]) -> None:
    data = json.dumps(value).encode()
    result = decode_frame(data)
    assert_frame_or_error(result)
    if isinstance(result, MetricsFrame):
        rows = decode_metric_rows(result.rows)
        assert isinstance(rows, MetricRows | ProtocolError)


@FUZZ
@given(st.binary(max_size=256), st.integers(min_value=0, max_value=12))
def test_arbitrary_metric_rows_never_raise(data: bytes, n_fields: int) -> None:
    fields = tuple(f"f{i}" for i in range(n_fields))
    assert isinstance(decode_metric_rows(data, fields), MetricRows | ProtocolError)


@FUZZ
@given(json_values)
def test_arbitrary_json_metric_rows_never_raise(value: Any) -> None:
    result = decode_metric_rows(json.dumps(value).encode())
    assert isinstance(result, MetricRows | ProtocolError)


# ------------------------------------------------------------------ valid frames round-trip

timestamps = st.floats(min_value=0.0, max_value=MAX_TS)
seqs = st.integers(min_value=0, max_value=2**53)
counts = st.integers(min_value=0, max_value=2**31)
names = st.text(min_size=1, max_size=16)
texts = st.text(max_size=24)
ratios = st.floats(min_value=0.0, max_value=1.0)
non_negative = st.floats(min_value=0.0, max_value=1e300)
finite = st.floats(min_value=-1e300, max_value=1e300)
circuit_states = st.sampled_from(["closed", "open", "half_open", "forced_open", "disabled"])
health = st.sampled_from(["healthy", "degraded", "failed"])
data_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=12,
)

services = st.builds(
    Service,
    name=names,
    display_name=texts,
    tier=texts,
    depends_on=st.lists(names, max_size=3).map(tuple),
    slo=st.builds(Slo, target=ratios, window_days=st.integers(1, 3660)),
    thresholds=st.builds(
        Thresholds,
        latency_p99_ms=non_negative,
        error_ratio=ratios,
        cpu=ratios,
        memory=ratios,
        traffic_deviation=non_negative,
    ),
)
service_metrics = st.builds(
    ServiceMetrics,
    latency_p50_ms=st.none() | non_negative,
    latency_p95_ms=st.none() | non_negative,
    latency_p99_ms=st.none() | non_negative,
    rps=st.none() | non_negative,
    error_ratio=st.none() | ratios,
    cpu=st.none() | ratios,
    memory=st.none() | ratios,
)
circuits = st.builds(
    Circuit,
    state=circuit_states,
    failure_count=counts,
    failure_threshold=counts,
    timeout_s=non_negative,
    success_rate=st.none() | ratios,
    total_requests_5min=counts,
    last_transition_ts=st.none() | timestamps,
    name=texts,
)
members = st.builds(
    DbMember,
    name=names,
    role=st.sampled_from(["primary", "replica"]),
    healthy=st.booleans(),
    lag_bytes=counts,
    timeline=counts,
    consecutive_failures=counts,
)
clusters = st.builds(
    DbCluster,
    name=names,
    state=health,
    read_only=st.booleans(),
    primary=st.none() | names,
    health_check_interval_s=non_negative,
    failure_threshold=counts,
    members=st.lists(members, max_size=3).map(tuple),
    message=st.none() | texts,
    data_age_s=st.none() | non_negative,
)
alerts = st.builds(
    Alert,
    id=names,
    service=texts,
    rule=texts,
    severity=st.sampled_from(["page", "ticket", "info"]),
    state=st.sampled_from(["firing", "resolved"]),
    since_ts=timestamps,
    value=st.none() | finite,
    threshold=st.none() | finite,
    summary=texts,
    acked_by=st.none() | texts,
    acked_ts=st.none() | timestamps,
)


def metric_rows(n_fields: int = len(METRIC_FIELDS)) -> st.SearchStrategy[list[list[Any]]]:
    row = st.tuples(names, timestamps, *([st.none() | ratios] * n_fields)).map(list)
    return st.lists(row, max_size=5)


frames = st.one_of(
    st.builds(
        HelloFrame,
        version=texts,
        epoch=st.text(min_size=1, max_size=128),
        server_time=timestamps,
        seq=seqs,
        metric_fields=st.lists(names, max_size=8).map(tuple),
    ),
    st.builds(
        SnapshotFrame,
        seq=seqs,
        ts=timestamps,
        resync=st.booleans(),
        services=st.lists(services, max_size=3).map(tuple),
        realtime=st.none()
        | st.builds(
            RealtimeBody,
            ts=timestamps,
            system_health=health,
            services=st.dictionaries(names, service_metrics, max_size=3),
        ),
        circuits=st.dictionaries(names, circuits, max_size=3),
        clusters=st.lists(clusters, max_size=2).map(tuple),
        alerts=st.lists(alerts, max_size=3).map(tuple),
        epoch=st.none() | texts,
    ),
    st.builds(MetricsFrame, seq=seqs, rows=metric_rows().map(lambda r: msgspec.Raw(encode(r)))),
    st.builds(
        CircuitFrame,
        seq=seqs,
        ts=timestamps,
        name=names,
        state=circuit_states,
        prev_state=st.none() | circuit_states,
        failure_count=counts,
        failure_threshold=st.none() | counts,
        timeout_s=st.none() | st.floats(allow_nan=False, allow_infinity=False),
        success_rate=st.none() | ratios,
        total_requests_5min=counts,
    ),
    st.builds(DbFrame, seq=seqs, ts=timestamps, cluster=clusters),
    st.builds(AlertFrame, seq=seqs, ts=timestamps, alert=alerts),
    st.builds(
        EventFrame,
        seq=seqs,
        ts=timestamps,
        kind=st.sampled_from(["deploy", "failover", "breaker", "action", "scenario", "info"]),
        message=texts,
        service=st.none() | texts,
        data=st.dictionaries(texts, data_values, max_size=4),
    ),
    st.builds(
        ActionResultFrame,
        seq=seqs,
        ts=timestamps,
        action_id=texts,
        status=st.sampled_from(["succeeded", "failed"]),
        message=texts,
    ),
    st.builds(HeartbeatFrame, ts=timestamps, seq=seqs),
)


@FUZZ
@given(frames)
def test_valid_frames_round_trip(frame: Frame) -> None:
    data = encode(frame)
    assert decode_frame(data) == frame
    assert decode_frame(data.decode()) == frame


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"non-JSON constant {name}")


@FUZZ
@given(frames)
def test_encoded_frames_are_strict_json_with_a_type(frame: Frame) -> None:
    parsed = json.loads(encode(frame), parse_constant=_refuse_constant)
    assert parsed["type"] in FRAME_TYPES


# ------------------------------------------------------------------ metric rows


@FUZZ
@given(
    st.integers(min_value=1, max_value=10).flatmap(lambda n: st.tuples(st.just(n), metric_rows(n)))
)
def test_valid_metric_rows_keep_none_as_nan(case: tuple[int, list[list[Any]]]) -> None:
    n_fields, rows = case
    fields = tuple(f"f{i}" for i in range(n_fields))
    result = decode_metric_rows(encode(rows), fields)
    assert isinstance(result, MetricRows)
    assert result.fields == fields
    assert result.services == tuple(r[0] for r in rows)
    assert result.ts.tolist() == [r[1] for r in rows]
    assert result.values.shape == (len(rows), n_fields)
    none_mask = np.array([[v is None for v in r[2:]] for r in rows], dtype=bool).reshape(
        len(rows), n_fields
    )
    assert (np.isnan(result.values) == none_mask).all()
    for i, row in enumerate(rows):
        for j, value in enumerate(row[2:]):
            if value is not None:
                assert result.values[i, j] == value


@FUZZ
@given(metric_rows())
def test_metrics_frame_rows_decode_after_the_frame(rows: list[list[Any]]) -> None:
    data = encode({"type": "metrics", "seq": 1, "rows": rows})
    frame = decode_frame(data)
    assert isinstance(frame, MetricsFrame)
    result = decode_metric_rows(frame.rows)
    assert isinstance(result, MetricRows)
    assert len(result.services) == len(rows)
    assert not np.isinf(result.values).any()
    assert all(math.isfinite(t) for t in result.ts)

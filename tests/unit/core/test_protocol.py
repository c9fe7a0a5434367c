"""Ops API v1 wire format: every frame and body decodes, every defect is a ProtocolError."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import msgspec
import numpy as np
import pytest

from opsconsole.core.models import MAX_TS, METRIC_FIELDS, Alert, Circuit, DbCluster, DbMember
from opsconsole.core.protocol import (
    MAX_FRAME_BYTES,
    ActionAccepted,
    ActionResultFrame,
    AlertFrame,
    AlertsBody,
    CircuitFrame,
    CircuitsBody,
    ClientOp,
    ClustersBody,
    DbFrame,
    ErrorBody,
    EventFrame,
    EventsBody,
    HealthBody,
    HeartbeatFrame,
    HelloFrame,
    HistoricalBody,
    MetricRows,
    MetricsFrame,
    ProtocolError,
    RealtimeBody,
    ServicesBody,
    SnapshotFrame,
    SubscribeOp,
    UnsubscribeOp,
    circuit_from_frame,
    decode_body,
    decode_frame,
    decode_metric_rows,
    encode,
    frame_seq,
    named_circuits,
)

TS = 1_700_000_000.25

# ------------------------------------------------------------------ realistic wire examples

CLUSTER: dict[str, Any] = {
    "name": "orders-db",
    "state": "healthy",
    "read_only": False,
    "primary": "primary-db",
    "health_check_interval_s": 5,
    "failure_threshold": 3,
    "members": [
        {
            "name": "primary-db",
            "role": "primary",
            "healthy": True,
            "lag_bytes": 0,
            "timeline": 1,
            "consecutive_failures": 0,
        },
        {
            "name": "replica-1",
            "role": "replica",
            "healthy": True,
            "lag_bytes": 4096,
            "timeline": 1,
            "consecutive_failures": 0,
        },
    ],
}

ALERT: dict[str, Any] = {
    "id": "a-17",
    "service": "checkout",
    "rule": "latency_p99_high",
    "severity": "page",
    "state": "firing",
    "since_ts": TS - 120,
    "value": 912.5,
    "threshold": 500,
    "summary": "checkout p99 above 500 ms for 2 min",
    "acked_by": None,
    "acked_ts": None,
}

SERVICE: dict[str, Any] = {
    "name": "checkout",
    "display_name": "Checkout",
    "tier": "critical",
    "depends_on": ["payments", "orders-db"],
    "slo": {"target": 0.999, "window_days": 30},
    "thresholds": {"latency_p99_ms": 400, "error_ratio": 0.02, "cpu": 0.8, "memory": 0.85},
}

REALTIME: dict[str, Any] = {
    "ts": TS,
    "system_health": "degraded",
    "services": {
        "checkout": {
            "latency_p50_ms": 12.1,
            "latency_p95_ms": 40.3,
            "latency_p99_ms": 88.0,
            "rps": 412.0,
            "error_ratio": 0.002,
            "cpu": 0.41,
            "memory": 0.63,
        },
        "payments": {
            "latency_p50_ms": None,
            "latency_p95_ms": None,
            "latency_p99_ms": None,
            "rps": 0,
            "error_ratio": None,
            "cpu": 0.1,
            "memory": 0.2,
        },
    },
}

CIRCUIT: dict[str, Any] = {
    "state": "open",
    "failure_count": 5,
    "failure_threshold": 5,
    "timeout_s": 30,
    "success_rate": 0.42,
    "total_requests_5min": 1200,
    "last_transition_ts": TS - 3,
}

ROW_CHECKOUT = ["checkout", TS, 12.1, 40.3, 88.0, 412.0, 0.002, 0.41, 0.63]
ROW_PAYMENTS = ["payments", TS, None, None, None, 0.0, None, 0.1, 0.2]

FRAMES: dict[str, dict[str, Any]] = {
    "hello": {
        "type": "hello",
        "version": "1",
        "epoch": "run-7f3a9c",
        "server_time": TS,
        "seq": 41,
        "metric_fields": list(METRIC_FIELDS),
    },
    "snapshot": {
        "type": "snapshot",
        "seq": 42,
        "ts": TS,
        "resync": False,
        "services": [SERVICE],
        "realtime": REALTIME,
        "circuits": {"payments": CIRCUIT},
        "clusters": [CLUSTER],
        "alerts": [ALERT],
    },
    "metrics": {"type": "metrics", "seq": 43, "rows": [ROW_CHECKOUT, ROW_PAYMENTS]},
    "circuit": {
        "type": "circuit",
        "seq": 44,
        "ts": TS,
        "name": "payments",
        "state": "half_open",
        "prev_state": "open",
        "failure_count": 5,
        "success_rate": 0.5,
        "total_requests_5min": 1201,
    },
    "db": {"type": "db", "seq": 45, "ts": TS, "cluster": CLUSTER},
    "alert": {"type": "alert", "seq": 46, "ts": TS, "alert": ALERT},
    "event": {
        "type": "event",
        "seq": 47,
        "ts": TS,
        "kind": "deploy",
        "service": "checkout",
        "message": "checkout v2.14.1 rolled out",
        "data": {"version": "2.14.1", "replicas": 6, "canary": False},
    },
    "action_result": {
        "type": "action_result",
        "seq": 48,
        "ts": TS,
        "action_id": "act-0b1c",
        "status": "succeeded",
        "message": "switchover to replica-1 done",
    },
    "heartbeat": {"type": "heartbeat", "ts": TS, "seq": 48},
}

FRAME_CLASSES: dict[str, type] = {
    "hello": HelloFrame,
    "snapshot": SnapshotFrame,
    "metrics": MetricsFrame,
    "circuit": CircuitFrame,
    "db": DbFrame,
    "alert": AlertFrame,
    "event": EventFrame,
    "action_result": ActionResultFrame,
    "heartbeat": HeartbeatFrame,
}


def wire(obj: Any) -> bytes:
    return json.dumps(obj, allow_nan=False).encode()


def frame(frame_type: str, /, **changes: Any) -> dict[str, Any]:
    """A deep copy of the example frame of `frame_type` with top-level fields replaced."""
    out = copy.deepcopy(FRAMES[frame_type])
    out.update(changes)
    return out


def refused(data: bytes | str, kind: str | None = None) -> ProtocolError:
    result = decode_frame(data)
    assert isinstance(result, ProtocolError), f"accepted: {result!r}"
    assert result.reason
    if kind is not None:
        assert result.kind == kind, result
    return result


def required_fields(cls: type) -> list[str]:
    return [f.name for f in msgspec.structs.fields(cls) if f.required]


# ------------------------------------------------------------------ every frame type decodes


@pytest.mark.parametrize("kind", list(FRAMES))
def test_every_frame_type_decodes_from_bytes_and_str(kind: str) -> None:
    data = wire(FRAMES[kind])
    from_bytes = decode_frame(data)
    from_str = decode_frame(data.decode())
    assert isinstance(from_bytes, FRAME_CLASSES[kind])
    assert from_str == from_bytes


def test_hello_frame_fields() -> None:
    hello = decode_frame(wire(FRAMES["hello"]))
    assert isinstance(hello, HelloFrame)
    assert (hello.version, hello.epoch, hello.server_time, hello.seq) == ("1", "run-7f3a9c", TS, 41)
    assert hello.metric_fields == METRIC_FIELDS


def test_hello_without_metric_fields_defaults_to_the_standard_order() -> None:
    data = frame("hello")
    del data["metric_fields"]
    hello = decode_frame(wire(data))
    assert isinstance(hello, HelloFrame)
    assert hello.metric_fields == METRIC_FIELDS


def test_snapshot_frame_decodes_nested_records() -> None:
    snap = decode_frame(wire(FRAMES["snapshot"]))
    assert isinstance(snap, SnapshotFrame)
    assert snap.seq == 42 and snap.resync is False
    (service,) = snap.services
    assert service.name == "checkout"
    assert service.depends_on == ("payments", "orders-db")
    assert service.slo.target == 0.999
    assert service.thresholds.latency_p99_ms == 400
    assert service.thresholds.traffic_deviation == 0.5  # default for an omitted threshold
    assert snap.realtime is not None
    assert snap.realtime.system_health == "degraded"
    assert snap.realtime.services["checkout"].rps == 412.0
    # null is "no data", distinct from a real zero.
    assert snap.realtime.services["payments"].latency_p99_ms is None
    assert snap.realtime.services["payments"].rps == 0
    assert snap.circuits["payments"].state == "open"
    assert snap.circuits["payments"].success_rate == 0.42
    (cluster,) = snap.clusters
    assert cluster.primary == "primary-db"
    assert [m.role for m in cluster.members] == ["primary", "replica"]
    assert cluster.members[1].lag_bytes == 4096
    (alert,) = snap.alerts
    assert alert.severity == "page" and alert.acked_by is None


def test_minimal_snapshot_uses_empty_defaults() -> None:
    snap = decode_frame(wire({"type": "snapshot", "seq": 0, "ts": TS}))
    assert snap == SnapshotFrame(seq=0, ts=TS)
    assert isinstance(snap, SnapshotFrame)
    assert snap.realtime is None and snap.circuits == {} and snap.alerts == ()


def test_resync_snapshot_flag_and_epoch() -> None:
    snap = decode_frame(wire(frame("snapshot", resync=True, epoch="run-2")))
    assert isinstance(snap, SnapshotFrame)
    assert snap.resync is True and snap.epoch == "run-2"


def test_metrics_frame_keeps_rows_raw_for_the_row_decoder() -> None:
    metrics = decode_frame(wire(FRAMES["metrics"]))
    assert isinstance(metrics, MetricsFrame)
    assert isinstance(metrics.rows, msgspec.Raw)
    rows = decode_metric_rows(metrics.rows)
    assert isinstance(rows, MetricRows)
    assert rows.services == ("checkout", "payments")


def test_circuit_frame_fields() -> None:
    circuit = decode_frame(wire(FRAMES["circuit"]))
    assert isinstance(circuit, CircuitFrame)
    assert (circuit.name, circuit.state, circuit.prev_state) == ("payments", "half_open", "open")
    assert circuit.failure_threshold is None and circuit.timeout_s is None


def test_db_alert_event_and_action_result_frames() -> None:
    db = decode_frame(wire(FRAMES["db"]))
    alert = decode_frame(wire(FRAMES["alert"]))
    event = decode_frame(wire(FRAMES["event"]))
    result = decode_frame(wire(FRAMES["action_result"]))
    assert isinstance(db, DbFrame) and isinstance(db.cluster, DbCluster)
    assert db.cluster.members[0] == DbMember("primary-db", "primary", True)
    assert isinstance(alert, AlertFrame) and isinstance(alert.alert, Alert)
    assert alert.alert.value == 912.5 and alert.alert.threshold == 500
    assert isinstance(event, EventFrame)
    assert event.kind == "deploy" and event.data == {
        "version": "2.14.1",
        "replicas": 6,
        "canary": False,
    }
    assert isinstance(result, ActionResultFrame)
    assert (result.action_id, result.status) == ("act-0b1c", "succeeded")


def test_heartbeat_frame_fields() -> None:
    assert decode_frame(wire(FRAMES["heartbeat"])) == HeartbeatFrame(ts=TS, seq=48)


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    data = frame("circuit", shard="eu-1", new_thing={"nested": [1, 2, 3]})
    assert decode_frame(wire(data)) == decode_frame(wire(FRAMES["circuit"]))


def test_integer_wire_times_decode_as_floats() -> None:
    beat = decode_frame(b'{"type":"heartbeat","ts":1700000000,"seq":1}')
    assert isinstance(beat, HeartbeatFrame)
    assert beat.ts == 1_700_000_000.0 and isinstance(beat.ts, float)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("hello", None), ("heartbeat", None), ("snapshot", 42), ("metrics", 43), ("event", 47)],
)
def test_frame_seq_only_for_state_bearing_frames(kind: str, expected: int | None) -> None:
    decoded = decode_frame(wire(FRAMES[kind]))
    assert not isinstance(decoded, ProtocolError)
    assert frame_seq(decoded) == expected


# ------------------------------------------------------------------ malformed input


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   ",
        b"{",
        b'{"type":"heartbeat","ts":1700000000,"seq":',
        wire(FRAMES["snapshot"])[:-1],
        wire(FRAMES["snapshot"])[: len(wire(FRAMES["snapshot"])) // 2],
        b'{"type":"heartbeat",}',
        b"{'type':'heartbeat'}",
        b'{"type":"heartbeat","ts":1,"seq":1} trailing',
        b"\x00\x01\x02",
    ],
    ids=[
        "empty",
        "blank",
        "open-brace",
        "cut-mid-value",
        "missing-last-brace",
        "cut-in-half",
        "trailing-comma",
        "single-quotes",
        "trailing-garbage",
        "binary",
    ],
)
def test_malformed_or_truncated_json_is_refused(data: bytes) -> None:
    refused(data, "malformed_json")


@pytest.mark.parametrize("data", [b"[1, 2]", b'"hello"', b"null", b"42", b"true", b"[]"])
def test_non_object_json_is_refused(data: bytes) -> None:
    err = refused(data, "invalid_field")
    assert "object" in err.reason


def test_unknown_frame_type_is_refused_and_named() -> None:
    err = refused(wire({"type": "gossip", "seq": 1}), "unknown_type")
    assert err.frame_type == "gossip"
    assert "gossip" in err.reason


def test_missing_type_is_refused() -> None:
    data = frame("heartbeat")
    del data["type"]
    refused(wire(data), "missing_type")


@pytest.mark.parametrize("value", [None, 5, ["hello"], {"t": "hello"}, ""])
def test_non_string_or_empty_type_is_refused(value: Any) -> None:
    refused(wire(frame("heartbeat", type=value)))


@pytest.mark.parametrize(
    ("kind", "missing"),
    [(k, f) for k, cls in FRAME_CLASSES.items() for f in required_fields(cls)],
)
def test_missing_required_field_is_refused(kind: str, missing: str) -> None:
    data = frame(kind)
    del data[missing]
    err = refused(wire(data), "invalid_field")
    assert err.frame_type == kind
    assert missing in err.reason


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        (k, f)
        for k, cls in FRAME_CLASSES.items()
        for f in required_fields(cls)
        # Rows stay raw in the frame; the row decoder refuses null rows (tested below).
        if (k, f) != ("metrics", "rows")
    ],
)
def test_null_for_a_required_field_is_refused(kind: str, field: str) -> None:
    err = refused(wire(frame(kind, **{field: None})), "invalid_field")
    assert err.frame_type == kind


def test_null_rows_pass_the_frame_but_not_the_row_decoder() -> None:
    metrics = decode_frame(wire(frame("metrics", rows=None)))
    assert isinstance(metrics, MetricsFrame)
    err = decode_metric_rows(metrics.rows)
    assert isinstance(err, ProtocolError) and err.kind == "invalid_field"


@pytest.mark.parametrize(
    ("kind", "changes"),
    [
        ("heartbeat", {"seq": "3"}),
        ("heartbeat", {"seq": 3.5}),
        ("heartbeat", {"seq": 3.0}),
        ("heartbeat", {"seq": True}),
        ("heartbeat", {"seq": -1}),
        ("heartbeat", {"ts": "2023-11-14T22:13:20Z"}),
        ("heartbeat", {"ts": True}),
        ("heartbeat", {"ts": [TS]}),
        ("hello", {"epoch": ""}),
        ("hello", {"epoch": "e" * 129}),
        ("hello", {"version": 1}),
        ("hello", {"metric_fields": "cpu"}),
        ("snapshot", {"resync": "false"}),
        ("snapshot", {"services": {"checkout": SERVICE}}),
        ("snapshot", {"clusters": [{**CLUSTER, "read_only": "no"}]}),
        ("snapshot", {"alerts": [{**ALERT, "severity": "critical"}]}),
        ("snapshot", {"circuits": {"payments": {**CIRCUIT, "state": "ajar"}}}),
        ("snapshot", {"realtime": {**REALTIME, "system_health": "fine"}}),
        ("circuit", {"state": "broken"}),
        ("circuit", {"name": ""}),
        ("circuit", {"success_rate": 1.5}),
        ("circuit", {"failure_count": -1}),
        ("db", {"cluster": {**CLUSTER, "members": [{"name": "x", "role": "leader"}]}}),
        ("db", {"cluster": "orders-db"}),
        ("alert", {"alert": {**ALERT, "state": "maybe"}}),
        ("event", {"kind": "party"}),
        ("event", {"data": ["not", "a", "map"]}),
        ("event", {"message": 7}),
        ("action_result", {"status": "pending"}),
    ],
)
def test_mistyped_or_out_of_range_field_is_refused(kind: str, changes: dict[str, Any]) -> None:
    err = refused(wire(frame(kind, **changes)), "invalid_field")
    assert err.frame_type == kind


def test_bad_metric_value_inside_a_snapshot_is_refused() -> None:
    realtime = copy.deepcopy(REALTIME)
    realtime["services"]["checkout"]["error_ratio"] = 1.7
    refused(wire(frame("snapshot", realtime=realtime)), "invalid_field")


# ------------------------------------------------------------------ numbers and times


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"nan", b"inf"])
def test_non_finite_literals_are_not_json(literal: bytes) -> None:
    refused(b'{"type":"heartbeat","ts":' + literal + b',"seq":1}', "malformed_json")


@pytest.mark.parametrize("number", [b"1e999", b"-1e999", b"1E400"])
def test_overflowing_numbers_are_refused_as_non_finite(number: bytes) -> None:
    refused(b'{"type":"heartbeat","ts":' + number + b',"seq":1}', "non_finite")


def test_overflowing_number_deep_inside_a_frame_is_refused() -> None:
    data = wire(FRAMES["snapshot"]).replace(b'"rps": 412.0', b'"rps": 1e999')
    assert b"1e999" in data
    refused(data, "non_finite")


def test_overflowing_number_in_free_form_event_data_is_refused() -> None:
    data = wire(frame("event", data={"x": 1})).replace(b'"x": 1', b'"x": 1e999')
    refused(data, "non_finite")


@pytest.mark.parametrize("ts", [-1, -0.001, -1e12, MAX_TS + 1, 5e9, 1e15, 1e300])
def test_negative_and_absurd_timestamps_are_refused(ts: float) -> None:
    err = refused(wire(frame("heartbeat", ts=ts)), "invalid_field")
    assert "ts" in err.reason


@pytest.mark.parametrize("ts", [0, 0.0, 1.5, TS, MAX_TS])
def test_timestamps_between_1970_and_2100_are_accepted(ts: float) -> None:
    assert decode_frame(wire(frame("heartbeat", ts=ts))) == HeartbeatFrame(ts=float(ts), seq=48)


def test_absurd_timestamp_in_nested_record_is_refused() -> None:
    refused(wire(frame("alert", alert={**ALERT, "since_ts": 9e9})), "invalid_field")


# ------------------------------------------------------------------ size limit


def padded_event(total_bytes: int) -> bytes:
    """A valid event frame of exactly `total_bytes` UTF-8 bytes."""
    empty = wire(frame("event", message=""))
    data = wire(frame("event", message="x" * (total_bytes - len(empty))))
    assert len(data) == total_bytes
    return data


def test_frame_exactly_at_the_limit_is_accepted() -> None:
    event = decode_frame(padded_event(MAX_FRAME_BYTES))
    assert isinstance(event, EventFrame)
    assert len(event.message) > MAX_FRAME_BYTES - 200


def test_frame_one_byte_over_the_limit_is_refused_as_oversize() -> None:
    refused(padded_event(MAX_FRAME_BYTES + 1), "oversize")


def test_oversize_str_frame_is_refused() -> None:
    refused(padded_event(MAX_FRAME_BYTES + 1).decode(), "oversize")


def test_oversize_garbage_is_refused_before_parsing() -> None:
    refused(b"\xff" * (MAX_FRAME_BYTES + 1), "oversize")


def test_str_frame_over_the_limit_in_utf8_bytes_is_refused() -> None:
    """The limit is 1 MiB of UTF-8 on the wire, not 1 Mi characters."""
    empty = wire(frame("event", message=""))
    chars = (MAX_FRAME_BYTES - len(empty)) // 2 + 1000  # 'é' is 2 bytes in UTF-8
    text = json.dumps(frame("event", message="é" * chars), ensure_ascii=False)
    assert len(text) <= MAX_FRAME_BYTES < len(text.encode())
    refused(text, "oversize")


# ------------------------------------------------------------------ encoding and nesting


def test_invalid_utf8_in_a_string_is_refused() -> None:
    data = wire(frame("event", message="MARK")).replace(b"MARK", b"caf\xe9")
    refused(data, "malformed_json")


def test_invalid_utf8_outside_strings_is_refused() -> None:
    refused(b'{"type":"heartbeat","ts":1,"seq":1}\xff', "malformed_json")


def test_lone_surrogate_in_str_input_is_refused() -> None:
    refused('{"type":"event","seq":1,"ts":1,"kind":"info","message":"\ud800"}', "malformed_json")


def test_escaped_unicode_is_decoded() -> None:
    event = decode_frame(b'{"type":"event","seq":1,"ts":1,"kind":"info","message":"caf\\u00e9"}')
    assert isinstance(event, EventFrame) and event.message == "café"


def deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_deeply_nested_top_level_array_is_refused(depth: int) -> None:
    refused(deep(depth))


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_deeply_nested_value_in_a_valid_frame_is_refused(depth: int) -> None:
    refused(
        b'{"type":"event","seq":1,"ts":1,"kind":"info","message":"m","data":{"x":%s}}' % deep(depth)
    )


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_deeply_nested_value_in_a_frame_of_unknown_type_is_refused(depth: int) -> None:
    refused(b'{"type":"gossip","x":%s}' % deep(depth), "unknown_type")


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_deeply_nested_value_next_to_an_invalid_field_is_refused(depth: int) -> None:
    refused(b'{"type":"heartbeat","ts":-1,"seq":1,"x":%s}' % deep(depth), "invalid_field")


def test_moderately_nested_event_data_is_accepted() -> None:
    event = decode_frame(
        b'{"type":"event","seq":1,"ts":1,"kind":"info","message":"m","data":{"x":%s}}' % deep(50)
    )
    assert isinstance(event, EventFrame)


# ------------------------------------------------------------------ metric rows


def rows_of(*rows: list[Any]) -> bytes:
    return wire(list(rows))


def rows_refused(data: bytes, kind: str, fields: tuple[str, ...] = METRIC_FIELDS) -> None:
    result = decode_metric_rows(data, fields)
    assert isinstance(result, ProtocolError), f"accepted: {result!r}"
    assert result.kind == kind, result
    assert result.frame_type == "metrics"
    assert result.reason


def test_metric_rows_decode_to_float64_arrays() -> None:
    rows = decode_metric_rows(rows_of(ROW_CHECKOUT, ROW_PAYMENTS))
    assert isinstance(rows, MetricRows)
    assert rows.services == ("checkout", "payments")
    assert rows.fields == METRIC_FIELDS
    assert rows.ts.dtype == np.float64 and rows.values.dtype == np.float64
    assert rows.ts.tolist() == [TS, TS]
    assert rows.values.shape == (2, len(METRIC_FIELDS))
    assert rows.values[0].tolist() == ROW_CHECKOUT[2:]


def test_null_metric_values_become_nan_never_zero() -> None:
    rows = decode_metric_rows(rows_of(ROW_PAYMENTS))
    assert isinstance(rows, MetricRows)
    expected_nan = [v is None for v in ROW_PAYMENTS[2:]]
    assert np.isnan(rows.values[0]).tolist() == expected_nan
    # The real zero stays zero.
    assert rows.values[0, METRIC_FIELDS.index("rps")] == 0.0


def test_all_null_row_is_all_nan() -> None:
    rows = decode_metric_rows(rows_of(["checkout", TS, *[None] * len(METRIC_FIELDS)]))
    assert isinstance(rows, MetricRows)
    assert np.isnan(rows.values).all()


def test_empty_rows_give_empty_arrays_of_the_right_shape() -> None:
    rows = decode_metric_rows(b"[]")
    assert isinstance(rows, MetricRows)
    assert rows.services == ()
    assert rows.ts.shape == (0,)
    assert rows.values.shape == (0, len(METRIC_FIELDS))


def test_metric_rows_follow_the_hello_field_list() -> None:
    fields = ("cpu", "rps")
    rows = decode_metric_rows(rows_of(["checkout", TS, 0.5, None]), fields)
    assert isinstance(rows, MetricRows)
    assert rows.fields == fields
    assert rows.values.shape == (1, 2)
    assert rows.values[0, 0] == 0.5 and math.isnan(rows.values[0, 1])


def test_metric_rows_with_no_fields_keep_a_two_dimensional_shape() -> None:
    rows = decode_metric_rows(rows_of(["checkout", TS], ["payments", TS]), ())
    assert isinstance(rows, MetricRows)
    assert rows.services == ("checkout", "payments")
    assert rows.values.shape == (2, 0)


def test_metric_rows_accept_raw_from_the_frame() -> None:
    rows = decode_metric_rows(msgspec.Raw(rows_of(ROW_CHECKOUT)))
    assert isinstance(rows, MetricRows) and rows.services == ("checkout",)


@pytest.mark.parametrize(
    "row",
    [
        [],
        ["checkout"],
        ["checkout", TS],
        ROW_CHECKOUT[:-1],
        [*ROW_CHECKOUT, 1.0],
    ],
    ids=["empty-row", "name-only", "no-values", "one-short", "one-long"],
)
def test_metric_row_with_wrong_number_of_fields_is_refused(row: list[Any]) -> None:
    rows_refused(rows_of(ROW_PAYMENTS, row), "invalid_field")


@pytest.mark.parametrize(
    "row",
    [
        [7, TS, *ROW_CHECKOUT[2:]],
        [None, TS, *ROW_CHECKOUT[2:]],
        ["", TS, *ROW_CHECKOUT[2:]],
        ["checkout", str(TS), *ROW_CHECKOUT[2:]],
        ["checkout", None, *ROW_CHECKOUT[2:]],
        ["checkout", -1, *ROW_CHECKOUT[2:]],
        ["checkout", MAX_TS + 1, *ROW_CHECKOUT[2:]],
        ["checkout", TS, "12.1", *ROW_CHECKOUT[3:]],
        ["checkout", TS, True, *ROW_CHECKOUT[3:]],
        ["checkout", TS, [1.0], *ROW_CHECKOUT[3:]],
        ["checkout", TS, 1e301, *ROW_CHECKOUT[3:]],
        {"service": "checkout", "ts": TS},
        "checkout",
    ],
    ids=[
        "int-name",
        "null-name",
        "empty-name",
        "str-ts",
        "null-ts",
        "negative-ts",
        "ts-after-2100",
        "str-value",
        "bool-value",
        "list-value",
        "absurd-value",
        "object-row",
        "string-row",
    ],
)
def test_metric_row_with_wrong_types_is_refused(row: Any) -> None:
    rows_refused(rows_of(ROW_CHECKOUT, row), "invalid_field")


@pytest.mark.parametrize("data", [b"null", b"{}", b'"rows"', b"7"])
def test_metric_rows_that_are_not_a_list_are_refused(data: bytes) -> None:
    rows_refused(data, "invalid_field")


def test_metric_rows_truncated_or_malformed_are_refused() -> None:
    full = rows_of(ROW_CHECKOUT)
    rows_refused(full[:-1], "malformed_json")
    rows_refused(b"", "malformed_json")
    rows_refused(full.replace(b"12.1", b"NaN"), "malformed_json")


def test_metric_rows_with_overflowing_number_are_refused() -> None:
    rows_refused(rows_of(ROW_CHECKOUT).replace(b"12.1", b"1e999"), "non_finite")


def test_metric_rows_with_invalid_utf8_are_refused_not_raised() -> None:
    data = rows_of(["MARK", TS, *ROW_CHECKOUT[2:]]).replace(b"MARK", b"\xff\xfe")
    rows_refused(data, "malformed_json")


def test_metrics_frame_with_invalid_utf8_in_rows_never_raises_downstream() -> None:
    """decode_frame keeps rows raw (unchecked), so the row decoder must refuse bad bytes."""
    data = wire(frame("metrics", rows=[["MARK", TS, *ROW_CHECKOUT[2:]]])).replace(b"MARK", b"\xff")
    decoded = decode_frame(data)
    if isinstance(decoded, MetricsFrame):
        result = decode_metric_rows(decoded.rows)
        assert isinstance(result, ProtocolError)
    else:
        assert isinstance(decoded, ProtocolError)


# ------------------------------------------------------------------ encode


def test_encode_turns_nan_and_infinity_into_null() -> None:
    data = encode({"a": float("nan"), "b": float("inf"), "c": -float("inf"), "d": 1.5})
    assert json.loads(data) == {"a": None, "b": None, "c": None, "d": 1.5}


def test_encode_writes_the_frame_type_tag() -> None:
    assert json.loads(encode(HeartbeatFrame(ts=TS, seq=3))) == {
        "type": "heartbeat",
        "ts": TS,
        "seq": 3,
    }


@pytest.mark.parametrize("kind", list(FRAMES))
def test_example_frames_survive_decode_encode_decode(kind: str) -> None:
    decoded = decode_frame(wire(FRAMES[kind]))
    assert not isinstance(decoded, ProtocolError)
    assert decode_frame(encode(decoded)) == decoded


def test_subscribe_op_names_its_op_and_topics_on_the_wire() -> None:
    sent = json.loads(encode(SubscribeOp()))
    assert sent["op"] == "subscribe"
    assert sent["topics"] == ["metrics", "circuits", "db", "alerts", "events"]
    assert sent["services"] == ["*"]


def test_subscribe_op_with_resume_point() -> None:
    sent = json.loads(encode(SubscribeOp(since_seq=123, epoch="run-7f3a9c")))
    assert sent["op"] == "subscribe"
    assert sent["since_seq"] == 123 and sent["epoch"] == "run-7f3a9c"


def test_unsubscribe_op_on_the_wire() -> None:
    sent = json.loads(encode(UnsubscribeOp(topics=("db",))))
    assert sent == {"op": "unsubscribe", "topics": ["db"]}


def test_client_ops_decode_back_through_the_client_op_union() -> None:
    """The server side (the reference backend) reads ops with the same types."""
    decoder = msgspec.json.Decoder(ClientOp)
    subscribe = SubscribeOp(since_seq=7, epoch="run-1")
    unsubscribe = UnsubscribeOp(topics=("alerts",))
    assert decoder.decode(encode(subscribe)) == subscribe
    assert decoder.decode(encode(unsubscribe)) == unsubscribe


# ------------------------------------------------------------------ REST bodies


def test_health_body() -> None:
    body = decode_body(
        wire({"status": "ok", "version": "1", "server_time": TS, "epoch": "run-1"}), HealthBody
    )
    assert body == HealthBody("ok", "1", TS, "run-1")


def test_services_body() -> None:
    body = decode_body(wire({"services": [SERVICE, {"name": "payments"}]}), ServicesBody)
    assert isinstance(body, ServicesBody)
    assert [s.name for s in body.services] == ["checkout", "payments"]
    assert body.services[1].depends_on == ()


def test_realtime_body_keeps_null_as_none() -> None:
    body = decode_body(wire(REALTIME), RealtimeBody)
    assert isinstance(body, RealtimeBody)
    assert body.services["payments"].error_ratio is None
    assert body.services["checkout"].cpu == 0.41


def test_historical_body_with_gaps() -> None:
    points = [[TS, 1.0], [TS + 15, None], [TS + 30, 3.5]]
    data = {"service": "checkout", "metric": "rps", "step": 15, "points": points}
    body = decode_body(wire(data), HistoricalBody)
    assert isinstance(body, HistoricalBody)
    assert body.points == [(TS, 1.0), (TS + 15, None), (TS + 30, 3.5)]


def test_historical_body_refuses_zero_step_and_absurd_points() -> None:
    base = {"service": "checkout", "metric": "rps", "step": 15, "points": []}
    zero = decode_body(wire({**base, "step": 0}), HistoricalBody)
    late = decode_body(wire({**base, "points": [[MAX_TS * 2, 1.0]]}), HistoricalBody)
    short = decode_body(wire({**base, "points": [[TS]]}), HistoricalBody)
    for err in (zero, late, short):
        assert isinstance(err, ProtocolError) and err.kind == "invalid_field"


def test_circuits_body_and_named_circuits() -> None:
    body = decode_body(
        wire({"circuits": {"payments": CIRCUIT, "search": {"state": "closed"}}}), CircuitsBody
    )
    assert isinstance(body, CircuitsBody)
    assert body.circuits["payments"].name == ""  # the name is the map key on the wire
    named = named_circuits(body.circuits)
    assert {k: c.name for k, c in named.items()} == {"payments": "payments", "search": "search"}
    assert named["payments"].failure_count == 5


def test_clusters_alerts_action_and_error_bodies() -> None:
    clusters = decode_body(wire({"clusters": [CLUSTER]}), ClustersBody)
    alerts = decode_body(wire({"alerts": [ALERT]}), AlertsBody)
    accepted = decode_body(b'{"action_id":"act-1"}', ActionAccepted)
    error = decode_body(
        wire({"error": {"code": "precondition_failed", "message": "no", "details": {"r": 1}}}),
        ErrorBody,
    )
    assert isinstance(clusters, ClustersBody) and clusters.clusters[0].name == "orders-db"
    assert isinstance(alerts, AlertsBody) and alerts.alerts[0].id == "a-17"
    assert accepted == ActionAccepted(action_id="act-1")
    assert isinstance(error, ErrorBody)
    assert error.error.code == "precondition_failed" and error.error.details == {"r": 1}


def test_events_body_frames_are_decoded_one_by_one() -> None:
    data = wire(
        {"epoch": "run-1", "events": [FRAMES["event"], {"type": "gossip"}, FRAMES["circuit"]]}
    )
    body = decode_body(data, EventsBody)
    assert isinstance(body, EventsBody)
    decoded = [decode_frame(raw) for raw in body.events]
    assert isinstance(decoded[0], EventFrame)
    assert isinstance(decoded[1], ProtocolError) and decoded[1].kind == "unknown_type"
    assert isinstance(decoded[2], CircuitFrame)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"", "malformed_json"),
        (b'{"status":"ok"', "malformed_json"),
        (b"[]", "invalid_field"),
        (b'{"status":"ok","version":"1","epoch":"e"}', "invalid_field"),
        (b'{"status":"ok","version":"1","server_time":-5,"epoch":"e"}', "invalid_field"),
        (b'{"status":"ok","version":"1","server_time":1e999,"epoch":"e"}', "non_finite"),
        (b'{"status":"\xff","version":"1","server_time":1,"epoch":"e"}', "malformed_json"),
    ],
)
def test_bad_bodies_are_refused(data: bytes, kind: str) -> None:
    err = decode_body(data, HealthBody)
    assert isinstance(err, ProtocolError)
    assert err.kind == kind


def test_oversize_body_is_refused() -> None:
    err = decode_body(b" " * (64 * MAX_FRAME_BYTES + 1), HealthBody)
    assert isinstance(err, ProtocolError) and err.kind == "oversize"


def test_deeply_nested_invalid_body_is_refused_not_raised() -> None:
    data = b'{"status":5,"x":%s}' % deep(5_000)
    err = decode_body(data, HealthBody)
    assert isinstance(err, ProtocolError)


# ------------------------------------------------------------------ circuit merge


def test_circuit_from_frame_keeps_static_fields_of_the_known_record() -> None:
    previous = Circuit(
        state="open", failure_threshold=5, timeout_s=30.0, last_transition_ts=TS - 60, name="p"
    )
    update = CircuitFrame(seq=1, ts=TS, name="p", state="open", failure_count=6)
    merged = circuit_from_frame(update, previous)
    assert merged.failure_threshold == 5 and merged.timeout_s == 30.0
    assert merged.failure_count == 6
    # Same state: the transition time is the earlier one.
    assert merged.last_transition_ts == TS - 60


def test_circuit_from_frame_stamps_a_state_change() -> None:
    previous = Circuit(state="open", failure_threshold=5, last_transition_ts=TS - 60, name="p")
    update = CircuitFrame(seq=1, ts=TS, name="p", state="half_open", failure_threshold=7)
    merged = circuit_from_frame(update, previous)
    assert merged.state == "half_open"
    assert merged.last_transition_ts == TS
    assert merged.failure_threshold == 7


def test_circuit_from_frame_without_a_known_record() -> None:
    merged = circuit_from_frame(CircuitFrame(seq=1, ts=TS, name="p", state="closed"), None)
    assert merged == Circuit(state="closed", last_transition_ts=TS, name="p")


def test_metric_rows_with_impossible_values_are_refused() -> None:
    negative = b'[["orders", 1e9, -1, 2, 3, 4, 0.0, 0.5, 0.5]]'
    ratio_over_one = b'[["orders", 1e9, 1, 2, 3, 4, 1.7, 0.5, 0.5]]'
    for rows, words in ((negative, "negative"), (ratio_over_one, "error_ratio above 1")):
        err = decode_metric_rows(rows)
        assert isinstance(err, ProtocolError)
        assert err.kind == "invalid_field" and words in err.reason

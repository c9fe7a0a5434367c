"""PromQL templates, step maths, answer decoding, merging and plain words (pure, no server)."""

from __future__ import annotations

import json
import math

import msgspec
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsconsole.core.durations import promql_duration
from opsconsole.core.models import METRIC_FIELDS
from opsconsole.core.promql import (
    DEFAULT_QUERIES,
    INVALID,
    MAX_POINTS,
    SETTLE_S,
    Matrix,
    PromError,
    Sample,
    Scalar,
    Series,
    SignalQuery,
    Vector,
    align_down,
    backfill_range,
    circuits_from_vector,
    clock_from_time,
    clock_offset_from_date,
    decode_answer,
    lag_words,
    merge_signals,
    next_due,
    next_lag,
    no_traffic,
    plain_words,
    rate_window,
    refresh_range,
    render_queries,
    rewind_for_lag,
    server_lag,
    silence_words,
    stale_after,
)

NOW = 1_795_830_495.887  # an arbitrary server time with milliseconds


# ---------------------------------------------------------------- queries


def test_seven_queries_one_per_signal_and_quantile_whatever_the_services() -> None:
    queries = render_queries(None, "service", "4s")
    assert [q.field for q in queries] == list(METRIC_FIELDS)
    assert all(q.error is None and "by (" in q.promql for q in queries)
    latency = [q for q in queries if q.signal == "latency"]
    assert [q.quantile for q in latency] == [0.5, 0.95, 0.99]
    assert all(q.scale == 1000.0 for q in latency)  # seconds → ms
    assert latency[1].promql.startswith("histogram_quantile(0.95, sum by (le, service)")
    assert "[4s]" in latency[1].promql
    errors = next(q for q in queries if q.field == "error_ratio")
    assert 'http_requests_total{code=~"5.."}[4s]' in errors.promql  # {{ }} became braces


def test_override_replaces_one_entry_and_fills_placeholders() -> None:
    queries = render_queries(
        {"cpu": 'max by ({service_label}) (rate(cpu_seconds{{mode!="idle"}}[{window}]))'},
        "app",
        "1m",
    )
    cpu = next(q for q in queries if q.field == "cpu")
    assert cpu.promql == 'max by (app) (rate(cpu_seconds{mode!="idle"}[1m]))'
    traffic = next(q for q in queries if q.field == "rps")
    assert traffic.promql == DEFAULT_QUERIES["traffic"].format(service_label="app", window="1m")


def test_a_broken_template_spoils_only_its_own_signal() -> None:
    queries = render_queries({"memory": 'avg by ({service_label}) (mem{job="x"})'}, "service", "4s")
    memory = next(q for q in queries if q.field == "memory")
    assert memory.promql == "" and memory.error is not None
    assert "memory" in memory.error and "{{" in memory.error
    assert all(q.promql and q.error is None for q in queries if q.field != "memory")


@pytest.mark.parametrize(
    ("overrides", "label", "words"),
    [({"latency_p99": "x"}, "service", "unknown"), (None, "bad-label", "label name")],
)
def test_configuration_that_cannot_work_is_refused(
    overrides: dict[str, str] | None, label: str, words: str
) -> None:
    with pytest.raises(ValueError, match=words):
        render_queries(overrides, label, "4s")


# ---------------------------------------------------------------- step maths


@pytest.mark.parametrize(
    ("t", "step", "aligned"),
    [(NOW, 15.0, 1_795_830_495.0), (NOW, 1.0, 1_795_830_495.0), (0.3, 0.1, 0.3), (59.9, 60, 0.0)],
)
def test_align_down(t: float, step: float, aligned: float) -> None:
    assert align_down(t, step) == aligned


@given(
    t=st.floats(min_value=1e9, max_value=4e9),
    step=st.sampled_from([0.25, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0]),
)
def test_align_down_is_a_multiple_not_after_t_within_one_step(t: float, step: float) -> None:
    a = align_down(t, step)
    assert a <= t < a + step + 1e-3
    assert math.isclose(a / step, round(a / step), abs_tol=1e-6)


def test_rate_window_holds_four_steps_and_formats_as_duration() -> None:
    assert rate_window(15.0) == 60.0
    assert [promql_duration(s) for s in (4.0, 60.0, 2.0, 0.5)] == ["4s", "60s", "2s", "500ms"]


def test_first_refresh_is_the_newest_settled_step() -> None:
    start, end = refresh_range(NOW, 1.0, None)  # type: ignore[misc]
    assert start == end == align_down(NOW - SETTLE_S, 1.0)


def test_refresh_fetches_only_steps_newer_than_the_last_one() -> None:
    last = align_down(NOW - SETTLE_S, 15.0) - 45.0
    assert refresh_range(NOW, 15.0, last) == (last + 15.0, last + 45.0)


def test_no_refresh_until_a_new_step_has_settled() -> None:
    last = align_down(NOW - SETTLE_S, 15.0)
    assert refresh_range(NOW, 15.0, last) is None
    due = next_due(last, 15.0)
    assert refresh_range(due - 0.01, 15.0, last) is None
    assert refresh_range(due, 15.0, last) == (last + 15.0, last + 15.0)


def test_refresh_after_a_raised_backfill_step_continues_on_the_live_grid() -> None:
    _, end, big = backfill_range(NOW, 30 * 86400.0, 15.0)
    assert big > 15.0
    start, _ = refresh_range(NOW + 20.0, 15.0, end)  # type: ignore[misc]
    assert start == end + 15.0  # no gap, no overlap


def test_refresh_after_a_long_outage_is_capped_to_the_point_limit() -> None:
    start, end = refresh_range(NOW, 1.0, NOW - 86400.0)  # type: ignore[misc]
    assert (end - start) / 1.0 + 1 == MAX_POINTS


def test_backfill_keeps_the_step_when_it_fits() -> None:
    start, end, step = backfill_range(NOW, 900.0, 15.0)
    assert step == 15.0 and end == align_down(NOW - SETTLE_S, 15.0) and end - start == 900.0


@given(
    history=st.floats(min_value=0.0, max_value=400 * 86400.0),
    step=st.sampled_from([0.5, 1.0, 10.0, 15.0, 60.0]),
    now=st.floats(min_value=1e9, max_value=4e9),
)
def test_backfill_never_asks_for_more_than_the_point_limit(
    history: float, step: float, now: float
) -> None:
    start, end, big = backfill_range(now, history, step)
    points = round((end - start) / big) + 1
    assert points <= MAX_POINTS
    factor = big / step
    assert factor == round(factor) and factor >= 1  # a multiple of the live step
    assert end <= now - SETTLE_S and end == align_down(end, step)
    # The raised step covers the history as well as the limit allows (within one step).
    assert end - start >= min(history, (MAX_POINTS - 1) * big) - big
    if factor > 1:  # raised only when it had to be
        assert history / (step * (factor - 1)) > MAX_POINTS - 1


def test_stale_after() -> None:
    assert stale_after(1.0) == 3.0 and stale_after(15.0) == 37.5


def test_clock_offset_from_the_date_header() -> None:
    # Date truncates to the second: the estimate is the middle of that second.
    offset = clock_offset_from_date("Sat, 28 Nov 2026 01:48:17 GMT", 100.0, 100.2)
    assert offset == pytest.approx(1_795_830_497.5 - 100.1)
    assert clock_offset_from_date("yesterday", 1.0, 2.0) is None


# ---------------------------------------------------------------- a server that answers late


def test_prometheus_keeping_up_has_no_lag() -> None:
    # time() is evaluated when asked; the newest `up` is less than a scrape old.
    assert server_lag(NOW, NOW, NOW - 0.8, 1.0) == 0.0
    assert server_lag(NOW, NOW, NOW - 14.0, 15.0) == 0.0  # a 15 s scrape, just before the next


def test_victoriametrics_latency_offset_is_the_shift_of_time() -> None:
    # VictoriaMetrics evaluates "now" 30 s back; its newest sample there is a scrape old: only
    # the 30 s count (the scrape's age is the ordinary one a step's settle covers).
    assert server_lag(NOW, NOW - 30.0, NOW - 30.7, 1.0) == 30.0
    assert server_lag(NOW, NOW - 30.0, NOW - 44.0, 15.0) == 30.0


def test_ingestion_behind_counts_beyond_a_scrape_and_the_settle() -> None:
    assert server_lag(NOW, NOW, NOW - 40.0, 1.0) == 40.0
    assert server_lag(NOW, NOW, NOW - (1.0 + SETTLE_S), 1.0) == 0.0  # what a scrape explains
    assert server_lag(NOW, NOW - 30.0, NOW - 75.0, 1.0) == 75.0  # both at once add up


@pytest.mark.parametrize(
    ("evaluated", "newest"), [(None, None), (math.nan, math.nan), (NOW - 0.9, None)]
)
def test_no_evidence_is_no_lag(evaluated: float | None, newest: float | None) -> None:
    # No `up` series, a failed query, or the whole-second rounding of a timestamp.
    assert server_lag(NOW, evaluated, newest, 1.0) == 0.0


def test_a_learned_lag_moves_only_by_more_than_a_second() -> None:
    assert next_lag(0.0, 30.4) == 30.4
    assert next_lag(30.4, 29.6) == 30.4 and next_lag(30.4, 31.3) == 30.4
    assert next_lag(30.4, 60.2) == 60.2
    assert next_lag(30.4, 0.0) == 0.0  # caught up


def test_after_the_lag_grew_the_steps_read_too_early_are_read_again() -> None:
    last = align_down(NOW, 1.0)
    # They came back empty: everything after the newest sample is read again...
    assert rewind_for_lag(last, 30.0, last - 25.0, 1.0) == last - 25.0
    # ...but no further back than the growth (older steps were read when the server had
    # them), and nothing that came with data.
    assert rewind_for_lag(last, 5.0, last - 25.0, 1.0) == last - 5.0
    assert rewind_for_lag(last, 5.0, None, 1.0) == last - 5.0
    assert rewind_for_lag(last, 5.0, last - 2.0, 1.0) == last - 2.0
    assert rewind_for_lag(last, -10.0, last - 25.0, 1.0) == last  # shrank: nothing to re-read


def test_lag_and_silence_in_words() -> None:
    assert lag_words(30.4) == lag_words(29.6) == "server data 30 s behind"
    assert lag_words(185.0) == "server data 3 min 05 s behind"
    assert lag_words(0.0) == ""
    assert silence_words(1.0, 4.2, 3.0) == "no new samples for 4 s"
    assert silence_words(3.4, 4.2, 3.0) == "no answer from Prometheus for 3 s"


def test_the_clock_is_time_only_where_it_matches_its_own_stamp() -> None:
    assert clock_from_time(Scalar(NOW, NOW)) == NOW  # Prometheus
    # VictoriaMetrics: the whole second asked for, time() evaluated 30 s before it.
    assert clock_from_time(Scalar(1_795_830_495.0, NOW - 30.0)) is None
    assert clock_from_time(Scalar(1_795_830_495.0, NOW)) == NOW  # its latencyOffset=0
    assert clock_from_time(Scalar(NOW, math.nan)) is None


# ---------------------------------------------------------------- decoding


def _matrix_body(*series: tuple[dict[str, str], list[tuple[float, str]]]) -> bytes:
    result = [{"metric": m, "values": [[t, v] for t, v in vals]} for m, vals in series]
    return json.dumps(
        {"status": "success", "data": {"resultType": "matrix", "result": result}}
    ).encode()


def test_matrix_values_are_strings_including_nan_and_infinities() -> None:
    body = _matrix_body(
        ({"service": "a"}, [(100.0, "1.5"), (101.0, "NaN"), (102.0, "+Inf"), (103.0, "-Inf")])
    )
    m = decode_answer(200, body, "matrix")
    assert isinstance(m, Matrix)
    (s,) = m.series
    assert s.labels == {"service": "a"}
    assert s.ts.tolist() == [100.0, 101.0, 102.0, 103.0]
    assert s.values[0] == 1.5 and np.isnan(s.values[1])
    assert s.values[2] == np.inf and s.values[3] == -np.inf


def test_vector_and_scalar() -> None:
    vec = (
        b'{"status":"success","data":{"resultType":"vector","result":'
        b'[{"metric":{"name":"x","state":"open"},"value":[1700000000.5,"1"]}]}}'
    )
    v = decode_answer(200, vec, "vector")
    assert v == Vector((Sample({"name": "x", "state": "open"}, 1_700_000_000.5, 1.0),))
    scalar = b'{"status":"success","data":{"resultType":"scalar","result":[1700000000.5,"17"]}}'
    assert decode_answer(200, scalar, "scalar") == Scalar(1_700_000_000.5, 17.0)


def test_a_scalar_as_a_one_sample_vector_is_a_scalar() -> None:
    # VictoriaMetrics answers time() so.
    body = (
        b'{"status":"success","data":{"resultType":"vector","result":'
        b'[{"metric":{},"value":[1700000030,"1700000000.473"]}]}}'
    )
    assert decode_answer(200, body, "scalar") == Scalar(1_700_000_030.0, 1_700_000_000.473)
    two = (
        b'{"status":"success","data":{"resultType":"vector","result":'
        b'[{"metric":{},"value":[1,"1"]},{"metric":{},"value":[1,"2"]}]}}'
    )
    labelled = (
        b'{"status":"success","data":{"resultType":"vector","result":'
        b'[{"metric":{"a":"b"},"value":[1,"1"]}]}}'
    )
    for body in (two, labelled):
        result = decode_answer(200, body, "scalar")
        assert isinstance(result, PromError) and result.error_type == INVALID


def test_warnings_are_kept() -> None:
    body = b'{"status":"success","warnings":["partial"],"data":{"resultType":"vector","result":[]}}'
    assert decode_answer(200, body, "vector") == Vector((), ("partial",))


def test_error_envelope_becomes_a_prom_error() -> None:
    body = b'{"status":"error","errorType":"bad_data","error":"parse error: unexpected"}'
    assert decode_answer(400, body, "matrix") == PromError(
        400, "bad_data", "parse error: unexpected"
    )


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html>oops</html>",
        b"[1, 2]",
        b'{"status":"success"}',
        b'{"status":"success","data":{"resultType":"vector","result":[]}}',  # not a matrix
        b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{}}]]}}',
        b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},'
        b'"values":[[1,"abc"]]}]}}',
        b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":1},'
        b'"values":[]}]}}',
        b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},'
        b'"values":[[1]]}]}}',
        b"\xff\xfe",
        b"[" * 100_000,
    ],
)
def test_garbage_is_a_typed_error_never_an_exception(body: bytes) -> None:
    result = decode_answer(200, body, "matrix")
    assert isinstance(result, PromError) and result.error_type == INVALID


def test_a_proxy_error_page_keeps_its_status() -> None:
    result = decode_answer(502, b"<html>Bad Gateway</html>", "matrix")
    assert isinstance(result, PromError) and result.status == 502 and result.error_type == ""


@given(st.binary(max_size=300))
def test_random_bytes_never_raise(body: bytes) -> None:
    for kind in ("matrix", "vector", "scalar"):
        assert isinstance(
            decode_answer(200, body, kind),
            PromError | Matrix | Vector | Scalar,  # type: ignore[arg-type]
        )


# ---------------------------------------------------------------- merging


def _q(field: str, scale: float = 1.0) -> SignalQuery:
    return SignalQuery("x", field, "q", scale)


def _m(*series: tuple[str | None, list[float], list[float]]) -> Matrix:
    return Matrix(
        tuple(
            Series({} if name is None else {"service": name}, np.array(ts), np.array(vs))
            for name, ts, vs in series
        )
    )


def _row(merged, service: str, ts: float) -> dict[str, float]:
    (i,) = [
        k
        for k, (s, t) in enumerate(zip(merged.services, merged.ts, strict=True))
        if s == service and t == ts
    ]
    return dict(zip(merged.fields, merged.values[i].tolist(), strict=True))


def test_signals_join_on_service_and_time_with_units_converted() -> None:
    merged = merge_signals(
        [
            (_q("latency_p50_ms", 1000.0), _m(("a", [10.0, 11.0], [0.05, 0.06]))),
            (_q("rps"), _m(("a", [10.0, 11.0], [5.0, 6.0]), ("b", [11.0], [7.0]))),
            (_q("cpu"), _m(("b", [10.0], [0.5]))),
        ],
        "service",
    )
    assert merged.seen == {"a", "b"} and merged.unlabelled == 0
    assert sorted(zip(merged.ts.tolist(), merged.services, strict=True)) == [
        (10.0, "a"),
        (10.0, "b"),
        (11.0, "a"),
        (11.0, "b"),
    ]
    assert list(merged.ts) == sorted(merged.ts)  # time-major
    assert _row(merged, "a", 10.0)["latency_p50_ms"] == pytest.approx(50.0)
    assert _row(merged, "a", 11.0)["rps"] == 6.0
    b10 = _row(merged, "b", 10.0)
    assert b10["cpu"] == 0.5 and math.isnan(b10["rps"]) and math.isnan(b10["latency_p50_ms"])
    assert merged.values.shape == (4, len(METRIC_FIELDS))


def test_series_without_the_service_label_are_ignored_and_counted() -> None:
    merged = merge_signals([(_q("rps"), _m((None, [1.0], [3.0]), ("a", [1.0], [2.0])))], "service")
    assert merged.unlabelled == 1 and merged.services == ("a",)


def test_nothing_to_merge() -> None:
    merged = merge_signals([(_q("rps"), _m())], "service")
    assert merged.services == () and merged.values.shape == (0, len(METRIC_FIELDS))


def test_no_traffic_is_rps_zero_with_latency_nan_never_a_gap() -> None:
    # histogram_quantile over zero rates is NaN; the traffic query says 0.
    nan = float("nan")
    merged = merge_signals(
        [
            (_q("latency_p50_ms", 1000.0), _m(("idle", [5.0], [nan]), ("busy", [5.0], [0.02]))),
            (_q("latency_p95_ms", 1000.0), _m(("idle", [5.0], [nan]), ("busy", [5.0], [0.04]))),
            (_q("latency_p99_ms", 1000.0), _m(("idle", [5.0], [nan]), ("busy", [5.0], [0.09]))),
            (_q("rps"), _m(("idle", [5.0], [0.0]), ("busy", [5.0], [12.0]))),
            (_q("error_ratio"), _m(("idle", [5.0], [nan]), ("busy", [5.0], [0.0]))),
        ],
        "service",
    )
    idle = _row(merged, "idle", 5.0)
    assert idle["rps"] == 0.0 and math.isnan(idle["latency_p99_ms"])
    assert no_traffic(merged.values).tolist() == [s == "idle" for s in merged.services]


def test_without_a_traffic_answer_rps_stays_unknown() -> None:
    nan = float("nan")
    merged = merge_signals(
        [(_q(f, 1000.0), _m(("a", [5.0], [nan]))) for f in METRIC_FIELDS[:3]]
        + [(_q("cpu"), _m(("a", [5.0], [0.3])))],
        "service",
    )
    row = _row(merged, "a", 5.0)
    assert math.isnan(row["rps"]) and row["cpu"] == 0.3
    assert not no_traffic(merged.values).any()  # unknown traffic is not "no traffic"


# ---------------------------------------------------------------- circuits


def _state_vector(states: dict[str, str], extra: list[Sample] | None = None) -> Vector:
    names = ("closed", "open", "half_open", "forced_open", "disabled")
    samples = [
        Sample({"name": n, "state": s}, NOW, 1.0 if s == current else 0.0)
        for n, current in states.items()
        for s in names
    ]
    return Vector(tuple(samples + (extra or [])))


def test_circuits_take_the_state_whose_gauge_is_one() -> None:
    circuits = circuits_from_vector(
        _state_vector({"payment-service": "half_open", "inventory-service": "forced_open"})
    )
    assert [(c.name, c.state) for c in circuits] == [
        ("inventory-service", "forced_open"),
        ("payment-service", "half_open"),
    ]


def test_unknown_states_and_breakers_without_a_state_are_ignored() -> None:
    extra = [
        Sample({"name": "x", "state": "metastable"}, NOW, 1.0),
        Sample({"name": "y", "state": "open"}, NOW, 0.0),
        Sample({"state": "open"}, NOW, 1.0),
        Sample({"name": "z", "state": "open"}, NOW, float("nan")),
    ]
    assert circuits_from_vector(Vector(tuple(extra))) == ()


def test_instances_that_disagree_show_the_state_needing_attention() -> None:
    v = _state_vector({"a": "closed"}, [Sample({"name": "a", "state": "open"}, NOW, 1.0)])
    assert [c.state for c in circuits_from_vector(v)] == ["open"]


def test_the_failure_rate_rows_give_the_success_rate() -> None:
    rate = [
        Sample({"name": "a", "state": "failure_rate"}, NOW, 25.0),
        Sample({"name": "b", "state": "failure_rate"}, NOW, -1.0),  # not enough calls yet
        Sample({"name": "ghost", "state": "failure_rate"}, NOW, 10.0),  # no state: no breaker
    ]
    circuits = circuits_from_vector(_state_vector({"a": "closed", "b": "open"}, rate))
    assert [(c.name, c.state, c.success_rate) for c in circuits] == [
        ("a", "closed", 0.75),
        ("b", "open", None),
    ]


def test_no_breaker_metric_means_no_circuits() -> None:
    assert circuits_from_vector(Vector(())) == ()


# ---------------------------------------------------------------- plain words


@pytest.mark.parametrize(
    ("status", "etype", "error", "expected"),
    [
        (
            400,
            "bad_data",
            'invalid parameter "query": 1:16: parse error: unclosed left parenthesis',
            "Prometheus refused the latency query: 1:16: parse error: unclosed left parenthesis",
        ),
        (
            400,
            "bad_data",
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the "
            "query resolution (?step=XX)",
            "Prometheus refused the latency query: too many points per series (more than 11,000)",
        ),
        (
            422,
            "execution",
            "many-to-many matching not allowed",
            "Prometheus could not run the latency query: many-to-many matching not allowed",
        ),
        (
            503,
            "timeout",
            "query timed out in expression evaluation",
            "Prometheus timed out running the latency query: query timed out in expression "
            "evaluation",
        ),
        (503, "unavailable", "", "Prometheus is unavailable (HTTP 503)"),
        (503, "", "", "Prometheus is unavailable (HTTP 503)"),
        (503, "canceled", "stop", "Prometheus cancelled the latency query: stop"),
        (502, "", "", "a proxy in front of Prometheus failed the latency query (HTTP 502)"),
        (500, "internal", "boom", "Prometheus failed the latency query (HTTP 500): boom"),
        (
            418,
            "teapot",
            "short and stout",
            "Prometheus answered the latency query with an unexpected error (HTTP 418, teapot): "
            "short and stout",
        ),
        (
            200,
            INVALID,
            "not JSON",
            "Prometheus' answer to the latency query is not valid: not JSON",
        ),
    ],
)
def test_plain_words(status: int, etype: str, error: str, expected: str) -> None:
    assert plain_words(status, etype, error, "latency") == expected


def test_plain_words_are_short() -> None:
    words = plain_words(400, "bad_data", "x" * 5000, "cpu")
    assert len(words) < 260 and words.endswith("…")


def test_structs_are_frozen() -> None:
    q = render_queries(None, "service", "4s")[0]
    with pytest.raises(AttributeError):
        q.promql = "up"  # type: ignore[misc]
    assert msgspec.structs.asdict(q)["field"] == "latency_p50_ms"

"""PromQL for the golden signals: query templates, step maths, answer decoding and merging.

Pure functions only (no I/O, no clock): `opsconsole.backends.prometheus` sends what these
functions decide and feeds the answers back.

Rules this module owns:

* **One query per signal for all services.** A query aggregates `by ({service_label})`, so the
  number of requests per refresh is fixed (7 signals + circuits + the server clock), whether
  Prometheus holds 8 services or 8,000. The lag probe (two instant queries) is not part of a
  refresh: it runs at start, after a refresh that brought nothing new, and every minute
  while the server is behind.
* **Step-aligned ranges.** Every evaluation time is a multiple of the step, so the points of
  a backfill, of each refresh and of a later ad-hoc query land on the same grid (and caching
  front-ends such as Thanos or Mimir can reuse them).
* **Rate window = 4 × step.** `rate()` needs at least two samples inside its window; four
  steps hold four scrapes when the step equals the scrape interval, which survives one missed
  scrape and scrape jitter (Grafana's `$__rate_interval` uses the same 4× floor). The step
  must therefore be at least the scrape interval.
* **Settle before reading a step.** A scraped sample carries the scrape's start time but is
  appended a moment later; a step is read only `SETTLE_S` after it passed, so that the value
  the console keeps is the value a later query for the same time gives.
* **Some servers answer late.** VictoriaMetrics (`-search.latencyOffset`, 30 s by default)
  evaluates an instant query for "now" as of 30 s ago and pads or drops the range points of
  the last 30 s; a remote-write receiver may simply hold no recent samples yet. The console
  learns how far behind the server answers (`server_lag`), reads steps only up to
  "server now − lag" and says "server data 30 s behind" rather than showing nothing.
* **No traffic is not no data.** `histogram_quantile` over a service that served nothing is
  NaN (0/0), and so is the error ratio. Such a row still carries the traffic answer, which is
  0.0: "rps == 0 and latency NaN" is how the UI recognises *no traffic* and says so, instead
  of drawing a silent gap. Nothing is invented either: a row for which the traffic query gave
  no answer (it failed, or the service has no request counter) keeps NaN in `rps`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Literal

import msgspec
import numpy as np

from opsconsole.core.clocktext import age_text
from opsconsole.core.models import METRIC_FIELDS, Circuit, CircuitStateName

# ---------------------------------------------------------------- the queries

# `{service_label}`, `{window}` and `{quantile}` are filled with str.format: literal braces
# (PromQL label matchers) are written `{{ }}`.
DEFAULT_QUERIES: dict[str, str] = {
    "latency": (
        "histogram_quantile({quantile}, sum by (le, {service_label}) "
        "(rate(http_request_duration_seconds_bucket[{window}])))"
    ),
    "traffic": "sum by ({service_label}) (rate(http_requests_total[{window}]))",
    # `or 0 * traffic`: a service that never failed has no 5xx series at all; without the
    # fallback its error ratio would be "no data" instead of 0.
    "errors": (
        '(sum by ({service_label}) (rate(http_requests_total{{code=~"5.."}}[{window}])) '
        "or 0 * sum by ({service_label}) (rate(http_requests_total[{window}]))) "
        "/ sum by ({service_label}) (rate(http_requests_total[{window}]))"
    ),
    "cpu": "avg by ({service_label}) (opsconsole_cpu_utilisation_ratio)",
    "memory": "avg by ({service_label}) (opsconsole_memory_utilisation_ratio)",
    # max by: one series per breaker and state even when several instances export it. The
    # failure rate rides in the same answer as state "failure_rate" (one request, not two).
    "circuits": (
        "max by (name, state) (resilience4j_circuitbreaker_state) or label_replace("
        'max by (name) (resilience4j_circuitbreaker_failure_rate), "state", "failure_rate", "", "")'
    ),
    # The newest sample the server holds (see server_lag). `up` is written for every scrape,
    # even of a target that is down; a server fed by remote write without `up` can point
    # this at any raw series, e.g. max(timestamp(http_requests_total)).
    "freshness": "max(timestamp(up))",
}

LATENCY_QUANTILES: tuple[tuple[float, str], ...] = (
    (0.5, "latency_p50_ms"),
    (0.95, "latency_p95_ms"),
    (0.99, "latency_p99_ms"),
)
# Signal → the METRIC_FIELD it fills and the factor from Prometheus' unit to the console's.
_SIGNAL_FIELDS: dict[str, tuple[str, float]] = {
    "traffic": ("rps", 1.0),
    "errors": ("error_ratio", 1.0),
    "cpu": ("cpu", 1.0),
    "memory": ("memory", 1.0),
}
SECONDS_TO_MS = 1000.0
CIRCUITS_QUERY = "circuits"
FRESHNESS_QUERY = "freshness"
CLOCK_QUERY = "time()"
FAILURE_RATE_STATE = "failure_rate"  # the circuits answer's rows that carry the rate
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class QueryTemplateError(ValueError):
    """A query template could not be filled in; the message names the query and the fault."""


class SignalQuery(msgspec.Struct, frozen=True):
    """One PromQL query of a refresh and the METRIC_FIELD its answer fills.

    `promql` is empty and `error` says why when the configured template is broken: that one
    signal stays empty, the others still flow.
    """

    signal: str  # key of DEFAULT_QUERIES ("latency", "traffic", ...): used in messages
    field: str  # the METRIC_FIELDS column it fills
    promql: str
    scale: float = 1.0  # Prometheus unit → console unit (seconds → ms for latency)
    quantile: float | None = None
    error: str | None = None


def check_overrides(overrides: Mapping[str, str] | None, service_label: str) -> None:
    """Raise ValueError for configuration that cannot work at all (unknown names, bad label)."""
    if not _LABEL_NAME.match(service_label):
        raise ValueError(f"the service label {service_label!r} is not a Prometheus label name")
    unknown = sorted(set(overrides or {}) - set(DEFAULT_QUERIES))
    if unknown:
        raise ValueError(
            f"unknown Prometheus query name(s) {', '.join(unknown)}; "
            f"known: {', '.join(DEFAULT_QUERIES)}"
        )


def render_query(
    name: str,
    overrides: Mapping[str, str] | None,
    service_label: str,
    window: str,
    quantile: float | None = None,
) -> str:
    """The PromQL text of query `name`, override first; raises QueryTemplateError."""
    template = (overrides or {}).get(name, DEFAULT_QUERIES[name])
    try:
        return template.format(
            service_label=service_label,
            window=window,
            quantile="" if quantile is None else f"{quantile:g}",
        )
    except (KeyError, IndexError) as exc:
        raise QueryTemplateError(
            f"the {name} query has an unknown placeholder {{{exc.args[0]}}} "
            "(write literal braces as {{ and }})"
        ) from None
    except ValueError as exc:
        raise QueryTemplateError(
            f"the {name} query cannot be filled in: {exc} (write literal braces as {{{{ }}}})"
        ) from None


def render_queries(
    overrides: Mapping[str, str] | None, service_label: str, window: str
) -> list[SignalQuery]:
    """One query per signal and per latency quantile: seven, whatever the number of services."""
    check_overrides(overrides, service_label)
    wanted: list[tuple[str, str, float, float | None]] = [
        ("latency", field, SECONDS_TO_MS, q) for q, field in LATENCY_QUANTILES
    ]
    wanted += [(signal, field, scale, None) for signal, (field, scale) in _SIGNAL_FIELDS.items()]
    out: list[SignalQuery] = []
    for signal, field, scale, quantile in wanted:
        try:
            promql = render_query(signal, overrides, service_label, window, quantile)
        except QueryTemplateError as exc:
            out.append(SignalQuery(signal, field, "", scale, quantile, str(exc)))
            continue
        out.append(SignalQuery(signal, field, promql, scale, quantile))
    return out


# ---------------------------------------------------------------- step maths

MAX_POINTS = 11_000  # Prometheus refuses a range query with more points per series
SETTLE_S = 2.0  # a step is read this long after it passed (see the module docstring)
RATE_WINDOW_STEPS = 4


def align_down(t: float, step: float) -> float:
    """The largest multiple of `step` not after `t`, rounded to Prometheus' millisecond."""
    if not step > 0:
        raise ValueError("step must be > 0")
    # Rounding to 1 ms makes the value equal to the timestamp Prometheus writes back.
    aligned = round(math.floor(round(t / step, 9)) * step, 3)
    return aligned if aligned <= t else round(aligned - step, 3)


def rate_window(step: float) -> float:
    """Seconds of the `rate()` window for a query at `step` (see the module docstring)."""
    return RATE_WINDOW_STEPS * step


def refresh_range(
    server_now: float, step: float, last_end: float | None, *, settle_s: float = SETTLE_S
) -> tuple[float, float] | None:
    """(start, end) of the steps newer than `last_end` that can be read now, or None.

    Both ends are step-aligned. After a long outage the range is capped to the newest
    MAX_POINTS steps, the most Prometheus answers in one query.
    """
    end = align_down(server_now - settle_s, step)
    if last_end is None:
        return end, end
    start = round(align_down(last_end, step) + step, 3)
    start = max(start, round(end - (MAX_POINTS - 1) * step, 3))
    if start > end:
        return None
    return start, end


def backfill_range(
    server_now: float, history_s: float, step: float, *, settle_s: float = SETTLE_S
) -> tuple[float, float, float]:
    """(start, end, step) of the first load: `history_s` back from now, at most MAX_POINTS.

    The step is raised to a whole multiple of the live step when the history would need more
    points, so the backfill grid is a subset of the live grid (no half-step offsets).
    """
    if not step > 0:
        raise ValueError("step must be > 0")
    history_s = max(0.0, history_s)
    factor = max(1, math.ceil(history_s / (step * (MAX_POINTS - 1))))
    big = step * factor
    end = align_down(server_now - settle_s, big)
    start = round(end - math.floor(history_s / big) * big, 3)
    return start, end, big


def next_due(last_end: float, step: float, *, settle_s: float = SETTLE_S) -> float:
    """Server time at which the step after `last_end` becomes readable."""
    return align_down(last_end, step) + step + settle_s


def stale_after(step: float) -> float:
    """Seconds without a new sample before the data is STALE."""
    return max(3.0, 2.5 * step)


# ---------------------------------------------------------------- a server that answers late

# A server whose `time()` for "now" is more than this behind the time asked evaluates in the
# past (VictoriaMetrics' timestamps of "now" are whole seconds: below 1 s is rounding).
SHIFT_FLOOR_S = 1.0
# A learned lag moves only by more than this: the measure wobbles with the clock estimate
# (±0.5 s from a `Date` header) and the words on screen should not.
LAG_CHANGE_S = 1.0
LAG_RECHECK_S = 60.0  # while behind, measure again this often (the server may catch up)
PROBE_RETRY_S = 10.0  # after a refresh brought nothing new, measure again at most this often


def server_lag(
    asked_at: float,
    evaluated_at: float | None,
    newest_sample: float | None,
    step: float,
    *,
    settle_s: float = SETTLE_S,
) -> float:
    """Seconds the server's data is behind `asked_at` (its clock), 0.0 when it keeps up.

    Measured by two instant queries at `asked_at`: `time()` (when the server really
    evaluated it) and the `freshness` query (the newest sample it holds). Two kinds of lag
    add up:

    * **evaluation shift**: a server that answers "now" as of earlier (VictoriaMetrics
      `-search.latencyOffset`, 30 s by default) says so in `time()`;
    * **ingestion lag**: the newest sample, as of the evaluation time, is older than a scrape
      can explain. A sample is up to one scrape interval old (the step is at least that)
      plus the settle time, so only an age beyond that counts.

    None or NaN inputs (no `up` series, a failed query) count as no evidence of lag.
    """
    shift = 0.0
    if evaluated_at is not None and math.isfinite(evaluated_at):
        shift = max(0.0, asked_at - evaluated_at)
        if shift <= SHIFT_FLOOR_S:
            shift = 0.0
    behind = 0.0
    if newest_sample is not None and math.isfinite(newest_sample):
        age = asked_at - shift - newest_sample
        if age > step + settle_s:
            behind = age
    return round(shift + behind, 3)


def next_lag(known: float, measured: float) -> float:
    """The lag to use from now on: the measure, unless it is within LAG_CHANGE_S of `known`."""
    if known > 0.0 and abs(measured - known) <= LAG_CHANGE_S:
        return known
    return measured if measured > SHIFT_FLOOR_S else 0.0


def rewind_for_lag(
    last_end: float, growth: float, newest_sample: float | None, step: float
) -> float:
    """Where to read again from after the lag grew by `growth`.

    The steps of the last `growth` seconds were read before the server had them (they came
    back empty): read them again, but never what already came with data.
    """
    if growth <= 0.0:
        return last_end
    back = align_down(last_end - growth, step)
    if newest_sample is not None:
        back = max(back, newest_sample)
    return min(last_end, back)


def lag_words(lag: float) -> str:
    """ "server data 30 s behind" for the link detail; "" when the server keeps up."""
    # Rounded, not cut: the measure is ±0.5 s (a `Date` header's second), 29.8 reads "30 s".
    return f"server data {age_text(round(lag), precise=False)} behind" if lag > 0.0 else ""


def silence_words(unanswered_s: float, no_new_s: float, limit_s: float) -> str:
    """Why the data is STALE: the server stopped answering, or answers with nothing new."""
    if unanswered_s >= limit_s:
        return f"no answer from Prometheus for {unanswered_s:.0f} s"
    return f"no new samples for {no_new_s:.0f} s"


def clock_from_time(answer: Scalar) -> float | None:
    """The server clock from a `time()` answer for "now", or None when it cannot be trusted.

    Prometheus evaluates `time()` at the moment it stamps on the answer. VictoriaMetrics
    evaluates it 30 s earlier (`-search.latencyOffset`) and stamps the whole second asked
    for: a value more than SHIFT_FLOOR_S from its own stamp is not the clock (the `Date`
    header is, to the second).
    """
    if not math.isfinite(answer.value) or abs(answer.ts - answer.value) > SHIFT_FLOOR_S:
        return None
    return answer.value


def clock_offset_from_date(date_header: str, sent: float, received: float) -> float | None:
    """Server clock − local clock from an HTTP `Date` header (1 s resolution), or None.

    The header truncates to the second, hence the half second added; the local side is the
    middle of the request. A better estimate (the `time()` query) replaces it when it can.
    """
    try:
        when = parsedate_to_datetime(date_header)
        # HTTP dates are GMT; a "-0000" zone parses as naive and would be read as local time.
        server = (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return server + 0.5 - (sent + received) / 2.0


# ---------------------------------------------------------------- decoding


class PromError(msgspec.Struct, frozen=True):
    """A Prometheus answer that carries no data: its HTTP status, errorType and message."""

    status: int
    error_type: str
    message: str


class Series(msgspec.Struct, frozen=True):
    """One series of a matrix answer: labels, times (s) and values (float64, NaN/Inf kept)."""

    labels: dict[str, str]
    ts: np.ndarray
    values: np.ndarray


class Matrix(msgspec.Struct, frozen=True):
    series: tuple[Series, ...]
    warnings: tuple[str, ...] = ()


class Sample(msgspec.Struct, frozen=True):
    labels: dict[str, str]
    ts: float
    value: float


class Vector(msgspec.Struct, frozen=True):
    samples: tuple[Sample, ...]
    warnings: tuple[str, ...] = ()


class Scalar(msgspec.Struct, frozen=True):
    ts: float
    value: float


class _Envelope(msgspec.Struct, rename="camel"):
    status: str
    data: msgspec.Raw = msgspec.Raw(b"null")
    error_type: str = ""
    error: str = ""
    warnings: list[str] = []


class _Data(msgspec.Struct, rename="camel"):
    result_type: str
    result: msgspec.Raw


class _WireSeries(msgspec.Struct):
    metric: dict[str, str]
    values: list[tuple[float, str]] = []


class _WireSample(msgspec.Struct):
    metric: dict[str, str]
    value: tuple[float, str]


_envelope = msgspec.json.Decoder(_Envelope)
_data = msgspec.json.Decoder(_Data)
_matrix = msgspec.json.Decoder(list[_WireSeries])
_vector = msgspec.json.Decoder(list[_WireSample])
_scalar = msgspec.json.Decoder(tuple[float, str])

ResultKind = Literal["matrix", "vector", "scalar"]
INVALID = "invalid_answer"  # error_type of answers that are not the Prometheus API's JSON


def _invalid(status: int, reason: str) -> PromError:
    return PromError(status, INVALID, reason[:300])


def decode_answer(
    status: int, body: bytes, expect: ResultKind
) -> Matrix | Vector | Scalar | PromError:
    """Decode a `/api/v1/query(_range)` answer; any defect comes back as a PromError."""
    try:
        env = _envelope.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        if status >= 400:
            # Not the API's JSON: a proxy's HTML page or plain text. Keep a short excerpt.
            text = body[:200].decode("utf-8", "replace").strip()
            return PromError(status, "", text if text.isprintable() else "")
        return _invalid(status, f"not a Prometheus API answer ({exc})")
    if env.status != "success" or status >= 400:
        return PromError(status, env.error_type, env.error)
    try:
        data = _data.decode(env.data)
    except (msgspec.DecodeError, ValueError) as exc:
        return _invalid(status, f"no result in the answer ({exc})")
    if expect == "scalar" and data.result_type == "vector":
        # VictoriaMetrics answers a scalar expression (`time()`) as a one-sample vector.
        return _scalar_from_vector(status, data.result)
    if data.result_type != expect:
        return _invalid(status, f"expected a {expect} result, got a {data.result_type}")
    warnings = tuple(env.warnings)
    try:
        if expect == "matrix":
            return Matrix(tuple(_series(s) for s in _matrix.decode(data.result)), warnings)
        if expect == "vector":
            return Vector(tuple(_sample(s) for s in _vector.decode(data.result)), warnings)
        ts, value = _scalar.decode(data.result)
        return Scalar(ts, _number(value))
    except (msgspec.DecodeError, ValueError, TypeError) as exc:
        return _invalid(status, f"malformed {expect} ({exc})")


def _scalar_from_vector(status: int, raw: msgspec.Raw) -> Scalar | PromError:
    try:
        samples = _vector.decode(raw)
        if len(samples) != 1 or samples[0].metric:
            return _invalid(status, f"expected a scalar result, got a vector of {len(samples)}")
        ts, value = samples[0].value
        return Scalar(ts, _number(value))
    except (msgspec.DecodeError, ValueError, TypeError) as exc:
        return _invalid(status, f"malformed scalar ({exc})")


def _number(text: str) -> float:
    # float() reads Prometheus' "NaN", "+Inf", "-Inf" as they are written.
    return float(text)


def _series(s: _WireSeries) -> Series:
    if not s.values:
        return Series(s.metric, np.empty(0), np.empty(0))
    ts, texts = zip(*s.values, strict=True)
    # One vectorised string → float conversion per series, not a Python call per point.
    return Series(s.metric, np.array(ts, dtype=np.float64), np.array(texts).astype(np.float64))


def _sample(s: _WireSample) -> Sample:
    return Sample(s.metric, s.value[0], _number(s.value[1]))


# ---------------------------------------------------------------- merging


class Merged(msgspec.Struct, frozen=True):
    """The signals of one refresh as MetricsBatch-ready rows: one per (service, time)."""

    services: tuple[str, ...]
    ts: np.ndarray  # float64 (rows,)
    values: np.ndarray  # float64 (rows, len(fields)), NaN for no data
    fields: tuple[str, ...]
    seen: frozenset[str]  # services with at least one series
    unlabelled: int  # series ignored for lacking the service label


def merge_signals(
    answers: Sequence[tuple[SignalQuery, Matrix]],
    service_label: str,
    fields: tuple[str, ...] = METRIC_FIELDS,
) -> Merged:
    """Join the per-signal matrices on (service, timestamp), time-major.

    A series without the service label is ignored and counted (an override that aggregated
    the label away). Two series of one signal for one service (an override without `by`)
    collide; the later one wins.
    """
    index: dict[str, int] = {}
    parts: list[tuple[np.ndarray, np.ndarray, int, np.ndarray]] = []
    unlabelled = 0
    for query, matrix in answers:
        col = fields.index(query.field)
        for s in matrix.series:
            name = s.labels.get(service_label)
            if not name:
                unlabelled += 1
                continue
            row = index.setdefault(name, len(index))
            if s.ts.size:
                vals = s.values * query.scale if query.scale != 1.0 else s.values
                parts.append((np.full(s.ts.size, row), s.ts, col, vals))
    names = tuple(index)
    if not parts:
        empty = np.empty((0, len(fields)))
        return Merged((), np.empty(0), empty, fields, frozenset(names), unlabelled)
    svc = np.concatenate([p[0] for p in parts])
    ts = np.concatenate([p[1] for p in parts])
    cols = np.concatenate([np.full(p[1].size, p[2]) for p in parts])
    vals = np.concatenate([p[3] for p in parts])
    times, t_idx = np.unique(ts, return_inverse=True)
    keys, row_of = np.unique(t_idx * len(names) + svc, return_inverse=True)
    values = np.full((keys.size, len(fields)), np.nan)
    values[row_of, cols] = vals
    by_row = np.array(names, dtype=object)[keys % len(names)]
    return Merged(
        tuple(by_row.tolist()),
        times[keys // len(names)],
        values,
        fields,
        frozenset(names),
        unlabelled,
    )


def no_traffic(values: np.ndarray, fields: tuple[str, ...] = METRIC_FIELDS) -> np.ndarray:
    """Rows that mean "the service served nothing": rps exactly 0 and no latency."""
    rps = values[:, fields.index("rps")]
    latency = values[:, [fields.index(f) for _, f in LATENCY_QUANTILES]]
    return (rps == 0.0) & np.isnan(latency).all(axis=1)


# ---------------------------------------------------------------- circuits

# When instances disagree about a breaker, show the state that needs attention first.
_SEVERITY: dict[str, int] = {
    "forced_open": 4,
    "open": 3,
    "half_open": 2,
    "closed": 1,
    "disabled": 0,
}


def circuits_from_vector(vector: Vector) -> tuple[Circuit, ...]:
    """Breakers from resilience4j's `state` gauges: the state whose gauge is 1, by name.

    Rows labelled state="failure_rate" give the breaker's success rate (1 − rate/100).

    Unknown state names and breakers with no state at 1 are ignored; sorted by name.
    """
    best: dict[str, CircuitStateName] = {}
    success: dict[str, float] = {}
    for s in vector.samples:
        name, state = s.labels.get("name"), s.labels.get("state")
        if name and state == FAILURE_RATE_STATE:
            # resilience4j: percent of failed calls, -1 until enough calls were recorded.
            if 0.0 <= s.value <= 100.0:
                success[name] = 1.0 - s.value / 100.0
            continue
        if not name or state not in _SEVERITY or not s.value >= 0.5:
            continue
        known = best.get(name)
        if known is None or _SEVERITY[state] > _SEVERITY[known]:
            best[name] = state  # type: ignore[assignment]
    return tuple(Circuit(name=n, state=best[n], success_rate=success.get(n)) for n in sorted(best))


# ---------------------------------------------------------------- plain words

_MAX_MESSAGE = 200


def _short(message: str) -> str:
    # Prometheus prefixes parse errors with the parameter name: noise for an operator.
    message = re.sub(r'^invalid parameter "query":\s*', "", message.strip())
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 1] + "…"


def plain_words(status_code: int, error_type: str, error: str, query_name: str) -> str:
    """A Prometheus error for the status bar, naming the query it hit."""
    msg = _short(error)
    tail = f": {msg}" if msg else ""
    q = f"the {query_name} query"
    if "exceeded maximum resolution" in error or "too many points" in error.lower():
        return f"Prometheus refused {q}: too many points per series (more than {MAX_POINTS:,})"
    if error_type == INVALID:
        return f"Prometheus' answer to {q} is not valid{tail}"
    if error_type == "bad_data" or status_code == 400:
        return f"Prometheus refused {q}{tail}"
    if error_type == "execution" or status_code == 422:
        return f"Prometheus could not run {q}{tail}"
    if error_type == "timeout":
        return f"Prometheus timed out running {q}{tail}"
    if error_type == "canceled":
        return f"Prometheus cancelled {q}{tail}"
    if error_type == "unavailable" or status_code == 503:
        return f"Prometheus is unavailable (HTTP {status_code}){tail}"
    if status_code in (502, 504):
        return f"a proxy in front of Prometheus failed {q} (HTTP {status_code})"
    if 500 <= status_code < 600:
        return f"Prometheus failed {q} (HTTP {status_code}){tail}"
    kind = f", {error_type}" if error_type else ""
    return f"Prometheus answered {q} with an unexpected error (HTTP {status_code}{kind}){tail}"

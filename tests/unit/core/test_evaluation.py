"""One evaluation per signal: the value judged, its window, limit, state and breach."""

from __future__ import annotations

import math

import numpy as np
import pytest

from opsconsole.core.events import MetricsBatch
from opsconsole.core.health import (
    FORMATS,
    Health,
    breach_start,
    evaluate,
    evaluate_series,
    service_health,
    settled,
    span_text,
)
from opsconsole.core.models import METRIC_FIELDS, Thresholds
from opsconsole.core.series import BankSeries
from opsconsole.core.store import Store

T0 = 1_700_000_000.0
CALM = {"latency_p99_ms": 120.0, "rps": 50.0, "error_ratio": 0.0, "cpu": 0.3, "memory": 0.4}


class Feed:
    """One service's samples through a real Store, as a backend would hand them over."""

    def __init__(self) -> None:
        self.store = Store(capacity=600)
        self.ts = T0

    def add(self, **fields: float) -> None:
        row = np.full((1, len(METRIC_FIELDS)), np.nan)
        for name, value in {**CALM, **fields}.items():
            row[0, METRIC_FIELDS.index(name)] = value
        self.store.apply(MetricsBatch("b", ("svc",), np.array([self.ts]), row, METRIC_FIELDS))
        self.ts += 1.0

    @property
    def series(self) -> BankSeries:
        series = self.store.backend("b").series.get("svc")
        assert series is not None
        return series


def test_a_cell_over_its_limit_is_breaching_at_once_while_the_median_holds_the_row() -> None:
    feed = Feed()
    for _ in range(5):
        feed.add(latency_p99_ms=300.0)
    feed.add(latency_p99_ms=1004.0)
    ev = evaluate_series(feed.series, Thresholds())
    p99 = ev.get("latency_p99_ms")
    assert p99 is not None
    # The row is not CRIT yet (median of the last 3 s), but the cell is over its limit now
    # and the Why says so, with the number the cell shows and the median beside it.
    assert ev.level is Health.HEALTHY and p99.level is Health.HEALTHY
    assert p99.breaching and p99.severity is Health.CRITICAL
    assert (p99.latest, p99.value) == (1004.0, 300.0)
    assert ev.reason == "p99 1004 ms > 500 ms, breaching <1 s (3 s median 300 ms)"

    for _ in range(8):
        feed.add(latency_p99_ms=1004.0)
    ev = evaluate_series(feed.series, Thresholds())
    assert ev.level is Health.CRITICAL and ev.signal == "latency_p99_ms"
    assert ev.get("latency_p99_ms").breaching_since == T0 + 5  # the first sample over it
    # Judged and shown agree: one number, no window to name.
    assert ev.reason == "p99 1004 ms > 500 ms, breaching 8 s"
    assert ev.verdict.reason == ev.reason


def test_the_window_is_named_where_the_judged_number_differs_from_the_cell() -> None:
    feed = Feed()
    for p99 in (560.0, 560.0, 560.0, 560.0, 300.0):
        feed.add(latency_p99_ms=p99)
    ev = evaluate_series(feed.series, Thresholds())
    # Median of 560, 560, 560, 300 is 560: still CRIT while the cell already reads 300, and
    # the run over the limit goes on through a dip shorter than the judge window.
    assert ev.level is Health.CRITICAL
    assert ev.reason == "p99 560 ms (3 s median) > 500 ms, breaching 4 s"
    assert not ev.get("latency_p99_ms").breaching

    feed = Feed()
    for p99 in (405.0, 405.0, 405.0, 553.0):
        feed.add(latency_p99_ms=p99)
    ev = evaluate_series(feed.series, Thresholds())
    assert ev.level is Health.WARNING
    assert ev.reason == "p99 553 ms > 500 ms, breaching <1 s (3 s median 405 ms)"


@pytest.mark.parametrize(
    ("field", "value", "level", "reason"),
    [
        # Compared as displayed: never "500 ms > 500 ms".
        ("latency_p99_ms", 500.4, Health.WARNING, "p99 500 ms near 500 ms"),
        ("latency_p99_ms", 500.6, Health.CRITICAL, "p99 501 ms > 500 ms"),
        ("error_ratio", 0.01004, Health.WARNING, "errors 1.00 % near 1 %"),
        ("error_ratio", 0.0106, Health.CRITICAL, "errors 1.06 % > 1 %"),
        ("error_ratio", 0.008, Health.HEALTHY, ""),
        # CPU and memory in percent, as their columns.
        ("cpu", 0.95, Health.CRITICAL, "CPU 95 % > 80 %"),
        ("cpu", 0.8004, Health.WARNING, "CPU 80 % near 80 %"),
        ("memory", 0.70, Health.WARNING, "memory 70 % near 85 %"),
    ],
)
def test_limits_are_compared_with_the_rounding_that_is_shown(
    field: str, value: float, level: Health, reason: str
) -> None:
    verdict = service_health({**CALM, field: value}, Thresholds())
    assert (verdict.level, verdict.reason) == (level, reason)
    fmt = FORMATS[field]
    if level is Health.CRITICAL:
        assert fmt.number(value) != fmt.number(getattr(Thresholds(), field))


def test_every_notable_signal_is_in_the_reason_worst_first() -> None:
    ev = evaluate(
        {**CALM, "latency_p99_ms": 900.0, "cpu": 0.7},
        Thresholds(),
        latest={**CALM, "latency_p99_ms": 900.0, "cpu": 0.7, "error_ratio": 0.05},
        window_s=3.0,
    )
    assert ev.level is Health.CRITICAL and ev.signal == "latency_p99_ms"
    assert ev.verdict.reason == "p99 900 ms > 500 ms"
    assert ev.reason == (
        "p99 900 ms > 500 ms; errors 5.00 % > 1 % (3 s median 0.00 %); CPU 70 % near 80 %"
    )
    assert [s.name for s in ev.breaching] == ["latency_p99_ms", "error_ratio"]
    assert ev.pressure == pytest.approx(1.8)


def test_a_breach_runs_across_short_dips_missing_samples_and_long_histories() -> None:
    fmt = FORMATS["latency_p99_ms"]
    times = np.arange(1000.0)
    values = np.full(1000, 700.0, dtype=np.float32)
    values[:100] = 200.0
    values[500:510] = np.nan  # quiet ticks with no requests: no evidence either way
    values[700:702] = 300.0  # a 2 s dip: shorter than the 3 s judge window
    assert breach_start(times, values, fmt, 500.0) == 100.0
    values[800:805] = 300.0  # 5 s under the limit: that run ended, a new one began
    assert breach_start(times, values, fmt, 500.0) == 805.0
    values[:] = 700.0
    assert breach_start(times, values, fmt, 500.0) == 0.0  # over for all the history kept
    values[-2:] = 400.0
    assert breach_start(times, values, fmt, 500.0) == 0.0  # the newest samples dip
    values[-5:] = 400.0
    assert breach_start(times, values, fmt, 500.0) is None  # under it for 4 s: no breach
    values[:] = 500.4  # shown as "500": not over a 500 ms limit
    assert breach_start(times, values, fmt, 500.0) is None


def test_old_entry_points_read_the_same_evaluation() -> None:
    feed = Feed()
    for _ in range(4):
        feed.add(latency_p99_ms=612.0)
    judged = settled(feed.series)
    assert service_health(judged, Thresholds()).reason == "p99 612 ms > 500 ms"
    assert service_health(judged, Thresholds(), stale=True).reason == "stale"
    assert service_health(None, Thresholds()).reason == "no data"
    assert evaluate_series(None, Thresholds()).level is Health.UNKNOWN
    nothing = evaluate({"rps": 0.0, "latency_p99_ms": math.nan}, Thresholds())
    assert (nothing.level, nothing.reason) == (Health.UNKNOWN, "no traffic")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.4, "<1 s"), (8.9, "8 s"), (125, "2 min 05 s"), (3780, "1 h 03 min")],
)
def test_durations_in_whole_units(seconds: float, text: str) -> None:
    assert span_text(seconds) == text

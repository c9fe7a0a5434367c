"""The backfill plan and the merge of per-metric history answers, without sockets."""

from __future__ import annotations

import math

import numpy as np

from opsconsole.core.backfill import backfill_range, history_rows, tick_of
from opsconsole.core.protocol import HistoricalBody

FIELDS = ("rps", "error_ratio", "latency_p99_ms")


def test_tick_needs_three_samples_and_takes_the_median_step() -> None:
    assert tick_of([10.0, 11.0]) is None
    assert tick_of([10.0, 11.0, 12.0, 14.0, 15.0]) == 1.0
    assert tick_of([10.0, 10.0, 10.0]) is None


def test_range_keeps_the_live_step_and_shrinks_the_span() -> None:
    # Live ticks at …, 4999, 5000, 5001; the console holds rows from 5000 on.
    plan = backfill_range(5001.0, 5000.0, tick_s=1.0, history_s=3600.0, max_points=3600)
    # Buckets half a step off the ticks; the last, [4998.5, 4999.5), holds the tick of 4999.
    assert (plan.start, plan.end, plan.step) == (1399.5, 4998.5, 1.0)
    assert (plan.end - plan.start) / plan.step + 1 == 3600
    fast = backfill_range(5000.0, 5000.0, tick_s=0.05, history_s=3600.0, max_points=3600)
    assert fast.step == 0.05
    assert math.isclose(fast.end - fast.start, 179.95)  # 3,600 points of 50 ms


def test_the_last_bucket_never_overlaps_an_off_grid_first_row() -> None:
    # A snapshot's row taken at 5000.3 between ticks 5000 and 5001 (the grid).
    plan = backfill_range(5001.0, 5000.3, tick_s=1.0, history_s=10.0, max_points=3600)
    assert plan.end + plan.step <= 5000.3  # [4999.5, 5000.5) would overlap: not asked for
    assert plan.end == 4998.5
    # A snapshot's row just after a tick: that tick's bucket still fits before it.
    plan = backfill_range(5001.0, 5000.6, tick_s=1.0, history_s=10.0, max_points=3600)
    assert plan.end == 4999.5


def test_range_respects_the_query_point_limit() -> None:
    plan = backfill_range(0.0, 0.0, tick_s=0.1, history_s=3600.0, max_points=50_000)
    assert (plan.end - plan.start) / plan.step < 11_000


def test_rows_merge_metrics_and_leave_out_empty_buckets() -> None:
    bodies = {
        "rps": HistoricalBody("orders", "rps", 1.0, [(1.0, 10.0), (2.0, None), (3.0, 12.0)]),
        "latency_p99_ms": HistoricalBody(
            "orders", "latency_p99_ms", 1.0, [(1.0, 200.0), (2.0, None), (3.0, None)]
        ),
        "unknown": HistoricalBody("orders", "unknown", 1.0, [(4.0, 1.0)]),  # not a field
    }
    ts, values = history_rows(bodies, FIELDS)
    assert ts.tolist() == [1.5, 3.5]  # the middle of each [t, t + 1) bucket
    assert values[0].tolist()[0] == 10.0 and values[0].tolist()[2] == 200.0
    assert np.isnan(values[0][1])  # error_ratio was not asked for: no data, not 0
    assert values[1][0] == 12.0 and np.isnan(values[1][2])


def test_rows_of_nothing_are_empty() -> None:
    ts, values = history_rows({}, FIELDS)
    assert ts.size == 0 and values.shape == (0, 3)

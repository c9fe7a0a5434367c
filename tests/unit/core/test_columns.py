"""ColumnBins: per-column min/max aligned to absolute time, folded in as samples arrive."""

from __future__ import annotations

import numpy as np
import pytest

from opsconsole.core.columns import ColumnBins

T0 = 1_800_000_000.0


def bins_for(rows: int = 1, width_s: float = 10.0, capacity: int = 64, gap_s: float = 2.5):
    return ColumnBins(rows, width_s, capacity, gap_s)


def feed(bins: ColumnBins, row: int, ts: np.ndarray, vs: np.ndarray) -> np.ndarray:
    return bins.add(np.full(ts.size, row), ts, vs)


def test_each_column_keeps_the_min_and_max_of_its_samples() -> None:
    bins = bins_for()
    ts = T0 + np.arange(30.0)
    vs = np.arange(30.0)
    vs[13] = 100.0  # a spike inside the second column survives
    feed(bins, 0, ts, vs)
    first = bins.column_of(T0)
    runs = bins.runs(0, first, first + 2)
    assert runs.ids.tolist() == [first, first + 1, first + 2]
    assert runs.lo.tolist() == [0.0, 10.0, 20.0]
    assert runs.hi.tolist() == [9.0, 100.0, 29.0]
    assert runs.starts.tolist() == [0]


def test_incremental_folding_equals_one_batch_and_ignores_replays() -> None:
    rng = np.random.default_rng(3)
    ts = T0 + np.arange(500.0)
    vs = rng.normal(size=500)
    whole, piecewise = bins_for(capacity=80), bins_for(capacity=80)
    feed(whole, 0, ts, vs)
    for a in range(0, 500, 7):
        # Offering the window again from its start, as a naive owner would, changes nothing.
        feed(piecewise, 0, ts[: a + 7], vs[: a + 7])
    first, last = whole.column_of(ts[0]), whole.column_of(ts[-1])
    a, b = whole.runs(0, first, last), piecewise.runs(0, first, last)
    assert np.array_equal(a.ids, b.ids)
    assert np.array_equal(a.lo, b.lo) and np.array_equal(a.hi, b.hi)


def test_columns_are_aligned_to_absolute_time_not_the_window_start() -> None:
    """Scrolling by one sample must not move samples between columns (no shimmer)."""
    bins = bins_for(width_s=4.0)
    ts = T0 + np.arange(41.0)
    vs = np.sin(np.arange(41.0))
    feed(bins, 0, ts[:40], vs[:40])
    before = bins.runs(0, bins.column_of(ts[0]), bins.column_of(ts[39]))
    feed(bins, 0, ts[40:], vs[40:])
    after = bins.runs(0, bins.column_of(ts[0]), bins.column_of(ts[39]))
    assert np.array_equal(before.lo, after.lo) and np.array_equal(before.hi, after.hi)


def test_a_hole_in_time_breaks_the_line() -> None:
    bins = bins_for(width_s=1.0)
    ts = np.r_[T0 + np.arange(10.0), T0 + 30 + np.arange(10.0)]
    feed(bins, 0, ts, np.ones(ts.size))
    runs = bins.runs(0, bins.column_of(ts[0]), bins.column_of(ts[-1]))
    assert len(runs) == 20
    assert runs.starts.tolist() == [0, 10]


def test_a_hole_inside_one_wide_column_still_breaks_it() -> None:
    """At a day per chart a column is minutes wide; a 30 s outage inside it is still a gap."""
    bins = bins_for(width_s=120.0, gap_s=2.5)
    start = 120.0 * (T0 // 120.0)
    ts = np.r_[start + np.arange(40.0), start + 70 + np.arange(50.0), start + 120 + np.arange(5.0)]
    feed(bins, 0, ts, np.ones(ts.size))
    runs = bins.runs(0, bins.column_of(ts[0]), bins.column_of(ts[-1]))
    assert len(runs) == 2
    assert runs.starts.tolist() == [0, 1]  # the broken column stands alone


def test_nan_samples_break_the_line_and_are_never_drawn_as_values() -> None:
    bins = bins_for(width_s=1.0)
    ts = T0 + np.arange(10.0)
    vs = np.arange(10.0)
    vs[4:6] = np.nan
    feed(bins, 0, ts, vs)
    runs = bins.runs(0, bins.column_of(ts[0]), bins.column_of(ts[-1]))
    assert runs.lo.tolist() == [0.0, 1.0, 2.0, 3.0, 6.0, 7.0, 8.0, 9.0]
    assert runs.starts.tolist() == [0, 4]


def test_inf_is_no_data_too() -> None:
    bins = bins_for(width_s=1.0)
    ts = T0 + np.arange(5.0)
    feed(bins, 0, ts, np.array([1.0, np.inf, 1.0, -np.inf, 1.0]))
    runs = bins.runs(0, bins.column_of(ts[0]), bins.column_of(ts[-1]))
    assert np.isfinite(runs.lo).all() and len(runs.starts) == 3


def test_block_agrees_with_runs_for_many_rows() -> None:
    rng = np.random.default_rng(9)
    bins = bins_for(rows=5, width_s=3.0, capacity=100)
    ts = T0 + np.arange(200.0)
    for row in range(5):
        vs = rng.normal(size=200)
        if row == 2:
            vs[50] = np.nan  # a gap: not one simple run
        if row == 3:
            vs[:120] = np.nan  # data only at the end: simple, starting later
        feed(bins, row, ts, vs)
    first, last = bins.column_of(ts[0]), bins.column_of(ts[-1])
    block = bins.block(np.arange(5), first, last)
    assert block.simple.tolist() == [True, True, False, True, True]
    for row in (0, 1, 3, 4):
        runs = bins.runs(row, first, last)
        a, b = int(block.first[row]), int(block.last[row])
        assert np.array_equal(block.lo[row, a : b + 1], runs.lo)
        assert np.array_equal(block.hi[row, a : b + 1], runs.hi)
    assert len(bins.runs(2, first, last).starts) > 1


def test_the_ring_forgets_columns_older_than_its_capacity() -> None:
    bins = bins_for(width_s=1.0, capacity=16)
    ts = T0 + np.arange(100.0)
    feed(bins, 0, ts, np.arange(100.0))
    last = bins.column_of(ts[-1])
    runs = bins.runs(0, last - 40, last)
    assert runs.ids[0] == last - 15 and runs.lo[0] == 84.0


def test_rows_changed_are_returned_and_other_rows_untouched() -> None:
    bins = bins_for(rows=3)
    changed = bins.add(np.array([2, 0, 2]), np.array([T0, T0, T0 + 1]), np.ones(3))
    assert changed.tolist() == [0, 2]
    assert bins.add(np.array([2]), np.array([T0]), np.ones(1)).size == 0  # not newer


def test_width_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        ColumnBins(1, 0.0, 4, 1.0)

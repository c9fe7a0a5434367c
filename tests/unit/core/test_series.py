"""Ring-buffer series: preallocated, contiguous read-only views, strictly increasing times."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsconsole.core.models import METRIC_FIELDS
from opsconsole.core.series import RingSeries, SeriesBank

FIELDS = ("latency", "errors")


def batch(ts: list[float], fields: tuple[str, ...] = FIELDS) -> tuple[np.ndarray, np.ndarray]:
    """Times and values where field k of a sample is ts * 10 + k (easy to check alignment)."""
    t = np.asarray(ts, dtype=np.float64)
    values = t[:, None] * 10 + np.arange(len(fields))[None, :]
    return t, values


def ring(capacity: int = 4) -> RingSeries:
    return RingSeries(capacity, FIELDS)


# ------------------------------------------------------------------ construction


@pytest.mark.parametrize("capacity", [0, -1])
def test_capacity_must_be_positive(capacity: int) -> None:
    with pytest.raises(ValueError, match="capacity"):
        RingSeries(capacity, FIELDS)


def test_new_series_is_empty() -> None:
    r = ring()
    assert len(r) == 0
    assert r.last_ts is None
    assert r.latest() is None
    assert r.times().shape == (0,)
    assert r.values("latency").shape == (0,)
    assert r.version == 0 and r.dropped == 0


def test_default_fields_are_the_golden_signals() -> None:
    r = RingSeries(8)
    assert r.fields == METRIC_FIELDS
    r.append_batch(np.array([1.0]), np.arange(len(METRIC_FIELDS), dtype=float)[None, :])
    assert r.values("rps").tolist() == [3.0]


# ------------------------------------------------------------------ preallocation


def test_buffers_are_preallocated_and_never_grow() -> None:
    r = RingSeries(64, FIELDS)
    ts_buffer, values_buffer = r._ts, r._values
    ts_bytes, values_bytes = r._ts.nbytes, r._values.nbytes
    t = 0.0
    for size in (1, 7, 64, 65, 200, 3, 1000):
        ts = t + 1 + np.arange(size, dtype=float)
        t = float(ts[-1])
        r.append_batch(*batch(ts.tolist()))
        assert len(r.times()) == min(len(r), 64)
    assert len(r) == 64
    assert len(r.times()) == 64 and len(r.values("errors")) == 64
    assert r._ts is ts_buffer and r._values is values_buffer
    assert (r._ts.nbytes, r._values.nbytes) == (ts_bytes, values_bytes)


def test_views_share_memory_with_the_ring() -> None:
    r = ring(8)
    r.append_batch(*batch([1, 2, 3]))
    assert np.shares_memory(r.times(), r._ts)
    assert np.shares_memory(r.values("latency"), r._values)


# ------------------------------------------------------------------ views


def test_views_are_contiguous_and_read_only_before_and_after_wrapping() -> None:
    r = ring(5)
    for start in range(1, 30, 3):
        r.append_batch(*batch([start, start + 1, start + 2]))
        for view in (r.times(), r.values("latency"), r.values("errors")):
            assert view.flags.c_contiguous
            assert not view.flags.writeable
            with pytest.raises(ValueError, match="read-only"):
                view[0] = -1.0


def test_views_are_aligned_after_wrapping() -> None:
    r = ring(4)
    r.append_batch(*batch([1, 2, 3]))
    r.append_batch(*batch([4, 5, 6]))
    assert r.times().tolist() == [3, 4, 5, 6]
    assert r.values("latency").tolist() == [30, 40, 50, 60]
    assert r.values("errors").tolist() == [31, 41, 51, 61]


def test_values_of_unknown_field_raise() -> None:
    with pytest.raises(ValueError):
        ring().values("nonsense")


def test_values_keep_nan_for_no_data() -> None:
    r = ring()
    r.append_batch(np.array([1.0, 2.0]), np.array([[np.nan, 0.0], [5.0, np.nan]]))
    assert np.isnan(r.values("latency")).tolist() == [True, False]
    assert r.values("errors")[0] == 0.0
    assert np.isnan(r.values("errors")[1])


# ------------------------------------------------------------------ ordering and dropping


def test_duplicate_and_out_of_order_samples_are_dropped_and_counted() -> None:
    r = ring(8)
    assert r.append_batch(*batch([10, 11])) == 2
    assert r.append_batch(*batch([11])) == 0  # duplicate of the last one
    assert r.append_batch(*batch([5, 9])) == 0  # older than the last one
    assert r.append_batch(*batch([12, 12, 11, 13])) == 2  # repeat and step back inside a batch
    assert r.times().tolist() == [10, 11, 12, 13]
    assert r.values("latency").tolist() == [100, 110, 120, 130]
    assert r.dropped == 1 + 2 + 2


def test_unsorted_batch_keeps_only_the_increasing_prefix_maxima() -> None:
    r = ring(8)
    kept = r.append_batch(*batch([3, 1, 4, 1, 5, 9, 2, 6]))
    assert kept == 4
    assert r.times().tolist() == [3, 4, 5, 9]
    assert r.dropped == 4


def test_nan_timestamp_is_dropped_without_losing_later_samples() -> None:
    r = ring(8)
    kept = r.append_batch(*batch([1.0, float("nan"), 2.0, 3.0]))
    assert r.times().tolist() == [1.0, 2.0, 3.0]
    assert kept == 3
    assert r.dropped == 1


def test_batch_larger_than_capacity_keeps_the_newest() -> None:
    r = ring(4)
    r.append_batch(*batch([1, 2]))
    kept = r.append_batch(*batch([3, 4, 5, 6, 7, 8, 9]))
    assert kept == 7
    assert len(r) == 4
    assert r.times().tolist() == [6, 7, 8, 9]
    assert r.values("errors").tolist() == [61, 71, 81, 91]
    assert r.dropped == 0


def test_capacity_one() -> None:
    r = ring(1)
    r.append_batch(*batch([1, 2, 3]))
    r.append_batch(*batch([4]))
    assert r.times().tolist() == [4]
    assert r.latest() == {"latency": 40.0, "errors": 41.0}


def test_empty_batch_is_a_no_op() -> None:
    r = ring()
    assert r.append_batch(np.array([]), np.empty((0, 2))) == 0
    assert r.version == 0 and r.dropped == 0


def test_values_shape_must_match_times_and_fields() -> None:
    r = ring()
    with pytest.raises(ValueError, match="shape"):
        r.append_batch(np.array([1.0, 2.0]), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="shape"):
        r.append_batch(np.array([1.0, 2.0]), np.zeros((1, 2)))
    assert len(r) == 0


# ------------------------------------------------------------------ latest and version


def test_latest_is_the_newest_sample_with_nan_for_no_data() -> None:
    r = ring(3)
    r.append_batch(*batch([1, 2, 3, 4]))
    r.append_batch(np.array([5.0]), np.array([[7.5, np.nan]]))
    latest = r.latest()
    assert latest is not None
    assert latest["latency"] == 7.5
    assert np.isnan(latest["errors"])
    assert r.last_ts == 5.0


def test_version_bumps_only_when_samples_are_kept() -> None:
    r = ring()
    r.append_batch(*batch([1, 2]))
    assert r.version == 1
    r.append_batch(*batch([2]))
    assert r.version == 1
    r.append_batch(*batch([3]))
    r.append_batch(*batch([4, 5, 6, 7, 8]))
    assert r.version == 3


# ------------------------------------------------------------------ reference model


class DequeModel:
    """The obvious, slow model of a ring: keep each sample newer than the last kept one."""

    def __init__(self, capacity: int) -> None:
        self.samples: deque[tuple[float, tuple[float, ...]]] = deque(maxlen=capacity)
        self.last: float | None = None
        self.dropped = 0
        self.version = 0

    def append_batch(self, ts: np.ndarray, values: np.ndarray) -> int:
        kept = 0
        for t, row in zip(ts.tolist(), values.tolist(), strict=True):
            if self.last is None or t > self.last:
                self.samples.append((t, tuple(row)))
                self.last = t
                kept += 1
            else:
                self.dropped += 1
        if kept:
            self.version += 1
        return kept


# A batch is a list of steps from the previous time: positive steps move forward, zero and
# negative steps make duplicates and stragglers.
steps = st.integers(min_value=-3, max_value=4)
batches = st.lists(st.lists(steps, min_size=0, max_size=25), min_size=1, max_size=12)


@settings(max_examples=250, deadline=None)
@given(st.integers(min_value=1, max_value=9), batches)
def test_ring_matches_a_deque_model(capacity: int, batch_steps: list[list[int]]) -> None:
    r = ring(capacity)
    model = DequeModel(capacity)
    t = 0.0
    for step_list in batch_steps:
        times = []
        for step in step_list:
            t += step
            times.append(t)
        ts, values = batch(times)
        assert r.append_batch(ts, values) == model.append_batch(ts, values)
        expected_ts = [s[0] for s in model.samples]
        assert r.times().tolist() == expected_ts
        for k, name in enumerate(FIELDS):
            expected = np.array([s[1][k] for s in model.samples], dtype=np.float32)
            assert np.array_equal(r.values(name), expected)
        assert len(r) == len(model.samples)
        assert r.dropped == model.dropped
        assert r.version == model.version
        assert r.last_ts == model.last
        assert np.all(np.diff(r.times()) > 0)
        assert r.times().flags.c_contiguous and not r.times().flags.writeable


# ------------------------------------------------------------------ bank


def bank_batch(rows: list[tuple[str, float]]) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    services = tuple(name for name, _ in rows)
    ts, values = batch([t for _, t in rows])
    return services, ts, values


def test_bank_one_row_per_service() -> None:
    bank = SeriesBank(8, FIELDS)
    touched, kept = bank.append_rows(*bank_batch([("checkout", 1), ("payments", 1), ("search", 2)]))
    assert touched == {"checkout", "payments", "search"}
    assert kept == 3
    assert set(bank) == {"checkout", "payments", "search"}
    search = bank.get("search")
    assert search is not None and search.times().tolist() == [2]
    assert search.values("errors").tolist() == [21]


def test_bank_creates_series_lazily() -> None:
    bank = SeriesBank(8, FIELDS)
    assert "checkout" not in bank
    assert bank.get("checkout") is None
    created = bank.series("checkout")
    assert "checkout" in bank and bank.get("checkout") is created
    assert bank.series("checkout") is created
    assert created.capacity == 8 and created.fields == FIELDS


def test_bank_groups_unsorted_rows_of_the_same_service() -> None:
    bank = SeriesBank(8, FIELDS)
    rows = [("checkout", 3), ("payments", 1), ("checkout", 1), ("checkout", 2), ("payments", 0)]
    touched, kept = bank.append_rows(*bank_batch(rows))
    assert touched == {"checkout", "payments"}
    assert kept == 5
    checkout, payments = bank.get("checkout"), bank.get("payments")
    assert checkout is not None and payments is not None
    assert checkout.times().tolist() == [1, 2, 3]
    assert checkout.values("latency").tolist() == [10, 20, 30]  # values moved with their times
    assert payments.times().tolist() == [0, 1]
    assert payments.values("errors").tolist() == [1, 11]
    assert bank.dropped == 0


def test_bank_counts_duplicates_within_a_grouped_batch() -> None:
    bank = SeriesBank(8, FIELDS)
    touched, kept = bank.append_rows(*bank_batch([("a", 2), ("a", 1), ("a", 2), ("b", 5)]))
    assert kept == 3 and touched == {"a", "b"}
    a = bank.get("a")
    assert a is not None and a.times().tolist() == [1, 2]
    assert bank.dropped == 1


def test_bank_stale_rows_do_not_touch_a_service() -> None:
    bank = SeriesBank(8, FIELDS)
    bank.append_rows(*bank_batch([("a", 5), ("b", 5)]))
    touched, kept = bank.append_rows(*bank_batch([("a", 4), ("b", 6)]))
    assert touched == {"b"} and kept == 1
    assert bank.dropped == 1


def test_bank_refuses_a_batch_with_the_wrong_field_count() -> None:
    bank = SeriesBank(8, FIELDS)
    with pytest.raises(ValueError):
        bank.append_rows(("a",), np.array([1.0]), np.zeros((1, 3)))
    assert bank.dropped == 0
    a = bank.get("a")
    assert a is None or len(a) == 0


def test_bank_empty_batch_touches_nothing() -> None:
    bank = SeriesBank(8, FIELDS)
    assert bank.append_rows((), np.empty(0), np.empty((0, 2))) == (set(), 0)


def test_bank_keeps_every_service_when_it_grows() -> None:
    bank = SeriesBank(4, FIELDS)
    names = [f"svc-{i:02d}" for i in range(40)]
    for t in (1.0, 2.0):
        for name in names:  # one service at a time, so the bank grows between appends
            bank.append_rows(*bank_batch([(name, t + names.index(name) / 100)]))
    for i, name in enumerate(names):
        s = bank.get(name)
        assert s is not None
        assert s.times().tolist() == [1.0 + i / 100, 2.0 + i / 100]
        assert s.values("latency").tolist() == pytest.approx(
            [(1.0 + i / 100) * 10, (2.0 + i / 100) * 10], rel=1e-6
        )
        assert s.name == name and s.capacity == 4 and s.fields == FIELDS


def test_bank_buffers_do_not_grow_with_samples() -> None:
    bank = SeriesBank(16, FIELDS)
    services = [f"svc-{i}" for i in range(5)]
    bank.append_rows(*bank_batch([(name, 0.0) for name in services]))
    ts_buffer, values_buffer = bank._ts, bank._values
    for t in range(1, 200):
        bank.append_rows(*bank_batch([(name, float(t)) for name in services]))
    assert bank._ts is ts_buffer and bank._values is values_buffer
    for name in services:
        s = bank.get(name)
        assert s is not None and len(s) == 16 and len(s.times()) == 16
        assert s.times().tolist() == [float(t) for t in range(184, 200)]


def test_bank_series_views_are_contiguous_and_read_only() -> None:
    bank = SeriesBank(3, FIELDS)
    for t in range(1, 8):
        bank.append_rows(*bank_batch([("a", t), ("b", t)]))
    b = bank.get("b")
    assert b is not None
    assert b.times().tolist() == [5, 6, 7]
    for view in (b.times(), b.values("latency"), b.values("errors")):
        assert view.flags.c_contiguous and not view.flags.writeable
    latest = b.latest()
    assert latest == {"latency": 70.0, "errors": 71.0}
    assert b.last_ts == 7.0 and len(b) == 3


def test_bank_many_rows_of_one_service_beyond_capacity() -> None:
    bank = SeriesBank(3, FIELDS)
    rows = [("a", t) for t in (9, 2, 7, 1, 8, 3)] + [("b", 1)]
    touched, kept = bank.append_rows(*bank_batch(rows))
    a = bank.get("a")
    assert a is not None
    assert a.times().tolist() == [7, 8, 9]
    assert a.values("errors").tolist() == [71, 81, 91]
    assert kept == 7 and touched == {"a", "b"}


def test_bank_nan_time_is_dropped_and_does_not_poison_the_service() -> None:
    bank = SeriesBank(4, FIELDS)
    bank.append_rows(*bank_batch([("a", float("nan")), ("b", 1.0)]))
    bank.append_rows(*bank_batch([("a", 2.0)]))
    a = bank.get("a")
    assert a is not None and a.times().tolist() == [2.0]
    assert bank.dropped == 1


class BankModel:
    """Per-service deques: rows of one service are taken oldest first, each must be newer."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.rings: dict[str, DequeModel] = {}

    def append_rows(self, rows: list[tuple[str, float]]) -> tuple[set[str], int]:
        touched, kept = set(), 0
        for name in dict.fromkeys(n for n, _ in rows):
            ring_model = self.rings.setdefault(name, DequeModel(self.capacity))
            times = sorted(t for n, t in rows if n == name)
            ts, values = batch(times)
            n = ring_model.append_batch(ts, values)
            if n:
                touched.add(name)
                kept += n
        return touched, kept


bank_rows = st.lists(
    st.tuples(st.sampled_from("abcdefghijk"), st.integers(min_value=0, max_value=30).map(float)),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=5), st.lists(bank_rows, min_size=1, max_size=6))
def test_bank_matches_a_per_service_deque_model(
    capacity: int, batches_of_rows: list[list[tuple[str, float]]]
) -> None:
    bank = SeriesBank(capacity, FIELDS)
    model = BankModel(capacity)
    for rows in batches_of_rows:
        assert bank.append_rows(*bank_batch(rows)) == model.append_rows(rows)
        assert set(bank) == set(model.rings)
        for name, ring_model in model.rings.items():
            s = bank.get(name)
            assert s is not None
            assert s.times().tolist() == [t for t, _ in ring_model.samples]
            expected = np.array([v[1] for _, v in ring_model.samples], dtype=np.float32)
            assert np.array_equal(s.values("errors"), expected)
            assert s.dropped == ring_model.dropped
        assert bank.dropped == sum(m.dropped for m in model.rings.values())


# ------------------------------------------------------------------ backfill (prepend)


def _rows(ts: list[float], fields: int = len(METRIC_FIELDS)) -> np.ndarray:
    return np.array([[t] * fields for t in ts], dtype=np.float64)


def test_prepend_puts_history_before_live_rows_without_a_seam() -> None:
    bank = SeriesBank(capacity=10)
    bank.append_rows(("a", "a"), np.array([100.0, 101.0]), _rows([100.0, 101.0]))
    # History overlapping the live rows: only what is older than the oldest live row is taken.
    taken = bank.prepend("a", np.array([97.0, 98.0, 99.0, 100.0, 101.0]), _rows([97, 98, 99, 0, 0]))
    series = bank.get("a")
    assert taken == 3
    assert series.times().tolist() == [97.0, 98.0, 99.0, 100.0, 101.0]
    assert series.values("rps").tolist() == [97.0, 98.0, 99.0, 100.0, 101.0]
    # Live data continues the same series after the backfill.
    bank.append_rows(("a",), np.array([102.0]), _rows([102.0]))
    assert series.times().tolist()[-3:] == [100.0, 101.0, 102.0]
    assert series.latest()["rps"] == 102.0


def test_prepend_keeps_the_newest_history_when_the_ring_is_nearly_full() -> None:
    bank = SeriesBank(capacity=5)
    bank.append_rows(("a", "a", "a"), np.array([10.0, 11.0, 12.0]), _rows([10, 11, 12]))
    taken = bank.prepend("a", np.arange(0.0, 10.0), _rows(list(range(10))))
    assert taken == 2
    assert bank.get("a").times().tolist() == [8.0, 9.0, 10.0, 11.0, 12.0]
    # Wrapping after a prepend keeps the newest samples contiguous.
    for t in (13.0, 14.0, 15.0):
        bank.append_rows(("a",), np.array([t]), _rows([t]))
    assert bank.get("a").times().tolist() == [11.0, 12.0, 13.0, 14.0, 15.0]


def test_prepend_into_an_empty_series_sorts_and_dedups() -> None:
    bank = SeriesBank(capacity=8)
    taken = bank.prepend("b", np.array([3.0, 1.0, 2.0, 2.0]), _rows([3, 1, 2, 2]))
    assert taken == 3
    assert bank.get("b").times().tolist() == [1.0, 2.0, 3.0]
    assert bank.prepend("b", np.array([5.0]), _rows([5.0])) == 0  # not older than what is held

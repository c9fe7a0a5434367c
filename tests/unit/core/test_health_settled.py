"""`settled()` in one sort per service: the same medians as the per-field loop it replaced."""

from __future__ import annotations

import math

import numpy as np
import pytest

from opsconsole.core.health import finite_medians, settled
from opsconsole.core.models import METRIC_FIELDS
from opsconsole.core.series import BankSeries, SeriesBank


def settled_per_field(series: BankSeries | None, window_s: float = 3.0) -> dict[str, float] | None:
    """The implementation before vectorising, kept as the reference: np.median per field."""
    if series is None or len(series) == 0:
        return None
    times = series.times()
    start = int(np.searchsorted(times, times[-1] - window_s, side="left"))
    out: dict[str, float] = {}
    for field in series.fields:
        values = series.values(field)[start:]
        finite = values[np.isfinite(values)]
        out[field] = float(np.median(finite)) if finite.size else math.nan
    return out


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def noisy_block(rng: np.random.Generator, rows: int, width: int, dtype: type) -> np.ndarray:
    scale = rng.choice([1.0, 1e-30, 1e30])
    block = (rng.standard_normal((rows, width)) * scale).astype(dtype)
    mark = rng.random((rows, width))
    block[mark < 0.25] = np.nan
    block[(mark >= 0.25) & (mark < 0.32)] = np.inf
    block[(mark >= 0.32) & (mark < 0.36)] = -np.inf
    return block


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_finite_medians_equal_np_median_of_each_rows_finite_values(dtype: type) -> None:
    rng = np.random.default_rng(17)
    for _ in range(500):
        block = noisy_block(rng, int(rng.integers(1, 9)), int(rng.integers(0, 14)), dtype)
        got = finite_medians(block)
        assert got.shape == (block.shape[0],)
        for row, value in zip(block, got, strict=True):
            finite = row[np.isfinite(row)]
            expected = float(np.median(finite)) if finite.size else math.nan
            assert same(float(value), expected), (row, value, expected)


def test_a_row_without_finite_values_is_nan_and_others_are_not_disturbed() -> None:
    block = np.array([[np.nan, np.inf, -np.inf], [3.0, np.nan, 1.0], [5.0, 7.0, 6.0]])
    got = finite_medians(block)
    assert math.isnan(got[0])
    assert got[1] == 2.0  # even count: the mean of the two middle values
    assert got[2] == 6.0


def test_settled_matches_the_per_field_loop_on_a_real_bank() -> None:
    rng = np.random.default_rng(3)
    bank = SeriesBank(capacity=120)
    names = tuple(f"svc-{i:03d}" for i in range(50))
    scales = np.array([40, 90, 300, 500, 1, 1, 1], dtype=np.float64)
    ts = 1000.0
    for _ in range(150):  # past the capacity: the rings wrap
        values = rng.random((len(names), len(METRIC_FIELDS))) * scales
        mark = rng.random(values.shape)
        values[mark < 0.3] = np.nan
        values[(mark >= 0.3) & (mark < 0.35)] = np.inf
        # Uneven sample times: windows hold different counts, odd and even.
        ts += float(rng.choice([0.5, 1.0, 1.5]))
        bank.append_rows(names, np.full(len(names), ts), values)
    for window_s in (0.0, 1.0, 3.0, 10.0, 1e9):
        for name in names:
            series = bank.get(name)
            expected = settled_per_field(series, window_s)
            got = settled(series, window_s)
            assert expected is not None and got is not None
            assert list(got) == list(METRIC_FIELDS)
            for field in METRIC_FIELDS:
                assert same(got[field], expected[field]), (name, window_s, field)


def test_settled_without_data_is_none() -> None:
    bank = SeriesBank(capacity=10)
    assert settled(None) is None
    assert settled(bank.series("empty")) is None

"""The sim's own kept history of golden signals (numpy ring) and step-bucketed range queries."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

MAX_POINTS = 11_000  # the Prometheus range-query limit, kept by the contract
HISTORY_BYTES = 32 << 20  # float32 ring budget; fewer kept ticks with many services


def point_count(start: float, end: float, step: float) -> int:
    """Points of a range query: one per step from start up to and including end."""
    return math.floor((end - start) / step + 1e-9) + 1


def capacity_for(n_services: int, n_fields: int, tick_s: float, keep_s: float = 21_600.0) -> int:
    """Ticks to keep: six hours of history, or fewer when the memory budget says so."""
    by_time = math.ceil(keep_s / tick_s)
    by_memory = HISTORY_BYTES // max(1, n_services * n_fields * 4)
    return max(16, min(by_time, by_memory))


class MetricHistory:
    """One row of (services × fields) per tick, NaN for "no data"."""

    def __init__(self, services: Sequence[str], n_fields: int, capacity: int) -> None:
        self.services = tuple(services)
        self.capacity = capacity
        self._ts = np.zeros(capacity)
        # Filled (so every page is touched) now rather than as ticks arrive: the ring's memory
        # is taken once at start and the process stays flat after, instead of growing by
        # 20 MB/h at 200 services for the first 100 minutes (np.empty). NaN is "no data".
        self._values = np.full((capacity, len(self.services), n_fields), np.nan, dtype=np.float32)
        self._next = 0
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, ts: float, values: np.ndarray) -> None:
        self._ts[self._next] = ts
        self._values[self._next] = values
        self._next = (self._next + 1) % self.capacity
        self._size = min(self._size + 1, self.capacity)

    def _order(self) -> np.ndarray:
        """Ring positions oldest first."""
        first = (self._next - self._size) % self.capacity
        return (first + np.arange(self._size)) % self.capacity

    def series(self, service: int, field: int) -> tuple[np.ndarray, np.ndarray]:
        idx = self._order()
        return self._ts[idx], self._values[idx, service, field].astype(np.float64)

    def query(
        self, service: int, field: int, start: float, end: float, step: float
    ) -> list[tuple[float, float | None]]:
        """Points at start, start+step, ... ≤ end; each the mean of the samples in
        [t, t+step), None where the bucket holds no sample with data."""
        n = point_count(start, end, step)
        ts, values = self.series(service, field)
        buckets = np.floor((ts - start) / step).astype(np.int64)
        keep = (buckets >= 0) & (buckets < n) & np.isfinite(values)
        sums = np.bincount(buckets[keep], weights=values[keep], minlength=n)
        counts = np.bincount(buckets[keep], minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = sums / counts
        times = start + step * np.arange(n)
        return [
            (float(t), float(m) if c else None)
            for t, m, c in zip(times.tolist(), means.tolist(), counts.tolist(), strict=True)
        ]

"""One tick of simulated requests for all services: vectorised draws and honest quantiles.

The quantiles are those of the latencies actually drawn (pure, RNG injected); the error
ratio is counted over a short sliding window of ticks (`ErrorWindow`).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

import numpy as np

QUANTILES = (0.50, 0.95, 0.99)
FAST_FAIL_MS = 2.0  # an answer from an open breaker or a read-only database: no waiting
CACHE_SPEEDUP = 0.3  # a cached fallback answer costs ~30 % of a real one
_SEGMENT_OFFSET = 1e7  # ms; separates services when sorting all latencies in one pass


@dataclass(frozen=True)
class Workload:
    """Per-service parameters of one tick (arrays of equal length)."""

    rps: np.ndarray
    median_ms: np.ndarray
    sigma: np.ndarray
    slow_p: np.ndarray
    slow_factor: np.ndarray
    error_p: np.ndarray
    # Shares of requests that hang on a dead dependency then fail, that fail fast in a
    # fallback, and that are served from a cache fallback. They sum to at most 1.
    p_timeout: np.ndarray
    timeout_ms: np.ndarray
    p_fast_fail: np.ndarray
    p_cached: np.ndarray


@dataclass(frozen=True)
class TickDraw:
    counts: np.ndarray  # int64 requests per service
    failures: np.ndarray  # int64
    quantiles: np.ndarray  # (services, 3) ms: p50, p95, p99; NaN where no request
    latencies_ms: np.ndarray  # every drawn latency, grouped by service, sorted within each
    segment: np.ndarray  # service index of each latency


def segmented_quantiles(
    sorted_values: np.ndarray, counts: np.ndarray, qs: tuple[float, ...] = QUANTILES
) -> np.ndarray:
    """Quantiles (numpy's default linear method) of consecutive sorted segments."""
    n = counts.shape[0]
    out = np.full((n, len(qs)), np.nan)
    if sorted_values.size == 0:
        return out
    starts = np.cumsum(counts) - counts
    has = counts > 0
    last = np.maximum(counts - 1, 0)
    for j, q in enumerate(qs):
        pos = q * last
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, last)
        frac = pos - lo
        a = sorted_values[np.where(has, starts + lo, 0)]
        b = sorted_values[np.where(has, starts + hi, 0)]
        out[:, j] = np.where(has, a + (b - a) * frac, np.nan)
    return out


def draw_tick(rng: np.random.Generator, dt: float, w: Workload) -> TickDraw:
    counts = rng.poisson(np.maximum(w.rps, 0.0) * dt)
    n = counts.shape[0]
    total = int(counts.sum())

    def per_request(values: np.ndarray) -> np.ndarray:
        return np.repeat(values, counts)  # cheaper than fancy indexing by service

    seg = np.repeat(np.arange(n), counts)
    z = rng.standard_normal(total)
    lat = per_request(w.median_ms) * np.exp(per_request(w.sigma) * z)
    # The slow mode makes latency bimodal: p99 far above p50 while the median stays flat.
    slow = rng.random(total) < per_request(w.slow_p)
    lat[slow] *= per_request(w.slow_factor)[slow]

    u = rng.random(total)
    c1 = per_request(w.p_timeout)
    c2 = c1 + per_request(w.p_fast_fail)
    c3 = c2 + per_request(w.p_cached)
    timed_out = u < c1
    fast_fail = (u >= c1) & (u < c2)
    cached = (u >= c2) & (u < c3)
    if timed_out.any():
        lat[timed_out] = per_request(w.timeout_ms)[timed_out] * np.exp(0.05 * z[timed_out])
    if fast_fail.any():
        lat[fast_fail] = FAST_FAIL_MS * np.exp(0.3 * z[fast_fail])
    if cached.any():
        lat[cached] *= CACHE_SPEEDUP
    # Requests that reached the service's own code fail at its own error rate; u is uniform on
    # [c3, 1) for them, so rescaling it gives an independent uniform draw for free.
    own_failure = (u >= c3) & ((u - c3) < per_request(w.error_p) * (1.0 - c3))
    failed = timed_out | fast_fail | own_failure
    failures = np.bincount(seg, weights=failed, minlength=n).astype(np.int64)

    np.minimum(lat, _SEGMENT_OFFSET - 1.0, out=lat)
    # One sort for all services: offset each service's latencies into its own range.
    offsets = seg * _SEGMENT_OFFSET
    keys = lat + offsets
    keys.sort()
    sorted_lat = keys - offsets
    return TickDraw(
        counts=counts,
        failures=failures,
        quantiles=segmented_quantiles(sorted_lat, counts),
        latencies_ms=sorted_lat,
        segment=seg,
    )


class ErrorWindow:
    """Requests and failures summed over the last `length` ticks: the error ratio as a
    dashboard's rate() over a window shows it.

    One tick of a quiet service holds a few dozen requests, so a single failure would read
    as 3 % and cross a 1 % limit; counted over a window of seconds, a healthy service reads
    healthy and a real burst still shows within a tick or two.
    """

    def __init__(self, n_services: int, length: int, served: np.ndarray | None = None) -> None:
        """`served`: requests per tick the system served, without failing, before the window
        opened; without it the first failure after a start reads as a burst."""
        self.length = max(1, length)
        self._ticks: collections.deque[tuple[np.ndarray, np.ndarray]] = collections.deque()
        self._requests = np.zeros(n_services, dtype=np.int64)
        self._failures = np.zeros(n_services, dtype=np.int64)
        if served is not None:
            counts = np.asarray(served, dtype=np.int64)
            none = np.zeros(n_services, dtype=np.int64)
            self._ticks.extend((counts, none) for _ in range(self.length))
            self._requests += counts * self.length

    def observe(self, counts: np.ndarray, failures: np.ndarray) -> np.ndarray:
        """Add one tick; the window's error ratio per service (NaN: no request in it)."""
        self._ticks.append((counts, failures))
        self._requests += counts
        self._failures += failures
        if len(self._ticks) > self.length:
            old_counts, old_failures = self._ticks.popleft()
            self._requests -= old_counts
            self._failures -= old_failures
        requests = self._requests
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(requests > 0, self._failures / np.maximum(requests, 1), np.nan)

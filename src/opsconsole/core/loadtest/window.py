"""The server's golden signals of the services under test over a window, from the store.

How each signal is combined across the services (all over the window's samples; NaN samples
are skipped; a window without a sample of a signal gives None, "no data", never 0):
- error_ratio: Σ(rps·error_ratio) ÷ Σ rps over every sample of every service (the share of
  failed requests, weighted by traffic); without any rps sample, the plain mean; None when
  there was no traffic at all (no request, no error rate).
- rps: the sum over services of each one's mean rps (the throughput the services served).
- latency_pXX_ms, cpu, memory: the worst service's mean (a percentile cannot be averaged
  across services, and the worst service is what its users see).
- db_pool: None (no backend reports a connection pool yet).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from opsconsole.core.loadtest.spec import SIGNALS, Signal
from opsconsole.core.store import Store

_FIELDS: tuple[Signal, ...] = (
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "rps",
    "error_ratio",
    "cpu",
    "memory",
)
_WORST_OF: tuple[Signal, ...] = (
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "cpu",
    "memory",
)

_RPS = _FIELDS.index("rps")
_ERRORS = _FIELDS.index("error_ratio")


def _no_data() -> dict[Signal, float | None]:
    return dict.fromkeys(SIGNALS)


def server_signals(
    store: Store,
    backend: str,
    services: Iterable[str],
    now_server_ts: float,
    over_s: float,
    fresh_s: float | None = None,
) -> dict[Signal, float | None]:
    """Every signal over the `over_s` seconds up to `now_server_ts` (server clock)."""
    return server_signals_by_window(
        store, backend, services, now_server_ts, (over_s,), fresh_s=fresh_s
    )[over_s]


def server_signals_by_window(
    store: Store,
    backend: str,
    services: Iterable[str],
    now_server_ts: float,
    windows: Iterable[float],
    fresh_s: float | None = None,
) -> dict[float, dict[Signal, float | None]]:
    """The signals for each window (what `Referee.observe` takes), from one read of the store.

    `fresh_s`: when the newest sample of every service is older than this (a stale backend,
    a broken link), every window reads "no data": the window would otherwise keep showing the
    minute before the link broke, and a referee would count a breach it cannot see.
    """
    windows = tuple(sorted(set(windows)))
    out = {w: _no_data() for w in windows}
    state = store.backends.get(backend)
    if state is None or not windows:
        return out
    bank = state.series
    handles = [h for h in (bank.get(s) for s in dict.fromkeys(services)) if h is not None]
    if not handles:
        return out
    rows = np.array([bank.row_of(h.name) for h in handles], dtype=np.int64)
    oldest = now_server_ts - windows[-1]
    # Samples are in time order per service: count those newer than the widest window's
    # start (one binary search per service), then gather them all at once.
    counts = np.array(
        [h.times().size - int(np.searchsorted(h.times(), oldest, side="right")) for h in handles],
        dtype=np.int64,
    )
    which, ts, values = bank.newest(rows, counts, _FIELDS)
    inside = ts <= now_server_ts
    if fresh_s is not None and (
        not inside.any() or float(ts[inside].max()) < now_server_ts - fresh_s
    ):
        return out
    for w in windows:
        sel = inside & (ts > now_server_ts - w)
        out[w] = _combine(which[sel], values[:, sel], rows.size)
    return out


def _combine(which: np.ndarray, values: np.ndarray, n: int) -> dict[Signal, float | None]:
    """The signals from the window's samples: `which` names each sample's service (0..n-1)."""
    result = _no_data()
    means: dict[Signal, np.ndarray] = {}
    for k, field in enumerate(_FIELDS):
        v = values[k].astype(np.float64)
        ok = ~np.isnan(v)
        count = np.bincount(which[ok], minlength=n)
        total = np.bincount(which[ok], weights=v[ok], minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            means[field] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    for field in _WORST_OF:
        m = means[field]
        if not np.isnan(m).all():
            result[field] = float(np.nanmax(m))
    rps_means = means["rps"]
    if not np.isnan(rps_means).all():
        result["rps"] = float(np.nansum(rps_means))
    result["error_ratio"] = _error_ratio(values[_RPS], values[_ERRORS])
    return result


def _error_ratio(rps: np.ndarray, errors: np.ndarray) -> float | None:
    rps = rps.astype(np.float64)
    errors = errors.astype(np.float64)
    both = ~np.isnan(rps) & ~np.isnan(errors)
    if both.any():
        weight = float(rps[both].sum())
        if weight <= 0:
            return None  # no requests in the window: no error rate to speak of
        return float((rps[both] * errors[both]).sum() / weight)
    alone = errors[~np.isnan(errors)]
    return float(alone.mean()) if alone.size else None


def latest_values(store: Store, backend: str, services: Iterable[str]) -> Mapping[str, float]:
    """Each service's newest rps, one gather (the benchmark's same-run baseline)."""
    state = store.backends.get(backend)
    if state is None:
        return {}
    names = [s for s in services if s in state.series]
    rows = np.array([state.series.row_of(s) for s in names], dtype=np.int64)
    which, _ts, values = state.series.newest(rows, np.ones(rows.size, dtype=np.int64), ("rps",))
    return {names[int(i)]: float(v) for i, v in zip(which, values[0], strict=True)}

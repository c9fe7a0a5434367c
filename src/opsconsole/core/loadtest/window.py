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
from typing import cast

import numpy as np

from opsconsole.core.loadtest.spec import SIGNALS, Signal
from opsconsole.core.models import METRIC_FIELDS
from opsconsole.core.store import Store

# The store's fields, each a signal of the same name (db_pool has no field: no backend has it).
_FIELDS = cast(tuple[Signal, ...], METRIC_FIELDS)
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
    if ts.size == 0:
        return out
    sums = _window_sums(which, ts, values, rows.size, now_server_ts, windows)
    for w, window_sums in zip(windows, sums, strict=True):
        out[w] = _combine(window_sums)
    return out


# Rows of the sums: each field's sum (NaN as 0), each field's sample count, Σ rps·errors and
# Σ rps over the samples that have both, and how many samples have both.
_COUNT = len(_FIELDS)
_WEIGHTED, _WEIGHT, _BOTH = 2 * _COUNT, 2 * _COUNT + 1, 2 * _COUNT + 2


def _window_sums(
    which: np.ndarray,
    ts: np.ndarray,
    values: np.ndarray,
    n: int,
    now: float,
    windows: tuple[float, ...],
) -> list[np.ndarray]:
    """Per-service sums for each window (shortest first), each (rows, n), in one reduction.

    The samples come grouped by service, oldest first within each, so every window ending at
    `now` is a contiguous run of each group, and the windows nest: the runs between
    consecutive window starts are summed once (`np.add.reduceat`) and added up from the
    newest, instead of summing the widest window's samples once per window.
    """
    v = values.astype(np.float64)
    ok = ~np.isnan(v)
    v0 = np.where(ok, v, 0.0)
    both = ok[_RPS] & ok[_ERRORS]
    rps = np.where(both, v0[_RPS], 0.0)
    # A zero column at the end: a boundary at the very end is then a valid index.
    data = np.hstack(
        (np.vstack((v0, ok, rps * v0[_ERRORS], rps, both)), np.zeros((2 * _COUNT + 3, 1)))
    )
    # A key that orders by (service, time), to find every boundary by binary search.
    base = float(ts.min())
    span = float(ts.max()) - base + 1.0
    key = which * span + (ts - base)
    groups = np.arange(n) * span
    edges = [now - w for w in reversed(windows)] + [now]  # oldest start first, then the end
    # Each edge stays inside its own service's key range (an edge before the oldest sample
    # would otherwise land in the previous service's samples, one after the newest in the next).
    bounds = np.stack(
        [
            np.searchsorted(key, groups + min(max(e - base, -0.5), span - 0.5), side="right")
            for e in edges
        ],
        axis=1,
    )  # (n, K + 1), non-decreasing along each row and from one row to the next
    flat = bounds.ravel()
    segments = np.add.reduceat(data, flat, axis=1).reshape(data.shape[0], n, len(edges))
    # reduceat gives the element itself for an empty run: zero those; the last run of each
    # service (after `now`, up to the next service) is not a window's.
    empty = bounds[:, :-1] == bounds[:, 1:]
    runs = np.where(empty[None, :, :], 0.0, segments[:, :, :-1])
    totals = np.cumsum(runs[:, :, ::-1], axis=2)  # newest run first: shortest window first
    return [totals[:, :, k] for k in range(len(windows))]


def _combine(sums: np.ndarray) -> dict[Signal, float | None]:
    """The signals from one window's per-service sums (rows as in `_window_sums`)."""
    result = _no_data()
    counts = sums[_COUNT : 2 * _COUNT]
    has = counts > 0.5
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(has, sums[:_COUNT] / counts, np.nan)
    for field in _WORST_OF:
        k = _FIELDS.index(field)
        if has[k].any():
            result[field] = float(np.nanmax(means[k]))
    if has[_RPS].any():
        result["rps"] = float(np.nansum(means[_RPS]))
    if sums[_BOTH].sum() > 0.5:
        weight = float(sums[_WEIGHT].sum())
        # No requests in the window: no error rate to speak of.
        result["error_ratio"] = None if weight <= 0 else float(sums[_WEIGHTED].sum()) / weight
    elif has[_ERRORS].any():
        result["error_ratio"] = float(sums[_ERRORS].sum() / counts[_ERRORS].sum())
    return result


def latest_values(store: Store, backend: str, services: Iterable[str]) -> Mapping[str, float]:
    """Each service's newest rps, one gather (the benchmark's same-run baseline)."""
    state = store.backends.get(backend)
    if state is None:
        return {}
    names = [s for s in services if s in state.series]
    rows = np.array([state.series.row_of(s) for s in names], dtype=np.int64)
    which, _ts, values = state.series.newest(rows, np.ones(rows.size, dtype=np.int64), ("rps",))
    return {names[int(i)]: float(v) for i, v in zip(which, values[0], strict=True)}

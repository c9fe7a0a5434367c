"""The server's signals over windows, from a real Store, against a plain per-service computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from opsconsole.core.events import MetricsBatch
from opsconsole.core.loadtest.spec import SIGNALS
from opsconsole.core.loadtest.window import server_signals, server_signals_by_window
from opsconsole.core.models import METRIC_FIELDS
from opsconsole.core.store import Store
from tests.unit.core.loadtest.feeding import BACKEND, T0

WORST = ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "cpu", "memory")


def plain(store: Store, services: list[str], now: float, over: float) -> dict[str, float | None]:
    """The documented rules, one service and one sample at a time."""
    per: dict[str, list[float]] = {f: [] for f in METRIC_FIELDS}
    weighted = weight = 0.0
    both = 0
    for name in services:
        series = store.backend(BACKEND).series.get(name)
        if series is None:
            continue
        ts = series.times()
        sel = (ts > now - over) & (ts <= now)
        for f in METRIC_FIELDS:
            v = series.values(f)[sel].astype(float)
            v = v[~np.isnan(v)]
            if v.size:
                per[f].append(float(v.mean()))
        rps = series.values("rps")[sel].astype(float)
        err = series.values("error_ratio")[sel].astype(float)
        ok = ~np.isnan(rps) & ~np.isnan(err)
        weighted += float((rps[ok] * err[ok]).sum())
        weight += float(rps[ok].sum())
        both += int(ok.sum())
    out: dict[str, float | None] = {f: (max(per[f]) if per[f] else None) for f in WORST}
    out["rps"] = sum(per["rps"]) if per["rps"] else None
    out["error_ratio"] = (weighted / weight if weight > 0 else None) if both else None
    out["db_pool"] = None
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_windows_match_the_plain_rules_with_late_starts_gaps_and_nans(seed: int) -> None:
    rng = np.random.default_rng(seed)
    store = Store(capacity=600)
    names = [f"svc-{i}" for i in range(12)]
    starts = {n: int(rng.integers(0, 400)) for n in names}
    starts["svc-3"] = 590  # only the newest samples
    for k in range(600):
        alive = [n for n in names if k >= starts[n] and not (n == "svc-5" and 200 < k < 560)]
        if not alive:
            continue
        values = rng.random((len(alive), len(METRIC_FIELDS))) * [40, 90, 300, 50, 0.05, 1, 1]
        values[rng.random(values.shape) < 0.1] = np.nan
        ts = np.full(len(alive), T0 + k + 0.25)
        store.apply(MetricsBatch(BACKEND, tuple(alive), ts, values, METRIC_FIELDS))
    wanted = [*names, "never-seen"]
    for now in (T0 + 599.25, T0 + 610.0, T0 + 450.0):
        windows = (1.0, 30.0, 60.0, 300.0)
        got = server_signals_by_window(store, BACKEND, wanted, now, windows)
        for w in windows:
            expect = plain(store, names, now, w)
            for signal in SIGNALS:
                a, b = got[w][signal], expect[signal]
                assert (a is None) == (b is None), (now - T0, w, signal)
                if a is not None and b is not None:
                    assert math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9), (now - T0, w, signal)


def test_a_window_with_no_samples_is_no_data_never_zero() -> None:
    store = Store()
    assert server_signals(store, BACKEND, ("orders",), T0, 60.0) == dict.fromkeys(SIGNALS)
    values = np.array([[10.0, 20.0, 30.0, 0.0, 0.0, 0.1, 0.2]])
    store.apply(MetricsBatch(BACKEND, ("orders",), np.array([T0]), values, METRIC_FIELDS))
    signals = server_signals(store, BACKEND, ("orders",), T0, 60.0)
    assert signals["rps"] == 0.0  # a service that served nothing: zero throughput is a fact
    assert signals["error_ratio"] is None  # but with no request there is no error rate
    assert signals["latency_p95_ms"] == 20.0
    later = server_signals(store, BACKEND, ("orders",), T0 + 61.0, 60.0)
    assert later == dict.fromkeys(SIGNALS)


def test_a_stale_backend_reads_no_data_even_with_samples_in_the_window() -> None:
    store = Store()
    values = np.array([[10.0, 20.0, 30.0, 100.0, 0.5, 0.1, 0.2]])
    for k in range(30):
        ts = np.array([T0 + k])
        store.apply(MetricsBatch(BACKEND, ("orders",), ts, values, METRIC_FIELDS))
    fresh = server_signals(store, BACKEND, ("orders",), T0 + 31.0, 60.0, fresh_s=2.0)
    assert fresh["error_ratio"] == 0.5
    stale = server_signals(store, BACKEND, ("orders",), T0 + 32.5, 60.0, fresh_s=2.0)
    assert stale == dict.fromkeys(SIGNALS)

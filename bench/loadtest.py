"""Bench case `loadtest_referee_refresh`: one refresh of 20 criteria over 200 services."""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from opsconsole.core.events import MetricsBatch
from opsconsole.core.loadtest.referee import Referee
from opsconsole.core.loadtest.spec import Criterion, Guards, LoadTestSpec
from opsconsole.core.loadtest.window import latest_values, server_signals_by_window
from opsconsole.core.models import METRIC_FIELDS
from opsconsole.core.store import Store

N_SERVICES = 200
HISTORY_S = 15 * 60  # 15 min of 1 Hz samples already in the store
T0 = 1_800_000_000.0
TARGET_MS = 10.0  # 1 % of the watch loop's one-second period
BACKEND = "bench"


def criteria() -> tuple[tuple[Criterion, ...], tuple[Criterion, ...]]:
    """20 criteria: the 8 success keys over 1 min and 12 stop conditions over 1, 2 and 5 min."""
    success = tuple(
        Criterion(key, signal, limit, key != "min_rps", 60.0, 60.0, "success")  # type: ignore[arg-type]
        for key, signal, limit in (
            ("p50_ms", "latency_p50_ms", 200.0),
            ("p95_ms", "latency_p95_ms", 500.0),
            ("p99_ms", "latency_p99_ms", 1000.0),
            ("min_rps", "rps", 1000.0),
            ("max_error_ratio", "error_ratio", 0.001),
            ("max_cpu", "cpu", 0.8),
            ("max_memory", "memory", 0.85),
            ("max_db_pool", "db_pool", 0.8),
        )
    )
    stops = []
    for over in (60.0, 120.0, 300.0):
        for signal, above, hold in (
            ("error_ratio", 0.01, 120.0),
            ("latency_p99_ms", 5000.0, 300.0),
            ("cpu", 0.95, 180.0),
            ("memory", 0.95, 60.0),
        ):
            key = f"stop:{signal}>{above:g}/{hold:g}s@{over:g}s"
            stops.append(Criterion(key, signal, above, True, over, hold, "stop"))  # type: ignore[arg-type]
    return success, tuple(stops)


def batches(n_ticks: int) -> list[MetricsBatch]:
    """One row per service per second, realistic values, a few gaps (NaN)."""
    rng = np.random.default_rng(18)
    names = tuple(f"svc-{i:03d}" for i in range(N_SERVICES))
    scale = np.array([40, 90, 300, 50, 0.002, 0.6, 0.6])
    out = []
    for k in range(n_ticks):
        values = rng.random((N_SERVICES, len(METRIC_FIELDS))) * scale
        values[k % N_SERVICES, 0:3] = np.nan  # a service with no traffic this second
        ts = np.full(N_SERVICES, T0 + k)
        out.append(MetricsBatch(BACKEND, names, ts, values, METRIC_FIELDS))
    return out


def per_service_windows(store: Store, services: tuple[str, ...], now: float, windows) -> int:
    """Baseline: reading the same windows per service and field (numpy per series, no maths)."""
    bank = store.backend(BACKEND).series
    seen = 0
    for w in windows:
        for name in services:
            series = bank.get(name)
            if series is None:
                continue
            ts = series.times()
            sel = (ts > now - w) & (ts <= now)
            for field in METRIC_FIELDS:
                v = series.values(field)[sel]
                seen += int(np.count_nonzero(~np.isnan(v)))
    return seen


def _p95(times: list[float]) -> float:
    return float(np.percentile(np.array(times), 95))


def _timed_once(fn: Callable[[float], object], now: float) -> float:
    t = time.perf_counter()
    fn(now)
    return time.perf_counter() - t


def timed(fn: Callable[[float], object], store: Store, feed: list[MetricsBatch]) -> list[float]:
    """Apply one new second of data (untimed), then time `fn(now)`; once per batch."""
    times = []
    for batch in feed:
        store.apply(batch)
        now = float(batch.ts[0])
        t = time.perf_counter()
        fn(now)
        times.append(time.perf_counter() - t)
    return times


def bench_loadtest(runs: int) -> dict[str, object]:
    success, stops = criteria()
    services = tuple(f"svc-{i:03d}" for i in range(N_SERVICES))
    spec = LoadTestSpec(
        name="bench",
        tool="locust",
        url="http://127.0.0.1:8089",
        services=services,
        success=success,
        stops=stops,
        guards=Guards(),
    )
    refreshes = max(1, runs) * 40
    feed = batches(HISTORY_S + 2 * refreshes)
    store = Store(capacity=3600)
    for batch in feed[:HISTORY_S]:
        store.apply(batch)
    referee = Referee(spec)
    windows = spec.windows

    def refresh(now: float) -> None:
        signals = server_signals_by_window(store, BACKEND, services, now, windows, fresh_s=5.0)
        referee.observe(now, signals)

    def baseline(now: float) -> None:
        latest_values(store, BACKEND, services)

    def naive(now: float) -> None:
        per_service_windows(store, services, now, windows)

    ours = timed(refresh, store, feed[HISTORY_S : HISTORY_S + refreshes])
    base = timed(baseline, store, feed[HISTORY_S + refreshes :])
    slow = [_timed_once(naive, float(feed[-1].ts[0])) for _ in range(max(3, runs))]
    assert len(referee.criteria) == 20
    assert {c.state for c in referee.criteria} <= {"pass", "breaching", "failed", "no data"}
    median_ms = statistics.median(ours) * 1000.0
    base_ms = statistics.median(base) * 1000.0
    return {
        "scenario": "loadtest_referee_refresh",
        "what": f"{len(success) + len(stops)} criteria ({len(windows)} windows up to 5 min) over "
        f"{N_SERVICES} services x {HISTORY_S // 60} min of 1 Hz samples: windowed signals "
        "from the store + referee judgement, per 1 s refresh",
        "refreshes": refreshes,
        "ms_per_refresh_median": round(median_ms, 3),
        "ms_per_refresh_p95": round(_p95(ours) * 1000.0, 3),
        "baseline_last_value_of_200_series_us_median": round(base_ms * 1000.0, 1),
        "ratio_vs_baseline": round(median_ms / base_ms, 1),
        "baseline_per_service_windows_ms_median": round(statistics.median(slow) * 1000.0, 3),
        "speedup_vs_per_service": round(statistics.median(slow) * 1000.0 / median_ms, 1),
        "target_ms": TARGET_MS,
        "meets_target": median_ms <= TARGET_MS,
    }


if __name__ == "__main__":
    print(json.dumps(bench_loadtest(int(sys.argv[1]) if len(sys.argv) > 1 else 7)), flush=True)

"""Bench case `slo_maths_refresh`: the budget maths of one refresh for 200 SLOs × 7 windows."""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np

from opsconsole.core.slo import BURN_WINDOWS, WINDOW_SECONDS, Counts, Slo, SloObservation, SloWindow
from opsconsole.core.slo.batch import evaluate, pack
from opsconsole.core.slo.burn import DEFAULT_MIN_REQUESTS
from opsconsole.core.slo.tiers import WORKBOOK_TIERS

N_SERVICES = 200
TARGET_MS = 2.0
AS_OF = 1_800_000_000.0


def observations(n: int = N_SERVICES) -> list[SloObservation]:
    """A refresh's worth: varied objectives, windows and traffic, a few quiet services."""
    rng = np.random.default_rng(14)
    objectives = (0.99, 0.995, 0.999, 0.9995)
    windows = (SloWindow.rolling(30), SloWindow.rolling(28), SloWindow.calendar_month())
    out = []
    for i in range(n):
        rps = 0.05 if i % 25 == 0 else float(rng.uniform(5, 2000))
        slo = Slo(f"svc-{i:03d}", objectives[i % 4], windows[i % 3])
        counts = {}
        for name, seconds in (*WINDOW_SECONDS.items(), ("window", 30 * 86_400.0)):
            total = rps * seconds
            ratio = float(rng.uniform(0, 3)) * slo.budget * (8 if i % 17 == 0 else 1)
            counts[name] = Counts(total * (1 - min(ratio, 1.0)), total)
        out.append(SloObservation(slo, AS_OF, counts))
    return out


def maths_batch(obs: Sequence[SloObservation]) -> int:
    result = evaluate(pack(obs), WORKBOOK_TIERS, DEFAULT_MIN_REQUESTS)
    return int(result.firing.sum())


def maths_naive(obs: Sequence[SloObservation]) -> int:
    """Baseline: the same figures per service in plain Python floats and dicts."""
    firing_count = 0
    for o in obs:
        budget = o.slo.budget
        burns: dict[str, float | None] = {}
        for w in BURN_WINDOWS:
            c = o.windows.get(w)
            if c is None or c.total <= 0 or c.total < DEFAULT_MIN_REQUESTS:
                burns[w] = None
            else:
                burns[w] = (c.total - c.good) / c.total / budget
        for tier in WORKBOOK_TIERS:
            long, short = burns[tier.long_window], burns[tier.short_window]
            if long is not None and short is not None and long > tier.factor < short:
                firing_count += 1
        whole = o.windows.get("window")
        length = o.slo.window.length_s(o.as_of)
        left = o.slo.window.left_s(o.as_of)
        if whole is None:
            continue
        bad = whole.total - whole.good
        remaining = 1.0 if bad <= 0 else 1.0 - bad / (budget * whole.total)
        _requests_left = budget * whole.total - bad
        _outage_min = remaining * budget * length / 60.0
        soonest = math.inf
        for w in ("1h", "6h"):
            rate = burns[w]
            if rate is None:
                continue
            s = 0.0 if remaining <= 0 else math.inf if rate <= 0 else remaining * length / rate
            soonest = min(soonest, s)
        _before_end = soonest < left
    return firing_count


def median_ms(
    fn: Callable[[Sequence[SloObservation]], int], obs: list[SloObservation], n: int
) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn(obs)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000.0


def bench_slo(runs: int) -> dict[str, object]:
    obs = observations()
    assert maths_batch(obs) == maths_naive(obs), "batch and baseline disagree on firing tiers"
    refreshes = max(1, runs) * 30
    arrays = pack(obs)
    fast = median_ms(maths_batch, obs, refreshes)
    naive = median_ms(maths_naive, obs, refreshes)
    evaluate_only = median_ms(lambda _: int(evaluate(arrays).firing.sum()), obs, refreshes)
    return {
        "scenario": "slo_maths_refresh",
        "what": f"{N_SERVICES} SLOs x {len(BURN_WINDOWS)} windows + whole window: burn rates, "
        "4 tiers, remaining budget, exhaustion (pack + numpy evaluate)",
        "refreshes": refreshes,
        "ms_per_refresh_median": round(fast, 3),
        "of_which_evaluate_ms_median": round(evaluate_only, 3),
        "baseline_naive_python_ms_median": round(naive, 3),
        "ratio_vs_baseline": round(naive / fast, 2),
        "target_ms": TARGET_MS,
        "meets_target": fast <= TARGET_MS,
    }


if __name__ == "__main__":
    print(json.dumps(bench_slo(int(sys.argv[1]) if len(sys.argv) > 1 else 7)), flush=True)

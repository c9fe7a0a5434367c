"""The checks on a service's own series: golden-signal deviation, saturation, telemetry."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from opsconsole.core.health import settled
from opsconsole.core.investigate.finding import Evidence, Finding, Verdict
from opsconsole.core.investigate.inputs import Inputs, cannot_look, clock_text, no_source
from opsconsole.core.series import BankSeries

BASELINE_S = 3600.0
DAY_S = 86_400.0
YESTERDAY_HALF_S = 300.0  # the baseline yesterday: ±5 min around the same time
LATENCY_FACTOR = 1.5  # p99 above 1.5 × its baseline is a deviation
ERROR_FACTOR = 2.0  # error ratio above 2 × its baseline (and above a floor)
ERROR_FLOOR = 0.005
STALE_SERIES_S = 30.0
SATURATION = {"cpu": 0.80, "memory": 0.85}
POOL_LIMIT = 0.80


SMOOTH_SAMPLES = 5  # judged on a trailing mean of this many samples, not on single ones
SMOOTH_MAX_S = 10.0  # ... spanning at most this long: coarse steps are already averages


def smoothed(values: np.ndarray, k: int = SMOOTH_SAMPLES) -> np.ndarray:
    """A trailing mean of `k` samples: one sample may hold only a handful of requests, and a
    15 % error burst then reads 0 % in many of them."""
    k = min(k, values.size)
    if k <= 1:
        return values
    sums = np.cumsum(np.insert(values, 0, 0.0))
    out = np.empty_like(values)
    out[k - 1 :] = (sums[k:] - sums[:-k]) / k
    out[: k - 1] = sums[1:k] / np.arange(1, k)
    return out


def run_start(
    times: np.ndarray, values: np.ndarray, over: Callable[[np.ndarray], np.ndarray]
) -> float | None:
    """Time of the first sample of the newest run where `over` holds on the smoothed values;
    None if the newest sample with data does not hold it."""
    finite = np.isfinite(values)
    t, v = times[finite], values[finite].astype(np.float64)
    if v.size == 0:
        return None
    step = float(np.median(np.diff(t))) if t.size > 1 else 0.0
    k = max(1, min(SMOOTH_SAMPLES, int(SMOOTH_MAX_S // step))) if step > 0 else 1
    hit = over(smoothed(v, k))
    if not hit[-1]:
        return None
    calm = np.flatnonzero(~hit)
    first = calm[-1] + 1 if calm.size else 0
    # The mean trails the samples: the run began at the first sample over the bar among
    # those the mean that first crossed it was made of.
    lead = np.flatnonzero(over(v[max(0, first - k + 1) : first + 1]))
    if lead.size:
        first = max(0, first - k + 1) + int(lead[0])
    return float(t[first])


def _median(
    series: BankSeries, field: str, lo: float, hi: float, older: Sequence[float] = ()
) -> float:
    """The median of the series' values in [lo, hi) and `older` values read elsewhere."""
    times = series.times()
    a, b = np.searchsorted(times, lo, "left"), np.searchsorted(times, hi, "left")
    held = np.asarray(series.values(field)[a:b], dtype=np.float64)
    vals = np.concatenate((np.asarray(older, dtype=np.float64), held))
    vals = vals[np.isfinite(vals)]
    return float(np.median(vals)) if vals.size else math.nan


def golden_deviation(inputs: Inputs, now: float) -> Finding:
    """1: p99, error ratio and traffic now against the hour before the incident."""
    check = "golden_signals"
    blind = cannot_look(check, inputs)
    if blind:
        return blind
    series = inputs.state.series.get(inputs.service)
    if series is None or len(series) == 0:
        return no_source(check, inputs, f"no series for {inputs.service}")
    start = inputs.incident_start
    record = inputs.service_record
    traffic_dev = record.thresholds.traffic_deviation if record else 0.5
    latest = settled(series) or {}
    # The backend's history fills in the part of the hour the console's ring does not hold.
    base = {
        f: _median(series, f, start - BASELINE_S, start, inputs.baseline.get(f, ()))
        for f in series.fields
    }
    times = series.times()
    yesterday = {f: v for f, v in inputs.yesterday.items() if math.isfinite(v)}
    if not yesterday and len(times) and times[0] <= now - DAY_S:
        y = now - DAY_S
        yesterday = {
            f: _median(series, f, y - YESTERDAY_HALF_S, y + YESTERDAY_HALF_S)
            for f in ("latency_p99_ms", "error_ratio", "rps")
        }
    bars: dict[str, tuple[Callable[[np.ndarray], np.ndarray], float, str]] = {}
    low_traffic: float | None = None
    b99, berr, brps = base["latency_p99_ms"], base["error_ratio"], base["rps"]
    if math.isfinite(b99):
        bar = LATENCY_FACTOR * b99
        bars["latency_p99_ms"] = (lambda v, bar=bar: v > bar, bar, "p99 rose")
    if math.isfinite(berr):
        bar = max(ERROR_FACTOR * berr, ERROR_FLOOR)
        bars["error_ratio"] = (lambda v, bar=bar: v > bar, bar, "errors rose")
    if math.isfinite(brps) and brps > 0:
        lo, hi = brps * (1 - traffic_dev), brps * (1 + traffic_dev)
        bars["rps"] = (lambda v, lo=lo, hi=hi: (v < lo) | (v > hi), hi, "traffic moved")
        low_traffic = lo
    if not bars:
        return no_source(check, inputs, "no baseline in the hour before the incident")
    deviations: list[tuple[float, str, str]] = []
    for f, (over, _bar, words) in bars.items():
        began = run_start(times, np.asarray(series.values(f)), over)
        if began is not None:
            deviations.append((began, f, words))
    values: dict[str, float | str] = {f"{k} now": v for k, v in latest.items() if k in bars}
    values.update({f"{k} baseline": base[k] for k in bars})
    values.update({f"{k} yesterday": v for k, v in yesterday.items()})
    if inputs.history_problem:
        values["backend history"] = inputs.history_problem
    evidence = Evidence(
        query=inputs.history_query,
        values=values,
        thresholds={(k + " high" if k == "rps" else k): bar for k, (_o, bar, _w) in bars.items()}
        | ({"rps low": low_traffic} if low_traffic is not None else {}),
        time_range=(start - BASELINE_S, now),
    )
    if not deviations:
        return Finding(
            check, inputs.service, Verdict.OK, "golden signals within their baseline", evidence
        )
    deviations.sort()
    also = (
        " and the same time yesterday" if any(math.isfinite(v) for v in yesterday.values()) else ""
    )
    began, _f, _w = deviations[0]
    parts = ", ".join(f"{w} from {clock_text(t)}" for t, _f, w in deviations)
    return Finding(
        check,
        inputs.service,
        Verdict.INTERESTING,
        f"{inputs.service}: {parts} (against the hour before {clock_text(start)}{also})",
        evidence,
        began,
    )


def saturation(inputs: Inputs, now: float) -> Finding:
    """2: CPU above 80 %, memory above 85 %, connection pools above 80 % where reported."""
    check = "saturation"
    blind = cannot_look(check, inputs)
    if blind:
        return blind
    series = inputs.state.series.get(inputs.service)
    latest = settled(series)
    if series is None or latest is None:
        return no_source(check, inputs, f"no series for {inputs.service}")
    limits = dict(SATURATION)
    limits.update({f: POOL_LIMIT for f in series.fields if "pool" in f})
    reported = {f: v for f, v in latest.items() if f in limits and math.isfinite(v)}
    if not reported:
        return no_source(check, inputs, "no CPU, memory or pool figures")
    times = series.times()
    hot: list[tuple[float, str]] = []
    for f, v in reported.items():
        if v > limits[f]:
            began = run_start(times, np.asarray(series.values(f)), lambda a, lim=limits[f]: a > lim)
            hot.append((began if began is not None else now, f))
    evidence = Evidence(
        values=dict(reported), thresholds={f: limits[f] for f in reported}, time_range=(now, now)
    )
    if not hot:
        return Finding(check, inputs.service, Verdict.OK, "no saturation", evidence)
    hot.sort()
    parts = ", ".join(
        f"{f} {reported[f]:.0%} > {limits[f]:.0%} since {clock_text(t)}" for t, f in hot
    )
    return Finding(
        check,
        inputs.service,
        Verdict.INTERESTING,
        f"{inputs.service}: {parts}",
        evidence,
        hot[0][0],
    )


def telemetry(inputs: Inputs, now: float) -> Finding:
    """8: the link to the backend, and whether the service's series is missing or stale."""
    check = "telemetry"
    state = inputs.state
    link = state.link.state
    series = state.series.get(inputs.service)
    last = series.last_ts if series is not None else None
    problems: list[str] = []
    blind = cannot_look(check, inputs)
    if blind:
        problems.append(f"backend {inputs.backend} is {link.value.upper()}")
    if last is None:
        problems.append(f"no series for {inputs.service}")
    elif blind or now - last > STALE_SERIES_S:
        problems.append(f"newest sample {max(0.0, now - last):.0f} s old")
    evidence = Evidence(
        values={"link": link.value, "newest sample": clock_text(last) if last else "none"},
        thresholds={"stale after s": STALE_SERIES_S},
    )
    if problems:
        return Finding(
            check,
            inputs.service,
            Verdict.INTERESTING,
            "telemetry: " + "; ".join(problems),
            evidence,
        )
    return Finding(check, inputs.service, Verdict.OK, "telemetry current", evidence)

"""Judging golden signals against thresholds: a level per signal and a service's worst one."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from opsconsole.core.models import Thresholds
from opsconsole.core.series import BankSeries

# Health is judged on the median of the newest few seconds, not on the newest sample alone:
# one slow request or one failure in a quiet tick is no incident, and a colour that flickers
# every second teaches a NOC to ignore it.
JUDGE_WINDOW_S = 3.0


class Health(enum.IntEnum):
    """Severity order: a service's level is its worst signal's."""

    UNKNOWN = 0  # stale or no data
    HEALTHY = 1
    WARNING = 2
    CRITICAL = 3
    FORCED = 4  # an operator-forced state (e.g. a forced-open breaker)


# A signal warns at this fraction of its alert threshold, so trouble shows before it pages.
WARN_FRACTION = 0.8


@dataclass(frozen=True)
class Verdict:
    level: Health
    signal: str | None = None  # the worst signal, for the reason text
    reason: str = ""


def _limits(thresholds: Thresholds) -> dict[str, float]:
    return {
        "latency_p99_ms": thresholds.latency_p99_ms,
        "error_ratio": thresholds.error_ratio,
        "cpu": thresholds.cpu,
        "memory": thresholds.memory,
    }


def signal_health(name: str, value: float, thresholds: Thresholds) -> Health:
    """Level of one signal; signals without a threshold are healthy whenever they have data."""
    if value is None or math.isnan(value):
        return Health.UNKNOWN
    limit = _limits(thresholds).get(name)
    if limit is None:
        return Health.HEALTHY
    if value > limit:
        return Health.CRITICAL
    if value > limit * WARN_FRACTION:
        return Health.WARNING
    return Health.HEALTHY


def _fmt(name: str, value: float) -> str:
    if name.endswith("_ms"):
        return f"{value:.0f} ms"
    return f"{value * 100:.1f} %"


LABELS = {
    "latency_p99_ms": "p99",
    "error_ratio": "errors",
    "cpu": "CPU",
    "memory": "memory",
}


def service_health(
    latest: Mapping[str, float] | None, thresholds: Thresholds, stale: bool = False
) -> Verdict:
    """A service's level from its newest sample; stale data is UNKNOWN whatever it says."""
    if stale:
        return Verdict(Health.UNKNOWN, None, "stale")
    if not latest:
        return Verdict(Health.UNKNOWN, None, "no data")
    worst = Verdict(Health.HEALTHY, None, "")
    for name, limit in _limits(thresholds).items():
        value = latest.get(name, math.nan)
        level = signal_health(name, value, thresholds)
        if level > worst.level and level is not Health.UNKNOWN:
            reason = f"{LABELS[name]} {_fmt(name, value)} > {_fmt(name, limit)}"
            if level is Health.WARNING:
                reason = f"{LABELS[name]} {_fmt(name, value)} near {_fmt(name, limit)}"
            worst = Verdict(level, name, reason)
    rps = latest.get("rps", math.nan)
    if worst.level is Health.HEALTHY and rps == 0:
        return Verdict(Health.UNKNOWN, "rps", "no traffic")
    if worst.level is Health.HEALTHY and math.isnan(rps):
        # Not "no traffic": nobody said there were no requests (a query not answered yet).
        return Verdict(Health.UNKNOWN, "rps", "no traffic data")
    return worst


def no_traffic(latest: Mapping[str, float] | None) -> bool:
    """Zero requests and no latency: histogram_quantile over no requests is NaN, not 0.

    The chart and the table say "no traffic" for it instead of a silent gap or a false 0.
    """
    if not latest:
        return False
    rps = latest.get("rps", math.nan)
    p99 = latest.get("latency_p99_ms", math.nan)
    return rps == 0 and math.isnan(p99)


def settled(series: BankSeries | None, window_s: float = JUDGE_WINDOW_S) -> dict[str, float] | None:
    """Each signal's median over the newest `window_s` seconds of samples (None: no data)."""
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

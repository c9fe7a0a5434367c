"""Judging golden signals against thresholds: one evaluation per signal, a service's worst one.

Every view that says something about a signal (a table cell, a "Why" text, a wall tile, the
rotation hold) reads it from the same `SignalEvaluation`, so two places cannot disagree.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from opsconsole.core.clocktext import age_text
from opsconsole.core.models import Thresholds
from opsconsole.core.series import BankSeries

# Health is judged on the median of the newest few seconds, not on the newest sample alone:
# one slow request or one failure in a quiet tick is no incident, and a colour that flickers
# every second teaches a NOC to ignore it. A cell over its limit is marked at once all the
# same ("breaching 2 s"): the median is the hold time before the row turns CRIT.
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
class SignalFormat:
    """How one signal is written, everywhere: the comparison uses the same rounding, so a
    text never says "500 ms > 500 ms"."""

    label: str
    unit: str
    scale: float  # value × scale is the number shown (ratios as percent)
    digits: int

    def number(self, value: float) -> str:
        """The number as a table cell shows it: "553", "1.04", "41"."""
        return f"{value * self.scale:.{self.digits}f}"

    def shown(self, value: float) -> float:
        """The value as displayed, for comparisons: what the operator reads is what counts."""
        return float(self.number(value))

    def text(self, value: float) -> str:
        return f"{self.number(value)} {self.unit}"

    def limit_text(self, limit: float) -> str:
        """A limit without trailing zeros: "500 ms", "1 %", "0.5 %"."""
        number = self.number(limit)
        if "." in number:
            number = number.rstrip("0").rstrip(".")
        return f"{number} {self.unit}"


# The signals that have a limit, in the order a verdict looks at them. CPU and memory are
# percent everywhere (column and text); errors keep two decimals because 0.05 % matters.
FORMATS: dict[str, SignalFormat] = {
    "latency_p99_ms": SignalFormat("p99", "ms", 1.0, 0),
    "error_ratio": SignalFormat("errors", "%", 100.0, 2),
    "cpu": SignalFormat("CPU", "%", 100.0, 0),
    "memory": SignalFormat("memory", "%", 100.0, 0),
}
LABELS = {name: fmt.label for name, fmt in FORMATS.items()}


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


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _level(name: str, value: float, limit: float) -> Health:
    fmt = FORMATS[name]
    shown = fmt.shown(value)
    if shown > fmt.shown(limit):
        return Health.CRITICAL
    if shown > fmt.shown(limit * WARN_FRACTION):
        return Health.WARNING
    return Health.HEALTHY


def signal_health(name: str, value: float, thresholds: Thresholds) -> Health:
    """Level of one signal; signals without a threshold are healthy whenever they have data."""
    if not _finite(value):
        return Health.UNKNOWN
    limit = _limits(thresholds).get(name)
    if limit is None:
        return Health.HEALTHY
    return _level(name, value, limit)


def span_text(seconds: float) -> str:
    """A duration in whole units: "<1 s", "8 s", "2 min 05 s", "1 h 03 min"."""
    return "<1 s" if seconds < 1 else age_text(seconds, precise=False)


@dataclass(frozen=True)
class SignalEvaluation:
    """One golden signal judged once: the value judged, its window, limit, state and breach.

    `value` is what health is judged on (the median of `window_s` seconds; with a window of
    0 it is a single sample); `latest` is the newest sample, what a table cell shows. The
    signal is *breaching* as soon as the newest sample is over the limit, before the median
    follows and the level turns CRITICAL.
    """

    name: str
    value: float
    latest: float
    limit: float
    level: Health
    window_s: float = 0.0
    breaching_since: float | None = None  # sample time the current run over the limit began
    latest_ts: float | None = None

    @property
    def fmt(self) -> SignalFormat:
        return FORMATS[self.name]

    @property
    def label(self) -> str:
        return self.fmt.label

    @property
    def breaching(self) -> bool:
        return _finite(self.latest) and self.fmt.shown(self.latest) > self.fmt.shown(self.limit)

    @property
    def breaching_for(self) -> float | None:
        """Seconds of sample time the signal has been over its limit, dips shorter than the
        judge window included (None: not over it, or not known)."""
        over = self.breaching or self.level is Health.CRITICAL
        if not over or self.breaching_since is None or self.latest_ts is None:
            return None
        return max(0.0, self.latest_ts - self.breaching_since)

    @property
    def pressure(self) -> float:
        """Judged value over its limit (1.0 = at the limit); NaN without data."""
        if not _finite(self.value) or self.limit <= 0:
            return math.nan
        return self.value / self.limit

    @property
    def window_named(self) -> bool:
        """The judged number differs from the newest one shown beside it: say which it is."""
        if self.window_s <= 0 or not _finite(self.value):
            return False
        if not _finite(self.latest):
            return True
        return self.fmt.number(self.value) != self.fmt.number(self.latest)

    @property
    def notable(self) -> bool:
        """Worth a word in the reason: warning, critical, or over its limit right now."""
        return self.level >= Health.WARNING or self.breaching

    @property
    def severity(self) -> Health:
        """The level, or CRITICAL while breaching: how a cell is coloured."""
        return Health.CRITICAL if self.breaching else self.level

    def _judged(self) -> str:
        text = f"{self.label} {self.fmt.text(self.value)}"
        return text + (f" ({self.window_s:g} s median)" if self.window_named else "")

    @property
    def reason(self) -> str:
        """Plain words for the operator, "" when there is nothing to say.

        "p99 553 ms > 500 ms, breaching 8 s" — judged and newest agree;
        "p99 560 ms (3 s median) > 500 ms" — the median differs from the cell beside it;
        "p99 1004 ms > 500 ms, breaching 1 s (3 s median 300 ms)" — over the limit now, the
        row not CRIT yet because the median is not.
        """
        limit = self.fmt.limit_text(self.limit)
        duration = self.breaching_for
        breach = "" if duration is None else f", breaching {span_text(duration)}"
        if self.level is Health.CRITICAL:
            return f"{self._judged()} > {limit}{breach}"
        if self.breaching:
            text = f"{self.label} {self.fmt.text(self.latest)} > {limit}{breach}"
            if _finite(self.value) and self.window_s > 0:
                text += f" ({self.window_s:g} s median {self.fmt.text(self.value)})"
            return text
        if self.level is Health.WARNING:
            return f"{self._judged()} near {limit}"
        return ""


@dataclass(frozen=True)
class ServiceEvaluation:
    """Every limited signal of a service judged once, and the service's level from them."""

    level: Health
    signal: str | None  # the signal behind `level` ("rps" for a traffic verdict)
    headline: str  # the reason for `level`
    signals: tuple[SignalEvaluation, ...] = ()

    @property
    def verdict(self) -> Verdict:
        return Verdict(self.level, self.signal, self.headline)

    def get(self, name: str) -> SignalEvaluation | None:
        return next((s for s in self.signals if s.name == name), None)

    @property
    def pressure(self) -> float:
        """The largest judged-value-to-limit ratio: of two services in the same health, the
        nearer to (or further past) a limit is the worse one. 0.0 without data."""
        ratios = [s.pressure for s in self.signals if math.isfinite(s.pressure)]
        return max(ratios, default=0.0)

    @property
    def breaching(self) -> tuple[SignalEvaluation, ...]:
        return tuple(s for s in self.signals if s.breaching)

    @property
    def reason(self) -> str:
        """The headline, then every other signal warning or over its limit, worst first."""
        others = sorted(
            (s for s in self.signals if s.notable and s.name != self.signal),
            key=lambda s: (-s.severity, -(s.pressure if math.isfinite(s.pressure) else 0.0)),
        )
        parts = [self.headline] if self.headline else []
        parts += [s.reason for s in others]
        return "; ".join(parts)


def _rank(s: SignalEvaluation) -> tuple[int, float]:
    return (s.level, s.pressure if math.isfinite(s.pressure) else 0.0)


def evaluate(
    judged: Mapping[str, float] | None,
    thresholds: Thresholds,
    *,
    latest: Mapping[str, float] | None = None,
    stale: bool = False,
    window_s: float = 0.0,
    breaching_since: Mapping[str, float | None] | None = None,
    latest_ts: float | None = None,
) -> ServiceEvaluation:
    """Judge a service on `judged` (e.g. `settled()` medians); `latest` is the newest sample
    shown beside it (default: the same values). Stale data is UNKNOWN whatever it says."""
    if stale:
        return ServiceEvaluation(Health.UNKNOWN, None, "stale")
    if not judged:
        return ServiceEvaluation(Health.UNKNOWN, None, "no data")
    newest = judged if latest is None else latest
    since = breaching_since or {}
    signals: list[SignalEvaluation] = []
    for name, limit in _limits(thresholds).items():
        value = judged.get(name, math.nan)
        level = _level(name, value, limit) if _finite(value) else Health.UNKNOWN
        signals.append(
            SignalEvaluation(
                name,
                value,
                newest.get(name, math.nan),
                limit,
                level,
                window_s,
                since.get(name),
                latest_ts,
            )
        )
    worst: SignalEvaluation | None = None
    for s in signals:
        if s.level >= Health.WARNING and (worst is None or _rank(s) > _rank(worst)):
            worst = s
    judged_signals = tuple(signals)
    if worst is not None:
        return ServiceEvaluation(worst.level, worst.name, worst.reason, judged_signals)
    rps = judged.get("rps", math.nan)
    if rps == 0:
        return ServiceEvaluation(Health.UNKNOWN, "rps", "no traffic", judged_signals)
    if math.isnan(rps):
        # Not "no traffic": nobody said there were no requests (a query not answered yet).
        return ServiceEvaluation(Health.UNKNOWN, "rps", "no traffic data", judged_signals)
    return ServiceEvaluation(Health.HEALTHY, None, "", judged_signals)


def evaluate_series(
    series: BankSeries | None,
    thresholds: Thresholds,
    stale: bool = False,
    window_s: float = JUDGE_WINDOW_S,
) -> ServiceEvaluation:
    """Judge a service on its series: medians of the newest `window_s` seconds, beside the
    newest sample, with how long each signal over its limit has been over it."""
    judged = settled(series, window_s)
    if series is None or judged is None:
        return evaluate(None, thresholds, stale=stale)
    latest = series.latest() or {}
    times = series.times()
    since: dict[str, float | None] = {}
    for name, limit in _limits(thresholds).items():
        fmt = FORMATS[name]
        over = fmt.shown(limit)
        if any(
            _finite(v) and fmt.shown(v) > over
            for v in (latest.get(name, math.nan), judged.get(name, math.nan))
        ):
            since[name] = breach_start(times, series.values(name), fmt, limit, window_s)
    return evaluate(
        judged,
        thresholds,
        latest=latest,
        stale=stale,
        window_s=window_s,
        breaching_since=since,
        latest_ts=series.last_ts,
    )


def breach_start(
    times: np.ndarray,
    values: np.ndarray,
    fmt: SignalFormat,
    limit: float,
    gap_s: float = JUDGE_WINDOW_S,
) -> float | None:
    """Time of the first sample of the newest run over `limit` (as displayed).

    Dips under the limit shorter than `gap_s` do not end a run (the median judging health
    does not see them either), so "breaching 40 s" does not restart at every noisy sample;
    samples without data neither extend nor end one. None when the newest data has been
    under the limit for longer than `gap_s`.
    """
    bar = fmt.shown(limit)
    n = len(values)
    chunk = 64
    # Backwards in growing chunks: a breach is usually short, the history up to an hour.
    while True:
        start = max(0, n - chunk)
        seg = np.asarray(values[start:n], dtype=np.float64)
        finite = np.isfinite(seg)
        t = np.asarray(times[start:n], dtype=np.float64)[finite]
        over = np.flatnonzero(np.round(seg[finite] * fmt.scale, fmt.digits) > bar)
        if over.size == 0:
            if start == 0:
                return None
            chunk *= 4
            continue
        if t[-1] - t[over[-1]] > gap_s:
            return None  # under the limit for a while now: no run in progress
        calm_between = np.diff(over) > 1
        breaks = np.flatnonzero((np.diff(t[over]) > gap_s) & calm_between)
        if breaks.size:
            return float(t[over[breaks[-1] + 1]])
        first = over[0]
        if start == 0 or (first > 0 and t[first] - t[0] > gap_s):
            return float(t[first])
        chunk *= 4


def service_health(
    latest: Mapping[str, float] | None, thresholds: Thresholds, stale: bool = False
) -> Verdict:
    """A service's level from one set of values (e.g. `settled()` medians)."""
    return evaluate(latest, thresholds, stale=stale).verdict


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
    fields = series.fields
    block = np.stack([series.values(field)[start:] for field in fields])
    return dict(zip(fields, finite_medians(block).tolist(), strict=True))


def finite_medians(block: np.ndarray) -> np.ndarray:
    """The median of each row's finite values (NaN for a row without any), for all rows at
    once: the same numbers as `np.median` of each row's finite values, in one sort."""
    block = np.asarray(block)
    if not np.issubdtype(block.dtype, np.floating):
        block = block.astype(np.float64)
    # In the block's own precision (the banks keep float32), as np.median computes.
    if block.ndim != 2:
        raise ValueError("finite_medians takes a 2-D block, one row per signal")
    rows, width = block.shape
    if width == 0:
        return np.full(rows, math.nan, dtype=block.dtype)
    finite = np.isfinite(block)
    # Non-finite values become +inf and sort last, after every finite one.
    ordered = np.sort(np.where(finite, block, np.inf), axis=1)
    count = finite.sum(axis=1)
    upper = np.minimum(count // 2, width - 1)
    lower = np.maximum(count - 1, 0) // 2
    pick = np.arange(rows)
    low, high = ordered[pick, lower], ordered[pick, upper]
    with np.errstate(invalid="ignore", over="ignore"):
        # np.median's own arithmetic: the mean of the two middle values of an even count.
        middle = np.where(lower == upper, low, (low + high) / 2.0)
    return np.where(count > 0, middle, block.dtype.type(math.nan))

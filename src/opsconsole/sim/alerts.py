"""Alert rules of domain.md evaluated over sliding windows of the golden signals (pure numpy).

The two error-budget rules read the 1 h and 6 h error ratios of the request ledger instead.

Each rule compares one windowed signal per service with that service's threshold. A condition
must hold for the rule's `for` duration before the alert fires; the alert resolves as soon as
the condition is false. A window with no data (no request at all) neither advances nor resets
a rule: "no data" is not "healthy". Signals are windowed (1 minute by default, like a PromQL
`rate[1m]`) so a single quiet tick with three requests cannot flap an alert.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec
import numpy as np

from opsconsole.core.models import Alert, Service, Severity

# Rule names as they appear in Alert.rule.
LATENCY, ERRORS, SATURATION, TRAFFIC = "latency", "errors", "saturation", "traffic"
BUDGET_BURN, BUDGET_EXHAUSTION = "error_budget_burn", "error_budget_exhaustion"
# The domain's error-budget rules: the 1 h error ratio above 0.4 % (critical), and the 6 h
# error ratio × 720 h above 0.5 % of them (warning), i.e. the 6 h ratio, kept up for a 30-day
# month, fails more than 0.5 % of its hours' worth of requests.
BUDGET_BURN_RATIO = 0.004
BUDGET_EXHAUSTION_RATIO = 0.005
MONTH_HOURS = 720.0


@dataclass(frozen=True)
class AlertRule:
    name: str
    severity: Severity
    for_s: float
    nominal_for: str  # the `for` as written in the rule, for summaries ("5 min")


def default_rules(time_scale: float = 1.0) -> tuple[AlertRule, ...]:
    """domain.md defaults; every `for` is divided by `time_scale`."""
    return (
        AlertRule(LATENCY, "page", 300.0 / time_scale, "5 min"),
        AlertRule(ERRORS, "page", 120.0 / time_scale, "2 min"),
        AlertRule(SATURATION, "ticket", 600.0 / time_scale, "10 min"),
        AlertRule(TRAFFIC, "ticket", 300.0 / time_scale, "5 min"),
        AlertRule(BUDGET_BURN, "page", 300.0 / time_scale, "5 min"),
        AlertRule(BUDGET_EXHAUSTION, "ticket", 600.0 / time_scale, "10 min"),
    )


@dataclass(frozen=True)
class Signals:
    """Windowed signals per service, aligned with the engine's service order; NaN = no data."""

    rps: np.ndarray
    error_ratio: np.ndarray
    p99_ms: np.ndarray
    cpu: np.ndarray
    memory: np.ndarray
    baseline_rps: np.ndarray
    # Error ratios of the last simulated hour and six hours (request ledger); None: no data.
    error_ratio_1h: np.ndarray | None = None
    error_ratio_6h: np.ndarray | None = None


class SignalWindow:
    """Sliding sums over the last `length` ticks, O(services) per tick."""

    def __init__(self, n_services: int, length: int) -> None:
        self.length = max(1, length)
        self._ticks: collections.deque[tuple[np.ndarray, ...]] = collections.deque()
        zeros = np.zeros(n_services)
        # counts, failures, p99*count, count-with-p99, cpu, cpu-n, mem, mem-n, dt
        self._sums = [zeros.copy() for _ in range(8)]
        self._dt = 0.0

    def observe(
        self,
        dt: float,
        counts: np.ndarray,
        failures: np.ndarray,
        p99_ms: np.ndarray,
        cpu: np.ndarray,
        memory: np.ndarray,
    ) -> None:
        has_p99 = np.isfinite(p99_ms)
        has_cpu = np.isfinite(cpu)
        has_mem = np.isfinite(memory)
        parts = (
            counts.astype(np.float64),
            failures.astype(np.float64),
            np.where(has_p99, p99_ms * counts, 0.0),
            np.where(has_p99, counts, 0.0).astype(np.float64),
            np.where(has_cpu, cpu, 0.0),
            has_cpu.astype(np.float64),
            np.where(has_mem, memory, 0.0),
            has_mem.astype(np.float64),
        )
        self._ticks.append((*parts, np.float64(dt)))
        for total, part in zip(self._sums, parts, strict=True):
            total += part
        self._dt += dt
        if len(self._ticks) > self.length:
            old = self._ticks.popleft()
            for total, part in zip(self._sums, old[:8], strict=True):
                total -= part
            self._dt -= float(old[8])

    def signals(self, baseline_rps: np.ndarray) -> Signals:
        counts, failures, p99w, p99n, cpu, cpun, mem, memn = self._sums
        with np.errstate(invalid="ignore", divide="ignore"):
            # Clamp tiny negative drift from the running subtraction.
            rps = (
                np.maximum(counts, 0.0) / self._dt if self._dt > 0 else np.full_like(counts, np.nan)
            )
            error_ratio = np.where(counts > 0.5, np.clip(failures / counts, 0.0, 1.0), np.nan)
            p99 = np.where(p99n > 0.5, p99w / p99n, np.nan)
            cpu_mean = np.where(cpun > 0.5, cpu / cpun, np.nan)
            mem_mean = np.where(memn > 0.5, mem / memn, np.nan)
        return Signals(rps, error_ratio, p99, cpu_mean, mem_mean, baseline_rps)


class _RuleState:
    def __init__(self, n: int) -> None:
        self.pending_since = np.full(n, np.nan)
        self.firing: list[Alert | None] = [None] * n


def _fmt_pct(x: float) -> str:
    return f"{x * 100:.1f} %" if x < 0.1 else f"{x * 100:.0f} %"


class AlertEngine:
    """Evaluates the rules each tick and keeps the alerts: firing ones and recent resolved ones."""

    def __init__(
        self,
        services: Sequence[Service],
        rules: Sequence[AlertRule] | None = None,
        max_resolved: int = 100,
    ) -> None:
        self.services = tuple(s.name for s in services)
        self.rules = tuple(rules if rules is not None else default_rules())
        th = [s.thresholds for s in services]
        self.thr_latency = np.array([t.latency_p99_ms for t in th])
        self.thr_errors = np.array([t.error_ratio for t in th])
        self.thr_cpu = np.array([t.cpu for t in th])
        self.thr_memory = np.array([t.memory for t in th])
        self.thr_traffic = np.array([t.traffic_deviation for t in th])
        self._state = {r.name: _RuleState(len(self.services)) for r in self.rules}
        self._resolved: collections.deque[Alert] = collections.deque(maxlen=max_resolved)

    # ------------------------------------------------------------------ evaluation

    def _measure(self, rule: str, s: Signals) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(value, threshold, exceeded as 1.0/0.0/NaN-for-no-data) per service."""
        with np.errstate(invalid="ignore", divide="ignore"):
            if rule == LATENCY:
                value, thr = s.p99_ms, self.thr_latency
            elif rule == ERRORS:
                value, thr = s.error_ratio, self.thr_errors
            elif rule == SATURATION:
                mem_only = (s.memory > self.thr_memory) & ~(s.cpu > self.thr_cpu)
                value = np.where(mem_only, s.memory, s.cpu)
                thr = np.where(mem_only, self.thr_memory, self.thr_cpu)
                exceeded = (s.cpu > self.thr_cpu) | (s.memory > self.thr_memory)
                nodata = np.isnan(s.cpu) & np.isnan(s.memory)
                return value, thr, np.where(nodata, np.nan, exceeded.astype(np.float64))
            elif rule in (BUDGET_BURN, BUDGET_EXHAUSTION):
                long = rule == BUDGET_EXHAUSTION
                ratio = s.error_ratio_6h if long else s.error_ratio_1h
                value = ratio if ratio is not None else np.full(len(self.services), np.nan)
                thr = np.full(
                    len(self.services), BUDGET_EXHAUSTION_RATIO if long else BUDGET_BURN_RATIO
                )
            elif rule == TRAFFIC:
                base = np.where(s.baseline_rps > 0, s.baseline_rps, np.nan)
                value = (s.rps - base) / base
                exceeded = np.abs(value) > self.thr_traffic
                return value, self.thr_traffic, np.where(np.isnan(value), np.nan, exceeded * 1.0)
            else:  # pragma: no cover - rules are a closed set
                raise ValueError(rule)
            exceeded = value > thr
            return value, thr, np.where(np.isnan(value), np.nan, exceeded.astype(np.float64))

    def evaluate(self, now: float, signals: Signals) -> list[Alert]:
        """Advance every rule to `now`; returns the alerts that fired or resolved."""
        changed: list[Alert] = []
        for rule in self.rules:
            st = self._state[rule.name]
            value, thr, exceeded = self._measure(rule.name, signals)
            true = exceeded == 1.0
            false = exceeded == 0.0
            start = true & np.isnan(st.pending_since)
            st.pending_since[start] = now
            st.pending_since[false] = np.nan
            due = true & (now - st.pending_since >= rule.for_s)
            for i in np.flatnonzero(due):
                if st.firing[i] is None:
                    alert = self._fire(rule, int(i), now, float(value[i]), float(thr[i]), signals)
                    st.firing[i] = alert
                    changed.append(alert)
            for i in np.flatnonzero(false):
                alert = st.firing[i]
                if alert is not None:
                    resolved = msgspec.structs.replace(
                        alert,
                        state="resolved",
                        value=_finite(value[i]),
                        summary=f"resolved: {alert.summary}",
                    )
                    st.firing[i] = None
                    self._resolved.append(resolved)
                    changed.append(resolved)
        return changed

    def _fire(
        self, rule: AlertRule, i: int, now: float, value: float, thr: float, s: Signals
    ) -> Alert:
        svc = self.services[i]
        if rule.name == LATENCY:
            text = f"{svc}: p99 latency {value:.0f} ms > {thr:.0f} ms for {rule.nominal_for}"
        elif rule.name == ERRORS:
            text = (
                f"{svc}: {_fmt_pct(value)} of requests failing "
                f"(limit {_fmt_pct(thr)}) for {rule.nominal_for}"
            )
        elif rule.name == BUDGET_BURN:
            text = (
                f"{svc}: error budget burning: {_fmt_pct(value)} of requests failed in the last "
                f"hour (limit {_fmt_pct(thr)}) for {rule.nominal_for}"
            )
        elif rule.name == BUDGET_EXHAUSTION:
            text = (
                f"{svc}: error budget running out: {_fmt_pct(value)} of requests failed in the "
                f"last 6 h; kept up for {MONTH_HOURS:.0f} h that is {value * MONTH_HOURS:.1f} h "
                f"of full outage (limit {thr * MONTH_HOURS:.1f} h) for {rule.nominal_for}"
            )
        elif rule.name == SATURATION:
            what = "CPU" if s.cpu[i] > self.thr_cpu[i] else "memory"
            text = f"{svc}: {what} at {_fmt_pct(value)} > {_fmt_pct(thr)} for {rule.nominal_for}"
        else:
            direction = "above" if value > 0 else "below"
            text = (
                f"{svc}: traffic {s.rps[i]:.0f} rps is {abs(value) * 100:.0f} % {direction} "
                f"its baseline of {s.baseline_rps[i]:.0f} rps for {rule.nominal_for}"
            )
        return Alert(
            id=f"{svc}.{rule.name}.{int(now * 1000)}",
            service=svc,
            rule=rule.name,
            severity=rule.severity,
            state="firing",
            since_ts=now,
            value=_finite(value),
            threshold=_finite(thr),
            summary=text,
        )

    # ------------------------------------------------------------------ queries and acks

    def alerts(self) -> tuple[Alert, ...]:
        """Firing alerts (oldest first), then recently resolved ones (newest first)."""
        firing = [a for st in self._state.values() for a in st.firing if a is not None]
        firing.sort(key=lambda a: (a.since_ts, a.id))
        return (*firing, *reversed(self._resolved))

    def get(self, alert_id: str) -> Alert | None:
        return next((a for a in self.alerts() if a.id == alert_id), None)

    def ack(self, alert_id: str, by: str, now: float) -> tuple[Alert, bool] | None:
        """Acknowledge; returns (alert, changed) or None for an unknown id. The first ack wins."""
        for st in self._state.values():
            for i, alert in enumerate(st.firing):
                if alert is not None and alert.id == alert_id:
                    if alert.acked_by is not None:
                        return alert, False
                    st.firing[i] = msgspec.structs.replace(alert, acked_by=by, acked_ts=now)
                    return st.firing[i], True  # type: ignore[return-value]
        for i, alert in enumerate(self._resolved):
            if alert.id == alert_id:
                if alert.acked_by is not None:
                    return alert, False
                self._resolved[i] = msgspec.structs.replace(alert, acked_by=by, acked_ts=now)
                return self._resolved[i], True
        return None


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None

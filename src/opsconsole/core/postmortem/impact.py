"""The incident's impact per affected service, estimated from the console's own samples."""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from opsconsole.core.incident.record import Sample, SloSnapshot
from opsconsole.core.postmortem.facts import PostmortemFacts
from opsconsole.core.slo.budget import remaining_fraction
from opsconsole.core.slo.figure import count_text, percent_text

#: A gap longer than this many sample steps is not counted as traffic.
MAX_STEPS = 3
#: The domain's alert rules: where a service's signals leave their normal range.
ERROR_RATIO_LIMIT = 0.01
P99_LIMIT_MS = 500.0
#: Entry kinds whose service is affected by definition (it alerted, was acted on, investigated).
NAMING_KINDS = frozenset({"alert", "action", "investigation", "deploy"})

BUDGET_FORMULA = "budget consumed = failed ÷ ((1 − objective) × window total)"
FAILED_FORMULA = (
    "failed ≈ Σ rps × error ratio × Δt over the incident's samples (Δt: the time since the "
    f"previous sample, at most {MAX_STEPS} sample steps, so a gap in the record is not counted "
    "as traffic); total ≈ Σ rps × Δt"
)


@dataclass(frozen=True)
class BudgetConsumed:
    """The share of the SLO window's error budget the incident's failures used."""

    fraction: float | None
    inputs: str  # the formula with its numbers, or why the figure is missing


@dataclass(frozen=True)
class ServiceImpact:
    service: str
    samples: int  # samples in the incident's range
    failed: float | None  # estimated failed requests
    total: float | None  # estimated requests
    peak_p99_ms: float | None
    peak_p99_ts: float | None
    peak_error_ratio: float | None
    objective: float | None
    minutes_above: float | None  # minutes with the error ratio above 1 − objective
    budget: BudgetConsumed
    window_left: float | None  # the SLO window's budget left at the snapshot (whole window)
    notes: tuple[str, ...]  # why a figure is missing


def affected_services(facts: PostmortemFacts) -> list[str]:
    """Services named by the incident's alerts, actions, investigations and deploys, and
    those whose samples left the normal range (error ratio above 1 % or the SLO's allowed
    ratio, p99 above 500 ms) during the incident; in the order they first show."""
    known = {s.service for s in facts.samples} | {s.service for s in facts.snapshots}
    named: dict[str, None] = {}
    for entry in facts.entries:
        if entry.kind not in NAMING_KINDS or not entry.service:
            continue
        # An action's target is a circuit, cluster or alert as often as a service.
        if entry.kind != "action" or entry.service in known:
            named[entry.service] = None
    for action in facts.actions:
        if action.target in known:
            named[action.target] = None
    for service in sorted({s.service for s in facts.samples}):
        allowed = _allowed_ratio(nearest_snapshot(facts, service))
        limit = ERROR_RATIO_LIMIT if allowed is None else max(allowed, ERROR_RATIO_LIMIT)
        for s in _in_range(facts, service):
            if s.error_ratio > limit or s.latency_p99_ms > P99_LIMIT_MS:
                named[service] = None
                break
    return list(named)


def nearest_snapshot(facts: PostmortemFacts, service: str) -> SloSnapshot | None:
    """The service's SLO snapshot nearest the incident's end."""
    found = [s for s in facts.snapshots if s.service == service]
    return min(found, key=lambda s: abs(s.ts - facts.end)) if found else None


def budget_consumed(failed: float, snapshot: SloSnapshot) -> float:
    """failed ÷ ((1 − objective) × window total): the error-budget maths' own remainder."""
    return 1.0 - remaining_fraction(failed, snapshot.window_total, 1.0 - snapshot.objective)


def service_impact(facts: PostmortemFacts, service: str) -> ServiceImpact:
    samples = _in_range(facts, service)
    previous = _before_range(facts, service)
    notes: list[str] = []
    snapshot = nearest_snapshot(facts, service)
    allowed = _allowed_ratio(snapshot)
    failed = total = None
    minutes = None
    if not samples:
        notes.append(f"no samples of {service} were recorded during the incident")
    else:
        failed, total, above = _integrate(samples, previous, facts.start, allowed)
        if allowed is not None:
            minutes = above / 60.0
        if failed is None:
            notes.append(f"{service}'s samples report no traffic or error ratio")
    if snapshot is None:
        notes.append(f"no SLO was seen for {service}, so no objective or budget to measure against")
    p99 = [(s.latency_p99_ms, s.ts) for s in samples if math.isfinite(s.latency_p99_ms)]
    peak = max(p99) if p99 else None
    errors = [s.error_ratio for s in samples if math.isfinite(s.error_ratio)]
    return ServiceImpact(
        service=service,
        samples=len(samples),
        failed=failed,
        total=total,
        peak_p99_ms=peak[0] if peak else None,
        peak_p99_ts=peak[1] if peak else None,
        peak_error_ratio=max(errors) if errors else None,
        objective=snapshot.objective if snapshot else None,
        minutes_above=minutes,
        budget=_budget(service, failed, snapshot),
        window_left=_window_left(snapshot),
        notes=tuple(notes),
    )


def incident_impact(facts: PostmortemFacts) -> list[ServiceImpact]:
    return [service_impact(facts, s) for s in affected_services(facts)]


def _budget(service: str, failed: float | None, snapshot: SloSnapshot | None) -> BudgetConsumed:
    if snapshot is None:
        return BudgetConsumed(None, f"missing: no SLO was seen for {service}")
    if snapshot.ratios_only:
        return BudgetConsumed(
            None,
            f"missing: {service}'s SLO reports error ratios only, not request counts, so the "
            "window's total requests (the budget's base) are unknown",
        )
    if snapshot.window_total <= 0:
        return BudgetConsumed(None, f"missing: {service}'s SLO window counted no requests")
    if failed is None:
        return BudgetConsumed(None, f"missing: no failed requests could be estimated for {service}")
    fraction = budget_consumed(failed, snapshot)
    budget = 1.0 - snapshot.objective
    return BudgetConsumed(
        fraction,
        f"{BUDGET_FORMULA} = {count_text(failed)} ÷ ({percent_text(budget, 3)} × "
        f"{count_text(snapshot.window_total)}) = {percent_text(fraction, 2)} of the "
        f"{snapshot.window} window's budget (objective {percent_text(snapshot.objective, 3)})",
    )


def _window_left(snapshot: SloSnapshot | None) -> float | None:
    if snapshot is None or snapshot.ratios_only or snapshot.window_total <= 0:
        return None
    return remaining_fraction(snapshot.window_bad, snapshot.window_total, 1.0 - snapshot.objective)


def _allowed_ratio(snapshot: SloSnapshot | None) -> float | None:
    return None if snapshot is None else 1.0 - snapshot.objective


def _service_samples(facts: PostmortemFacts, service: str) -> list[Sample]:
    """The service's samples from the backend that recorded most of them."""
    mine = [s for s in facts.samples if s.service == service]
    backends = {s.backend for s in mine}
    if len(backends) > 1:
        top = max(sorted(backends), key=lambda b: sum(s.backend == b for s in mine))
        mine = [s for s in mine if s.backend == top]
    return sorted(mine, key=lambda s: s.ts)


def _in_range(facts: PostmortemFacts, service: str) -> list[Sample]:
    return [s for s in _service_samples(facts, service) if facts.start <= s.ts <= facts.end]


def _before_range(facts: PostmortemFacts, service: str) -> Sample | None:
    before = [s for s in _service_samples(facts, service) if s.ts < facts.start]
    return before[-1] if before else None


def _integrate(
    samples: Sequence[Sample], previous: Sample | None, start: float, allowed: float | None
) -> tuple[float | None, float | None, float]:
    """Σ rps × error ratio × Δt, Σ rps × Δt and the seconds above `allowed`; each sample
    covers the time since the one before (clipped at the start, capped at MAX_STEPS steps)."""
    times = [s.ts for s in samples]
    if previous is not None:
        times.insert(0, previous.ts)
    steps = [b - a for a, b in itertools.pairwise(times) if b > a]
    cap = MAX_STEPS * statistics.median(steps) if steps else 0.0
    failed = total = 0.0
    counted_failed = counted_total = False
    above = 0.0
    last = previous.ts if previous is not None else None
    for s in samples:
        dt = 0.0 if last is None else min(s.ts - max(last, start), cap)
        last = s.ts
        if dt <= 0:
            continue
        if math.isfinite(s.rps):
            total += s.rps * dt
            counted_total = True
            if math.isfinite(s.error_ratio):
                failed += s.rps * s.error_ratio * dt
                counted_failed = True
        if allowed is not None and math.isfinite(s.error_ratio) and s.error_ratio > allowed:
            above += dt
    return (failed if counted_failed else None, total if counted_total else None, above)

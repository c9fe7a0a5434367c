"""The deploy decision: judge a deploy by its error budget and recommend rollback, or not."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, tzinfo

from opsconsole.core.slo.budget import observed_budget
from opsconsole.core.slo.burn import DEFAULT_MIN_REQUESTS
from opsconsole.core.slo.figure import Figure, count_text, percent_text
from opsconsole.core.slo.model import DAY_S, WHOLE, Counts, Deploy, SloObservation, WindowKind

# Domain rule: with less than 0.1 % of the budget left, a deploy gets enhanced monitoring.
ENHANCED_BELOW = 0.001


class Recommendation(enum.Enum):
    ROLLBACK = "ROLLBACK"
    ENHANCED_MONITORING = "ENHANCED_MONITORING"
    KEEP_WITH_CONDITIONS = "KEEP_WITH_CONDITIONS"


@dataclass(frozen=True, slots=True)
class Assessment:
    """Every input of the deploy decision, the recommendation, why, and what to do next."""

    obs: SloObservation
    deploy: Deploy
    hours_since: Figure
    baseline: Figure  # error ratio before the deploy
    current: Figure  # error ratio since the deploy
    burned_since: Figure  # fraction of the window's budget spent since the deploy
    remaining: Figure  # fraction of the budget left in the window
    projection: Figure  # budget the window would spend if the current ratio held
    recommendation: Recommendation
    reason: str
    next_steps: tuple[str, ...]

    def summary(self) -> tuple[str, str, str]:
        """Three lines for leadership: what happened, what it costs, what we do."""
        d = self.deploy
        return (
            f"{d.service} {d.version} (deployed {self.hours_since.text} ago): errors "
            f"{self.baseline.text} before, {self.current.text} since.",
            f"Error budget: {self.remaining.text} left; at this rate the window would spend "
            f"{self.projection.text} of it.",
            f"Recommendation: {self.recommendation.value}: {self.reason}",
        )


def counts_around(
    points: Iterable[tuple[float, float, float]],
    deploy_ts: float,
    step_s: float,
    baseline_s: float = DAY_S,
) -> tuple[Counts, Counts]:
    """(before, since) from per-step `(ts, good, total)` counts stamped at the step's start.

    Before: the steps that ended by the deploy, within `baseline_s` of it; since: the steps
    that started at or after it. The step the deploy fell into belongs to neither.
    """
    before, since = [0.0, 0.0], [0.0, 0.0]
    for ts, good, total in points:
        if ts >= deploy_ts:
            since[0] += good
            since[1] += total
        elif ts + step_s <= deploy_ts and ts >= deploy_ts - baseline_s:
            before[0] += good
            before[1] += total
    return Counts(*before), Counts(*since)


def _ratio_figure(counts: Counts, what: str) -> Figure:
    ratio = counts.error_ratio
    return Figure(
        ratio,
        percent_text(ratio),
        f"error ratio {what} = failed ÷ total",
        f"{count_text(counts.bad)} failed of {count_text(counts.total)} requests",
    )


def _projection(obs: SloObservation, current: float, tz: tzinfo) -> Figure:
    """Budget the window spends if the error ratio since the deploy holds."""
    slo = obs.slo
    budget = slo.budget
    whole = obs.counts(WHOLE)
    start, end = slo.window.bounds(obs.as_of, tz)
    elapsed, left = obs.as_of - start, end - obs.as_of
    if slo.window.kind is WindowKind.CALENDAR_MONTH and whole and whole.total and elapsed > 0:
        # This month so far, then the rest of it at the month's request rate and current ratio.
        rest = whole.total / elapsed * left
        value = (whole.bad + current * rest) / (budget * (whole.total + rest))
        return Figure(
            value,
            percent_text(value, 0),
            "month = (failed so far + current × expected requests left) ÷ "
            "(budget × (requests so far + expected left))",
            f"({count_text(whole.bad)} + {percent_text(current)} × {count_text(rest)}) ÷ "
            f"({percent_text(budget, 3)} × {count_text(whole.total + rest)})",
        )
    value = current / budget
    return Figure(
        value,
        percent_text(value, 0),
        f"a whole {slo.window.words} window at the current ratio: current ÷ budget",
        f"{percent_text(current)} ÷ {percent_text(budget, 3)}",
    )


def assess(
    obs: SloObservation,
    deploy: Deploy,
    before: Counts,
    since: Counts,
    *,
    min_requests: float = DEFAULT_MIN_REQUESTS,
    enhanced_below: float = ENHANCED_BELOW,
    tz: tzinfo = UTC,
) -> Assessment:
    """Judge `deploy` at `obs.as_of` from the requests before and since it (domain rules):
    projected burn over the window above the budget → ROLLBACK; less than `enhanced_below`
    of the budget left → ENHANCED_MONITORING; otherwise KEEP_WITH_CONDITIONS."""
    slo = obs.slo
    hours = max(0.0, obs.as_of - deploy.ts) / 3600.0
    hours_fig = Figure(
        hours, f"{hours:.1f} h", "hours since = (now − deploy time) ÷ 3600", f"deploy {deploy.id}"
    )
    baseline, current = _ratio_figure(before, "before"), _ratio_figure(since, "since")
    status = observed_budget(obs, tz)
    whole = obs.counts(WHOLE)
    allowed = slo.budget * whole.total if whole else 0.0
    burned = since.bad / allowed if allowed else None
    burned_fig = Figure(
        burned,
        percent_text(burned, 1),
        "budget burned since = failed since the deploy ÷ allowed failures in the window",
        f"{count_text(since.bad)} ÷ {count_text(allowed)}",
    )
    remaining = status.fraction
    service, prev = deploy.service, deploy.prev_version or "the previous version"
    if since.total < min_requests or current.value is None:
        projection = Figure(None, "—", "not projected", "too little traffic since the deploy")
        rec = Recommendation.ENHANCED_MONITORING
        reason = (
            f"too little traffic since the deploy to judge it ({count_text(since.total)} "
            f"requests, fewer than {count_text(min_requests)})"
        )
    else:
        projection = _projection(obs, current.value, tz)
        if projection.value is not None and projection.value > 1.0:
            rec = Recommendation.ROLLBACK
            reason = (
                f"at {current.text} errors since {deploy.version} (before: {baseline.text}) "
                f"the {slo.window.words} window would spend {projection.text} of its budget"
            )
        elif remaining is not None and remaining < enhanced_below:
            rec = Recommendation.ENHANCED_MONITORING
            reason = f"only {status.words} of the error budget"
        else:
            rec = Recommendation.KEEP_WITH_CONDITIONS
            reason = (
                f"projected {projection.text} of the budget at {current.text} errors; "
                f"{status.words}"
            )
    steps = {
        Recommendation.ROLLBACK: (
            f":rollback {service} (back to {prev})",
            f"confirm the error ratio returns to about {baseline.text}",
            f"keep {deploy.version} out until the cause is found; record it on the timeline",
        ),
        Recommendation.ENHANCED_MONITORING: (
            f"watch the 1 h and 6 h burn rates of {service}",
            f"hold further deploys of {service} until the budget recovers",
            "assess again within the hour",
        ),
        Recommendation.KEEP_WITH_CONDITIONS: (
            f"keep the feature flag ready (or :rollback {service} to {prev})",
            f"tighten the alerts on {service} while {deploy.version} settles",
            "review the error budget daily",
        ),
    }[rec]
    if (
        rec is Recommendation.ROLLBACK
        and baseline.value is not None
        and current.value is not None
        and current.value <= baseline.value
    ):
        steps = (*steps, "the ratio was as high before the deploy: a rollback may not help")
    return Assessment(
        obs,
        deploy,
        hours_fig,
        baseline,
        current,
        burned_fig,
        status.remaining,
        projection,
        rec,
        reason,
        steps,
    )

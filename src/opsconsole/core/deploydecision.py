"""The deploy decision for one service, judged from what its backend's live state holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, tzinfo
from itertools import pairwise

from opsconsole.core.actions.deploys import service_deploys
from opsconsole.core.slo.assess import Assessment, assess
from opsconsole.core.slo.model import (
    BURN_WINDOWS,
    DAY_S,
    WHOLE,
    WINDOW_SECONDS,
    Counts,
    SloObservation,
)
from opsconsole.core.store import BackendState

#: How far before the deploy its baseline error ratio is counted.
BASELINE_S = DAY_S


@dataclass(frozen=True, slots=True)
class Lookback:
    """Requests in the last `seconds` before an observation, and how they were read."""

    counts: Counts
    how: str  # "the 1h window" or "between the 1h and 2h windows (interpolated)"


@dataclass(frozen=True, slots=True)
class DeployDecision:
    """An assessment with the way its before/since counts were read from the windows."""

    backend: str
    assessment: Assessment
    before_how: str
    since_how: str


def _knots(obs: SloObservation, tz: tzinfo) -> list[tuple[float, Counts, str]]:
    """(lookback seconds, counts, window name) for every window the observation holds."""
    knots: list[tuple[float, Counts, str]] = [(0.0, Counts(0.0, 0.0), "now")]
    for key in BURN_WINDOWS:
        counts = obs.counts(key)
        if counts is not None:
            knots.append((WINDOW_SECONDS[key], counts, key))
    whole = obs.counts(WHOLE)
    if whole is not None:
        start, _ = obs.slo.window.bounds(obs.as_of, tz)
        knots.append((obs.as_of - start, whole, obs.slo.window.literal))
    knots.sort(key=lambda k: k[0])
    return knots


def lookback(obs: SloObservation, seconds: float, tz: tzinfo = UTC) -> Lookback | None:
    """Requests in the last `seconds` from the windows' counts (each ends at `obs.as_of`).

    Between two windows the requests are spread evenly over the span the longer one adds
    (a straight line through the cumulative counts); beyond the longest, that one's counts.
    None when the observation holds no window at all.
    """
    knots = _knots(obs, tz)
    if len(knots) < 2:
        return None
    seconds = max(0.0, seconds)
    for (s0, c0, k0), (s1, c1, k1) in pairwise(knots):
        if seconds == s1:
            return Lookback(c1, f"the {k1} window")
        if seconds < s1:
            share = (seconds - s0) / (s1 - s0) if s1 > s0 else 1.0
            total = max(0.0, c0.total + (c1.total - c0.total) * share)
            good = min(total, max(0.0, c0.good + (c1.good - c0.good) * share))
            where = f"the {k1} window" if k0 == "now" else f"the {k0} and {k1} windows"
            return Lookback(Counts(good, total), f"{where}, interpolated")
    _, c_last, k_last = knots[-1]
    return Lookback(c_last, f"the {k_last} window (all it holds)")


def decide(state: BackendState, service: str, *, tz: tzinfo = UTC) -> DeployDecision | str:
    """The deploy decision for the service's newest deploy, or why there is none to make."""
    obs = state.slos.get(service)
    if obs is None:
        return f"{state.name} reports no SLO for {service}: nothing to judge a deploy against"
    history = service_deploys(state.deploys, service)
    if not history:
        return f"no deploy of {service} is known on {state.name}"
    deploy = history[-1]
    age = max(0.0, obs.as_of - deploy.ts)
    since = lookback(obs, age, tz)
    upto = lookback(obs, age + BASELINE_S, tz)
    if since is None or upto is None:
        return f"{state.name} reports no request counts for {service}'s SLO"
    before = Counts(
        max(0.0, min(upto.counts.good - since.counts.good, upto.counts.total - since.counts.total)),
        max(0.0, upto.counts.total - since.counts.total),
    )
    assessment = assess(obs, deploy, before, since.counts, tz=tz)
    return DeployDecision(
        state.name,
        assessment,
        f"{upto.how} minus {since.how}",
        since.how,
    )

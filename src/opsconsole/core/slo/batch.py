"""The budget maths for every SLO of a refresh at once, as numpy arrays over services.

Same rules and numbers as the per-SLO functions (`budget`, `burn`, `tiers`, `exhaustion`),
without their words: the list and the wall read these arrays; the detail and the hover text
ask the per-SLO functions for the one SLO in view.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo

import numpy as np

from opsconsole.core.slo.burn import DEFAULT_MIN_REQUESTS
from opsconsole.core.slo.exhaustion import PROJECTION_WINDOWS
from opsconsole.core.slo.model import (
    BURN_WINDOWS,
    WHOLE,
    WINDOW_KEYS,
    SloObservation,
    SloWindow,
    WindowKind,
)
from opsconsole.core.slo.tiers import WORKBOOK_TIERS, BurnTier

_WHOLE_COL = WINDOW_KEYS.index(WHOLE)
_EXACT = 1e-9  # as budget.remaining_fraction: float noise at the edge is exactly used up


@dataclass(frozen=True, slots=True)
class SloArrays:
    """Observations as columns: one row per SLO, windows in WINDOW_KEYS order, NaN = absent."""

    services: tuple[str, ...]
    budget: np.ndarray  # (n,)
    good: np.ndarray  # (n, len(WINDOW_KEYS))
    total: np.ndarray  # (n, len(WINDOW_KEYS))
    length_s: np.ndarray  # (n,) the whole window's length
    left_s: np.ndarray  # (n,) until the budget is renewed
    rolling: np.ndarray  # (n,) bool: a rolling window (a burn ≤ 1 never runs it out)


def pack(observations: Sequence[SloObservation], tz: tzinfo = UTC) -> SloArrays:
    """Lay out observations as arrays (the one Python loop, over SLOs and their windows)."""
    n = len(observations)
    nan = float("nan")
    goods: list[list[float]] = []
    totals: list[list[float]] = []
    budget = np.empty(n)
    length = np.empty(n)
    left = np.empty(n)
    rolling = np.empty(n, dtype=bool)
    spans: dict[tuple[SloWindow, float], tuple[float, float]] = {}
    for i, obs in enumerate(observations):
        budget[i] = obs.slo.budget
        key = (obs.slo.window, obs.as_of)
        span = spans.get(key)
        if span is None:
            w = obs.slo.window
            span = spans[key] = (w.length_s(obs.as_of, tz), w.left_s(obs.as_of, tz))
        length[i], left[i] = span
        rolling[i] = obs.slo.window.kind is not WindowKind.CALENDAR_MONTH
        # Plain lists first, one array at the end: setting numpy items one by one costs
        # more than the maths itself.
        row = [obs.windows.get(name) for name in WINDOW_KEYS]
        goods.append([nan if c is None else c.good for c in row])
        totals.append([nan if c is None else c.total for c in row])
    shape = (n, len(WINDOW_KEYS))
    good = np.array(goods, dtype=np.float64).reshape(shape)
    total = np.array(totals, dtype=np.float64).reshape(shape)
    services = tuple(o.service for o in observations)
    return SloArrays(services, budget, good, total, length, left, rolling)


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Every SLO's figures; NaN where the per-SLO functions say None."""

    services: tuple[str, ...]
    burn: np.ndarray  # (n, len(BURN_WINDOWS)); NaN: no data or too little traffic
    low_traffic: np.ndarray  # (n, len(BURN_WINDOWS)) bool
    remaining: np.ndarray  # (n,) fraction of the budget left (negative: overspent)
    remaining_requests: np.ndarray  # (n,) failed requests still allowed
    outage_minutes: np.ndarray  # (n,) minutes of full outage the remaining budget equals
    firing: np.ndarray  # (n, len(tiers)) bool
    exhaustion_s: np.ndarray  # (n, len(PROJECTION_WINDOWS)); 0 used up, inf never, NaN unknown
    exhausts_before_end: np.ndarray  # (n,) bool: the soonest known projection beats the end

    def worst_first(self) -> np.ndarray:
        """Row order with the least budget left first, SLOs without a figure last."""
        key = np.where(np.isnan(self.remaining), np.inf, self.remaining)
        return np.argsort(key, kind="stable")


def evaluate(
    arrays: SloArrays,
    tiers: tuple[BurnTier, ...] = WORKBOOK_TIERS,
    min_requests: float = DEFAULT_MIN_REQUESTS,
) -> BatchResult:
    """Burn rates, tiers, remaining budget and exhaustion for all rows in whole-array steps."""
    budget = arrays.budget
    nb = len(BURN_WINDOWS)
    good, total = arrays.good[:, :nb], arrays.total[:, :nb]
    with np.errstate(divide="ignore", invalid="ignore"):
        measured = (total > 0) & (total >= min_requests)
        burn = np.where(measured, (total - good) / total / budget[:, None], np.nan)
        low = ~np.isnan(total) & ~measured

        whole_total = arrays.total[:, _WHOLE_COL]
        whole_bad = whole_total - arrays.good[:, _WHOLE_COL]
        allowed = budget * whole_total
        remaining = np.where(whole_bad <= 0, 1.0, 1.0 - whole_bad / allowed)
        remaining = np.where(np.abs(remaining) < _EXACT, 0.0, remaining)
        remaining[np.isnan(whole_total)] = np.nan
        outage = remaining * budget * arrays.length_s / 60.0

        firing = np.zeros((len(budget), len(tiers)), dtype=bool)
        for k, tier in enumerate(tiers):
            long = burn[:, BURN_WINDOWS.index(tier.long_window)]
            short = burn[:, BURN_WINDOWS.index(tier.short_window)]
            firing[:, k] = (long > tier.factor) & (short > tier.factor)

        cols = [BURN_WINDOWS.index(w) for w in PROJECTION_WINDOWS]
        rate = burn[:, cols]
        rem = remaining[:, None]
        seconds = np.where(
            rem <= 0, 0.0, np.where(rate <= 0, np.inf, rem * arrays.length_s[:, None] / rate)
        )
        seconds[np.isnan(rate) | np.isnan(rem)] = np.nan
        known = np.where(np.isnan(seconds), np.inf, seconds)
        first = known.argmin(axis=1)[:, None]
        soonest = np.take_along_axis(known, first, axis=1)[:, 0]
        # As exhaustion.project: on a rolling window a burn ≤ 1 never runs the budget out.
        settles = arrays.rolling[:, None] & (rate > 0) & (rate <= 1) & (rem > 0)
        settles_first = np.take_along_axis(settles, first, axis=1)[:, 0]
        before_end = (soonest < arrays.left_s) & ~settles_first
    return BatchResult(
        arrays.services,
        burn,
        low,
        remaining,
        allowed - whole_bad,
        outage,
        firing,
        seconds,
        before_end,
    )

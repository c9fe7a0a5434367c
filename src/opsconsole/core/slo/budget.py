"""Remaining error budget over an SLO's window, from request counts (never averaged ratios)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, tzinfo

from opsconsole.core.slo.figure import Figure, count_text, percent_text
from opsconsole.core.slo.model import WHOLE, Counts, Slo, SloObservation

# Below this the remaining budget reads as exactly used up: float noise must not say
# "overspent by 0 %" when the failures equal the budget.
_EXACT = 1e-9


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """How much of an SLO's error budget is left in its window, as a fraction and absolute.

    `remaining.value` is 1.0 when no request failed, 0.0 when the failures equal the budget,
    negative when overspent. `None` figures mean no counts for the window.
    """

    slo: Slo
    counts: Counts | None
    allowed: Figure  # failed requests the budget allows for the requests counted
    remaining: Figure  # fraction of the budget left
    remaining_requests: Figure  # failed requests still allowed (negative when overspent)
    outage_minutes: Figure  # minutes of full outage the remaining budget equals
    words: str  # "87.5 % left", "used up", "overspent by 12 %"

    @property
    def fraction(self) -> float | None:
        return self.remaining.value


def remaining_fraction(bad: float, total: float, budget: float) -> float:
    """1 − failed ÷ (budget × total): exactly 1 with no failure, 0 when failures equal the
    budget, negative when overspent."""
    if bad <= 0:
        return 1.0
    allowed = budget * total
    if allowed <= 0:
        # A count so small that its budget underflows to nothing (5e-324 requests): any
        # failure overspends it without bound, as the batch maths' division says.
        return -math.inf
    remaining = 1.0 - bad / allowed
    return 0.0 if abs(remaining) < _EXACT else remaining


def remaining_words(fraction: float | None) -> str:
    """ "87.5 % left", "used up", "overspent by 12 %", or "no data"."""
    if fraction is None:
        return "no data"
    if fraction == 0.0:
        return "used up"
    if fraction < 0:
        return f"overspent by {percent_text(-fraction, 1)}"
    return f"{percent_text(fraction, 1)} left"


def budget_status(slo: Slo, counts: Counts | None, window_length_s: float) -> BudgetStatus:
    """The budget left after `counts` (the whole window's requests) for `slo`.

    `window_length_s` is the window's full length (a calendar month's 28 to 31 days): the
    budget in time is budget × length, the minutes a total outage could last.
    """
    budget = slo.budget
    objective = percent_text(slo.objective, 3)
    minutes_total = budget * window_length_s / 60.0
    if counts is None:
        none = Figure(None, "—", "no counts for the SLO window", "the backend reported none")
        return BudgetStatus(slo, None, none, none, none, none, remaining_words(None))
    allowed = budget * counts.total
    fraction = remaining_fraction(counts.bad, counts.total, budget)
    counted = (
        f"{count_text(counts.bad)} failed of {count_text(counts.total)} requests in the "
        f"{slo.window.words} window; objective {objective}, budget {percent_text(budget, 3)}"
    )
    allowed_fig = Figure(
        allowed,
        count_text(allowed),
        "allowed failures = budget × requests = (1 − objective) × total",
        f"{percent_text(budget, 3)} × {count_text(counts.total)} = {count_text(allowed)}",
    )
    remaining_fig = Figure(
        fraction,
        percent_text(fraction, 1),
        "remaining = 1 − failed ÷ allowed failures (100 % when nothing failed)",
        counted,
    )
    left = allowed - counts.bad
    requests_fig = Figure(
        left,
        count_text(left),
        "failed requests still allowed = allowed failures − failed",
        f"{count_text(allowed)} − {count_text(counts.bad)} = {count_text(left)}",
    )
    minutes = fraction * minutes_total
    outage_fig = Figure(
        minutes,
        f"{minutes:.1f} min",
        "full-outage minutes = remaining × budget × window length",
        f"{percent_text(fraction, 1)} × {percent_text(budget, 3)} × "
        f"{window_length_s / 86_400:g} d = {minutes:.1f} min "
        f"(the whole budget is {minutes_total:.1f} min of total outage)",
    )
    return BudgetStatus(
        slo, counts, allowed_fig, remaining_fig, requests_fig, outage_fig, remaining_words(fraction)
    )


def observed_budget(obs: SloObservation, tz: tzinfo = UTC) -> BudgetStatus:
    """The budget left for an observation: its whole-window counts over its window's length."""
    return budget_status(obs.slo, obs.counts(WHOLE), obs.slo.window.length_s(obs.as_of, tz))


def budget_spent(burn_rate: float, span_s: float, window_length_s: float) -> float:
    """Fraction of a window's budget that `span_s` at `burn_rate` spends: burn × span ÷ window.

    The workbook's table: 14.4 for 1 h of 30 d spends 2 %, 6 for 6 h 5 %, 1 for 3 d 10 %.
    """
    return burn_rate * span_s / window_length_s

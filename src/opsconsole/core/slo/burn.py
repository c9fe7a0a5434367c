"""Burn rate per window: the error ratio of its request counts divided by the error budget."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from opsconsole.core.slo.figure import Figure, count_text, percent_text, rate_text
from opsconsole.core.slo.model import BURN_WINDOWS, Counts, SloObservation

# Fewer requests than this in a window and its error ratio means nothing (one failure among
# 20 requests is a 5 % error ratio, a burn of 50 against 99.9 %): shown as too little traffic.
DEFAULT_MIN_REQUESTS = 100.0


class BurnState(enum.Enum):
    """Whether a window's burn rate can be judged."""

    MEASURED = "measured"
    LOW_TRAFFIC = "too little traffic"
    NO_DATA = "no data"


@dataclass(frozen=True, slots=True)
class Burn:
    """The burn rate of one window; `rate` is None unless the state is MEASURED."""

    window: str
    counts: Counts | None
    state: BurnState
    figure: Figure

    @property
    def rate(self) -> float | None:
        return self.figure.value

    def exceeds(self, factor: float) -> bool:
        """True only for a measured burn strictly above `factor`."""
        rate = self.rate
        return rate is not None and rate > factor


def burn_rate(
    window: str,
    counts: Counts | None,
    budget: float,
    min_requests: float = DEFAULT_MIN_REQUESTS,
) -> Burn:
    """Burn rate of `window` = error ratio ÷ budget, unless it has no or too few requests."""
    formula = "burn = error ratio ÷ budget = (failed ÷ total) ÷ (1 − objective)"
    if counts is None:
        return Burn(window, None, BurnState.NO_DATA, Figure(None, "—", formula, "no counts"))
    if counts.total <= 0 or counts.total < min_requests:
        fig = Figure(
            None,
            "low traffic",
            f"not judged: fewer than {count_text(min_requests)} requests in {window}",
            f"{count_text(counts.total)} requests in {window}",
        )
        return Burn(window, counts, BurnState.LOW_TRAFFIC, fig)
    ratio = counts.bad / counts.total
    rate = ratio / budget
    fig = Figure(
        rate,
        rate_text(rate),
        formula,
        f"{window}: {count_text(counts.bad)} failed of {count_text(counts.total)} = "
        f"{percent_text(ratio, 3)}; ÷ {percent_text(budget, 3)} = {rate_text(rate)}",
    )
    return Burn(window, counts, BurnState.MEASURED, fig)


def burn_rates(obs: SloObservation, min_requests: float = DEFAULT_MIN_REQUESTS) -> dict[str, Burn]:
    """The burn rate of every window 5m … 3d of an observation, shortest first."""
    budget = obs.slo.budget
    return {w: burn_rate(w, obs.counts(w), budget, min_requests) for w in BURN_WINDOWS}

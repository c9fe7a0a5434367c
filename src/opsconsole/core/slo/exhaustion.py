"""Projected time until the error budget runs out at the current 1 h and 6 h burn rates."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, tzinfo

from opsconsole.core.slo.budget import BudgetStatus, observed_budget
from opsconsole.core.slo.burn import DEFAULT_MIN_REQUESTS, Burn, burn_rates
from opsconsole.core.slo.figure import Figure, percent_text, rate_text, span_text
from opsconsole.core.slo.model import SloObservation, WindowKind

# The burn rates the projection is made from: the last hour reacts, the last six hours hold.
PROJECTION_WINDOWS = ("1h", "6h")


@dataclass(frozen=True, slots=True)
class Exhaustion:
    """When the budget runs out if one window's burn rate holds.

    `figure.value` is seconds from `as_of` (0 when already used up, inf when nothing burns,
    None when the burn cannot be judged); `before_end` says whether that comes before the
    budget is renewed (the calendar month's end; a rolling window's whole length).
    """

    window: str
    burn: Burn
    before_end: bool | None
    figure: Figure
    settles: bool = False  # a rolling window burning at most 1×: it does not run out

    @property
    def seconds(self) -> float | None:
        return self.figure.value


def project(
    remaining: float | None,
    burn: Burn,
    window_length_s: float,
    left_s: float,
    rolling: bool = False,
) -> Exhaustion:
    """Time to exhaustion = remaining budget × window length ÷ burn rate.

    On a rolling window a burn of at most 1 never runs the budget out, whatever the
    projection says: old failures leave the window at least as fast as new ones come, so the
    window's error ratio settles at or under the objective. It is then not "before the end".
    """
    formula = "time to exhaustion = remaining × window length ÷ burn rate"
    rate = burn.rate
    if remaining is None or rate is None:
        why = "no budget figure" if remaining is None else f"burn {burn.window}: {burn.state.value}"
        return Exhaustion(burn.window, burn, None, Figure(None, "—", formula, why))
    days = window_length_s / 86_400
    if remaining <= 0:
        seconds = 0.0
        text = "used up"
    elif rate <= 0:
        seconds = math.inf
        text = "never at this rate"
    else:
        seconds = remaining * window_length_s / rate
        text = f"in {span_text(seconds)}"
    settles = rolling and 0 < rate <= 1 and remaining > 0
    before = seconds < left_s and not settles
    inputs = (
        f"{percent_text(remaining, 1)} × {days:g} d ÷ {rate_text(rate)} ({burn.window}); "
        f"budget renewed in {span_text(left_s)}"
    )
    if settles:
        inputs += (
            "; rolling window at burn ≤ 1×: old failures leave as fast as new ones come, "
            "so it does not run out"
        )
    figure = Figure(seconds, text, formula, inputs)
    return Exhaustion(burn.window, burn, before, figure, settles)


def exhaustion(
    obs: SloObservation,
    min_requests: float = DEFAULT_MIN_REQUESTS,
    budget: BudgetStatus | None = None,
    tz: tzinfo = UTC,
) -> tuple[Exhaustion, ...]:
    """The projections from the 1 h and the 6 h burn rates, in that order."""
    status = budget if budget is not None else observed_budget(obs, tz)
    burns = burn_rates(obs, min_requests)
    window = obs.slo.window
    length, left = window.length_s(obs.as_of, tz), window.left_s(obs.as_of, tz)
    rolling = window.kind is not WindowKind.CALENDAR_MONTH
    return tuple(
        project(status.fraction, burns[w], length, left, rolling) for w in PROJECTION_WINDOWS
    )


def soonest(projections: tuple[Exhaustion, ...]) -> Exhaustion | None:
    """The projection that runs out first, among those that could be made."""
    known = [p for p in projections if p.seconds is not None]
    return min(known, key=lambda p: math.inf if p.seconds is None else p.seconds, default=None)

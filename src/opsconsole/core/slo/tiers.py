"""Multiwindow, multi-burn-rate alert tiers as data, and which of them fire for an observation."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any

from opsconsole.core.slo.budget import budget_spent
from opsconsole.core.slo.burn import DEFAULT_MIN_REQUESTS, Burn, BurnState, burn_rates
from opsconsole.core.slo.figure import Figure, percent_text, rate_text
from opsconsole.core.slo.model import WINDOW_SECONDS, SloObservation

SEVERITIES = ("page", "ticket")


@dataclass(frozen=True, slots=True)
class BurnTier:
    """One alert tier: it fires when both its long and its short window burn above `factor`."""

    severity: str
    long_window: str
    short_window: str
    factor: float

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"tier severity {self.severity!r}; use one of {', '.join(SEVERITIES)}")
        for w in (self.long_window, self.short_window):
            if w not in WINDOW_SECONDS:
                raise ValueError(f"tier window {w!r} is not one of {', '.join(WINDOW_SECONDS)}")
        if WINDOW_SECONDS[self.short_window] >= WINDOW_SECONDS[self.long_window]:
            raise ValueError(
                f"tier short window {self.short_window} must be shorter than {self.long_window}"
            )
        if not self.factor > 0:
            raise ValueError(f"tier factor must be above 0, got {self.factor}")

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any]) -> BurnTier:
        """A tier from a config table: `severity`, `long`, `short`, `factor`."""
        try:
            return cls(
                str(row["severity"]), str(row["long"]), str(row["short"]), float(row["factor"])
            )
        except KeyError as missing:
            raise ValueError(
                f"tier needs severity, long, short and factor; {missing.args[0]} is missing"
            ) from None

    @property
    def name(self) -> str:
        """ "page 1h/5m"."""
        return f"{self.severity} {self.long_window}/{self.short_window}"

    def threshold(self, budget: float) -> float:
        """The error ratio at which it fires: factor × budget."""
        return self.factor * budget

    def budget_spent(self, window_length_s: float) -> float:
        """Fraction of the budget its long window spends at its factor before it fires."""
        return budget_spent(self.factor, WINDOW_SECONDS[self.long_window], window_length_s)


# The SRE workbook's tiers for a 30-day SLO (anchors.md), most urgent first.
WORKBOOK_TIERS: tuple[BurnTier, ...] = (
    BurnTier("page", "1h", "5m", 14.4),
    BurnTier("page", "6h", "30m", 6.0),
    BurnTier("ticket", "1d", "2h", 3.0),
    BurnTier("ticket", "3d", "6h", 1.0),
)


class TierState(enum.Enum):
    FIRING = "firing"
    OK = "ok"
    LOW_TRAFFIC = "too little traffic"
    NO_DATA = "no data"


@dataclass(frozen=True, slots=True)
class TierVerdict:
    """A tier judged on one observation: both burns, its state and why."""

    tier: BurnTier
    long: Burn
    short: Burn
    state: TierState
    figure: Figure  # value 1.0 firing, 0.0 not, None when it cannot be judged

    @property
    def firing(self) -> bool:
        return self.state is TierState.FIRING


def judge_tier(tier: BurnTier, long: Burn, short: Burn, budget: float) -> TierVerdict:
    """FIRING only when both windows are measured and above the factor; a window with too
    little traffic or no data makes the tier say so instead of guessing."""
    states = (long.state, short.state)
    if BurnState.NO_DATA in states:
        state = TierState.NO_DATA
    elif BurnState.LOW_TRAFFIC in states:
        state = TierState.LOW_TRAFFIC
    elif long.exceeds(tier.factor) and short.exceeds(tier.factor):
        state = TierState.FIRING
    else:
        state = TierState.OK
    value = {TierState.FIRING: 1.0, TierState.OK: 0.0}.get(state)
    figure = Figure(
        value,
        state.value,
        f"fires when burn {tier.long_window} > {tier.factor:g} and burn {tier.short_window} > "
        f"{tier.factor:g} (error ratio > {percent_text(tier.threshold(budget), 3)})",
        f"burn {tier.long_window} {rate_text(long.rate)} ({long.state.value}), "
        f"burn {tier.short_window} {rate_text(short.rate)} ({short.state.value})",
    )
    return TierVerdict(tier, long, short, state, figure)


def evaluate_tiers(
    obs: SloObservation,
    tiers: tuple[BurnTier, ...] = WORKBOOK_TIERS,
    min_requests: float = DEFAULT_MIN_REQUESTS,
) -> tuple[TierVerdict, ...]:
    """Every tier judged on `obs`, in the tiers' order."""
    burns = burn_rates(obs, min_requests)
    budget = obs.slo.budget
    return tuple(judge_tier(t, burns[t.long_window], burns[t.short_window], budget) for t in tiers)


def worst_firing(verdicts: tuple[TierVerdict, ...]) -> TierVerdict | None:
    """The most urgent firing tier: a page before a ticket, then the higher factor."""
    firing = [v for v in verdicts if v.firing]
    if not firing:
        return None
    return min(firing, key=lambda v: (SEVERITIES.index(v.tier.severity), -v.tier.factor))


def tier_table_spent(
    obs: SloObservation, tiers: tuple[BurnTier, ...] = WORKBOOK_TIERS, tz: tzinfo = UTC
) -> tuple[float, ...]:
    """The budget each tier has spent when it fires, for this SLO's window length."""
    length = obs.slo.window.length_s(obs.as_of, tz)
    return tuple(t.budget_spent(length) for t in tiers)

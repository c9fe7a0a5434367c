"""Error-budget rows: each SLO's words, colours, hover formulas and sort rank, from store state."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, tzinfo

from opsconsole.core.clocktext import clock_text
from opsconsole.core.health import Health
from opsconsole.core.models import ConnectionState
from opsconsole.core.slo.budget import BudgetStatus, observed_budget
from opsconsole.core.slo.burn import DEFAULT_MIN_REQUESTS, Burn, BurnState, burn_rates
from opsconsole.core.slo.exhaustion import Exhaustion, exhaustion, soonest
from opsconsole.core.slo.figure import count_text, percent_text
from opsconsole.core.slo.model import Deploy, SloObservation, SloWindow, WindowKind
from opsconsole.core.slo.tiers import (
    SEVERITIES,
    WORKBOOK_TIERS,
    BurnTier,
    TierState,
    TierVerdict,
    evaluate_tiers,
    worst_firing,
)
from opsconsole.core.store import Store
from opsconsole.core.words import NO_DATA, rough_age_text, stale_text

Key = tuple[str, str]  # (backend, service)

# A budget with less than this left is a warning even before any tier fires.
LOW_REMAINING = 0.25
# A projected exhaustion sooner than this (and before the window ends) is critical.
SOON_S = 86_400.0
# The two burn windows the list shows, as the projection uses them.
LIST_BURNS = ("1h", "6h")

SEVERITY_HEALTH: dict[str, Health] = {"page": Health.CRITICAL, "ticket": Health.WARNING}


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    tooltip: str
    numeric: bool = False
    widest: str = ""  # the widest text the column can show, for its width


BACKEND_COLUMN = Column("backend", "Backend", "Which backend reports this SLO")
COLUMNS: tuple[Column, ...] = (
    Column("service", "Service", "The service the objective is for"),
    Column(
        "objective",
        "Objective",
        "Share of requests that must succeed, over a rolling span of days or the calendar "
        'month (renewed on the 1st): "30 d" and "1 month" are not the same thing',
        True,
        "99.95 % · 1 month",
    ),
    Column(
        "remaining",
        "Left",
        "Error budget left in the window (negative: overspent)",
        True,
        "−100 % overspent",
    ),
    Column(
        "allowed",
        "Failures left · outage",
        "Failed requests still allowed, and the minutes of full outage that equals",
        True,
        "−888 k · 888.8 min",
    ),
    Column("burn_1h", "Burn 1 h", "Error ratio of the last hour ÷ budget", True, "88.8× ticket"),
    Column("burn_6h", "Burn 6 h", "Error ratio of the last 6 hours ÷ budget", True, "88.8× ticket"),
    Column(
        "tier",
        "Firing",
        "The most urgent multi-window burn tier that fires (ok: none)",
        widest="page 6h/30m +3 more",
    ),
    Column("deploy", "Deploy", "Time since the service's last deploy", widest="59 min ago · v888"),
    Column(
        "exhaustion",
        "Runs out",
        "When the budget is gone at the current 1 h or 6 h burn, whichever is sooner, and "
        "whether that comes before the window ends",
    ),
)


@dataclass(frozen=True)
class SloFigures:
    """The per-SLO maths of one observation, computed once per observation (not per tick)."""

    obs: SloObservation
    budget: BudgetStatus
    burns: dict[str, Burn]
    verdicts: tuple[TierVerdict, ...]
    projections: tuple[Exhaustion, ...]


def slo_figures(
    obs: SloObservation,
    tiers: tuple[BurnTier, ...] = WORKBOOK_TIERS,
    min_requests: float = DEFAULT_MIN_REQUESTS,
    tz: tzinfo = UTC,
) -> SloFigures:
    budget = observed_budget(obs, tz)
    return SloFigures(
        obs,
        budget,
        burn_rates(obs, min_requests),
        evaluate_tiers(obs, tiers, min_requests),
        exhaustion(obs, min_requests, budget, tz),
    )


@dataclass(frozen=True)
class SloRow:
    """Everything one row shows, computed in refresh; the model only reads it."""

    backend: str
    service: str
    texts: dict[str, str]
    tooltips: dict[str, str]  # by column: the formula and its inputs
    health: dict[str, Health]  # colour by column; absent = plain text
    stale: bool
    remaining: float | None

    @property
    def key(self) -> Key:
        return (self.backend, self.service)

    @property
    def sort_key(self) -> tuple[int, float, str, str]:
        # Worst remaining first; SLOs without a figure last.
        known = self.remaining is not None and not math.isnan(self.remaining)
        return (0 if known else 1, self.remaining if known else 0.0, self.service, self.backend)

    @property
    def filter_text(self) -> str:
        """What "/" searches: service, window, tier state, backend."""
        t = self.texts
        return f"{self.service} {t['window']} {t['tier']} {t['objective']} {self.backend}"


def burn_level(burn: Burn, tiers: tuple[BurnTier, ...]) -> tuple[Health, str]:
    """The most severe tier whose factor this burn exceeds, as a colour and one word."""
    if burn.state is not BurnState.MEASURED:
        return Health.UNKNOWN, ""
    exceeded = [t for t in tiers if burn.exceeds(t.factor)]
    if not exceeded:
        return Health.HEALTHY, ""
    worst = min(exceeded, key=lambda t: (SEVERITIES.index(t.severity), -t.factor))
    return SEVERITY_HEALTH[worst.severity], worst.severity


def burn_cell(burn: Burn, tiers: tuple[BurnTier, ...]) -> tuple[str, str, Health]:
    """Text ("16.2× page", "too little traffic"), hover text and colour of one burn rate."""
    health, word = burn_level(burn, tiers)
    if burn.state is BurnState.LOW_TRAFFIC:
        text = BurnState.LOW_TRAFFIC.value
    elif burn.state is BurnState.NO_DATA:
        text = NO_DATA
    else:
        text = f"{burn.figure.text} {word}".strip()
    factors = ", ".join(f"{t.name} above {t.factor:g}" for t in tiers)
    tip = f"{burn.figure.explanation}\ntiers: {factors}"
    return text, tip, health


def tier_cell(verdicts: tuple[TierVerdict, ...]) -> tuple[str, str, Health]:
    firing = worst_firing(verdicts)
    lines = "\n".join(f"{v.tier.name}: {v.figure.text} — {v.figure.inputs}" for v in verdicts)
    if firing is not None:
        more = sum(v.firing for v in verdicts) - 1
        # The column says "Firing": the tier's name is enough ("page 1h/5m +3").
        text = firing.tier.name + (f" +{more} more" if more else "")
        return text, lines, SEVERITY_HEALTH[firing.tier.severity]
    states = {v.state for v in verdicts}
    if TierState.NO_DATA in states:
        return TierState.NO_DATA.value, lines, Health.UNKNOWN
    if states == {TierState.LOW_TRAFFIC}:
        return TierState.LOW_TRAFFIC.value, lines, Health.UNKNOWN
    return "ok", lines, Health.HEALTHY


def exhaustion_cell(projections: tuple[Exhaustion, ...]) -> tuple[str, str, Health]:
    tip = "\n".join(
        f"from burn {p.window}: {p.figure.text}\n{p.figure.explanation}" for p in projections
    )
    first = soonest(projections)
    if first is None or first.seconds is None:
        return NO_DATA, tip, Health.UNKNOWN
    seconds = first.seconds
    if seconds == 0:
        return "used up", tip, Health.CRITICAL
    if math.isinf(seconds):
        return first.figure.text, tip, Health.HEALTHY
    if first.settles:
        return "lasts · burn ≤ 1×", tip, Health.HEALTHY
    if first.before_end:
        health = Health.CRITICAL if seconds < SOON_S else Health.WARNING
        return f"{_span(first)} · before end", tip, health
    return f"{_span(first)} · after end", tip, Health.HEALTHY


def _span(projection: Exhaustion) -> str:
    text = projection.figure.text
    return text.removeprefix("in ")


def remaining_cell(budget: BudgetStatus) -> tuple[str, str, Health]:
    fraction = budget.fraction
    fig = budget.remaining
    if fraction is None:
        return NO_DATA, fig.explanation, Health.UNKNOWN
    if fraction < 0:
        text, health = f"{percent_text(fraction, 1)} overspent", Health.CRITICAL
    elif fraction == 0:
        text, health = "0 % used up", Health.CRITICAL
    elif fraction < LOW_REMAINING:
        text, health = fig.text, Health.WARNING
    else:
        text, health = fig.text, Health.HEALTHY
    return text, f"{budget.words}\n{fig.explanation}", health


RATIOS_ONLY_WORDS = (
    "The server records ratios, not request counts (Sloth recording rules): "
    "failed requests still allowed cannot be known"
)


def allowed_cell(budget: BudgetStatus, ratios_only: bool = False) -> tuple[str, str]:
    left, minutes = budget.remaining_requests, budget.outage_minutes
    if ratios_only:
        return f"ratio only · {minutes.text}", f"{RATIOS_ONLY_WORDS}\n\n{minutes.explanation}"
    if left.value is None:
        return NO_DATA, left.explanation
    tip = "\n\n".join(f.explanation for f in (budget.allowed, left, minutes))
    return f"{compact_count(left.value)} · {minutes.text}", tip


def compact_count(n: float) -> str:
    """A count for a narrow cell: "7 200", "177 k", "1.0 M" (the hover text has it exact);
    whole failures only, since "726 158.7 failed requests still allowed" reads as noise."""
    whole = math.floor(n) if n >= 0 else math.ceil(n)
    size = abs(whole)
    sign = "−" if whole < 0 else ""
    if size < 10_000:
        return count_text(whole)
    if size < 1_000_000:
        return f"{sign}{size / 1e3:.0f} k"
    return f"{sign}{size / 1e6:.1f} M"


def objective_cell(figures: SloFigures) -> tuple[str, str]:
    slo = figures.obs.slo
    budget = figures.budget.allowed
    tip = (
        f"{slo.indicator} objective {percent_text(slo.objective, 3)} over the {slo.window.words}"
        f" window; error budget = 1 − objective = {percent_text(slo.budget, 3)}\n"
        f"{budget.explanation}"
    )
    return f"{percent_text(slo.objective, 3)} · {window_short(slo.window)}", tip


def window_short(window: SloWindow) -> str:
    """ "30 d" (rolling) or "1 month" (calendar): the list's words for the window."""
    return "1 month" if window.kind is WindowKind.CALENDAR_MONTH else f"{window.days} d"


def deploy_cell(deploy: Deploy | None, server_now: float) -> tuple[str, str]:
    if deploy is None:
        return NO_DATA, "no deploy of this service seen"
    came_from = f" from {deploy.prev_version}" if deploy.prev_version else ""
    by = f" by {deploy.by}" if deploy.by else ""
    tip = f"{deploy.version}{came_from}{by} at {clock_text(deploy.ts)}"
    return f"{rough_age_text(server_now - deploy.ts)} ago · {deploy.version}", tip


def build_row(
    backend: str,
    figures: SloFigures,
    last_deploy: Deploy | None,
    server_now: float,
    stale: bool = False,
    stale_age: float | None = None,
    tiers: tuple[BurnTier, ...] = WORKBOOK_TIERS,
) -> SloRow:
    """One SLO's row; a STALE backend's rows keep their last figures, greyed, and say so."""
    obs = figures.obs
    texts: dict[str, str] = {"backend": backend, "service": obs.service}
    tips: dict[str, str] = {"backend": f"{obs.service}'s SLO as {backend} reports it"}
    health: dict[str, Health] = {}
    texts["objective"], tips["objective"] = objective_cell(figures)
    texts["window"] = obs.slo.window.words
    tips["window"] = (
        "renewed on the 1st of each month"
        if obs.slo.window.kind is WindowKind.CALENDAR_MONTH
        else f"the last {obs.slo.window.days} days, moving with the clock"
    )
    texts["remaining"], tips["remaining"], health["remaining"] = remaining_cell(figures.budget)
    texts["allowed"], tips["allowed"] = allowed_cell(figures.budget, obs.ratios_only)
    for window in LIST_BURNS:
        col = f"burn_{window}"
        texts[col], tips[col], health[col] = burn_cell(figures.burns[window], tiers)
    texts["tier"], tips["tier"], health["tier"] = tier_cell(figures.verdicts)
    texts["exhaustion"], tips["exhaustion"], health["exhaustion"] = exhaustion_cell(
        figures.projections
    )
    texts["deploy"], tips["deploy"] = deploy_cell(last_deploy, server_now)
    tips["objective"] += f"\nwindow: {obs.slo.window.words}, {tips['window']}"
    tips["service"] = f"{obs.service}: {figures.budget.words} ({obs.slo.window.words})"
    if stale:
        # The last figures stay (greyed); the tier column says how old they are.
        texts["tier"] = stale_text(stale_age)
        tips = {k: f"last known; the backend is STALE\n{v}" for k, v in tips.items()}
        health = {}
    return SloRow(backend, obs.service, texts, tips, health, stale, figures.budget.fraction)


def last_deploys(deploys: Iterable[Deploy]) -> dict[str, Deploy]:
    """The newest deploy of each service (deploys come oldest first)."""
    newest: dict[str, Deploy] = {}
    for deploy in deploys:
        newest[deploy.service] = deploy
    return newest


class SloRowBuilder:
    """Rows of every SLO of every backend; each observation's maths is done once and kept.

    The store replaces observations on each SLO refresh; between them only the ages move, so
    a tick rebuilds the cheap words and reuses the figures.
    """

    def __init__(
        self,
        tiers: tuple[BurnTier, ...] = WORKBOOK_TIERS,
        min_requests: float = DEFAULT_MIN_REQUESTS,
        tz: tzinfo = UTC,
    ) -> None:
        self.tiers = tiers
        self.min_requests = min_requests
        self.tz = tz
        self._figures: dict[Key, SloFigures] = {}
        self.computed = 0  # observations whose maths was done (tests: not per tick)

    def figures(self, key: Key, obs: SloObservation) -> SloFigures:
        cached = self._figures.get(key)
        if cached is None or cached.obs is not obs:
            cached = self._figures[key] = slo_figures(obs, self.tiers, self.min_requests, self.tz)
            self.computed += 1
        return cached

    def rows(self, store: Store, wall_now: float) -> list[SloRow]:
        out: list[SloRow] = []
        seen: set[Key] = set()
        for name, state in store.backends.items():
            if not state.slos:
                continue
            stale = state.link.state is not ConnectionState.LIVE
            age = store.data_age(name) if stale else None
            server_now = store.server_now(name, wall_now)
            deploys = last_deploys(state.deploys)
            for service, obs in state.slos.items():
                key = (name, service)
                seen.add(key)
                figures = self.figures(key, obs)
                out.append(
                    build_row(
                        name, figures, deploys.get(service), server_now, stale, age, self.tiers
                    )
                )
        for key in [k for k in self._figures if k not in seen]:
            del self._figures[key]
        return out

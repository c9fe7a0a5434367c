"""What the selected SLO's detail shows: its tier table, burn-down line and markers, without Qt."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, tzinfo

import numpy as np

from opsconsole.core.clocktext import clock_text
from opsconsole.core.health import Health
from opsconsole.core.models import Event
from opsconsole.core.rows.slos import SEVERITY_HEALTH, SloFigures
from opsconsole.core.slo.burndown import BurnDown, burn_down
from opsconsole.core.slo.figure import percent_text, rate_text
from opsconsole.core.slo.model import BURN_WINDOWS, WHOLE, WINDOW_SECONDS, Deploy, SloObservation
from opsconsole.core.slo.tiers import TierState
from opsconsole.core.words import NO_DATA

# Event kinds drawn as incident markers: what was done to or happened to the service.
INCIDENT_KINDS = frozenset({"scenario", "failover", "action"})


@dataclass(frozen=True)
class TierColumn:
    key: str
    header: str
    tooltip: str


TIER_COLUMNS: tuple[TierColumn, ...] = (
    TierColumn("tier", "Tier", "Severity of the alert this tier raises"),
    TierColumn("windows", "Windows", "Long / short window: both must burn above the factor"),
    TierColumn("factor", "Factor", "Burn rate at which the tier fires"),
    TierColumn("threshold", "Threshold", "The error ratio that factor means: factor × budget"),
    TierColumn("spent", "Spent", "Budget the long window spends at the factor before it fires"),
    TierColumn("long", "Long burn", "Burn rate of the long window now"),
    TierColumn("short", "Short burn", "Burn rate of the short window now"),
    TierColumn("state", "State", "firing only when both windows are above the factor"),
)


@dataclass(frozen=True)
class TierRow:
    """One line of the four-tier table: texts and hover formulas by column, and its colour."""

    texts: dict[str, str]
    tooltips: dict[str, str]
    health: Health


def tier_rows(
    figures: SloFigures, tz: tzinfo = UTC, stale: str | None = None
) -> tuple[TierRow, ...]:
    """The four-tier table; `stale` ("STALE 12 s") when its backend is not live: each state
    then says so and is not coloured as a verdict on data that may have moved."""
    obs = figures.obs
    budget = obs.slo.budget
    length = obs.slo.window.length_s(obs.as_of, tz)
    rows: list[TierRow] = []
    for verdict in figures.verdicts:
        tier = verdict.tier
        spent = tier.budget_spent(length)
        texts = {
            "tier": tier.severity,
            "windows": f"{tier.long_window} / {tier.short_window}",
            "factor": rate_text(tier.factor),
            "threshold": percent_text(tier.threshold(budget), 3),
            "spent": percent_text(spent, 1),
            "long": _burn_text(verdict.long.figure.text, verdict.long.rate),
            "short": _burn_text(verdict.short.figure.text, verdict.short.rate),
            "state": verdict.state.value,
        }
        tips = {
            "threshold": f"threshold = factor × budget\n{rate_text(tier.factor)} × "
            f"{percent_text(budget, 3)} = {texts['threshold']}",
            "spent": f"spent = factor × long window ÷ SLO window\n{tier.factor:g} × "
            f"{WINDOW_SECONDS[tier.long_window] / 3600:g} h ÷ {length / 86_400:g} d = "
            f"{texts['spent']}",
            "long": verdict.long.figure.explanation,
            "short": verdict.short.figure.explanation,
            "state": verdict.figure.explanation,
        }
        if verdict.state is TierState.FIRING:
            health = SEVERITY_HEALTH[tier.severity]
        elif verdict.state is TierState.OK:
            health = Health.HEALTHY
        else:
            health = Health.UNKNOWN
        if stale is not None:
            texts["state"] = f"{stale} (was {verdict.state.value})"
            health = Health.UNKNOWN
        rows.append(TierRow(texts, tips, health))
    return tuple(rows)


def _burn_text(text: str, rate: float | None) -> str:
    return text if rate is not None or text != "—" else NO_DATA


@dataclass(frozen=True)
class BurnDownView:
    """The line to draw and what it is drawn from, in words (steps, or window totals only)."""

    line: BurnDown
    start: float
    end: float
    source: str  # "hourly counts, 720 steps" or "window totals only: 8 points"
    coarse: bool


def window_bounds(obs: SloObservation, tz: tzinfo = UTC) -> tuple[float, float]:
    return obs.slo.window.bounds(obs.as_of, tz)


def ideal_line(ts: np.ndarray, start: float, length_s: float) -> np.ndarray:
    return np.clip(1.0 - (ts - start) / length_s, 0.0, 1.0)


def burn_down_from_windows(obs: SloObservation, tz: tzinfo = UTC) -> BurnDownView | None:
    """What the window totals allow: the budget left at the start of each burn window.

    Failures before `as_of − L` are the whole window's failures minus those of window L, so
    each reported window inside the SLO window gives one point (3 d ago … 5 min ago), plus
    the window's start (100 %) and now. None without the whole window's counts.
    """
    whole = obs.counts(WHOLE)
    if whole is None:
        return None
    start, end = window_bounds(obs, tz)
    length = end - start
    allowed = obs.slo.budget * whole.total
    ts = [start]
    bad_before = [0.0]
    for window in reversed(BURN_WINDOWS):  # longest first: oldest point first
        counts = obs.counts(window)
        at = obs.as_of - WINDOW_SECONDS[window]
        if counts is None or at <= start:
            continue
        ts.append(at)
        bad_before.append(max(0.0, whole.bad - counts.bad))
    ts.append(obs.as_of)
    bad_before.append(whole.bad)
    times = np.array(ts)
    bad = np.array(bad_before)
    remaining = 1.0 - bad / allowed if allowed > 0 else np.ones_like(bad)
    remaining[bad <= 0] = 1.0
    line = BurnDown(times, remaining, ideal_line(times, start, length))
    words = f"window totals only: {len(ts)} points (per-step counts not loaded)"
    return BurnDownView(line, start, end, words, coarse=True)


def burn_down_from_points(
    obs: SloObservation, points: np.ndarray, step_s: float, tz: tzinfo = UTC
) -> BurnDownView:
    """The line from per-step counts (the Ops API's budget points); steps without counts
    (NaN, the wire's null) are left out and counted in the words."""
    start, end = window_bounds(obs, tz)
    raw = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    held = raw[~np.isnan(raw).any(axis=1)]
    line = burn_down(obs.slo, held, step_s, start, end - start)
    missing = len(raw) - len(held)
    words = f"{_step_words(step_s)} counts, {len(line.ts)} steps"
    if missing:
        words += f" ({missing} without counts)"
    return BurnDownView(line, start, end, words, coarse=False)


def _step_words(step_s: float) -> str:
    named = {60.0: "per-minute", 300.0: "5-minute", 3600.0: "hourly", 86_400.0: "daily"}
    return named.get(step_s, f"{step_s:g} s")


@dataclass(frozen=True)
class Marker:
    """A vertical line on the burn-down: a deploy or an incident."""

    ts: float
    kind: str  # "deploy" or "incident"
    label: str
    tooltip: str


def deploy_markers(
    deploys: Iterable[Deploy], service: str, start: float, end: float
) -> list[Marker]:
    out: list[Marker] = []
    for d in deploys:
        if d.service != service or not start <= d.ts <= end:
            continue
        came_from = f" (from {d.prev_version})" if d.prev_version else ""
        by = f" by {d.by}" if d.by else ""
        out.append(
            Marker(
                d.ts,
                "deploy",
                d.version,
                f"deploy {d.version}{came_from}{by} at {clock_text(d.ts)}",
            )
        )
    return out


def incident_markers(
    events: Iterable[tuple[str, Event]], backend: str, service: str, start: float, end: float
) -> list[Marker]:
    """Scenario, failover and action events of the service within the window."""
    out: list[Marker] = []
    for b, ev in events:
        if b != backend or ev.service != service or ev.kind not in INCIDENT_KINDS:
            continue
        if start <= ev.ts <= end:
            out.append(Marker(ev.ts, "incident", ev.kind, f"{clock_text(ev.ts)} {ev.message}"))
    return out

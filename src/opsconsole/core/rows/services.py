"""Service rows: each service's numbers, health word, the reason why, tooltips and sort rank."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from opsconsole.core.health import (
    FORMATS,
    JUDGE_WINDOW_S,
    Health,
    ServiceEvaluation,
    SignalEvaluation,
    evaluate,
    span_text,
)
from opsconsole.core.models import Service
from opsconsole.core.words import HEALTH_WORDS, NO_DATA, STALE, stale_text
from opsconsole.core.worst import Standing

# Worst first: critical, operator-forced, warning, then unknown/stale (the operator cannot
# vouch for those), healthy last.
SORT_RANK: dict[Health, int] = {
    Health.CRITICAL: 0,
    Health.FORCED: 1,
    Health.WARNING: 2,
    Health.UNKNOWN: 3,
    Health.HEALTHY: 4,
}


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    tooltip: str
    numeric: bool = False
    field: str | None = None  # metric field shown, for numeric columns
    fmt: Callable[[float], str] | None = None


def _ms(v: float) -> str:
    return f"{v:.0f}"


def _rps(v: float) -> str:
    return f"{v:.1f}"


BACKEND_COLUMN = Column("backend", "Backend", "Which backend reports this service")
COLUMNS: tuple[Column, ...] = (
    Column("service", "Service", "Display name; hover for name, tier and backend"),
    Column("health", "Health", "Worst golden signal against its threshold"),
    # Third, not last: on a narrow screen the numbers scroll away before the reason does.
    Column(
        "why",
        "Why",
        f"The reason for the health verdict: judged on the median of the last "
        f"{JUDGE_WINDOW_S:g} s; a value over its limit is marked at once",
    ),
    Column("p50", "p50 ms", "Median latency", True, "latency_p50_ms", _ms),
    Column("p95", "p95 ms", "95th percentile latency", True, "latency_p95_ms", _ms),
    # The limited signals are written by their core format: the Why text uses the same one,
    # so a cell and its reason always show the same digits.
    Column(
        "p99",
        "p99 ms",
        "99th percentile latency (newest sample)",
        True,
        "latency_p99_ms",
        FORMATS["latency_p99_ms"].number,
    ),
    Column("rps", "rps", "Traffic: requests per second", True, "rps", _rps),
    Column(
        "errors",
        "Err %",
        "Errors: share of failed requests",
        True,
        "error_ratio",
        FORMATS["error_ratio"].number,
    ),
    Column("cpu", "CPU %", "CPU utilisation", True, "cpu", FORMATS["cpu"].number),
    Column("mem", "Mem %", "Memory utilisation", True, "memory", FORMATS["memory"].number),
)


def format_value(column: Column, value: float | None) -> str:
    if value is None or math.isnan(value) or column.fmt is None:
        return NO_DATA
    return column.fmt(value)


_SIGNAL_COLUMNS = {c.field: c.key for c in COLUMNS if c.field}


@dataclass(frozen=True)
class RowView:
    """Everything one row shows, computed once per change; the model only reads it."""

    backend: str
    service: str
    texts: dict[str, str]  # column key → display text
    health: Health
    signal_column: str | None  # the column of the signal behind the verdict
    stale: bool
    tooltip: str
    why_tooltip: str
    # Signal column key → its own colour level: a cell over its limit is CRITICAL at once,
    # before the median turns the row CRITICAL.
    cells: dict[str, Health] = field(default_factory=dict)
    evaluation: ServiceEvaluation | None = None
    has_data: bool = False  # samples exist: worth pointing the charts at

    @property
    def key(self) -> tuple[str, str]:
        return (self.backend, self.service)

    @property
    def sort_key(self) -> tuple[int, str, str]:
        return (SORT_RANK[self.health], self.backend, self.service)

    @property
    def why_level(self) -> Health:
        """The Why text's colour: the row's level, or a breach the row does not show yet."""
        return min((self.health, *self.cells.values()), key=SORT_RANK.__getitem__)

    @property
    def standing(self) -> Standing:
        """How bad the row is, for following the worst service."""
        if self.stale or self.evaluation is None:
            return Standing(Health.UNKNOWN, 0.0)
        return Standing(self.health, self.evaluation.pressure)

    def cell_tooltip(self, column: str) -> str | None:
        """A signal cell's numbers: newest, judged, limit, and since when it is over it."""
        ev = self.evaluation
        name = next((f for f, key in _SIGNAL_COLUMNS.items() if key == column), None)
        signal = None if ev is None or name is None else ev.get(name)
        if signal is None:
            return None
        return signal_tooltip(signal)


def _clock(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts))


def signal_tooltip(s: SignalEvaluation) -> str:
    fmt = s.fmt
    lines = [
        f"{s.label} now {_shown(fmt.text, s.latest)}",
        f"{s.window_s:g} s median {_shown(fmt.text, s.value)} (health is judged on it)"
        if s.window_s > 0
        else f"judged {_shown(fmt.text, s.value)}",
        f"limit {fmt.limit_text(s.limit)}",
    ]
    if s.breaching:
        since = s.breaching_since
        duration = s.breaching_for
        lines.append(
            "over the limit"
            + ("" if since is None else f" since {_clock(since)}")
            + ("" if duration is None else f" (breaching {span_text(duration)})")
        )
    return "\n".join(lines)


def _shown(text: Callable[[float], str], value: float) -> str:
    return text(value) if math.isfinite(value) else NO_DATA


def build_row(
    backend: str,
    service: Service,
    latest: dict[str, float] | None,
    stale_age: float | None,
    stale: bool,
    judged: dict[str, float] | None = None,
    evaluation: ServiceEvaluation | None = None,
) -> RowView:
    """One row: numbers from the newest sample, health and Why from one evaluation.

    `evaluation` defaults to judging `judged` (or `latest` itself when None); `stale_age`
    is the data age shown for stale backends.
    """
    if evaluation is None:
        window = 0.0 if judged is None else JUDGE_WINDOW_S
        base = latest if judged is None else judged
        evaluation = evaluate(base, service.thresholds, latest=latest, stale=stale, window_s=window)
    texts = {
        "backend": backend,
        "service": service.display_name or service.name,
        "health": STALE if stale else HEALTH_WORDS[evaluation.level],
    }
    for col in COLUMNS:
        if col.field is not None:
            texts[col.key] = format_value(col, None if latest is None else latest.get(col.field))
    why = evaluation.reason
    # Stale: the whole-second age, so the Why ticks once a second.
    texts["why"] = stale_text(stale_age) if stale else why
    t = service.thresholds
    limits = ", ".join(
        f"{fmt.label} {fmt.limit_text(getattr(t, name))}" for name, fmt in FORMATS.items()
    )
    tooltip = (
        f"{service.name}\ntier: {service.tier or 'unknown'}\nbackend: {backend}\n"
        f"thresholds: {limits}"
    )
    cells: dict[str, Health] = {}
    if not stale:
        for signal in evaluation.signals:
            if signal.severity >= Health.WARNING:
                cells[_SIGNAL_COLUMNS[signal.name]] = signal.severity
    if stale:
        why_tooltip = texts["why"]
    else:
        why_tooltip = why.replace("; ", "\n") or "All signals within their thresholds"
        why_tooltip += (
            f"\n(health: median of the last {JUDGE_WINDOW_S:g} s; "
            "a value over its limit is marked at once)"
        )
    return RowView(
        backend=backend,
        service=service.name,
        texts=texts,
        health=evaluation.level,
        signal_column=None if stale else _SIGNAL_COLUMNS.get(evaluation.signal or ""),
        stale=stale,
        tooltip=tooltip,
        why_tooltip=why_tooltip,
        cells=cells,
        evaluation=None if stale else evaluation,
        has_data=latest is not None,
    )

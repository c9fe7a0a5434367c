"""Sloth's recorded SLO rules (`slo:sli_error:ratio_rate*`, `slo:objective:ratio`) as observations.

When a Prometheus server already runs Sloth-generated recording rules, the console reads them
instead of computing its own counts. Two instant queries in all: a cheap one at start to learn
whether the rules exist (`DETECT`), then one per refresh that reads every window of every SLO
(`READ`), whatever the number of services.

Sloth records error RATIOS, not counts: `slo:sli_error:ratio_rate5m` … `_rate3d`, and the
whole period (`ratio_rate30d`) as the average of the 5-minute ratios, which is not
request-weighted (a quiet night weighs like a busy noon; Sloth documents it). The console
cannot recover counts from them, so each window becomes `Counts(good=1 − ratio, total=1)`:
one unit of traffic. Ratios, burn rates, remaining budget as a fraction and the tiers come out
right; absolute figures ("requests still allowed") mean nothing for such an SLO, and
`from_ratios` says so (`RATIO_TOTAL` is the marker a panel can test: a total of exactly 1).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from opsconsole.core.durations import parse_duration
from opsconsole.core.promql import Vector
from opsconsole.core.slo.model import (
    WHOLE,
    WINDOW_SECONDS,
    Counts,
    Slo,
    SloObservation,
    SloWindow,
)

SERVICE_LABEL = "sloth_service"
SLO_LABEL = "sloth_slo"
WINDOW_LABEL = "sloth_window"
OBJECTIVE = "slo:objective:ratio"
PERIOD_DAYS = "slo:time_period:days"
ERROR_RATIO_PREFIX = "slo:sli_error:ratio_rate"
# Cheap: one tiny series per SLO, no range read.
DETECT = f"group by ({SERVICE_LABEL}, {SLO_LABEL}) ({OBJECTIVE})"
# Every window's ratio, the objectives and the periods of every SLO in one answer (set
# operators keep the metric name, so the rows tell themselves apart).
READ = f'{{__name__=~"{ERROR_RATIO_PREFIX}.+"}} or {OBJECTIVE} or {PERIOD_DAYS}'
RATIO_TOTAL = 1.0
DEFAULT_PERIOD_DAYS = 30  # Sloth's own default when the period rule is missing


@dataclass(frozen=True)
class SlothSlo:
    """What the rules say about one Sloth SLO, before it becomes an observation."""

    service: str
    name: str  # sloth_slo, e.g. "requests-availability"
    objective: float | None = None
    days: int | None = None
    ratios: Mapping[str, float] | None = None  # sloth_window ("5m", "30d", "4w") → ratio


def detected(vector: Vector) -> frozenset[str]:
    """The services that have Sloth SLOs, from the answer to DETECT."""
    return frozenset(s.labels[SERVICE_LABEL] for s in vector.samples if s.labels.get(SERVICE_LABEL))


def read_rules(vector: Vector) -> list[SlothSlo]:
    """The answer to READ, grouped per (service, SLO name), in name order."""
    found: dict[tuple[str, str], dict[str, object]] = {}
    for sample in vector.samples:
        service, name = sample.labels.get(SERVICE_LABEL), sample.labels.get(SLO_LABEL)
        metric = sample.labels.get("__name__", "")
        if not service or not name or not math.isfinite(sample.value):
            continue
        slot = found.setdefault((service, name), {"ratios": {}})
        if metric == OBJECTIVE:
            slot["objective"] = sample.value
        elif metric == PERIOD_DAYS:
            slot["days"] = round(sample.value)
        elif metric.startswith(ERROR_RATIO_PREFIX):
            window = sample.labels.get(WINDOW_LABEL) or metric.removeprefix(ERROR_RATIO_PREFIX)
            ratios = slot["ratios"]
            assert isinstance(ratios, dict)
            ratios[window] = sample.value
    return [
        SlothSlo(service, name, slot.get("objective"), slot.get("days"), slot["ratios"])  # type: ignore[arg-type]
        for (service, name), slot in sorted(found.items())
    ]


def _window_key(window: str, days: int) -> str | None:
    """The console's window key of a `sloth_window` ("5m" → "5m", "30d"/"4w" → WHOLE)."""
    try:
        seconds = parse_duration(window)
    except ValueError:
        return None
    if seconds == days * 86_400.0:
        return WHOLE
    for key, length in WINDOW_SECONDS.items():
        if seconds == length:
            return key
    return None


def pick_per_service(slos: Iterable[SlothSlo]) -> tuple[list[SlothSlo], list[str]]:
    """One SLO per service (the console keeps one): an availability SLO first, else the
    first by name; the notes name what was left out."""
    by_service: dict[str, list[SlothSlo]] = {}
    for slo in slos:
        by_service.setdefault(slo.service, []).append(slo)
    chosen: list[SlothSlo] = []
    notes: list[str] = []
    for service, options in sorted(by_service.items()):
        options.sort(key=lambda s: ("availab" not in s.name.casefold(), s.name))
        chosen.append(options[0])
        if len(options) > 1:
            others = ", ".join(s.name for s in options[1:])
            notes.append(f"{service}: Sloth SLO {options[0].name} shown ({others} not)")
    return chosen, notes


def from_ratios(slo: SlothSlo, as_of: float) -> SloObservation | None:
    """The observation of one Sloth SLO: each window's ratio as one unit of traffic.

    None without an objective (the meta rules are missing: nothing to judge against).
    """
    if slo.objective is None or not 0.0 < slo.objective < 1.0:
        return None
    days = slo.days if slo.days and slo.days > 0 else DEFAULT_PERIOD_DAYS
    windows: dict[str, Counts] = {}
    for window, ratio in (slo.ratios or {}).items():
        key = _window_key(window, days)
        if key is None:
            continue
        bad = min(1.0, max(0.0, ratio))
        windows[key] = Counts(RATIO_TOTAL - bad, RATIO_TOTAL)
    slo_ = Slo(slo.service, slo.objective, SloWindow.rolling(days))
    return SloObservation(slo_, as_of, windows, ratios_only=True)

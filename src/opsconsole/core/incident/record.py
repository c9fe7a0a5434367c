"""What the console itself keeps of an incident's signals: sampled golden signals and SLO figures.

The post-mortem's numbers and charts come from these rows, not from the backend, so a short
retention there (or a backend gone since) does not change the draft.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: The golden-signal fields an incident keeps, in column order.
SAMPLE_FIELDS: tuple[str, ...] = ("latency_p99_ms", "error_ratio", "rps", "cpu")


@dataclass(frozen=True)
class Sample:
    """One service's golden signals at one moment (NaN: not reported)."""

    backend: str
    service: str
    ts: float
    latency_p99_ms: float = math.nan
    error_ratio: float = math.nan
    rps: float = math.nan
    cpu: float = math.nan

    def value(self, field: str) -> float:
        return float(getattr(self, field))


@dataclass(frozen=True)
class SloSnapshot:
    """A service's SLO as seen at one moment of the incident (its open and its close).

    `window_total` and `window_bad` are the whole SLO window's counts; with `objective` they
    give the budget the incident's failed requests are measured against
    (`budget = (1 − objective) × window_total`)."""

    backend: str
    service: str
    ts: float
    objective: float
    window: str  # "30d", "month"
    window_total: float
    window_bad: float
    ratios_only: bool = False

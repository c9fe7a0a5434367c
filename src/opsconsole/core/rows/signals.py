"""What the golden-signal chart shows: its curves, plots and windows, and a reading in digits."""

from __future__ import annotations

import math
from dataclasses import dataclass

from opsconsole.core.words import NO_DATA


@dataclass(frozen=True)
class CurveSpec:
    field: str  # METRIC_FIELDS name, also the key in `panel.curves`
    label: str
    plot: int  # index into PLOTS
    scale: float  # ratios (0–1) are shown as %


CURVES: tuple[CurveSpec, ...] = (
    # p50 and p99 share one chart: a p99 climbing over a flat p50 is the long-tail signature.
    CurveSpec("latency_p50_ms", "p50", 0, 1.0),
    CurveSpec("latency_p95_ms", "p95", 0, 1.0),
    CurveSpec("latency_p99_ms", "p99", 0, 1.0),
    CurveSpec("rps", "rps", 1, 1.0),
    CurveSpec("error_ratio", "errors", 2, 100.0),
    CurveSpec("cpu", "CPU", 3, 100.0),
    CurveSpec("memory", "memory", 3, 100.0),
)
PLOTS: tuple[tuple[str, str], ...] = (
    ("Latency", "ms"),
    ("Traffic", "req/s"),
    ("Errors", "%"),
    ("Saturation", "%"),
)
LATENCY, TRAFFIC, ERRORS, SATURATION = range(4)

WINDOWS: tuple[tuple[str, float], ...] = (
    ("5 min", 300.0),
    ("15 min", 900.0),
    ("1 h", 3600.0),
    ("6 h", 21600.0),
    ("24 h", 86400.0),
)
DEFAULT_WINDOW_S = 900.0


def value_text(value: float) -> str:
    """A reading with as many digits as are worth reading: 1234, 45.6, 0.12; "—" for none."""
    if not math.isfinite(value):
        return NO_DATA
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"

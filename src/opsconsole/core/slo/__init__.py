"""Error budgets: the SLO records and the pure maths over them (no I/O, time passed in).

`model` (the records), `figure` (a number with its formula and inputs), `budget` (remaining
budget), `burn` (burn rate per window), `tiers` (multi-burn-rate alert tiers as data),
`exhaustion` (projected time to exhaustion), `assess` (the deploy decision), `burndown` (the
burn-down line), `batch` (all of a refresh's SLOs at once in numpy).
"""

from opsconsole.core.slo.model import (
    BURN_WINDOWS,
    WHOLE,
    WINDOW_KEYS,
    WINDOW_SECONDS,
    Counts,
    Deploy,
    Slo,
    SloObservation,
    SloWindow,
    WindowKind,
)

__all__ = [
    "BURN_WINDOWS",
    "WHOLE",
    "WINDOW_KEYS",
    "WINDOW_SECONDS",
    "Counts",
    "Deploy",
    "Slo",
    "SloObservation",
    "SloWindow",
    "WindowKind",
]

"""Error budgets: the SLO records and the pure maths over them (no I/O, time passed in)."""

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

"""The budget burn-down over an SLO's window from per-step request counts, with its ideal line."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opsconsole.core.slo.model import Slo


@dataclass(frozen=True, slots=True)
class BurnDown:
    """Budget left after each step, and the line that spends it evenly over the window.

    `remaining[i]` = 1 − failures up to the end of step i ÷ (budget × all requests counted),
    so its last value is the budget left now (as `budget.remaining_fraction` says); `ideal`
    falls from 1 at the window's start to 0 at its end.
    """

    ts: np.ndarray  # step end times
    remaining: np.ndarray
    ideal: np.ndarray


def burn_down(
    slo: Slo, points: np.ndarray, step_s: float, start: float, length_s: float
) -> BurnDown:
    """`points` is (k, 3): step start, good, total (the Ops API's budget points), oldest first.

    Steps that begin before `start` are left out: they belong to an earlier window.
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    points = points[points[:, 0] >= start]
    ends = points[:, 0] + step_s
    bad = np.cumsum(points[:, 2] - points[:, 1])
    allowed = slo.budget * points[:, 2].sum()
    # No request at all: nothing failed, the whole budget is left.
    remaining = 1.0 - bad / allowed if allowed > 0 else np.ones_like(bad)
    remaining[bad <= 0] = 1.0
    ideal = np.clip(1.0 - (ends - start) / length_s, 0.0, 1.0)
    return BurnDown(ends, remaining, ideal)

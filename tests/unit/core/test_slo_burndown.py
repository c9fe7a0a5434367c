"""The budget burn-down: cumulative failures against the window's allowance, and the ideal."""

from __future__ import annotations

import numpy as np
import pytest

from opsconsole.core.slo import Counts, Slo, SloWindow
from opsconsole.core.slo.budget import budget_status
from opsconsole.core.slo.burndown import burn_down

HOUR = 3600.0
SLO = Slo("orders", 0.999, SloWindow.rolling(1))  # one day, so 24 hourly steps


def test_the_burn_down_ends_at_the_budget_left_now() -> None:
    # 24 hours of 10,000 requests allow 240 failures: hour 6 fails 48 (20 %), hour 18 72 (30 %).
    bad = np.zeros(24)
    bad[6], bad[18] = 48.0, 72.0
    points = np.column_stack([np.arange(24) * HOUR, 10_000.0 - bad, np.full(24, 10_000.0)])
    down = burn_down(SLO, points, HOUR, start=0.0, length_s=24 * HOUR)
    assert down.remaining[:6].tolist() == [1.0] * 6
    assert down.remaining[6] == pytest.approx(0.8)
    assert down.remaining[-1] == pytest.approx(0.5)
    now = budget_status(SLO, Counts(240_000.0 - 120.0, 240_000.0), 24 * HOUR).fraction
    assert down.remaining[-1] == pytest.approx(now)
    assert down.ts[0] == HOUR and down.ts[-1] == 24 * HOUR
    assert down.ideal[0] == pytest.approx(23 / 24) and down.ideal[-1] == 0.0


def test_steps_before_the_window_and_an_empty_window() -> None:
    points = np.array([[-HOUR, 0.0, 100.0], [0.0, 100.0, 100.0]])
    down = burn_down(SLO, points, HOUR, start=0.0, length_s=24 * HOUR)
    assert down.remaining.tolist() == [1.0]  # the failing step before the window is left out
    empty = burn_down(SLO, np.empty((0, 3)), HOUR, start=0.0, length_s=24 * HOUR)
    assert empty.remaining.size == 0
    quiet = burn_down(SLO, np.array([[0.0, 0.0, 0.0]]), HOUR, start=0.0, length_s=24 * HOUR)
    assert quiet.remaining.tolist() == [1.0]

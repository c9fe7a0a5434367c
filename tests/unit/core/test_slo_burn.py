"""Burn rates per window, the multi-burn-rate tiers, low traffic, and time to exhaustion."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsconsole.core.slo import BURN_WINDOWS, WINDOW_SECONDS, Counts, Slo, SloObservation, SloWindow
from opsconsole.core.slo.burn import Burn, BurnState, burn_rate, burn_rates
from opsconsole.core.slo.exhaustion import exhaustion, soonest
from opsconsole.core.slo.figure import Figure
from opsconsole.core.slo.tiers import (
    WORKBOOK_TIERS,
    BurnTier,
    TierState,
    evaluate_tiers,
    judge_tier,
    tier_table_spent,
    worst_firing,
)

DAY = 86_400.0
AS_OF = datetime(2024, 3, 10, 12, tzinfo=UTC).timestamp()
SLO = Slo("orders", 0.999, SloWindow.rolling(30))
RPS = 100.0


def steady(window_s: float, error_ratio: float, rps: float = RPS) -> Counts:
    total = rps * window_s
    return Counts(total * (1 - error_ratio), total)


def observe(
    burns: dict[str, float], whole: Counts | None = None, slo: Slo = SLO, rps: float = RPS
) -> SloObservation:
    """Each window at its burn rate (0 when not named), steady traffic."""
    windows = {
        w: steady(WINDOW_SECONDS[w], burns.get(w, 0.0) * slo.budget, rps) for w in BURN_WINDOWS
    }
    if whole is not None:
        windows["window"] = whole
    return SloObservation(slo, AS_OF, windows)


def test_burn_is_the_error_ratio_over_the_budget() -> None:
    burn = burn_rate("1h", Counts(9_856.0, 10_000.0), SLO.budget)
    assert burn.state is BurnState.MEASURED
    assert burn.rate == pytest.approx(14.4)
    assert burn.figure.text == "14.4×"
    assert "144 failed of 10\u202f000 = 1.44 %" in burn.figure.inputs
    assert "error ratio ÷ budget" in burn.figure.formula


def test_too_little_traffic_is_not_a_burn() -> None:
    burn = burn_rate("5m", Counts(5.0, 10.0), SLO.budget, min_requests=100)
    assert burn.state is BurnState.LOW_TRAFFIC
    assert burn.rate is None
    assert not burn.exceeds(1.0)
    assert burn.figure.text == "low traffic"
    assert "10 requests" in burn.figure.inputs
    # The threshold is the caller's: the same counts are judged with a lower minimum.
    assert burn_rate("5m", Counts(5.0, 10.0), SLO.budget, min_requests=10).rate == pytest.approx(
        500.0
    )


def test_a_missing_window_is_no_data() -> None:
    burns = burn_rates(SloObservation(SLO, AS_OF, {"1h": steady(3600, 0.0)}))
    assert burns["1h"].rate == 0.0
    assert burns["5m"].state is BurnState.NO_DATA
    assert list(burns) == list(BURN_WINDOWS)


def test_the_workbook_tiers_spend_what_the_table_says() -> None:
    obs = observe({})
    assert tier_table_spent(obs) == pytest.approx((0.02, 0.05, 0.10, 0.10))
    page = WORKBOOK_TIERS[0]
    assert (page.name, page.threshold(SLO.budget)) == ("page 1h/5m", pytest.approx(0.0144))


def test_a_tier_fires_only_when_both_windows_exceed_it() -> None:
    both = evaluate_tiers(observe({"1h": 15.0, "5m": 20.0}))
    assert [v.state for v in both] == [
        TierState.FIRING,
        TierState.OK,
        TierState.OK,
        TierState.OK,
    ]
    only_short = evaluate_tiers(observe({"1h": 10.0, "5m": 20.0}))
    assert not only_short[0].firing
    only_long = evaluate_tiers(observe({"1h": 20.0, "5m": 2.0}))
    assert not only_long[0].firing
    # "Exceeds" is strictly above: exactly 14.4 does not page.
    at = Burn("1h", None, BurnState.MEASURED, Figure(14.4, "14.4×", "", ""))
    assert judge_tier(WORKBOOK_TIERS[0], at, at, SLO.budget).state is TierState.OK


def test_the_firing_tier_explains_itself() -> None:
    verdict = evaluate_tiers(observe({"1h": 15.0, "5m": 20.0}))[0]
    assert verdict.figure.text == "firing"
    assert "burn 1h > 14.4 and burn 5m > 14.4" in verdict.figure.formula
    assert "1.44 %" in verdict.figure.formula
    assert "burn 1h 15×" in verdict.figure.inputs


def test_low_traffic_in_either_window_keeps_a_tier_from_firing() -> None:
    # A quiet service: 5 minutes hold 30 requests, 3 of them failed (burn 100).
    obs = observe({"1h": 50.0, "5m": 100.0}, rps=0.1)
    verdicts = evaluate_tiers(obs, min_requests=100)
    assert verdicts[0].state is TierState.LOW_TRAFFIC
    assert verdicts[0].figure.value is None
    assert worst_firing(verdicts) is None
    # The longer windows hold enough requests to judge.
    assert verdicts[3].state is not TierState.LOW_TRAFFIC


def test_tiers_are_data_a_config_can_replace() -> None:
    strict = (
        BurnTier.from_mapping({"severity": "page", "long": "6h", "short": "5m", "factor": 2}),
    )
    verdicts = evaluate_tiers(observe({"6h": 3.0, "5m": 3.0}), strict)
    assert [v.firing for v in verdicts] == [True]
    assert worst_firing(verdicts) is verdicts[0]
    with pytest.raises(ValueError, match="shorter"):
        BurnTier("page", "5m", "1h", 14.4)
    with pytest.raises(ValueError, match="window"):
        BurnTier("page", "7h", "5m", 14.4)
    with pytest.raises(ValueError, match="factor is missing"):
        BurnTier.from_mapping({"severity": "page", "long": "1h", "short": "5m"})


def test_the_worst_firing_tier_is_a_page_before_a_ticket() -> None:
    verdicts = evaluate_tiers(observe({w: 20.0 for w in BURN_WINDOWS}))
    assert all(v.firing for v in verdicts)
    worst = worst_firing(verdicts)
    assert worst is not None and worst.tier is WORKBOOK_TIERS[0]


def test_exhaustion_is_remaining_times_window_over_burn() -> None:
    # Half the budget left, burning 6 in the last hour and 3 over six hours.
    total = RPS * 30 * DAY
    half_spent = Counts(total - 0.5 * SLO.budget * total, total)
    obs = observe({"1h": 6.0, "6h": 3.0}, whole=half_spent)
    one_hour, six_hours = exhaustion(obs)
    assert one_hour.seconds == pytest.approx(0.5 * 30 * DAY / 6.0)  # 2.5 days
    assert six_hours.seconds == pytest.approx(0.5 * 30 * DAY / 3.0)  # 5 days
    assert one_hour.before_end and six_hours.before_end
    assert one_hour.figure.text == "in 2 d 12 h"
    assert "50 % × 30 d ÷ 6× (1h)" in one_hour.figure.inputs
    assert soonest((one_hour, six_hours)) is one_hour


def test_a_slow_burn_outlasts_the_window() -> None:
    obs = observe({"1h": 0.5, "6h": 0.5}, whole=steady(30 * DAY, 0.0))
    one_hour, _ = exhaustion(obs)
    assert one_hour.seconds == pytest.approx(60 * DAY)
    assert one_hour.before_end is False


def test_a_rolling_window_burning_at_most_1x_does_not_run_out() -> None:
    # 10 % left at burn 0.5: the projection says 6 d, inside the 30 d window, but on a rolling
    # window old failures leave as fast as new ones come: it settles, it does not run out.
    total = RPS * 30 * DAY
    tenth_left = Counts(total - 0.9 * SLO.budget * total, total)
    one_hour, _ = exhaustion(observe({"1h": 0.5, "6h": 0.5}, whole=tenth_left))
    assert one_hour.seconds == pytest.approx(0.1 * 30 * DAY / 0.5)
    assert one_hour.settles and one_hour.before_end is False
    assert "does not run out" in one_hour.figure.inputs
    # Above 1× it does run out before the window renews it.
    fast, _ = exhaustion(observe({"1h": 2.0, "6h": 2.0}, whole=tenth_left))
    assert not fast.settles and fast.before_end is True


def test_no_burn_never_exhausts_and_a_used_budget_is_exhausted_now() -> None:
    calm = exhaustion(observe({}, whole=steady(30 * DAY, 0.0)))[0]
    assert math.isinf(calm.seconds or 0.0)
    assert (calm.figure.text, calm.before_end) == ("never at this rate", False)
    spent = exhaustion(observe({"1h": 2.0}, whole=steady(30 * DAY, 0.002)))[0]
    assert (spent.seconds, spent.figure.text, spent.before_end) == (0.0, "used up", True)


def test_exhaustion_cannot_be_projected_without_a_burn_or_a_budget() -> None:
    no_budget = exhaustion(observe({"1h": 2.0}))[0]
    assert no_budget.seconds is None and no_budget.before_end is None
    quiet = exhaustion(observe({"1h": 2.0}, whole=steady(30 * DAY, 0.0), rps=0.01))[0]
    assert quiet.seconds is None
    assert "too little traffic" in quiet.figure.inputs
    assert soonest((no_budget, quiet)) is None


def test_a_calendar_month_exhausts_before_its_end_or_not() -> None:
    month = Slo("orders", 0.999, SloWindow.calendar_month())
    # 10 March noon: 21.5 days of March left. Half the budget left, burning 1: the budget
    # lasts 15.5 days (half of 31), before the month ends; burning 0.5 it lasts 31 days.
    whole = steady(9.5 * DAY, 0.5 * month.budget)
    fast = exhaustion(observe({"1h": 1.0}, whole=whole, slo=month))[0]
    assert fast.seconds == pytest.approx(15.5 * DAY)
    assert fast.before_end is True
    slow = exhaustion(observe({"1h": 0.5}, whole=whole, slo=month))[0]
    assert slow.seconds == pytest.approx(31 * DAY)
    assert slow.before_end is False


@given(burn=st.floats(0.0, 450.0), remaining=st.floats(0.01, 1.0))
def test_a_faster_burn_never_lasts_longer(burn: float, remaining: float) -> None:
    total = RPS * 30 * DAY
    whole = Counts(total - (1 - remaining) * SLO.budget * total, total)
    slow = exhaustion(observe({"1h": burn}, whole=whole))[0]
    fast = exhaustion(observe({"1h": burn * 2 + 0.1}, whole=whole))[0]
    assert slow.seconds is not None and fast.seconds is not None
    assert fast.seconds <= slow.seconds

"""The deploy decision: the domain's worked example, the other two outcomes, and its inputs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opsconsole.core.slo import Counts, Deploy, Slo, SloObservation, SloWindow
from opsconsole.core.slo.assess import Recommendation, assess, counts_around

HOUR = 3600.0
DAY = 86_400.0
RPS = 100.0
NOW = datetime(2024, 3, 10, 12, tzinfo=UTC).timestamp()
SLO = Slo("orders", 0.995, SloWindow.rolling(30))
DEPLOY = Deploy("d-42", "orders", "v42", "v41", NOW - 6 * HOUR, "ci")


def steady(seconds: float, error_ratio: float) -> Counts:
    total = RPS * seconds
    return Counts(total * (1 - error_ratio), total)


def window_of(before_ratio: float, since_ratio: float, slo: Slo = SLO) -> SloObservation:
    """The whole window: `before_ratio` until the deploy 6 h ago, `since_ratio` since."""
    whole = steady(30 * DAY - 6 * HOUR, before_ratio) + steady(6 * HOUR, since_ratio)
    return SloObservation(slo, NOW, {"window": whole})


def test_the_worked_example_says_rollback() -> None:
    """Objective 99.5 %, baseline 0.1 %, now 1.2 %, 6 h after the deploy → ROLLBACK."""
    result = assess(window_of(0.001, 0.012), DEPLOY, steady(DAY, 0.001), steady(6 * HOUR, 0.012))
    assert result.recommendation is Recommendation.ROLLBACK
    assert result.baseline.text == "0.1 %"
    assert result.current.text == "1.2 %"
    assert result.hours_since.text == "6.0 h"
    # 1.2 % against a 0.5 % budget: a whole window at this ratio spends 240 % of it.
    assert result.projection.value == pytest.approx(2.4)
    assert result.projection.text == "240 %"
    # 6 h at 1.2 % of 30 d at 100 rps: 25,920 failures against 1,296,000 allowed.
    assert result.burned_since.value == pytest.approx(0.02)
    assert result.remaining.value == pytest.approx(1 - 282_960 / 1_296_000)
    assert "240 %" in result.reason and "v42" in result.reason and "0.1 %" in result.reason
    assert result.next_steps[0] == ":rollback orders (back to v41)"
    assert "0.1 %" in result.next_steps[1]
    summary = result.summary()
    assert len(summary) == 3
    assert summary[2].startswith("Recommendation: ROLLBACK")


def test_every_input_of_the_decision_explains_itself() -> None:
    result = assess(window_of(0.001, 0.012), DEPLOY, steady(DAY, 0.001), steady(6 * HOUR, 0.012))
    assert (
        result.projection.formula
        == "a whole rolling 30 d window at the current ratio: current ÷ budget"
    )
    assert result.projection.inputs == "1.2 % ÷ 0.5 %"
    assert "failed since the deploy ÷ allowed failures" in result.burned_since.formula
    assert result.burned_since.inputs == "25\u202f920 ÷ 1\u202f296\u202f000"
    assert "failed of" in result.current.inputs


def test_a_harmless_deploy_is_kept_with_the_domains_conditions() -> None:
    result = assess(window_of(0.001, 0.001), DEPLOY, steady(DAY, 0.001), steady(6 * HOUR, 0.001))
    assert result.recommendation is Recommendation.KEEP_WITH_CONDITIONS
    steps = " ".join(result.next_steps)
    assert "feature flag" in steps and "alerts" in steps and "daily" in steps
    assert "20 %" in result.reason  # 0.1 % of a 0.5 % budget


def test_an_almost_used_budget_gets_enhanced_monitoring() -> None:
    # Weeks of errors left 0.05 % of the budget (714 of 720 hours at this ratio); the deploy
    # itself is clean.
    ratio = 0.9995 * 0.005 * 720 / 714
    result = assess(window_of(ratio, 0.0), DEPLOY, steady(DAY, ratio), steady(6 * HOUR, 0.0))
    assert result.remaining.value == pytest.approx(0.0005)
    assert result.recommendation is Recommendation.ENHANCED_MONITORING
    assert "hold further deploys" in " ".join(result.next_steps)


def test_too_little_traffic_since_the_deploy_is_not_judged_as_safe() -> None:
    result = assess(
        window_of(0.001, 0.0), DEPLOY, steady(DAY, 0.001), Counts(20.0, 20.0), min_requests=100
    )
    assert result.recommendation is Recommendation.ENHANCED_MONITORING
    assert "too little traffic" in result.reason
    assert result.projection.value is None


def test_a_rollback_that_would_not_help_says_so() -> None:
    result = assess(window_of(0.02, 0.012), DEPLOY, steady(DAY, 0.02), steady(6 * HOUR, 0.012))
    assert result.recommendation is Recommendation.ROLLBACK
    assert "may not help" in result.next_steps[-1]


def test_a_calendar_month_projects_to_its_end() -> None:
    month = Slo("orders", 0.995, SloWindow.calendar_month())
    # 9.5 days of March at 0.1 %, then the deploy's 1.2 % for the 21.5 days left:
    # (0.001 × 9.5 + 0.012 × 21.5) ÷ (0.005 × 31) = 172.6 % of the month's budget.
    start = datetime(2024, 3, 1, tzinfo=UTC).timestamp()
    obs = SloObservation(month, NOW, {"window": steady(NOW - start, 0.001)})
    result = assess(obs, DEPLOY, steady(DAY, 0.001), steady(6 * HOUR, 0.012))
    assert result.projection.value == pytest.approx((0.001 * 9.5 + 0.012 * 21.5) / (0.005 * 31))
    assert result.recommendation is Recommendation.ROLLBACK
    assert "month" in result.projection.formula


def test_counts_around_a_deploy_split_by_step() -> None:
    step = 300.0
    deploy_ts = 10_000.0
    points = [(t, 99.0, 100.0) for t in range(8_000, 12_000, 300)]  # steps of 300 s
    before, since = counts_around(points, deploy_ts, step, baseline_s=1500.0)
    expected_before = [t for t, _, _ in points if t + step <= deploy_ts and t >= deploy_ts - 1500]
    expected_since = [t for t, _, _ in points if t >= deploy_ts]
    assert before == Counts(99.0 * len(expected_before), 100.0 * len(expected_before))
    assert since == Counts(99.0 * len(expected_since), 100.0 * len(expected_since))
    # The step holding the deploy (9800 … 10,100) is in neither.
    assert len(expected_before) + len(expected_since) < len([p for p in points if p[0] >= 8_500])

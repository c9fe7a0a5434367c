"""Remaining error budget: from counts, exact at the edges, worded when overspent, explained."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsconsole.core.slo import Counts, Slo, SloObservation, SloWindow
from opsconsole.core.slo.budget import budget_spent, budget_status, observed_budget
from opsconsole.core.slo.figure import count_text, percent_text, rate_text

DAY = 86_400.0
THIRTY_DAYS = 30 * DAY
SLO_999 = Slo("orders", 0.999, SloWindow.rolling(30))


def test_no_failure_leaves_exactly_all_of_the_budget() -> None:
    status = budget_status(SLO_999, Counts(1_000_000.0, 1_000_000.0), THIRTY_DAYS)
    assert status.fraction == 1.0
    assert status.words == "100 % left"
    assert status.remaining_requests.value == pytest.approx(1000.0)
    # 0.1 % of 30 days is 43.2 minutes of total outage.
    assert status.outage_minutes.value == pytest.approx(43.2)


def test_no_traffic_at_all_is_no_failure() -> None:
    assert budget_status(SLO_999, Counts(0.0, 0.0), THIRTY_DAYS).fraction == 1.0


def test_failures_equal_to_the_budget_leave_exactly_nothing() -> None:
    status = budget_status(SLO_999, Counts(999_000.0, 1_000_000.0), THIRTY_DAYS)
    assert status.fraction == 0.0
    assert status.words == "used up"
    assert status.remaining_requests.value == pytest.approx(0.0)
    assert status.outage_minutes.value == 0.0


def test_overspent_is_negative_and_says_so() -> None:
    # 1,120 failures against 1,000 allowed: 12 % over.
    status = budget_status(SLO_999, Counts(998_880.0, 1_000_000.0), THIRTY_DAYS)
    assert status.fraction == pytest.approx(-0.12)
    assert status.words == "overspent by 12 %"
    assert status.remaining.text == "−12 %"
    assert status.remaining_requests.value == pytest.approx(-120.0)
    assert status.outage_minutes.value == pytest.approx(-0.12 * 43.2)


def test_part_spent_reads_as_left() -> None:
    status = budget_status(SLO_999, Counts(999_875.0, 1_000_000.0), THIRTY_DAYS)
    assert status.fraction == pytest.approx(0.875)
    assert status.words == "87.5 % left"


def test_every_figure_explains_itself() -> None:
    status = budget_status(SLO_999, Counts(999_875.0, 1_000_000.0), THIRTY_DAYS)
    assert "1 − failed ÷ allowed" in status.remaining.formula
    assert "125 failed of 1\u202f000\u202f000 requests" in status.remaining.inputs
    assert "rolling 30 d" in status.remaining.inputs
    assert "99.9 %" in status.remaining.inputs
    assert status.allowed.inputs == "0.1 % × 1\u202f000\u202f000 = 1\u202f000"
    assert "43.2 min of total outage" in status.outage_minutes.inputs
    assert status.remaining.explanation.startswith(status.remaining.formula)


def test_no_counts_is_no_data_not_a_full_budget() -> None:
    status = budget_status(SLO_999, None, THIRTY_DAYS)
    assert status.fraction is None
    assert (status.words, status.remaining.text) == ("no data", "—")


def test_counts_not_averaged_ratios_a_quiet_hour_weighs_little() -> None:
    # A quiet hour at 10 % errors and a busy one at 0.05 %: the average of the two ratios
    # (5.025 %) would call the budget blown 50 times over; the requests say otherwise.
    quiet, busy = Counts(90.0, 100.0), Counts(999_500.0, 1_000_000.0)
    averaged = ((quiet.error_ratio or 0.0) + (busy.error_ratio or 0.0)) / 2
    both = quiet + busy
    assert both.error_ratio == pytest.approx(510 / 1_000_100)
    status = budget_status(SLO_999, both, THIRTY_DAYS)
    assert status.fraction == pytest.approx(1 - 510 / 1000.1)
    assert status.fraction > 0.4  # about half the budget left
    # What averaging the ratios would have said, through the same maths: 50 times overspent.
    by_average = budget_status(SLO_999, Counts(1.0 - averaged, 1.0), THIRTY_DAYS)
    assert by_average.fraction is not None and by_average.fraction < -49


@pytest.mark.parametrize(
    ("burn", "span_s", "spent"),
    [(14.4, 3600.0, 0.02), (6.0, 6 * 3600.0, 0.05), (1.0, 3 * DAY, 0.10)],
)
def test_the_workbook_table(burn: float, span_s: float, spent: float) -> None:
    """99.9 % over 30 d: 14.4 for 1 h spends 2 %, 6 for 6 h 5 %, 1 for 3 d 10 %."""
    assert budget_spent(burn, span_s, THIRTY_DAYS) == pytest.approx(spent)
    # The same from counts: a window of steady traffic whose only failures came in `span_s`
    # at that burn leaves 1 − spent.
    rps = 50.0
    total = rps * THIRTY_DAYS
    bad = burn * SLO_999.budget * rps * span_s
    status = budget_status(SLO_999, Counts(total - bad, total), THIRTY_DAYS)
    assert status.fraction == pytest.approx(1 - spent)


def test_a_calendar_month_uses_its_own_length() -> None:
    feb = datetime(2023, 2, 15, tzinfo=UTC).timestamp()
    month = Slo("orders", 0.999, SloWindow.calendar_month())
    obs = SloObservation(month, feb, {"window": Counts(1000.0, 1000.0)})
    rolling = SloObservation(SLO_999, feb, {"window": Counts(1000.0, 1000.0)})
    # 0.1 % of 28 days is 40.32 minutes; of 30 days, 43.2.
    assert observed_budget(obs).outage_minutes.value == pytest.approx(40.32)
    assert observed_budget(rolling).outage_minutes.value == pytest.approx(43.2)
    assert "calendar month" in observed_budget(obs).remaining.inputs


@given(
    total=st.floats(1.0, 1e9),
    bad_share=st.floats(0.0, 1.0),
    objective=st.sampled_from([0.9, 0.99, 0.995, 0.999, 0.9995, 0.9999]),
)
def test_remaining_falls_as_failures_grow(total: float, bad_share: float, objective: float) -> None:
    slo = Slo("s", objective, SloWindow.rolling(28))
    bad = total * bad_share
    fewer = budget_status(slo, Counts(total - bad / 2, total), 28 * DAY).fraction
    more = budget_status(slo, Counts(total - bad, total), 28 * DAY).fraction
    assert fewer is not None and more is not None
    assert fewer >= more
    assert fewer <= 1.0
    allowed = slo.budget * total
    if bad < allowed * (1 - 1e-9):
        assert more > 0
    if bad > allowed * (1 + 1e-9):
        assert more < 0


def test_words_for_people() -> None:
    assert percent_text(0.001) == "0.1 %"
    assert percent_text(0.9995, 3) == "99.95 %"
    assert percent_text(2.4, 0) == "240 %"
    assert percent_text(None) == "—"
    assert count_text(1234567.0) == "1\u202f234\u202f567"
    assert count_text(12.25) == "12.2"
    assert rate_text(14.4) == "14.4×"
    assert rate_text(0.25) == "0.25×"
    assert rate_text(None) == "—"

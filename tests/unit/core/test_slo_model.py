"""The SLO records: counts and their error ratio, windows parsed and worded, objectives checked."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opsconsole.core.slo import Counts, Deploy, Slo, SloObservation, SloWindow, WindowKind


def ts(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def test_error_ratio_is_failed_over_total_and_none_without_traffic() -> None:
    assert Counts(990.0, 1000.0).error_ratio == pytest.approx(0.01)
    assert Counts(990.0, 1000.0).bad == 10.0
    assert Counts(0.0, 0.0).error_ratio is None
    assert Counts(1.0, 2.0) + Counts(3.0, 4.0) == Counts(4.0, 6.0)


@pytest.mark.parametrize(
    ("good", "total"), [(2.0, 1.0), (-1.0, 1.0), (0.0, -1.0), (float("nan"), 1.0)]
)
def test_impossible_counts_are_refused(good: float, total: float) -> None:
    with pytest.raises(ValueError):
        Counts(good, total)


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("28d", None, SloWindow.rolling(28)),
        ("30d", None, SloWindow.rolling(30)),
        (" 30 d ", None, SloWindow.rolling(30)),
        ("1M", None, SloWindow.calendar_month()),
        ("calendar_month", None, SloWindow.calendar_month()),
        ("30d", "rolling", SloWindow.rolling(30)),
        ("30d", "calendar_month", SloWindow.calendar_month()),
    ],
)
def test_windows_parse(text: str, kind: str | None, expected: SloWindow) -> None:
    assert SloWindow.parse(text, kind) == expected


@pytest.mark.parametrize(("text", "kind"), [("1m", None), ("30", None), ("", None), ("30d", "x")])
def test_what_is_no_window_is_refused_in_words(text: str, kind: str | None) -> None:
    with pytest.raises(ValueError, match="window"):
        SloWindow.parse(text, kind)


def test_thirty_days_and_a_month_are_different_things_and_say_so() -> None:
    rolling, month = SloWindow.parse("30d"), SloWindow.parse("1M")
    assert rolling != month
    assert (rolling.words, month.words) == ("rolling 30 d", "calendar month")
    assert (rolling.literal, month.literal) == ("30d", "1M")
    assert SloWindow.parse(rolling.literal) == rolling
    assert SloWindow.parse(month.literal) == month
    assert month.kind is WindowKind.CALENDAR_MONTH


def test_a_calendar_month_runs_from_its_first_midnight_to_the_next_month() -> None:
    month = SloWindow.calendar_month()
    mid_feb = ts(2024, 2, 10, 12)
    assert month.bounds(mid_feb) == (ts(2024, 2, 1), ts(2024, 3, 1))
    assert month.length_s(mid_feb) == 29 * 86_400  # a leap year
    assert month.days_in(mid_feb) == 29
    assert month.left_s(mid_feb) == ts(2024, 3, 1) - mid_feb
    assert month.bounds(ts(2023, 12, 31, 23)) == (ts(2023, 12, 1), ts(2024, 1, 1))


def test_a_rolling_window_ends_now_and_plans_over_its_whole_length() -> None:
    window = SloWindow.rolling(30)
    now = ts(2024, 2, 10, 12)
    assert window.bounds(now) == (now - 30 * 86_400, now)
    assert window.length_s(now) == window.left_s(now) == 30 * 86_400


def test_objective_must_leave_a_budget() -> None:
    assert Slo("orders", 0.999, SloWindow.rolling(30)).budget == pytest.approx(0.001)
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="objective"):
            Slo("orders", bad, SloWindow.rolling(30))


def test_an_observation_copies_its_counts_and_refuses_unknown_windows() -> None:
    slo = Slo("orders", 0.999, SloWindow.rolling(30))
    windows = {"1h": Counts(1.0, 1.0)}
    obs = SloObservation(slo, 0.0, windows)
    windows["5m"] = Counts(0.0, 1.0)
    assert obs.counts("5m") is None
    assert obs.counts("1h") == Counts(1.0, 1.0)
    assert obs.service == "orders"
    with pytest.raises(TypeError):
        obs.windows["5m"] = Counts(0.0, 1.0)  # type: ignore[index]
    with pytest.raises(ValueError, match="unknown SLO windows"):
        SloObservation(slo, 0.0, {"7m": Counts(1.0, 1.0)})
    assert hash(obs) == hash(SloObservation(slo, 0.0, {}))  # hashable; counts not hashed


def test_a_deploy_is_a_plain_record() -> None:
    d = Deploy("d-1", "orders", "v42", "v41", 1.0, "ci")
    assert (d.service, d.version, d.prev_version) == ("orders", "v42", "v41")

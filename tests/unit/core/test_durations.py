"""Durations: the forms people write parse to seconds, garbage is refused in words, and back;
PromQL literals and the words for people are named apart."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsconsole.core.durations import (
    age_text,
    duration_literal,
    parse_duration,
    promql_duration,
    rough_age_text,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("15s", 15.0),
        ("1m", 60.0),
        ("1h30m", 5400.0),
        ("2h", 7200.0),
        ("500ms", 0.5),
        ("1d", 86400.0),
        ("1w", 604800.0),
        ("90", 90.0),
        ("1.5", 1.5),
        ("1.5h", 5400.0),
        (" 1h 30m ", 5400.0),
        ("1H", 3600.0),
        ("1m500ms", 60.5),
        ("0s", 0.0),
    ],
)
def test_parse_duration_reads_what_people_write(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text", ["abc", "", "   ", "nan", "inf", "-5s", "-5", "5x", "s", "1e3", "1 h30", "15 sec"]
)
def test_garbage_is_refused_with_an_example(text: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_duration(text)
    assert str(exc.value) == f"{text!r} is not a duration; write e.g. 15s, 5m, 1h30m"


@pytest.mark.parametrize("text", ["30m1h", "1m1m", "5s2m"])
def test_units_out_of_order_or_repeated_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="largest first"):
        parse_duration(text)


def test_a_number_too_big_for_a_float_is_not_infinity() -> None:
    with pytest.raises(ValueError, match="too long"):
        parse_duration("9" * 400)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (15, "15s"),
        (5400, "1h30m"),
        (7200, "2h"),
        (0.5, "500ms"),
        (90, "1m30s"),
        (86400 + 3600, "1d1h"),
        (0, "0s"),
        (61.25, "1m1s250ms"),
    ],
)
def test_duration_literal_is_compact(seconds: float, text: str) -> None:
    assert duration_literal(seconds) == text


@pytest.mark.parametrize("seconds", [-1.0, math.nan, math.inf])
def test_format_refuses_what_is_no_duration(seconds: float) -> None:
    with pytest.raises(ValueError):
        duration_literal(seconds)


@given(st.integers(min_value=0, max_value=400 * 86_400_000))
def test_format_then_parse_gives_the_same_milliseconds(ms: int) -> None:
    text = duration_literal(ms / 1000)
    assert round(parse_duration(text) * 1000) == ms
    assert duration_literal(parse_duration(text)) == text


def test_promql_duration_is_seconds_or_milliseconds_never_minutes() -> None:
    assert [promql_duration(s) for s in (4.0, 60.0, 2.0, 0.5, 90.0)] == [
        "4s",
        "60s",
        "2s",
        "500ms",
        "90s",
    ]
    assert promql_duration(0.0) == "1ms"  # Prometheus refuses a zero range


@pytest.mark.parametrize(
    ("seconds", "precise", "text"),
    [
        (0.04, True, "0.0 s"),
        (9.94, True, "9.9 s"),
        (12.9, True, "12 s"),
        (4.2, False, "4 s"),
        (-3.0, False, "0 s"),
        (250, False, "4 min 10 s"),
        (185, True, "3 min 05 s"),
        (7500, False, "2 h 05 min"),
        (3 * 86_400 + 4 * 3600, False, "3 d 04 h"),
    ],
)
def test_age_text_says_min_for_minutes(seconds: float, precise: bool, text: str) -> None:
    assert age_text(seconds, precise) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(12.7, "12 s"), (125, "2 min"), (7300, "2 h"), (4 * 86_400 + 5, "4 d"), (-1, "0 s")],
)
def test_rough_age_text_keeps_the_largest_unit(seconds: float, text: str) -> None:
    assert rough_age_text(seconds) == text

"""Durations: the forms people write parse to seconds, garbage is refused in words, and back."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsconsole.core.durations import format_duration, parse_duration


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
def test_format_duration_is_compact(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [-1.0, math.nan, math.inf])
def test_format_refuses_what_is_no_duration(seconds: float) -> None:
    with pytest.raises(ValueError):
        format_duration(seconds)


@given(st.integers(min_value=0, max_value=400 * 86_400_000))
def test_format_then_parse_gives_the_same_milliseconds(ms: int) -> None:
    text = format_duration(ms / 1000)
    assert round(parse_duration(text) * 1000) == ms
    assert format_duration(parse_duration(text)) == text

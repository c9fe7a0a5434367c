"""Times in the operator's words: clock times in a given time zone, spans across midnight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from opsconsole.core.clocktext import clock_text, span_text

T = datetime(2026, 12, 6, 12, 24, 10, tzinfo=UTC).timestamp()
PLUS_2 = timezone(timedelta(hours=2))
MINUS_5 = timezone(timedelta(hours=-5))


def test_clock_text_is_the_time_of_day_in_the_given_zone() -> None:
    assert clock_text(T, UTC) == "12:24:10"
    assert clock_text(T, PLUS_2) == "14:24:10"
    assert clock_text(T + 0.999, MINUS_5) == "07:24:10"  # whole seconds, never rounded up


def test_clock_text_defaults_to_the_local_zone() -> None:
    assert clock_text(T) == datetime.fromtimestamp(T).strftime("%H:%M:%S")


def test_span_text_within_a_day_and_across_midnight() -> None:
    assert span_text(T, T + 150, PLUS_2) == "14:24:10–14:26:40"
    late = datetime(2026, 12, 6, 21, 59, 50, tzinfo=UTC).timestamp()
    assert span_text(late, late + 20, UTC) == "21:59:50–22:00:10"
    assert span_text(late, late + 20, PLUS_2) == "2026-12-06 23:59:50–2026-12-07 00:00:10"
    assert span_text(T, T + 1, UTC, sep=" to ") == "12:24:10 to 12:24:11"

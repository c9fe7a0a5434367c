"""The blind-interval rule of an outcome watch, with explicit times: unknown, then settled."""

from __future__ import annotations

from datetime import UTC, datetime

from opsconsole.core.actions import Outcome
from opsconsole.core.outcome import (
    BlindSpan,
    Sight,
    at_timeout,
    blind_for,
    given_up,
    not_settled,
    settled,
)

T = datetime(2026, 12, 6, 12, 1, 0, tzinfo=UTC).timestamp()  # the request went out at 12:01:00


def test_blind_means_the_link_is_not_live_or_the_data_is_older_than_the_limit() -> None:
    assert blind_for(True, 0.5, 3.0) is None
    assert blind_for(True, 3.0, 3.0) is None  # at the limit is still sight
    assert blind_for(False, 0.5, 3.0) == 0.0  # the link just went: blind from now
    assert blind_for(True, 10.0, 3.0) == 7.0  # stale for 7 s already
    assert blind_for(False, 10.0, 3.0) == 7.0
    assert blind_for(True, None, 3.0) is None  # no data ever: the link alone says
    assert blind_for(False, None, 3.0) == 0.0


def test_a_watch_that_always_saw_may_say_no_change() -> None:
    sight = Sight(T)
    for t in range(1, 31):
        sight = sight.observe(T + t, blind_for(True, 0.4, 3.0))
    assert not sight.was_blind
    verdict = at_timeout(sight, "sim", 30.0, UTC)
    assert (verdict.status, verdict.message) == ("no_change", "no change after 30 s")


def test_a_watch_blind_for_part_of_the_time_is_unknown_not_no_change() -> None:
    sight = Sight(T).observe(T + 5, None)
    sight = sight.observe(T + 10, 0.0)  # the link went down at 12:01:10
    sight = sight.observe(T + 12, 0.0)  # still down: the span keeps its start
    assert sight.spans == (BlindSpan(T + 10),) and sight.blind_now
    assert at_timeout(sight, "sim", 30.0, UTC).message == (
        "the link to sim has been down since 12:01:10; will settle when it is back"
    )
    sight = sight.observe(T + 40, None)  # back at 12:01:40
    assert sight.spans == (BlindSpan(T + 10, T + 40),) and not sight.blind_now
    assert sight.back_at == T + 40
    verdict = at_timeout(sight, "sim", 30.0, UTC)
    assert verdict.status == "unknown"
    assert verdict.message == (
        "the link to sim was down from 12:01:10 to 12:01:40; settling from the state now"
    )


def test_stale_data_opens_the_span_when_it_went_stale_never_before_the_watch() -> None:
    # Data 8 s old with a 3 s limit, seen at 12:01:20: blind since 12:01:15.
    sight = Sight(T).observe(T + 20, blind_for(True, 8.0, 3.0))
    assert sight.spans == (BlindSpan(T + 15),)
    # Already stale for longer than the watch has run: the span starts with the watch.
    assert Sight(T).observe(T + 2, blind_for(True, 100.0, 3.0)).spans == (BlindSpan(T),)
    # A second span never reaches back into the first one.
    sight = sight.observe(T + 25, None).observe(T + 26, blind_for(True, 13.0, 3.0))
    assert sight.spans == (BlindSpan(T + 15, T + 25), BlindSpan(T + 25))


def test_several_spans_in_one_line() -> None:
    sight = Sight(T)
    for down, up in ((10, 20), (25, 30)):
        sight = sight.observe(T + down, 0.0).observe(T + up, None)
    assert at_timeout(sight, "sim", 30.0, UTC).message.startswith(
        "the link to sim was down 2 times between 12:01:10 and 12:01:30;"
    )
    sight = sight.observe(T + 31, 0.0)
    assert at_timeout(sight, "sim", 30.0, UTC).message == (
        "the link to sim has been down since 12:01:31 (and 2 times before, from 12:01:10); "
        "will settle when it is back"
    )


def test_settled_from_the_state_once_seen_again() -> None:
    sight = Sight(T).observe(T + 10, 0.0).observe(T + 40, None)
    promoted = Outcome(True, "replica-2 is primary, timeline 2")
    verdict = settled(sight, promoted, T + 41, UTC)
    assert verdict.status == "succeeded"
    assert verdict.message == (
        "replica-2 is primary, timeline 2 (seen after the link came back at 12:01:40)"
    )
    absent = settled(sight, None, T + 41, UTC)
    assert (absent.status, absent.message) == (
        "no_change",
        "not seen after the link came back at 12:01:40",
    )
    # Seen in the frames that bring the link back (before it reads LIVE): back is now.
    still = Sight(T).observe(T + 10, 0.0)
    assert settled(still, promoted, T + 50, UTC).message.endswith("came back at 12:01:50)")


def test_the_last_word_when_it_never_settles() -> None:
    sight = Sight(T).observe(T + 10, 0.0)
    verdict = given_up(sight, "sim", 600.0, UTC)
    assert verdict.status == "unknown"
    assert verdict.message == (
        "still unknown after 10 min: the link to sim has been down since 12:01:10; "
        "check the state by hand"
    )
    assert not_settled(T + 90, UTC).message == (
        "not settled: the console stopped watching at 12:02:30; check the state by hand"
    )

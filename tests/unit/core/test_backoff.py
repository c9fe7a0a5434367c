"""Full-jitter exponential backoff that resets only after a healthy spell."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsconsole.core.backoff import Backoff, full_jitter_delay


@pytest.mark.parametrize("attempt", range(8))
def test_full_jitter_top_of_range_is_the_capped_exponential(attempt: int) -> None:
    assert full_jitter_delay(attempt, 0.25, 10.0, rand=lambda: 1.0) == min(10.0, 0.25 * 2**attempt)


@pytest.mark.parametrize("attempt", [0, 3, 100])
def test_full_jitter_bottom_of_range_is_zero(attempt: int) -> None:
    assert full_jitter_delay(attempt, 0.25, 10.0, rand=lambda: 0.0) == 0.0


def test_full_jitter_scales_with_the_random_draw() -> None:
    assert full_jitter_delay(2, 0.25, 10.0, rand=lambda: 0.5) == pytest.approx(0.5)


@pytest.mark.parametrize("attempt", [6, 10, 64, 1000, 10**6])
def test_cap_is_reached_and_huge_attempts_do_not_overflow(attempt: int) -> None:
    assert full_jitter_delay(attempt, 0.25, 10.0, rand=lambda: 1.0) == 10.0


@settings(max_examples=200, deadline=None)
@given(
    attempt=st.integers(min_value=0, max_value=10_000),
    base=st.floats(min_value=0.001, max_value=5.0),
    cap=st.floats(min_value=0.001, max_value=120.0),
    draw=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
)
def test_full_jitter_stays_within_bounds(
    attempt: int, base: float, cap: float, draw: float
) -> None:
    delay = full_jitter_delay(attempt, base, cap, rand=lambda: draw)
    assert 0.0 <= delay <= min(cap, base * 2.0 ** min(attempt, 1000))
    assert delay <= cap


def test_backoff_doubles_up_to_the_cap() -> None:
    b = Backoff(base=0.25, cap=10.0, rand=lambda: 1.0)
    delays = [b.next_delay() for _ in range(9)]
    assert delays == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]
    assert b.attempt == 9


def test_backoff_defaults_follow_the_contract() -> None:
    b = Backoff(rand=lambda: 1.0)
    assert b.next_delay() == 0.25
    assert max(b.next_delay() for _ in range(20)) == 10.0


def test_backoff_with_real_randomness_stays_in_range() -> None:
    b = Backoff()
    for attempt in range(30):
        assert 0.0 <= b.next_delay() <= min(10.0, 0.25 * 2**attempt)


def test_backoff_resets_after_a_healthy_spell() -> None:
    b = Backoff(healthy_after=10.0, rand=lambda: 1.0)
    for _ in range(5):
        b.next_delay()
    b.connected(100.0)
    b.disconnected(110.0)  # stayed up exactly healthy_after
    assert b.attempt == 0
    assert b.next_delay() == 0.25


def test_backoff_does_not_reset_after_a_short_spell() -> None:
    b = Backoff(healthy_after=10.0, rand=lambda: 1.0)
    for _ in range(5):
        b.next_delay()
    b.connected(100.0)
    b.disconnected(109.9)
    assert b.attempt == 5
    assert b.next_delay() == 8.0


def test_disconnect_without_a_connection_keeps_backing_off() -> None:
    b = Backoff(rand=lambda: 1.0)
    b.next_delay()
    b.next_delay()
    b.disconnected(1_000.0)  # e.g. the handshake failed
    assert b.attempt == 2


def test_each_spell_is_judged_on_its_own() -> None:
    b = Backoff(healthy_after=10.0, rand=lambda: 1.0)
    for _ in range(4):
        b.next_delay()
    b.connected(0.0)
    b.disconnected(6.0)
    b.connected(7.0)  # the earlier connection time must not count
    b.disconnected(12.0)
    assert b.attempt == 4
    b.disconnected(500.0)  # a second disconnect without connect: still no reset
    assert b.attempt == 4


def test_reset() -> None:
    b = Backoff(rand=lambda: 1.0)
    for _ in range(7):
        b.next_delay()
    b.reset()
    assert b.attempt == 0 and b.next_delay() == 0.25

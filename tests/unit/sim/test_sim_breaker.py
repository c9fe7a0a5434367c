"""Circuit breaker state machine (pure, time injected)."""

from __future__ import annotations

from opsconsole.sim.breaker import KEPT_CALLS, BreakerConfig, CircuitBreaker


def make(threshold: int = 3, timeout_s: float = 30.0) -> CircuitBreaker:
    return CircuitBreaker("inventory-service", BreakerConfig(threshold, timeout_s), now=0.0)


def call(b: CircuitBreaker, ok: bool, now: float) -> bool:
    go, _ = b.allow(now)
    if go:
        b.record(ok, now)
    return go


def test_threshold_consecutive_failures_open_and_record_time() -> None:
    b = make()
    call(b, False, 1.0)
    call(b, False, 2.0)
    assert b.state == "closed" and b.failure_count == 2
    t = b.record(False, 3.0)
    assert t is not None and (t.prev_state, t.state) == ("closed", "open")
    assert b.opened_at == 3.0 and b.last_transition_ts == 3.0


def test_a_success_resets_the_failure_count() -> None:
    b = make()
    call(b, False, 1.0)
    call(b, False, 2.0)
    call(b, True, 3.0)
    assert b.failure_count == 0
    call(b, False, 4.0)
    call(b, False, 5.0)
    assert b.state == "closed"


def test_open_rejects_until_timeout_then_half_open_allows_one_trial() -> None:
    b = make(timeout_s=30.0)
    for t in (1.0, 2.0, 3.0):
        call(b, False, t)
    assert b.allow(32.9) == (False, None)
    go, transition = b.allow(33.0)
    assert go and transition is not None and transition.state == "half_open"
    # Only one trial at a time.
    assert b.allow(33.0) == (False, None)
    closed = b.record(True, 33.1)
    assert closed is not None and closed.state == "closed" and b.failure_count == 0


def test_half_open_failure_reopens_and_restarts_the_timeout() -> None:
    b = make(timeout_s=10.0)
    for t in (1.0, 2.0, 3.0):
        call(b, False, t)
    assert b.allow(13.0)[0]
    t = b.record(False, 13.0)
    assert t is not None and (t.prev_state, t.state) == ("half_open", "open")
    assert b.allow(22.9) == (False, None)  # the timeout restarted at 13.0
    assert b.allow(23.0)[0]


def test_operator_force_open_stays_until_close_and_reset_clears_counts() -> None:
    b = make(timeout_s=1.0)
    call(b, True, 0.5)
    t = b.force_open(1.0)
    assert t is not None and t.state == "forced_open"
    assert b.force_open(2.0) is None  # already forced: no second transition
    assert b.allow(1_000.0) == (False, None)  # the open timeout does not apply
    t = b.close(1_001.0)
    assert t is not None and (t.prev_state, t.state) == ("forced_open", "closed")
    call(b, False, 1_002.0)
    t = b.reset(1_003.0)
    assert t is None and b.state == "closed" and b.failure_count == 0
    assert b.stats(1_003.0) == (None, 0) and b.recent_calls == ()


def test_reports_success_rate_and_calls_over_the_window_and_keeps_last_100() -> None:
    b = CircuitBreaker("x", BreakerConfig(failure_threshold=1_000, window_s=300.0), now=0.0)
    for i in range(150):
        call(b, i % 3 != 0, float(i))
    assert len(b.recent_calls) == KEPT_CALLS
    rate, calls = b.stats(149.0)
    assert calls == 150
    assert rate == 100 / 150
    c = b.snapshot(149.0)
    assert c.total_requests_5min == 150 and c.failure_threshold == 1_000 and c.state == "closed"
    # Five minutes later the old calls no longer count.
    assert b.stats(149.0 + 301.0) == (None, 0)

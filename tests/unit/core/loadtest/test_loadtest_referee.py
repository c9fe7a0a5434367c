"""The referee on a real Store: windows held for their time, blind spells, warm-up, verdicts."""

from __future__ import annotations

import math

from opsconsole.core.loadtest.referee import StopReason
from tests.unit.core.loadtest.feeding import T0, Run, spec, stop, success

ERRORS = stop("error_ratio", 0.01, over=1.0, hold=120.0)


def test_a_stop_condition_stops_once_it_has_held_for_its_whole_time() -> None:
    run = Run(spec(ERRORS))
    for t in range(120):
        run.tick(t, error_ratio=0.05)
    assert run.referee.stop_due is None
    state = run.state(ERRORS.key)
    assert state.state == "breaching"
    assert state.held_s == 119.0
    assert state.left_s == 1.0
    run.tick(120, error_ratio=0.05)
    due = run.referee.stop_due
    assert due is not None
    assert (due.key, due.since) == (ERRORS.key, T0 + 120)
    assert due.words == "error rate stayed above 1 % for 2 min"
    assert run.state(ERRORS.key).state == "failed"


def test_a_breach_that_clears_at_1m59s_does_not_stop_and_a_new_one_starts_from_zero() -> None:
    run = Run(spec(ERRORS))
    for t in range(120):  # violated at 0..119: held 119 s
        run.tick(t, error_ratio=0.05)
    run.tick(120, error_ratio=0.0)
    assert run.state(ERRORS.key).state == "pass"
    assert run.state(ERRORS.key).held_s == 0.0
    for t in range(121, 240):  # a second breach of 118 s: not 119 + 118
        run.tick(t, error_ratio=0.05)
    assert run.referee.stop_due is None
    assert run.state(ERRORS.key).violation_s == 119.0 + 118.0
    result = run.referee.finish(T0 + 240, None)
    assert result.verdict == "passed"
    assert result.exit_code == 0
    assert result.criteria[0].verdict == "did not hold"


def test_a_burst_at_the_end_of_a_long_calm_run_counts_in_full() -> None:
    """k6's cumulative thresholds read a late crash as a small average; a window does not."""
    errors = success("max_error_ratio", "error_ratio", 0.001, over=60.0, hold=30.0)
    run = Run(spec(errors))
    for t in range(600):
        run.tick(t)
    for t in range(600, 640):
        run.tick(t, error_ratio=1.0)
    state = run.state("max_error_ratio")
    assert state.failed_at == T0 + 630
    assert state.worst is not None and state.worst > 0.6
    result = run.referee.finish(T0 + 640, None)
    assert (result.verdict, result.exit_code) == ("failed", 1)


def test_a_short_blind_spell_neither_stops_nor_throws_the_breach_away() -> None:
    errors = stop("error_ratio", 0.01, over=60.0, hold=120.0)
    run = Run(spec(errors))
    for t in range(100):
        run.tick(t, error_ratio=0.05)
    for t in range(100, 110):  # the backend goes quiet: nothing new arrives
        run.observe(t)
    state = run.state(errors.key)
    # Samples up to 2 s old still count (FRESH_S); after that the window reads no data.
    assert state.state == "no data"
    assert state.value is None
    assert state.held_s == 101.0
    assert run.referee.stop_due is None
    for t in range(110, 129):
        run.tick(t, error_ratio=0.05)
    assert run.referee.stop_due is None  # held 101 + 18: the spell's seconds are not counted
    run.tick(129, error_ratio=0.05)
    assert run.referee.stop_due is not None
    assert run.referee.stop_due.since == T0 + 129
    moves = [(t.old, t.new) for t in run.referee.transitions if t.key == errors.key]
    assert moves == [
        ("no data", "breaching"),
        ("breaching", "no data"),
        ("no data", "breaching"),
        ("breaching", "failed"),
    ]


def test_a_blind_spell_longer_than_the_window_clears_the_run() -> None:
    errors = stop("error_ratio", 0.01, over=60.0, hold=120.0)
    run = Run(spec(errors))
    for t in range(100):
        run.tick(t, error_ratio=0.05)
    for t in range(100, 171):
        run.observe(t)
    for t in range(171, 291):
        run.tick(t, error_ratio=0.05)
    assert run.referee.stop_due is None
    run.tick(291, error_ratio=0.05)
    assert run.referee.stop_due is not None
    assert run.referee.stop_due.since == T0 + 291


def test_one_missing_sample_in_a_real_breach_keeps_the_run() -> None:
    errors = stop("error_ratio", 0.01, over=60.0, hold=120.0)
    run = Run(spec(errors))
    for t in range(121):
        if t == 50:
            run.observe(t)  # the row for this second never came
        else:
            run.tick(t, error_ratio=0.05)
    assert run.referee.stop_due is not None
    assert run.referee.stop_due.since == T0 + 120


def test_nan_samples_are_no_data_and_a_service_without_data_does_not_hide_another() -> None:
    p95 = success("p95_ms", "latency_p95_ms", 500.0, hold=10.0)
    run = Run(spec(p95, ERRORS))
    run.tick(0, error_ratio=math.nan, latency_p95_ms=math.nan)
    assert run.state("p95_ms").state == "no data"
    assert run.state(ERRORS.key).state == "no data"
    assert run.state("p95_ms").worst is None
    run.sample(1, orders={"latency_p95_ms": math.nan}, payments={"latency_p95_ms": 900.0})
    run.observe(1)
    assert run.state("p95_ms").value == 900.0
    assert run.state("p95_ms").state == "breaching"


def test_services_that_never_report_leave_every_criterion_unjudged() -> None:
    p95 = success("p95_ms", "latency_p95_ms", 500.0)
    run = Run(spec(p95, ERRORS, services=("ghost",)))
    run.sample(0, orders={})
    for t in range(30):
        run.observe(t)
    assert {c.state for c in run.referee.criteria} == {"no data"}
    result = run.referee.finish(T0 + 30, None)
    assert result.verdict == "passed"
    assert [c.verdict for c in result.criteria] == ["no data", "no data"]
    assert any("p95 ≤ 500 ms: no data during the whole test" in w for w in result.warnings)


def test_warm_up_holds_success_criteria_but_not_stop_conditions() -> None:
    p95 = success("p95_ms", "latency_p95_ms", 500.0, hold=10.0)
    fast_stop = stop("error_ratio", 0.01, hold=5.0)
    run = Run(spec(p95, fast_stop, warmup=30.0))
    for t in range(30):
        run.tick(t, latency_p95_ms=900.0)
    assert run.state("p95_ms").state == "warming up"
    assert run.state("p95_ms").violation_s == 0.0
    assert run.state("p95_ms").worst is None
    run.tick(30, latency_p95_ms=900.0)
    assert run.state("p95_ms").state == "breaching"
    for t in range(31, 41):
        run.tick(t, latency_p95_ms=900.0)
    assert run.state("p95_ms").failed_at == T0 + 40

    during = Run(spec(p95, fast_stop, warmup=30.0))
    for t in range(6):
        during.tick(t, error_ratio=0.5)
    assert during.referee.stop_due is not None
    assert during.referee.stop_due.since == T0 + 5


def test_a_failed_criterion_may_read_pass_again_but_the_verdict_keeps_the_failure() -> None:
    p95 = success("p95_ms", "latency_p95_ms", 500.0, hold=60.0)
    run = Run(spec(p95))
    for t in range(21):
        run.tick(t, latency_p95_ms=900.0)
    assert run.state("p95_ms").left_s == 40.0
    for t in range(21, 71):
        run.tick(t, latency_p95_ms=800.0 if t != 35 else 1200.0)
    assert run.state("p95_ms").state == "failed"
    run.tick(71, latency_p95_ms=100.0)
    live = run.state("p95_ms")
    assert live.state == "pass"
    assert live.left_s is None
    assert live.failed_at == T0 + 60
    assert live.violation_s == 70.0
    assert live.worst == 1200.0
    result = run.referee.finish(T0 + 72, None)
    assert (result.verdict, result.exit_code) == ("failed", 1)
    (row,) = result.criteria
    assert (row.verdict, row.violation_s, row.worst, row.label) == (
        "failed",
        70.0,
        1200.0,
        "p95 ≤ 500 ms",
    )


def test_a_floor_is_broken_by_too_little_throughput_summed_over_the_services() -> None:
    floor = success("min_rps", "rps", 1000.0, floor=True, hold=5.0)
    run = Run(spec(floor))
    run.tick(0)  # 600 + 600 rps
    assert (run.state("min_rps").state, run.state("min_rps").value) == ("pass", 1200.0)
    for t in range(1, 7):
        run.tick(t, rps=400.0)
    assert run.state("min_rps").state == "failed"
    assert run.state("min_rps").worst == 800.0


def test_a_stop_verdict_beats_failed_criteria_and_transitions_carry_their_values() -> None:
    p95 = success("p95_ms", "latency_p95_ms", 500.0, hold=0.0)
    run = Run(spec(p95, ERRORS))
    for t in range(121):
        run.tick(t, error_ratio=0.05, latency_p95_ms=700.0)
    due = run.referee.stop_due
    assert due is not None
    result = run.referee.finish(T0 + 125, due, stop_outcome="the tool reports stopped")
    assert (result.verdict, result.exit_code) == ("stopped", 3)
    assert result.stop is not None
    assert (result.stop.key, result.stop.ts, result.stop.outcome) == (
        ERRORS.key,
        T0 + 120,
        "the tool reports stopped",
    )
    first = run.referee.transitions[0]
    assert (first.ts, first.key, first.old, first.new) == (T0, "p95_ms", "no data", "failed")
    assert first.value == 700.0
    stop_moves = [t for t in run.referee.transitions if t.key == "stop"]
    assert [(t.old, t.new, t.ts) for t in stop_moves] == [("running", "stop due", T0 + 120)]


def test_keeping_the_test_running_makes_the_condition_hold_its_whole_time_again() -> None:
    run = Run(spec(ERRORS))
    for t in range(121):
        run.tick(t, error_ratio=0.05)
    run.referee.dismiss_stop(T0 + 121)
    assert run.referee.stop_due is None
    for t in range(121, 241):
        run.tick(t, error_ratio=0.05)
    assert run.referee.stop_due is None
    run.tick(241, error_ratio=0.05)
    assert run.referee.stop_due == StopReason(
        ERRORS.key, "error rate stayed above 1 % for 2 min", T0 + 241
    )


def test_a_clock_that_steps_back_does_not_shorten_or_lengthen_a_run() -> None:
    run = Run(spec(ERRORS))
    for t in range(60):
        run.tick(t, error_ratio=0.05)
    run.observe(30)  # an out-of-order look: judged as now, adds nothing
    assert run.state(ERRORS.key).held_s == 59.0

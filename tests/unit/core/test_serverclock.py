"""The backend clock estimate: skew followed, transit delay never taken for skew."""

from __future__ import annotations

from opsconsole.core.serverclock import ServerClock


def test_agreeing_clocks_with_late_frames_show_the_lateness() -> None:
    clock = ServerClock()
    for i in range(10):
        clock.observe(server_ts=1000.0 + i, local_ts=1005.0 + i)  # every frame 5 s late
    assert clock.offset == 0.0
    assert clock.sample_age(1009.0, local_now=1014.0) == 5.0


def test_a_clock_minutes_behind_is_followed() -> None:
    clock = ServerClock()
    for i in range(10):
        # Backend clock 300 s behind; transit 0.05–0.5 s.
        clock.observe(server_ts=700.0 + i, local_ts=1000.0 + i + 0.05 + (i % 3) * 0.2)
    assert abs(clock.offset - (-300.05)) < 1e-9  # the least delayed frame wins
    assert abs(clock.sample_age(709.0, local_now=1009.5) - 0.45) < 1e-9


def test_a_new_run_forgets_the_old_clock() -> None:
    clock = ServerClock()
    clock.observe(700.0, 1000.0)
    clock.reset()
    assert clock.measured is None and clock.offset == 0.0
    assert clock.sample_age(990.0, local_now=1000.0) == 10.0


def test_age_is_never_negative() -> None:
    clock = ServerClock()
    clock.observe(1000.0, 1000.0)
    assert clock.sample_age(1002.0, local_now=1000.0) == 0.0


def test_a_clock_a_few_seconds_ahead_is_followed_since_delay_cannot_explain_it() -> None:
    clock = ServerClock()
    clock.observe(server_ts=1005.0, local_ts=1000.1)
    assert abs(clock.offset - 4.9) < 1e-9
    assert abs(clock.sample_age(1005.0, local_now=1000.1)) < 1e-9

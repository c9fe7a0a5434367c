"""Following the worst service: at once into an incident, never back and forth."""

from __future__ import annotations

from opsconsole.core.health import Health
from opsconsole.core.worst import Standing, WorstFollower

OK, WARN, CRIT, UNKNOWN = Health.HEALTHY, Health.WARNING, Health.CRITICAL, Health.UNKNOWN
A, B, C = ("sim", "analytics"), ("sim", "orders"), ("sim", "search")


def test_the_worst_first_by_state_then_pressure_then_name() -> None:
    follow = WorstFollower()
    assert follow.choose({}, 0.0) is None
    assert follow.choose({A: Standing(OK, 0.3), B: Standing(OK, 0.5)}, 0.0) == B
    fresh = WorstFollower()
    # Equal standings: the name decides, so the same data always picks the same service.
    assert fresh.choose({B: Standing(OK, 0.4), A: Standing(OK, 0.4)}, 0.0) == A
    # No data has nothing to chart: it comes after healthy services.
    assert WorstFollower().choose({A: Standing(UNKNOWN, 0.0), C: Standing(OK, 0.1)}, 0.0) == C


def test_a_worse_state_takes_over_at_once() -> None:
    follow = WorstFollower()
    assert follow.choose({A: Standing(OK, 0.5), B: Standing(OK, 0.3)}, 0.0) == A
    assert follow.choose({A: Standing(OK, 0.5), B: Standing(CRIT, 1.4)}, 1.0) == B


def test_a_flapping_neighbour_does_not_swap_the_charts_back_and_forth() -> None:
    follow = WorstFollower(margin=0.15, hold_s=10.0)
    assert follow.choose({A: Standing(WARN, 0.85), B: Standing(OK, 0.7)}, 0.0) == A
    picks = []
    for t in range(1, 30):
        # B flips between WARN and OK every second, just past A's pressure.
        b = Standing(WARN, 0.9) if t % 2 else Standing(OK, 0.78)
        picks.append(follow.choose({A: Standing(WARN, 0.85), B: b}, float(t)))
    assert set(picks) == {A}


def test_a_clearly_worse_neighbour_takes_over_after_the_hold() -> None:
    follow = WorstFollower(margin=0.15, hold_s=10.0)
    assert follow.choose({A: Standing(OK, 0.5), B: Standing(OK, 0.3)}, 0.0) == A
    standings = {A: Standing(OK, 0.4), B: Standing(OK, 0.65)}
    assert follow.choose(standings, 1.0) == A  # clearly worse, but only just now
    assert follow.choose(standings, 10.9) == A
    assert follow.choose(standings, 11.0) == B
    # A gone (its backend removed): the next worst at once.
    assert follow.choose({C: Standing(OK, 0.1)}, 12.0) == C


def test_the_challenge_restarts_when_the_lead_drops_in_between() -> None:
    follow = WorstFollower(margin=0.15, hold_s=10.0)
    follow.choose({A: Standing(OK, 0.5), B: Standing(OK, 0.3)}, 0.0)
    follow.choose({A: Standing(OK, 0.4), B: Standing(OK, 0.65)}, 1.0)
    follow.choose({A: Standing(OK, 0.4), B: Standing(OK, 0.45)}, 6.0)  # back within margin
    assert follow.choose({A: Standing(OK, 0.4), B: Standing(OK, 0.65)}, 7.0) == A
    assert follow.choose({A: Standing(OK, 0.4), B: Standing(OK, 0.65)}, 16.0) == A
    assert follow.choose({A: Standing(OK, 0.4), B: Standing(OK, 0.65)}, 17.0) == B


def test_reset_takes_the_worst_now() -> None:
    follow = WorstFollower(margin=0.15, hold_s=10.0)
    follow.choose({A: Standing(CRIT, 1.8), B: Standing(OK, 0.3)}, 0.0)
    standings = {A: Standing(CRIT, 1.8), B: Standing(CRIT, 4.0)}
    assert follow.choose(standings, 1.0) == A  # clearly worse, but held
    follow.reset()
    assert follow.choose(standings, 2.0) == B

"""The flapping rule: which breaker changes grow one run, and which start another."""

from __future__ import annotations

from opsconsole.core.flapping import FLAP_WINDOW_S, FlapRun, next_run

T = 1_000.0


def runs(changes: list[tuple[str, str, float]]) -> list[FlapRun | None]:
    out: list[FlapRun | None] = []
    run: FlapRun | None = None
    for old, new, ts in changes:
        run = next_run(run, old, new, ts)
        out.append(run)
    return out


def test_back_and_forth_between_two_states_grows_one_run() -> None:
    *_, last = runs(
        [("open", "half_open", T), ("half_open", "open", T + 30), ("open", "half_open", T + 60)]
    )
    assert last == FlapRun("open", "half_open", 3, T, T + 60, "half_open")
    assert last.grouped


def test_a_first_change_is_a_run_of_one_not_a_group() -> None:
    [run] = runs([("closed", "open", T)])
    assert run == FlapRun("closed", "open", 1, T, T, "open") and not run.grouped


def test_a_normal_recovery_never_groups() -> None:
    # closed → open → half-open → closed: three different pairs, three runs of one.
    counts = [
        r.count if r else 0
        for r in runs(
            [("closed", "open", T), ("open", "half_open", T + 30), ("half_open", "closed", T + 31)]
        )
    ]
    assert counts == [1, 1, 1]


def test_each_change_must_come_within_the_window_of_the_previous_one() -> None:
    within, late = (
        runs([("open", "half_open", T), ("half_open", "open", T + FLAP_WINDOW_S)]),
        runs([("open", "half_open", T), ("half_open", "open", T + FLAP_WINDOW_S + 0.1)]),
    )
    assert within[-1] is not None and within[-1].count == 2
    assert late[-1] == FlapRun(
        "half_open", "open", 1, T + FLAP_WINDOW_S + 0.1, T + FLAP_WINDOW_S + 0.1, "open"
    )
    # A long flap is fine as long as no pause is longer than the window.
    long = runs(
        [
            ("open", "half_open", T + 50 * i) if i % 2 == 0 else ("half_open", "open", T + 50 * i)
            for i in range(20)
        ]
    )
    assert long[-1] is not None and long[-1].count == 20 and long[-1].start_ts == T


def test_a_change_stamped_slightly_earlier_does_not_move_the_end_back() -> None:
    *_, last = runs([("open", "half_open", T), ("half_open", "open", T - 0.5)])
    assert last is not None and last.count == 2 and last.last_ts == T


def test_operator_states_never_group_and_end_the_run() -> None:
    flaps = runs(
        [
            ("open", "half_open", T),
            ("half_open", "forced_open", T + 1),
            ("forced_open", "open", T + 2),
            ("open", "disabled", T + 3),
        ]
    )
    assert flaps[1:] == [None, None, None]
    after = next_run(None, "open", "half_open", T + 4)
    assert after is not None and after.count == 1
    assert next_run(after, "half_open", "half_open", T + 5) is None  # not a change

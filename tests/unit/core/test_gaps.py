"""Gap rule and pointer lookup of core.gaps: holes in time found, coarse history left alone."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsconsole.core.gaps import (
    GAP_FACTOR,
    Pointed,
    find_gaps,
    gap_spans,
    gap_text,
    length_text,
    point_at,
    usual_step,
)

T0 = 1_800_000_000.0


def local(h: int, m: int, s: int) -> float:
    """Epoch seconds of a local wall-clock time today (so the text is the same in any zone)."""
    now = time.localtime()
    return time.mktime((now.tm_year, now.tm_mon, now.tm_mday, h, m, s, 0, 0, -1))


def ticks(*runs: tuple[int, float], start: float = T0) -> np.ndarray:
    """Sample times from runs of (count, step): each run continues where the last ended."""
    out = [start]
    for count, step in runs:
        out.extend(out[-1] + step * np.arange(1, count + 1))
    return np.array(out)


def test_usual_step_is_the_median_spacing() -> None:
    assert usual_step(ticks((100, 1.0), (1, 65.0), (100, 1.0))) == 1.0
    assert math.isnan(usual_step(np.array([T0])))
    assert math.isnan(usual_step(np.empty(0)))


def test_an_outage_is_one_gap_between_the_points_around_it() -> None:
    t = ticks((100, 1.0), (1, 65.0), (100, 1.0))
    gaps = find_gaps(t)
    assert gaps.tolist() == [100]
    starts, ends = gap_spans(t, gaps)
    assert ends[0] - starts[0] == 65.0
    assert (starts[0], ends[0]) == (t[100], t[101])


def test_one_missed_sample_is_not_a_gap_two_are() -> None:
    assert find_gaps(ticks((50, 1.0), (1, 2.0), (50, 1.0))).size == 0
    assert find_gaps(ticks((50, 1.0), (1, 3.0), (50, 1.0))).tolist() == [50]
    assert 2.0 < GAP_FACTOR < 3.0


def test_jitter_is_not_a_gap() -> None:
    rng = np.random.default_rng(1)
    t = T0 + np.arange(1000) + rng.uniform(-0.3, 0.3, 1000)
    assert find_gaps(t).size == 0


def test_coarse_history_before_live_data_stays_a_line() -> None:
    # A backfill at 60 s steps, then live samples every second: neither is a hole.
    t = ticks((60, 60.0), (600, 1.0))
    assert find_gaps(t).size == 0
    # ...but a real hole inside the coarse part still is one.
    t = ticks((30, 60.0), (1, 600.0), (30, 60.0), (600, 1.0))
    assert find_gaps(t).tolist() == [30]


def test_a_lone_sample_inside_an_outage_has_a_gap_on_each_side() -> None:
    t = ticks((100, 1.0), (1, 30.0), (1, 30.0), (100, 1.0))
    assert find_gaps(t).tolist() == [100, 101]


def test_gap_at_the_edges_of_the_series() -> None:
    assert find_gaps(ticks((1, 50.0), (40, 1.0))).tolist() == [0]
    assert find_gaps(ticks((40, 1.0), (1, 50.0))).tolist() == [40]
    assert find_gaps(ticks((1, 50.0))).size == 0  # two points: no usual step to compare


def test_a_given_step_is_used() -> None:
    t = ticks((20, 1.0), (1, 4.0), (20, 1.0))
    assert find_gaps(t, step=1.0).tolist() == [20]
    assert find_gaps(t, step=2.0).size == 0


@settings(max_examples=60, deadline=None)
@given(
    step=st.floats(0.05, 60.0),
    n=st.integers(10, 400),
    hole=st.floats(3.0, 1000.0),
    where=st.floats(0.1, 0.9),
)
def test_any_hole_longer_than_three_steps_is_found_exactly_once(
    step: float, n: int, hole: float, where: float
) -> None:
    at = int(n * where)
    t = T0 + step * np.arange(n, dtype=np.float64)
    t[at + 1 :] += (hole - 1.0) * step
    assert find_gaps(t).tolist() == [at]


def test_point_at_a_sample_or_a_gap() -> None:
    t = ticks((10, 1.0), (1, 65.0), (10, 1.0))
    starts, ends = gap_spans(t, find_gaps(t))
    assert point_at(t, starts, ends, T0 + 3.4, 1.0) == Pointed(index=3)
    assert point_at(t, starts, ends, T0 + 3.6, 1.0) == Pointed(index=4)
    inside = point_at(t, starts, ends, T0 + 40.0, 1.0)
    assert inside.is_gap and (inside.start, inside.end) == (T0 + 10.0, T0 + 75.0)
    # On the samples bounding the gap: the samples.
    assert point_at(t, starts, ends, T0 + 10.0, 1.0) == Pointed(index=10)
    assert point_at(t, starts, ends, T0 + 75.0, 1.0) == Pointed(index=11)


def test_point_before_the_first_and_after_the_last_sample() -> None:
    t = ticks((10, 1.0))
    none = np.empty(0)
    assert point_at(t, none, none, T0 - 0.4, 1.0) == Pointed(index=0)
    assert point_at(t, none, none, T0 - 5.0, 1.0) == Pointed(end=T0)
    assert point_at(t, none, none, T0 + 10.4, 1.0) == Pointed(index=10)
    assert point_at(t, none, none, T0 + 30.0, 1.0) == Pointed(start=T0 + 10.0)
    assert point_at(np.empty(0), none, none, T0, 1.0) == Pointed()


def test_gap_text_in_the_operators_words() -> None:
    a, b = local(12, 24, 10), local(12, 25, 15)
    assert gap_text(Pointed(start=a, end=b), now=b) == "no data 12:24:10 – 12:25:15 (65 s)"
    assert gap_text(Pointed(start=a), now=a + 40.2) == "no data since 12:24:10 (40 s)"
    assert gap_text(Pointed(end=b), now=b) == "no data before 12:25:15"
    assert gap_text(Pointed(), now=b) == "no data"


def test_a_gap_over_midnight_names_the_dates() -> None:
    a = local(23, 59, 30)
    text = gap_text(Pointed(start=a, end=a + 65), now=a + 65)
    day = time.strftime("%Y-%m-%d", time.localtime(a))
    after = time.strftime("%Y-%m-%d", time.localtime(a + 65))
    assert text == f"no data {day} 23:59:30 – {after} 00:00:35 (65 s)"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (65, "65 s"), (119.6, "2 min"), (250, "4 min 10 s"), (3600, "1 h")],
)
def test_length_text(seconds: float, text: str) -> None:
    assert length_text(seconds) == text


def test_length_text_hours() -> None:
    assert length_text(7500) == "2 h 5 min"
    assert length_text(86400) == "24 h"

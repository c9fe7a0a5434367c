"""The batch maths gives the per-SLO functions' numbers for every SLO at once."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from opsconsole.core.slo import BURN_WINDOWS, WINDOW_KEYS, Counts, Slo, SloObservation, SloWindow
from opsconsole.core.slo.batch import evaluate, pack
from opsconsole.core.slo.budget import observed_budget
from opsconsole.core.slo.burn import burn_rates
from opsconsole.core.slo.exhaustion import exhaustion, soonest
from opsconsole.core.slo.tiers import WORKBOOK_TIERS, evaluate_tiers

AS_OF = datetime(2024, 3, 10, 12, tzinfo=UTC).timestamp()
MIN_REQUESTS = 100.0


def nan_if_none(x: float | None) -> float:
    return math.nan if x is None else x


counts = st.one_of(
    st.none(),
    st.tuples(st.floats(0.0, 1e7), st.floats(0.0, 1.0)).map(
        lambda t: Counts(t[0] * (1 - t[1]), t[0])
    ),
    # Now and then, a budget overspent or spent to the last request.
    st.floats(0.0, 1e6).map(lambda total: Counts(total * 0.999, total)),
)
observations = st.builds(
    lambda objective, window, cs, i: SloObservation(
        Slo(f"svc-{i}", objective, window),
        AS_OF,
        {k: c for k, c in zip(WINDOW_KEYS, cs, strict=True) if c is not None},
    ),
    st.sampled_from([0.9, 0.99, 0.995, 0.999, 0.9999]),
    st.sampled_from([SloWindow.rolling(28), SloWindow.rolling(30), SloWindow.calendar_month()]),
    st.lists(counts, min_size=len(WINDOW_KEYS), max_size=len(WINDOW_KEYS)),
    st.integers(0, 10_000),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(observations, min_size=1, max_size=8))
@example(  # a count whose budget underflows to zero: it divided by zero once (CI, seed-free)
    [
        SloObservation(
            Slo("svc-0", 0.9, SloWindow.rolling(28)), AS_OF, {"window": Counts(0.0, 5e-324)}
        )
    ]
)
def test_batch_agrees_with_the_per_slo_functions(obs_list: list[SloObservation]) -> None:
    result = evaluate(pack(obs_list), WORKBOOK_TIERS, MIN_REQUESTS)
    for i, obs in enumerate(obs_list):
        burns = burn_rates(obs, MIN_REQUESTS)
        expected_burn = [nan_if_none(burns[w].rate) for w in BURN_WINDOWS]
        np.testing.assert_allclose(result.burn[i], expected_burn, rtol=1e-9)
        assert list(result.low_traffic[i]) == [
            burns[w].state.value == "too little traffic" for w in BURN_WINDOWS
        ]
        status = observed_budget(obs)
        np.testing.assert_allclose(
            [result.remaining[i], result.remaining_requests[i], result.outage_minutes[i]],
            [
                nan_if_none(f.value)
                for f in (status.remaining, status.remaining_requests, status.outage_minutes)
            ],
            rtol=1e-9,
            atol=1e-9,
        )
        assert list(result.firing[i]) == [
            v.firing for v in evaluate_tiers(obs, WORKBOOK_TIERS, MIN_REQUESTS)
        ]
        projections = exhaustion(obs, MIN_REQUESTS, status)
        np.testing.assert_allclose(
            result.exhaustion_s[i], [nan_if_none(p.seconds) for p in projections], rtol=1e-9
        )
        first = soonest(projections)
        assert result.exhausts_before_end[i] == bool(first is not None and first.before_end)


def test_worst_budget_first_and_unknown_last() -> None:
    slo = Slo("a", 0.999, SloWindow.rolling(30))
    obs = [
        SloObservation(Slo(name, 0.999, slo.window), AS_OF, windows)
        for name, windows in [
            ("fine", {"window": Counts(1000.0, 1000.0)}),
            ("unknown", {}),
            ("overspent", {"window": Counts(990.0, 1000.0)}),
            ("half", {"window": Counts(999_500.0, 1_000_000.0)}),
        ]
    ]
    result = evaluate(pack(obs))
    order = [result.services[i] for i in result.worst_first()]
    assert order == ["overspent", "half", "fine", "unknown"]
    assert result.remaining[2] == pytest.approx(-9.0)

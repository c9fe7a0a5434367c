"""How much error budget each service under test has left, to measure what a test spent."""

from __future__ import annotations

from collections.abc import Mapping

from opsconsole.core.slo.budget import observed_budget
from opsconsole.core.store import Store


def budget_left(store: Store, backend: str, services: tuple[str, ...]) -> dict[str, float | None]:
    """Each service's remaining budget fraction now (None: no SLO or no counts)."""
    state = store.backends.get(backend)
    out: dict[str, float | None] = {}
    for service in services:
        obs = state.slos.get(service) if state is not None else None
        out[service] = observed_budget(obs).fraction if obs is not None else None
    return out


def budget_consumed(
    before: Mapping[str, float | None], after: Mapping[str, float | None]
) -> dict[str, float | None]:
    """The fraction of each service's budget spent between two readings (None when either
    reading has none; never negative: a window that rolled past old failures gave budget back,
    which the test did not earn)."""
    out: dict[str, float | None] = {}
    for service, start in before.items():
        end = after.get(service)
        out[service] = None if start is None or end is None else max(0.0, start - end)
    return out

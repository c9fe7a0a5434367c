"""A real Store fed second by second, and a Referee watching it, for the load-test tests."""

from __future__ import annotations

import numpy as np

from opsconsole.core.events import MetricsBatch
from opsconsole.core.loadtest.guards import GuardTrip
from opsconsole.core.loadtest.referee import Referee
from opsconsole.core.loadtest.spec import Criterion, Guards, LoadTestSpec
from opsconsole.core.loadtest.toolstats import ToolStats
from opsconsole.core.loadtest.window import server_signals_by_window
from opsconsole.core.models import METRIC_FIELDS
from opsconsole.core.store import Store

T0 = 1_800_000_000.0
BACKEND = "sim"
CALM = {
    "latency_p50_ms": 20.0,
    "latency_p95_ms": 80.0,
    "latency_p99_ms": 150.0,
    "rps": 600.0,
    "error_ratio": 0.0,
    "cpu": 0.3,
    "memory": 0.4,
}
FRESH_S = 2.0  # a sample older than this is stale: the window reads "no data"


def success(
    key: str,
    signal: str,
    limit: float,
    *,
    floor: bool = False,
    over: float = 1.0,
    hold: float = 60.0,
) -> Criterion:
    return Criterion(key, signal, limit, not floor, over, hold, "success")  # type: ignore[arg-type]


def stop(signal: str, above: float, *, over: float = 1.0, hold: float = 120.0) -> Criterion:
    key = f"stop:{signal}>{above:g}/{hold:g}s"
    return Criterion(key, signal, above, True, over, hold, "stop")  # type: ignore[arg-type]


def spec(
    *criteria: Criterion,
    warmup: float = 0.0,
    guards: Guards | None = None,
    services: tuple[str, ...] = ("orders", "payments"),
) -> LoadTestSpec:
    return LoadTestSpec(
        name="checkout",
        tool="locust",
        url="http://127.0.0.1:8089",
        services=services,
        warmup_s=warmup,
        success=tuple(c for c in criteria if c.kind == "success"),
        stops=tuple(c for c in criteria if c.kind == "stop"),
        guards=guards or Guards(),
    )


class Run:
    """Feeds the store one metrics row per service at server time T0 + t, then lets the
    referee observe the windows computed from the store at that time."""

    def __init__(self, test: LoadTestSpec, store: Store | None = None) -> None:
        self.spec = test
        self.store = store or Store()
        self.referee = Referee(test)

    def sample(self, t: float, **rows: dict[str, float]) -> None:
        """One row per named service (CALM with the given overrides)."""
        names = tuple(rows)
        values = np.array([[{**CALM, **rows[s]}[f] for f in METRIC_FIELDS] for s in names])
        ts = np.full(len(names), T0 + t)
        self.store.apply(MetricsBatch(BACKEND, names, ts, values, METRIC_FIELDS))

    def observe(
        self, t: float, tool: ToolStats | None = None, trips: tuple[GuardTrip, ...] = ()
    ) -> None:
        now = T0 + t
        signals = server_signals_by_window(
            self.store, BACKEND, self.spec.services, now, self.spec.windows, fresh_s=FRESH_S
        )
        self.referee.observe(now, signals, tool, trips)

    def tick(self, t: float, tool: ToolStats | None = None, **overrides: float) -> None:
        """Every service with the same overrides at t, then an observation."""
        self.sample(t, **{s: dict(overrides) for s in self.spec.services})
        self.observe(t, tool)

    def state(self, key: str):
        return next(c for c in self.referee.criteria if c.criterion.key == key)

"""Fault scenarios an operator (or a demo) can inject, and the book of active ones (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from opsconsole.core.protocol import (
    ActiveScenario,
    ScenarioRequest,
    ScenariosBody,
    ScenarioStarted,
)

__all__ = [
    "CATALOG",
    "ActiveScenario",
    "ScenarioBook",
    "ScenarioRequest",
    "ScenarioStarted",
    "ScenariosBody",
]

TargetKind = Literal["service", "dependency", "member", "none"]


@dataclass(frozen=True)
class ScenarioKind:
    name: str
    target_kind: TargetKind
    default_target: str | None  # None for primary_down: the cluster's primary at start time
    default_duration_s: float  # simulated seconds, divided by time_scale
    description: str


# Default durations outlast the `for` of the alert each one should trip, so it fires.
CATALOG: dict[str, ScenarioKind] = {
    k.name: k
    for k in (
        ScenarioKind("primary_down", "member", None, 180.0, "a database member stops answering"),
        ScenarioKind(
            "latency_spike", "service", "orders", 420.0, "requests slow down ~6×, long tail"
        ),
        ScenarioKind("error_burst", "service", "payments", 300.0, "15 % of requests fail"),
        ScenarioKind(
            "dependency_outage",
            "dependency",
            "inventory-service",
            180.0,
            "every call to the dependency times out",
        ),
        ScenarioKind("traffic_surge", "service", "api-gateway", 720.0, "traffic quadruples"),
        ScenarioKind("replica_lag", "member", "replica-2", 300.0, "a replica falls ~3 MiB behind"),
        # Not a timed fault: the bad version stays until rolled back (recover leaves it).
        ScenarioKind(
            "bad_deploy",
            "service",
            "orders",
            0.0,
            "a new version fails ~1.2 % of requests until rolled back",
        ),
        ScenarioKind("recover", "none", None, 0.0, "end every active scenario"),
    )
}
MAX_DURATION_S = 7 * 86_400.0


class ScenarioBook:
    """Active scenarios keyed by (name, target): starting one again extends it."""

    def __init__(self) -> None:
        self._active: dict[tuple[str, str | None], ActiveScenario] = {}

    def start(self, name: str, target: str | None, now: float, until: float) -> ActiveScenario:
        active = ActiveScenario(name, target, now, until)
        self._active[(name, target)] = active
        return active

    def expire(self, now: float) -> list[ActiveScenario]:
        ended = [a for a in self._active.values() if a.until_ts <= now]
        for a in ended:
            del self._active[(a.name, a.target)]
        return ended

    def clear(self) -> list[ActiveScenario]:
        ended = list(self._active.values())
        self._active.clear()
        return ended

    def active(self) -> tuple[ActiveScenario, ...]:
        return tuple(sorted(self._active.values(), key=lambda a: (a.started_ts, a.name)))

    def targets(self, name: str) -> set[str]:
        return {t for (n, t) in self._active if n == name and t is not None}

    def next_expiry(self) -> float | None:
        return min((a.until_ts for a in self._active.values()), default=None)

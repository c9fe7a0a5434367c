"""The referee's live records: each criterion's state, a due stop, a change of state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from opsconsole.core.loadtest.spec import Criterion

State = Literal["pass", "breaching", "failed", "no data", "warming up"]


@dataclass(frozen=True)
class CriterionState:
    """One criterion's live state, for the panel, the wall and the status line."""

    criterion: Criterion
    state: State
    value: float | None  # the signal over the criterion's window now; None is "no data"
    since: float  # when it entered `state`
    left_s: float | None  # while breaching: time before the breach counts (for − held)
    violation_s: float  # total time in violation during the test (for the report)
    worst: float | None  # the worst value judged (warm-up excluded)
    held_s: float = 0.0  # the current run of violation
    failed_at: float | None = None  # when it first counted (failed / stop due); kept


@dataclass(frozen=True)
class StopReason:
    """Why the test must stop: a stop condition that held for its time, or a guard trip."""

    key: str  # the criterion's key, or "guard:<kind>:<subject>"
    words: str  # plain words for the panel, the audit log and the report
    since: float  # when it became due


@dataclass(frozen=True)
class Transition:
    """One change of state, for the timeline: a criterion, a guard or the stop itself."""

    ts: float
    key: str
    old: str
    new: str
    value: float | None

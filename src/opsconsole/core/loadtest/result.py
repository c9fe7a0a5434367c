"""A finished load test's record: verdict, each criterion's outcome, the stop, the timeline."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Literal

import msgspec

from opsconsole.core.loadtest.spec import LoadTestSpec

if TYPE_CHECKING:
    from opsconsole.core.loadtest.guards import GuardTrip
    from opsconsole.core.loadtest.judgement import CriterionState, StopReason, Transition

Verdict = Literal["passed", "failed", "stopped"]
# As k6 says how a run ended; 2 (bad config) is the CLI's own.
EXIT_CODES: Mapping[str, int] = {"passed": 0, "failed": 1, "stopped": 3}


class CriterionResult(msgspec.Struct, frozen=True, kw_only=True):
    """One criterion's outcome over the whole test."""

    key: str
    label: str
    kind: str  # "success" | "stop"
    signal: str
    limit: float
    unit: str  # "ms" | "rps" | "ratio"
    # success: "passed" | "failed" | "no data" (never judged: warm-up or no data throughout);
    # stop: "held" (it fired) | "did not hold" | "no data"
    verdict: str
    violation_s: float
    worst: float | None
    failed_at: float | None = None


class StopRecord(msgspec.Struct, frozen=True, kw_only=True):
    """Why and when the tool was stopped, and what came of it."""

    key: str
    words: str
    ts: float
    outcome: str | None = None  # "the tool reports stopped", "the tool did not answer", …


class TransitionRecord(msgspec.Struct, frozen=True, kw_only=True):
    ts: float
    key: str
    old: str
    new: str
    value: float | None = None


class GuardRecord(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    subject: str
    words: str


class LoadTestResult(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the report and the exit code need; saved as JSON in the data folder."""

    name: str
    tool: str
    services: tuple[str, ...]
    started: float
    ended: float
    verdict: Verdict
    exit_code: int
    criteria: tuple[CriterionResult, ...]
    stop: StopRecord | None = None
    transitions: tuple[TransitionRecord, ...] = ()
    guard_trips: tuple[GuardRecord, ...] = ()
    budget_consumed: dict[str, float | None] = msgspec.field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        return max(0.0, self.ended - self.started)


def result_json(result: LoadTestResult) -> bytes:
    """The result as indented JSON bytes."""
    return msgspec.json.format(msgspec.json.encode(result), indent=2)


def result_from_json(data: bytes | str) -> LoadTestResult:
    """A result read back; raises msgspec.ValidationError / DecodeError for a damaged file."""
    return msgspec.json.decode(data, type=LoadTestResult)


def _criterion_verdict(state: CriterionState) -> str:
    c = state.criterion
    judged = state.worst is not None
    if c.kind == "stop":
        if state.failed_at is not None:
            return "held"
        return "did not hold" if judged else "no data"
    if state.failed_at is not None:
        return "failed"
    return "passed" if judged else "no data"


def build_result(
    spec: LoadTestSpec,
    *,
    started: float,
    ended: float,
    criteria: Iterable[CriterionState],
    stopped_by: StopReason | None,
    stop_outcome: str | None,
    transitions: Iterable[Transition],
    trips: Iterable[GuardTrip],
    budget_consumed: dict[str, float | None],
    warnings: tuple[str, ...],
) -> LoadTestResult:
    """The verdict: "stopped" when a stop reason stopped the test, else "failed" when any
    success criterion failed (even one that held again later), else "passed"."""
    rows = tuple(
        CriterionResult(
            key=s.criterion.key,
            label=s.criterion.label,
            kind=s.criterion.kind,
            signal=s.criterion.signal,
            limit=s.criterion.limit,
            unit=s.criterion.unit,
            verdict=_criterion_verdict(s),
            violation_s=round(s.violation_s, 3),
            worst=s.worst,
            failed_at=s.failed_at,
        )
        for s in criteria
    )
    verdict: Verdict
    if stopped_by is not None:
        verdict = "stopped"
    elif any(r.kind == "success" and r.verdict == "failed" for r in rows):
        verdict = "failed"
    else:
        verdict = "passed"
    stop = None
    if stopped_by is not None:
        stop = StopRecord(
            key=stopped_by.key, words=stopped_by.words, ts=stopped_by.since, outcome=stop_outcome
        )
    return LoadTestResult(
        name=spec.name,
        tool=spec.tool,
        services=spec.services,
        started=started,
        ended=ended,
        verdict=verdict,
        exit_code=EXIT_CODES[verdict],
        criteria=rows,
        stop=stop,
        transitions=tuple(
            TransitionRecord(ts=t.ts, key=t.key, old=t.old, new=t.new, value=t.value)
            for t in transitions
        ),
        guard_trips=tuple(
            GuardRecord(kind=g.kind, subject=g.subject, words=g.words) for g in trips
        ),
        budget_consumed=budget_consumed,
        warnings=warnings,
    )

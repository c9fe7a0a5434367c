"""What one investigation check found, and the order findings are read in."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field


class Verdict(enum.Enum):
    """A check's outcome; never OK when it could not look."""

    INTERESTING = "interesting"
    OK = "ok"
    SKIPPED = "skipped"
    ERROR = "error"


@dataclass(frozen=True)
class Evidence:
    """What a finding rests on: values, thresholds, time range, query, timeline entries."""

    values: dict[str, float | str] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    time_range: tuple[float, float] | None = None
    query: str | None = None
    entry_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Finding:
    """One check's result for one service, in one plain sentence with its evidence."""

    check: str
    service: str
    verdict: Verdict
    sentence: str
    evidence: Evidence = field(default_factory=Evidence)
    started_ts: float | None = None  # when the trouble began, where known


_RANK = {Verdict.INTERESTING: 0, Verdict.OK: 1, Verdict.SKIPPED: 2, Verdict.ERROR: 3}
# Checks whose interesting finding can explain the others (what changed, what the service
# relies on, what it runs out of); the rest describe the symptoms. A breaker that opened
# seconds after the p99 rose is still the likelier cause: it is read first.
CAUSE_CHECKS = frozenset({"recent_changes", "dependencies", "database", "saturation"})


def order_findings(findings: list[Finding] | tuple[Finding, ...]) -> tuple[Finding, ...]:
    """Interesting first: causes (earliest-starting first) above their effects (likewise);
    then ok, skipped, error. The sort is stable, so ties keep the catalogue's order."""

    def key(f: Finding) -> tuple[int, int, float]:
        if f.verdict is not Verdict.INTERESTING:
            return (_RANK[f.verdict], 0, 0.0)
        start = f.started_ts if f.started_ts is not None else math.inf
        return (0, 0 if f.check in CAUSE_CHECKS else 1, start)

    return tuple(sorted(findings, key=key))

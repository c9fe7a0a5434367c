"""The eight checks in the triage list's order, and running them all on one service."""

from __future__ import annotations

from collections.abc import Callable

from opsconsole.core.investigate.finding import Evidence, Finding, Verdict, order_findings
from opsconsole.core.investigate.history import budget_burn, recent_changes
from opsconsole.core.investigate.inputs import NO_SOURCE, Inputs
from opsconsole.core.investigate.relations import alerts, database, dependencies
from opsconsole.core.investigate.signals import golden_deviation, saturation, telemetry

Check = Callable[[Inputs, float], Finding]

CHECKS: tuple[tuple[str, Check], ...] = (
    ("golden_signals", golden_deviation),
    ("saturation", saturation),
    ("dependencies", dependencies),
    ("database", database),
    ("recent_changes", recent_changes),
    ("alerts", alerts),
    ("budget_burn", budget_burn),
    ("telemetry", telemetry),
)


def run_check(check_id: str, check: Check, inputs: Inputs, now: float) -> Finding:
    """One check; a check that raises becomes an ERROR finding, never an ok."""
    try:
        return check(inputs, now)
    except Exception as exc:  # a broken check must not hide the others
        return Finding(
            check_id,
            inputs.service,
            Verdict.ERROR,
            f"error: {type(exc).__name__}: {exc}",
            Evidence(values={"backend": inputs.backend}),
        )


def run_checks(inputs: Inputs, now: float) -> tuple[Finding, ...]:
    """Every check of the catalogue on `inputs`, in reading order."""
    return order_findings([run_check(cid, check, inputs, now) for cid, check in CHECKS])


def merge_backends(findings: list[Finding] | tuple[Finding, ...]) -> tuple[Finding, ...]:
    """Several backends' findings as one reading: a check one backend answered drops the
    others' "no data source" skips (an Alertmanager has no series, a Prometheus no
    breakers), but a backend that could not look always says so. Reading order."""
    answered = {
        f.check
        for f in findings
        if not (f.verdict is Verdict.SKIPPED and f.sentence.startswith(NO_SOURCE))
    }
    kept: list[Finding] = []
    seen_skips: set[str] = set()
    for f in findings:
        if f.verdict is Verdict.SKIPPED and f.sentence.startswith(NO_SOURCE):
            if f.check in answered or f.check in seen_skips:
                continue
            seen_skips.add(f.check)
        kept.append(f)
    return order_findings(kept)

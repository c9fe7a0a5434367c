"""An investigation as a timeline entry: findings to JSON-safe data and back."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from opsconsole.core.investigate.finding import Evidence, Finding, Verdict
from opsconsole.core.timeline.entry import TimelineEntry

KIND = "investigation"


def _number(value: float | str) -> float | str | None:
    # JSON has no NaN: a value not known is stored as null and read back as NaN.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def finding_data(f: Finding) -> dict[str, Any]:
    """A finding as JSON-safe data (the timeline's `data`, `--json` output)."""
    ev = f.evidence
    return {
        "check": f.check,
        "service": f.service,
        "verdict": f.verdict.value,
        "sentence": f.sentence,
        "started_ts": f.started_ts,
        "evidence": {
            "values": {k: _number(v) for k, v in ev.values.items()},
            "thresholds": {k: _number(v) for k, v in ev.thresholds.items()},
            "time_range": list(ev.time_range) if ev.time_range else None,
            "query": ev.query,
            "entry_ids": list(ev.entry_ids),
        },
    }


def finding_from_data(data: Mapping[str, Any]) -> Finding:
    """The finding `finding_data` wrote (a value stored as null comes back as NaN)."""
    ev = data.get("evidence") or {}
    time_range = ev.get("time_range")
    return Finding(
        check=str(data["check"]),
        service=str(data["service"]),
        verdict=Verdict(data["verdict"]),
        sentence=str(data["sentence"]),
        evidence=Evidence(
            values={k: math.nan if v is None else v for k, v in (ev.get("values") or {}).items()},
            thresholds={
                k: math.nan if v is None else float(v)
                for k, v in (ev.get("thresholds") or {}).items()
            },
            time_range=(float(time_range[0]), float(time_range[1])) if time_range else None,
            query=ev.get("query"),
            entry_ids=tuple(int(i) for i in ev.get("entry_ids") or ()),
        ),
        started_ts=data.get("started_ts"),
    )


def investigation_entry(
    service: str, findings: Sequence[Finding], ts: float, incident_start: float
) -> TimelineEntry:
    """The run as one timeline line: "investigated orders: <the first interesting sentence>"
    (or how many checks were fine), every finding in the data."""
    interesting = [f for f in findings if f.verdict is Verdict.INTERESTING]
    blind = sum(f.verdict in (Verdict.SKIPPED, Verdict.ERROR) for f in findings)
    if interesting:
        head = interesting[0].sentence
        more = f" (+{len(interesting) - 1} more)" if len(interesting) > 1 else ""
    else:
        head, more = f"nothing unusual in {len(findings) - blind} check(s)", ""
    could_not = f"; {blind} could not look" if blind else ""
    return TimelineEntry(
        ts=ts,
        backend="console",
        kind=KIND,
        service=service,
        message=f"investigated {service}: {head}{more}{could_not}",
        data={
            "service": service,
            "incident_start": incident_start,
            "findings": [finding_data(f) for f in findings],
        },
    )


def entry_findings(entry: TimelineEntry) -> tuple[Finding, ...]:
    """The findings an investigation entry holds (none for any other entry)."""
    if entry.kind != KIND:
        return ()
    return tuple(finding_from_data(d) for d in entry.data.get("findings") or ())

"""The incident's moments (detected, acknowledged, mitigated, resolved) and the spans to them."""

from __future__ import annotations

from dataclasses import dataclass

from opsconsole.core.incident.model import automatic_stars
from opsconsole.core.postmortem.facts import OperatorAction, PostmortemFacts
from opsconsole.core.timeline.entry import TimelineEntry

#: Actions that tell or quieten, not change the system: never "the mitigation".
NOT_A_FIX_PREFIXES = ("alert.", "silence.")
ACK_COMMAND = "alert.ack"


@dataclass(frozen=True)
class Moment:
    """When something happened and how that is known; `ts` None with the reason why not."""

    ts: float | None
    how: str  # "the first alert fired: …" / the reason it is unknown


@dataclass(frozen=True)
class Span:
    """A time-to figure: seconds from one moment to another, or None with the reason."""

    seconds: float | None
    how: str


@dataclass(frozen=True)
class IncidentTimes:
    detected: Moment
    acknowledged: Moment
    mitigated: Moment
    resolved: Moment
    to_detect: Span  # first alert − start
    to_acknowledge: Span  # acknowledged − first alert
    to_mitigate: Span  # mitigated − start
    to_resolve: Span  # resolved − start
    recovery_entry: TimelineEntry | None  # the resolution that left nothing firing
    mitigating_action: OperatorAction | None  # when no recovery was seen


def first_alert(facts: PostmortemFacts) -> TimelineEntry | None:
    return next(
        (e for e in facts.entries if e.kind == "alert" and e.data.get("change") == "fired"), None
    )


def recovery(facts: PostmortemFacts) -> TimelineEntry | None:
    """The automatic "key moment" star's alert resolution that left nothing firing."""
    by_id = {e.id: e for e in facts.entries}
    for star in automatic_stars(facts.entries):
        entry = by_id.get(star.entry_id)
        if (
            star.tag == "key moment"
            and entry is not None
            and entry.kind == "alert"
            and entry.data.get("change") == "resolved"
        ):
            return entry
    return None


def first_fix(facts: PostmortemFacts) -> OperatorAction | None:
    """The first succeeded action that changed the system (not an acknowledgement or silence)."""
    return next(
        (a for a in facts.actions if a.succeeded and not a.command.startswith(NOT_A_FIX_PREFIXES)),
        None,
    )


def incident_times(facts: PostmortemFacts) -> IncidentTimes:
    incident = facts.incident
    start = incident.start_ts
    alert = first_alert(facts)
    if alert is not None:
        detected = Moment(alert.ts, f"the first alert fired: {alert.message}")
        to_detect = Span(max(0.0, alert.ts - start), "first alert − incident start")
    else:
        why = _no_alert_reason(facts)
        detected = Moment(None, why)
        to_detect = Span(None, why)

    ack = next((a for a in facts.actions if a.command == ACK_COMMAND), None)
    if ack is not None and ack.ts < incident.opened_ts:
        acknowledged = Moment(ack.ts, f"an alert was acknowledged ({ack.target}, {ack.outcome})")
    else:
        acknowledged = Moment(incident.opened_ts, "the incident was opened in the console")
    if alert is None:
        to_ack = Span(None, f"{detected.how}, so there is no alert to measure from")
    elif acknowledged.ts is not None and acknowledged.ts < alert.ts:
        to_ack = Span(0.0, "acknowledged before the first alert fired")
    else:
        assert acknowledged.ts is not None
        to_ack = Span(acknowledged.ts - alert.ts, "acknowledged − first alert")

    recovered = recovery(facts)
    fix: OperatorAction | None = None
    if recovered is not None:
        mitigated = Moment(recovered.ts, f"the last firing alert resolved: {recovered.message}")
    else:
        fix = first_fix(facts)
        if fix is not None:
            mitigated = Moment(
                fix.ts,
                f"no recovery of the alerts was seen; the first succeeded operator action: "
                f"{fix.command} on {fix.target}",
            )
        else:
            mitigated = Moment(None, _no_mitigation_reason(facts))
    to_mitigate = _since_start(mitigated, start, "mitigated − incident start")

    if incident.end_ts is not None:
        resolved = Moment(incident.end_ts, "the incident was closed in the console")
    else:
        resolved = Moment(None, "the incident is still open")
    to_resolve = _since_start(resolved, start, "resolved − incident start")
    return IncidentTimes(
        detected,
        acknowledged,
        mitigated,
        resolved,
        to_detect,
        to_ack,
        to_mitigate,
        to_resolve,
        recovered,
        fix,
    )


def _since_start(moment: Moment, start: float, formula: str) -> Span:
    if moment.ts is None:
        return Span(None, moment.how)
    return Span(max(0.0, moment.ts - start), formula)


def _no_alert_reason(facts: PostmortemFacts) -> str:
    if not facts.timeline_read:
        return "unknown: the console's timeline could not be read"
    return "unknown: no alert fired in the incident's time range"


def _no_mitigation_reason(facts: PostmortemFacts) -> str:
    parts = []
    if not facts.timeline_read:
        parts.append("the timeline could not be read")
    else:
        parts.append("no alert resolution left nothing firing")
    if not facts.audit_read:
        parts.append("the audit log could not be read")
    else:
        parts.append("no operator action succeeded")
    return "unknown: " + " and ".join(parts)

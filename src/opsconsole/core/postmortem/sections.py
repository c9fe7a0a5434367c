"""The post-mortem's sections, in the blameless order, built from its facts, times and impact."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import tzinfo

from opsconsole.core.durations import age_text
from opsconsole.core.investigate.finding import Finding, Verdict
from opsconsole.core.postmortem.document import (
    Block,
    Bullets,
    Clock,
    Document,
    Facts,
    Image,
    Paragraph,
    Section,
    Subheading,
    Table,
)
from opsconsole.core.postmortem.facts import PostmortemFacts
from opsconsole.core.postmortem.impact import (
    BUDGET_FORMULA,
    FAILED_FORMULA,
    ServiceImpact,
    nearest_snapshot,
)
from opsconsole.core.postmortem.prompts import for_people
from opsconsole.core.postmortem.times import IncidentTimes, Moment, Span
from opsconsole.core.slo.budget import remaining_words
from opsconsole.core.slo.figure import count_text, percent_text

SECTION_TITLES: tuple[str, ...] = (
    "Summary",
    "Impact",
    "Detection",
    "Response and recovery",
    "Timeline",
    "Investigation findings",
    "Root cause",
    "Contributing factors",
    "Lessons learned",
    "Action items",
)
HEADER = "Incident"


def build_document(
    facts: PostmortemFacts,
    impacts: Sequence[ServiceImpact],
    times: IncidentTimes,
    charts: Mapping[str, str],
    written_ts: float,
    tz: tzinfo | None = None,
) -> Document:
    """The whole draft; `charts` maps a service to its PNG's file name beside the document."""
    clock = Clock(tz, facts.start)
    services = [i.service for i in impacts]
    sections = (
        Section(HEADER, (_header(facts, services, clock, written_ts),)),
        Section("Summary", (Paragraph(_summary(facts, impacts, times, clock)),)),
        Section("Impact", _impact(facts, impacts, charts, clock)),
        Section("Detection", (_detection(times, clock),)),
        Section("Response and recovery", _response(facts, times, clock)),
        Section("Timeline", _timeline(facts, clock)),
        Section("Investigation findings", _findings(facts, clock)),
        *for_people(),
    )
    return Document(f"Post-mortem: {facts.incident.title}", sections)


def duration_words(seconds: float) -> str:
    return age_text(seconds, precise=False)


def _header(facts: PostmortemFacts, services: list[str], clock: Clock, written: float) -> Facts:
    incident = facts.incident
    if incident.end_ts is not None:
        ended = clock.iso(incident.end_ts)
    else:
        ended = f"still open (this draft runs to {clock.iso(facts.now)})"
    if facts.lead:
        lead = f"{facts.lead} (OS user who opened the incident in the console)"
    elif not facts.audit_read:
        lead = "unknown: the audit log could not be read"
    else:
        lead = "unknown: the audit log has no record of the incident's opening"
    if facts.operators:
        operators = f"{', '.join(facts.operators)} (OS users who took the actions below)"
    elif not facts.audit_read:
        operators = "unknown: the audit log could not be read"
    else:
        operators = "none: no operator action is in the audit log for this time range"
    return Facts(
        (
            ("Incident", f"#{incident.id}: {incident.title}"),
            ("Severity", f"{incident.severity.value} ({incident.severity.words})"),
            ("Started", clock.iso(facts.start)),
            ("Opened in the console", clock.iso(incident.opened_ts)),
            ("Ended", ended),
            ("Duration", duration_words(facts.end - facts.start)),
            ("Services", ", ".join(services) if services else "none recorded"),
            ("Incident lead", lead),
            ("Operators", operators),
            ("Draft written", clock.iso(written)),
        )
    )


def _summary(
    facts: PostmortemFacts, impacts: Sequence[ServiceImpact], times: IncidentTimes, clock: Clock
) -> str:
    """What, when, impact and how it ended: facts only, no person named."""
    incident = facts.incident
    services = ", ".join(i.service for i in impacts) or "no service the console recorded"
    span = f"from {clock.at(facts.start)} on {clock.date(facts.start)}"
    if incident.end_ts is not None:
        when = f"{span} to {clock.at(facts.end)} ({duration_words(facts.end - facts.start)})"
        verb = "affected"
    else:
        when = f"{span}, still open at {clock.at(facts.now)}"
        verb = "has affected"
    parts = [
        f"The incident “{incident.title}” ({incident.severity.value}, "
        f"{incident.severity.words}) {verb} {services} {when}."
    ]
    if times.detected.ts is not None:
        parts.append(f"The first alert fired at {clock.at(times.detected.ts)}.")
    else:
        parts.append("No alert fired in its time range.")
    for impact in impacts:
        if impact.failed is None:
            continue
        words = f"An estimated {count_text(impact.failed)} requests to {impact.service} failed"
        if impact.total is not None:
            words += f" (of about {count_text(impact.total)})"
        if impact.budget.fraction is not None:
            words += f", {percent_text(impact.budget.fraction, 2)} of its error budget"
        parts.append(words + ".")
    succeeded = [a for a in facts.actions if a.succeeded]
    if times.recovery_entry is not None:
        at = clock.at(times.recovery_entry.ts)
        ended = f"It recovered at {at}, when the last firing alert resolved"
        if succeeded:
            ended += f", after {_count(len(succeeded), 'operator action')} that succeeded"
        parts.append(ended + ".")
    elif times.mitigating_action is not None:
        a = times.mitigating_action
        parts.append(f"{a.command} on {a.target} succeeded at {clock.at(a.ts)}.")
    else:
        parts.append("The record does not show when service recovered.")
    if incident.end_ts is not None:
        parts.append(f"The incident was closed at {clock.at(incident.end_ts)}.")
    return " ".join(parts)


def _impact(
    facts: PostmortemFacts,
    impacts: Sequence[ServiceImpact],
    charts: Mapping[str, str],
    clock: Clock,
) -> tuple[Block, ...]:
    if not impacts:
        return (Paragraph("No affected service is in the console's record of this incident."),)
    blocks: list[Block] = [
        Paragraph(
            f"Estimated from the golden signals the console sampled during the incident: "
            f"{FAILED_FORMULA}. Then {BUDGET_FORMULA}, with the objective and the window's "
            "total requests of the service's SLO as seen nearest the incident's end; this is the "
            "error-budget maths of that window (1 − the budget left after these failures)."
        ),
        Table(
            (
                "Service",
                "Failed requests (est.)",
                "Requests (est.)",
                "Peak p99",
                "Peak error ratio",
                "Minutes above the objective's error ratio",
                "Error budget consumed",
            ),
            tuple(_impact_row(i, clock) for i in impacts),
        ),
    ]
    details: list[str] = []
    for i in impacts:
        details.append(f"{i.service}: {i.budget.inputs}")
        snapshot = nearest_snapshot(facts, i.service)
        if i.window_left is not None and snapshot is not None:
            details.append(
                f"{i.service}: the {snapshot.window} window's budget at "
                f"{clock.at(snapshot.ts)}: {remaining_words(i.window_left)}"
            )
        details.extend(f"{i.service}: {note}" for note in i.notes)
    blocks.append(Bullets(tuple(details)))
    shown = [(i.service, charts[i.service]) for i in impacts if i.service in charts]
    if shown:
        blocks.append(Subheading("Golden signals"))
        blocks.append(
            Paragraph(
                "p99 latency, error ratio and traffic from the console's samples; the "
                "incident's start, each operator action and the recovery are marked."
            )
        )
        blocks.extend(Image(src, f"{service}: golden signals") for service, src in shown)
    return tuple(blocks)


def _impact_row(i: ServiceImpact, clock: Clock) -> tuple[str, ...]:
    if i.peak_p99_ms is not None and i.peak_p99_ts is not None:
        peak = f"{i.peak_p99_ms:.0f} ms at {clock.at(i.peak_p99_ts)}"
    else:
        peak = "unknown"
    minutes = "unknown (no objective)" if i.minutes_above is None else f"{i.minutes_above:.1f}"
    budget = percent_text(i.budget.fraction, 2) if i.budget.fraction is not None else "missing"
    return (
        i.service,
        "unknown" if i.failed is None else count_text(i.failed),
        "unknown" if i.total is None else count_text(i.total),
        peak,
        "unknown" if i.peak_error_ratio is None else percent_text(i.peak_error_ratio, 2),
        minutes,
        budget,
    )


def _moment(m: Moment, clock: Clock) -> str:
    return m.how if m.ts is None else f"{clock.at(m.ts)}: {m.how}"


def _span(s: Span) -> str:
    return s.how if s.seconds is None else f"{duration_words(s.seconds)} ({s.how})"


def _detection(times: IncidentTimes, clock: Clock) -> Facts:
    return Facts(
        (
            ("First alert", _moment(times.detected, clock)),
            ("Time to detect", _span(times.to_detect)),
            ("Acknowledged", _moment(times.acknowledged, clock)),
            ("Time to acknowledge", _span(times.to_acknowledge)),
        )
    )


def _response(facts: PostmortemFacts, times: IncidentTimes, clock: Clock) -> tuple[Block, ...]:
    blocks: list[Block] = []
    if facts.actions:
        blocks.append(
            Paragraph(
                "Every operator action in the audit log for the incident's time range, with "
                "the outcome the console verified in the live state."
            )
        )
        rows = tuple(
            (
                clock.at(a.sent_ts) if a.sent_ts is not None else "not sent",
                clock.at(a.ts),
                a.command,
                a.target or "—",
                a.outcome,
                a.message or "—",
            )
            for a in facts.actions
        )
        blocks.append(
            Table(("Sent", "Outcome known", "Action", "Target", "Outcome", "Verified"), rows)
        )
    elif not facts.audit_read:
        blocks.append(Paragraph("The audit log could not be read: the actions are unknown."))
    else:
        blocks.append(Paragraph("No operator action is in the audit log for this time range."))
    blocks.append(
        Facts(
            (
                ("Mitigated", _moment(times.mitigated, clock)),
                ("Time to mitigate", _span(times.to_mitigate)),
                ("Resolved", _moment(times.resolved, clock)),
                ("Time to resolve", _span(times.to_resolve)),
            )
        )
    )
    return tuple(blocks)


def _timeline(facts: PostmortemFacts, clock: Clock) -> tuple[Block, ...]:
    blocks: list[Block] = []
    if facts.stars:
        rows = tuple(
            (
                clock.at(s.entry.ts),
                s.star.tag,
                s.entry.message,
                "console" if s.star.automatic else "operator",
            )
            for s in facts.stars
        )
        blocks.append(Table(("Time", "Tag", "What happened", "Starred by"), rows))
    elif not facts.timeline_read:
        blocks.append(Paragraph("The console's timeline could not be read."))
    else:
        blocks.append(Paragraph("No timeline entry of the incident's range is starred."))
    if facts.incident.notes:
        blocks.append(Subheading("Notes taken during the incident"))
        blocks.append(Bullets(tuple(f"{clock.at(n.ts)}: {n.text}" for n in facts.incident.notes)))
    return tuple(blocks)


def _findings(facts: PostmortemFacts, clock: Clock) -> tuple[Block, ...]:
    if not facts.investigations:
        return (Paragraph("No investigation was run in the incident's time range."),)
    blocks: list[Block] = []
    for run in facts.investigations:
        service = run.entry.service or "a service"
        blocks.append(Subheading(f"{service}, investigated at {clock.at(run.entry.ts)}"))
        interesting = [f for f in run.findings if f.verdict is Verdict.INTERESTING]
        if interesting:
            blocks.append(Bullets(tuple(_finding_text(f, clock) for f in interesting)))
        counts = {v: sum(f.verdict is v for f in run.findings) for v in Verdict}
        rest = [
            f"{counts[Verdict.OK]} ok",
            f"{counts[Verdict.SKIPPED]} skipped (no data source, or could not look)",
            f"{counts[Verdict.ERROR]} failed to run",
        ]
        lead = "Nothing unusual found" if not interesting else "Other checks"
        blocks.append(Paragraph(f"{lead}: {', '.join(rest)}."))
    return tuple(blocks)


def _finding_text(f: Finding, clock: Clock) -> str:
    ev = f.evidence
    evidence: list[str] = []
    if ev.values:
        evidence.append("values " + ", ".join(f"{k} = {_value(v)}" for k, v in ev.values.items()))
    if ev.thresholds:
        evidence.append(
            "thresholds " + ", ".join(f"{k} = {_value(v)}" for k, v in ev.thresholds.items())
        )
    if ev.time_range:
        evidence.append(f"from {clock.at(ev.time_range[0])} to {clock.at(ev.time_range[1])}")
    if ev.query:
        evidence.append(f"query {ev.query}")
    if ev.entry_ids:
        evidence.append("timeline entries " + ", ".join(map(str, ev.entry_ids)))
    tail = f" (evidence: {'; '.join(evidence)})" if evidence else ""
    return f"{f.check}: {f.sentence}{tail}"


def _value(v: float | str) -> str:
    if isinstance(v, float):
        return "unknown" if not math.isfinite(v) else f"{v:g}"
    return str(v)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")

"""The post-mortem's pure core: facts, times, impact and the document from real records."""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

import pytest

from opsconsole.core.incident import Incident, Note, Severity, Star
from opsconsole.core.incident.record import Sample, SloSnapshot
from opsconsole.core.investigate.finding import Evidence, Finding, Verdict
from opsconsole.core.investigate.record import investigation_entry
from opsconsole.core.postmortem import (
    SECTION_TITLES,
    affected_services,
    budget_consumed,
    document_html,
    document_markdown,
    draft,
    gather_facts,
    incident_impact,
    incident_times,
)
from opsconsole.core.postmortem.facts import PostmortemFacts
from opsconsole.core.slo.budget import remaining_fraction
from opsconsole.core.timeline import TimelineEntry

T0 = 1_714_564_800.0  # 2024-05-01 12:00:00 UTC
LEAD, OPERATOR = "alice", "bob"


def alert(entry_id: int, ts: float, change: str, alert_id: str = "a1") -> TimelineEntry:
    return TimelineEntry(
        id=entry_id,
        ts=ts,
        backend="sim",
        kind="alert",
        service="orders",
        message=f"orders error ratio alert {change}",
        data={"alert_id": alert_id, "change": change, "rule": "error_ratio"},
    )


def timeline() -> list[TimelineEntry]:
    finding = Finding(
        check="dependencies",
        service="orders",
        verdict=Verdict.INTERESTING,
        sentence="inventory-service breaker opened at 12:00:40, 20 s before orders' errors rose",
        evidence=Evidence(values={"state": "open"}, entry_ids=(7,)),
        started_ts=T0 + 40,
    )
    fine = Finding("saturation", "orders", Verdict.OK, "CPU and memory are normal")
    investigation = investigation_entry("orders", [finding, fine], T0 + 200, T0)
    return [
        TimelineEntry(id=9, ts=T0 - 3600, backend="sim", kind="deploy", service="users",
                      message="users deployed v2 (before the incident)"),
        alert(1, T0 + 60, "fired"),
        TimelineEntry(id=2, ts=T0 + 305, backend="sim", kind="action",
                      service="inventory-service", message="breaker close on inventory-service: "
                      "succeeded", data={"command": "breaker.close", "outcome": "succeeded"}),
        TimelineEntry(**{**_fields(investigation), "id": 4}),
        alert(3, T0 + 600, "resolved"),
    ]  # fmt: skip


def _fields(entry: TimelineEntry) -> dict[str, Any]:
    return {f: getattr(entry, f) for f in entry.__struct_fields__}


def audit() -> list[dict[str, Any] | None]:
    """Records as the incident commands and the action pipeline write them."""
    return [
        {"seq": 1, "ts": T0 + 120, "user": OPERATOR, "phase": "intent", "backend": "sim",
         "command": "alert.ack", "target": "a1", "args": {}, "idempotency_key": "k-ack"},
        {"seq": 2, "ts": T0 + 121, "user": OPERATOR, "phase": "result", "backend": "sim",
         "command": "alert.ack", "target": "a1", "args": {}, "idempotency_key": "k-ack",
         "outcome": "succeeded", "message": "alert a1 is acknowledged"},
        {"seq": 3, "ts": T0 + 180, "user": LEAD, "phase": "incident",
         "command": "incident.open", "target": "1", "args": {"title": "checkout errors"}},
        {"seq": 4, "ts": T0 + 300, "user": OPERATOR, "phase": "intent", "backend": "sim",
         "command": "breaker.close", "target": "inventory-service", "args": {},
         "idempotency_key": "k-close"},
        None,  # a damaged line: skipped, never fatal
        {"seq": 5, "ts": T0 + 305, "user": OPERATOR, "phase": "result", "backend": "sim",
         "command": "breaker.close", "target": "inventory-service", "args": {},
         "idempotency_key": "k-close", "outcome": "succeeded",
         "message": "inventory-service breaker is closed"},
        {"seq": 6, "ts": T0 + 5000, "user": OPERATOR, "phase": "result", "backend": "sim",
         "command": "breaker.force_open", "target": "analytics-service", "args": {},
         "idempotency_key": "k-later", "outcome": "succeeded", "message": "after the incident"},
    ]  # fmt: skip


def error_ratio(ts: float) -> float:
    return 0.05 if T0 + 60 <= ts < T0 + 600 else 0.001


def samples() -> list[Sample]:
    out = []
    for i in range(-6, 91):  # every 10 s from a minute before the start to the end
        ts = T0 + 10 * i
        p99 = 900.0 if ts == T0 + 300 else 200.0
        out.append(Sample("sim", "orders", ts, p99, error_ratio(ts), 100.0, 0.3))
    return out


def snapshots(ratios_only: bool = False) -> list[SloSnapshot]:
    return [
        SloSnapshot("sim", "orders", T0 + 180, 0.999, "30d", 9.9e6, 4000.0, ratios_only),
        SloSnapshot("sim", "orders", T0 + 900, 0.999, "30d", 1.0e7, 5000.0, ratios_only),
    ]


def incident(end: float | None = T0 + 900, **kw: Any) -> Incident:
    return Incident(
        id=1, title="checkout errors", severity=Severity.SEV2, start_ts=T0,
        opened_ts=T0 + 180, end_ts=end,
        notes=(Note(T0 + 400, "breaker closed, watching errors"),), **kw,
    )  # fmt: skip


def facts(**kw: Any) -> PostmortemFacts:
    args: dict[str, Any] = {
        "incident": incident(),
        "timeline": timeline(),
        "audit_records": audit(),
        "samples": samples(),
        "snapshots": snapshots(),
        "now": T0 + 1000,
    }
    args.update(kw)
    return gather_facts(
        args.pop("incident"),
        args.pop("timeline"),
        args.pop("audit_records"),
        args.pop("samples"),
        args.pop("snapshots"),
        args.pop("now"),
        **args,
    )


def markdown_of(f: PostmortemFacts) -> str:
    return document_markdown(draft(f, {"orders": "signals-orders.png"}, T0 + 2000, UTC))


# ---------------------------------------------------------------- facts and times


def test_facts_hold_the_actions_in_range_with_their_outcome_and_the_responders() -> None:
    f = facts()
    assert [(a.command, a.outcome, a.ts, a.sent_ts) for a in f.actions] == [
        ("alert.ack", "succeeded", T0 + 121, T0 + 120),
        ("breaker.close", "succeeded", T0 + 305, T0 + 300),
    ]
    assert f.lead == LEAD
    assert f.operators == (OPERATOR,)
    assert [e.id for e in f.entries] == [1, 4, 2, 3]  # the deploy an hour before is not one
    assert [(s.entry.id, s.star.tag) for s in f.stars] == [
        (1, "detection"),
        (2, "repair"),
        (3, "key moment"),
    ]
    assert f.investigations[0].findings[0].check == "dependencies"


def test_settled_outcome_replaces_an_unknown_result() -> None:
    records = [
        {"seq": 1, "ts": T0 + 10, "user": OPERATOR, "phase": "intent", "command": "db.failover",
         "target": "orders-db", "idempotency_key": "k"},
        {"seq": 2, "ts": T0 + 40, "user": OPERATOR, "phase": "result", "command": "db.failover",
         "target": "orders-db", "idempotency_key": "k", "outcome": "unknown",
         "message": "the backend could not be seen"},
        {"seq": 3, "ts": T0 + 90, "user": OPERATOR, "phase": "settled", "command": "db.failover",
         "target": "orders-db", "idempotency_key": "k", "outcome": "succeeded",
         "message": "replica-1 is primary (seen after the link came back at 12:01:30)"},
    ]  # fmt: skip
    [action] = facts(audit_records=records).actions
    assert (action.outcome, action.ts, action.sent_ts) == ("succeeded", T0 + 40, T0 + 10)
    assert action.message.startswith("replica-1 is primary")


def test_action_times_follow_the_timeline_clock_of_the_same_action() -> None:
    """The audit log has the workstation's clock; the incident and its timeline the
    backend's (a scaled or skewed one): an action matched by its idempotency key is placed
    on the incident's clock, sent and verified moved by the same shift."""
    wall = 7200.0  # the workstation two hours ahead of the backend
    records = [
        {**r, "ts": r["ts"] + wall} if r is not None and r.get("phase") != "incident" else r
        for r in audit()
    ]
    close = TimelineEntry(id=2, ts=T0 + 306, backend="sim", kind="action",
                          service="inventory-service", message="breaker closed",
                          data={"command": "breaker.close", "outcome": "succeeded",
                                "idempotency_key": "k-close"})  # fmt: skip
    entries = [close if e.id == 2 else e for e in timeline()]
    [close_action] = facts(timeline=entries, audit_records=records).actions
    assert (close_action.ts, close_action.sent_ts) == (T0 + 306, T0 + 301)
    # The ack has no timeline line here: on the audit clock it is outside the incident.
    assert [a.command for a in facts(timeline=entries, audit_records=records).actions] == [
        "breaker.close"
    ]


def test_the_four_moments_and_the_spans_to_them() -> None:
    t = incident_times(facts())
    assert t.detected.ts == T0 + 60  # the first alert fired
    assert t.to_detect.seconds == 60
    assert t.acknowledged.ts == T0 + 121  # the ack result, before the incident was opened
    assert t.to_acknowledge.seconds == 61
    assert t.mitigated.ts == T0 + 600  # the resolution that left nothing firing
    assert t.recovery_entry is not None and t.recovery_entry.id == 3
    assert t.to_mitigate.seconds == 600
    assert t.resolved.ts == T0 + 900
    assert t.to_resolve.seconds == 900


def test_acknowledged_is_the_opening_when_no_ack_came_first() -> None:
    records = [r for r in audit() if r is None or r.get("command") != "alert.ack"]
    t = incident_times(facts(audit_records=records))
    assert t.acknowledged.ts == T0 + 180
    assert "opened" in t.acknowledged.how
    assert t.to_acknowledge.seconds == 120


def test_without_recovery_the_first_succeeded_fix_mitigates_not_the_ack() -> None:
    entries = [e for e in timeline() if e.id != 3]
    t = incident_times(facts(timeline=entries))
    assert t.recovery_entry is None
    assert t.mitigated.ts == T0 + 305
    assert "breaker.close" in t.mitigated.how


def test_missing_inputs_are_unknown_with_their_reason_never_invented() -> None:
    f = facts(
        incident=incident(end=None),
        timeline=[],
        audit_records=[],
        timeline_read=False,
        audit_read=False,
    )
    t = incident_times(f)
    assert t.detected.ts is None and "timeline could not be read" in t.detected.how
    assert t.to_detect.seconds is None and t.to_acknowledge.seconds is None
    assert t.mitigated.ts is None and "audit log could not be read" in t.mitigated.how
    assert t.resolved.ts is None and t.resolved.how == "the incident is still open"
    assert t.to_resolve.seconds is None
    text = markdown_of(f)
    assert "- **First alert:** unknown: the console's timeline could not be read" in text
    assert "- **Incident lead:** unknown: the audit log could not be read" in text
    assert "- **Resolved:** the incident is still open" in text
    assert "still open" in text


# ---------------------------------------------------------------- impact


def expected_failed() -> float:
    # Each sample in the range covers the 10 s since the one before (the first: nothing
    # before the start is counted).
    return sum(100.0 * error_ratio(T0 + 10 * i) * 10.0 for i in range(1, 91))


def test_impact_estimates_failed_requests_peak_and_minutes_above_the_objective() -> None:
    [orders] = incident_impact(facts())
    assert orders.service == "orders"
    assert orders.failed == pytest.approx(2736.0)  # 54 × 10 s at 5 %, 36 × 10 s at 0.1 %
    assert orders.failed == pytest.approx(expected_failed())
    assert orders.total == pytest.approx(90_000.0)
    assert (orders.peak_p99_ms, orders.peak_p99_ts) == (900.0, T0 + 300)
    assert orders.minutes_above == pytest.approx(9.0)  # 0.1 % is not above 1 − 99.9 %


def test_budget_consumed_is_the_error_budget_maths_of_the_snapshot_nearest_the_end() -> None:
    [orders] = incident_impact(facts())
    # The snapshot at the end (1e7 requests in the window), not the one at the opening.
    maths = 1.0 - remaining_fraction(orders.failed or 0.0, 1.0e7, 1.0 - 0.999)
    assert orders.budget.fraction == pytest.approx(maths, rel=1e-12)
    assert orders.budget.fraction == pytest.approx(2736.0 / (0.001 * 1.0e7))
    assert budget_consumed(2736.0, snapshots()[1]) == pytest.approx(0.2736)
    assert "failed ÷ ((1 − objective) × window total)" in orders.budget.inputs
    assert orders.window_left == pytest.approx(remaining_fraction(5000.0, 1.0e7, 1 - 0.999))


def test_budget_is_missing_with_its_reason_for_ratio_only_and_absent_slos() -> None:
    [ratios] = incident_impact(facts(snapshots=snapshots(ratios_only=True)))
    assert ratios.budget.fraction is None
    assert "ratios only" in ratios.budget.inputs
    assert ratios.minutes_above == pytest.approx(9.0)  # the objective is still known
    [none] = incident_impact(facts(snapshots=[]))
    assert none.budget.fraction is None and "no SLO was seen for orders" in none.budget.inputs
    assert none.minutes_above is None


def test_a_gap_in_the_record_is_not_counted_as_traffic() -> None:
    gappy = [s for s in samples() if not T0 + 100 <= s.ts < T0 + 500]
    [orders] = incident_impact(facts(samples=gappy))
    # 50 samples after the start are left; the one after the 410 s gap covers 3 steps
    # (30 s), not the whole gap; the other 49 cover their 10 s each.
    covered = 49 * 10.0 + 30.0
    assert orders.total == pytest.approx(100.0 * covered)


def test_affected_services_are_named_by_entries_or_left_their_normal_range() -> None:
    calm = Sample("sim", "search", T0 + 100, 120.0, 0.0, 50.0, 0.2)
    slow = Sample("sim", "payments", T0 + 100, 1400.0, 0.0, 50.0, 0.2)
    f = facts(samples=[*samples(), calm, slow])
    # inventory-service is a circuit the action targeted, not a service of the record.
    assert affected_services(f) == ["orders", "payments"]


# ---------------------------------------------------------------- the document


def sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts), 2)}


def test_the_sections_come_in_the_blameless_order_and_none_is_blank() -> None:
    text = markdown_of(facts())
    found = sections(text)
    assert list(found) == ["Incident", *SECTION_TITLES]
    assert all(body for body in found.values())
    assert text.startswith("# Post-mortem: checkout errors\n")


def test_the_header_names_roles_and_os_users_with_iso_dates_in_the_zone() -> None:
    header = sections(markdown_of(facts()))["Incident"]
    assert "- **Started:** 2024-05-01T12:00:00+00:00 (UTC)" in header
    assert "- **Ended:** 2024-05-01T12:15:00+00:00 (UTC)" in header
    assert "- **Duration:** 15 min 00 s" in header
    assert "- **Severity:** SEV2 (major)" in header
    assert "- **Services:** orders" in header
    assert f"- **Incident lead:** {LEAD} (OS user" in header
    assert f"- **Operators:** {OPERATOR} (OS users" in header


def test_the_summary_is_factual_and_names_no_person() -> None:
    summary = sections(markdown_of(facts()))["Summary"]
    assert "12:00:00 UTC on 2024-05-01 to 12:15:00 UTC (15 min 00 s)" in summary
    assert "The first alert fired at 12:01:00 UTC." in summary
    assert "An estimated 2\u202f736 requests to orders failed (of about 90\u202f000)" in summary
    assert "27.36 % of its error budget" in summary
    assert "recovered at 12:10:00 UTC, when the last firing alert resolved" in summary
    for word in (LEAD, OPERATOR, "blame", "fault", "mistake", "human error", "should have"):
        assert word not in summary.lower()


def test_detection_response_and_timeline_carry_the_times_actions_and_tags() -> None:
    found = sections(markdown_of(facts()))
    detection = found["Detection"]
    ack = "12:02:01 UTC: an alert was acknowledged (a1, succeeded)"
    assert "- **Time to detect:** 1 min 00 s" in detection
    assert f"- **Acknowledged:** {ack}" in detection
    assert "- **Time to acknowledge:** 1 min 01 s" in detection
    response = found["Response and recovery"]
    assert (
        "| 12:05:00 UTC | 12:05:05 UTC | breaker.close | inventory-service | succeeded | "
        "inventory-service breaker is closed |" in response
    )
    assert "breaker.force_open" not in response  # after the incident's end
    assert "- **Time to mitigate:** 10 min 00 s" in response
    assert "- **Time to resolve:** 15 min 00 s" in response
    timeline_text = found["Timeline"]
    fired = "| 12:01:00 UTC | detection | orders error ratio alert fired | console |"
    resolved = "| 12:10:00 UTC | key moment | orders error ratio alert resolved | console |"
    assert fired in timeline_text and resolved in timeline_text
    assert "12:06:40 UTC: breaker closed, watching errors" in timeline_text
    findings = found["Investigation findings"]
    assert "inventory-service breaker opened at 12:00:40" in findings
    assert "timeline entries 7" in findings
    assert "1 ok" in findings


def test_an_operator_star_keeps_its_tag_and_says_who_starred_it() -> None:
    f = facts(incident=incident(stars=(Star(4, "diagnosis"),)))
    text = sections(markdown_of(f))["Timeline"]
    assert "| 12:03:20 UTC | diagnosis | investigated orders:" in text
    assert "| operator |" in text


def test_the_people_sections_are_headed_prompts_with_an_action_item_table() -> None:
    found = sections(markdown_of(facts()))
    assert "the system allowed" in found["Root cause"]
    lessons = found["Lessons learned"]
    for heading in ("What went well", "What went wrong", "Where we got lucky"):
        assert f"### {heading}" in lessons
    assert "| Action | Owner | Due date | Tracking |" in found["Action items"]


def test_html_says_the_same_with_the_charts_inline() -> None:
    doc = draft(facts(), {"orders": "signals-orders.png"}, T0 + 2000, UTC)
    html = document_html(doc)
    assert '<img src="signals-orders.png" alt="orders: golden signals"' in html
    assert "<script" not in html and "<style>" in html
    for title in ("Incident", *SECTION_TITLES):
        assert f"<h2>{title}</h2>" in html
    assert "inventory-service breaker is closed" in html
    assert "![orders: golden signals](signals-orders.png)" in document_markdown(doc)

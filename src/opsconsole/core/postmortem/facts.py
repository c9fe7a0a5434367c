"""What a post-mortem is written from, gathered once from the incident's records (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from opsconsole.core.incident.model import Incident, Star, effective_stars, members
from opsconsole.core.incident.record import Sample, SloSnapshot
from opsconsole.core.investigate.finding import Finding
from opsconsole.core.investigate.record import entry_findings
from opsconsole.core.timeline.entry import TimelineEntry

# Audit phases that end an action: its verified result, a refusal before sending, or the
# later settling of an "unknown" result.
_END_PHASES = ("result", "refused", "settled")
_INCIDENT_PREFIX = "incident."


@dataclass(frozen=True)
class OperatorAction:
    """One operator action as the audit log tells it: sent, then its verified outcome."""

    ts: float  # when the outcome was known (the result record); a chart marker
    sent_ts: float | None  # when it was sent (the intent record), None when refused
    user: str
    backend: str
    command: str
    target: str
    outcome: str  # succeeded, failed, unknown, refused, cancelled, …
    message: str

    @property
    def succeeded(self) -> bool:
        return self.outcome == "succeeded"


@dataclass(frozen=True)
class StarredEntry:
    """A starred timeline entry with its tag (detection, diagnosis, repair, key moment)."""

    star: Star
    entry: TimelineEntry


@dataclass(frozen=True)
class Investigation:
    """One `:investigate` run in the incident's range, its findings read back."""

    entry: TimelineEntry
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class PostmortemFacts:
    """Everything the draft states, in the incident's time range; `now` ends an open one.

    `timeline_read` and `audit_read` say whether those records could be read at all, so an
    empty list is told apart from a record the draft never saw."""

    incident: Incident
    now: float
    entries: tuple[TimelineEntry, ...]  # the incident's member entries, oldest first
    stars: tuple[StarredEntry, ...]  # oldest first
    actions: tuple[OperatorAction, ...]  # oldest first (by outcome time)
    lead: str | None  # the OS user who opened the incident (the incident.open record)
    samples: tuple[Sample, ...]
    snapshots: tuple[SloSnapshot, ...]
    investigations: tuple[Investigation, ...]
    timeline_read: bool = True
    audit_read: bool = True

    @property
    def start(self) -> float:
        return self.incident.start_ts

    @property
    def end(self) -> float:
        """The incident's end, or `now` while it is open."""
        return self.incident.end_ts if self.incident.end_ts is not None else self.now

    @property
    def operators(self) -> tuple[str, ...]:
        """The OS users who took the actions, in the order they first acted."""
        return tuple(dict.fromkeys(a.user for a in self.actions if a.user))


def gather_facts(
    incident: Incident,
    timeline: Iterable[TimelineEntry],
    audit_records: Iterable[Mapping[str, Any] | None],
    samples: Iterable[Sample],
    snapshots: Iterable[SloSnapshot],
    now: float,
    *,
    timeline_read: bool = True,
    audit_read: bool = True,
) -> PostmortemFacts:
    """The facts of one incident from the records given (any superset of its range)."""
    every = list(timeline)
    member_entries = members(incident, every, now)
    by_id = {e.id: e for e in every}
    starred = [
        StarredEntry(star, by_id[star.entry_id])
        for star in effective_stars(incident, member_entries)
        if star.entry_id in by_id
    ]
    starred.sort(key=lambda s: (s.entry.ts, s.entry.id))
    records = [r for r in audit_records if isinstance(r, Mapping)]
    end = incident.end_ts if incident.end_ts is not None else now
    # The action pipeline reports each outcome to the timeline too, on the backend's clock
    # (as the incident's own times are); the audit log has the workstation's.
    on_timeline: dict[str, float] = {}
    for e in sorted(every, key=lambda e: (e.ts, e.id)):
        key = e.data.get("idempotency_key") if e.kind == "action" else None
        if isinstance(key, str) and key:
            on_timeline.setdefault(key, e.ts)
    return PostmortemFacts(
        incident=incident,
        now=now,
        entries=tuple(member_entries),
        stars=tuple(starred),
        actions=tuple(operator_actions(records, incident.start_ts, end, on_timeline)),
        lead=incident_lead(records, incident.id),
        samples=tuple(sorted(samples, key=lambda s: (s.service, s.backend, s.ts))),
        snapshots=tuple(sorted(snapshots, key=lambda s: s.ts)),
        investigations=tuple(
            Investigation(e, entry_findings(e)) for e in member_entries if e.kind == "investigation"
        ),
        timeline_read=timeline_read,
        audit_read=audit_read,
    )


def incident_lead(records: Iterable[Mapping[str, Any]], incident_id: int) -> str | None:
    """The user of the `incident.open` record naming this incident."""
    for record in records:
        if (
            record.get("phase") == "incident"
            and record.get("command") == "incident.open"
            and str(record.get("target")) == str(incident_id)
        ):
            user = record.get("user")
            return str(user) if user else None
    return None


def operator_actions(
    records: Iterable[Mapping[str, Any]],
    start: float,
    end: float,
    on_timeline: Mapping[str, float] | None = None,
) -> list[OperatorAction]:
    """Every action whose outcome was recorded in [start, end]: one per idempotency key, the
    settled outcome replacing an "unknown" result, the intent's time as when it was sent.

    `on_timeline` maps an idempotency key to the time its outcome has on the timeline: the
    action's times are moved onto that clock (the incident's), by the same shift for both."""
    sent: dict[str, float] = {}
    ended: dict[str, OperatorAction] = {}
    for record in records:
        command = str(record.get("command") or "")
        phase = record.get("phase")
        if not command or command.startswith(_INCIDENT_PREFIX):
            continue
        key = str(record.get("idempotency_key") or f"seq:{record.get('seq')}")
        ts = _number(record.get("ts"))
        if ts is None:
            continue
        if phase == "intent":
            sent.setdefault(key, ts)
        elif phase in _END_PHASES:
            first = ended.get(key)
            ended[key] = OperatorAction(
                ts=first.ts if first is not None and phase == "settled" else ts,
                sent_ts=sent.get(key),
                user=str(record.get("user") or (first.user if first else "")),
                backend=str(record.get("backend") or ""),
                command=command,
                target=str(record.get("target") or ""),
                outcome=str(record.get("outcome") or "unknown"),
                message=str(record.get("message") or ""),
            )
    shifted = [_on_clock(key, a, on_timeline or {}) for key, a in ended.items()]
    found = [a for a in shifted if start <= a.ts <= end]
    return sorted(found, key=lambda a: a.ts)


def _on_clock(key: str, action: OperatorAction, on_timeline: Mapping[str, float]) -> OperatorAction:
    ts = on_timeline.get(key)
    if ts is None:
        return action
    shift = ts - action.ts
    sent = None if action.sent_ts is None else action.sent_ts + shift
    return replace(action, ts=ts, sent_ts=sent)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)

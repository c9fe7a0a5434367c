"""An incident as data, with the pure rules that relate it to the timeline."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from opsconsole.core.timeline.entry import TimelineEntry

# How far back the default start looks for the first related alert or deviation.
DEFAULT_LOOKBACK_S = 2 * 3600.0
TAGS: tuple[str, ...] = ("detection", "diagnosis", "repair", "key moment")
# Timeline kinds that belong to an incident when they happen in its time range.
MEMBER_KINDS: frozenset[str] = frozenset(
    {
        "alert",
        "breaker",
        "cluster",
        "failover",
        "action",
        "scenario",
        "deploy",
        "info",
        "investigation",
        "incident",
    }
)


class Severity(Enum):
    """How bad it is, SEV1 worst; the value is the label shown."""

    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"
    SEV4 = "SEV4"

    @property
    def words(self) -> str:
        return _SEVERITY_WORDS[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        """`SEV2`, `sev2`, `2` or its word (`major`)."""
        cleaned = text.strip().lower()
        for severity in cls:
            label = severity.value.lower()
            if cleaned in (label, label[3:], severity.words):
                return severity
        raise ValueError(f"unknown severity {text!r} (SEV1..SEV4)")


_SEVERITY_WORDS = {
    Severity.SEV1: "critical",
    Severity.SEV2: "major",
    Severity.SEV3: "minor",
    Severity.SEV4: "low",
}


@dataclass(frozen=True)
class Note:
    """Words the operator added to the incident, and when."""

    ts: float
    text: str


@dataclass(frozen=True)
class Star:
    """A timeline entry picked for the post-mortem's timeline, with what it shows."""

    entry_id: int
    tag: str  # one of TAGS
    automatic: bool = False


@dataclass(frozen=True)
class Incident:
    """One incident: open while `end_ts` is None. `stars` are the operator's own choices."""

    id: int
    title: str
    severity: Severity
    start_ts: float  # movable by the operator
    opened_ts: float  # when the operator opened it (the start may be earlier)
    end_ts: float | None = None
    notes: tuple[Note, ...] = ()
    stars: tuple[Star, ...] = ()
    unstarred: frozenset[int] = frozenset()  # automatic stars the operator removed

    @property
    def is_open(self) -> bool:
        return self.end_ts is None

    def contains(self, ts: float, now: float) -> bool:
        """Whether a moment lies in the incident's time range (an open one runs until now)."""
        end = self.end_ts if self.end_ts is not None else now
        return self.start_ts <= ts <= end


def check_tag(tag: str) -> str:
    if tag not in TAGS:
        raise ValueError(f"unknown star tag {tag!r}; one of {', '.join(TAGS)}")
    return tag


def default_start(
    entries: Iterable[TimelineEntry],
    now: float,
    deviation_starts: Iterable[float] = (),
    lookback_s: float = DEFAULT_LOOKBACK_S,
) -> float:
    """The earliest related alert firing or golden-signal deviation in the look-back window
    before `now`; `now` when there is none. The caller passes the candidate entries (the
    service's and its dependencies') and the deviation start times an investigation found."""
    earliest = now
    oldest = now - lookback_s
    candidates = [e.ts for e in entries if _is_alert_fired(e)]
    for ts in (*candidates, *deviation_starts):
        if math.isfinite(ts) and oldest <= ts <= now:
            earliest = min(earliest, ts)
    return earliest


def members(
    incident: Incident, entries: Iterable[TimelineEntry], now: float
) -> list[TimelineEntry]:
    """The timeline entries that belong to the incident (its time range), oldest first."""
    found = [e for e in entries if e.kind in MEMBER_KINDS and incident.contains(e.ts, now)]
    return sorted(found, key=lambda e: (e.ts, e.id))


def automatic_stars(entries: Iterable[TimelineEntry]) -> list[Star]:
    """First alert (detection), first action (repair), recovery (key moment: the alert
    resolution that leaves nothing firing) and every primary role change (key moment).
    `entries` are the incident's members; the result is in their time order."""
    ordered = sorted(entries, key=lambda e: (e.ts, e.id))
    stars: list[Star] = []
    first_alert = next((e for e in ordered if _is_alert_fired(e)), None)
    first_action = next((e for e in ordered if e.kind == "action"), None)
    if first_alert is not None:
        stars.append(Star(first_alert.id, "detection", automatic=True))
    if first_action is not None:
        stars.append(Star(first_action.id, "repair", automatic=True))
    recovery = _recovery(ordered)
    if recovery is not None:
        stars.append(Star(recovery.id, "key moment", automatic=True))
    stars.extend(Star(e.id, "key moment", True) for e in ordered if e.kind == "failover")
    order = {e.id: i for i, e in enumerate(ordered)}
    unique = {s.entry_id: s for s in reversed(stars)}  # an entry starred once: first reason wins
    return sorted(unique.values(), key=lambda s: order[s.entry_id])


def effective_stars(incident: Incident, entries: Iterable[TimelineEntry]) -> list[Star]:
    """The stars shown: the operator's own, then automatic ones not removed or re-tagged."""
    own = {s.entry_id: s for s in incident.stars}
    auto = [
        s
        for s in automatic_stars(entries)
        if s.entry_id not in own and s.entry_id not in incident.unstarred
    ]
    return [*own.values(), *auto]


def status_words(incident: Incident, now: float) -> str:
    """The status bar's line: "SEV2 · checkout down · 12 min" (closed: its duration)."""
    end = incident.end_ts if incident.end_ts is not None else now
    age = minutes_words(end - incident.start_ts)
    closed = "" if incident.is_open else " · closed"
    return f"{incident.severity.value} · {incident.title} · {age}{closed}"


def minutes_words(seconds: float) -> str:
    """An incident's age in minutes: "<1 min", "12 min", "2 h 05 min", "3 d 4 h"."""
    minutes = int(max(0.0, seconds) // 60)
    if minutes < 1:
        return "<1 min"
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {rest:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def _is_alert_fired(entry: TimelineEntry) -> bool:
    return entry.kind == "alert" and entry.data.get("change") == "fired"


def _recovery(ordered: list[TimelineEntry]) -> TimelineEntry | None:
    """The first resolution after which no alert seen firing is still firing."""
    firing: set[str] = set()
    for entry in ordered:
        if entry.kind != "alert":
            continue
        alert = f"{entry.backend}:{entry.data.get('alert_id')}"
        change = entry.data.get("change")
        if change == "fired":
            firing.add(alert)
        elif change == "resolved" and alert in firing:
            firing.discard(alert)
            if not firing:
                return entry
    return None

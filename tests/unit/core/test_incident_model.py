"""The incident's pure rules: default start, membership, automatic stars, status words."""

from __future__ import annotations

from typing import Any

import pytest

from opsconsole.core.incident import (
    Incident,
    Severity,
    Star,
    automatic_stars,
    default_start,
    effective_stars,
    members,
    minutes_words,
    status_words,
)
from opsconsole.core.timeline import TimelineEntry

NOW = 100_000.0


def entry(entry_id: int, ts: float, kind: str, **data: Any) -> TimelineEntry:
    return TimelineEntry(
        id=entry_id, ts=ts, backend="sim", kind=kind, service="orders", message=kind, data=data
    )


def fired(entry_id: int, ts: float, alert: str = "a1") -> TimelineEntry:
    return entry(entry_id, ts, "alert", change="fired", alert_id=alert)


def resolved(entry_id: int, ts: float, alert: str = "a1") -> TimelineEntry:
    return entry(entry_id, ts, "alert", change="resolved", alert_id=alert)


def incident(start: float, end: float | None = None, **kw: Any) -> Incident:
    return Incident(
        id=1, title="checkout down", severity=Severity.SEV2, start_ts=start, opened_ts=start,
        end_ts=end, **kw,
    )  # fmt: skip


def test_default_start_is_the_earliest_alert_or_deviation_in_the_look_back() -> None:
    entries = [
        fired(1, NOW - 600),
        fired(2, NOW - 300, "a2"),
        entry(3, NOW - 900, "action"),  # not an alert: no start
        fired(4, NOW - 3 * 3600, "old"),  # before the look-back window
        fired(5, NOW + 60, "future"),
        entry(6, NOW - 700, "alert", change="acked", alert_id="a1"),
    ]
    assert default_start(entries, NOW) == NOW - 600
    assert default_start(entries, NOW, deviation_starts=[NOW - 800.0]) == NOW - 800
    assert default_start(entries, NOW, lookback_s=4 * 3600) == NOW - 3 * 3600


def test_default_start_without_candidates_is_now() -> None:
    assert default_start([], NOW) == NOW
    assert default_start([entry(1, NOW - 10, "deploy")], NOW, [float("nan")]) == NOW


def test_members_are_the_entries_in_its_time_range_oldest_first() -> None:
    entries = [
        entry(3, NOW - 50, "action"),
        entry(1, NOW - 500, "alert", change="fired"),
        entry(2, NOW - 100, "failover"),
        entry(4, NOW - 10, "connection"),  # the console's link is not the incident's
        entry(5, NOW + 10, "action"),
    ]
    open_one = incident(NOW - 200)
    assert [e.id for e in members(open_one, entries, NOW)] == [2, 3]
    assert [e.id for e in members(open_one, entries, NOW + 20)] == [2, 3, 5]
    closed = incident(NOW - 600, NOW - 60)
    assert [e.id for e in members(closed, entries, NOW + 20)] == [1, 2]


def test_automatic_stars_first_alert_first_action_recovery_and_role_changes() -> None:
    entries = [
        fired(1, 10),
        fired(2, 20, "a2"),
        entry(3, 30, "action", command="breaker.reset"),
        entry(4, 35, "action", command="db.failover"),
        entry(5, 40, "failover", primary="db-2"),
        resolved(6, 50),
        resolved(7, 60, "a2"),  # nothing left firing: the recovery
        fired(8, 70, "a3"),
        resolved(9, 80, "a3"),
    ]
    assert automatic_stars(reversed(entries)) == [
        Star(1, "detection", True),
        Star(3, "repair", True),
        Star(5, "key moment", True),
        Star(7, "key moment", True),
    ]


def test_no_recovery_while_an_alert_still_fires() -> None:
    stars = automatic_stars([fired(1, 10), fired(2, 20, "a2"), resolved(3, 30)])
    assert stars == [Star(1, "detection", True)]


def test_the_operators_stars_win_over_automatic_ones() -> None:
    entries = [fired(1, 10), entry(2, 20, "action"), entry(3, 25, "failover")]
    mine = incident(0, stars=(Star(1, "diagnosis"), Star(9, "repair")), unstarred=frozenset({2}))
    assert effective_stars(mine, entries) == [
        Star(1, "diagnosis"),
        Star(9, "repair"),
        Star(3, "key moment", True),
    ]


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(0, "<1 min"), (59, "<1 min"), (60, "1 min"), (12 * 60 + 5, "12 min"),
     (3600 + 5 * 60, "1 h 05 min"), (26 * 3600, "1 d 2 h"), (-5, "<1 min")],
)  # fmt: skip
def test_minutes_words(seconds: float, words: str) -> None:
    assert minutes_words(seconds) == words


def test_status_words() -> None:
    assert status_words(incident(NOW - 12 * 60), NOW) == "SEV2 · checkout down · 12 min"
    closed = incident(NOW - 3600, NOW - 600)
    assert status_words(closed, NOW) == "SEV2 · checkout down · 50 min · closed"


def test_severity_parse_accepts_label_number_and_word() -> None:
    assert Severity.parse("sev1") is Severity.SEV1
    assert Severity.parse("2") is Severity.SEV2
    assert Severity.parse("Minor") is Severity.SEV3
    assert Severity.SEV4.words == "low"
    with pytest.raises(ValueError, match=r"SEV1\.\.SEV4"):
        Severity.parse("SEV5")

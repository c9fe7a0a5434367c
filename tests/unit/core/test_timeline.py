"""The timeline: SQLite store (order, dedup, filters, durability, damaged files) and recorder."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC
from pathlib import Path
from typing import Any

import msgspec
import pytest

from opsconsole.core.events import (
    LINK_RESTARTED,
    AlertChanged,
    CircuitChanged,
    ClusterChanged,
    ConnectionChanged,
    EventOccurred,
    SnapshotLoaded,
)
from opsconsole.core.flapping import FLAP_WINDOW_S
from opsconsole.core.models import (
    Alert,
    Circuit,
    ConnectionState,
    DbCluster,
    DbMember,
    Event,
    LinkStatus,
    Service,
    Transport,
)
from opsconsole.core.store import Store
from opsconsole.core.timeline import (
    PAIR_WINDOW_S,
    SCHEMA_VERSION,
    TimelineEntry,
    TimelineFilter,
    TimelineRecorder,
    TimelineStore,
)

TS = 1_700_000_000.0


def entry(ts: float, message: str, kind: str = "info", **kw: Any) -> TimelineEntry:
    return TimelineEntry(ts=ts, backend=kw.pop("backend", "sim"), kind=kind, message=message, **kw)


def messages(entries: list[TimelineEntry]) -> list[str]:
    return [e.message for e in entries]


# ============================================================================ TimelineStore


def test_recent_is_newest_first_with_insertion_order_breaking_ties() -> None:
    tl = TimelineStore(None)
    tl.append(entry(TS + 2, "b"))
    tl.append(entry(TS + 1, "a"))  # arrives late, happened earlier
    tl.append(entry(TS + 3, "d"))
    tl.append(entry(TS + 3, "e"))  # same second: the later insert is newer
    stored = tl.recent()
    assert messages(stored) == ["e", "d", "b", "a"]
    assert [e.id for e in stored] == [4, 3, 1, 2]
    assert messages(tl.recent(limit=2)) == ["e", "d"]
    assert tl.count() == 4
    assert tl.last_id() == 4
    assert TimelineStore(None).last_id() == 0


def test_identical_events_are_stored_once() -> None:
    tl = TimelineStore(None)
    added: list[TimelineEntry] = []
    tl.entry_added.connect(added.append)
    first = tl.append(entry(TS, "circuit x: closed → open", "breaker", data={"to": "open"}))
    assert first is not None and first.id == 1 and first.data == {"to": "open"}
    # A replayed frame: same backend, time, kind and words.
    assert tl.append(entry(TS, "circuit x: closed → open", "breaker")) is None
    # Any one of them different is another event.
    assert tl.append(entry(TS, "circuit x: closed → open", "breaker", backend="other"))
    assert tl.append(entry(TS + 0.001, "circuit x: closed → open", "breaker"))
    assert tl.append(entry(TS, "circuit x: closed → open", "info"))
    assert tl.count() == 4
    ids = [e.id for e in added]
    assert len(added) == 4 and ids == sorted(set(ids)), "stored entries only, ids growing"
    # A stable ref dedups events whose words change between sightings (an alert's value).
    assert tl.append(entry(TS, "ALERT p99 612 ms", "alert", ref="alert:a1:fired"))
    assert tl.append(entry(TS, "ALERT p99 655 ms", "alert", ref="alert:a1:fired")) is None
    assert tl.append(entry(TS, "ALERT p99 655 ms", "alert", ref="alert:a1:fired", backend="b"))
    assert tl.count() == 6


def test_times_must_be_real_numbers() -> None:
    with pytest.raises(ValueError, match="valid time"):
        TimelineStore(None).append(entry(float("nan"), "x"))


def test_update_rewrites_words_and_details_in_place() -> None:
    tl = TimelineStore(None)
    updated: list[TimelineEntry] = []
    tl.entry_updated.connect(updated.append)
    tl.append(entry(TS, "before", "info"))
    group = tl.append(entry(TS + 1, "x flapping ×2", "breaker", data={"changes": 2}))
    tl.append(entry(TS + 2, "after", "info"))
    assert group is not None
    grown = msgspec.structs.replace(group, message="x flapping ×3", data={"changes": 3})
    assert tl.update(grown) == grown and updated == [grown]
    stored = tl.recent()
    assert messages(stored) == ["after", "x flapping ×3", "before"], "same place, new words"
    assert (stored[1].id, stored[1].ts, stored[1].data) == (group.id, TS + 1, {"changes": 3})
    assert messages(tl.recent(text="×3")) == ["x flapping ×3"]
    assert tl.last_id() == 3, "an update adds no entry"
    # An entry that is not (or no longer) stored is not invented.
    assert tl.update(msgspec.structs.replace(grown, id=99)) is None
    assert tl.update(msgspec.structs.replace(grown, ts=TS + 5)) is None
    assert updated == [grown]
    with pytest.raises(ValueError, match="stored entry"):
        tl.update(entry(TS, "never stored"))


def test_filters_by_kind_service_words_and_position() -> None:
    tl = TimelineStore(None)
    tl.append(entry(TS + 1, "orders-db healthy → failed", "cluster", service="orders-db"))
    tl.append(entry(TS + 2, "ALERT page orders latency: p99 612 ms", "alert", service="orders"))
    tl.append(entry(TS + 3, "inventory-service closed → open", "breaker", service="inventory"))
    tl.append(entry(TS + 4, "Lost the link to sim: refused", "connection"))
    tl.append(entry(TS + 5, "100% of 5_xx in orders", "info"))

    assert messages(tl.recent(kinds=["cluster", "breaker"])) == [
        "inventory-service closed → open",
        "orders-db healthy → failed",
    ]
    assert tl.recent(kinds=[]) == []
    assert messages(tl.recent(service="ORDERS")) == [
        "ALERT page orders latency: p99 612 ms",
        "orders-db healthy → failed",
    ]
    # Every word must occur, in the message or the service, in any case.
    assert messages(tl.recent(text="Orders P99")) == ["ALERT page orders latency: p99 612 ms"]
    assert messages(tl.recent(text="inventory open")) == ["inventory-service closed → open"]
    # LIKE wildcards in what the operator typed are plain characters.
    assert messages(tl.recent(text="100%")) == ["100% of 5_xx in orders"]
    assert tl.recent(text="5_x_") == []
    assert messages(tl.recent(after_id=3)) == [
        "100% of 5_xx in orders",
        "Lost the link to sim: refused",
    ]
    flt = TimelineFilter.parse("kind:alert,clu service:orders p99")
    assert flt == TimelineFilter(("alert", "cluster"), "orders", "p99")
    assert messages(tl.matching(flt)) == ["ALERT page orders latency: p99 612 ms"]


def test_filter_parsing() -> None:
    assert TimelineFilter.parse("").empty
    assert TimelineFilter.parse("   ").empty
    assert TimelineFilter.parse("kind:conn") == TimelineFilter(("connection",))
    assert TimelineFilter.parse("Kind:ALERT failed db") == TimelineFilter(
        ("alert",), None, "failed db"
    )
    # A prefix may name several kinds; an unknown kind stays literal and so matches nothing.
    assert TimelineFilter.parse("kind:nope").kinds == ("nope",)
    assert TimelineFilter.parse("kind:") == TimelineFilter(None, None, "kind:")
    assert TimelineFilter.parse("service:orders-db") == TimelineFilter(None, "orders-db", "")
    assert TimelineFilter.parse("at 12:03").text == "at 12:03"


def test_history_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "timeline.sqlite3"
    tl = TimelineStore(path)
    assert not path.exists(), "created on first use, not before"
    tl.append(entry(TS, "scenario primary_down started", "scenario", data={"target": "db"}))
    tl.append(entry(TS + 1, "orders-db healthy → failed", "cluster", service="orders-db"))
    assert path.exists()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    before = tl.recent()

    # A crash: the old store never closed; a new process opens the same file.
    again = TimelineStore(path)
    assert again.recent() == before
    assert again.append(entry(TS, "scenario primary_down started", "scenario")) is None
    again.append(entry(TS + 2, "orders-db failed → healthy", "cluster", service="orders-db"))
    again.close()
    tl.close()

    third = TimelineStore(path)
    assert messages(third.recent()) == [
        "orders-db failed → healthy",
        "orders-db healthy → failed",
        "scenario primary_down started",
    ]
    assert third.recent()[-1].data == {"target": "db"}
    third.close()


def test_a_corrupt_file_is_moved_aside_and_a_fresh_timeline_starts(tmp_path, caplog) -> None:
    path = tmp_path / "timeline.sqlite3"
    garbage = b"this is not a database, it is a shopping list" * 100
    path.write_bytes(garbage)
    Path(f"{path}-wal").write_bytes(b"stale wal")
    caplog.set_level(logging.WARNING, "opsconsole.core.timeline")

    tl = TimelineStore(path)
    assert tl.append(entry(TS, "first line after the damage")) is not None
    assert messages(tl.recent()) == ["first line after the damage"]
    assert not tl.in_memory_fallback
    [aside] = tl.moved_aside
    assert aside.name.startswith("timeline.sqlite3.corrupt-")
    assert aside.read_bytes() == garbage, "the damaged file is kept for a post-mortem"
    assert Path(f"{aside}-wal").read_bytes() == b"stale wal"
    assert any("moved it to" in r.getMessage() for r in caplog.records)
    tl.close()
    assert messages(TimelineStore(path).recent()) == ["first line after the damage"]


def test_a_damaged_page_is_caught_at_open(tmp_path) -> None:
    path = tmp_path / "timeline.sqlite3"
    tl = TimelineStore(path)
    for i in range(400):
        tl.append(entry(TS + i, f"line {i} " + "x" * 200))
    tl.close()
    raw = bytearray(path.read_bytes())
    page = 4096
    raw[3 * page : 5 * page] = b"\xff" * (2 * page)  # smash two b-tree pages, keep the header
    path.write_bytes(bytes(raw))

    reopened = TimelineStore(path)
    assert reopened.count() == 0
    assert len(reopened.moved_aside) == 1
    assert reopened.append(entry(TS, "fresh")) is not None


def test_a_newer_schema_is_moved_aside_not_rewritten(tmp_path) -> None:
    path = tmp_path / "timeline.sqlite3"
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        raw.execute("CREATE TABLE future (x)")
    tl = TimelineStore(path)
    assert tl.count() == 0
    [aside] = tl.moved_aside
    with sqlite3.connect(aside) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1


def test_an_unopenable_path_keeps_the_timeline_in_memory(tmp_path, caplog) -> None:
    path = tmp_path / "timeline.sqlite3"
    path.mkdir()  # a folder where the file should be: cannot be opened, cannot be replaced
    caplog.set_level(logging.WARNING, "opsconsole.core.timeline")
    tl = TimelineStore(path)
    assert tl.append(entry(TS, "still recorded")) is not None
    assert tl.in_memory_fallback
    assert messages(tl.recent()) == ["still recorded"]
    assert any("in memory" in r.getMessage() for r in caplog.records)


# ============================================================================ TimelineRecorder


class Clocks:
    def __init__(self) -> None:
        self.wall = TS + 100.0
        self.mono = 50.0


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


class Rig:
    def __init__(self, clocks: Clocks, timeline: TimelineStore | None = None) -> None:
        self.store = Store(capacity=16)
        self.timeline = timeline or TimelineStore(None)
        self.seen: list[TimelineEntry] = []
        self.recorder = TimelineRecorder(
            self.store,
            self.timeline,
            self.seen.append,
            clock=lambda: clocks.wall,
            monotonic=lambda: clocks.mono,
            tz=UTC,  # TS is 22:13:20 UTC
        )

    def apply(self, *events: Any) -> None:
        for ev in events:
            self.store.apply(ev)

    def lines(self, **kw: Any) -> list[str]:
        return messages(self.timeline.recent(**kw))


@pytest.fixture
def rig(clocks: Clocks) -> Rig:
    return Rig(clocks)


def circuit(state: str, ts: float | None = None, failures: int = 0) -> Circuit:
    return Circuit(
        state=state,  # type: ignore[arg-type]
        name="inventory-service",
        failure_count=failures,
        failure_threshold=3,
        last_transition_ts=ts,
    )


def members(primary: str, timeline: int = 1, failures: int = 0) -> tuple[DbMember, ...]:
    return tuple(
        DbMember(
            name=name,
            role="primary" if name == primary else "replica",
            healthy=not (name == "primary-db" and failures),
            timeline=timeline,
            consecutive_failures=failures if name == "primary-db" else 0,
        )
        for name in ("primary-db", "replica-1", "replica-2")
    )


def cluster(
    state: str = "healthy",
    primary: str | None = "primary-db",
    read_only: bool = False,
    timeline: int = 1,
    failures: int = 0,
    message: str | None = None,
) -> DbCluster:
    return DbCluster(
        name="orders-db",
        state=state,  # type: ignore[arg-type]
        read_only=read_only,
        primary=primary,
        members=members(primary or "", timeline, failures),
        message=message,
    )


def alert(state: str = "firing", value: float = 612.0, **kw: Any) -> Alert:
    return Alert(
        id=kw.pop("id", "orders.latency.1"),
        service="orders",
        rule="latency",
        severity="page",
        state=state,  # type: ignore[arg-type]
        since_ts=kw.pop("since_ts", TS + 10),
        value=value,
        threshold=500.0,
        **kw,
    )


def snapshot(**kw: Any) -> SnapshotLoaded:
    fields: dict[str, Any] = {
        "services": (Service("orders"),),
        "circuits": (circuit("closed"),),
        "clusters": (cluster(),),
        "alerts": (),
        "ts": TS,
    }
    fields.update(kw)
    return SnapshotLoaded("sim", **fields)


def event(kind: str, message: str, ts: float, **kw: Any) -> EventOccurred:
    return EventOccurred("sim", Event(ts=ts, kind=kind, message=message, **kw))  # type: ignore[arg-type]


def test_first_sighting_is_a_baseline(rig: Rig) -> None:
    rig.apply(snapshot(circuits=(circuit("open"),), clusters=(cluster("degraded"),)))
    rig.apply(CircuitChanged("sim", circuit("open", TS + 1)))
    rig.apply(ClusterChanged("sim", cluster("degraded")))
    assert rig.timeline.count() == 0 and rig.seen == []


def test_breaker_transitions_one_line_each_at_the_transition_time(rig: Rig, clocks) -> None:
    rig.apply(snapshot())
    for failures in (1, 2):  # counts moving, state the same: nothing to say
        rig.apply(CircuitChanged("sim", circuit("closed", failures=failures)))
    rig.apply(CircuitChanged("sim", circuit("open", TS + 20, failures=3)))
    for _ in range(3):  # the same state again (frames, a resync snapshot): no new line
        rig.apply(CircuitChanged("sim", circuit("open", TS + 20, failures=3)))
    rig.apply(snapshot(circuits=(circuit("open", TS + 20, failures=3),), resync=True))
    rig.apply(CircuitChanged("sim", circuit("half_open", TS + 50)))
    # A backend that never updates the transition time: stamped with the observed time.
    rig.apply(CircuitChanged("sim", circuit("closed", TS + 50)))

    [closed, half, opened] = rig.timeline.recent()
    assert opened.message == "inventory-service closed → open after 3 failures"
    assert (opened.ts, opened.kind, opened.service) == (TS + 20, "breaker", "inventory-service")
    assert opened.data == {"circuit": "inventory-service", "from": "closed", "to": "open"}
    assert (half.message, half.ts) == ("inventory-service open → half-open", TS + 50)
    assert (closed.message, closed.ts) == ("inventory-service half-open → closed", clocks.wall)
    assert rig.seen == [opened, half, closed], "on_entry sees every stored entry, in order"


def test_a_breaker_event_for_a_derived_change_is_not_a_second_line(rig: Rig, clocks) -> None:
    rig.apply(snapshot())
    rig.apply(CircuitChanged("sim", circuit("open", TS + 20, failures=3)))
    # The reference backend follows each circuit frame with its event.
    data = {"circuit": "inventory-service", "from": "closed", "to": "open"}
    text = "circuit inventory-service: closed → open (3 consecutive failures)"
    rig.apply(event("breaker", text, TS + 20, data=data))
    assert rig.lines() == ["inventory-service closed → open after 3 failures"]
    assert rig.recorder.skipped_events == 1
    # One event per derived change: a second one is a fact of its own and kept.
    rig.apply(event("breaker", "circuit inventory-service: manual note", TS + 21))
    # A breaker event with no derived change behind it (too late to pair) is kept too.
    rig.apply(CircuitChanged("sim", circuit("half_open", TS + 40)))
    clocks.mono += PAIR_WINDOW_S + 1
    rig.apply(event("breaker", "circuit inventory-service: open → half_open", TS + 40))
    assert rig.lines(kinds=["breaker"]) == [
        "circuit inventory-service: open → half_open",
        "inventory-service open → half-open",
        "circuit inventory-service: manual note",
        "inventory-service closed → open after 3 failures",
    ]


def test_failover_as_the_reference_backend_sends_it(rig: Rig, clocks) -> None:
    rig.apply(snapshot())
    rig.apply(event("scenario", "scenario primary_down started on primary-db", TS + 1))
    clocks.wall = TS + 5
    # One health-check round: failed, then a replica promoted; each change with its event.
    rig.apply(ClusterChanged("sim", cluster("failed", failures=3)))
    rig.apply(
        event(
            "failover", "orders-db: primary primary-db failed 3 consecutive health checks", TS + 5
        )
    )
    rig.apply(ClusterChanged("sim", cluster("healthy", "replica-2", timeline=2, failures=3)))
    rig.apply(
        event(
            "failover",
            "orders-db: failover by failover manager: replica-2 is primary on timeline 2",
            TS + 5,
            data={"primary": "replica-2", "timeline": 2},
        )
    )
    # Repeated frames of the same state: nothing new.
    for _ in range(3):
        rig.apply(ClusterChanged("sim", cluster("healthy", "replica-2", timeline=2)))
    # The old primary comes back as a replica: no derived change, so its event is the line.
    clocks.wall = TS + 30
    rig.apply(event("failover", "primary-db rejoined orders-db as a replica", TS + 30))

    assert rig.lines() == [
        "primary-db rejoined orders-db as a replica",
        "orders-db failed → healthy",
        "orders-db: replica-2 promoted to primary (timeline 2, was primary-db)",
        "orders-db healthy → failed (primary primary-db failed 3 checks)",
        "scenario primary_down started on primary-db",
    ]
    kinds = [e.kind for e in rig.timeline.recent()]
    assert kinds == ["failover", "cluster", "failover", "cluster", "scenario"]
    assert rig.recorder.skipped_events == 2
    promoted = rig.timeline.recent(kinds=["failover"])[1]
    assert promoted.data == {
        "cluster": "orders-db",
        "previous_primary": "primary-db",
        "primary": "replica-2",
        "timeline": 2,
    }


def test_degraded_and_read_only(rig: Rig) -> None:
    rig.apply(snapshot())
    rig.apply(ClusterChanged("sim", cluster("failed", failures=3)))
    degraded = cluster(
        "degraded", read_only=True, failures=3, message="Real-time data temporarily unavailable"
    )
    rig.apply(ClusterChanged("sim", degraded))
    rig.apply(ClusterChanged("sim", degraded))
    rig.apply(ClusterChanged("sim", cluster("healthy")))
    assert rig.lines() == [
        "orders-db read-only OFF",
        "orders-db degraded → healthy",
        "orders-db read-only ON",
        "orders-db failed → degraded: Real-time data temporarily unavailable",
        "orders-db healthy → failed (primary primary-db failed 3 checks)",
    ]


def test_alerts_fire_ack_and_resolve_once_each(rig: Rig, clocks) -> None:
    rig.apply(snapshot())
    rig.apply(AlertChanged("sim", alert()))
    for value in (640.0, 700.0):  # the same alert, new values: no new line
        rig.apply(AlertChanged("sim", alert(value=value)))
    rig.apply(AlertChanged("sim", alert(acked_by="alice", acked_ts=TS + 30)))
    rig.apply(AlertChanged("sim", alert(acked_by="alice", acked_ts=TS + 30)))
    clocks.wall = TS + 60
    rig.apply(AlertChanged("sim", alert("resolved", 480.0, acked_by="alice", acked_ts=TS + 30)))
    rig.apply(AlertChanged("sim", alert("resolved", 470.0, acked_by="alice", acked_ts=TS + 30)))
    # A resolved alert never seen firing (it fired while the console was off): baseline only.
    rig.apply(AlertChanged("sim", alert("resolved", id="old", since_ts=TS - 900)))

    resolved, acked, fired = rig.timeline.recent()
    assert (fired.message, fired.ts) == ("ALERT page orders latency: p99 612 ms > 500 ms", TS + 10)
    assert (fired.kind, fired.service, fired.data["change"]) == ("alert", "orders", "fired")
    assert (acked.message, acked.ts) == ("ACKED page orders latency by alice", TS + 30)
    assert (resolved.message, resolved.ts) == ("RESOLVED page orders latency: p99 480 ms", TS + 60)


def test_alert_messages_per_rule(rig: Rig) -> None:
    rules = {
        "errors": (0.034, 0.01, "ALERT page orders errors: errors 3.4 % > 1.0 %"),
        "saturation": (0.91, 0.8, "ALERT page orders saturation: saturation 91 % > 80 %"),
        "traffic": (
            0.62,
            0.5,
            "ALERT page orders traffic: traffic +62 % vs baseline outside ±50 %",
        ),
    }
    for i, (rule, (value, threshold, _)) in enumerate(rules.items()):
        a = Alert(
            id=f"x{i}",
            service="orders",
            rule=rule,
            severity="page",
            state="firing",
            since_ts=TS + i,
            value=value,
            threshold=threshold,
        )
        rig.apply(AlertChanged("sim", a))
    odd = Alert(
        id="y",
        service="",
        rule="custom",
        severity="ticket",
        state="firing",
        since_ts=TS + 9,
        summary="disk almost full",
    )
    rig.apply(AlertChanged("sim", odd))
    assert rig.lines() == [
        "ALERT ticket  custom: disk almost full",
        *reversed([want for _, _, want in rules.values()]),
    ]


def test_a_restarted_console_does_not_repeat_a_firing_alert(tmp_path, clocks) -> None:
    path = tmp_path / "timeline.sqlite3"
    first = Rig(clocks, TimelineStore(path))
    first.apply(snapshot(alerts=(alert(),)))
    assert first.lines() == ["ALERT page orders latency: p99 612 ms > 500 ms"]
    first.timeline.close()

    # After the restart the snapshot shows the same alert, acked meanwhile, with a new value.
    again = Rig(clocks, TimelineStore(path))
    again.apply(snapshot(alerts=(alert(value=655.0, acked_by="bob", acked_ts=TS + 40),)))
    assert again.lines() == [
        "ACKED page orders latency by bob",
        "ALERT page orders latency: p99 612 ms > 500 ms",
    ]
    assert len(again.seen) == 1, "only the ack was new"


def test_events_map_to_kinds_and_replays_are_stored_once(rig: Rig) -> None:
    for kind, text in [
        ("deploy", "orders v2.3.1 deployed"),
        ("scenario", "scenario latency_spike started on orders"),
        ("action", "alert x acknowledged by alice"),
        ("info", "Lost the link to sim: connection refused"),
        ("info", "Link to sim restored (websocket)"),
        ("info", "Resynchronised after lost frames; no data from 22:13:20 to 22:14:25"),
        ("info", "Backend sim restarted; no data from 22:14:25 to 22:15:00"),
        ("info", "Maintenance window starts at 02:00"),
    ]:
        rig.apply(event(kind, text, TS + len(rig.seen), service="orders"))
    rig.apply(event("deploy", "orders v2.3.1 deployed", TS))  # a replayed frame
    got = {e.message: e.kind for e in rig.timeline.recent()}
    assert got == {
        "orders v2.3.1 deployed": "deploy",
        "scenario latency_spike started on orders": "scenario",
        "alert x acknowledged by alice": "action",
        "Lost the link to sim: connection refused": "connection",
        "Link to sim restored (websocket)": "connection",
        "Resynchronised after lost frames; no data from 22:13:20 to 22:14:25": "connection",
        "Backend sim restarted; no data from 22:14:25 to 22:15:00": "connection",
        "Maintenance window starts at 02:00": "info",
    }
    assert rig.timeline.count() == 8 and len(rig.seen) == 8


def test_auth_failure_is_one_connection_line(rig: Rig, clocks) -> None:
    live = LinkStatus(ConnectionState.LIVE, Transport.WEBSOCKET)
    rig.apply(ConnectionChanged("sim", live))
    rig.apply(ConnectionChanged("sim", LinkStatus(ConnectionState.AUTH_FAILED, detail="401")))
    rig.apply(ConnectionChanged("sim", LinkStatus(ConnectionState.AUTH_FAILED, detail="403")))
    rig.apply(ConnectionChanged("sim", LinkStatus(ConnectionState.RECONNECTING, retry_in_s=1)))
    [line] = rig.timeline.recent()
    assert (line.kind, line.message, line.ts) == (
        "connection",
        "Authentication to sim failed: 401",
        clocks.wall,
    )


def test_operator_actions(rig: Rig, clocks) -> None:
    stored = rig.recorder.record_action(
        "sim",
        "db.failover",
        "orders-db",
        "succeeded",
        "replica-2 is primary, timeline 2",
        {"candidate": "replica-2", "user": "alice"},
    )
    assert stored is not None and rig.seen == [stored]
    assert stored.kind == "action" and stored.ts == clocks.wall
    assert stored.message == "db.failover orders-db: succeeded — replica-2 is primary, timeline 2"
    assert stored.data == {
        "command": "db.failover",
        "target": "orders-db",
        "outcome": "succeeded",
        "candidate": "replica-2",
        "user": "alice",
    }
    plain = rig.recorder.record_action("sim", "layout.wall", None, "done")
    assert plain is not None and plain.message == "layout.wall: done" and plain.service is None


def test_a_failing_listener_never_breaks_ingestion(clocks, caplog) -> None:
    rig = Rig(clocks)

    def broken(_: TimelineEntry) -> None:
        raise RuntimeError("panel gone")

    rig.recorder.on_entry = broken
    caplog.set_level(logging.ERROR, "opsconsole.core.timeline")
    rig.apply(event("deploy", "orders v2 deployed", TS))  # must not raise into the client
    assert rig.lines() == ["orders v2 deployed"]
    assert any("could not record" in r.getMessage() for r in caplog.records)


def test_recorder_last_id_is_the_newest_stored_entry(rig: Rig) -> None:
    assert rig.recorder.last_id() == 0
    rig.apply(event("deploy", "orders v2 deployed", TS))
    rig.apply(event("deploy", "orders v3 deployed", TS + 1))
    assert rig.recorder.last_id() == rig.timeline.last_id() == 2


def test_close_disconnects(rig: Rig) -> None:
    rig.recorder.close()
    rig.apply(event("deploy", "after close", TS))
    assert rig.timeline.count() == 0


# ---------------------------------------------------------------------------- restarts


def restart_line(ts: float) -> EventOccurred:
    """What the client says before the snapshot of a new run of the backend."""
    text = "Backend sim restarted; no data from 22:13:30 to 22:14:40"
    return event("info", text, ts, data={"link": LINK_RESTARTED})


def test_a_backwards_timeline_is_never_a_promotion(rig: Rig, clocks) -> None:
    rig.apply(snapshot())
    rig.apply(ClusterChanged("sim", cluster("healthy", "replica-1", timeline=2)))
    rig.apply(ClusterChanged("sim", cluster("healthy", "replica-2", timeline=3)))
    # The backend started over without saying so (no restart line): timeline 3 → 1.
    rig.apply(ClusterChanged("sim", cluster("healthy", "primary-db", timeline=1)))
    rig.apply(ClusterChanged("sim", cluster("healthy", "primary-db", timeline=1)))
    assert rig.lines(kinds=["failover"]) == [
        "orders-db: replica-2 promoted to primary (timeline 3, was replica-1)",
        "orders-db: replica-1 promoted to primary (timeline 2, was primary-db)",
    ]
    [reset] = rig.timeline.recent(limit=1)
    assert reset.message == "orders-db: state after a restart: primary-db primary, timeline 1"
    assert (reset.kind, reset.ts, reset.service) == ("cluster", clocks.wall, "orders-db")
    assert reset.data["previous_timeline"] == 3 and reset.data["timeline"] == 1
    # The new history is the baseline: the next promotion there is told as usual.
    rig.apply(ClusterChanged("sim", cluster("failed", "primary-db", timeline=1, failures=3)))
    rig.apply(ClusterChanged("sim", cluster("healthy", "replica-2", timeline=2)))
    assert rig.lines(limit=3)[0] == "orders-db failed → healthy"
    assert "orders-db: replica-2 promoted to primary (timeline 2, was primary-db)" in rig.lines()


def test_a_backwards_timeline_without_a_primary_says_so(rig: Rig) -> None:
    rig.apply(snapshot(clusters=(cluster("healthy", "replica-1", timeline=4),)))
    rig.apply(ClusterChanged("sim", cluster("failed", None, timeline=1)))
    assert rig.lines() == ["orders-db: state after a restart: no primary, timeline 1, failed"]


def test_after_a_restart_the_new_run_is_a_baseline_not_a_change(rig: Rig, clocks) -> None:
    rig.apply(snapshot())
    rig.apply(CircuitChanged("sim", circuit("open", TS + 20, failures=3)))
    rig.apply(ClusterChanged("sim", cluster("healthy", "replica-1", timeline=2)))
    before = rig.timeline.count()
    # The new run: breaker closed again, primary-db primary on timeline 1.
    rig.apply(restart_line(TS + 140))
    rig.apply(snapshot(ts=TS + 140))
    lines = rig.lines()
    assert rig.timeline.count() == before + 1, lines
    assert lines[0] == "Backend sim restarted; no data from 22:13:30 to 22:14:40"
    assert rig.timeline.recent(limit=1)[0].kind == "connection"
    # Changes of the new run are compared with the new run.
    rig.apply(CircuitChanged("sim", circuit("open", TS + 150, failures=3)))
    assert rig.lines(limit=1) == ["inventory-service closed → open after 3 failures"]


def test_a_resync_of_the_same_run_still_compares_states(rig: Rig) -> None:
    rig.apply(snapshot())
    # Lost frames, same run: what changed meanwhile really happened.
    rig.apply(
        event(
            "info",
            "Resynchronised after lost frames; no data from 22:13:30 to 22:14:40",
            TS + 80,
            data={"link": "resynchronised"},
        )
    )
    rig.apply(snapshot(clusters=(cluster("healthy", "replica-1", timeline=2),), resync=True))
    assert "orders-db: replica-1 promoted to primary (timeline 2, was primary-db)" in rig.lines()


# ---------------------------------------------------------------------------- flapping


def test_a_flapping_breaker_is_one_line_growing_in_place(rig: Rig, clocks) -> None:
    rig.apply(snapshot())
    rig.apply(CircuitChanged("sim", circuit("open", TS + 10, failures=3)))
    updated: list[TimelineEntry] = []
    rig.timeline.entry_updated.connect(updated.append)
    # open → half-open → open … every 15 s: a dependency that keeps failing its trial call.
    t = TS + 10
    for i in range(7):
        t += 15
        rig.apply(CircuitChanged("sim", circuit("half_open" if i % 2 == 0 else "open", t)))
    lines = rig.lines()
    assert lines == [
        "inventory-service flapping open ↔ half-open ×7 (22:13:45–22:15:15)",
        "inventory-service open → half-open",
        "inventory-service closed → open after 3 failures",
    ]
    group = rig.timeline.recent(limit=1)[0]
    first = rig.timeline.recent()[1]
    assert group.ts == first.ts == TS + 25, "the group sits just above its first change"
    assert group.data == {"circuit": "inventory-service", "to": "half_open", "changes": 7}
    assert [u.id for u in updated] == [group.id] * 5, "written once, then rewritten"
    assert [u.message.split("×")[1][0] for u in updated] == ["3", "4", "5", "6", "7"]
    assert rig.seen[-1] == group, "on_entry is told of rewrites too"

    # It recovers: a change between other states is a line of its own again.
    rig.apply(CircuitChanged("sim", circuit("closed", t + 5)))
    assert rig.lines(limit=1) == ["inventory-service half-open → closed"]
    # Flapping again later starts a new group; the old one keeps its count.
    rig.apply(CircuitChanged("sim", circuit("open", t + 100, failures=3)))
    rig.apply(CircuitChanged("sim", circuit("closed", t + 110)))
    rig.apply(CircuitChanged("sim", circuit("open", t + 120, failures=3)))
    assert rig.lines(limit=3) == [
        "inventory-service flapping closed ↔ open ×3 (22:16:55–22:17:15)",
        "inventory-service closed → open after 3 failures",
        "inventory-service half-open → closed",
    ]
    assert "inventory-service flapping open ↔ half-open ×7 (22:13:45–22:15:15)" in rig.lines()


def test_changes_further_apart_than_the_window_are_lines_of_their_own(rig: Rig) -> None:
    rig.apply(snapshot())
    t = TS
    for state in ("open", "half_open", "open", "half_open"):
        t += FLAP_WINDOW_S + 1
        rig.apply(CircuitChanged("sim", circuit(state, t, failures=3)))
    assert rig.lines() == [
        "inventory-service open → half-open",
        "inventory-service half-open → open after 3 failures",
        "inventory-service open → half-open",
        "inventory-service closed → open after 3 failures",
    ]


def test_an_operator_forcing_a_breaker_is_never_grouped(rig: Rig) -> None:
    rig.apply(snapshot())
    for i, state in enumerate(("forced_open", "closed", "forced_open", "closed")):
        rig.apply(CircuitChanged("sim", circuit(state, TS + i + 1)))
    assert rig.lines() == [
        "inventory-service forced open → closed",
        "inventory-service closed → forced open (forced by an operator)",
        "inventory-service forced open → closed",
        "inventory-service closed → forced open (forced by an operator)",
    ]


def test_flapping_pairs_with_the_backends_own_events(rig: Rig) -> None:
    rig.apply(snapshot())
    t = TS
    for state in ("open", "half_open", "open", "half_open"):
        t += 5
        rig.apply(CircuitChanged("sim", circuit(state, t, failures=3)))
        # The reference backend follows each circuit frame with its event: skipped each time.
        rig.apply(
            event(
                "breaker",
                f"circuit inventory-service: → {state}",
                t,
                data={"circuit": "inventory-service"},
            )
        )
    assert rig.recorder.skipped_events == 4
    assert rig.lines() == [
        "inventory-service flapping open ↔ half-open ×3 (22:13:30–22:13:40)",
        "inventory-service open → half-open",
        "inventory-service closed → open after 3 failures",
    ]


def test_a_group_whose_entry_is_gone_is_written_again(clocks, tmp_path) -> None:
    path = tmp_path / "timeline.sqlite3"
    rig = Rig(clocks, TimelineStore(path))
    rig.apply(snapshot())
    for i, state in enumerate(("open", "half_open", "open")):
        rig.apply(CircuitChanged("sim", circuit(state, TS + 5 * (i + 1), failures=3)))
    # The file went away under the running console (deleted by hand): a fresh one starts.
    rig.timeline.close()
    path.unlink()
    rig.apply(CircuitChanged("sim", circuit("half_open", TS + 20)))
    assert rig.lines() == ["inventory-service flapping open ↔ half-open ×3 (22:13:30–22:13:40)"]

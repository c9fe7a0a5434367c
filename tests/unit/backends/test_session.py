"""StreamSession without sockets: frames in, store events and sequence verdicts out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import numpy as np

from opsconsole.backends.session import StreamSession
from opsconsole.core.events import (
    CircuitChanged,
    EventOccurred,
    FrameRejected,
    MetricsBatch,
    SnapshotLoaded,
)

# 2026-12-06 12:24:10 UTC; the operator's clock says 14:24:10 in UTC+2.
T0 = datetime(2026, 12, 6, 12, 24, 10, tzinfo=UTC).timestamp()
UTC_PLUS_2 = timezone(timedelta(hours=2))


def frame(**kw: object) -> bytes:
    return json.dumps(kw).encode()


def hello(epoch: str = "e1", seq: int = 10) -> bytes:
    return frame(type="hello", version="1", epoch=epoch, server_time=1e9, seq=seq)


def snapshot(seq: int = 10, resync: bool = False, ts: float = 1e9) -> bytes:
    return frame(
        type="snapshot",
        seq=seq,
        ts=ts,
        resync=resync,
        services=[{"name": "orders"}],
        circuits={
            "inventory-service": {"state": "closed", "failure_threshold": 3, "timeout_s": 30}
        },
        realtime={
            "ts": 1e9,
            "system_health": "healthy",
            "services": {"orders": {"latency_p99_ms": 80.0, "rps": 10.0}},
        },
    )


def metrics(seq: int, ts: float = 1e9 + 1) -> bytes:
    return frame(type="metrics", seq=seq, rows=[["orders", ts, 1, 2, 3, 4, 0.0, 0.5, None]])


def started(session: StreamSession) -> StreamSession:
    session.link_opened()
    session.feed(hello())
    session.feed(snapshot())
    return session


def test_snapshot_then_frames_in_order() -> None:
    s = StreamSession("b")
    s.link_opened()
    assert s.feed(metrics(11)).events == ()  # nothing applies before the snapshot
    s.feed(hello())
    snap = s.feed(snapshot())
    assert isinstance(snap.events[0], SnapshotLoaded) and not snap.events[0].resync
    assert snap.events[0].circuits[0].name == "inventory-service"
    assert isinstance(snap.events[1], MetricsBatch)
    assert np.isnan(snap.events[1].values[0, 0])  # p50 absent in realtime: no data, not 0
    out = s.feed(metrics(11))
    assert isinstance(out.events[0], MetricsBatch)
    assert np.isnan(out.events[0].values[0, -1])
    assert s.tracker.last_seq == 11


def test_duplicate_dropped_and_gap_asks_for_resync() -> None:
    s = started(StreamSession("b"))
    s.feed(metrics(11))
    assert s.feed(metrics(11)).duplicate
    gap = s.feed(metrics(13))
    assert gap.resync_reason is not None and "expected 12" in gap.resync_reason
    assert s.tracker.last_seq == 11


def test_heartbeat_beyond_last_seq_is_a_gap() -> None:
    s = started(StreamSession("b"))
    assert s.feed(frame(type="heartbeat", ts=1e9, seq=10)).resync_reason is None
    assert s.feed(frame(type="heartbeat", ts=1e9, seq=12)).resync_reason is not None


def test_resume_on_same_epoch_accepts_the_replay() -> None:
    s = started(StreamSession("b"))
    s.feed(metrics(11))
    assert s.link_opened() == ("e1", 11)
    s.feed(hello(seq=15))
    assert s.resume_requested
    out = s.feed(metrics(12, ts=1e9 + 2))
    assert isinstance(out.events[0], MetricsBatch)


def test_new_epoch_is_a_restart_told_in_clock_times_before_the_new_state() -> None:
    s = started(StreamSession("b", tz=UTC_PLUS_2))
    s.feed(metrics(11, ts=T0))
    s.link_opened()
    s.feed(hello(epoch="e2", seq=0))
    out = s.feed(snapshot(seq=3, resync=False, ts=T0 + 65))
    told, loaded = out.events[0], out.events[1]
    # First the line, then the state: the timeline re-baselines on the line.
    assert isinstance(told, EventOccurred) and isinstance(loaded, SnapshotLoaded)
    assert loaded.resync and loaded.restarted and loaded.gap_from_ts == T0
    assert told.event.message == "Backend b restarted; no data from 14:24:10 to 14:25:15"
    assert (told.event.kind, told.event.ts, told.event.data) == (
        "info",
        T0 + 65,
        {"link": "restarted"},
    )
    assert s.data_epoch == "e2"


def test_lost_frames_on_the_same_run_are_a_resync_not_a_restart() -> None:
    s = started(StreamSession("b", tz=UTC_PLUS_2))
    s.feed(metrics(11, ts=T0))
    s.link_opened()
    s.feed(hello(epoch="e1", seq=500))  # the same run, but it no longer holds seq 12
    out = s.feed(snapshot(seq=500, resync=True, ts=T0 + 65))
    told, loaded = out.events[0], out.events[1]
    assert loaded.resync and not loaded.restarted
    assert (
        told.event.message == "Resynchronised after lost frames; no data from 14:24:10 to 14:25:15"
    )
    assert told.event.data == {"link": "resynchronised"}


def test_a_reload_flagged_by_the_caller_on_the_same_epoch_is_no_restart() -> None:
    # Polling answered 410 (history gone, same run): the client flags the reload itself.
    s = started(StreamSession("b", tz=UTC_PLUS_2))
    s.feed(metrics(11, ts=T0))
    s.epoch_changed = True
    out = s.feed(snapshot(seq=40, ts=T0))
    assert out.events[1].resync and not out.events[1].restarted
    assert out.events[0].event.message == "Resynchronised after lost frames; no data at 14:24:10"


def test_a_snapshot_naming_a_new_epoch_is_a_restart_however_it_was_noticed() -> None:
    # Polling sees the new epoch in the events answer and loads a snapshot carrying it.
    s = started(StreamSession("b", tz=UTC))
    s.tracker.on_hello("e9")
    s.epoch_changed = True
    out = s.feed(frame(**{**json.loads(snapshot(seq=1)), "epoch": "e9"}))
    assert out.events[1].restarted
    assert out.events[0].event.message == "Backend b restarted; no data at 01:46:40"
    again = s.feed(snapshot(seq=2, resync=True))
    assert not again.events[1].restarted, "the new run is the one held now"


def test_invalid_frame_is_rejected_with_its_kind() -> None:
    s = started(StreamSession("b"))
    out = s.feed(b"{oops")
    assert isinstance(out.events[0], FrameRejected) and out.events[0].kind == "malformed_json"
    bad_rows = s.feed(frame(type="metrics", seq=11, rows=[["orders", 1e9, 1]]))
    assert bad_rows.rejected is not None
    assert s.tracker.last_seq == 11  # the seq was consumed; the next frame is not a gap
    assert s.feed(metrics(12)).resync_reason is None


def test_circuit_frame_keeps_static_fields_from_the_snapshot() -> None:
    s = started(StreamSession("b"))
    out = s.feed(
        frame(
            type="circuit",
            seq=11,
            ts=1e9 + 5,
            name="inventory-service",
            state="open",
            prev_state="closed",
            failure_count=3,
        )
    )
    change = out.events[0]
    assert isinstance(change, CircuitChanged)
    assert change.circuit.failure_threshold == 3 and change.circuit.timeout_s == 30
    assert change.circuit.last_transition_ts == 1e9 + 5


def test_a_second_hello_on_an_open_link_asks_for_a_fresh_link_and_keeps_the_position() -> None:
    s = started(StreamSession("b"))
    s.feed(metrics(11))
    assert s.feed(hello("e1", seq=11)).resync_reason is None  # the same run: nothing to do
    again = s.feed(hello("e2", seq=3))
    assert again.resync_reason is not None and "e2" in again.resync_reason
    assert s.tracker.epoch == "e1" and s.tracker.last_seq == 11  # resume is still possible
    # Frames after it are judged as before, never a TypeError on a forgotten position.
    assert s.feed(metrics(12)).events


def test_a_frame_before_any_snapshot_position_is_a_gap_in_words() -> None:
    s = StreamSession("b")
    s.link_opened()
    s.feed(hello("e1"))
    s.awaiting_snapshot = False  # as if a replay had been accepted with nothing held
    out = s.feed(metrics(5))
    assert out.resync_reason == "sequence gap: expected a snapshot first, got 5"


def _batch(feed) -> MetricsBatch:
    (batch,) = [e for e in feed.events if isinstance(e, MetricsBatch)]
    return batch


def test_rows_that_arrive_late_carry_their_age() -> None:
    s = StreamSession("b")
    s.link_opened()
    s.feed(hello(), at=1e9 + 0.01)
    s.feed(snapshot(), at=1e9 + 0.01)
    batch = _batch(s.feed(metrics(11, ts=1e9 + 1), at=1e9 + 6))  # 5 s in transit
    assert abs(batch.age_at_arrival - 5.0) < 0.02
    assert abs(s.data_age(1e9 + 7) - 6.0) < 0.02


def test_a_backend_clock_minutes_behind_is_followed_and_said_once() -> None:
    s = StreamSession("b")
    s.link_opened()
    behind = 300.0
    first = s.feed(hello(), at=1e9 + behind)
    out = s.feed(snapshot(), at=1e9 + behind)
    notes = [
        e.event.message for f in (first, out) for e in f.events if isinstance(e, EventOccurred)
    ]
    assert notes == [
        "b's clock is 5 min 00 s behind this computer's; data ages are judged on its own clock"
    ]
    batch = _batch(s.feed(metrics(11, ts=1e9 + 1), at=1e9 + 1 + behind + 0.05))
    assert batch.age_at_arrival < 0.1  # fresh on its own clock
    again = s.feed(metrics(12, ts=1e9 + 2), at=1e9 + 2 + behind + 0.05)
    assert not [e for e in again.events if isinstance(e, EventOccurred)]


def test_a_restart_with_the_clock_behind_places_new_rows_after_the_old_ones() -> None:
    s = StreamSession("b")
    s.link_opened()
    s.feed(hello("e1"), at=1e9)
    s.feed(snapshot(ts=1e9), at=1e9)
    s.feed(metrics(11, ts=1e9 + 1), at=1e9 + 1)
    # The backend restarts 60 s later with its clock 5 minutes behind.
    s.link_opened()
    now = 1e9 + 61
    s.feed(frame(type="hello", version="1", epoch="e2", server_time=now - 300, seq=1), at=now)
    out = s.feed(snapshot(seq=1, ts=now - 300), at=now)
    messages = [e.event.message for e in out.events if isinstance(e, EventOccurred)]
    assert any("restarted with its clock 5 min 00 s behind" in m for m in messages), messages
    assert any(m.startswith("Backend b restarted; no data from") for m in messages), messages
    batch = _batch(s.feed(metrics(2, ts=now + 1 - 300), at=now + 1))
    assert batch.ts.tolist() == [now + 1]  # on the first run's clock: after the old rows
    assert batch.age_at_arrival < 0.1

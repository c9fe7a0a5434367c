"""One stream session of the Ops API client, without I/O: frames in, store events out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo

import numpy as np

from opsconsole.core.clocktext import age_text, clock_text
from opsconsole.core.events import (
    LINK_RESTARTED,
    ActionFinished,
    AlertChanged,
    CircuitChanged,
    ClusterChanged,
    DeploysSeen,
    EventOccurred,
    FrameRejected,
    MetricsBatch,
    SnapshotLoaded,
    StoreEvent,
)
from opsconsole.core.models import METRIC_FIELDS, Circuit, Event, ServiceMetrics
from opsconsole.core.protocol import (
    ActionResultFrame,
    AlertFrame,
    AnyFrame,
    CircuitFrame,
    DbFrame,
    EventFrame,
    HeartbeatFrame,
    HelloFrame,
    MetricsFrame,
    ProtocolError,
    RealtimeBody,
    SnapshotFrame,
    circuit_from_frame,
    decode_frame,
    decode_metric_rows,
    named_circuits,
)
from opsconsole.core.sequence import SeqTracker, SeqVerdict
from opsconsole.core.serverclock import BEHIND_TOLERANCE_S, ServerClock
from opsconsole.core.slowire import deploy_of_event


@dataclass(frozen=True)
class Feed:
    """What one incoming frame means: events to apply, and whether the link must resync."""

    events: tuple[StoreEvent, ...] = ()
    resync_reason: str | None = None
    rejected: ProtocolError | None = None
    hello: HelloFrame | None = None
    duplicate: bool = False


def realtime_batch(backend: str, body: RealtimeBody) -> MetricsBatch:
    """The metrics of a realtime body (snapshot or polling) as one batch."""
    names = tuple(body.services)
    values = np.array(
        [[_nan(getattr(m, f)) for f in METRIC_FIELDS] for m in body.services.values()],
        dtype=np.float64,
    ).reshape(len(names), len(METRIC_FIELDS))
    return MetricsBatch(backend, names, np.full(len(names), body.ts), values, METRIC_FIELDS)


def _nan(value: float | None) -> float:
    return np.nan if value is None else value


def metrics_of(body: RealtimeBody) -> dict[str, ServiceMetrics]:
    return dict(body.services)


@dataclass
class StreamSession:
    """Turns frames into store events and judges their sequence.

    One instance lives as long as the client (not the link), so that `tracker` carries the
    epoch and last seq across reconnects and the next link can resume where this one stopped.
    `tz` is for the times written into the operator's lines (None: the local time zone).
    """

    backend: str
    tracker: SeqTracker = field(default_factory=SeqTracker)
    fields: tuple[str, ...] = METRIC_FIELDS
    circuits: dict[str, Circuit] = field(default_factory=dict)
    awaiting_snapshot: bool = True
    resume_requested: bool = False
    epoch_changed: bool = False
    resume_from: tuple[str, int] | None = None
    newest_ts: float | None = None
    duplicates: int = 0
    # The epoch (server run) whose state the store holds: a snapshot from another one is a
    # restart, whoever noticed the new epoch first (the hello, or polling's events answer).
    data_epoch: str | None = None
    tz: tzinfo | None = None
    # The backend's clock as judged from its frames (needs the arrival time: `feed(at=…)`).
    clock: ServerClock = field(default_factory=ServerClock)
    # Added to every row's time: after a restart whose clock differs from the previous run's
    # by more than transit delay could explain, the new rows are placed on the old run's
    # clock, so the charts continue instead of dropping every row as older than the last.
    shift: float = 0.0
    _base_offset: float | None = None  # the clock offset when the store first got data
    _said_offset: float = 0.0
    _at: float | None = None  # arrival time (local wall clock) of the frame being fed

    def link_opened(self) -> tuple[str, int] | None:
        """A new link: nothing is applied until it has replayed or sent a snapshot.

        Returns the (epoch, seq) to ask the server to resume from, if any.
        """
        self.awaiting_snapshot = True
        self.resume_requested = False
        self.epoch_changed = False
        self.resume_from = self.tracker.resume_point()
        return self.resume_from

    def resume_point(self) -> tuple[str, int] | None:
        """The (epoch, seq) of the last frame applied, to resume from; None before any."""
        return self.tracker.resume_point()

    def caught_up(self) -> None:
        """The state is current without a snapshot: polling replayed or compared it."""
        self.awaiting_snapshot = False

    def replay_lost(self) -> None:
        """The server no longer holds what was missed: the next snapshot is a resync."""
        self.epoch_changed = True

    def new_run(self, epoch: str) -> None:
        """Polling found the server on another run (`epoch`): the next snapshot is a resync."""
        self.tracker.on_hello(epoch)
        self.epoch_changed = True

    def circuits_polled(self, circuits: dict[str, Circuit]) -> list[StoreEvent]:
        """The circuits of a polled answer: a change event for each that differs from ours."""
        changed: list[StoreEvent] = []
        for name, circuit in named_circuits(circuits).items():
            if self.circuits.get(name) != circuit:
                self.circuits[name] = circuit
                changed.append(CircuitChanged(self.backend, circuit))
        return changed

    def feed(self, data: bytes | str, at: float | None = None) -> Feed:
        """One frame off the wire; `at` is when it arrived (local wall clock), if known."""
        frame = decode_frame(data)
        if isinstance(frame, ProtocolError):
            return Feed((FrameRejected(self.backend, frame.kind, frame.reason),), rejected=frame)
        return self.feed_frame(frame, at)

    def data_age(self, local_now: float) -> float | None:
        """Age of the newest sample now, on the backend's clock; None before any sample."""
        if self.newest_ts is None:
            return None
        return self.clock.sample_age(self.newest_ts, local_now)

    def feed_frame(self, frame: AnyFrame, at: float | None = None) -> Feed:
        self._at = at
        feed = self._feed_frame(frame)
        if at is not None and not feed.resync_reason:
            stamped = _server_time(frame)
            if stamped is not None:
                self.clock.observe(stamped, at)
            note = self._skew_note(frame)
            if note is not None:
                feed = Feed(
                    (*feed.events, note),
                    feed.resync_reason,
                    feed.rejected,
                    feed.hello,
                    feed.duplicate,
                )
        return feed

    def _skew_note(self, frame: AnyFrame) -> EventOccurred | None:
        """Said once per run when the backend's clock is found to differ from ours."""
        offset = self.clock.offset
        if offset == self._said_offset or abs(offset - self._said_offset) < 1.0:
            return None
        self._said_offset = offset
        if offset == 0.0:
            return None
        words = "ahead of" if offset > 0 else "behind"
        by = age_text(abs(offset), precise=False)
        message = (
            f"{self.backend}'s clock is {by} {words} this computer's; "
            "data ages are judged on its own clock"
        )
        ts = _server_time(frame) or (self._at or 0.0) + offset
        return EventOccurred(self.backend, Event(ts=ts, kind="info", message=message))

    def _feed_frame(self, frame: AnyFrame) -> Feed:
        if isinstance(frame, HelloFrame):
            if not self.awaiting_snapshot:
                # A hello on a link that is already streaming. The same run saying hello
                # again changes nothing; a new run means the server restarted under this
                # link: start over on a fresh link (its hello and snapshot tell the restart).
                if frame.epoch == self.tracker.epoch:
                    return Feed()
                return Feed(resync_reason=f"a new hello (run {frame.epoch!r}) on an open link")
            self.fields = frame.metric_fields
            self.resume_requested = self.tracker.on_hello(frame.epoch)
            if not self.resume_requested and frame.epoch != self.data_epoch:
                self.clock.reset()  # a new run of the backend: its clock may be set anew
                self._said_offset = 0.0
            # A new epoch after we held data means the server restarted: whatever its next
            # snapshot says, frames were lost and the operator must be told.
            self.epoch_changed = self.resume_from is not None and not self.resume_requested
            return Feed(hello=frame)
        if isinstance(frame, HeartbeatFrame):
            if (
                not self.awaiting_snapshot
                and self.tracker.on_heartbeat(frame.seq) is SeqVerdict.GAP
            ):
                return Feed(
                    resync_reason=f"heartbeat names seq {frame.seq}, last applied "
                    f"{self.tracker.last_seq}"
                )
            return Feed()
        if isinstance(frame, SnapshotFrame):
            return self._snapshot(frame)
        if self.awaiting_snapshot:
            if (
                self.resume_requested
                and self.tracker.last_seq is not None
                and frame.seq == self.tracker.last_seq + 1
            ):
                # The server is replaying what we missed: the resume worked.
                self.awaiting_snapshot = False
            else:
                return Feed()
        verdict = self.tracker.on_frame(frame.seq)
        if verdict is SeqVerdict.DUPLICATE:
            self.duplicates += 1
            return Feed(duplicate=True)
        if verdict is SeqVerdict.GAP:
            last = self.tracker.last_seq
            expected = "a snapshot first" if last is None else str(last + 1)
            return Feed(resync_reason=f"sequence gap: expected {expected}, got {frame.seq}")
        return self._state_frame(frame)

    def _snapshot(self, frame: SnapshotFrame) -> Feed:
        resync = frame.resync or self.epoch_changed
        lost_since = self.newest_ts if resync else None
        self.tracker.on_snapshot(frame.seq)
        if frame.epoch:
            self.tracker.epoch = frame.epoch
        epoch = self.tracker.epoch
        restarted = (
            resync
            and self.data_epoch is not None
            and epoch is not None
            and epoch != self.data_epoch
        )
        self.data_epoch = epoch
        if self._at is not None:
            self.clock.observe(frame.ts, self._at)
        if restarted:
            self.newest_ts = None  # the new run's clock may differ: its data starts afresh
        # Before the gap is told: after a clock jump, the gap ends on the placed clock.
        placement = self._place_after_restart(restarted)
        self.awaiting_snapshot = False
        self.circuits = named_circuits(frame.circuits)
        events: list[StoreEvent] = []
        if resync:
            # Told before the new state is applied: after a restart, the timeline takes the new
            # run's state as a fresh baseline instead of comparing it with the old run's.
            events.append(
                EventOccurred(
                    self.backend, self._gap_event(frame.ts + self.shift, lost_since, restarted)
                )
            )
        events.append(
            SnapshotLoaded(
                self.backend,
                services=frame.services,
                circuits=tuple(self.circuits.values()),
                clusters=frame.clusters,
                alerts=frame.alerts,
                ts=frame.ts,
                resync=resync,
                gap_from_ts=lost_since,
                restarted=restarted,
            )
        )
        if placement is not None:
            events.append(placement)
        if frame.realtime is not None and frame.realtime.services:
            batch = realtime_batch(self.backend, frame.realtime)
            self._saw_ts(batch.ts)
            events.append(self._placed(batch))
        self.epoch_changed = False
        return Feed(tuple(events))

    def _place_after_restart(self, restarted: bool) -> EventOccurred | None:
        """Keep rows on the first run's clock when a restarted backend's clock jumped."""
        offset = self.clock.offset
        if self._base_offset is None:
            self._base_offset = offset
            return None
        if not restarted:
            return None
        jump = offset - self._base_offset
        shift = -jump if abs(jump) >= BEHIND_TOLERANCE_S else 0.0
        if shift == self.shift:
            return None
        self.shift = shift
        if shift == 0.0:
            return None
        words = "behind" if jump < 0 else "ahead of"
        message = (
            f"{self.backend} restarted with its clock {age_text(abs(jump), precise=False)} {words} "
            "its previous run; its new samples are placed on the previous run's clock"
        )
        ts = (self._at or 0.0) + offset
        return EventOccurred(self.backend, Event(ts=ts, kind="info", message=message))

    def _placed(self, batch: MetricsBatch) -> MetricsBatch:
        """The batch on the store's clock, with how old its newest row was on arrival."""
        age = 0.0
        if self._at is not None and batch.ts.size:
            age = self.clock.sample_age(float(batch.ts.max()), self._at)
        if self.shift == 0.0 and age == 0.0:
            return batch
        ts = batch.ts + self.shift if self.shift else batch.ts
        return MetricsBatch(
            batch.backend, batch.services, ts, batch.values, batch.fields, age_at_arrival=age
        )

    def _gap_event(self, ts: float, lost_since: float | None, restarted: bool) -> Event:
        """ "Backend sim restarted; no data from 12:24:10 to 12:25:15" (or "Resynchronised
        after lost frames; …" when the same run could not replay what was lost)."""
        if restarted:
            message = f"Backend {self.backend} restarted"
            link = LINK_RESTARTED
        else:
            message = "Resynchronised after lost frames"
            link = "resynchronised"
        if lost_since is not None:
            since, until = clock_text(lost_since, self.tz), clock_text(max(ts, lost_since), self.tz)
            message += (
                f"; no data from {since} to {until}" if since != until else f"; no data at {since}"
            )
        return Event(ts=ts, kind="info", message=message, data={"link": link})

    def _saw_ts(self, ts: np.ndarray) -> None:
        if ts.size:
            newest = float(ts.max())
            if self.newest_ts is None or newest > self.newest_ts:
                self.newest_ts = newest

    def _state_frame(self, frame: AnyFrame) -> Feed:
        b = self.backend
        if isinstance(frame, MetricsFrame):
            rows = decode_metric_rows(frame.rows, self.fields)
            if isinstance(rows, ProtocolError):
                # The seq was consumed: drop the rows but keep the sequence position.
                return Feed((FrameRejected(b, rows.kind, rows.reason),), rejected=rows)
            self._saw_ts(rows.ts)
            if self._at is not None and rows.ts.size:
                # A row is sent as soon as it is sampled: its time is a clock reading too.
                self.clock.observe(float(rows.ts.max()), self._at)
            batch = MetricsBatch(b, rows.services, rows.ts, rows.values, rows.fields)
            return Feed((self._placed(batch),))
        if isinstance(frame, CircuitFrame):
            circuit = circuit_from_frame(frame, self.circuits.get(frame.name))
            self.circuits[frame.name] = circuit
            return Feed((CircuitChanged(b, circuit),))
        if isinstance(frame, DbFrame):
            return Feed((ClusterChanged(b, frame.cluster),))
        if isinstance(frame, AlertFrame):
            return Feed((AlertChanged(b, frame.alert),))
        if isinstance(frame, EventFrame):
            event = Event(
                ts=frame.ts,
                kind=frame.kind,
                message=frame.message,
                service=frame.service,
                data=frame.data,
                seq=frame.seq,
            )
            deploy = deploy_of_event(frame)
            if isinstance(deploy, ProtocolError):
                # The line still reaches the timeline; only the deploy record is dropped.
                rejected = FrameRejected(b, deploy.kind, deploy.reason)
                return Feed((EventOccurred(b, event), rejected), rejected=deploy)
            if deploy is not None:
                return Feed((EventOccurred(b, event), DeploysSeen(b, (deploy,))))
            return Feed((EventOccurred(b, event),))
        if isinstance(frame, ActionResultFrame):
            return Feed(
                (ActionFinished(b, frame.action_id, frame.status, frame.message, frame.ts),)
            )
        return Feed()


def _server_time(frame: AnyFrame) -> float | None:
    """The backend's clock reading a frame carries, if any (metrics: see `_state_frame`)."""
    if isinstance(frame, HelloFrame):
        return frame.server_time
    if isinstance(frame, (HeartbeatFrame, SnapshotFrame)):
        return frame.ts
    return None

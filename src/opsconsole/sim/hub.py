"""Fan-out of stream frames to clients: bounded per-client queues, filters, atomic subscribe.

Subscribe is replay or snapshot, then live, with no gap and no duplicate.

The seq is global to the server's run: a client that subscribes to some topics (or services)
only sees gaps in it, by design. The console subscribes to everything, so for it a gap means
loss. `action_result` frames are sent to every subscriber whatever its topics: they answer
operator actions.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import msgspec

from opsconsole.core.protocol import (
    TOPICS,
    AlertFrame,
    AnyFrame,
    EventFrame,
    Frame,
    MetricsFrame,
    ProtocolError,
    SnapshotFrame,
    decode_frame,
    encode,
    frame_seq,
)
from opsconsole.sim.framelog import FrameLog

log = logging.getLogger(__name__)

TOPIC_OF_FRAME: dict[str, str] = {
    "metrics": "metrics",
    "circuit": "circuits",
    "db": "db",
    "alert": "alerts",
    "event": "events",
}
_rows_decoder = msgspec.json.Decoder(list[list[object]])


@dataclass(frozen=True)
class Subscription:
    topics: frozenset[str] = frozenset(TOPICS)
    services: frozenset[str] | None = None  # None: every service ("*")

    @property
    def everything(self) -> bool:
        return self.services is None and self.topics >= frozenset(TOPICS)

    def select(self, frame: AnyFrame) -> AnyFrame | None:
        """The frame as this subscriber should get it (rows filtered), or None to skip it."""
        topic = TOPIC_OF_FRAME.get(type(frame).__struct_config__.tag)  # type: ignore[arg-type]
        if topic is not None and topic not in self.topics:
            return None
        if self.services is None:
            return frame
        if isinstance(frame, MetricsFrame):
            rows = [r for r in _rows_decoder.decode(frame.rows) if r and r[0] in self.services]
            return msgspec.structs.replace(frame, rows=msgspec.Raw(encode(rows)))
        if isinstance(frame, AlertFrame) and frame.alert.service not in self.services:
            return None
        if isinstance(frame, EventFrame) and frame.service and frame.service not in self.services:
            return None
        return frame

    def trim_snapshot(self, snap: SnapshotFrame) -> SnapshotFrame:
        if self.services is None:
            return snap
        keep = self.services
        realtime = snap.realtime
        if realtime is not None:
            realtime = msgspec.structs.replace(
                realtime, services={k: v for k, v in realtime.services.items() if k in keep}
            )
        return msgspec.structs.replace(
            snap,
            services=tuple(s for s in snap.services if s.name in keep),
            realtime=realtime,
            alerts=tuple(a for a in snap.alerts if a.service in keep),
        )


class Subscriber:
    """One client's outbound queue: an unbounded initial backlog (replay or snapshot), then live
    frames bounded by `max_frames`/`max_bytes`. Overflow marks it failed; it never blocks."""

    def __init__(self, max_frames: int = 4_096, max_bytes: int = 32 << 20) -> None:
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self.subscription: Subscription | None = None
        self.closed_reason: str | None = None
        self.close_code = 1000
        self.on_close: Callable[[], None] | None = None  # e.g. arm a watchdog on a stuck peer
        self._backlog: collections.deque[tuple[int | None, bytes]] = collections.deque()
        self._live: collections.deque[tuple[int | None, bytes]] = collections.deque()
        self._live_bytes = 0
        self._wake = asyncio.Event()

    def start(
        self, subscription: Subscription, backlog: Iterable[tuple[int | None, bytes]]
    ) -> None:
        """(Re)start: replaces whatever was queued by the backlog of the new subscription."""
        self.subscription = subscription
        self._backlog = collections.deque(backlog)
        self._live.clear()
        self._live_bytes = 0
        self._wake.set()

    def offer(self, frame: AnyFrame, data: bytes) -> bool:
        """Queue a live frame if the subscription wants it; False when the client is too slow."""
        sub = self.subscription
        if sub is None or self.closed_reason is not None:
            return True
        if not sub.everything:
            selected = sub.select(frame)
            if selected is None:
                return True
            if selected is not frame:
                data = encode(selected)
        if len(self._live) >= self.max_frames or self._live_bytes + len(data) > self.max_bytes:
            self.close(
                f"client too slow: {len(self._live)} frames queued; reconnect with since_seq",
                1013,
            )
            return False
        self._live.append((frame_seq(frame), data))
        self._live_bytes += len(data)
        self._wake.set()
        return True

    def close(self, reason: str, code: int = 1000) -> None:
        """Stop sending; the first reason (and WebSocket close code) wins."""
        if self.closed_reason is None:
            self.closed_reason = reason
            self.close_code = code
            if self.on_close is not None:
                self.on_close()
        self._wake.set()

    @property
    def queued(self) -> int:
        return len(self._backlog) + len(self._live)

    def pop(self) -> tuple[int | None, bytes] | None:
        if self._backlog:
            return self._backlog.popleft()
        if self._live:
            item = self._live.popleft()
            self._live_bytes -= len(item[1])
            return item
        return None

    async def wait(self) -> None:
        """Until something is queued or the subscriber is closed (callers bound it in time)."""
        while not self.queued and self.closed_reason is None:
            self._wake.clear()
            await self._wake.wait()


class Hub:
    """Numbers frames through the FrameLog and hands them to every subscriber."""

    def __init__(self, framelog: FrameLog) -> None:
        self.log = framelog
        self.subscribers: set[Subscriber] = set()

    def publish(self, frames: Iterable[Frame]) -> None:
        for frame in frames:
            stamped, data = self.log.append(frame)
            for sub in list(self.subscribers):
                if not sub.offer(stamped, data):  # type: ignore[arg-type]
                    log.warning("stream client dropped: %s", sub.closed_reason)
                    self.subscribers.discard(sub)

    def remove(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    def subscribe(
        self,
        sub: Subscriber,
        subscription: Subscription,
        since_seq: int | None,
        epoch: str | None,
        make_snapshot: Callable[[int, bool], SnapshotFrame],
    ) -> str:
        """Replay what the client missed, or queue a snapshot, and register it for live frames,
        all without yielding to the loop, so nothing can slip in between. Returns "replay",
        "snapshot" or "resync"."""
        replay = None
        if since_seq is not None and epoch == self.log.epoch:
            replay = self.log.after(since_seq)
        if replay is not None:
            assert since_seq is not None
            # The ring holds consecutive seqs, so the i-th replayed frame is since_seq + 1 + i.
            picked = (
                self._select(subscription, since_seq + 1 + i, data) for i, data in enumerate(replay)
            )
            backlog = [item for item in picked if item is not None]
            mode = "replay"
        else:
            resync = since_seq is not None
            snap = subscription.trim_snapshot(make_snapshot(self.log.last_seq, resync))
            backlog = [(snap.seq, encode(snap))]
            mode = "resync" if resync else "snapshot"
        sub.start(subscription, backlog)
        self.subscribers.add(sub)
        return mode

    @staticmethod
    def _select(
        subscription: Subscription, seq: int, data: bytes
    ) -> tuple[int | None, bytes] | None:
        if subscription.everything:
            return seq, data
        frame = decode_frame(data)
        if isinstance(frame, ProtocolError):  # pragma: no cover - we encoded it ourselves
            return None
        selected = subscription.select(frame)
        if selected is None:
            return None
        return seq, (data if selected is frame else encode(selected))

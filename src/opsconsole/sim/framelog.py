"""Sequence numbering and the replay ring of state-bearing stream frames (pure, no I/O).

Every state-bearing frame (metrics, circuit, db, alert, event, action_result) takes the next
`seq` of the server's run (`epoch`), starting at 1; snapshots, hellos and heartbeats take none.
The ring keeps the newest frames, already encoded, so a reconnecting client can be replayed
exactly what it missed, and `GET /api/v1/events` can serve the same bytes.
"""

from __future__ import annotations

import collections
import itertools

import msgspec

from opsconsole.core.protocol import Frame, encode

# The replay ring's byte bound. A metrics frame of 200 services is about 29 kB, so 8 MiB holds
# about 5 minutes of them (an hour and more of the demo's 8 services): enough to resume after
# a reconnect, and the ring is full, its memory flat, within a soak's 5-minute warm-up. A
# longer outage gets a snapshot and the gap from `metrics/historical`. (64 MiB grew the
# backend by about 100 MB/h at 200 services for the first 40 minutes.)
REPLAY_BYTES = 8 << 20


class FrameLog:
    """Assigns seqs and keeps the newest `capacity` frames (and at most `max_bytes` of them)."""

    def __init__(self, epoch: str, capacity: int = 10_000, max_bytes: int = REPLAY_BYTES) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.epoch = epoch
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.last_seq = 0
        self._ring: collections.deque[bytes] = collections.deque()
        self._bytes = 0

    @property
    def first_seq(self) -> int:
        """Seq of the oldest frame still held (last_seq + 1 when the ring is empty)."""
        return self.last_seq - len(self._ring) + 1

    def append(self, frame: Frame) -> tuple[Frame, bytes]:
        """Give `frame` the next seq, encode it once, keep it; returns both forms."""
        self.last_seq += 1
        stamped = msgspec.structs.replace(frame, seq=self.last_seq)  # type: ignore[type-var]
        # A copy of exactly its length: msgspec's buffer keeps its growth slack (about 1.5x for
        # a 29 kB metrics frame), which made the 8 MiB ring hold about 12 MiB of memory.
        data = bytes(memoryview(encode(stamped)))
        self._ring.append(data)
        self._bytes += len(data)
        while len(self._ring) > self.capacity or (
            self._bytes > self.max_bytes and len(self._ring) > 1
        ):
            self._bytes -= len(self._ring.popleft())
        return stamped, data

    def holds_after(self, since_seq: int) -> bool:
        """True when every frame after `since_seq` is still in the ring (or none is missing)."""
        return self.first_seq - 1 <= since_seq <= self.last_seq

    def after(self, since_seq: int, max_bytes: int | None = None) -> list[bytes] | None:
        """Frames with seq > since_seq in order; None when some were already dropped or the
        seq is not of this run (ahead of last_seq). `max_bytes` truncates (at least one frame)."""
        if not self.holds_after(since_seq):
            return None
        start = since_seq - self.first_seq + 1
        frames = list(itertools.islice(self._ring, start, None))
        if max_bytes is None:
            return frames
        out: list[bytes] = []
        total = 0
        for data in frames:
            if out and total + len(data) > max_bytes:
                break
            out.append(data)
            total += len(data)
        return out

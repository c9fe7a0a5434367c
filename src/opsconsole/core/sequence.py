"""Sequence tracking for one stream: detects duplicates and gaps from `epoch` and `seq`."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class SeqVerdict(enum.Enum):
    APPLY = "apply"  # the next frame in order
    DUPLICATE = "duplicate"  # already seen: drop silently
    GAP = "gap"  # frames were lost: resynchronise before applying anything else


@dataclass
class SeqTracker:
    """Where a client stands in a server's frame sequence, carried across reconnects."""

    epoch: str | None = None
    last_seq: int | None = None

    def on_hello(self, epoch: str) -> bool:
        """Record the server's epoch; True when it is the epoch we can resume from."""
        same = self.epoch is not None and epoch == self.epoch and self.last_seq is not None
        if not same:
            self.epoch = epoch
            self.last_seq = None
        return same

    def resume_point(self) -> tuple[str, int] | None:
        if self.epoch is None or self.last_seq is None:
            return None
        return self.epoch, self.last_seq

    def on_snapshot(self, seq: int) -> None:
        self.last_seq = seq

    def on_frame(self, seq: int) -> SeqVerdict:
        """Judge a state-bearing frame; only APPLY advances the position."""
        if self.last_seq is None:
            # No snapshot yet: we cannot know what came before, so this is a gap.
            return SeqVerdict.GAP
        if seq <= self.last_seq:
            return SeqVerdict.DUPLICATE
        if seq != self.last_seq + 1:
            return SeqVerdict.GAP
        self.last_seq = seq
        return SeqVerdict.APPLY

    def on_heartbeat(self, seq: int) -> SeqVerdict:
        """A heartbeat names the server's last seq: beyond ours means frames were lost."""
        if self.last_seq is None or seq <= self.last_seq:
            return SeqVerdict.APPLY
        return SeqVerdict.GAP

    def forget(self) -> None:
        self.epoch = None
        self.last_seq = None

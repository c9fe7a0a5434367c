"""How far a backend's clock is from ours, judged from the times its frames carry."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

# A frame stamped `server_ts` that arrives at our `local_ts` says: offset ≥ server_ts − local_ts
# (it cannot have arrived before it was sent). The largest of the recent ones is the best
# estimate; network delay only ever makes a single reading smaller.
WINDOW = 64
# A reading below zero is either transit delay or a backend clock that is behind; the two
# cannot be told apart, so up to this much it is read as delay (clocks taken as agreeing: a
# backend whose frames arrive 5 s late shows data 5 s old). Beyond it the clocks really differ
# (minutes, a wrong time zone on a VM) and the backend's clock is followed.
BEHIND_TOLERANCE_S = 30.0
# A reading above zero cannot come from delay: the backend's clock is ahead of ours.
AHEAD_TOLERANCE_S = 2.0


@dataclass
class ServerClock:
    """The offset (backend clock − ours) used to judge the age of a backend's samples."""

    behind_tolerance_s: float = BEHIND_TOLERANCE_S
    ahead_tolerance_s: float = AHEAD_TOLERANCE_S
    _readings: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))

    def observe(self, server_ts: float, local_ts: float) -> None:
        self._readings.append(server_ts - local_ts)

    def reset(self) -> None:
        """A new run of the backend: its clock may have been set anew."""
        self._readings.clear()

    @property
    def measured(self) -> float | None:
        """The raw estimate (largest recent reading), or None before any frame."""
        return max(self._readings) if self._readings else None

    @property
    def offset(self) -> float:
        """The offset to apply: 0 while the clocks agree within the tolerance."""
        measured = self.measured
        if measured is None or -self.behind_tolerance_s < measured < self.ahead_tolerance_s:
            return 0.0
        return measured

    def sample_age(self, sample_ts: float, local_now: float) -> float:
        """Age of a sample stamped on the backend's clock, now."""
        return max(0.0, local_now + self.offset - sample_ts)

"""Reconnect delays: full-jitter exponential backoff that resets after a healthy spell."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


def full_jitter_delay(
    attempt: int, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Delay before retry number `attempt` (0-based): uniform in [0, min(cap, base * 2**attempt)].

    Full jitter (AWS architecture blog) spreads a fleet of consoles reconnecting to a
    restarted backend instead of having them knock in lock-step.
    """
    ceiling = min(cap, base * (2 ** min(attempt, 60)))
    return rand() * ceiling


@dataclass
class Backoff:
    """Stateful backoff for one link; time is passed in so the logic stays testable."""

    base: float = 0.25
    cap: float = 10.0
    healthy_after: float = 10.0  # a link that stayed up this long resets the attempt counter
    rand: Callable[[], float] = field(default=random.random, repr=False)
    attempt: int = 0
    _connected_at: float | None = None

    def next_delay(self) -> float:
        delay = full_jitter_delay(self.attempt, self.base, self.cap, self.rand)
        self.attempt += 1
        return delay

    def connected(self, now: float) -> None:
        self._connected_at = now

    def disconnected(self, now: float) -> None:
        if self._connected_at is not None and now - self._connected_at >= self.healthy_after:
            self.attempt = 0
        self._connected_at = None

    def reset(self) -> None:
        self.attempt = 0

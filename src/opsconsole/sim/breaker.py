"""Circuit breaker state machine of domain.md, pure logic with the time injected by the caller."""

from __future__ import annotations

import collections
from dataclasses import dataclass

from opsconsole.core.models import Circuit, CircuitStateName

# The breaker keeps the last 100 calls (domain.md) for its success rate.
KEPT_CALLS = 100


@dataclass(frozen=True)
class BreakerConfig:
    failure_threshold: int = 5
    timeout_s: float = 60.0
    # Window of the reported call count and success rate ("over the last 5 minutes").
    window_s: float = 300.0


@dataclass(frozen=True)
class Transition:
    """One state change, reported so the caller can emit a circuit frame and an event."""

    name: str
    prev_state: CircuitStateName
    state: CircuitStateName
    ts: float
    reason: str


class CircuitBreaker:
    """closed → open after `failure_threshold` consecutive failures; open → half_open once
    `timeout_s` has passed since opening and a call arrives; half_open lets one trial through:
    success closes, failure re-opens (and restarts the timeout). Operators can force it open
    (it then stays open, ignoring the timeout, until closed or reset), close it, or reset it."""

    def __init__(self, name: str, config: BreakerConfig, now: float) -> None:
        self.name = name
        self.config = config
        self.state: CircuitStateName = "closed"
        self.failure_count = 0
        self.opened_at: float | None = None
        self.last_transition_ts: float = now
        self._trial_in_flight = False
        # (ts, ok) of the calls actually made; rejected calls never reached the dependency.
        self._calls: collections.deque[tuple[float, bool]] = collections.deque(maxlen=KEPT_CALLS)
        # Buckets [index, calls, successes], 300 per window, so the 5-minute count stays exact
        # even when far more than 100 calls happen in the window.
        self._bucket_s = config.window_s / 300.0
        self._buckets: collections.deque[list[int]] = collections.deque()

    # ------------------------------------------------------------------ calls

    def allow(self, now: float) -> tuple[bool, Transition | None]:
        """May a call go to the dependency now? May move open → half_open."""
        if self.state == "closed":
            return True, None
        if self.state == "open":
            assert self.opened_at is not None
            if now - self.opened_at >= self.config.timeout_s:
                transition = self._move("half_open", now, "open timeout elapsed; trial call")
                self._trial_in_flight = True
                return True, transition
            return False, None
        if self.state == "half_open":
            # Exactly one trial at a time; the rest are rejected until its outcome is known.
            if self._trial_in_flight:
                return False, None
            self._trial_in_flight = True
            return True, None
        return False, None  # forced_open / disabled

    def record(self, ok: bool, now: float) -> Transition | None:
        """Record the outcome of an allowed call."""
        self._remember(ok, now)
        if self.state == "half_open":
            self._trial_in_flight = False
            if ok:
                self.failure_count = 0
                return self._move("closed", now, "trial call succeeded")
            self.opened_at = now
            return self._move("open", now, "trial call failed")
        if self.state != "closed":
            return None  # a late outcome after an operator change does not move the state
        if ok:
            self.failure_count = 0
            return None
        self.failure_count += 1
        if self.failure_count >= self.config.failure_threshold:
            self.opened_at = now
            return self._move(
                "open", now, f"{self.failure_count} consecutive failures reached the threshold"
            )
        return None

    # ------------------------------------------------------------------ operator

    def force_open(self, now: float) -> Transition | None:
        if self.state == "forced_open":
            return None
        self._trial_in_flight = False
        self.opened_at = now
        return self._move("forced_open", now, "forced open by operator")

    def close(self, now: float) -> Transition | None:
        if self.state == "closed":
            return None
        self._trial_in_flight = False
        self.failure_count = 0
        self.opened_at = None
        return self._move("closed", now, "closed by operator")

    def reset(self, now: float) -> Transition | None:
        """Back to closed with every count and the call history cleared."""
        self._calls.clear()
        self._buckets.clear()
        self.failure_count = 0
        self._trial_in_flight = False
        self.opened_at = None
        if self.state == "closed":
            return None
        return self._move("closed", now, "reset by operator")

    # ------------------------------------------------------------------ report

    def stats(self, now: float) -> tuple[float | None, int]:
        """(success rate, calls) over the report window; rate None when no call was made."""
        self._expire(now)
        calls = sum(b[1] for b in self._buckets)
        successes = sum(b[2] for b in self._buckets)
        return (successes / calls if calls else None), calls

    @property
    def recent_calls(self) -> tuple[tuple[float, bool], ...]:
        return tuple(self._calls)

    def snapshot(self, now: float) -> Circuit:
        rate, calls = self.stats(now)
        return Circuit(
            name=self.name,
            state=self.state,
            failure_count=self.failure_count,
            failure_threshold=self.config.failure_threshold,
            timeout_s=self.config.timeout_s,
            success_rate=rate,
            total_requests_5min=calls,
            last_transition_ts=self.last_transition_ts,
        )

    # ------------------------------------------------------------------ internals

    def _move(self, state: CircuitStateName, now: float, reason: str) -> Transition:
        prev = self.state
        self.state = state
        self.last_transition_ts = now
        return Transition(self.name, prev, state, now, reason)

    def _remember(self, ok: bool, now: float) -> None:
        self._calls.append((now, ok))
        index = int(now // self._bucket_s)
        if self._buckets and self._buckets[-1][0] == index:
            bucket = self._buckets[-1]
        else:
            bucket = [index, 0, 0]
            self._buckets.append(bucket)
        bucket[1] += 1
        bucket[2] += int(ok)
        self._expire(now)

    def _expire(self, now: float) -> None:
        horizon = now - self.config.window_s
        while self._buckets and (self._buckets[0][0] + 1) * self._bucket_s <= horizon:
            self._buckets.popleft()

"""The load-test referee: judges every criterion, stop condition and guard as time goes by.

A sans-I/O state machine: the caller (the app's watch loop, once a second) computes the signals
and reads the tool, then calls `observe(now, signals, tool, trips)`; the referee never reads a
clock, a store or a socket.

`now` is seconds on one clock that only moves forward (the app passes the backend's server
time, the clock the signal windows are computed on, so transitions line up with the timeline).
`signals` maps each `over` window of the spec (in seconds, `spec.windows`) to the signals
computed over it (`window.server_signals`); a window missing from the mapping, a None or a
NaN value are all "no data" for the criteria that need it.

Semantics, as an SRE reads them:
- A run of violation is measured between observations: the time between two observations
  that both saw the criterion violated is added to its run (`held`). So a condition first seen
  violated at t and still violated at t + 120 has held for 120 s, and a breach that clears at
  1m59s has held for 119 s and does not count against "for 2m". It is a sliding window that
  holds for its time, never an average over the run.
- A pass clears the run (held back to 0).
- "No data" (the window is empty, the backend stale, a NaN) neither holds nor clears: the run
  is kept as it was but does not grow through the blind spell, because nothing shows that the
  breach went on. A stop therefore never comes from a blind spell alone, and one missed sample
  in a real 1m50s breach does not throw the 1m50s away. A blind spell longer than the
  criterion's `over` window clears the run: once the window has moved past all the data seen
  before, there is nothing left that links the breach after the spell to the one before it.
- Success criteria read "warming up" (not judged, nothing accumulated) for `spec.warmup_s`
  after the first observation. Stop conditions are judged from the first observation on:
  they exist to protect the system under test, and a meltdown during the ramp is still one.
- A success criterion "breaching" longer than its `for` has "failed"; the failure is kept for
  the verdict (`failed_at`) even when the live state later reads "pass" again.
- A stop condition that has held for its `for` makes `stop_due` (state "failed" for it).
- Guard trips (an SLO page tier firing, a breaker open, a database member's lag over its
  limit) stop at once when their guard is on: each is already judged by its own rules
  (burn tiers over their windows, a breaker's failure threshold, a cluster's lag limit), and
  adding a second wait on top would only keep a failing test running longer.
- `stop_due` keeps the first reason that fired until the operator dismisses it
  (`dismiss_stop`): the countdown runs from it and the app stops the tool once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from opsconsole.core.loadtest.guards import GuardTrip
from opsconsole.core.loadtest.judgement import CriterionState, State, StopReason, Transition
from opsconsole.core.loadtest.result import LoadTestResult, build_result
from opsconsole.core.loadtest.spec import Criterion, LoadTestSpec, Signal
from opsconsole.core.loadtest.toolstats import ToolStats
from opsconsole.core.loadtest.warnings import disagreement_warnings

Signals = Mapping[float, Mapping[Signal, float | None]]

__all__ = ["CriterionState", "Referee", "Signals", "State", "StopReason", "Transition"]

# A client/server disagreement is a warning only once it has lasted this long: Locust's own
# figures are a ~10 s rolling window, the server's a minute, and a ramp makes them differ.
DISAGREEMENT_HOLD_S = 10.0


class _Track:
    """The mutable judgement of one criterion (only the referee touches it)."""

    def __init__(self, criterion: Criterion, start: float) -> None:
        self.criterion = criterion
        self.state: State = "no data"
        self.value: float | None = None
        self.since = start
        self.held = 0.0
        self.violation = 0.0
        self.worst: float | None = None
        self.failed_at: float | None = None
        self.last_ts: float | None = None  # the previous observation
        self.last_violated = False  # whether the previous observation saw a violation
        self.last_data_ts: float | None = None  # the last observation that had a value

    def judge(self, now: float, value: float | None, warming: bool) -> State:
        c = self.criterion
        dt = 0.0 if self.last_ts is None else max(0.0, now - self.last_ts)
        self.last_ts = now
        self.value = value
        if warming:
            self.last_violated = False
            self.held = 0.0
            return "warming up"
        if value is None:
            if self.last_data_ts is not None and now - self.last_data_ts > c.over_s:
                self.held = 0.0  # the window has moved past everything seen before the spell
            self.last_violated = False
            return "no data"
        blind = self.last_data_ts is not None and now - self.last_data_ts > c.over_s
        self.last_data_ts = now
        if self.worst is None or (value > self.worst if c.above_is_bad else value < self.worst):
            self.worst = value
        if not c.violated(value):
            self.held = 0.0
            self.last_violated = False
            return "pass"
        if blind:
            self.held = 0.0
        elif self.last_violated:
            self.held += dt
            self.violation += dt
        self.last_violated = True
        if self.held >= c.for_s:
            if self.failed_at is None:
                self.failed_at = now
            return "failed"
        return "breaching"

    def snapshot(self) -> CriterionState:
        c = self.criterion
        left = max(0.0, c.for_s - self.held) if self.state == "breaching" else None
        return CriterionState(
            criterion=c,
            state=self.state,
            value=self.value,
            since=self.since,
            left_s=left,
            violation_s=self.violation,
            worst=self.worst,
            held_s=self.held,
            failed_at=self.failed_at,
        )


def _clean(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class Referee:
    """Judges one load test from its spec; feed it with `observe`, end it with `finish`."""

    def __init__(self, spec: LoadTestSpec, started: float | None = None) -> None:
        self.spec = spec
        self.started = started
        self._tracks = [_Track(c, started or 0.0) for c in spec.criteria]
        self.transitions: list[Transition] = []
        self.stop_due: StopReason | None = None
        self.trips: dict[str, GuardTrip] = {}  # every guard trip seen, by key (for the report)
        self._active_trips: set[str] = set()
        self._disagreeing: dict[str, float] = {}  # warning kind → since
        self.warnings: tuple[str, ...] = ()
        self.warnings_seen: list[str] = []  # every warning shown at least once, in order
        self.tool: ToolStats | None = None
        self.last_now: float | None = None
        self.criteria: tuple[CriterionState, ...] = tuple(t.snapshot() for t in self._tracks)

    # ------------------------------------------------------------------ feeding

    def observe(
        self,
        now: float,
        signals: Signals,
        tool: ToolStats | None = None,
        trips: tuple[GuardTrip, ...] = (),
    ) -> None:
        """One look at the system under test and the tool at `now`."""
        if self.started is None:
            self.started = now
            for t in self._tracks:
                t.since = now
        if self.last_now is not None and now < self.last_now:
            now = self.last_now  # a clock that stepped back must not shorten a run
        self.last_now = now
        self.tool = tool
        warming = now - self.started < self.spec.warmup_s
        for t in self._tracks:
            c = t.criterion
            value = _clean(signals.get(c.over_s, {}).get(c.signal))
            new = t.judge(now, value, warming and c.kind == "success")
            if new != t.state:
                self.transitions.append(Transition(now, c.key, t.state, new, value))
                t.state, t.since = new, now
            if c.kind == "stop" and new == "failed" and self.stop_due is None:
                self._due(StopReason(c.key, c.held_words, now), value)
        self._observe_trips(now, trips)
        self._observe_warnings(now, signals, tool, warming)
        self.criteria = tuple(t.snapshot() for t in self._tracks)

    def _due(self, reason: StopReason, value: float | None) -> None:
        self.stop_due = reason
        self.transitions.append(Transition(reason.since, "stop", "running", "stop due", value))

    def _observe_trips(self, now: float, trips: tuple[GuardTrip, ...]) -> None:
        enabled = {
            "budget_page": self.spec.guards.budget_page,
            "breaker_open": self.spec.guards.breaker_open,
            "db_lag": self.spec.guards.db_lag,
        }
        active: set[str] = set()
        for trip in trips:
            if not enabled.get(trip.kind, False):
                continue
            key = f"guard:{trip.kind}:{trip.subject}"
            active.add(key)
            if key not in self._active_trips:
                self.transitions.append(Transition(now, key, "ok", "tripped", None))
                self.trips.setdefault(key, trip)
            if self.stop_due is None:
                self._due(StopReason(key, trip.words, now), None)
        for key in self._active_trips - active:
            self.transitions.append(Transition(now, key, "tripped", "ok", None))
        self._active_trips = active

    def _observe_warnings(
        self, now: float, signals: Signals, tool: ToolStats | None, warming: bool
    ) -> None:
        shortest = min(self.spec.windows, default=None)
        server = signals.get(shortest, {}) if shortest is not None else {}
        current = {} if warming else disagreement_warnings(tool, server, len(self.spec.services))
        for kind in list(self._disagreeing):
            if kind not in current:
                del self._disagreeing[kind]
        shown: list[str] = []
        for kind, words in current.items():
            since = self._disagreeing.setdefault(kind, now)
            if now - since >= DISAGREEMENT_HOLD_S:
                shown.append(words)
                if words not in self.warnings_seen:
                    self.warnings_seen.append(words)
        self.warnings = tuple(shown)

    def dismiss_stop(self, now: float) -> None:
        """The operator keeps the test running: the due stop is dropped, and its condition
        must hold for its whole time again before it stops the test (a guard that is still
        tripped makes it due again at the next observation)."""
        if self.stop_due is None:
            return
        key = self.stop_due.key
        self.transitions.append(Transition(now, "stop", "stop due", "kept running", None))
        for t in self._tracks:
            if t.criterion.key == key:
                t.held = 0.0  # the run starts again now, not at the previous observation
                t.last_ts = now if t.last_ts is None else max(t.last_ts, now)
                t.failed_at = None
        self._active_trips.discard(key)
        self.stop_due = None

    # ------------------------------------------------------------------ ending

    def finish(
        self,
        now: float,
        stopped_by: StopReason | None,
        *,
        stop_outcome: str | None = None,
        budget_consumed: Mapping[str, float | None] | None = None,
    ) -> LoadTestResult:
        """The verdict: "stopped" (exit 3) when `stopped_by` stopped the test, else "failed"
        (exit 1) when a success criterion failed, else "passed" (exit 0)."""
        unjudged = [
            f"{s.criterion.label}: no data during the whole test, so it was not judged"
            for s in self.criteria
            if s.criterion.kind == "success" and s.worst is None
        ]
        return build_result(
            self.spec,
            started=self.started if self.started is not None else now,
            ended=now,
            criteria=self.criteria,
            stopped_by=stopped_by,
            stop_outcome=stop_outcome,
            transitions=self.transitions,
            trips=tuple(self.trips.values()),
            budget_consumed=dict(budget_consumed or {}),
            warnings=(*self.warnings_seen, *unjudged),
        )

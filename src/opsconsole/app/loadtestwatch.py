"""The load-test watch: reads the tool and the store each second, judges, counts down, stops once.

One engine for the window's Load test panel, its wall page and `opsconsole loadtest watch`.
The judging is the pure referee's (`core.loadtest.referee`); this loop only gathers what it
reads (the tool's statistics, the server's signals from the store, the guards) and acts on
what it decides:

- The test starts when the tool first reports running, and ends when the tool reports stopped
  after that (or stops answering for `LOST_AFTER_S`: then the end is said to be unseen).
- When a stop reason is due, a countdown runs (`spec.countdown_s`); the operator may hold it
  (and release it, the countdown then goes on from where it was). At zero the tool is stopped
  through its API: the stop is written to the audit log first (no record, no request), sent
  exactly once whatever happens to the request, and its outcome is watched: the tool must
  report stopped and the servers' traffic must fall. A stop whose request failed is "unknown"
  until the tool's own status settles it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from psygnal import Signal

from opsconsole.backends.errors import BackendError
from opsconsole.backends.loadtools import LoadToolClient
from opsconsole.core.audit import AuditLog
from opsconsole.core.durations import age_text
from opsconsole.core.loadtest.budget import budget_consumed, budget_left
from opsconsole.core.loadtest.guards import guard_trips
from opsconsole.core.loadtest.judgement import StopReason, Transition
from opsconsole.core.loadtest.referee import Referee
from opsconsole.core.loadtest.result import LoadTestResult
from opsconsole.core.loadtest.spec import LoadTestSpec
from opsconsole.core.loadtest.toolstats import ToolStats
from opsconsole.core.loadtest.view import Phase, WatchView
from opsconsole.core.loadtest.window import server_signals_by_window
from opsconsole.core.models import ConnectionState
from opsconsole.core.store import Store

log = logging.getLogger(__name__)

COMMAND_ID = "loadtest.stop"
SERVER_WINDOW_S = 60.0  # the "server" figures shown beside the tool's
#: The traffic a stop is judged by: recent enough that a fall shows within seconds.
TRAFFIC_WINDOW_S = 5.0
#: Newer than this or the servers' signals read "no data": a stale link is not a calm system.
FRESH_S = 5.0
#: After the test ran, a tool silent this long has ended the watch (its end unseen).
LOST_AFTER_S = 30.0
#: How long the stop's outcome is watched: the tool stopped and the traffic fell.
OUTCOME_TIMEOUT_S = 30.0
#: The traffic has "fallen" once it is down by this share of what it was when the stop was
#: sent. The tool's own rate is no measure of it: it counts every endpoint it loads, also
#: those of services not under test (Locust's product views go to inventory).
TRAFFIC_FALL_SHARE = 0.10
TOOL_NAMES = {"locust": "Locust", "k6": "k6"}


@dataclass
class _Stop:
    """The one stop of a watch: why, when it was sent, and what has been seen of it since."""

    reason: StopReason
    by: str  # "countdown" | "operator"
    sent_mono: float
    rps_before: float | None  # the servers' traffic when it was sent
    sent: bool = False  # the request went out (after its audit record was written)
    request_error: str | None = None
    tool_stopped: bool = False
    traffic_fell: bool = False
    outcome: str | None = None  # once settled: "succeeded" | "failed" | "unknown"
    words: str = ""


class LoadTestWatch:
    """Watches one load test from its first running reading to its end; see the module."""

    changed = Signal(object)  # WatchView, after every look
    finished = Signal(object)  # LoadTestResult, once

    def __init__(
        self,
        spec: LoadTestSpec,
        store: Store,
        tool: LoadToolClient,
        audit: AuditLog | None,
        *,
        clock: Callable[[], float] = time.time,
        mono: Callable[[], float] = time.monotonic,
        period_s: float = 1.0,
        on_transition: Callable[[Transition], None] | None = None,
        records: Path | None = None,
        lost_after_s: float = LOST_AFTER_S,
        outcome_timeout_s: float = OUTCOME_TIMEOUT_S,
    ) -> None:
        self.spec, self.store, self.tool, self.audit = spec, store, tool, audit
        self.clock, self.mono, self.period_s = clock, mono, period_s
        self.on_transition = on_transition
        self.records = records  # where the finished run is kept (None: not kept)
        self.lost_after_s, self.outcome_timeout_s = lost_after_s, outcome_timeout_s
        self.record_path: Path | None = None
        self.referee = Referee(spec)
        self.result: LoadTestResult | None = None
        self.tool_name = TOOL_NAMES.get(spec.tool, spec.tool)
        self._stats: ToolStats | None = None
        self._tool_error: str | None = None
        self._tool_seen_mono: float | None = None
        self._started_wall: float | None = None
        self._budget_before: dict[str, float | None] = {}
        self._deadline: float | None = None  # monotonic end of the countdown
        self._held_left: float | None = None  # the countdown's time kept while held
        self._stop: _Stop | None = None
        self._stop_task: asyncio.Task[None] | None = None
        self._stop_words: str | None = None
        self._server: dict[str, float | None] = {}
        self._recent_rps: float | None = None
        self._test_end: float | None = None  # server time the load ended (stop sent or seen)
        self._transitions_told = 0
        self._wake = asyncio.Event()
        self.view = self._view("waiting")

    # ------------------------------------------------------------------ operator

    @property
    def counting(self) -> bool:
        return self._deadline is not None

    @property
    def held(self) -> bool:
        return self._held_left is not None

    def hold(self) -> str:
        """Keep the test running for now: the countdown stops where it is. Audited."""
        if self._deadline is None:
            raise ValueError("no stop countdown is running to hold")
        self._held_left = max(0.0, self._deadline - self.mono())
        self._deadline = None
        self._record("hold", reason=self._reason_words(), left_s=round(self._held_left, 1))
        self._wake.set()
        return f"stop of {self.spec.name} held with {age_text(self._held_left)} left; H releases"

    def release(self) -> str:
        """Let a held countdown go on from where it was."""
        if self._held_left is None:
            raise ValueError("no stop is held")
        left, self._held_left = self._held_left, None
        self._deadline = self.mono() + left
        self._record("release", reason=self._reason_words(), left_s=round(left, 1))
        self._wake.set()
        return f"stop of {self.spec.name} released: {self.tool_name} stops in {age_text(left)}"

    def stop_now(self) -> str:
        """The operator stops the test (confirmed by the caller): the same one stop."""
        if self._started_wall is None:
            raise ValueError(f"{self.spec.name} has not started; there is nothing to stop")
        if self._stop is not None and self._stop.sent:
            raise ValueError(f"the stop of {self.spec.name} was already sent; {self._stop.words}")
        self._stop = None  # one that could not be audited was never sent: the operator may ask
        now = self._server_now()
        reason = self.referee.stop_due or StopReason("operator", "stopped by the operator", now)
        self._deadline = self._held_left = None
        self._send_stop(reason, "operator")
        self._publish(self._phase())
        return f"stopping {self.spec.name}: asking {self.tool_name} to stop"

    # ------------------------------------------------------------------ the loop

    async def run(self) -> LoadTestResult:
        """Watch until the test ends; the result is also emitted by `finished`."""
        try:
            while self.result is None:
                try:
                    await self._look()
                except Exception:  # a defect must not end the watch silently, nor freeze it
                    log.exception("load test %s: this look failed", self.spec.name)
                    self._tool_error = "the watch hit an error (details in the log)"
                    self._publish(self._phase())
                if self.result is not None:
                    break
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._sleep_s())
        finally:
            with contextlib.suppress(Exception):
                await self.tool.aclose()
        return self.result

    def _sleep_s(self) -> float:
        if self._deadline is not None:
            return max(0.0, min(self.period_s, self._deadline - self.mono()))
        return self.period_s

    async def _look(self) -> None:
        await self._read_tool()
        now_mono = self.mono()
        stats = self._stats
        if self._started_wall is None:
            if stats is None or not stats.running:
                self._publish("waiting")
                return
            self._started_wall = self.clock()
            backend = self._backend()
            if backend is not None:
                self._budget_before = budget_left(self.store, backend, self.spec.services)
        sent = self._stop is not None and self._stop.sent
        over = sent or (stats is not None and stats.stopped)
        if over and self._test_end is None:
            self._test_end = self._server_now()  # the load is gone: judging ends here
        self._judge(observe=not over)
        if self._stop is None:
            self._count_down(now_mono)
        else:
            self._watch_stop(now_mono)
        if self._ended(now_mono):
            self._finish()
            return
        self._publish(self._phase())

    async def _read_tool(self) -> None:
        try:
            self._stats = await self.tool.status()
        except BackendError as exc:
            self._tool_error = str(exc)
            if self._stats is not None and not self._stats.stopped:
                self._stats = None  # no fresh reading: nothing to show as the tool's now
            return
        self._tool_error = None
        self._tool_seen_mono = self.mono()

    def _backend(self) -> str | None:
        if self.spec.backend is not None:
            return self.spec.backend
        for name, state in self.store.backends.items():
            if any(s in state.series for s in self.spec.services):
                return name
        return None

    def _server_now(self) -> float:
        backend = self._backend()
        wall = self.clock()
        return wall if backend is None else self.store.server_now(backend, wall)

    def _judge(self, *, observe: bool) -> None:
        """Read the servers' signals; while the test runs, the referee judges them."""
        backend = self._backend()
        now = self._server_now()
        windows = (*self.spec.windows, SERVER_WINDOW_S, TRAFFIC_WINDOW_S)
        state = self.store.backends.get(backend) if backend is not None else None
        if state is None or state.link.state is not ConnectionState.LIVE:
            # Blind: every window is "no data", whatever the store still holds.
            signals: dict[float, dict] = {w: {} for w in windows}
            trips: tuple = ()
        else:
            signals = server_signals_by_window(
                self.store, backend, self.spec.services, now, windows, fresh_s=FRESH_S
            )
            trips = guard_trips(self.store, backend, self.spec.services, self.spec.guards)
        self._server = dict(signals.get(SERVER_WINDOW_S, {}))
        self._recent_rps = signals.get(TRAFFIC_WINDOW_S, {}).get("rps")
        if not observe:
            return
        self.referee.observe(now, signals, self._stats, trips)
        new = self.referee.transitions[self._transitions_told :]
        self._transitions_told = len(self.referee.transitions)
        for t in new:
            log.info("load test %s: %s %s → %s", self.spec.name, t.key, t.old, t.new)
            if self.on_transition is not None:
                self.on_transition(t)

    def _count_down(self, now_mono: float) -> None:
        due = self.referee.stop_due
        if due is None:
            self._deadline = self._held_left = None
            return
        if self._deadline is None and self._held_left is None:
            self._deadline = now_mono + self.spec.countdown_s
            log.warning(
                "load test %s: %s; stopping %s in %s unless held",
                self.spec.name,
                due.words,
                self.tool_name,
                age_text(self.spec.countdown_s),
            )
        if self._deadline is not None and now_mono >= self._deadline:
            self._deadline = None
            self._send_stop(due, "countdown")

    # ------------------------------------------------------------------ the stop

    def _send_stop(self, reason: StopReason, by: str) -> None:
        """Begin the one stop now (so no moment reads "running" in between): the audit
        record first, then the request on its own task."""
        if self._stop is not None:
            return  # at most once per test, whoever asks
        self._stop = stop = _Stop(reason, by, self.mono(), self._recent_rps)
        stop.words = f"asking {self.tool_name} to stop"
        try:
            self._record("intent", reason=reason.words, by=by)
        except OSError as exc:
            stop.outcome = "failed"
            stop.words = f"not sent: the audit log cannot be written ({exc.strerror or exc})"
            log.error("load test %s: stop %s", self.spec.name, stop.words)
            return
        stop.sent = True
        # Kept: the loop holds tasks only weakly.
        self._stop_task = asyncio.get_running_loop().create_task(self._request_stop(stop))

    async def _request_stop(self, stop: _Stop) -> None:
        try:
            await self.tool.stop()
        except BackendError as exc:
            stop.request_error = str(exc)
            stop.words = f"the stop request failed ({exc}); watching whether {self.tool_name} stops"
            log.warning("load test %s: %s", self.spec.name, stop.words)
        except Exception as exc:  # a defect must not pass for a sent stop, nor end silently
            stop.request_error = f"{type(exc).__name__}: {exc}"
            stop.words = f"the stop request failed ({exc}); watching whether {self.tool_name} stops"
            log.exception("load test %s: the stop request failed", self.spec.name)
        else:
            stop.words = f"stop sent; waiting for {self.tool_name} to report stopped"
        self._wake.set()

    def _watch_stop(self, now_mono: float) -> None:
        stop = self._stop
        if stop is None or stop.outcome is not None:
            return
        stats = self._stats
        if stats is not None and stats.stopped:
            stop.tool_stopped = True
        rps = self._recent_rps
        if rps is not None and stop.rps_before is not None:
            stop.traffic_fell = rps <= stop.rps_before * (1.0 - TRAFFIC_FALL_SHARE)
        elif stop.rps_before is None:
            stop.traffic_fell = True  # nothing was measured before: nothing to compare
        traffic = self._traffic_words(stop, rps)
        if stop.tool_stopped and stop.traffic_fell:
            self._settle(stop, "succeeded", f"{self.tool_name} reports stopped; {traffic}")
        elif now_mono - stop.sent_mono >= self.outcome_timeout_s:
            if stop.tool_stopped:
                words = f"{self.tool_name} reports stopped, but {traffic} (another load source?)"
                self._settle(stop, "failed", words)
            elif stats is None:
                words = f"{self.tool_name} does not answer; whether it stopped is unknown"
                self._settle(stop, "unknown", words)
            else:
                self._settle(stop, "failed", f"{self.tool_name} still reports {stats.state!r}")
        elif stop.tool_stopped:
            stop.words = f"{self.tool_name} reports stopped; waiting for the traffic to fall"

    def _traffic_words(self, stop: _Stop, rps: float | None) -> str:
        services = ", ".join(self.spec.services)
        if stop.rps_before is None or rps is None:
            return f"the traffic of {services} could not be read"
        verb = "fell" if stop.traffic_fell else "did not fall"
        return f"traffic of {services} {verb}: {stop.rps_before:,.0f} → {rps:,.0f} rps"

    def _settle(self, stop: _Stop, outcome: str, words: str) -> None:
        stop.outcome, stop.words = outcome, words
        try:
            self._record("result", outcome=outcome, message=words)
        except OSError as exc:
            stop.words = f"{words} (not in the audit log: {exc.strerror or exc})"
        log.warning("load test %s: stop %s: %s", self.spec.name, outcome, words)

    def _record(self, phase: str, **extra: object) -> None:
        """One audit record of this test's stop (intent, result) or of a hold; raises OSError."""
        if self.audit is None:
            return
        self.audit.append(
            {
                "phase": phase,
                "backend": "loadtest",
                "command": COMMAND_ID,
                "target": self.spec.name,
                "args": {"tool": self.spec.tool, "url": self.spec.url},
                "idempotency_key": f"loadtest-stop:{self.spec.name}:{self._started_wall}",
                **extra,
            }
        )

    # ------------------------------------------------------------------ the end

    def _ended(self, now_mono: float) -> bool:
        stats = self._stats
        stop = self._stop
        if stop is not None and stop.outcome is None:
            return False  # the stop's outcome is still being watched
        if stats is not None and stats.stopped:
            return True
        lost = self._tool_seen_mono is None or now_mono - self._tool_seen_mono >= self.lost_after_s
        return stats is None and lost

    def _finish(self) -> None:
        now = self._test_end if self._test_end is not None else self._server_now()
        stop = self._stop
        backend = self._backend()
        consumed: dict[str, float | None] = {}
        if backend is not None and self._budget_before:
            after = budget_left(self.store, backend, self.spec.services)
            consumed = budget_consumed(self._budget_before, after)
        stopped_by = stop.reason if stop is not None and stop.by == "countdown" else None
        outcome = stop.words if stop is not None else None
        if self._stats is None:
            outcome = f"{outcome or ''}; {self.tool_name} stopped answering".lstrip("; ")
        self.result = self.referee.finish(
            now, stopped_by, stop_outcome=outcome, budget_consumed=consumed
        )
        if self.records is not None:
            from opsconsole.app.loadtestrecords import run_of, save_run

            try:
                self.record_path = save_run(run_of(self.result, self.store, backend), self.records)
            except OSError as exc:
                log.error("load test %s: the run cannot be kept: %s", self.spec.name, exc)
        self._publish("finished")
        self.finished.emit(self.result)

    # ------------------------------------------------------------------ the view

    def _reason_words(self) -> str:
        due = self.referee.stop_due
        return due.words if due is not None else ""

    def _phase(self) -> Phase:
        if self._stop is not None and self._stop.sent:
            return "stopping"
        if self._held_left is not None:
            return "held"
        if self._deadline is not None:
            return "counting down"
        return "running" if self._started_wall is not None else "waiting"

    def _phase_words(self, phase: Phase) -> str:
        tool, stats = self.tool_name, self._stats
        if phase == "waiting":
            if self._tool_error:
                return f"waiting for {tool}: {self._tool_error}"
            state = f"it reports {stats.state!r}" if stats is not None else "no answer yet"
            return f"waiting for {tool} at {self.spec.url} to start a test ({state})"
        elapsed = age_text(max(0.0, self.clock() - (self._started_wall or self.clock())))
        if phase == "finished" and self.result is not None:
            return f"{self.spec.name} {self.result.verdict} after {elapsed}"
        if self._tool_error:
            return f"{tool} does not answer ({self._tool_error}) · {elapsed}"
        users = f" · {stats.users} users" if stats is not None and stats.users is not None else ""
        state = stats.state if stats is not None else "?"
        return f"{tool} {state}{users} · {elapsed}"

    def _countdown_left(self) -> float | None:
        if self._deadline is not None:
            return max(0.0, self._deadline - self.mono())
        return self._held_left

    def _view(self, phase: Phase) -> WatchView:
        result = self.result
        stop = self._stop
        return WatchView(
            name=self.spec.name,
            tool=self.spec.tool,
            tool_url=self.spec.url,
            phase=phase,
            phase_words=self._phase_words(phase),
            now=self.clock(),
            judged_now=self.referee.last_now or self._server_now(),
            started=self._started_wall,
            criteria=self.referee.criteria,
            tool_stats=self._stats,
            tool_error=self._tool_error,
            server=dict(self._server),
            warnings=self.referee.warnings,
            stop_reason=stop.reason if stop is not None else self.referee.stop_due,
            countdown_left_s=self._countdown_left(),
            stop_words=stop.words if stop is not None else None,
            verdict=result.verdict if result is not None else None,
            exit_code=result.exit_code if result is not None else None,
        )

    def _publish(self, phase: Phase) -> None:
        self.view = self._view(phase)
        self.changed.emit(self.view)


def finite_or_none(value: float | None) -> float | None:
    """A figure fit to show: NaN and infinities are "no data"."""
    return value if value is not None and math.isfinite(value) else None

"""The action pipeline: preconditions, confirmation, audit, one send per intent, live outcome."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from opsconsole.backends.alertmanager import SilenceRefused
from opsconsole.backends.errors import ApiError, BackendError
from opsconsole.core.actions import (
    ACTIONS,
    Blocked,
    Intent,
    Outcome,
    build_intent,
    check_preconditions,
    expected_outcome,
    stakes_of,
)
from opsconsole.core.audit import AuditLog
from opsconsole.core.commands import Command, CommandRegistry
from opsconsole.core.models import ConnectionState
from opsconsole.core.outcome import (
    DEFAULT_STALE_AFTER_S,
    SETTLE_LIMIT_S,
    Sight,
    Verdict,
    at_timeout,
    blind_for,
    given_up,
    not_settled,
    settled,
)
from opsconsole.core.store import Store

log = logging.getLogger(__name__)

# Asks the operator; True means confirmed. The UI answers without a blocking exec().
Confirm = Callable[[Intent], Awaitable[bool]]
Report = Callable[[Intent, "ActionResult"], None]
OUTCOME_TIMEOUT_S = 30.0
# How often a watch looks at its backend between state changes: the data age grows silently.
WATCH_TICK_S = 0.25


@runtime_checkable
class Performer(Protocol):
    """What the pipeline needs of a backend adapter: the actions it carries out, and one
    request per intent (raising ApiError, BackendError or SilenceRefused as it fails)."""

    performs: frozenset[str]

    async def perform(self, intent: Intent) -> None: ...


@dataclass(frozen=True)
class ActionResult:
    """How an intent ended: `status` is blocked, cancelled, refused, succeeded, failed,
    no_change or unknown (the console was blind while it watched; a settled result follows).

    `message` is plain words for the operator; `rules` names the preconditions that blocked
    it (for the audit log), so the words need not repeat the status or the rule id.
    """

    status: str
    message: str
    intent: Intent
    rules: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


class ActionRunner:
    """Runs operator intents through the pipeline; a repeated intent joins the first one."""

    def __init__(
        self,
        store: Store,
        clients: Mapping[str, object],
        audit: AuditLog,
        confirm: Confirm,
        report: Report | None = None,
        outcome_timeout_s: float = OUTCOME_TIMEOUT_S,
        read_only: bool = False,
        settle_limit_s: float = SETTLE_LIMIT_S,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.clients = clients
        self.audit = audit
        self.confirm = confirm
        self.report = report
        self.outcome_timeout_s = outcome_timeout_s
        self.read_only = read_only  # wall mode: nothing that changes anything runs
        self.settle_limit_s = settle_limit_s
        self.wall_clock = wall_clock  # outcome words say local clock times
        self._in_flight: dict[tuple[Any, ...], asyncio.Task[ActionResult]] = {}
        self._intents: dict[tuple[Any, ...], Intent] = {}  # what each in-flight task runs
        # Intents whose outcome was "unknown", still watched until the link is back.
        self._settling: dict[str, _Settling] = {}

    @property
    def in_flight(self) -> tuple[Intent, ...]:
        """The intents still running: being confirmed, sent, watched for their outcome, or
        waiting to settle an outcome the console could not see."""
        running = [self._intents[k] for k, t in self._in_flight.items() if not t.done()]
        settling = [s.intent for s in self._settling.values() if not s.task.done()]
        return tuple(running + settling)

    def settling(self, intent: Intent) -> asyncio.Task[ActionResult] | None:
        """The task settling this intent's "unknown" outcome (None when there is none)."""
        entry = self._settling.get(intent.key)
        return None if entry is None else entry.task

    def close(self) -> None:
        """Stop settling: each outcome still unknown gets its last word in the audit log."""
        for entry in list(self._settling.values()):
            self._stop_settling(entry)
            entry.task.cancel()

    def _stop_settling(self, entry: _Settling) -> None:
        """The last word of a settling stopped early: "not settled", unless already written."""
        if entry.done:
            return
        entry.done = True
        verdict = not_settled(self.wall_clock())
        try:
            self._write_result(
                entry.intent, "settled", verdict, entry.watcher.sight, settles=entry.seq
            )
        except OSError as exc:
            log.error("audit log %s cannot be written: %s", self.audit.path, exc)

    def submit(self, intent: Intent) -> asyncio.Task[ActionResult]:
        """Start an intent, or return the task already running the same one (double Enter)."""
        running = self._in_flight.get(intent.identity)
        if running is not None and not running.done():
            return running
        task = asyncio.get_running_loop().create_task(self._run(intent))
        self._in_flight[intent.identity] = task
        self._intents[intent.identity] = intent
        task.add_done_callback(lambda t, k=intent.identity: self._forget(k, t))
        return task

    def _forget(self, key: tuple[Any, ...], task: asyncio.Task[ActionResult]) -> None:
        if self._in_flight.get(key) is task:
            del self._in_flight[key]
            self._intents.pop(key, None)

    async def _run(self, intent: Intent) -> ActionResult:
        if self.read_only:
            return self._refuse(intent, Blocked("read-only-display", READ_ONLY_WORDS))
        blocked = check_preconditions(intent, self.store)
        if blocked is not None:
            return self._refuse(intent, blocked)
        # What the operator is asked to accept is read from the live state now.
        stakes = stakes_of(intent, self.store.backends.get(intent.backend))
        intent = dataclasses.replace(intent, stakes=stakes)
        if not await self.confirm(intent):
            return self._finish(ActionResult("cancelled", "cancelled, nothing sent", intent))
        # The state may have moved while the operator read the dialog: check again.
        if self.read_only:
            return self._refuse(intent, Blocked("read-only-display", READ_ONLY_WORDS))
        blocked = check_preconditions(intent, self.store)
        if blocked is not None:
            return self._refuse(intent, blocked)
        client = self.clients.get(intent.backend)
        if client is None:
            return self._refuse(
                intent, Blocked("backend-can", f"no connection to {intent.backend} to send it on")
            )
        try:
            self.audit.append(self._record(intent, "intent"))
        except OSError as exc:
            # The record comes before the request, or the request does not go at all.
            log.error("audit log %s cannot be written: %s", self.audit.path, exc)
            return self._finish(
                ActionResult(
                    "blocked",
                    f"not sent: the audit log cannot be written ({_os_words(exc)})",
                    intent,
                    ("audit-written",),
                )
            )
        check = expected_outcome(intent)
        watcher = _OutcomeWatcher(
            self.store, intent.backend, check, self.wall_clock, _stale_after_s(client)
        )
        handed_over = False  # to the settling task, which then closes the watcher
        try:
            try:
                await _perform(client, intent)
            except SilenceRefused as exc:
                return self._finish(ActionResult("refused", str(exc), intent), audit=True)
            except ApiError as exc:
                if exc.status < 500:
                    return self._finish(ActionResult("refused", str(exc), intent), audit=True)
                # A 5xx mid-switchover is not a failure until the live state says so.
                log.warning("%s: %s; watching the live state", intent.describe(), exc)
            except BackendError as exc:
                log.warning("%s: %s; watching the live state", intent.describe(), exc)
            outcome: Outcome | None = None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.outcome_timeout_s):
                    outcome = await watcher.wait()
            if outcome is None:
                outcome = watcher.look()  # the last look, at the deadline
            if outcome is not None:
                result = ActionResult(
                    "succeeded" if outcome.succeeded else "failed", outcome.message, intent
                )
                return self._finish(result, audit=True)
            verdict = at_timeout(watcher.sight, intent.backend, self.outcome_timeout_s)
            if verdict.status != "unknown":
                return self._finish(ActionResult(verdict.status, verdict.message, intent), True)
            written = self._write_result(intent, "result", verdict, watcher.sight)
            result = self._finish(ActionResult(verdict.status, verdict.message, intent))
            self._start_settling(intent, watcher, written)
            handed_over = True
            return result
        finally:
            if not handed_over:
                watcher.close()

    def _write_result(
        self, intent: Intent, phase: str, verdict: Verdict, sight: Sight, **extra: Any
    ) -> dict[str, Any]:
        """An audit record of an outcome the console could not (fully) see: with its spans."""
        blind = [{"from": span.start, "to": span.end} for span in sight.spans]
        return self.audit.append(
            self._record(
                intent,
                phase,
                outcome=verdict.status,
                message=verdict.message,
                blind=blind,
                **extra,
            )
        )

    def _start_settling(
        self, intent: Intent, watcher: _OutcomeWatcher, unknown: dict[str, Any]
    ) -> None:
        seq = unknown.get("seq")
        entry = _Settling(intent, watcher, seq if isinstance(seq, int) else None)
        entry.task = asyncio.get_running_loop().create_task(self._settle(entry))
        self._settling[intent.key] = entry

        def forget(task: asyncio.Task[ActionResult]) -> None:
            if self._settling.get(intent.key) is entry:
                del self._settling[intent.key]

        entry.task.add_done_callback(forget)

    async def _settle(self, entry: _Settling) -> ActionResult:
        """Watch on until the console sees the backend again, then say what the state shows.

        The audit log is append-only: the settled result is a new record naming the intent
        (its idempotency key) and the "unknown" record it settles (its seq).
        """
        intent, watcher = entry.intent, entry.watcher
        try:
            verdict: Verdict | None = None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settle_limit_s):
                    outcome = await watcher.settle()
                    verdict = settled(watcher.sight, outcome, self.wall_clock())
            if verdict is None:
                verdict = given_up(watcher.sight, intent.backend, self.settle_limit_s)
            entry.done = True
            result = ActionResult(verdict.status, verdict.message, intent)
            try:
                self._write_result(intent, "settled", verdict, watcher.sight, settles=entry.seq)
            except OSError as exc:
                # Nobody awaits this task: the operator hears of it or of nothing at all.
                log.error("audit log %s cannot be written: %s", self.audit.path, exc)
                result = dataclasses.replace(
                    result,
                    message=f"{verdict.message} (not in the audit log: {_os_words(exc)})",
                )
            return self._finish(result)
        except asyncio.CancelledError:
            self._stop_settling(entry)
            raise
        finally:
            watcher.close()

    def _record(self, intent: Intent, phase: str, **extra: Any) -> dict[str, Any]:
        record: dict[str, Any] = {
            "phase": phase,
            "backend": intent.backend,
            "command": intent.command_id,
            "target": intent.target,
            "args": intent.args,
            "idempotency_key": intent.key,
        }
        if intent.stakes is not None:
            # What the operator saw and accepted: the post-mortem's "how much could be lost".
            record["at_stake"] = {
                "member": intent.stakes.member,
                "lag_bytes": intent.stakes.lag_bytes,
            }
        return {**record, **extra}

    def _refuse(self, intent: Intent, blocked: Blocked) -> ActionResult:
        """A blocked attempt: recorded as a refused intent, then told to the operator."""
        result = ActionResult("blocked", blocked.message, intent, (blocked.rule,))
        record = self._record(
            intent, "refused", outcome="refused", rules=[blocked.rule], message=blocked.message
        )
        try:
            self.audit.append(record)
        except OSError as exc:
            log.error("audit log %s cannot be written: %s", self.audit.path, exc)
            result = dataclasses.replace(
                result, message=f"{blocked.message} (not in the audit log: {_os_words(exc)})"
            )
        return self._finish(result)

    def _finish(self, result: ActionResult, audit: bool = False) -> ActionResult:
        if audit:
            self.audit.append(
                self._record(result.intent, "result", outcome=result.status, message=result.message)
            )
        log.info("action %s: %s — %s", result.intent.describe(), result.status, result.message)
        if self.report is not None:
            self.report(result.intent, result)
        return result


READ_ONLY_WORDS = "this is a read-only display: actions are off"


def _os_words(exc: OSError) -> str:
    return exc.strerror or str(exc)


async def _perform(client: object, intent: Intent) -> None:
    """One request for the intent, by the adapter of the backend that holds its target."""
    if not isinstance(client, Performer) or intent.command_id not in client.performs:
        raise BackendError(f"{intent.backend} cannot carry out {intent.command_id}")
    await client.perform(intent)


def _stale_after_s(client: object) -> float:
    """How old a backend's newest data may be before the console is blind to it: the
    adapter's own judgement (a streamed link 3 s, a polled Alertmanager a few polls)."""
    stale_after_s = getattr(client, "stale_after_s", None)
    if isinstance(stale_after_s, int | float):
        return float(stale_after_s)
    return DEFAULT_STALE_AFTER_S


class _OutcomeWatcher:
    """Waits until the live state satisfies the action's expected outcome, noting every
    stretch in which the console could not see the backend (its `sight`)."""

    def __init__(
        self,
        store: Store,
        backend: str,
        check: Callable[..., Outcome | None],
        wall_clock: Callable[[], float],
        stale_after_s: float,
    ) -> None:
        self._store, self._backend, self._check = store, backend, check
        self._clock, self._stale_after_s = wall_clock, stale_after_s
        self.sight = Sight(wall_clock())
        self._changed = asyncio.Event()
        self._signals = (
            store.cluster_changed,
            store.circuit_changed,
            store.alert_changed,
            store.silence_changed,
            store.snapshot_loaded,
            store.connection_changed,
        )
        for signal in self._signals:
            signal.connect(self._poke)

    def _poke(self, backend: str, *_: object) -> None:
        if backend == self._backend:
            self.look_at_link()  # the blind span starts now, not at the next tick
            self._changed.set()

    def look_at_link(self) -> None:
        state = self._store.backend(self._backend)
        blind_s = blind_for(
            state.link.state is ConnectionState.LIVE,
            self._store.data_age(self._backend),
            self._stale_after_s,
        )
        self.sight = self.sight.observe(self._clock(), blind_s)

    def look(self) -> Outcome | None:
        """Note whether the backend is seen now; the outcome if the state shows it."""
        self.look_at_link()
        return self._check(self._store.backend(self._backend))

    async def _next_change(self) -> None:
        self._changed.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(WATCH_TICK_S):
                await self._changed.wait()

    async def wait(self) -> Outcome:
        """Return once the state shows the outcome; the caller bounds the wait."""
        while True:
            outcome = self.look()
            if outcome is not None:
                return outcome
            await self._next_change()

    async def settle(self) -> Outcome | None:
        """The outcome once the state shows it, or None once the console sees the backend
        again (link LIVE, fresh data) and the state does not; the caller bounds the wait."""
        while True:
            outcome = self.look()
            if outcome is not None or not self.sight.blind_now:
                return outcome
            await self._next_change()

    def close(self) -> None:
        for signal in self._signals:
            signal.disconnect(self._poke)


@dataclass
class _Settling:
    """One "unknown" outcome still being watched; `seq` is its audit record's."""

    intent: Intent
    watcher: _OutcomeWatcher
    seq: int | None
    task: asyncio.Task[ActionResult] = dataclasses.field(init=False)
    done: bool = False  # its last record is written


def register_action_commands(registry: CommandRegistry, runner: ActionRunner) -> None:
    """The action commands, runnable by id from menus, panels, the command line and tests."""

    def make(command_id: str) -> Callable[..., asyncio.Task[ActionResult]]:
        def handler(backend: str, intent_key: str | None = None, **kw: Any) -> Any:
            intent = intent_for(command_id, backend, intent_key, **kw)
            return runner.submit(intent)

        return handler

    for action in ACTIONS.values():
        if action.command_id not in registry:
            registry.register(
                Command(
                    action.command_id,
                    action.title,
                    make(action.command_id),
                    tier=action.tier,
                    mutating=action.mutating,
                    description=action.consequence,
                )
            )


def intent_for(command_id: str, backend: str, key: str | None = None, **kw: Any) -> Intent:
    """Build the intent a command's arguments describe (the target is what gets typed)."""
    return build_intent(command_id, backend, key, **kw)

"""The one command runner: every entry point runs commands through it, one error policy."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from opsconsole.core.commands import CommandError, CommandRefused, CommandRegistry

log = logging.getLogger(__name__)


class _Future(Protocol):
    """What an asyncio task offers the runner, named without importing asyncio in core."""

    def add_done_callback(self, fn: Callable[[Any], object], /) -> None: ...
    def cancelled(self) -> bool: ...
    def exception(self) -> BaseException | None: ...


@dataclass(frozen=True)
class Problem:
    """Why a command did not run or did not finish: `kind` is refused, error or failed;
    `words` are for the operator (never a traceback); `source` names the entry point."""

    command_id: str
    kind: str
    words: str
    source: str


@dataclass(frozen=True)
class Attempt:
    """What `CommandRunner.attempt` saw: the command's result, or the problem that stopped it
    (already reported)."""

    result: Any
    problem: Problem | None

    @property
    def ran(self) -> bool:
        return self.problem is None


Report = Callable[[Problem], None]
# Starts a coroutine on the console's loop and returns its task (asyncio.ensure_future).
Schedule = Callable[[Any], _Future]


def _is_coroutine(value: object) -> bool:
    return hasattr(value, "send") and hasattr(value, "throw") and hasattr(value, "close")


class CommandRunner:
    """Runs a command by id for any entry point (command line, palette, keys, menus, panel
    buttons): a refusal, an error or a crash in the command, now or in its task later, is
    told through `report` in plain words and logged; nothing escapes to the caller's event
    handler and nothing is silent."""

    def __init__(
        self,
        registry: CommandRegistry,
        report: Report | None = None,
        schedule: Schedule | None = None,
    ) -> None:
        self.registry = registry
        self._reports: list[Report] = [] if report is None else [report]
        self._schedule = schedule
        self._running: set[Any] = set()  # the loop keeps only weak references to tasks
        self.last_problem: Problem | None = None

    def on_problem(self, report: Report) -> None:
        """Also tell `report` of every problem from now on."""
        self._reports.append(report)

    def run(self, command_id: str, /, *args: Any, source: str = "", **kwargs: Any) -> Any:
        """The command's result (its task for an async command), or None when it did not
        run; the reason was reported."""
        return self.attempt(command_id, *args, source=source, **kwargs).result

    def attempt(self, command_id: str, /, *args: Any, source: str = "", **kwargs: Any) -> Attempt:
        """Run the command; say whether it started, for an entry point that reacts to a
        refusal (the command line reopens its line), the reason already reported."""
        try:
            result = self.registry.run(command_id, *args, **kwargs)
        except CommandRefused as exc:
            return self._stopped(Problem(command_id, "refused", str(exc), source))
        except CommandError as exc:
            return self._stopped(Problem(command_id, "error", str(exc), source))
        except Exception as exc:  # a defect in a handler must not escape into Qt
            log.exception("command %s from %s failed", command_id, source or "code")
            words = _failure_words(command_id, exc)
            return self._stopped(Problem(command_id, "failed", words, source))
        if _is_coroutine(result) and self._schedule is not None:
            result = self._schedule(result)
        if hasattr(result, "add_done_callback") and hasattr(result, "exception"):
            self._watch(command_id, result, source)
        return Attempt(result, None)

    def _stopped(self, problem: Problem) -> Attempt:
        self._tell(problem)
        return Attempt(None, problem)

    def _watch(self, command_id: str, task: _Future, source: str) -> None:
        self._running.add(task)

        def finished(done: _Future) -> None:
            self._running.discard(done)
            if done.cancelled():
                return
            exc = done.exception()
            if exc is None:
                return
            if isinstance(exc, CommandError):
                kind = "refused" if isinstance(exc, CommandRefused) else "error"
                self._tell(Problem(command_id, kind, str(exc), source))
                return
            log.error("command %s from %s failed", command_id, source or "code", exc_info=exc)
            self._tell(Problem(command_id, "failed", _failure_words(command_id, exc), source))

        task.add_done_callback(finished)

    def _tell(self, problem: Problem) -> None:
        self.last_problem = problem
        if problem.kind != "failed":
            log.info("command %s from %s: %s", problem.command_id, problem.source, problem.words)
        for report in self._reports:
            try:
                report(problem)
            except Exception:  # a broken reporter must not hide the others
                log.exception("reporting a problem of %s failed", problem.command_id)


def _failure_words(command_id: str, exc: BaseException) -> str:
    detail = str(exc) or type(exc).__name__
    return f"{command_id} failed: {detail} (details in the log)"

"""The one command runner: refusals, errors and crashes, now or later, reported in words."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from opsconsole.core.commands import Command, CommandError, CommandRefused, CommandRegistry
from opsconsole.core.runner import CommandRunner, Problem


def _registry(**handlers: Any) -> CommandRegistry:
    registry = CommandRegistry()
    for cid, handler in handlers.items():
        registry.register(
            Command(cid.replace("_", "."), cid, handler, mutating=cid.startswith("x"))
        )
    return registry


def _runner(registry: CommandRegistry) -> tuple[CommandRunner, list[Problem]]:
    told: list[Problem] = []
    return CommandRunner(registry, told.append, schedule=asyncio.ensure_future), told


def test_a_command_that_runs_returns_its_result_and_reports_nothing() -> None:
    runner, told = _runner(_registry(view_refresh=lambda n: n * 2))
    attempt = runner.attempt("view.refresh", 21, source="keys")
    assert attempt.ran and attempt.result == 42
    assert runner.run("view.refresh", 1) == 2
    assert told == [] and runner.last_problem is None


def test_an_unknown_command_is_an_error_in_words() -> None:
    runner, told = _runner(_registry())
    attempt = runner.attempt("no.such", source="menu")
    assert not attempt.ran and attempt.result is None
    assert told == [Problem("no.such", "error", "unknown command 'no.such'", "menu")]


def test_a_policy_refuses_mutating_commands_including_ones_registered_later() -> None:
    registry = _registry(x_open=lambda: "opened", view_refresh=lambda: "refreshed")
    runner, told = _runner(registry)
    remove = registry.add_policy(lambda c: "read-only wall" if c.mutating else None)
    registry.register(Command("x.later", "later", lambda: "ran", mutating=True))
    assert runner.run("x.open", source="palette") is None
    assert runner.run("x.later", source="palette") is None
    assert runner.run("view.refresh") == "refreshed"
    assert [(p.command_id, p.kind, p.words) for p in told] == [
        ("x.open", "refused", "read-only wall"),
        ("x.later", "refused", "read-only wall"),
    ]
    with pytest.raises(CommandRefused):
        registry.run("x.open")  # the registry itself refuses: no entry point can bypass it
    remove()
    assert runner.run("x.open") == "opened"
    remove()  # removing twice is harmless


def test_a_crashing_handler_is_logged_and_said_never_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> None:
        raise KeyError("member")

    runner, told = _runner(_registry(db_failover=broken))
    with caplog.at_level(logging.ERROR, logger="opsconsole.core.runner"):
        attempt = runner.attempt("db.failover", source="command line")
    assert not attempt.ran
    assert told[0].kind == "failed"
    assert told[0].words == "db.failover failed: 'member' (details in the log)"
    assert "Traceback" not in told[0].words
    assert any(r.exc_info for r in caplog.records)  # the traceback goes to the log only


async def _reported(told: list[Problem], count: int, heard: asyncio.Event) -> None:
    """Wait (bounded) until `count` problems were told: done callbacks run after the task."""
    async with asyncio.timeout(5):
        while len(told) < count:
            heard.clear()
            await heard.wait()


def _runner_heard(registry: CommandRegistry) -> tuple[CommandRunner, list[Problem], asyncio.Event]:
    told: list[Problem] = []
    heard = asyncio.Event()

    def tell(problem: Problem) -> None:
        told.append(problem)
        heard.set()

    return CommandRunner(registry, tell, schedule=asyncio.ensure_future), told, heard


async def test_an_async_command_is_scheduled_and_its_later_failure_reported() -> None:
    go = asyncio.Event()

    async def refused_later() -> None:
        await go.wait()  # fails after the runner has returned its task
        raise CommandError("orders-db is STALE")

    async def crashes_later() -> None:
        raise RuntimeError("boom")

    async def fine() -> str:
        return "done"

    registry = _registry(a_refused=refused_later, a_crash=crashes_later, a_fine=fine)
    runner, told, heard = _runner_heard(registry)
    tasks = [runner.run(cid, source="panel") for cid in ("a.refused", "a.crash", "a.fine")]
    assert all(isinstance(t, asyncio.Future) for t in tasks)
    assert told == []  # nothing has failed yet
    go.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    await _reported(told, 2, heard)
    kinds = {p.command_id: (p.kind, p.words) for p in told}
    assert len(told) == 2  # tasks finish in any order; the one that succeeded is no problem
    assert kinds["a.refused"] == ("error", "orders-db is STALE")
    assert kinds["a.crash"] == ("failed", "a.crash failed: boom (details in the log)")
    assert tasks[2].result() == "done"


async def test_a_cancelled_task_is_not_a_problem() -> None:
    started = asyncio.Event()
    never = asyncio.Event()  # the operator's command waits on something that does not come

    async def waits() -> None:
        started.set()
        await never.wait()

    async def crashes() -> None:
        raise RuntimeError("boom")

    runner, told, heard = _runner_heard(_registry(a_wait=waits, a_crash=crashes))
    task = runner.run("a.wait")
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # A crash afterwards is told; its callback runs after the cancelled task's, so by then
    # the cancellation would have been told too, had it been.
    runner.run("a.crash")
    await _reported(told, 1, heard)
    assert [p.command_id for p in told] == ["a.crash"]


def test_a_broken_reporter_does_not_hide_the_others(caplog: pytest.LogCaptureFixture) -> None:
    registry = _registry()
    heard: list[str] = []

    def broken(_: Problem) -> None:
        raise RuntimeError("status bar gone")

    runner = CommandRunner(registry, broken)
    runner.on_problem(lambda p: heard.append(p.words))
    with caplog.at_level(logging.ERROR, logger="opsconsole.core.runner"):
        runner.run("nope")
    assert heard == ["unknown command 'nope'"]

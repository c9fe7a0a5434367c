"""The command registry: register once, run by id, refuse unknown or disabled commands."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from opsconsole.core.commands import Command, CommandError, CommandRegistry, DangerTier


@pytest.fixture
def registry() -> CommandRegistry:
    return CommandRegistry()


def test_register_and_get(registry: CommandRegistry) -> None:
    cmd = Command("view.refresh", "Refresh", handler=lambda: "done", keys=("F5",))
    assert registry.register(cmd) is cmd
    assert "view.refresh" in registry
    assert registry.get("view.refresh") is cmd
    assert len(registry) == 1


def test_duplicate_id_is_refused(registry: CommandRegistry) -> None:
    registry.register(Command("view.refresh", "Refresh", handler=lambda: None))
    with pytest.raises(ValueError, match=r"view\.refresh"):
        registry.register(Command("view.refresh", "Something else", handler=lambda: None))
    assert registry.get("view.refresh").title == "Refresh"
    assert len(registry) == 1


def test_run_by_id_passes_arguments_and_returns_the_result(registry: CommandRegistry) -> None:
    calls: list[tuple[Any, ...]] = []

    def open_circuit(name: str, *, reason: str = "") -> str:
        calls.append((name, reason))
        return f"opened {name}"

    registry.register(
        Command("circuit.force_open", "Force circuit open", open_circuit, tier=DangerTier.CONFIRM)
    )
    result = registry.run("circuit.force_open", "payments", reason="incident 42")
    assert result == "opened payments"
    assert calls == [("payments", "incident 42")]


def test_unknown_id_is_a_command_error_in_plain_words(registry: CommandRegistry) -> None:
    with pytest.raises(CommandError) as info:
        registry.run("db.failover")
    message = str(info.value)
    assert "db.failover" in message
    assert "unknown command" in message
    assert "Traceback" not in message and "KeyError" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_get_unknown_id_is_a_command_error(registry: CommandRegistry) -> None:
    with pytest.raises(CommandError):
        registry.get("nope")


def test_disabled_command_is_refused_without_running(registry: CommandRegistry) -> None:
    calls: list[str] = []
    registry.register(
        Command(
            "db.switchover",
            "Switch over orders-db",
            handler=lambda: calls.append("ran"),
            enabled=lambda: False,
        )
    )
    with pytest.raises(CommandError, match="Switch over orders-db is not available now"):
        registry.run("db.switchover")
    assert calls == []


def test_enabled_is_checked_at_run_time(registry: CommandRegistry) -> None:
    allowed = {"value": False}
    registry.register(
        Command(
            "alert.ack", "Acknowledge", handler=lambda: "acked", enabled=lambda: allowed["value"]
        )
    )
    assert not registry.get("alert.ack").is_enabled()
    with pytest.raises(CommandError):
        registry.run("alert.ack")
    allowed["value"] = True
    assert registry.run("alert.ack") == "acked"


def test_command_without_enabled_predicate_is_enabled() -> None:
    assert Command("x", "X", handler=lambda: None).is_enabled()


def test_decorator_registers_and_returns_the_function(registry: CommandRegistry) -> None:
    @registry.command(
        "db.failover",
        "Fail over",
        keys=("Ctrl+Shift+F",),
        tier=DangerTier.DANGEROUS,
        mutating=True,
        description="Promote a replica; may lose data",
    )
    def failover(cluster: str) -> str:
        return f"failover {cluster}"

    cmd = registry.get("db.failover")
    assert cmd.handler is failover
    assert (cmd.tier, cmd.mutating, cmd.keys) == (DangerTier.DANGEROUS, True, ("Ctrl+Shift+F",))
    assert cmd.description.startswith("Promote")
    assert failover("orders-db") == "failover orders-db"
    assert registry.run("db.failover", "orders-db") == "failover orders-db"


def test_decorator_refuses_a_duplicate_id(registry: CommandRegistry) -> None:
    registry.command("a", "A")(lambda: None)
    with pytest.raises(ValueError):
        registry.command("a", "Another A")(lambda: None)


def test_iteration_is_sorted_by_id(registry: CommandRegistry) -> None:
    for cid in ("view.zoom", "alert.ack", "db.failover"):
        registry.register(Command(cid, cid, handler=lambda: None))
    assert [c.id for c in registry] == ["alert.ack", "db.failover", "view.zoom"]


def test_bindings_map_every_default_key_to_its_command(registry: CommandRegistry) -> None:
    registry.register(Command("palette.open", "Palette", lambda: None, keys=("Ctrl+K", "Ctrl+P")))
    registry.register(Command("view.refresh", "Refresh", lambda: None, keys=("F5",)))
    registry.register(Command("app.about", "About", lambda: None))
    assert registry.bindings() == {
        "Ctrl+K": "palette.open",
        "Ctrl+P": "palette.open",
        "F5": "view.refresh",
    }


def test_empty_registry_has_no_bindings(registry: CommandRegistry) -> None:
    assert registry.bindings() == {}
    assert list(registry) == []


def test_danger_tiers_are_ordered() -> None:
    assert DangerTier.SAFE < DangerTier.CONFIRM < DangerTier.DANGEROUS


async def test_async_handler_result_is_awaitable(registry: CommandRegistry) -> None:
    async def reload(target: str) -> str:
        return f"reloaded {target}"

    registry.register(Command("config.reload", "Reload", reload))
    pending = registry.run("config.reload", "sim")
    assert inspect.isawaitable(pending)
    assert await pending == "reloaded sim"


def test_handler_errors_propagate_unchanged(registry: CommandRegistry) -> None:
    def broken() -> None:
        raise RuntimeError("backend said no")

    registry.register(Command("x.broken", "Broken", broken))
    with pytest.raises(RuntimeError, match="backend said no"):
        registry.run("x.broken")

"""The command registry: every operator operation is a named command, runnable by id."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


class DangerTier(enum.IntEnum):
    """How much confirmation a command needs before it runs."""

    SAFE = 0  # runs at once
    CONFIRM = 1  # Enter in a dialog that names the target
    DANGEROUS = 2  # type the target's name


class CommandError(Exception):
    """A command could not run; the message is for the operator, in plain words."""


class CommandRefused(CommandError):
    """A policy of the registry (e.g. a read-only wall) refuses the command."""


@dataclass(frozen=True)
class Command:
    id: str
    title: str
    handler: Callable[..., Any] = field(repr=False)
    keys: tuple[str, ...] = ()
    tier: DangerTier = DangerTier.SAFE
    mutating: bool = False  # changes something outside the console (wall mode refuses these)
    enabled: Callable[[], bool] | None = field(default=None, repr=False)
    description: str = ""

    def is_enabled(self) -> bool:
        return self.enabled is None or bool(self.enabled())


# A policy looks at a command about to run: plain words to refuse it, None to let it run.
Policy = Callable[[Command], "str | None"]


class CommandRegistry:
    """One registry per console; menus, keys, palette, command line and tests all use it."""

    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}
        self._policies: list[Policy] = []

    def register(self, command: Command) -> Command:
        if command.id in self._commands:
            raise ValueError(f"command {command.id!r} is already registered")
        taken = self.bindings()
        for key in command.keys:
            if key in taken:
                raise ValueError(
                    f"key {key!r} of {command.id!r} is already bound to {taken[key]!r}"
                )
        self._commands[command.id] = command
        return command

    def command(
        self,
        id: str,
        title: str,
        *,
        keys: tuple[str, ...] = (),
        tier: DangerTier = DangerTier.SAFE,
        mutating: bool = False,
        description: str = "",
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator form of `register`."""

        def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.register(Command(id, title, fn, keys, tier, mutating, None, description))
            return fn

        return wrap

    def add_policy(self, policy: Policy) -> Callable[[], None]:
        """Consult `policy` before every command runs, from now on (also for commands
        registered later); returns the function that removes it again."""
        self._policies.append(policy)

        def remove() -> None:
            if policy in self._policies:
                self._policies.remove(policy)

        return remove

    def refusal(self, command: Command) -> str | None:
        """Why a policy refuses this command now (its words), or None when none does."""
        for policy in self._policies:
            words = policy(command)
            if words is not None:
                return words
        return None

    def __contains__(self, id: str) -> bool:
        return id in self._commands

    def __iter__(self) -> Iterator[Command]:
        return iter(sorted(self._commands.values(), key=lambda c: c.id))

    def __len__(self) -> int:
        return len(self._commands)

    def get(self, id: str) -> Command:
        try:
            return self._commands[id]
        except KeyError:
            raise CommandError(f"unknown command {id!r}") from None

    def run(self, id: str, /, *args: Any, **kwargs: Any) -> Any:
        """Run a command by id; returns the handler's result (awaitable for async handlers).

        Raises CommandRefused when a policy refuses it and CommandError when it cannot run;
        entry points go through `CommandRunner`, which turns both into words.
        """
        command = self.get(id)
        words = self.refusal(command)
        if words is not None:
            raise CommandRefused(words)
        if not command.is_enabled():
            raise CommandError(f"{command.title} is not available now")
        return command.handler(*args, **kwargs)

    def bindings(self) -> dict[str, str]:
        """Key sequence → command id, for every default key."""
        return {key: c.id for c in self for key in c.keys}

"""The read-only guard: a registry policy that refuses every mutating command while a wall is up."""

from __future__ import annotations

from collections.abc import Callable

from opsconsole.core.commands import Command, CommandRegistry

REFUSAL = "read-only wall display: {title} is disabled"


class ReadOnlyGuard:
    """Refuses every mutating command of a registry, until `release()`.

    It is one policy of the registry (`CommandRegistry.add_policy`), so it needs no copy of
    any command and covers commands registered later too. A refused run raises
    `CommandRefused` with plain words: the command runner, menus, the palette, the command line
    and panel buttons show those where the operator looks, and none opens a dialog. The words
    are also handed to `on_refused` (the wall's header, the layout wall's status bar) on every
    refused run, whichever way the command was started.
    """

    def __init__(
        self, registry: CommandRegistry, on_refused: Callable[[str], None] | None = None
    ) -> None:
        self.registry = registry
        self.on_refused = on_refused
        self.refusals: list[str] = []
        self._remove: Callable[[], None] | None = None

    @staticmethod
    def is_allowed(command: Command) -> bool:
        """Whether a read-only display may run this command."""
        return not command.mutating

    @staticmethod
    def message(command: Command) -> str:
        return REFUSAL.format(title=command.title)

    @property
    def installed(self) -> bool:
        return self._remove is not None

    def install(self) -> ReadOnlyGuard:
        if self._remove is None:
            self._remove = self.registry.add_policy(self._refusal)
        return self

    def release(self) -> None:
        if self._remove is not None:
            self._remove()
            self._remove = None

    def _refusal(self, command: Command) -> str | None:
        # The registry consults its policies only when a command is about to run, so this is
        # a refused attempt: tell it where the operator looks, as the swapped handler did.
        if self.is_allowed(command):
            return None
        text = self.message(command)
        self.refusals.append(text)
        if self.on_refused is not None:
            self.on_refused(text)
        return text

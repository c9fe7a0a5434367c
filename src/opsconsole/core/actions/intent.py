"""One operator intent and the verdicts on it: why it is blocked, what it stakes, how it ended."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opsconsole.core.eligibility import human_bytes
from opsconsole.core.store import BackendState

if TYPE_CHECKING:
    from opsconsole.core.actions import ActionDeclaration


@dataclass(frozen=True)
class Stakes:
    """What a promotion puts at risk: the chosen member's replication lag when asked."""

    member: str
    lag_bytes: int
    may_lose: bool  # failover: writes the member has not received are gone
    # The cluster's timeline when asked: a promotion is done once the member leads a later one
    # (Patroni names the new leader a moment before it reports the new timeline).
    timeline: int | None = None

    def words(self) -> str:
        """ "lag 1.2 MiB: up to 1.2 MiB of committed writes may be lost"."""
        lag = human_bytes(self.lag_bytes)
        if not self.may_lose:
            return f"lag {lag}; a switchover waits for it, no writes are lost"
        if self.lag_bytes <= 0:
            return f"lag {lag}: no committed writes are known to be missing"
        return f"lag {lag}: up to {lag} of committed writes may be lost"


def _declaration(command_id: str) -> ActionDeclaration | None:
    # Imported here: the declarations are written in terms of Intent, so the table that
    # holds them is only complete once this module has loaded.
    from opsconsole.core.actions import ACTIONS

    return ACTIONS.get(command_id)


@dataclass(frozen=True)
class Intent:
    """One operator intent. Its key is made once; every retry of this intent reuses it."""

    command_id: str
    backend: str
    target: str  # what the action acts on (a cluster for a promotion)
    args: dict[str, Any] = field(default_factory=dict)
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    # Filled from the live state by the pipeline just before the operator is asked; not part
    # of what the intent is (a double Enter is the same intent whatever the lag did).
    stakes: Stakes | None = field(default=None, compare=False)

    @property
    def spec(self) -> ActionDeclaration:
        """The declaration of this intent's action (KeyError for an undeclared one)."""
        declaration = _declaration(self.command_id)
        if declaration is None:
            raise KeyError(self.command_id)
        return declaration

    @property
    def typed_name(self) -> str:
        """What the operator types to confirm a dangerous action: the argument the
        declaration names (a promotion's member, whose lag is at stake), otherwise the target."""
        declaration = _declaration(self.command_id)
        if declaration is not None and declaration.typed_arg:
            value = self.args.get(declaration.typed_arg)
            if value:
                return str(value)
        return self.target

    @property
    def identity(self) -> tuple[str, str, str, tuple[tuple[str, Any], ...]]:
        """Same command, backend, target and arguments: the same intent (double Enter)."""
        return (self.command_id, self.backend, self.target, tuple(sorted(self.args.items())))

    def describe(self) -> str:
        """ "force open payment-service", "silence fp1 (duration 2h, comment x)"."""
        spec = self.spec
        if spec.sentence is not None:
            return spec.sentence(self)
        # Empty arguments (no comment) are left out: the confirmation reads as a sentence.
        detail = ", ".join(
            f"{k} {v}" for k, v in self.args.items() if k != "by" and v not in (None, "")
        )
        return f"{spec.verb} {self.target}" + (f" ({detail})" if detail else "")

    def headline(self) -> str:
        """The confirmation's sentence: "Fail over orders-db to replica-2 (lag 1.2 MiB: up to
        1.2 MiB of committed writes may be lost) on sim."""
        what = self.describe()
        stakes = f" ({self.stakes.words()})" if self.stakes is not None else ""
        return f"{what[:1].upper()}{what[1:]}{stakes} on {self.backend}."


@dataclass(frozen=True)
class Blocked:
    """Why an action may not run now; `rule` names the precondition, `message` is plain words."""

    rule: str
    message: str


@dataclass(frozen=True)
class Outcome:
    """What the live state shows once an action has visibly taken effect."""

    succeeded: bool
    message: str


# A predicate over one backend's live state: the outcome once it shows, else None.
OutcomeCheck = Callable[[BackendState], Outcome | None]

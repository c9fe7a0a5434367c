"""A made-up, test-only action declaration: proves that adding an action needs no other table."""

from __future__ import annotations

from opsconsole.core.actions import ActionDeclaration, Blocked, Intent, Outcome, OutcomeCheck
from opsconsole.core.arguments import Arg
from opsconsole.core.commands import DangerTier
from opsconsole.core.store import BackendState

PROBE_ID = "test.half_open"
OPS_API_ACTIONS = frozenset(
    {
        "breaker.force_open",
        "breaker.close",
        "breaker.reset",
        "db.switchover",
        "db.failover",
        "db.read_only",
        "alert.ack",
    }
)


def _not_half_open(intent: Intent, state: BackendState) -> Blocked | None:
    circuit = state.circuits.get(intent.target)
    if circuit is None:
        return Blocked("circuit-exists", f"no circuit named {intent.target!r}")
    if circuit.state == "half_open":
        return Blocked("state-differs", f"{intent.target} is already half-open")
    return None


def _half_open(intent: Intent) -> OutcomeCheck:
    def seen(state: BackendState) -> Outcome | None:
        circuit = state.circuits.get(intent.target)
        if circuit is None or circuit.state != "half_open":
            return None
        return Outcome(True, f"{intent.target} is half-open")

    return seen


#: A made-up, test-only action: never part of the shipped ACTIONS.
HALF_OPEN = ActionDeclaration(
    PROBE_ID,
    "Half-open a circuit (test only)",
    DangerTier.CONFIRM,
    "half-open",
    "Lets one trial call through.",
    button="Half-open…",
    hint="Let one trial call through",
    word="halfopen",
    aliases=("half-open",),
    args=(Arg.CIRCUIT,),
    check=_not_half_open,
    expect=_half_open,
)

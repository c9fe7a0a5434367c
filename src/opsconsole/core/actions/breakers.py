"""The circuit-breaker actions: force open, close and reset, each declared once."""

from __future__ import annotations

from opsconsole.core.actions.declaration import ActionDeclaration, Check, Expect
from opsconsole.core.actions.intent import Blocked, Intent, Outcome, OutcomeCheck
from opsconsole.core.arguments import Arg
from opsconsole.core.commands import DangerTier
from opsconsole.core.store import BackendState

#: The command-line verb all three share; the word after the circuit picks one.
WORD = "breaker"


def _circuit_not(refused_state: str | None, words: str) -> Check:
    """The circuit exists, and is not already in the state the action would bring."""

    def check(intent: Intent, state: BackendState) -> Blocked | None:
        circuit = state.circuits.get(intent.target)
        if circuit is None:
            return Blocked("circuit-exists", f"no circuit named {intent.target!r}")
        if refused_state is not None and circuit.state == refused_state:
            return Blocked("state-differs", f"{intent.target} is already {words}")
        return None

    return check


def _circuit_becomes(wanted: str) -> Expect:
    """Done once the circuit shows the wanted state."""

    def expect(intent: Intent) -> OutcomeCheck:
        target = intent.target

        def breaker(state: BackendState) -> Outcome | None:
            circuit = state.circuits.get(target)
            if circuit is None or circuit.state != wanted:
                return None
            return Outcome(True, f"{target} is {wanted.replace('_', ' ')}")

        return breaker

    return expect


FORCE_OPEN = ActionDeclaration(
    "breaker.force_open",
    "Force a circuit open",
    DangerTier.DANGEROUS,
    "force open",
    "Every call to this dependency will be rejected at once.",
    button="Force open…",
    hint="Reject every call to it until closed",
    word=WORD,
    op="open",
    args=(Arg.CIRCUIT,),
    check=_circuit_not("forced_open", "forced open"),
    expect=_circuit_becomes("forced_open"),
)
CLOSE = ActionDeclaration(
    "breaker.close",
    "Close a circuit",
    DangerTier.CONFIRM,
    "close",
    "Calls pass again; if the dependency is still failing it will re-open.",
    button="Close…",
    hint="Let calls through again, failure count reset",
    word=WORD,
    op="close",
    args=(Arg.CIRCUIT,),
    check=_circuit_not("closed", "closed"),
    expect=_circuit_becomes("closed"),
)
RESET = ActionDeclaration(
    "breaker.reset",
    "Reset a circuit",
    DangerTier.CONFIRM,
    "reset",
    "Clears the breaker's history and closes it.",
    button="Reset…",
    hint="Closed, with the failure history cleared",
    word=WORD,
    op="reset",
    args=(Arg.CIRCUIT,),
    check=_circuit_not(None, ""),
    expect=_circuit_becomes("closed"),
)

DECLARATIONS: tuple[ActionDeclaration, ...] = (FORCE_OPEN, CLOSE, RESET)

"""What an action is (`ActionDeclaration`), and the rules every action passes before its own."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opsconsole.core.actions.intent import Blocked, Intent, OutcomeCheck, Stakes
from opsconsole.core.arguments import Arg, kwarg
from opsconsole.core.commands import DangerTier
from opsconsole.core.eligibility import Eligibility
from opsconsole.core.models import ConnectionState, DbCluster, DbMember
from opsconsole.core.store import BackendState

ALERTMANAGER = "alertmanager"
#: A backend never described (given by --url in a test) is an Ops API backend.
DEFAULT_KIND = "opsapi"
#: How a kind of backend is named to the operator.
KIND_NAMES: dict[str, str] = {
    "opsapi": "Ops API",
    "prometheus": "Prometheus",
    "alertmanager": "Alertmanager",
    "patroni": "Patroni",
}

# The target and the intent's arguments, from the command's keyword arguments.
Build = Callable[[Mapping[str, Any]], tuple[str, dict[str, Any]]]
# The action's own preconditions against the live state of its backend.
Check = Callable[[Intent, BackendState], Blocked | None]
Expect = Callable[[Intent], OutcomeCheck]
StakesOf = Callable[[Intent, BackendState], Stakes | None]
# Whether a member may take over a cluster (actions that promote one).
MemberRule = Callable[[DbCluster, DbMember], Eligibility]


@dataclass(frozen=True)
class ActionDeclaration:
    """Everything the console knows of one operator action, in one place.

    The pipeline (`core.actions.pipeline`), the command line (`core.cmdline`), the palette's
    choices (`core.choices`), the panels' buttons and the backend descriptions all read it;
    a backend adapter carries it out by `command_id` (its `perform` and `performs`).
    """

    command_id: str
    title: str
    tier: DangerTier
    verb: str  # for "about to <verb> <target>"
    consequence: str  # one line shown in the confirmation, in plain words
    button: str  # the panel button's label, e.g. "Force open…"
    hint: str  # the button's tooltip
    word: str  # its command-line verb ("failover"); actions may share one and differ by `op`
    args: tuple[Arg, ...]  # what its handler takes, in the order the palette asks
    check: Check  # its own preconditions, after the generic ones
    expect: Expect  # the outcome the live state shows once it has taken effect
    build: Build | None = None  # None: the first argument is the target, the rest its args
    op: str = ""  # under a shared verb, the word after the target ("breaker X open")
    aliases: tuple[str, ...] = ()  # other spellings of its verb on the command line
    mutating: bool = True  # changes something outside the console (the wall refuses it)
    # Only backends of these kinds hold what it acts on, whatever a wildcard in the
    # configuration says (silences live in Alertmanager); None: any kind that performs it.
    kinds: frozenset[str] | None = None
    stakes: StakesOf | None = None  # what the operator is asked to accept (a promotion's lag)
    typed_arg: str = ""  # a dangerous action is confirmed by typing this arg (else the target)
    sentence: Callable[[Intent], str] | None = None  # None: "<verb> <target> (<args>)"
    eligible: MemberRule | None = None  # who may take over (completion ranks by it)
    # Arguments assumed while judging a target before the operator has given them.
    judge_with: Mapping[str, Any] = field(default_factory=dict)
    # `--name value` options it also takes (a switchover's `--at 22:00`); never asked for.
    options: tuple[str, ...] = ()

    def parts(self, kw: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """The target and the intent's arguments that the command's keywords describe."""
        if self.build is not None:
            return self.build(kw)
        target, *rest = self.args
        args = {kwarg(a): bool(kw[kwarg(a)]) if a is Arg.ON_OFF else kw[kwarg(a)] for a in rest}
        args.update({o: kw[o] for o in self.options if kw.get(o)})
        return kw[kwarg(target)], args


def backend_kind(state: BackendState) -> str:
    """The backend's kind; one never described is an Ops API backend given by --url."""
    return state.info.kind if state.info is not None else DEFAULT_KIND


def backend_known(backend: str, state: BackendState | None) -> Blocked | None:
    """Rule `backend-known`: the intent names a backend this console has."""
    if state is None:
        return Blocked("backend-known", f"no backend named {backend!r}")
    return None


def backend_can(intent: Intent, action: ActionDeclaration, state: BackendState) -> Blocked | None:
    """Rule `backend-can`: the backend's adapter performs this action on its kind of data."""
    kind = backend_kind(state)
    allowed = state.info is None or state.info.can(intent.command_id)
    if allowed and (action.kinds is None or kind in action.kinds):
        return None
    return Blocked("backend-can", f"{intent.backend} ({kind}) cannot {action.verb}")


def live_data(backend: str, state: BackendState) -> Blocked | None:
    """Rule `live-data`: never act on state the console no longer sees live."""
    if state.link.state is not ConnectionState.LIVE:
        return Blocked(
            "live-data", f"{backend} is {state.link.state.value}: refusing to act on old state"
        )
    return None


def kinds_words(kinds: frozenset[str]) -> str:
    """ "Alertmanager": the kinds of backend an action needs, as the operator names them."""
    return " or ".join(KIND_NAMES.get(k, k) for k in sorted(kinds))

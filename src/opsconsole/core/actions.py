"""Operator actions without I/O: intents, preconditions against live state, expected outcomes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opsconsole.core.commands import DangerTier
from opsconsole.core.eligibility import member_eligibility
from opsconsole.core.models import ConnectionState
from opsconsole.core.store import BackendState, Store


@dataclass(frozen=True)
class ActionSpec:
    """What an action is: its command id, words for the operator, and its confirmation tier."""

    command_id: str
    title: str
    tier: DangerTier
    verb: str  # for "about to <verb> <target>"
    consequence: str  # one line shown in the confirmation, in plain words


SPECS: dict[str, ActionSpec] = {
    s.command_id: s
    for s in (
        ActionSpec(
            "breaker.force_open",
            "Force a circuit open",
            DangerTier.DANGEROUS,
            "force open",
            "Every call to this dependency will be rejected at once.",
        ),
        ActionSpec(
            "breaker.close",
            "Close a circuit",
            DangerTier.CONFIRM,
            "close",
            "Calls pass again; if the dependency is still failing it will re-open.",
        ),
        ActionSpec(
            "breaker.reset",
            "Reset a circuit",
            DangerTier.CONFIRM,
            "reset",
            "Clears the breaker's history and closes it.",
        ),
        ActionSpec(
            "db.switchover",
            "Switch over a database cluster",
            DangerTier.CONFIRM,
            "switch over",
            "Planned handover: the primary steps down without data loss.",
        ),
        ActionSpec(
            "db.failover",
            "Fail over a database cluster",
            DangerTier.DANGEROUS,
            "fail over",
            "Promotes a replica even if the primary is unreachable: writes "
            "not yet replicated may be LOST.",
        ),
        ActionSpec(
            "db.read_only",
            "Set a cluster read-only on/off",
            DangerTier.CONFIRM,
            "set read-only",
            "Writes are refused while read-only is on.",
        ),
        ActionSpec(
            "alert.ack",
            "Acknowledge an alert",
            DangerTier.CONFIRM,
            "acknowledge",
            "Marks the alert as being handled by you.",
        ),
    )
}


@dataclass(frozen=True)
class Intent:
    """One operator intent. Its key is made once; every retry of this intent reuses it."""

    command_id: str
    backend: str
    target: str  # the name the operator types for a dangerous action
    args: dict[str, Any] = field(default_factory=dict)
    key: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def spec(self) -> ActionSpec:
        return SPECS[self.command_id]

    @property
    def identity(self) -> tuple[str, str, str, tuple[tuple[str, Any], ...]]:
        """Same command, backend, target and arguments: the same intent (double Enter)."""
        return (self.command_id, self.backend, self.target, tuple(sorted(self.args.items())))

    def describe(self) -> str:
        detail = ", ".join(f"{k} {v}" for k, v in self.args.items() if k != "by")
        return f"{self.spec.verb} {self.target}" + (f" ({detail})" if detail else "")


@dataclass(frozen=True)
class Blocked:
    """Why an action may not run now; `rule` names the precondition, `message` is plain words."""

    rule: str
    message: str


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    message: str


def _live(state: BackendState | None, backend: str) -> Blocked | None:
    if state is None:
        return Blocked("backend-known", f"no backend named {backend!r}")
    if state.link.state is not ConnectionState.LIVE:
        return Blocked(
            "live-data", f"{backend} is {state.link.state.value}: refusing to act on old state"
        )
    return None


def check_preconditions(intent: Intent, store: Store) -> Blocked | None:
    """The first rule the live state breaks for this intent, or None when it may proceed."""
    state = store.backends.get(intent.backend)
    if (blocked := _live(state, intent.backend)) is not None:
        return blocked
    assert state is not None
    cid = intent.command_id
    if cid.startswith("breaker."):
        circuit = state.circuits.get(intent.target)
        if circuit is None:
            return Blocked("circuit-exists", f"no circuit named {intent.target!r}")
        if cid == "breaker.force_open" and circuit.state == "forced_open":
            return Blocked("state-differs", f"{intent.target} is already forced open")
        if cid == "breaker.close" and circuit.state == "closed":
            return Blocked("state-differs", f"{intent.target} is already closed")
        return None
    if cid.startswith("db."):
        cluster = state.clusters.get(intent.target)
        if cluster is None:
            return Blocked("cluster-exists", f"no cluster named {intent.target!r}")
        if cid == "db.read_only":
            if bool(intent.args.get("enabled")) == cluster.read_only:
                word = "on" if cluster.read_only else "off"
                return Blocked("state-differs", f"{cluster.name} read-only is already {word}")
            return None
        name = intent.args.get("member")
        member = next((m for m in cluster.members if m.name == name), None)
        if member is None:
            return Blocked("member-exists", f"{cluster.name} has no member named {name!r}")
        action = "failover" if cid == "db.failover" else "switchover"
        verdict = member_eligibility(cluster, member, action)
        if not verdict.eligible:
            return Blocked("candidate-eligible", f"{name} cannot take over: {verdict.reason}")
        return None
    if cid == "alert.ack":
        alert = state.alerts.get(intent.target)
        if alert is None:
            return Blocked("alert-exists", f"no alert with id {intent.target!r}")
        if alert.acked_by:
            return Blocked("not-acked", f"already acknowledged by {alert.acked_by}")
        return None
    return Blocked("known-action", f"unknown action {cid!r}")


OutcomeCheck = Callable[[BackendState], Outcome | None]


def expected_outcome(intent: Intent) -> OutcomeCheck:
    """A predicate over live state that says when the action has visibly taken effect."""
    cid, target = intent.command_id, intent.target

    if cid in ("db.switchover", "db.failover"):
        member = intent.args["member"]

        def promoted(state: BackendState) -> Outcome | None:
            cluster = state.clusters.get(target)
            if cluster is None or cluster.primary != member:
                return None
            timeline = next((m.timeline for m in cluster.members if m.name == member), None)
            return Outcome(True, f"{member} is primary, timeline {timeline}")

        return promoted
    if cid == "db.read_only":
        wanted = bool(intent.args["enabled"])

        def read_only(state: BackendState) -> Outcome | None:
            cluster = state.clusters.get(target)
            if cluster is None or cluster.read_only != wanted:
                return None
            return Outcome(True, f"{target} is read-only {'ON' if wanted else 'OFF'}")

        return read_only
    if cid.startswith("breaker."):
        wanted_state = "forced_open" if cid == "breaker.force_open" else "closed"

        def breaker(state: BackendState) -> Outcome | None:
            circuit = state.circuits.get(target)
            if circuit is None or circuit.state != wanted_state:
                return None
            return Outcome(True, f"{target} is {wanted_state.replace('_', ' ')}")

        return breaker
    if cid == "alert.ack":

        def acked(state: BackendState) -> Outcome | None:
            alert = state.alerts.get(target)
            if alert is None or not alert.acked_by:
                return None
            return Outcome(True, f"alert {target} acknowledged by {alert.acked_by}")

        return acked
    raise KeyError(cid)

"""Operator actions without I/O: intents, preconditions against live state, expected outcomes."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opsconsole.core.alertmanager import DEFAULT_ACK_S, matchers_for, validate_matchers
from opsconsole.core.commands import DangerTier
from opsconsole.core.durations import parse_duration
from opsconsole.core.eligibility import human_bytes, member_eligibility
from opsconsole.core.models import Alert, ConnectionState
from opsconsole.core.store import BackendState, Store

ALERTMANAGER = "alertmanager"
# Longer silences are almost always a typo ("90d" for "90m"); Alertmanager itself has no cap.
MAX_SILENCE_S = 30 * 86_400.0


@dataclass(frozen=True)
class ActionSpec:
    """What an action is: its command id, words for the operator, and its confirmation tier."""

    command_id: str
    title: str
    tier: DangerTier
    verb: str  # for "about to <verb> <target>"
    consequence: str  # one line shown in the confirmation, in plain words
    button: str = ""  # the panel button's label, e.g. "Force open…"
    hint: str = ""  # the button's tooltip


SPECS: dict[str, ActionSpec] = {
    s.command_id: s
    for s in (
        ActionSpec(
            "breaker.force_open",
            "Force a circuit open",
            DangerTier.DANGEROUS,
            "force open",
            "Every call to this dependency will be rejected at once.",
            "Force open…",
            "Reject every call to it until closed",
        ),
        ActionSpec(
            "breaker.close",
            "Close a circuit",
            DangerTier.CONFIRM,
            "close",
            "Calls pass again; if the dependency is still failing it will re-open.",
            "Close…",
            "Let calls through again, failure count reset",
        ),
        ActionSpec(
            "breaker.reset",
            "Reset a circuit",
            DangerTier.CONFIRM,
            "reset",
            "Clears the breaker's history and closes it.",
            "Reset…",
            "Closed, with the failure history cleared",
        ),
        ActionSpec(
            "db.switchover",
            "Switch over a database cluster",
            DangerTier.CONFIRM,
            "switch over",
            "Planned handover: the primary steps down without data loss.",
            "Switchover to…",
            "Planned: hand the primary to a replica",
        ),
        ActionSpec(
            "db.failover",
            "Fail over a database cluster",
            DangerTier.DANGEROUS,
            "fail over",
            "Promotes a replica even if the primary is unreachable: writes "
            "not yet replicated may be LOST.",
            "Failover to…",
            "Promote a replica even if the primary is down",
        ),
        ActionSpec(
            "db.read_only",
            "Set a cluster read-only on/off",
            DangerTier.CONFIRM,
            "set read-only",
            "Writes are refused while read-only is on.",
            "Read-only on…",
            "Stop or allow writes to this cluster",
        ),
        ActionSpec(
            "alert.ack",
            "Acknowledge an alert",
            DangerTier.CONFIRM,
            "acknowledge",
            "Marks the alert as being handled by you.",
            "Acknowledge…",
            "Mark the alert as being handled by you",
        ),
        ActionSpec(
            "alert.silence",
            "Silence an alert",
            DangerTier.CONFIRM,
            "silence",
            "Alertmanager stops notifying about this alert until the silence ends.",
            "Silence…",
            "Stop notifications about this alert for a while",
        ),
        ActionSpec(
            "silence.expire",
            "Expire a silence",
            DangerTier.CONFIRM,
            "expire",
            "The silence ends now: the alerts it muted notify again.",
            "Expire…",
            "End this silence now",
        ),
    )
}


# Every action's declaration by command id.
ACTIONS = SPECS

PROMOTIONS = ("db.switchover", "db.failover")


@dataclass(frozen=True)
class Stakes:
    """What a promotion puts at risk: the chosen member's replication lag when asked."""

    member: str
    lag_bytes: int
    may_lose: bool  # failover: writes the member has not received are gone

    def words(self) -> str:
        """ "lag 1.2 MiB: up to 1.2 MiB of committed writes may be lost"."""
        lag = human_bytes(self.lag_bytes)
        if not self.may_lose:
            return f"lag {lag}; a switchover waits for it, no writes are lost"
        if self.lag_bytes <= 0:
            return f"lag {lag}: no committed writes are known to be missing"
        return f"lag {lag}: up to {lag} of committed writes may be lost"


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
    def spec(self) -> ActionSpec:
        return SPECS[self.command_id]

    @property
    def typed_name(self) -> str:
        """What the operator types to confirm a dangerous action: the member that takes over
        (the one whose lag is at stake), otherwise the target."""
        if self.command_id in PROMOTIONS and self.args.get("member"):
            return str(self.args["member"])
        return self.target

    @property
    def identity(self) -> tuple[str, str, str, tuple[tuple[str, Any], ...]]:
        """Same command, backend, target and arguments: the same intent (double Enter)."""
        return (self.command_id, self.backend, self.target, tuple(sorted(self.args.items())))

    def describe(self) -> str:
        if self.command_id in PROMOTIONS:
            return f"{self.spec.verb} {self.target} to {self.args.get('member')}"
        # Empty arguments (no comment) are left out: the confirmation reads as a sentence.
        detail = ", ".join(
            f"{k} {v}" for k, v in self.args.items() if k != "by" and v not in (None, "")
        )
        return f"{self.spec.verb} {self.target}" + (f" ({detail})" if detail else "")

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
    succeeded: bool
    message: str


def stakes_of(intent: Intent, state: BackendState | None) -> Stakes | None:
    """The chosen member's lag from the live state, for a promotion; None for anything else."""
    if intent.command_id not in PROMOTIONS or state is None:
        return None
    cluster = state.clusters.get(intent.target)
    name = intent.args.get("member")
    member = None if cluster is None else next((m for m in cluster.members if m.name == name), None)
    if member is None:
        return None
    return Stakes(member.name, member.lag_bytes, intent.command_id == "db.failover")


# How long the last action's words stay in the status bar. A success only confirms what the
# panels already show, and a cancel is the operator's own doing; a block, refusal, failure or
# a change that never came needs something done, by someone who may be on a call or at
# another screen, so it stays longer. The timeline and the audit log keep every outcome.
STATUS_LIFETIME_S: dict[str, float] = {"succeeded": 30.0, "cancelled": 15.0}
TROUBLE_LIFETIME_S = 120.0


def status_lifetime_s(status: str) -> float:
    """Seconds an action's outcome stays shown before the status bar clears it."""
    return STATUS_LIFETIME_S.get(status, TROUBLE_LIFETIME_S)


def _live(state: BackendState | None, backend: str) -> Blocked | None:
    if state is None:
        return Blocked("backend-known", f"no backend named {backend!r}")
    if state.link.state is not ConnectionState.LIVE:
        return Blocked(
            "live-data", f"{backend} is {state.link.state.value}: refusing to act on old state"
        )
    return None


def backend_kind(state: BackendState) -> str:
    """The backend's kind; one never described is an Ops API backend given by --url."""
    return state.info.kind if state.info is not None else "opsapi"


def _can(intent: Intent, state: BackendState) -> Blocked | None:
    cid, kind = intent.command_id, backend_kind(state)
    # Silences exist only in Alertmanager, whatever a wildcard in the configuration says.
    only_alertmanager = cid in ("alert.silence", "silence.expire")
    allowed = state.info is None or state.info.can(cid)
    if allowed and not (only_alertmanager and kind != ALERTMANAGER):
        return None
    return Blocked("backend-can", f"{intent.backend} ({kind}) cannot {intent.spec.verb}")


def utc_clock(ts: float) -> str:
    """ "14:05 UTC": silences end at server times, shown the same on every workstation."""
    return time.strftime("%H:%M UTC", time.gmtime(ts))


def duration_s(value: object) -> float | None:
    """Seconds from a typed duration ("2h", "90m") or a number; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = parse_duration(value)
        except ValueError:
            return None
    else:
        return None
    return seconds if math.isfinite(seconds) else None


def intent_duration_s(intent: Intent) -> float:
    """How long the silence of this intent lasts; an ack without one lasts an hour."""
    raw = intent.args.get("duration")
    if raw is None or raw == "":
        return DEFAULT_ACK_S
    seconds = duration_s(raw)
    return math.nan if seconds is None else seconds


def _duration_ok(intent: Intent) -> Blocked | None:
    raw = intent.args.get("duration")
    if intent.command_id == "alert.silence" and (raw is None or raw == ""):
        return Blocked("duration-valid", "a silence needs a duration, e.g. 2h")
    seconds = intent_duration_s(intent)
    if math.isnan(seconds):
        return Blocked("duration-valid", f"{raw!r} is not a duration; write e.g. 30m, 2h, 1d")
    if seconds <= 0:
        return Blocked("duration-valid", "a silence must last longer than zero")
    if seconds > MAX_SILENCE_S:
        return Blocked("duration-valid", f"{raw} is longer than the 30 days a silence may last")
    return None


def _silenced_words(alert: Alert, state: BackendState) -> str:
    parts = []
    for sid in alert.silenced_by:
        silence = state.silences.get(sid)
        until = f" until {utc_clock(silence.ends_ts)}" if silence is not None else ""
        parts.append(f"{sid}{until}")
    return ", ".join(parts)


def _alert_preconditions(intent: Intent, state: BackendState) -> Blocked | None:
    cid = intent.command_id
    alert = state.alerts.get(intent.target)
    if alert is None:
        return Blocked("alert-exists", f"no alert with id {intent.target!r}")
    if cid == "alert.ack" and alert.acked_by:
        return Blocked("not-acked", f"already acknowledged by {alert.acked_by}")
    if backend_kind(state) != ALERTMANAGER:
        if intent.args.get("duration") not in (None, ""):
            # Said rather than ignored: the operator expects the ack to end by itself.
            return Blocked(
                "duration-valid",
                f"{intent.backend} ({backend_kind(state)}) acknowledgements do not expire; "
                "leave out the duration",
            )
        return None
    # In Alertmanager both are silences: only a firing, not yet silenced alert needs one.
    if alert.state != "firing":
        return Blocked("alert-firing", f"alert {alert.id} is {alert.state}: nothing to silence")
    if alert.silenced_by:
        return Blocked("not-silenced", f"already silenced by {_silenced_words(alert, state)}")
    if (blocked := _duration_ok(intent)) is not None:
        return blocked
    if not alert.labels:
        return Blocked("matchers-safe", f"alert {alert.id} has no labels to match a silence on")
    reason = validate_matchers(matchers_for(alert))
    if reason is not None:
        return Blocked("matchers-safe", reason)
    return None


def check_preconditions(intent: Intent, store: Store) -> Blocked | None:
    """The first rule the live state breaks for this intent, or None when it may proceed."""
    cid = intent.command_id
    state = store.backends.get(intent.backend)
    if state is None:
        return Blocked("backend-known", f"no backend named {intent.backend!r}")
    if cid not in SPECS:
        return Blocked("known-action", f"unknown action {cid!r}")
    if (blocked := _can(intent, state)) is not None:
        return blocked
    if (blocked := _live(state, intent.backend)) is not None:
        return blocked
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
    if cid in ("alert.ack", "alert.silence"):
        return _alert_preconditions(intent, state)
    if cid == "silence.expire":
        silence = state.silences.get(intent.target)
        if silence is None:
            return Blocked("silence-exists", f"no silence with id {intent.target!r}")
        if silence.state == "expired":
            return Blocked("not-expired", f"silence {silence.id} has already expired")
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
    if cid == "alert.silence":

        def silenced(state: BackendState) -> Outcome | None:
            alert = state.alerts.get(target)
            if alert is None or not alert.silenced_by:
                return None
            return Outcome(True, f"alert {target} silenced by {_silenced_words(alert, state)}")

        return silenced
    if cid == "silence.expire":

        def expired(state: BackendState) -> Outcome | None:
            silence = state.silences.get(target)
            if silence is None or silence.state != "expired":
                return None
            return Outcome(True, f"silence {target} expired at {utc_clock(silence.ends_ts)}")

        return expired
    raise KeyError(cid)


def build_intent(command_id: str, backend: str, key: str | None = None, **kw: Any) -> Intent:
    """The intent a command's arguments describe (the target is what gets typed).

    Shared by the pipeline's commands and the palette's greyed-row verdicts, so both judge
    the same intent.
    """
    args: dict[str, Any]
    if command_id.startswith("breaker."):
        target, args = kw["name"], {}
    elif command_id in ("db.switchover", "db.failover"):
        target, args = kw["cluster"], {"member": kw["member"]}
    elif command_id == "db.read_only":
        target, args = kw["cluster"], {"enabled": bool(kw["enabled"])}
    elif command_id == "alert.ack":
        target, args = kw["alert"], {"comment": kw.get("comment", ""), "by": kw.get("by")}
        if kw.get("duration") not in (None, ""):
            args["duration"] = kw["duration"]  # Alertmanager only: how long the ack mutes
    elif command_id == "alert.silence":
        target = kw["alert"]
        args = {
            "duration": kw.get("duration"),
            "comment": kw.get("comment", ""),
            "by": kw.get("by"),
        }
    elif command_id == "silence.expire":
        target, args = kw["silence"], {}
    else:
        raise KeyError(command_id)
    if key is None:
        return Intent(command_id, backend, target, args)
    return Intent(command_id, backend, target, args, key)

"""The database-cluster actions: switchover, failover and read-only, each declared once."""

from __future__ import annotations

from functools import partial

from opsconsole.core.actions.declaration import ActionDeclaration, Check, MemberRule, StakesOf
from opsconsole.core.actions.intent import Blocked, Intent, Outcome, OutcomeCheck, Stakes
from opsconsole.core.arguments import Arg
from opsconsole.core.commands import DangerTier
from opsconsole.core.eligibility import member_eligibility
from opsconsole.core.store import BackendState


def _cluster_exists(intent: Intent, state: BackendState) -> Blocked | None:
    if intent.target not in state.clusters:
        return Blocked("cluster-exists", f"no cluster named {intent.target!r}")
    return None


def _promotion_check(eligible: MemberRule) -> Check:
    """The cluster has the chosen member, and it may take over by this action."""

    def check(intent: Intent, state: BackendState) -> Blocked | None:
        if (blocked := _cluster_exists(intent, state)) is not None:
            return blocked
        cluster = state.clusters[intent.target]
        name = intent.args.get("member")
        member = next((m for m in cluster.members if m.name == name), None)
        if member is None:
            return Blocked("member-exists", f"{cluster.name} has no member named {name!r}")
        verdict = eligible(cluster, member)
        if not verdict.eligible:
            return Blocked("candidate-eligible", f"{name} cannot take over: {verdict.reason}")
        return None

    return check


def _promoted(intent: Intent) -> OutcomeCheck:
    """Done once the chosen member is the cluster's primary (a scheduled switchover: once the
    cluster shows it scheduled to that member)."""
    target, member = intent.target, intent.args["member"]
    scheduled = bool(intent.args.get("at"))

    def promoted(state: BackendState) -> Outcome | None:
        cluster = state.clusters.get(target)
        if cluster is None:
            return None
        if scheduled:
            plan = cluster.scheduled_switchover
            if plan is None or f"to {member}" not in plan:
                return None
            return Outcome(True, f"{target}: switchover scheduled {plan}")
        if cluster.primary != member:
            return None
        timeline = next((m.timeline for m in cluster.members if m.name == member), None)
        asked = intent.stakes.timeline if intent.stakes is not None else None
        if asked is not None and (timeline is None or timeline <= asked):
            return None  # named leader, but not yet on its own timeline
        return Outcome(True, f"{member} is primary, timeline {timeline}")

    return promoted


def _lag_at_stake(may_lose: bool) -> StakesOf:
    """The chosen member's lag from the live state, asked of the operator before it runs."""

    def stakes(intent: Intent, state: BackendState) -> Stakes | None:
        cluster = state.clusters.get(intent.target)
        name = intent.args.get("member")
        members = () if cluster is None else cluster.members
        member = next((m for m in members if m.name == name), None)
        if member is None:
            return None
        timeline = max((m.timeline for m in members), default=None)
        return Stakes(member.name, member.lag_bytes, may_lose, timeline)

    return stakes


def _promotion_sentence(intent: Intent) -> str:
    """ "fail over orders-db to replica-2"."""
    return f"{intent.spec.verb} {intent.target} to {intent.args.get('member')}"


def _read_only_differs(intent: Intent, state: BackendState) -> Blocked | None:
    if (blocked := _cluster_exists(intent, state)) is not None:
        return blocked
    cluster = state.clusters[intent.target]
    if bool(intent.args.get("enabled")) == cluster.read_only:
        word = "on" if cluster.read_only else "off"
        return Blocked("state-differs", f"{cluster.name} read-only is already {word}")
    return None


def _read_only_set(intent: Intent) -> OutcomeCheck:
    """Done once the cluster shows the wanted read-only setting."""
    target, wanted = intent.target, bool(intent.args["enabled"])

    def read_only(state: BackendState) -> Outcome | None:
        cluster = state.clusters.get(target)
        if cluster is None or cluster.read_only != wanted:
            return None
        word = "ON" if wanted else "OFF"
        if not cluster.read_only_advisory:
            return Outcome(True, f"{target} is read-only {word}")
        # Advisory (a default sessions can override): done once every member says it.
        if any(m.read_only is not wanted for m in cluster.members):
            return None
        return Outcome(
            True,
            f"{target}: advisory read-only {word}, verified on "
            f"{', '.join(m.name for m in cluster.members)}",
        )

    return read_only


def _pause_differs(intent: Intent, state: BackendState) -> Blocked | None:
    if (blocked := _cluster_exists(intent, state)) is not None:
        return blocked
    cluster = state.clusters[intent.target]
    wanted = intent.command_id == "db.pause"
    if cluster.paused == wanted:
        word = "in maintenance mode" if wanted else "not paused"
        return Blocked("state-differs", f"{cluster.name} is already {word}")
    return None


def _pause_set(intent: Intent) -> OutcomeCheck:
    """Done once the cluster shows the wanted maintenance mode."""
    target, wanted = intent.target, intent.command_id == "db.pause"

    def paused(state: BackendState) -> Outcome | None:
        cluster = state.clusters.get(target)
        if cluster is None or cluster.paused != wanted:
            return None
        if wanted:
            return Outcome(True, f"{target} is in maintenance mode: no automatic failover")
        return Outcome(True, f"{target} resumed: automatic failover is on again")

    return paused


_FAILOVER_RULE: MemberRule = partial(member_eligibility, action="failover")
_SWITCHOVER_RULE: MemberRule = partial(member_eligibility, action="switchover")

FAILOVER = ActionDeclaration(
    "db.failover",
    "Fail over a database cluster",
    DangerTier.DANGEROUS,
    "fail over",
    "Promotes a replica even if the primary is unreachable: writes not yet replicated may be LOST.",
    button="Failover to…",
    hint="Promote a replica even if the primary is down",
    word="failover",
    args=(Arg.CLUSTER, Arg.MEMBER),
    check=_promotion_check(_FAILOVER_RULE),
    expect=_promoted,
    stakes=_lag_at_stake(may_lose=True),
    typed_arg="member",
    sentence=_promotion_sentence,
    eligible=_FAILOVER_RULE,
)
SWITCHOVER = ActionDeclaration(
    "db.switchover",
    "Switch over a database cluster",
    DangerTier.CONFIRM,
    "switch over",
    "Planned handover: the primary steps down without data loss.",
    button="Switchover to…",
    hint="Planned: hand the primary to a replica",
    word="switchover",
    args=(Arg.CLUSTER, Arg.MEMBER),
    check=_promotion_check(_SWITCHOVER_RULE),
    expect=_promoted,
    stakes=_lag_at_stake(may_lose=False),
    typed_arg="member",
    sentence=_promotion_sentence,
    eligible=_SWITCHOVER_RULE,
    options=("at",),
)
READ_ONLY = ActionDeclaration(
    "db.read_only",
    "Set a cluster read-only on/off",
    DangerTier.CONFIRM,
    "set read-only",
    "Writes are refused while read-only is on. On Patroni it is advisory: "
    "default_transaction_read_only, which a session can override.",
    button="Read-only on…",
    hint="Stop or allow writes to this cluster",
    word="readonly",
    aliases=("read-only", "read_only"),
    args=(Arg.CLUSTER, Arg.ON_OFF),
    check=_read_only_differs,
    expect=_read_only_set,
)

PAUSE = ActionDeclaration(
    "db.pause",
    "Pause automatic failover (maintenance mode)",
    DangerTier.CONFIRM,
    "pause",
    "Patroni stops acting on failures: a dead primary is NOT replaced until resumed.",
    button="Pause failover…",
    hint="Maintenance mode: no automatic failover",
    word="pause",
    args=(Arg.CLUSTER,),
    check=_pause_differs,
    expect=_pause_set,
    kinds=frozenset({"patroni"}),
)
RESUME = ActionDeclaration(
    "db.resume",
    "Resume automatic failover",
    DangerTier.CONFIRM,
    "resume",
    "Patroni acts on failures again: it may fail over at once if the primary is unhealthy.",
    button="Resume failover…",
    hint="End maintenance mode",
    word="resume",
    args=(Arg.CLUSTER,),
    check=_pause_differs,
    expect=_pause_set,
    kinds=frozenset({"patroni"}),
)

DECLARATIONS: tuple[ActionDeclaration, ...] = (FAILOVER, SWITCHOVER, READ_ONLY, PAUSE, RESUME)

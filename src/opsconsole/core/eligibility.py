"""Which replicas may take over a cluster, and why the others may not (before anyone asks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from opsconsole.core.models import DbCluster, DbMember

MiB = 1024 * 1024
DEFAULT_LAG_LIMIT = 1 * MiB
Promotion = Literal["switchover", "failover"]


@dataclass(frozen=True)
class Eligibility:
    member: str
    eligible: bool
    reason: str  # "eligible" or why not, in plain words


def human_bytes(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < MiB:
        return f"{n / 1024:.1f} KiB"
    return f"{n / MiB:.1f} MiB"


def member_eligibility(
    cluster: DbCluster,
    member: DbMember,
    action: Promotion = "switchover",
    lag_limit: int = DEFAULT_LAG_LIMIT,
) -> Eligibility:
    """Can `member` be promoted by `action`? The same rules as the failover manager's; a
    backend with rules of its own (Patroni) has judged the member already, and its limit for
    the lag replaces ours."""
    if member.role == "primary" or member.name == cluster.primary:
        return Eligibility(member.name, False, "is already primary")
    if member.refusal is not None:
        return Eligibility(member.name, False, member.refusal)
    if not member.reachable:
        return Eligibility(member.name, False, "its API does not answer")
    if not member.healthy:
        return Eligibility(member.name, False, "unhealthy")
    if cluster.max_lag_bytes is not None:
        lag_limit = cluster.max_lag_bytes
    if not member.lag_known:
        return Eligibility(member.name, False, "its lag is unknown")
    if member.lag_bytes > lag_limit:
        return Eligibility(
            member.name,
            False,
            f"lagging {human_bytes(member.lag_bytes)} > {human_bytes(lag_limit)} limit",
        )
    if action == "switchover":
        primary = next((m for m in cluster.members if m.name == cluster.primary), None)
        if primary is None or not primary.healthy:
            # A switchover hands over from a live primary; with it down only failover can help.
            return Eligibility(member.name, False, "primary is down: use failover")
    return Eligibility(member.name, True, "eligible")


def cluster_eligibility(
    cluster: DbCluster, action: Promotion = "switchover", lag_limit: int = DEFAULT_LAG_LIMIT
) -> dict[str, Eligibility]:
    return {m.name: member_eligibility(cluster, m, action, lag_limit) for m in cluster.members}

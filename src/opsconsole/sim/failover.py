"""Database failover manager of domain.md (health checks, promotion, eligibility); pure.

Operator switchover, failover and read-only go through the same code as automatic failover.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opsconsole.core.models import ClusterStateName, DbCluster, DbMember, EventKind, MemberRole

MIB = 1024 * 1024
DEGRADED_MESSAGE = "Real-time data temporarily unavailable"


@dataclass(frozen=True)
class FailoverConfig:
    health_check_interval_s: float = 5.0
    failure_threshold: int = 3
    max_lag_bytes: int = MIB


@dataclass(frozen=True)
class Probe:
    """What one health check saw of one member."""

    reachable: bool
    lag_bytes: int = 0


@dataclass(frozen=True)
class ClusterChange:
    """A change worth an event, with the cluster as it stood right after it."""

    kind: EventKind
    message: str
    cluster: DbCluster
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Member:
    name: str
    role: MemberRole
    healthy: bool = True
    lag_bytes: int = 0
    timeline: int = 1
    consecutive_failures: int = 0


def format_mib(n_bytes: int) -> str:
    return f"{n_bytes / MIB:.1f} MiB"


class FailoverManager:
    """One replicated cluster. `check()` is the periodic health check; `promote()` is the one
    code path for automatic failover, operator failover and operator switchover."""

    def __init__(
        self, name: str, primary: str, replicas: list[str], config: FailoverConfig, now: float
    ) -> None:
        self.name = name
        self.config = config
        self._members = {primary: _Member(primary, "primary")}
        for replica in replicas:
            self._members[replica] = _Member(replica, "replica")
        self.primary: str | None = primary
        self.state: ClusterStateName = "healthy"
        self.read_only_by_operator = False
        self.read_only_auto = False  # set by the manager when no replica can take over
        self.last_primary_ok_ts = now

    # ------------------------------------------------------------------ queries

    @property
    def members(self) -> tuple[str, ...]:
        return tuple(self._members)

    @property
    def read_only(self) -> bool:
        return self.read_only_by_operator or self.read_only_auto

    @property
    def timeline(self) -> int:
        return max(m.timeline for m in self._members.values())

    def primary_healthy(self) -> bool:
        return self.primary is not None and self._members[self.primary].healthy

    def writable(self) -> bool:
        return self.primary_healthy() and not self.read_only

    def snapshot(self, now: float) -> DbCluster:
        degraded = self.state == "degraded"
        return DbCluster(
            name=self.name,
            state=self.state,
            read_only=self.read_only,
            primary=self.primary,
            health_check_interval_s=self.config.health_check_interval_s,
            failure_threshold=self.config.failure_threshold,
            members=tuple(
                DbMember(
                    name=m.name,
                    role=m.role,
                    healthy=m.healthy,
                    lag_bytes=m.lag_bytes,
                    timeline=m.timeline,
                    consecutive_failures=m.consecutive_failures,
                )
                for m in self._members.values()
            ),
            message=DEGRADED_MESSAGE if degraded else None,
            data_age_s=max(0.0, now - self.last_primary_ok_ts) if degraded else None,
        )

    def ineligibility(self, name: str) -> str | None:
        """Why `name` cannot be promoted, or None when it can."""
        member = self._members.get(name)
        if member is None:
            return "unknown member"
        if name == self.primary:
            return "is already primary"
        if not member.healthy:
            return "unhealthy"
        if member.timeline < self.timeline:
            return f"on old timeline {member.timeline}; not rejoined yet"
        if member.lag_bytes > self.config.max_lag_bytes:
            return (
                f"lagging {format_mib(member.lag_bytes)} > "
                f"{format_mib(self.config.max_lag_bytes)} limit"
            )
        return None

    def best_candidate(self) -> str | None:
        """The healthiest eligible replica: least lag, then name."""
        eligible = [m for m in self._members.values() if self.ineligibility(m.name) is None]
        if not eligible:
            return None
        return min(eligible, key=lambda m: (m.lag_bytes, m.name)).name

    def vet(self, candidate: str | None, *, planned: bool) -> tuple[str | None, dict[str, str]]:
        """Decide an operator switchover (`planned`) or failover. Returns (chosen member, {})
        or (None, reasons per member considered). No candidate means the best eligible one."""
        reasons: dict[str, str] = {}
        if planned and not self.primary_healthy():
            reasons[self.primary or "primary"] = (
                "primary is unhealthy; switchover needs a healthy primary (use failover)"
            )
        if candidate is None:
            candidate = self.best_candidate()
            if candidate is None:
                for m in self._members.values():
                    reasons[m.name] = self.ineligibility(m.name) or "eligible"
                return None, reasons
        elif (why := self.ineligibility(candidate)) is not None:
            reasons[candidate] = why
        return (None, reasons) if reasons else (candidate, {})

    # ------------------------------------------------------------------ changes

    def check(self, probes: dict[str, Probe], now: float) -> list[ClusterChange]:
        """One health check round over every member (the primary's decides failover)."""
        changes: list[ClusterChange] = []
        for m in self._members.values():
            probe = probes.get(m.name, Probe(reachable=False))
            if probe.reachable:
                m.consecutive_failures = 0
                if m.role == "replica":
                    m.lag_bytes = max(0, probe.lag_bytes)
                if not m.healthy and m.role == "replica" and m.timeline < self.timeline:
                    m.timeline = self.timeline
                    changes.append(
                        self._change(
                            "failover",
                            f"{m.name} rejoined {self.name} as a replica on timeline {m.timeline}",
                            now,
                            member=m.name,
                        )
                    )
                m.healthy = True
            else:
                m.consecutive_failures += 1
                m.healthy = False

        if self.primary_healthy():
            self.last_primary_ok_ts = now
            if self.state != "healthy":
                self.state = "healthy"
                self.read_only_auto = False
                changes.append(
                    self._change(
                        "failover", f"{self.primary} is reachable again; {self.name} healthy", now
                    )
                )
            return changes

        primary = self._members[self.primary] if self.primary else None
        if primary is not None and primary.consecutive_failures < self.config.failure_threshold:
            return changes  # not yet: a blip is not a failover
        if self.state == "healthy":
            self.state = "failed"
            changes.append(
                self._change(
                    "failover",
                    f"{self.name}: primary {self.primary} failed "
                    f"{self.config.failure_threshold} consecutive health checks",
                    now,
                    member=self.primary,
                )
            )
        candidate = self.best_candidate()
        if candidate is not None:
            changes.append(self.promote(candidate, now, planned=False, by="failover manager"))
        elif self.state != "degraded":
            self.state = "degraded"
            self.read_only_auto = True
            reasons = {m: self.ineligibility(m) or "eligible" for m in self._members}
            changes.append(
                self._change(
                    "failover",
                    f"{self.name}: no replica can take over; read-only, {DEGRADED_MESSAGE.lower()}",
                    now,
                    reasons=reasons,
                )
            )
        return changes

    def promote(
        self, candidate: str, now: float, *, planned: bool, by: str, kind: EventKind = "failover"
    ) -> ClusterChange:
        """Make `candidate` primary on a new timeline. The caller has vetted it."""
        old = self.primary
        new_timeline = self.timeline + 1
        for m in self._members.values():
            if m.name == candidate:
                m.role, m.lag_bytes, m.timeline = "primary", 0, new_timeline
            elif m.name == old:
                m.role = "replica"
                # A planned switchover hands over cleanly; a dead primary rejoins later.
                if m.healthy:
                    m.timeline = new_timeline
            elif m.healthy:
                m.timeline = new_timeline  # live replicas follow the new primary
        self.primary = candidate
        self.state = "healthy"
        self.read_only_auto = False
        self.last_primary_ok_ts = now
        verb = "switchover" if planned else "failover"
        return self._change(
            kind,
            f"{self.name}: {verb} by {by}: {candidate} is primary on timeline {new_timeline}"
            + (f" (was {old})" if old else ""),
            now,
            action=verb,
            previous_primary=old,
            primary=candidate,
            timeline=new_timeline,
        )

    def set_read_only(self, enabled: bool, now: float, by: str) -> ClusterChange | None:
        if self.read_only_by_operator == enabled:
            return None
        self.read_only_by_operator = enabled
        note = ""
        if not enabled and self.read_only_auto:
            note = " (stays read-only: no writable primary)"
        return self._change(
            "action",
            f"{self.name}: read-only {'enabled' if enabled else 'disabled'} by {by}{note}",
            now,
            read_only=self.read_only,
        )

    def _change(self, kind: EventKind, message: str, now: float, **data: Any) -> ClusterChange:
        return ClusterChange(kind, message, self.snapshot(now), data)

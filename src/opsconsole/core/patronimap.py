"""Patroni's answers mapped onto the console's cluster model and timeline, without I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from opsconsole.core.models import ClusterStateName, DbCluster, DbMember, Event
from opsconsole.core.patroni import (
    FOLLOWING_STATES,
    PatroniClusterBody,
    PatroniConfigBody,
    PatroniMember,
    TimelineChange,
    candidacy,
    is_leader,
    lag_bytes,
    role_words,
)


class PatroniStatus(msgspec.Struct, frozen=True, kw_only=True):
    """The parts of a member's own `GET /patroni` the console adds to `/cluster`'s view."""

    state: str = "unknown"
    role: str = "unknown"
    timeline: int | None = None
    pending_restart: bool = False
    dcs_last_seen: int | None = None
    xlog: dict[str, Any] = {}
    patroni: dict[str, Any] = {}

    @property
    def scope(self) -> str | None:
        scope = self.patroni.get("scope")
        return scope if isinstance(scope, str) and scope else None


@dataclass(frozen=True)
class MemberFacts:
    """What the console found out about one member beyond `/cluster`."""

    reachable: bool = True
    status: PatroniStatus | None = None
    read_only: bool | None = None  # default_transaction_read_only as the member says it


def member_of(member: PatroniMember, config: PatroniConfigBody, facts: MemberFacts) -> DbMember:
    """One Patroni member as a cluster member of the console."""
    leader = is_leader(member)
    lag = None if leader else lag_bytes(member)
    verdict = candidacy(member, config, reachable=facts.reachable)
    # The leader is judged by the generic rule ("is already primary"); a replica by Patroni's.
    refusal = None if leader or verdict.allowed else verdict.reason
    status = facts.status
    return DbMember(
        name=member.name,
        role="primary" if leader else "replica",
        healthy=member.state in FOLLOWING_STATES,
        lag_bytes=lag or 0,
        timeline=member.timeline or 0,
        role_words=role_words(member),
        state_words=member.state,
        lag_known=leader or lag is not None,
        reachable=facts.reachable,
        refusal=refusal,
        read_only=facts.read_only,
        pending_restart=member.pending_restart or (status is not None and status.pending_restart),
        wal_words=None if status is None else wal_words(status.xlog),
        dcs_seen_ts=None if status is None else status.dcs_last_seen,
    )


def wal_words(xlog: Mapping[str, Any]) -> str | None:
    """Where a member's WAL stands, from `/patroni`'s `xlog`: the leader's location, or what a
    replica has received and replayed (and whether replay is paused)."""
    if isinstance(xlog.get("location"), int):
        return f"WAL at {lsn_text(xlog['location'])}"
    parts = [
        f"{word} {lsn_text(xlog[key])}"
        for key, word in (("received_location", "received"), ("replayed_location", "replayed"))
        if isinstance(xlog.get(key), int)
    ]
    if xlog.get("paused") is True:
        parts.append("replay paused")
    return "WAL " + ", ".join(parts) if parts else None


def cluster_of(
    name: str,
    body: PatroniClusterBody,
    config: PatroniConfigBody,
    facts: Mapping[str, MemberFacts],
) -> DbCluster:
    """The whole cluster: its state in words, its leader, its members and Patroni's settings."""
    members = tuple(member_of(m, config, facts.get(m.name, MemberFacts())) for m in body.members)
    leader = next((m for m in body.members if is_leader(m)), None)
    state, message = _state(body, leader, members)
    return DbCluster(
        name=name,
        state=state,
        read_only=config.advisory_read_only,
        primary=None if leader is None else leader.name,
        health_check_interval_s=float(config.loop_wait),
        failure_threshold=0,
        members=members,
        message=message,
        paused=body.pause or config.pause,
        max_lag_bytes=config.maximum_lag_on_failover,
        synchronous_mode=config.synchronous_mode,
        read_only_advisory=True,
        scheduled_switchover=scheduled_words(body.scheduled_switchover),
    )


def _state(
    body: PatroniClusterBody, leader: PatroniMember | None, members: Iterable[DbMember]
) -> tuple[ClusterStateName, str | None]:
    if leader is None:
        paused = " (maintenance mode: Patroni will not elect one)" if body.pause else ""
        why = "no leader" + paused
        return "failed", why
    problems: list[str] = []
    if leader.state != "running":
        problems.append(f"leader {leader.name} is {leader.state}")
    for m in members:
        if m.name == leader.name:
            continue
        if not m.healthy:
            problems.append(f"{m.name} is {m.state_words}")
        elif not m.reachable:
            problems.append(f"{m.name}'s REST API does not answer")
    if problems:
        return "degraded", "; ".join(problems)
    return "healthy", None


def scheduled_words(raw: Mapping[str, Any] | None) -> str | None:
    """ "at 2026-12-06T22:00:00+00:00 from pg1 to pg2" from `scheduled_switchover`."""
    if not raw:
        return None
    at = raw.get("at")
    parts = [f"at {at}" if at else "pending"]
    if raw.get("from"):
        parts.append(f"from {raw['from']}")
    if raw.get("to"):
        parts.append(f"to {raw['to']}")
    return " ".join(parts)


# ------------------------------------------------------------------ history


def change_ts(change: TimelineChange, fallback: float) -> float:
    """The change's own time (ISO 8601 with offset, as Patroni writes it), else `fallback`."""
    if change.timestamp:
        try:
            when = datetime.fromisoformat(change.timestamp)
        except ValueError:
            return fallback
        if when.tzinfo is not None:
            return when.timestamp()
    return fallback


def lsn_text(lsn: int) -> str:
    """PostgreSQL's spelling of a WAL position: 0/3000060."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def history_event(
    cluster: str, change: TimelineChange, cause: str | None, fallback_ts: float
) -> Event:
    """A timeline change as a line of the console's timeline, with why it happened: what the
    console saw (`cause`: "automatic failover after pg1 stopped") and what Patroni recorded."""
    leader = change.new_leader or "a new leader"
    words = f"{cluster}: {leader} promoted, timeline {change.timeline} → {change.timeline + 1}"
    reasons = [r for r in (cause, f"Patroni: {change.reason}" if change.reason else None) if r]
    if reasons:
        words += " — " + "; ".join(reasons)
    return Event(
        ts=change_ts(change, fallback_ts),
        kind="failover",
        message=words,
        service=cluster,
        data={
            "cluster": cluster,
            "timeline": change.timeline + 1,
            "ended_timeline": change.timeline,
            "lsn": lsn_text(change.lsn),
            "reason": change.reason,
            "cause": cause,
            "new_leader": change.new_leader,
            "source": "patroni history",
        },
    )


NOT_REQUESTED = "leader changed (not requested from this console)"


def takeover_cause(
    old_leader: str | None, seen_down: Mapping[str, str], requested: str | None
) -> str | None:
    """Why the leader changed, as far as the console saw it: its own request, or the old
    leader seen down around the change (`seen_down`: member → the state it was seen in);
    None when the old leader is not known (the first look)."""
    if requested is not None:
        return requested
    if old_leader is None:
        return None
    state = seen_down.get(old_leader)
    if state is None:
        return NOT_REQUESTED
    if state == "unreachable":
        return f"automatic failover: {old_leader}'s REST API did not answer"
    return f"automatic failover after {old_leader} was {state}"


# ------------------------------------------------------------------ requests and refusals


def refusal_words(status: int, text: str) -> str:
    """Patroni's own words for a refused request, with what it means for the operator."""
    said = text.strip().strip('"') or "no reason given"
    if status == 401:
        return f"Patroni refused the user name or password ({said}); nothing was changed"
    if status == 403:
        return f"Patroni does not allow this client ({said}); nothing was changed"
    return f"Patroni refused: {said}"


def promotion_request(
    action: str, leader: str | None, candidate: str, scheduled_at: str | None = None
) -> bytes:
    """The body of `POST /switchover` (leader and candidate) or `POST /failover` (candidate)."""
    body: dict[str, str] = {"candidate": candidate}
    if action == "switchover" and leader is not None:
        body["leader"] = leader
    if scheduled_at:
        body["scheduled_at"] = scheduled_at
    return msgspec.json.encode(body)


def read_only_patch(enabled: bool) -> bytes:
    """`PATCH /config` setting (or removing) default_transaction_read_only for every member."""
    value: str | None = "on" if enabled else None  # null removes the key: back to the default
    parameters = {"default_transaction_read_only": value}
    return msgspec.json.encode({"postgresql": {"parameters": parameters}})


def pause_patch(paused: bool) -> bytes:
    return msgspec.json.encode({"pause": paused})

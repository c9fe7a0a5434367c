"""Patroni's REST answers decoded, and its own rules for who may take over, without I/O."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from opsconsole.core.eligibility import human_bytes

#: Roles as Patroni names them (3.x; "master" and "standby-leader" are older spellings).
LEADER_ROLES = frozenset({"leader", "master", "primary", "standby_leader", "standby-leader"})
SYNC_ROLES = frozenset({"sync_standby", "sync-standby"})
#: States in which a replica follows its leader (Patroni 3.0 says "running", later "streaming").
FOLLOWING_STATES = frozenset({"running", "streaming"})
DEFAULT_MAXIMUM_LAG = 1_048_576  # Patroni's default maximum_lag_on_failover, bytes


class PatroniMember(msgspec.Struct, frozen=True, kw_only=True):
    """One member of `GET /cluster` as Patroni wrote it."""

    name: str
    role: str
    state: str = "unknown"
    api_url: str | None = None
    host: str | None = None
    port: int | None = None
    timeline: int | None = None
    # Bytes behind the leader; the string "unknown" when Patroni cannot tell (never 0).
    lag: int | str | None = None
    receive_lag: int | str | None = None
    replay_lag: int | str | None = None
    tags: dict[str, Any] = {}
    pending_restart: bool = False


class PatroniClusterBody(msgspec.Struct, frozen=True, kw_only=True):
    """`GET /cluster`."""

    members: tuple[PatroniMember, ...] = ()
    pause: bool = False
    scheduled_switchover: dict[str, Any] | None = None
    scope: str | None = None


class PatroniConfigBody(msgspec.Struct, frozen=True, kw_only=True):
    """The parts of `GET /config` (the DCS's dynamic configuration) the console reads."""

    maximum_lag_on_failover: int = DEFAULT_MAXIMUM_LAG
    loop_wait: int = 10  # seconds between Patroni's own health checks
    synchronous_mode: bool = False
    synchronous_mode_strict: bool = False
    pause: bool = False
    postgresql: dict[str, Any] = {}

    @property
    def advisory_read_only(self) -> bool:
        """`default_transaction_read_only` set on: advisory, sessions can override it."""
        value = (self.postgresql.get("parameters") or {}).get("default_transaction_read_only")
        return str(value).lower() in ("on", "true", "1", "yes")


@dataclass(frozen=True)
class TimelineChange:
    """One line of `GET /history`: the timeline that ended, where, why, and who led next."""

    timeline: int
    lsn: int
    reason: str
    timestamp: str | None
    new_leader: str | None


def decode_history(raw: bytes) -> tuple[TimelineChange, ...]:
    """`[[timeline, lsn, reason, timestamp, new_leader?], …]`; a malformed row is skipped
    rather than losing the others (Patroni versions differ in the row's length)."""
    rows = msgspec.json.decode(raw, type=list[list[Any]])
    out: list[TimelineChange] = []
    for row in rows:
        if len(row) < 3 or not isinstance(row[0], int) or not isinstance(row[1], int):
            continue
        timestamp = row[3] if len(row) > 3 and isinstance(row[3], str) else None
        leader = row[4] if len(row) > 4 and isinstance(row[4], str) else None
        out.append(TimelineChange(row[0], row[1], str(row[2]), timestamp, leader))
    return tuple(out)


def lag_bytes(member: PatroniMember) -> int | None:
    """The member's lag in bytes (the larger of receive and replay where both are given);
    None when Patroni says "unknown" or says nothing — never read as 0."""
    values: list[int] = []
    for value in (member.lag, member.receive_lag, member.replay_lag):
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int):
            values.append(value)
        elif isinstance(value, float) and math.isfinite(value):
            values.append(int(value))
    return max(values) if values else None


def lag_words(member: PatroniMember) -> str:
    """ "1.5 MiB", "0 B", or "unknown" — as the panel shows it."""
    if is_leader(member):
        return "—"
    lag = lag_bytes(member)
    return "unknown" if lag is None else human_bytes(lag)


def is_leader(member: PatroniMember) -> bool:
    return member.role in LEADER_ROLES


def is_sync_standby(member: PatroniMember) -> bool:
    return member.role in SYNC_ROLES


def role_words(member: PatroniMember) -> str:
    """leader, standby leader, sync standby, replica (Patroni's words, spaced)."""
    if member.role in ("master", "primary"):
        return "leader"
    return member.role.replace("_", " ").replace("-", " ")


def _tag_on(tags: Mapping[str, Any], name: str) -> bool:
    value = tags.get(name)
    return value is True or str(value).lower() in ("true", "on", "yes", "1")


@dataclass(frozen=True)
class Candidacy:
    """Whether a member may take over, and the rule that refuses it (Patroni's words)."""

    member: str
    allowed: bool
    reason: str


def candidacy(
    member: PatroniMember,
    config: PatroniConfigBody,
    reachable: bool = True,
) -> Candidacy:
    """Patroni's own rules, checked before the operator asks: a member that is the leader,
    is not running or streaming, is tagged `nofailover`, lags more than
    `maximum_lag_on_failover` (or by an unknown amount), is not the synchronous standby in
    synchronous mode, or whose REST API does not answer cannot take over."""
    name = member.name
    if is_leader(member):
        return Candidacy(name, False, "it is the leader")
    if not reachable:
        return Candidacy(name, False, "its REST API does not answer")
    if member.state not in FOLLOWING_STATES:
        return Candidacy(name, False, f"it is {member.state}, not running or streaming")
    if _tag_on(member.tags, "nofailover"):
        return Candidacy(name, False, "it is tagged nofailover")
    lag = lag_bytes(member)
    limit = config.maximum_lag_on_failover
    if lag is None:
        return Candidacy(name, False, "its lag is unknown")
    if lag > limit:
        return Candidacy(
            name,
            False,
            f"it lags {human_bytes(lag)}, more than maximum_lag_on_failover ({human_bytes(limit)})",
        )
    if config.synchronous_mode and not is_sync_standby(member):
        return Candidacy(name, False, "synchronous mode is on and it is not the sync standby")
    return Candidacy(name, True, f"can take over (lag {human_bytes(lag)})")


def candidacies(
    body: PatroniClusterBody,
    config: PatroniConfigBody,
    unreachable: Sequence[str] = (),
) -> dict[str, Candidacy]:
    """Every member's candidacy, by name."""
    return {m.name: candidacy(m, config, reachable=m.name not in unreachable) for m in body.members}


def leader_of(body: PatroniClusterBody) -> PatroniMember | None:
    return next((m for m in body.members if is_leader(m)), None)

"""Database-cluster rows: each cluster's header line, banner, change story and member cells."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from opsconsole.core.clocktext import clock_text
from opsconsole.core.eligibility import DEFAULT_LAG_LIMIT, human_bytes, member_eligibility
from opsconsole.core.health import Health
from opsconsole.core.models import DbCluster, DbMember
from opsconsole.core.words import NO_DATA, STALE, age_text, stale_text

EPISODE_GAP_S = 60.0  # changes closer than this belong to one story ("failed, then promoted")
NOTE_S = 300.0  # how long the "changed N s ago" line stays under the header
TRAIL_KEPT = 16

# Cluster state: word, colour, glyph (the shape says it without the colour).
CLUSTER_STATES: dict[str, tuple[str, Health, str]] = {
    "healthy": ("HEALTHY", Health.HEALTHY, "●"),
    "degraded": ("DEGRADED", Health.WARNING, "▲"),
    "failed": ("FAILED", Health.CRITICAL, "✖"),
}
STALE_GLYPH = "?"


def cluster_style(state: str) -> tuple[str, Health, str]:
    return CLUSTER_STATES.get(state, (state.upper(), Health.UNKNOWN, "?"))


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    tooltip: str
    widest: str  # widest text it can show, for its width


COLUMNS: tuple[Column, ...] = (
    Column("member", "Member", "Database member", "replica-88"),
    Column("role", "Role", "primary takes writes; replicas follow it", "primary"),
    # The panel also measures the texts it shows: a backend's own state words can be longer.
    Column("healthy", "Healthy", "Last health check of this member", "✗ unreachable"),
    Column("lag", "Lag", "Replication lag behind the primary", "888.8 KiB"),
    Column("timeline", "Timeline", "Raised by one at every promotion", "Timeline"),
    Column("checks", "Failed", "Consecutive failed health checks / failover threshold", "8 / 8"),
    Column("candidate", "Candidate", "May it take over by switchover or failover? If not, why", ""),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)


# ------------------------------------------------------------------ what is shown


@dataclass(frozen=True)
class Segment:
    """A run of the header line: text, its tone, bold, and whether it is drawn as a badge.

    The tone is a state level (drawn in its colour), DIM, or None for plain text.
    """

    text: str
    tone: Health | str | None = None
    bold: bool = False
    badge: bool = False


DIM = "dim"  # a tone: receded text (last known values, the current primary's candidate cell)


@dataclass(frozen=True)
class Cell:
    """A member cell: its text, tone (a state level, DIM, or None for plain), bold, tooltip."""

    text: str
    tone: Health | str | None = None
    bold: bool = False
    tooltip: str | None = None


@dataclass(frozen=True)
class Change:
    """One state of a cluster as first seen: a new state, primary, timeline, read-only flag or
    maintenance mode."""

    t: float  # local monotonic time it arrived
    state: str
    primary: str | None
    timeline: int
    read_only: bool
    paused: bool = False


class ClusterTrail:
    """The changes of one cluster, kept as they arrive: a failover can go healthy → failed →
    healthy within one batch of frames, and the operator must still see that it happened."""

    def __init__(self) -> None:
        self.changes: deque[Change] = deque(maxlen=TRAIL_KEPT)
        self.arrived = 0.0  # when the newest record came (for ages that grow between frames)

    def add(self, cluster: DbCluster, t: float) -> bool:
        """Record a record; True when it changed something that deserves a flash."""
        self.arrived = t
        change = Change(
            t, cluster.state, cluster.primary, _timeline(cluster), cluster.read_only, cluster.paused
        )
        last = self.changes[-1] if self.changes else None
        if last is not None and change.timeline < last.timeline:
            # A timeline only grows within one history: lower means the backend restarted
            # (or the cluster was rebuilt). Not a transition to tell ("timeline 3 → 1"): the
            # story starts again from here.
            self.changes.clear()
            self.changes.append(change)
            return False
        if last is not None and _told(last) == _told(change):
            return False
        self.changes.append(change)
        return last is not None

    def episode(self) -> list[Change]:
        """The latest story: the state before it, then every change close to the next one."""
        changes = list(self.changes)
        if len(changes) < 2:
            return []
        start = len(changes) - 1
        while start > 1 and changes[start].t - changes[start - 1].t < EPISODE_GAP_S:
            start -= 1
        return changes[start - 1 :]


def _told(change: Change) -> tuple[object, ...]:
    """What of a change the story tells (not its time)."""
    return (change.state, change.primary, change.timeline, change.read_only, change.paused)


def ordered_members(cluster: DbCluster) -> list[DbMember]:
    """The primary first (where the eye starts after a failover), then replicas by name."""
    return sorted(cluster.members, key=lambda m: (m.name != cluster.primary, m.name))


def _timeline(cluster: DbCluster) -> int:
    return max((m.timeline for m in cluster.members), default=0)


def describe_episode(episode: Sequence[Change], now: float) -> str:
    """ "changed 3 s ago: HEALTHY → FAILED → HEALTHY · primary primary-db → replica-3 · …"."""
    first, last = episode[0], episode[-1]
    words = episode_states(episode)
    parts = [" → ".join(words)] if len(words) > 1 else []
    if first.primary != last.primary:
        parts.append(f"primary {first.primary or 'none'} → {last.primary or 'none'}")
    if first.timeline != last.timeline:
        parts.append(f"timeline {first.timeline} → {last.timeline}")
    if first.read_only != last.read_only:
        parts.append("read-only on" if last.read_only else "read-only off")
    flips = _runs("on" if change.paused else "off" for change in episode)
    if len(flips) > 1:
        # Every flip, not only first against last: paused and resumed within one story is news.
        parts.append("maintenance mode " + " → ".join(flips[1:]))
    if not parts:
        parts.append("changed and back")
    return f"changed {age_text(now - last.t, precise=False)} ago: " + " · ".join(parts)


def _runs(words: Iterable[str]) -> list[str]:
    """The words with repeats in a row dropped: on, on, off → on, off."""
    out: list[str] = []
    for word in words:
        if not out or out[-1] != word:
            out.append(word)
    return out


def episode_states(episode: Sequence[Change]) -> tuple[str, ...]:
    return tuple(_runs(cluster_style(change.state)[0] for change in episode))


def candidate_cell(cluster: DbCluster, member: DbMember, lag_limit: int) -> Cell:
    """Whether this member may take over, in plain words, before the operator asks."""
    if member.role == "primary" or member.name == cluster.primary:
        return Cell("— current primary", DIM)
    switch = member_eligibility(cluster, member, "switchover", lag_limit)
    fail = member_eligibility(cluster, member, "failover", lag_limit)
    tooltip = f"switchover: {switch.reason}\nfailover: {fail.reason}"
    amber = Health.WARNING
    if switch.eligible and fail.eligible:
        return Cell("switchover ✓ / failover ✓", Health.HEALTHY, False, tooltip)
    if switch.reason == fail.reason:
        return Cell(f"✗ {fail.reason}", amber, False, tooltip)
    if fail.eligible:
        # Only the switchover is refused, and its reason names the way out ("use failover").
        return Cell(switch.reason, amber, False, tooltip)
    text = f"switchover {_mark(switch.eligible, switch.reason)} / "
    return Cell(text + f"failover {_mark(fail.eligible, fail.reason)}", amber, False, tooltip)


def _mark(eligible: bool, reason: str) -> str:
    return "✓" if eligible else f"✗ {reason}"


UNREACHABLE_TIP = "its REST API does not answer; the other members' view of it is shown"
UNKNOWN_LAG_TIP = "Patroni cannot tell how far behind it is"
RESTART_TIP = "a changed setting takes effect only when PostgreSQL restarts on this member"
NO_CHECKS_TIP = (
    "Patroni counts no failed checks: it fails over when the leader stops renewing its lock"
)


def healthy_cell(member: DbMember) -> Cell:
    """ "✓ healthy", or the backend's own state words ("✓ streaming", "✗ stopped")."""
    red, green = Health.CRITICAL, Health.HEALTHY
    if not member.reachable:
        return Cell("✗ unreachable", red, tooltip=UNREACHABLE_TIP)
    if member.state_words is not None:
        mark = "✓" if member.healthy else "✗"
        return Cell(f"{mark} {member.state_words}", green if member.healthy else red)
    return Cell("✓ healthy", green) if member.healthy else Cell("✗ unhealthy", red)


def lag_cell(cluster: DbCluster, member: DbMember, lag_limit: int) -> Cell:
    """The lag in human units; "unknown" where the backend cannot tell (never 0)."""
    amber = Health.WARNING
    limit = lag_limit if cluster.max_lag_bytes is None else cluster.max_lag_bytes
    over = member.lag_bytes > limit
    if member.role == "primary":
        return Cell(NO_DATA, amber if over else None)
    if not member.lag_known:
        return Cell("unknown", amber, tooltip=UNKNOWN_LAG_TIP)
    tooltip = None
    if over and cluster.max_lag_bytes is not None:
        tooltip = f"more than maximum_lag_on_failover ({human_bytes(limit)}): it may not take over"
    return Cell(human_bytes(member.lag_bytes), amber if over else None, tooltip=tooltip)


def timeline_cell(cluster: DbCluster, member: DbMember) -> Cell:
    """Its timeline, amber when behind the cluster's; "—" where the backend does not know it
    (Patroni gives none for a stopped member)."""
    if member.timeline == 0 and member.state_words is not None:
        return Cell(NO_DATA, DIM, tooltip="Patroni does not say its timeline")
    return Cell(
        str(member.timeline), Health.WARNING if member.timeline < _timeline(cluster) else None
    )


def checks_cell(cluster: DbCluster, member: DbMember) -> Cell:
    """Failed health checks (the reference backend's notion); a pending restart elsewhere."""
    failures, threshold = member.consecutive_failures, cluster.failure_threshold
    if member.state_words is not None and failures == 0:
        if member.pending_restart:
            return Cell("⟳ restart pending", Health.WARNING, tooltip=RESTART_TIP)
        return Cell(NO_DATA, DIM, tooltip=NO_CHECKS_TIP)
    red, amber = Health.CRITICAL, Health.WARNING
    tone = red if failures >= threshold > 0 else amber if failures else None
    return Cell(f"{failures} / {threshold}", tone)


def _member_facts(member: DbMember) -> str | None:
    """What the backend adds about a member beyond the columns (Patroni's /patroni)."""
    facts = [member.wal_words] if member.wal_words else []
    if member.dcs_seen_ts is not None:
        facts.append(f"last reached the DCS at {clock_text(member.dcs_seen_ts)}")
    return "\n".join(facts) or None


def member_cells(
    cluster: DbCluster, member: DbMember, stale: bool, lag_limit: int = DEFAULT_LAG_LIMIT
) -> dict[str, Cell]:
    primary = member.role == "primary"
    cells = {
        "member": Cell(member.name, bold=primary, tooltip=_member_facts(member)),
        "role": Cell(member.role_words or member.role, bold=primary),
        "healthy": healthy_cell(member),
        "lag": lag_cell(cluster, member, lag_limit),
        "timeline": timeline_cell(cluster, member),
        "checks": checks_cell(cluster, member),
        "candidate": candidate_cell(cluster, member, lag_limit),
    }
    if stale:  # last known values, greyed: nothing here is current
        cells = {k: Cell(c.text, DIM, c.bold, c.tooltip) for k, c in cells.items()}
    return cells


# ------------------------------------------------------------------ header and banners

MAINTENANCE = "MAINTENANCE"
ADVISORY = "READ-ONLY (advisory)"


def read_only_pending(cluster: DbCluster) -> tuple[str, ...]:
    """Members whose verified read-only setting is not yet the cluster's."""
    return tuple(
        m.name
        for m in ordered_members(cluster)
        if m.read_only is not None and m.read_only != cluster.read_only
    )


def read_only_words(cluster: DbCluster) -> str | None:
    """What an advisory or not yet applied read-only means, or None when there is nothing to
    add to the badge."""
    pending = ", ".join(read_only_pending(cluster))
    if cluster.read_only and cluster.read_only_advisory:
        text = (
            "read-only is advisory: default_transaction_read_only is on, "
            "and sessions can override it"
        )
        return text + (f"; not yet in effect on {pending}" if pending else "")
    if not pending:
        return None
    if cluster.read_only:
        return f"read-only not yet in effect on {pending}"
    return f"read-only turned off, still in effect on {pending}"


def degraded_banner(cluster: DbCluster, trail: ClusterTrail | None, now: float) -> str | None:
    """The failover manager's "⚠ what is wrong — serving data N s old", if it said so."""
    if not cluster.message and cluster.data_age_s is None:
        return None
    parts = [cluster.message or "degraded"]
    if cluster.data_age_s is not None:
        grown = 0.0 if trail is None else max(0.0, now - trail.arrived)
        parts.append(f"serving data {age_text(cluster.data_age_s + grown, False)} old")
    return "⚠ " + " — ".join(parts)


def banner_lines(cluster: DbCluster, trail: ClusterTrail | None, now: float) -> tuple[str, ...]:
    """The amber lines under a cluster's header, most urgent first. Their glyphs are ones the
    common UI fonts have (DejaVu has no ⏸ or ⏲: they drew as empty boxes)."""
    lines = [degraded_banner(cluster, trail, now)]
    if cluster.paused:
        lines.append(
            "❚❚ maintenance mode: Patroni will not fail over by itself "
            f"(:resume {cluster.name} to end it)"
        )
    read_only = read_only_words(cluster)
    lines.append(None if read_only is None else f"⚠ {read_only}")
    if cluster.scheduled_switchover:
        lines.append(f"◷ switchover scheduled {cluster.scheduled_switchover}")
    return tuple(line for line in lines if line is not None)


def _speaks_for_itself(cluster: DbCluster) -> bool:
    """A backend with its own failover (Patroni) rather than the reference's health checks."""
    return any(m.state_words is not None or m.role_words is not None for m in cluster.members)


def cluster_tooltip(backend: str, cluster: DbCluster, word: str) -> str:
    lines = [f"{cluster.name} on {backend}: {word}"]
    if not _speaks_for_itself(cluster):
        lines.append(
            f"health check every {age_text(cluster.health_check_interval_s)}; failover after "
            f"{cluster.failure_threshold} failed checks of the primary"
        )
    elif cluster.paused:
        lines.append("maintenance mode: Patroni will not fail over by itself")
    else:
        lines.append("Patroni fails over by itself when the leader stops renewing its lock")
    if cluster.max_lag_bytes is not None:
        lines.append(
            f"a candidate may lag at most {human_bytes(cluster.max_lag_bytes)} "
            "(maximum_lag_on_failover)"
        )
    if cluster.synchronous_mode:
        lines.append("synchronous mode: only the sync standby may take over")
    read_only = read_only_words(cluster)
    if read_only is not None:
        lines.append(read_only)
    return "\n".join(lines)


def primary_failing(cluster: DbCluster, primary: DbMember) -> str | None:
    """What the header says of a primary in trouble before any failover, or None."""
    if primary.state_words is None:
        if primary.healthy:
            return None
        failures = primary.consecutive_failures
        return f"primary failing checks {failures} / {cluster.failure_threshold}"
    role = primary.role_words or "primary"
    if not primary.reachable:
        return f"{role} unreachable"
    return None if primary.healthy else f"{role} {primary.state_words}"


@dataclass(frozen=True)
class ClusterView:
    """Everything one cluster shows, computed in refresh."""

    backend: str
    cluster: DbCluster
    header: tuple[Segment, ...]
    state_word: str
    banners: tuple[str, ...]  # amber lines under the header: degraded, maintenance, read-only
    note: str | None  # the latest change story, dim
    states: tuple[str, ...]  # the states the header tells, oldest first
    members: dict[str, dict[str, Cell]]
    tooltip: str

    @property
    def header_text(self) -> str:
        return "".join(s.text for s in self.header).strip()

    @property
    def banner(self) -> str | None:
        """The banner lines as one text, or None when there is none."""
        return " — ".join(self.banners) if self.banners else None


def build_cluster(
    backend: str,
    cluster: DbCluster,
    trail: ClusterTrail | None,
    now: float,
    stale: bool,
    stale_age: float | None,
) -> ClusterView:
    word, health, glyph = cluster_style(cluster.state)
    tone = Health.UNKNOWN if stale else health
    text = DIM if stale else None
    if stale:
        shown = STALE if stale_age is None else stale_text(stale_age)
        state_word = STALE
        state_text = f"{shown} (was {word})"
        glyph = STALE_GLYPH
    else:
        state_word = state_text = word
    header = [
        Segment(f"{glyph} ", tone, bold=True),
        Segment(cluster.name, text, bold=True),
        Segment("  "),
        Segment(state_text, tone, bold=True),
        Segment(f"  primary: {cluster.primary or 'none'}", text),
        Segment(f"  timeline {_timeline(cluster)}", text),
    ]
    primary = next((m for m in cluster.members if m.name == cluster.primary), None)
    if primary is not None and cluster.state == "healthy" and not stale:
        failing = primary_failing(cluster, primary)
        if failing is not None:
            header.append(Segment(f"  {failing}", Health.WARNING))
    if cluster.read_only:
        header.append(Segment("  "))
        badge = ADVISORY if cluster.read_only_advisory else "READ-ONLY"
        header.append(Segment(badge, Health.WARNING, True, True))
    if cluster.paused:
        header.append(Segment("  "))
        header.append(Segment(MAINTENANCE, Health.WARNING, True, True))
    episode = trail.episode() if trail is not None else []
    note = None
    states: tuple[str, ...] = (state_word,)
    if episode and now - episode[-1].t < NOTE_S:
        note = describe_episode(episode, now)
        states = episode_states(episode)
    members = {m.name: member_cells(cluster, m, stale) for m in cluster.members}
    return ClusterView(
        backend,
        cluster,
        tuple(header),
        state_word,
        banner_lines(cluster, trail, now),
        note,
        states,
        members,
        cluster_tooltip(backend, cluster, word),
    )

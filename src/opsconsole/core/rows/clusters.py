"""Database-cluster rows: each cluster's header line, banner, change story and member cells."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

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
    Column("healthy", "Healthy", "Last health check of this member", "✗ unhealthy"),
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
    """One state of a cluster as first seen: a new state, primary, timeline or read-only flag."""

    t: float  # local monotonic time it arrived
    state: str
    primary: str | None
    timeline: int
    read_only: bool


class ClusterTrail:
    """The changes of one cluster, kept as they arrive: a failover can go healthy → failed →
    healthy within one batch of frames, and the operator must still see that it happened."""

    def __init__(self) -> None:
        self.changes: deque[Change] = deque(maxlen=TRAIL_KEPT)
        self.arrived = 0.0  # when the newest record came (for ages that grow between frames)

    def add(self, cluster: DbCluster, t: float) -> bool:
        """Record a record; True when it changed something that deserves a flash."""
        self.arrived = t
        change = Change(t, cluster.state, cluster.primary, _timeline(cluster), cluster.read_only)
        last = self.changes[-1] if self.changes else None
        if last is not None and change.timeline < last.timeline:
            # A timeline only grows within one history: lower means the backend restarted
            # (or the cluster was rebuilt). Not a transition to tell ("timeline 3 → 1"): the
            # story starts again from here.
            self.changes.clear()
            self.changes.append(change)
            return False
        if last is not None and (last.state, last.primary, last.timeline, last.read_only) == (
            change.state,
            change.primary,
            change.timeline,
            change.read_only,
        ):
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


def ordered_members(cluster: DbCluster) -> list[DbMember]:
    """The primary first (where the eye starts after a failover), then replicas by name."""
    return sorted(cluster.members, key=lambda m: (m.name != cluster.primary, m.name))


def _timeline(cluster: DbCluster) -> int:
    return max((m.timeline for m in cluster.members), default=0)


def describe_episode(episode: Sequence[Change], now: float) -> str:
    """ "changed 3 s ago: HEALTHY → FAILED → HEALTHY · primary primary-db → replica-3 · …"."""
    first, last = episode[0], episode[-1]
    words: list[str] = []
    for change in episode:
        word = cluster_style(change.state)[0]
        if not words or words[-1] != word:
            words.append(word)
    parts = [" → ".join(words)] if len(words) > 1 else []
    if first.primary != last.primary:
        parts.append(f"primary {first.primary or 'none'} → {last.primary or 'none'}")
    if first.timeline != last.timeline:
        parts.append(f"timeline {first.timeline} → {last.timeline}")
    if first.read_only != last.read_only:
        parts.append("read-only on" if last.read_only else "read-only off")
    if not parts:
        parts.append("changed and back")
    return f"changed {age_text(now - last.t, precise=False)} ago: " + " · ".join(parts)


def episode_states(episode: Sequence[Change]) -> tuple[str, ...]:
    words: list[str] = []
    for change in episode:
        word = cluster_style(change.state)[0]
        if not words or words[-1] != word:
            words.append(word)
    return tuple(words)


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


def member_cells(
    cluster: DbCluster, member: DbMember, stale: bool, lag_limit: int = DEFAULT_LAG_LIMIT
) -> dict[str, Cell]:
    red, amber, green = Health.CRITICAL, Health.WARNING, Health.HEALTHY
    primary = member.role == "primary"
    failures, threshold = member.consecutive_failures, cluster.failure_threshold
    cells = {
        "member": Cell(member.name, bold=primary),
        "role": Cell(member.role, bold=primary),
        "healthy": Cell("✓ healthy", green) if member.healthy else Cell("✗ unhealthy", red),
        "lag": Cell(
            NO_DATA if primary else human_bytes(member.lag_bytes),
            amber if member.lag_bytes > lag_limit else None,
        ),
        "timeline": Cell(
            str(member.timeline), amber if member.timeline < _timeline(cluster) else None
        ),
        "checks": Cell(
            f"{failures} / {threshold}",
            red if failures >= threshold > 0 else amber if failures else None,
        ),
        "candidate": candidate_cell(cluster, member, lag_limit),
    }
    if stale:  # last known values, greyed: nothing here is current
        cells = {k: Cell(c.text, DIM, c.bold, c.tooltip) for k, c in cells.items()}
    return cells


@dataclass(frozen=True)
class ClusterView:
    """Everything one cluster shows, computed in refresh."""

    backend: str
    cluster: DbCluster
    header: tuple[Segment, ...]
    state_word: str
    banner: str | None  # the degraded banner, amber
    note: str | None  # the latest change story, dim
    states: tuple[str, ...]  # the states the header tells, oldest first
    members: dict[str, dict[str, Cell]]
    tooltip: str

    @property
    def header_text(self) -> str:
        return "".join(s.text for s in self.header).strip()


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
    if primary is not None and not primary.healthy and cluster.state == "healthy" and not stale:
        header.append(
            Segment(
                f"  primary failing checks {primary.consecutive_failures} / "
                f"{cluster.failure_threshold}",
                Health.WARNING,
            )
        )
    if cluster.read_only:
        header.append(Segment("  "))
        header.append(Segment("READ-ONLY", Health.WARNING, True, True))
    banner = None
    if cluster.message or cluster.data_age_s is not None:
        parts = [cluster.message or "degraded"]
        if cluster.data_age_s is not None:
            grown = 0.0 if trail is None else max(0.0, now - trail.arrived)
            parts.append(f"serving data {age_text(cluster.data_age_s + grown, False)} old")
        banner = "⚠ " + " — ".join(parts)
    episode = trail.episode() if trail is not None else []
    note = None
    states: tuple[str, ...] = (state_word,)
    if episode and now - episode[-1].t < NOTE_S:
        note = describe_episode(episode, now)
        states = episode_states(episode)
    members = {m.name: member_cells(cluster, m, stale) for m in cluster.members}
    tooltip = (
        f"{cluster.name} on {backend}: {word}\nhealth check every "
        f"{age_text(cluster.health_check_interval_s)}; failover after "
        f"{cluster.failure_threshold} failed checks of the primary"
    )
    return ClusterView(
        backend, cluster, tuple(header), state_word, banner, note, states, members, tooltip
    )

"""The three tile boards of the wall: services, circuit breakers and database clusters."""

from __future__ import annotations

from collections.abc import Iterable

from opsconsole.core.health import Health, service_health, settled
from opsconsole.core.models import ConnectionState, DbCluster, DbMember
from opsconsole.core.rows.clusters import (
    ADVISORY,
    degraded_banner,
    ordered_members,
    read_only_pending,
)
from opsconsole.core.store import BackendState, Store
from opsconsole.ui import theme
from opsconsole.ui.panels.breakers import build_row as breaker_row
from opsconsole.ui.panels.breakers import state_style
from opsconsole.ui.panels.clusters import build_cluster, member_cells
from opsconsole.ui.panels.services import build_row as service_row
from opsconsole.ui.wall.tiles import Tile, TileBoard


def _stale_age(store: Store, name: str, state: BackendState) -> tuple[bool, float | None]:
    stale = state.link.state is not ConnectionState.LIVE
    return stale, (store.data_age(name) if stale else None)


def _unit(text: str, unit: str) -> str:
    """ "612 ms", but a bare "—" for no data: a unit after a dash reads like a value."""
    return text if text == "—" else f"{text} {unit}"


def _named(title: str, backend: str, many: bool) -> str:
    return f"{title} · {backend}" if many else title


class ServicesBoard(TileBoard):
    """One tile per service, worst first: its health word and the reason for it."""

    panel_id = "wall_services"
    title = "Services"

    def build_tiles(self) -> Iterable[Tile]:
        store = self.ctx.store
        many = len(store.backends) > 1
        rows = []
        for name, state in store.backends.items():
            stale, age = _stale_age(store, name, state)
            for service in state.services.values():
                # The settled values (medians of the last seconds), not the newest sample: a
                # tile flipping red/green on every noisy tick says nothing from across a room,
                # and the rotation holds on the same values.
                latest = settled(state.series.get(service.name))
                row = service_row(name, service, latest, age, stale)
                # Stale tiles say STALE big; the line under it keeps what was last known.
                was = service_health(latest, service.thresholds)
                if was.level is Health.UNKNOWN:
                    last_known = f"last known: {was.reason or 'no data'}"
                else:
                    word = theme.STATE_WORDS[was.level]
                    last_known = f"last known: {word}" + (f" — {was.reason}" if was.reason else "")
                rows.append((row, last_known))
        for row, last_known in sorted(rows, key=lambda r: r[0].sort_key):
            t = row.texts
            why = last_known if row.stale else (t["why"] or "all signals within limits")
            yield Tile(
                key=f"{row.backend}/{row.service}",
                title=_named(t["service"], row.backend, many),
                word=t["health"],
                health=row.health,
                lines=(
                    why,
                    f"p99 {_unit(t['p99'], 'ms')} · {_unit(t['rps'], 'rps')}",
                    f"errors {_unit(t['errors'], '%')} · CPU {_unit(t['cpu'], '%')}",
                ),
                stale=row.stale,
            )


class BreakersBoard(TileBoard):
    """One tile per circuit breaker, open first, with its countdown to the trial call."""

    panel_id = "wall_breakers"
    title = "Circuit breakers"

    def build_tiles(self) -> Iterable[Tile]:
        store = self.ctx.store
        wall = self.ctx.wall_clock()
        many = len(store.backends) > 1
        rows = []
        for name, state in store.backends.items():
            stale, age = _stale_age(store, name, state)
            server_now = store.server_now(name, wall)
            for circuit in state.circuits.values():
                rows.append(breaker_row(name, circuit, server_now, age, stale, ()))
        for row in sorted(rows, key=lambda r: r.sort_key):
            t = row.texts
            lines = [f"failures {t['failures']} · success {t['success']} %"]
            if row.state == "open" and not row.stale:
                lines.append(f"half-open in {t['half_open_in']}")
            elif t["since"] != "—":
                lines.append(f"{state_style(row.state).word} for {t['since']}")
            lines.append(f"{t['requests']} calls in 5 min")
            yield Tile(
                key=f"{row.backend}/{row.name}",
                title=_named(row.name, row.backend, many),
                word="STALE" if row.stale else state_style(row.state).word.upper(),
                health=row.health,
                lines=tuple(lines),
                stale=row.stale,
            )


class ClustersBoard(TileBoard):
    """Per cluster: a tile for the cluster, then one per member, the primary first."""

    panel_id = "wall_clusters"
    title = "Database clusters"

    def build_tiles(self) -> Iterable[Tile]:
        store = self.ctx.store
        many = len(store.backends) > 1
        now = self.ctx.clock()
        for name, state in sorted(store.backends.items()):
            stale, age = _stale_age(store, name, state)
            for cluster in sorted(state.clusters.values(), key=lambda c: c.name):
                view = build_cluster(name, cluster, None, now, stale, age)
                health = {"healthy": Health.HEALTHY, "degraded": Health.WARNING}.get(
                    cluster.state, Health.CRITICAL
                )
                if cluster.paused:
                    # Nothing fails over by itself: never shown as plainly fine.
                    health = max(health, Health.WARNING)
                yield Tile(
                    key=f"{name}/{cluster.name}",
                    title=_named(cluster.name, name, many),
                    word=view.state_word,
                    health=health,
                    lines=_cluster_lines(cluster, now),
                    stale=stale,
                )
                for member in ordered_members(cluster):
                    yield _member_tile(name, cluster, member, stale)


def _cluster_lines(cluster: DbCluster, now: float) -> tuple[str, ...]:
    """A cluster tile's lines: primary and timeline, then what holds it back, shortest words."""
    timeline = max((m.timeline for m in cluster.members), default=0)
    lines = [f"primary {cluster.primary or 'none'} · timeline {timeline}"]
    if cluster.paused:
        lines.append("MAINTENANCE MODE: no automatic failover")
    if cluster.read_only and cluster.read_only_advisory:
        lines.append(f"{ADVISORY}: sessions can override it")
    elif cluster.read_only:
        lines.append("READ-ONLY: writes refused")
    pending = ", ".join(read_only_pending(cluster))
    if pending:
        lines.append(f"read-only {'not yet' if cluster.read_only else 'still'} on {pending}")
    degraded = degraded_banner(cluster, None, now)
    if degraded:
        lines.append(degraded.removeprefix("⚠ "))
    if cluster.scheduled_switchover:
        lines.append(f"switchover scheduled {cluster.scheduled_switchover}")
    return tuple(lines)


def _member_tile(backend: str, cluster: DbCluster, member: DbMember, stale: bool) -> Tile:
    """A member's tile, from the same cells as the panel's row (unknown lag, unreachable)."""
    cells = member_cells(cluster, member, stale)
    primary = member.name == cluster.primary
    role = member.role_words or ("primary" if primary else "replica")
    lag = "" if primary else f"lag {cells['lag'].text} · "
    if member.state_words is None:
        last = f"failed checks {cells['checks'].text}"
    elif member.pending_restart:
        last = cells["checks"].text
    else:
        last = cells["candidate"].text
    # The healthy cell's own tone: an unreachable member is red even if the others see it run.
    sound = member.healthy and member.reachable
    return Tile(
        key=f"{backend}/{cluster.name}/{member.name}",
        title=member.name,
        word=role.upper(),
        health=Health.HEALTHY if sound else Health.CRITICAL,
        lines=(cells["healthy"].text, lag + f"timeline {cells['timeline'].text}", last),
        stale=stale,
    )

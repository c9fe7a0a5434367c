"""The three tile boards of the wall: services, circuit breakers and database clusters."""

from __future__ import annotations

from collections.abc import Iterable

from opsconsole.core.health import Health, service_health, settled
from opsconsole.core.models import ConnectionState
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
                timeline = max((m.timeline for m in cluster.members), default=0)
                lines = [f"primary {cluster.primary or 'none'} · timeline {timeline}"]
                if cluster.read_only:
                    lines.append("READ-ONLY: writes refused")
                if view.banner:
                    lines.append(view.banner.removeprefix("⚠ "))
                yield Tile(
                    key=f"{name}/{cluster.name}",
                    title=_named(cluster.name, name, many),
                    word=view.state_word,
                    health=health,
                    lines=tuple(lines),
                    stale=stale,
                )
                members = sorted(cluster.members, key=lambda m: (m.name != cluster.primary, m.name))
                for member in members:
                    cells = member_cells(cluster, member, stale)
                    primary = member.name == cluster.primary
                    yield Tile(
                        key=f"{name}/{cluster.name}/{member.name}",
                        title=member.name,
                        word="PRIMARY" if primary else "REPLICA",
                        health=Health.HEALTHY if member.healthy else Health.CRITICAL,
                        lines=(
                            cells["healthy"].text,
                            ("" if primary else f"lag {cells['lag'].text} · ")
                            + f"timeline {cells['timeline'].text}",
                            f"failed checks {cells['checks'].text}",
                        ),
                        stale=stale,
                    )

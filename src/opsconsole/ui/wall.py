"""Wall mode: a fullscreen, read-only, rotating NOC display sized from the screen it is on."""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QResizeEvent,
    QScreen,
)
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QLayout,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from opsconsole.core.alertsummary import firing_pages
from opsconsole.core.commands import Command, CommandError, CommandRegistry
from opsconsole.core.health import Health, service_health, settled
from opsconsole.core.models import ConnectionState, Thresholds
from opsconsole.core.store import BackendState, Store
from opsconsole.ui import theme
from opsconsole.ui.context import UiContext
from opsconsole.ui.panel import Panel
from opsconsole.ui.panels.alerts import AlertsPanel
from opsconsole.ui.panels.breakers import blend, state_style
from opsconsole.ui.panels.breakers import build_row as breaker_row
from opsconsole.ui.panels.clusters import build_cluster, member_cells
from opsconsole.ui.panels.services import SORT_RANK
from opsconsole.ui.panels.services import build_row as service_row
from opsconsole.ui.panels.signals import GoldenSignalsPanel
from opsconsole.ui.repaint import RepaintScheduler
from opsconsole.ui.statusbar import format_age

log = logging.getLogger(__name__)

# The playlist, in order; `--layout`-style subsets keep this order.
PAGES: tuple[str, ...] = ("services", "signals", "breakers", "clusters", "alerts")
PAGE_TITLES: dict[str, str] = {
    "services": "Services",
    "signals": "Golden signals",
    "breakers": "Circuit breakers",
    "clusters": "Database clusters",
    "alerts": "Alerts",
}
REFUSAL = "read-only wall display: {title} is disabled"
NOTICE_S = 6.0  # a refusal stays on the header this long
# A page keeps holding this long after its critical state was last seen: one noisy sample
# under the limit, or a breaker's half-open trial, must not rotate the incident off screen.
HOLD_GRACE_S = 5.0
CHROME_TICK_S = 0.5  # clock and ages: whole seconds, so twice a second is enough
BOARD_TICK_S = 0.5

# High contrast for distance: pure white text on the console's near-black background.
WALL_TEXT = "#ffffff"
WALL_BACKGROUND = theme.BACKGROUND
WALL_TILE = "#161b22"
BANNER_BACKGROUND = "#c9d1d9"  # stale is grey everywhere; light grey with black text reads far
BANNER_TEXT = "#05070a"


# ------------------------------------------------------------------ sizes from the screen


@dataclass(frozen=True)
class WallTheme:
    """Every size of the wall, in pixels, derived from the screen it is shown on."""

    width: int
    height: int
    base_px: int  # body text: a table row, a tile's detail line
    header_px: int  # the page title and the clock
    banner_px: int  # STALE: capital letters at least 1/12 of the screen height
    gap: int  # between tiles and around the edges

    @classmethod
    def for_size(cls, width: int, height: int) -> WallTheme:
        height = max(height, 240)
        width = max(width, 320)
        banner = QFont()
        banner.setBold(True)
        # Find the pixel size whose capital letters reach 1/12 of the height: cap height is
        # about 0.72 of the pixel size, but measure it rather than trust a font's proportions.
        px = math.ceil(height / 12 / 0.72)
        banner.setPixelSize(px)
        while QFontMetrics(banner).capHeight() < height / 12 and px < height:
            px += 2
            banner.setPixelSize(px)
        return cls(
            width=width,
            height=height,
            base_px=max(12, round(height / 45)),
            header_px=max(16, round(height / 26)),
            banner_px=px,
            gap=max(6, round(height / 90)),
        )

    @classmethod
    def for_screen(cls, screen: QScreen) -> WallTheme:
        geometry = screen.geometry()
        return cls.for_size(geometry.width(), geometry.height())

    def font(self, px: int, bold: bool = False, mono: bool = False) -> QFont:
        font = theme.mono_font() if mono else QFont()
        font.setPixelSize(max(1, px))
        font.setBold(bold)
        return font


# ------------------------------------------------------------------ read-only guard


class ReadOnlyGuard:
    """Swaps every mutating command of a registry for a refusal, until `release()`.

    The refusal is a CommandError with a plain message: menus, the palette, the command line
    and panel buttons already show those where the operator looks, and none opens a dialog.
    Commands registered while the guard is on are refused as well.
    """

    def __init__(
        self, registry: CommandRegistry, on_refused: Callable[[str], None] | None = None
    ) -> None:
        self.registry = registry
        self.on_refused = on_refused
        self.refusals: list[str] = []
        self._originals: dict[str, tuple[Command, Command]] = {}  # id → (original, refusal)
        self._installed = False

    @staticmethod
    def is_allowed(command: Command) -> bool:
        """Whether a read-only display may run this command."""
        return not command.mutating

    @staticmethod
    def message(command: Command) -> str:
        return REFUSAL.format(title=command.title)

    @property
    def installed(self) -> bool:
        return self._installed

    def install(self) -> ReadOnlyGuard:
        if self._installed:
            return self
        self._installed = True
        for command in list(self.registry):
            self._wrap(command)
        # Later registrations (a plugin, a lazily built palette) must be refused too. The
        # registry has no hook for that, so its bound method is shadowed on this instance
        # only, and the shadow is removed again on release.
        original_register = self.registry.register

        def register(command: Command) -> Command:
            registered = original_register(command)
            self._wrap(registered)
            return registered

        self.registry.register = register  # type: ignore[method-assign]
        return self

    def release(self) -> None:
        if not self._installed:
            return
        self._installed = False
        self.registry.__dict__.pop("register", None)
        commands = self._commands()
        for cid, (original, refusal) in self._originals.items():
            if commands.get(cid) is refusal:
                commands[cid] = original
        self._originals.clear()

    def _commands(self) -> dict[str, Command]:
        # CommandRegistry has no replace(); its dict is the one place a command lives.
        return self.registry._commands

    def _wrap(self, command: Command) -> None:
        if self.is_allowed(command) or command.id in self._originals:
            return
        text = self.message(command)

        def refuse(*_: Any, **__: Any) -> Any:
            self.refusals.append(text)
            if self.on_refused is not None:
                self.on_refused(text)
            raise CommandError(text)

        refusal = dataclasses.replace(command, handler=refuse)
        self._commands()[command.id] = refusal
        self._originals[command.id] = (command, refusal)


# ------------------------------------------------------------------ what is critical


def _live(store: Store) -> Iterator[tuple[str, BackendState]]:
    """Backends whose data is current: stale data cannot prove a critical state."""
    for name, state in store.backends.items():
        if state.link.state is ConnectionState.LIVE:
            yield name, state


def _more(reasons: list[str]) -> str | None:
    if not reasons:
        return None
    return reasons[0] + (f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else "")


def services_alarm(store: Store) -> str | None:
    """ "orders CRITICAL — p99 612 ms > 500 ms" for the most critical service, else None."""
    found: list[tuple[float, str, str]] = []
    for _, state in _live(store):
        for service in state.services.values():
            latest = settled(state.series.get(service.name))
            verdict = service_health(latest, service.thresholds)
            if latest is not None and verdict.level is Health.CRITICAL:
                name = service.display_name or service.name
                text = f"{name} CRITICAL — {verdict.reason}"
                # Furthest past its limit first: that is the one the room should look at.
                found.append((-_pressure(latest, service.thresholds), name, text))
    return _more([text for *_, text in sorted(found)])


def breakers_alarm(store: Store) -> str | None:
    reasons = [
        f"{circuit.name} circuit OPEN"
        for _, state in _live(store)
        for circuit in sorted(state.circuits.values(), key=lambda c: c.name)
        if circuit.state == "open"
    ]
    return _more(reasons)


def clusters_alarm(store: Store) -> str | None:
    reasons = [
        f"{cluster.name} {cluster.state.upper()}"
        + (f" — {cluster.message}" if cluster.message else "")
        for _, state in _live(store)
        for cluster in sorted(state.clusters.values(), key=lambda c: c.name)
        if cluster.state in ("failed", "degraded")
    ]
    return _more(reasons)


def alerts_alarm(store: Store) -> str | None:
    reasons = [
        f"{alert.service} {alert.rule} paging"
        for _, state in _live(store)
        for alert in sorted(state.alerts.values(), key=lambda a: -a.since_ts)
        if alert.state == "firing" and alert.severity == "page"
    ]
    return _more(reasons)


def _pressure(latest: Mapping[str, float], thresholds: Thresholds) -> float:
    """The largest signal-to-limit ratio: of two services in the same health, the nearer to
    (or further past) a limit is the worse one."""
    limits = {
        "latency_p99_ms": thresholds.latency_p99_ms,
        "error_ratio": thresholds.error_ratio,
        "cpu": thresholds.cpu,
        "memory": thresholds.memory,
    }
    ratios = [
        latest[k] / limit
        for k, limit in limits.items()
        if limit > 0 and math.isfinite(latest.get(k, math.nan))
    ]
    return max(ratios, default=0.0)


def worst_service(store: Store) -> tuple[str, str] | None:
    """(backend, service) in the worst health among live backends with data, or None."""
    best: tuple[tuple[int, float, str, str], tuple[str, str]] | None = None
    for name, state in _live(store):
        for service in state.services.values():
            latest = settled(state.series.get(service.name))
            if not latest:
                continue
            verdict = service_health(latest, service.thresholds)
            pressure = _pressure(latest, service.thresholds)
            rank = (SORT_RANK[verdict.level], -pressure, name, service.name)
            if best is None or rank < best[0]:
                best = (rank, (name, service.name))
    return None if best is None else best[1]


# ------------------------------------------------------------------ tile boards


@dataclass(frozen=True)
class Tile:
    """One box on a board: a name, its state word (coloured) and a few lines of detail."""

    key: str
    title: str
    word: str
    health: Health
    lines: tuple[str, ...] = ()
    stale: bool = False


def _tile_colours(tile: Tile) -> tuple[QColor, QColor, QColor, QColor]:
    """(fill, border, word, text) for a tile: critical is filled red, the rest outlined."""
    state = QColor(theme.STATE_COLOURS[Health.UNKNOWN if tile.stale else tile.health])
    white = QColor(WALL_TEXT)
    if tile.stale:
        return QColor(WALL_TILE), state, state, QColor(theme.TEXT_DIM)
    if tile.health is Health.CRITICAL:
        # Filled, so a red tile shows from across the room; white text stays readable on it.
        return blend(WALL_TILE, theme.STATE_COLOURS[Health.CRITICAL], 0.62), state, white, white
    if tile.health in (Health.WARNING, Health.FORCED):
        return blend(WALL_TILE, theme.STATE_COLOURS[tile.health], 0.16), state, state, white
    return QColor(WALL_TILE), state, state, white


class TileBoard(Panel):
    """A grid of tiles drawn with one QPainter pass, laid out to fill the page."""

    panel_id = "wall_board"
    title = "Board"
    wants_tick = True  # ages, countdowns and STALE move without news; rate-limited below

    def __init__(self, ctx: UiContext, wall_theme: WallTheme, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self.wall_theme = wall_theme
        self._tiles: tuple[Tile, ...] = ()
        self._last_refresh = -math.inf
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        store = ctx.store
        for signal in (
            store.services_changed,
            store.metrics_appended,
            store.circuit_changed,
            store.cluster_changed,
            store.connection_changed,
            store.snapshot_loaded,
        ):
            signal.connect(self.mark_dirty)

    def run_refresh(self, now: float) -> None:
        if not self.dirty and now - self._last_refresh < BOARD_TICK_S:
            return
        self._last_refresh = now
        super().run_refresh(now)

    def refresh(self, now: float) -> None:
        tiles = tuple(self.build_tiles())
        if tiles != self._tiles:
            self._tiles = tiles
            self.update()

    def build_tiles(self) -> Iterable[Tile]:  # pragma: no cover - every board overrides
        return ()

    @property
    def tiles(self) -> tuple[Tile, ...]:
        return self._tiles

    def tile(self, key: str) -> Tile:
        return next(t for t in self._tiles if t.key == key)

    def empty_text(self) -> str:
        return "Waiting for data…"

    # ------------------------------------------------------------ drawing

    def grid(self, n: int) -> tuple[int, int]:
        """(columns, rows) giving the largest tiles, preferring ones about twice as wide."""
        w, h = max(1, self.width()), max(1, self.height())
        best, best_score = (1, max(1, n)), -1.0
        for cols in range(1, max(1, n) + 1):
            rows = math.ceil(n / cols)
            tile_w, tile_h = w / cols, h / rows
            score = min(tile_w / 2.2, tile_h)
            if score > best_score:
                best, best_score = (cols, rows), score
        return best

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        painter.fillRect(self.rect(), QColor(WALL_BACKGROUND))
        tiles = self._tiles
        t = self.wall_theme
        stats = self.ctx.stats
        if tiles and stats.first_data_painted_at is None:
            # The wall's boards count as live data on screen (the self-test waits for it).
            stats.first_data_painted_at = time.monotonic()
        if tiles:
            stats.frames_painted += 1
        if not tiles:
            painter.setPen(QColor(theme.TEXT_DIM))
            painter.setFont(t.font(t.header_px))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.empty_text())
            painter.end()
            return
        cols, rows = self.grid(len(tiles))
        gap = t.gap
        tile_w = (self.width() - gap * (cols + 1)) / cols
        tile_h = (self.height() - gap * (rows + 1)) / rows
        # Very wide or tall cells would make giant text: cap a tile's height, centre the grid.
        tile_h = min(tile_h, tile_w * 0.75, self.height() * 0.45)
        top = (self.height() - (rows * tile_h + (rows - 1) * gap)) / 2
        for i, tile in enumerate(tiles):
            r, c = divmod(i, cols)
            rect = QRectF(gap + c * (tile_w + gap), top + r * (tile_h + gap), tile_w, tile_h)
            self._paint_tile(painter, tile, rect)
        painter.end()

    def _paint_tile(self, painter: QPainter, tile: Tile, rect: QRectF) -> None:
        fill, border, word_colour, text_colour = _tile_colours(tile)
        t = self.wall_theme
        thick = max(3.0, rect.height() / 40)
        painter.setPen(QPen(border, thick))
        painter.setBrush(fill)
        radius = min(12.0, rect.height() / 14)
        inset = thick / 2
        painter.drawRoundedRect(rect.adjusted(inset, inset, -inset, -inset), radius, radius)
        pad = max(thick * 2, rect.height() * 0.07)
        inner = rect.adjusted(pad, pad * 0.8, -pad, -pad * 0.8)
        h = inner.height()
        n_lines = len(tile.lines)
        # Fractions of the tile: the name, the state word (largest), then the lines.
        title_px = min(h * 0.2, t.header_px * 1.4)
        word_px = min(h * 0.27, t.header_px * 2.0)
        line_room = h - title_px * 1.2 - word_px * 1.2
        # Detail lines grow with the tile (few breakers: big tiles) up to the header size.
        line_px = min(h * 0.12, t.header_px * 0.9, line_room / max(1, n_lines) / 1.2)
        y = inner.top()
        y = self._text(painter, inner, y, tile.title, title_px, True, text_colour)
        y = self._text(painter, inner, y, tile.word, word_px, True, word_colour)
        for line in tile.lines:
            if y + line_px > inner.bottom() + 1 or line_px < 6:
                break
            y = self._text(painter, inner, y, line, line_px, False, text_colour)

    def _text(
        self,
        painter: QPainter,
        inner: QRectF,
        y: float,
        text: str,
        px: float,
        bold: bool,
        colour: QColor,
    ) -> float:
        font = self.wall_theme.font(round(px), bold)
        metrics = QFontMetrics(font)
        painter.setFont(font)
        painter.setPen(colour)
        shown = metrics.elidedText(text, Qt.TextElideMode.ElideRight, int(inner.width()))
        line_h = metrics.height()
        painter.drawText(
            QRectF(inner.left(), y, inner.width(), line_h),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            shown,
        )
        return y + line_h * 1.05


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


# ------------------------------------------------------------------ chrome: header and banner


class ElidedLabel(QLabel):
    """A plain-text label that shrinks with an ellipsis instead of widening the wall.

    A fullscreen window must never outgrow its screen: a long service name or hold reason
    is cut ("…"), not pushed off the edge.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setTextFormat(Qt.TextFormat.PlainText)

    @property
    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str) -> None:
        if text != self._full:
            self._full = text
            self.setToolTip(text)
            self._elide()
            self.updateGeometry()

    def sizeHint(self) -> QSize:
        margins = self.contentsMargins()
        width = self.fontMetrics().horizontalAdvance(self._full) + margins.left() + margins.right()
        return QSize(width + 2, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        margins = self.contentsMargins()
        room = max(0, self.width() - margins.left() - margins.right())
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, room)
        if shown != self.text():
            self.setText(shown)


def link_words(store: Store, now: float | None = None) -> tuple[str, Health]:
    """ "LIVE · data 2 s old" while every backend is LIVE; else the worst link's word.

    The wall says it is live too, not only when it is stale: a frozen screen looks calm.
    """
    states = store.backends
    if not states:
        return "NO DATA", Health.UNKNOWN
    down = sorted(
        (name for name, state in states.items() if state.link.state is not ConnectionState.LIVE)
    )
    names = down or sorted(states)
    ages = [a for name in names if (a := store.data_age(name, now)) is not None]
    if down:
        word = states[down[0]].link.state.value.upper()
        health = Health.UNKNOWN
    else:
        word, health = "LIVE", Health.HEALTHY
    if not ages:
        return f"{word} · no data yet", Health.UNKNOWN
    age = max(ages)
    age_text = "< 1 s" if age < 1 else format_age(age, precise=False)
    return f"{word} · data {age_text} old", health


class WallHeader(Panel):
    """Page title, page dots and hint, hold and notices, pages firing, link and data age,
    DEMO, clock: one line across the top."""

    panel_id = "wall_header"
    title = "Wall header"
    wants_tick = True  # the clock

    def __init__(self, ctx: UiContext, wall_theme: WallTheme, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        t = wall_theme
        self._last_refresh = -math.inf
        self._notice_until = -math.inf
        rows = QVBoxLayout(self)
        rows.setContentsMargins(t.gap * 2, t.gap, t.gap * 2, t.gap)
        rows.setSpacing(t.gap // 2)
        layout = QHBoxLayout()
        layout.setSpacing(t.gap * 3)
        rows.addLayout(layout)
        self.page_title = ElidedLabel(self)
        self.page_title.setObjectName("wall_page_title")
        self.page_title.setFont(t.font(t.header_px, bold=True))
        self.dots = QLabel(self)
        self.dots.setFont(t.font(round(t.header_px * 0.7)))
        self.dots.setStyleSheet(f"color: {theme.TEXT_DIM};")
        # Someone walking up to the wall should know the arrows turn the pages.
        self.hint = QLabel("← → pages", self)
        self.hint.setObjectName("wall_hint")
        self.hint.setFont(t.font(round(t.header_px * 0.55)))
        self.hint.setStyleSheet(f"color: {theme.TEXT_DIM};")
        # Hold reason or a notice: a line of its own, shown only when there is something.
        self.status = ElidedLabel(self)
        self.status.setObjectName("wall_status")
        self.status.setFont(t.font(round(t.header_px * 0.8), bold=True))
        self.status.hide()
        self.demo = QLabel("DEMO", self)
        self.demo.setFont(t.font(round(t.header_px * 0.7), bold=True))
        self.demo.setStyleSheet(
            f"background: {theme.ACCENT}; color: {WALL_BACKGROUND}; padding: 2px 12px;"
            " border-radius: 4px;"
        )
        self.demo.setVisible(ctx.demo)
        # A backend whose TLS is not verified says so on the wall too, not only on the desk.
        self.insecure = QLabel(self)
        self.insecure.setObjectName("wall_insecure")
        self.insecure.setFont(t.font(round(t.header_px * 0.7), bold=True))
        self.insecure.setStyleSheet(
            f"background: {theme.STATE_COLOURS[Health.CRITICAL]}; color: {WALL_BACKGROUND};"
            " padding: 2px 12px; border-radius: 4px;"
        )
        self.insecure.hide()
        # Pages firing unmuted, on every page of the rotation, not only on the alerts page.
        self.firing = QLabel(self)
        self.firing.setObjectName("wall_firing")
        self.firing.setFont(t.font(round(t.header_px * 0.8), bold=True))
        self.firing.setStyleSheet(
            f"background: {theme.STATE_COLOURS[Health.CRITICAL]}; color: {WALL_TEXT};"
            " padding: 2px 12px; border-radius: 4px;"
        )
        self.firing.hide()
        self.link = QLabel(self)
        self.link.setObjectName("wall_link")
        self.link.setFont(t.font(round(t.header_px * 0.7), bold=True))
        self.clock = QLabel(self)
        self.clock.setObjectName("wall_clock")
        self.clock.setFont(t.font(t.header_px, bold=True, mono=True))
        for label in (
            self.page_title,
            self.dots,
            self.hint,
            self.status,
            self.firing,
            self.link,
            self.demo,
            self.insecure,
            self.clock,
        ):
            label.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout.addWidget(self.page_title)
        layout.addWidget(self.dots)
        layout.addStretch(1)
        layout.addWidget(self.firing)
        layout.addWidget(self.insecure)
        layout.addWidget(self.demo)
        layout.addWidget(self.clock)
        # A second, smaller line: hold or notice on the left; the link, its data's age and
        # the arrows on the right (one line would not fit a 16:9 screen's width).
        second = QHBoxLayout()
        second.setSpacing(t.gap * 3)
        rows.addLayout(second)
        second.addWidget(self.status, 10)
        second.addStretch(1)  # keeps the link on the right while there is no status
        second.addWidget(self.link)
        second.addWidget(self.hint)
        self.setStyleSheet(
            f"WallHeader {{ background: {WALL_TILE}; border-bottom: 2px solid {theme.BORDER}; }}"
            f"QLabel {{ color: {WALL_TEXT}; background: transparent; }}"
        )
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        #: Why the rotation holds now (None: not holding, or not rotating); set by WallMode.
        self.hold_source: Callable[[], str | None] = lambda: None
        self._notice = ""
        self._link_health: Health | None = None

    def run_refresh(self, now: float) -> None:
        if not self.dirty and now - self._last_refresh < CHROME_TICK_S:
            return
        self._last_refresh = now
        super().run_refresh(now)

    @property
    def status_text(self) -> str:
        """The hold reason or notice as shown in full ("" when none)."""
        return self.status.full_text if self.status.isVisible() else ""

    def show_page(self, title: str, index: int, count: int) -> None:
        self.page_title.set_full_text(title)
        self.dots.setText(
            " ".join(
                f'<span style="color:{WALL_TEXT}">●</span>' if i == index else "○"
                for i in range(count)
            )
        )
        self.mark_dirty()

    def notify(self, text: str) -> None:
        """A passing message (a refused command): shown for a few seconds, never a dialog."""
        self._notice = text
        self._notice_until = self.ctx.clock() + NOTICE_S
        self.mark_dirty()
        self.refresh(self.ctx.clock())

    def refresh(self, now: float) -> None:
        self.clock.setText(time.strftime("%H:%M:%S", time.localtime(self.ctx.wall_clock())))
        if self.ctx.clock() < self._notice_until:
            colour, text = theme.STATE_COLOURS[Health.WARNING], f"✖ {self._notice}"
        elif hold := self.hold_source():
            colour, text = theme.STATE_COLOURS[Health.CRITICAL], f"❚❚ HOLD — {hold}"
        else:
            colour, text = theme.TEXT_DIM, ""
        if self.status.full_text != text:
            self.status.set_full_text(text)
            self.status.setStyleSheet(f"color: {colour};")
        if self.status.isHidden() == bool(text):
            self.status.setVisible(bool(text))
        self.demo.setVisible(self.ctx.demo)
        insecure = sorted(
            name
            for name, state in self.ctx.store.backends.items()
            if state.info is not None and state.info.insecure
        )
        words = f"INSECURE: {', '.join(insecure)}" if insecure else ""
        if self.insecure.text() != words:
            self.insecure.setText(words)
            self.insecure.setVisible(bool(words))
        pages = firing_pages(self.ctx.store)
        firing = f"{pages} FIRING" if pages else ""
        if self.firing.text() != firing:
            self.firing.setText(firing)
            self.firing.setVisible(bool(firing))
        link, health = link_words(self.ctx.store)
        if self.link.text() != link:
            self.link.setText(link)
        if health is not self._link_health:  # a style sheet is costly: only on a change
            self._link_health = health
            self.link.setStyleSheet(f"color: {theme.STATE_COLOURS[health]};")


class StaleBanner(Panel):
    """STALE in capitals at least 1/12 of the screen high, with the data's age, on every page."""

    panel_id = "wall_stale"
    title = "Stale banner"
    wants_tick = True  # the age grows without news

    def __init__(self, ctx: UiContext, wall_theme: WallTheme, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        t = wall_theme
        self._last_refresh = -math.inf
        layout = QVBoxLayout(self)
        layout.setContentsMargins(t.gap * 2, t.gap, t.gap * 2, t.gap)
        layout.setSpacing(0)
        self.headline = QLabel(self)
        self.headline.setObjectName("wall_stale_headline")
        self.headline.setFont(t.font(t.banner_px, bold=True))
        self.headline.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.headline.setWordWrap(True)
        self.detail = QLabel(self)
        self.detail.setObjectName("wall_stale_detail")
        self.detail.setFont(t.font(round(t.header_px * 0.85), bold=True))
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail.setWordWrap(True)
        layout.addWidget(self.headline)
        layout.addWidget(self.detail)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(
            f"StaleBanner {{ background: {BANNER_BACKGROUND}; }}"
            f"QLabel {{ color: {BANNER_TEXT}; background: transparent; }}"
        )
        # Preferred, not Maximum: wrapped on a narrow screen, the headline needs the height
        # its width gives it (height-for-width), more than its one-line size hint.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.hide()
        store = ctx.store
        store.connection_changed.connect(self.mark_dirty)
        store.metrics_appended.connect(self.mark_dirty)

    def needs_refresh(self) -> bool:
        # Unlike a panel, it runs while hidden (it decides to show itself), but only while
        # the wall is on screen.
        return self.window().isVisible()

    def run_refresh(self, now: float) -> None:
        if not self.dirty and now - self._last_refresh < CHROME_TICK_S:
            return
        self._last_refresh = now
        super().run_refresh(now)

    @property
    def text(self) -> str:
        """Both lines as shown ("" when hidden)."""
        if self.isHidden():
            return ""
        return f"{self.headline.text()}\n{self.detail.text()}"

    def refresh(self, now: float) -> None:
        store = self.ctx.store
        stale: list[tuple[str, float | None, str]] = []
        for name, state in sorted(store.backends.items()):
            if state.link.state is ConnectionState.LIVE:
                continue
            stale.append((name, store.data_age(name), state.link.state.value))
        if not stale:
            if not self.isHidden():
                self.hide()
            return
        ages = [age for _, age, _ in stale if age is not None]
        age = format_age(max(ages), precise=False) if ages else None
        headline = "NO DATA" if age is None else f"STALE · data {age} old"
        margins = self.layout().contentsMargins()
        room = self.window().width() - margins.left() - margins.right()
        if self.headline.fontMetrics().horizontalAdvance(headline) > room and age is not None:
            headline = f"STALE\ndata {age} old"  # a narrow screen: two lines, never mid-phrase
        detail = " · ".join(
            f"{name}: {link}"
            + ("" if age is None else f", last data {format_age(age, precise=False)} ago")
            for name, age, link in stale
        )
        if self.headline.text() != headline:
            self.headline.setText(headline)
        if self.detail.text() != detail:
            self.detail.setText(detail)
        if self.isHidden():
            self.show()


# ------------------------------------------------------------------ the window


class WallWindow(QWidget):
    """The wall itself: a frameless top-level with the header, the banner and the pages."""

    escape_pressed = Signal()
    step_pressed = Signal(int)  # -1 / +1: previous / next page
    close_requested = Signal()

    def __init__(self, ctx: UiContext, wall_theme: WallTheme) -> None:
        super().__init__(None, Qt.WindowType.Window | Qt.WindowType.FramelessWindowHint)
        self.setObjectName("wall_window")
        self.setWindowTitle("opsconsole — wall")
        self.wall_theme = wall_theme
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        # Its own colours, whatever the application's theme: tables included.
        self.setStyleSheet(
            f"#wall_window {{ background: {WALL_BACKGROUND}; }}"
            f"#wall_window QLabel {{ color: {WALL_TEXT}; }}"
            f"#wall_window QTableView {{ background: {WALL_TILE}; color: {WALL_TEXT};"
            f" alternate-background-color: {theme.SURFACE_ALT}; border: none; }}"
            f"#wall_window QHeaderView::section {{ background: {theme.SURFACE_ALT};"
            f" color: {theme.TEXT_DIM}; border: none; border-bottom: 2px solid {theme.BORDER}; }}"
        )
        layout = QVBoxLayout(self)
        # The screen sets the size: no child's minimum may grow the wall past its edges.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.header = WallHeader(ctx, wall_theme, self)
        self.banner = StaleBanner(ctx, wall_theme, self)
        self.stack = QStackedWidget(self)
        self.stack.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout.addWidget(self.header)
        layout.addWidget(self.banner)
        layout.addWidget(self.stack, 1)
        self.pages: dict[str, QWidget] = {}

    def add_page(self, name: str, widget: QWidget) -> None:
        frame = QWidget(self.stack)
        frame.setObjectName(f"wall_page_{name}")
        inner = QVBoxLayout(frame)
        gap = self.wall_theme.gap
        inner.setContentsMargins(gap, gap, gap, gap)
        inner.addWidget(widget)
        self.stack.addWidget(frame)
        self.pages[name] = widget
        # Nothing on the wall takes the keyboard: Esc and the arrows must reach the window.
        for child in (widget, *widget.findChildren(QWidget)):
            child.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def show_page(self, name: str) -> None:
        widget = self.pages[name]
        self.stack.setCurrentWidget(widget.parentWidget())
        if isinstance(widget, Panel):
            widget.mark_dirty()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Escape:
            self.escape_pressed.emit()
        elif key in (Qt.Key.Key_Right, Qt.Key.Key_PageDown, Qt.Key.Key_Space):
            self.step_pressed.emit(1)
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_PageUp):
            self.step_pressed.emit(-1)
        else:
            super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.close_requested.emit()
        super().closeEvent(event)


# ------------------------------------------------------------------ styling reused panels


def style_signals_for_wall(panel: GoldenSignalsPanel, t: WallTheme) -> None:
    """Large ticks, titles and lines on a wall-owned signals panel (never the window's)."""
    panel.set_interactive(False)  # nobody zooms or hovers a wall: it always shows live
    for button in panel.findChildren(QPushButton):
        button.hide()  # the window buttons: nobody clicks a wall
    for label in panel.findChildren(QLabel, options=Qt.FindChildOption.FindDirectChildrenOnly):
        label.hide()  # the heading: the wall's header names the service instead
    panel.placeholder.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: {t.header_px}px;")
    tick = t.font(t.base_px, mono=True)
    label_width = QFontMetrics(tick).horizontalAdvance("88:88:88") + t.base_px * 2
    for plot in panel.plots:
        title = plot.titleLabel.text
        plot.setTitle(title, justify="left", size=f"{t.base_px}px")
        plot.layout.setRowFixedHeight(0, round(t.base_px * 1.7))
        plot.titleLabel.setMaximumHeight(round(t.base_px * 1.7))
        left = plot.getAxis("left")
        left.setStyle(tickFont=tick, tickTextOffset=max(4, t.base_px // 3))
        left.setTextPen(pg.mkPen(WALL_TEXT))
        left.setWidth(QFontMetrics(tick).horizontalAdvance("88888") + t.base_px)
        bottom = plot.getAxis("bottom")
        if bottom.isVisible():
            bottom.setStyle(tickFont=tick, tickTextOffset=max(4, t.base_px // 3))
            bottom.setTextPen(pg.mkPen(WALL_TEXT))
            bottom.setHeight(round(t.base_px * 2.0))
            _space_time_labels(bottom, label_width)
    for line in panel.threshold_lines.values():
        line.label.setFont(t.font(round(t.base_px * 0.8), bold=True))
    # 1 px lines vanish at five metres. The panel keeps its live and stale pens in private
    # maps that it swaps in on a stale change; widening them in place keeps both wide.
    width = max(2, round(t.height / 360))
    for pen in (*getattr(panel, "_pens", {}).values(), getattr(panel, "_stale_pen", None)):
        if pen is not None:
            pen.setWidth(width)
    for curve in panel.curves.values():
        pen = pg.mkPen(curve.opts["pen"])
        pen.setWidth(width)
        curve.setPen(pen)


def _space_time_labels(axis: pg.AxisItem, label_px: int) -> None:
    """The time axis spaces labels for a 9 pt font; scale the size it plans with instead."""
    planned = axis.tickSpacing
    factor = 96 / max(1, label_px)  # charts plan one label per 96 px

    def spacing(min_val: float, max_val: float, size: float) -> list[tuple[float, float]]:
        return planned(min_val, max_val, size * factor)

    axis.tickSpacing = spacing  # type: ignore[method-assign]


# ------------------------------------------------------------------ the controller


class WallHost(Protocol):
    """What the wall needs of the console window (MainWindow has all of it)."""

    ctx: UiContext
    scheduler: RepaintScheduler

    def isVisible(self) -> bool: ...
    def hide(self) -> None: ...
    def show(self) -> None: ...
    def close(self) -> bool: ...
    def windowState(self) -> Qt.WindowState: ...
    def setWindowState(self, state: Qt.WindowState) -> None: ...


class WallMode(QObject):
    """Turns a console into a wall display and back: `enter()`, `leave()`, `active`.

    The wall is its own frameless top-level on the chosen screen; the main window is hidden
    while it shows (its docks, menus and shortcuts stay as they were, and none of its keys
    reach the wall). Pages are wall-owned views over the same store, sized for the screen;
    `panels` may supply the widget of a page instead: it is reparented into the wall for
    good, so pass a widget made for it, never a docked panel of the window.
    """

    entered = Signal()
    left = Signal()
    page_changed = Signal(str)

    def __init__(
        self,
        window: WallHost,
        *,
        screen: int | None = None,
        rotate_s: float | None = None,
        lock: bool = False,
        pages: Sequence[str] | None = None,
        panels: Mapping[str, QWidget] | None = None,
    ) -> None:
        super().__init__(window if isinstance(window, QObject) else None)
        self.window = window
        self.ctx: UiContext = window.ctx
        self.screen_index = screen
        self.rotate_s = rotate_s if rotate_s and rotate_s > 0 else None
        self.lock = lock
        chosen = tuple(pages) if pages else PAGES
        unknown = [p for p in chosen if p not in PAGE_TITLES]
        if unknown:
            raise ValueError(f"unknown wall pages {unknown}; expected some of {list(PAGES)}")
        self._pages = chosen
        self._supplied = dict(panels or {})
        self._index = 0
        self._active = False
        self.view: WallWindow | None = None
        self.wall_theme: WallTheme | None = None
        self.guard_handle: ReadOnlyGuard | None = None
        self._window_state = Qt.WindowState.WindowNoState
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._rotate)
        self.rotation_ticks = 0  # rotation intervals elapsed (held ones included), for tests
        self._last_alarm: dict[str, tuple[str, float]] = {}
        self._alarms: dict[str, Callable[[], str | None]] = {
            "services": lambda: services_alarm(self.ctx.store),
            "signals": self._signals_alarm,
            "breakers": lambda: breakers_alarm(self.ctx.store),
            "clusters": lambda: clusters_alarm(self.ctx.store),
            "alerts": lambda: alerts_alarm(self.ctx.store),
        }
        closed = getattr(window, "closed", None)
        if closed is not None:
            closed.connect(self._window_closed)

    # ------------------------------------------------------------ read-only

    @staticmethod
    def is_allowed(command: Command) -> bool:
        """False for every command that changes anything outside the console."""
        return ReadOnlyGuard.is_allowed(command)

    @staticmethod
    def guard(
        registry: CommandRegistry, on_refused: Callable[[str], None] | None = None
    ) -> ReadOnlyGuard:
        """Refuse every mutating command of `registry` from now on; `.release()` undoes it."""
        return ReadOnlyGuard(registry, on_refused).install()

    # ------------------------------------------------------------ state

    @property
    def active(self) -> bool:
        return self._active

    @property
    def pages(self) -> tuple[str, ...]:
        return self._pages

    @property
    def current_page(self) -> str:
        return self._pages[self._index]

    @property
    def hold_reason(self) -> str | None:
        """Why the current page holds the rotation (its critical state), or None.

        A critical state seen within the last HOLD_GRACE_S still holds, so a flickering
        signal does not let the rotation slip away from the incident.
        """
        page = self.current_page
        reason = self.page_alarm(page)
        now = self.ctx.clock()
        if reason is not None:
            self._last_alarm[page] = (reason, now)
            return reason
        seen = self._last_alarm.get(page)
        if seen is not None and now - seen[1] < HOLD_GRACE_S:
            return seen[0]
        return None

    @property
    def holding(self) -> bool:
        return self.hold_reason is not None

    def page_alarm(self, page: str) -> str | None:
        """The critical state a page shows (from the live store), or None."""
        return self._alarms[page]()

    def page_widget(self, page: str) -> QWidget:
        view = self._build()
        return view.pages[page]

    def screen(self) -> QScreen:
        screens = QGuiApplication.screens()
        if self.screen_index is None:
            return QGuiApplication.primaryScreen()
        if 0 <= self.screen_index < len(screens):
            return screens[self.screen_index]
        log.warning(
            "wall: no screen %d (there are %d); using the primary screen",
            self.screen_index,
            len(screens),
        )
        return QGuiApplication.primaryScreen()

    # ------------------------------------------------------------ enter and leave

    def enter(self) -> None:
        if self._active:
            return
        view = self._build()
        self._active = True
        self.guard_handle = ReadOnlyGuard(self.ctx.commands, view.header.notify).install()
        self._window_state = self.window.windowState()
        QApplication.setOverrideCursor(Qt.CursorShape.BlankCursor)
        screen = self.screen()
        view.setScreen(screen)
        view.setGeometry(screen.geometry())
        view.showFullScreen()
        view.raise_()
        view.activateWindow()
        view.setFocus(Qt.FocusReason.OtherFocusReason)
        self.window.hide()
        self.show_page(self.current_page)
        self.entered.emit()

    def leave(self) -> None:
        """Back to the console window (Esc does this only without `lock`)."""
        if not self._active:
            return
        self._teardown()
        self.window.setWindowState(self._window_state)
        self.window.show()
        self.left.emit()

    def _teardown(self) -> None:
        self._active = False
        self._timer.stop()
        if self.guard_handle is not None:
            self.guard_handle.release()
            self.guard_handle = None
        QApplication.restoreOverrideCursor()
        if self.view is not None:
            self.view.hide()

    def _window_closed(self) -> None:
        # The console is quitting: put everything back, without showing anything.
        if self._active:
            self._teardown()

    def _escape(self) -> None:
        if self.lock:
            return
        self.leave()

    def _wall_closed(self) -> None:
        # Closed by the window manager: an unlocked wall goes back to the console; a locked
        # one quits the console rather than leave it unattended behind a closed wall.
        if not self._active:
            return
        if self.lock:
            self._teardown()
            self.window.close()
        else:
            self.leave()

    # ------------------------------------------------------------ pages

    def next_page(self) -> str:
        """The rotation step: hold on a page showing a critical state, else the next page."""
        if self.hold_reason is None and len(self._pages) > 1:
            self._go((self._index + 1) % len(self._pages))
        return self.current_page

    def _rotate(self) -> None:
        self.rotation_ticks += 1
        self.next_page()

    def show_page(self, page: str) -> None:
        """Show a page now (keys, tests), and start its rotation interval afresh."""
        self._go(self._pages.index(page))

    def step(self, delta: int) -> None:
        self._go((self._index + delta) % len(self._pages))

    def _go(self, index: int) -> None:
        self._index = index
        page = self.current_page
        if self.view is not None:
            if page == "signals":
                self._select_worst()
            self.view.show_page(page)
            self.view.header.show_page(self._page_title(page), index, len(self._pages))
            # The page should be up to date now, not at the next repaint tick.
            widget = self.view.pages[page]
            if isinstance(widget, Panel):
                widget.run_refresh(time.monotonic())
        if self._active and self.rotate_s is not None:
            self._timer.start(round(self.rotate_s * 1000))
        self.page_changed.emit(page)

    def _page_title(self, page: str) -> str:
        title = PAGE_TITLES[page]
        sel = self.ctx.selection
        if page == "signals" and sel.service is not None:
            title = f"{title} — {sel.service}"
        return title

    def _select_worst(self) -> None:
        worst = worst_service(self.ctx.store)
        if worst is not None:
            # The wall follows the worst service: showing it is no operator's pick.
            self.ctx.selection.select(*worst, picked=False)

    def _signals_alarm(self) -> str | None:
        sel = self.ctx.selection
        if sel.backend is None or sel.service is None:
            return None
        state = self.ctx.store.backends.get(sel.backend)
        if state is None or state.link.state is not ConnectionState.LIVE:
            return None
        service = state.services.get(sel.service)
        latest = settled(state.series.get(sel.service))
        if service is None or latest is None:
            return None
        verdict = service_health(latest, service.thresholds)
        if verdict.level is not Health.CRITICAL:
            return None
        return f"{service.display_name or service.name} CRITICAL — {verdict.reason}"

    # ------------------------------------------------------------ building

    def _build(self) -> WallWindow:
        if self.view is not None:
            return self.view
        t = self.wall_theme = WallTheme.for_screen(self.screen())
        view = self.view = WallWindow(self.ctx, t)
        made: list[Panel] = [view.header, view.banner]
        for page in self._pages:
            widget = self._supplied.get(page) or self._make_page(page, t)
            view.add_page(page, widget)
            if isinstance(widget, Panel) and page not in self._supplied:
                made.append(widget)
        # The window's one repaint timer drives the wall too; hidden, its pages cost nothing.
        self.window.scheduler.add(made)
        view.header.hold_source = lambda: self.hold_reason if self.rotate_s else None
        view.escape_pressed.connect(self._escape)
        view.step_pressed.connect(self.step)
        view.close_requested.connect(self._wall_closed)
        return view

    def _make_page(self, page: str, t: WallTheme) -> QWidget:
        ctx = self.ctx
        if page == "services":
            return ServicesBoard(ctx, t)
        if page == "breakers":
            return BreakersBoard(ctx, t)
        if page == "clusters":
            return ClustersBoard(ctx, t)
        if page == "signals":
            signals = GoldenSignalsPanel(ctx)
            style_signals_for_wall(signals, t)
            return signals
        alerts = AlertsPanel(ctx)
        # The alerts list is text to read, not tiles to glance at: a size up from the body.
        alerts.set_font_pixel_size(round(t.base_px * 1.3))
        alerts.set_command_bar_visible(False)
        alerts.set_fit_to_width(True)
        return alerts

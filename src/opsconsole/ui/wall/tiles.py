"""A board of tiles: the `Tile` record and the panel that paints a grid of them in one pass."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from opsconsole.core.health import Health
from opsconsole.ui import theme
from opsconsole.ui.context import UiContext
from opsconsole.ui.panel import Panel
from opsconsole.ui.panels.breakers import blend
from opsconsole.ui.wall.theme import WALL_BACKGROUND, WALL_TEXT, WALL_TILE, WallTheme

BOARD_TICK_S = 0.5  # ages, countdowns and STALE: whole seconds, so twice a second is enough


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

"""Wall mode: a fullscreen, read-only, rotating NOC display sized from the screen it is on.

One job per module: `theme` (sizes and colours from the screen), `guard` (the read-only
registry policy), `tiles` (a board of tiles painted in one pass), `boards` (the services,
breakers and clusters boards), `budgets` (the error budgets board), `chrome` (header and
STALE banner), `pages` (the playlist and each page's widget), `window` (the frameless
top-level), `mode` (the controller). The alarm rules are Qt-free and live in
`opsconsole.core.alarms`.
"""

from opsconsole.ui.wall.boards import BreakersBoard, ClustersBoard, ServicesBoard
from opsconsole.ui.wall.budgets import BudgetsBoard
from opsconsole.ui.wall.chrome import ElidedLabel, StaleBanner, WallHeader
from opsconsole.ui.wall.guard import REFUSAL, ReadOnlyGuard
from opsconsole.ui.wall.mode import WallHost, WallMode
from opsconsole.ui.wall.pages import PAGE_TITLES, PAGES, make_page, style_signals_for_wall
from opsconsole.ui.wall.theme import WallTheme
from opsconsole.ui.wall.tiles import Tile, TileBoard
from opsconsole.ui.wall.window import WallWindow

__all__ = [
    "PAGES",
    "PAGE_TITLES",
    "REFUSAL",
    "BreakersBoard",
    "BudgetsBoard",
    "ClustersBoard",
    "ElidedLabel",
    "ReadOnlyGuard",
    "ServicesBoard",
    "StaleBanner",
    "Tile",
    "TileBoard",
    "WallHeader",
    "WallHost",
    "WallMode",
    "WallTheme",
    "WallWindow",
    "make_page",
    "style_signals_for_wall",
]

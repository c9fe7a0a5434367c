"""The wall's sizes and colours, derived from the screen it is shown on."""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtGui import QFont, QFontMetrics, QScreen

from opsconsole.ui import theme

# High contrast for distance: pure white text on the console's near-black background.
WALL_TEXT = "#ffffff"
WALL_BACKGROUND = theme.BACKGROUND
WALL_TILE = "#161b22"
BANNER_BACKGROUND = "#c9d1d9"  # stale is grey everywhere; light grey with black text reads far
BANNER_TEXT = "#05070a"


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

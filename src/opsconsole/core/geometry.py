"""Where the main window goes on a screen: a size that fits, or maximised on a small screen."""

from __future__ import annotations

from dataclasses import dataclass

#: Share of the free screen a normal (not maximised) first window takes: the desktop shows,
#: and on a large screen (a 4K NOC monitor) the charts get the room: no fixed cap, which left
#: a 1760×1040 window in the middle of 3840×2160 with small type all around it.
SCREEN_SHARE = 0.92
#: Below this free area every pixel counts (1366×768, 1440×900, 1600×900 laptops): maximised.
SMALL_SCREEN = (1600, 1000)


@dataclass(frozen=True)
class Rect:
    """A rectangle in screen pixels (Qt's logical pixels)."""

    x: int
    y: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.x + self.width

    @property
    def bottom(self) -> int:
        return self.y + self.height


@dataclass(frozen=True)
class WindowFit:
    """The window's normal geometry, and whether it is shown maximised."""

    rect: Rect
    maximised: bool


def is_small(available: Rect) -> bool:
    return available.width < SMALL_SCREEN[0] or available.height < SMALL_SCREEN[1]


def first_fit(available: Rect) -> WindowFit:
    """The first window on a screen with this free area (work area: no panels, no dock)."""
    if is_small(available):
        # Maximised, and the normal geometry is the whole free area too: without a window
        # manager to honour "maximised" the window still fits.
        return WindowFit(available, maximised=True)
    width = int(available.width * SCREEN_SHARE)
    height = int(available.height * SCREEN_SHARE)
    x = available.x + (available.width - width) // 2
    y = available.y + (available.height - height) // 2
    return WindowFit(Rect(x, y, width, height), maximised=False)


def clamp_saved(saved: Rect, available: Rect, maximised: bool = False) -> WindowFit:
    """A geometry saved on another (larger) screen, made to fit this one.

    Never larger than the free area, and moved inside it; a saved window that fills the
    whole free area (or was maximised) is shown maximised.
    """
    width = min(saved.width, available.width)
    height = min(saved.height, available.height)
    x = min(max(saved.x, available.x), available.right - width)
    y = min(max(saved.y, available.y), available.bottom - height)
    fills = width == available.width and height == available.height
    return WindowFit(Rect(x, y, width, height), maximised=maximised or fills)

"""Where the first window goes: never larger than the screen, maximised on small screens."""

from __future__ import annotations

import pytest

from opsconsole.core.geometry import SCREEN_SHARE, Rect, WindowFit, clamp_saved, first_fit


def inside(rect: Rect, area: Rect) -> bool:
    return (
        rect.x >= area.x
        and rect.y >= area.y
        and rect.right <= area.right
        and rect.bottom <= area.bottom
    )


@pytest.mark.parametrize(
    "available",
    [
        Rect(0, 0, 1366, 740),  # 1366×768 laptop minus a panel
        Rect(0, 0, 1440, 870),
        Rect(0, 27, 1600, 873),  # a top bar: the work area starts below it
        Rect(0, 0, 1536, 824),  # 1920×1080 at 125 %
    ],
)
def test_a_small_screen_gets_a_maximised_window_of_its_free_area(available: Rect) -> None:
    assert first_fit(available) == WindowFit(available, maximised=True)


def test_a_full_hd_screen_gets_a_window_inside_its_free_area_centred() -> None:
    available = Rect(0, 0, 1920, 1040)
    fit = first_fit(available)
    assert not fit.maximised
    assert inside(fit.rect, available)
    assert fit.rect.width < available.width and fit.rect.height < available.height
    assert fit.rect.x - available.x == available.right - fit.rect.right


def test_a_large_screen_gives_the_window_the_same_share_not_a_small_island() -> None:
    available = Rect(2560, 0, 3840, 2110)  # the second monitor, right of the first
    fit = first_fit(available)
    assert (fit.rect.width, fit.rect.height) == (
        int(3840 * SCREEN_SHARE),
        int(2110 * SCREEN_SHARE),
    )
    assert inside(fit.rect, available) and not fit.maximised


def test_a_geometry_saved_on_a_larger_monitor_is_clamped_and_moved_on_screen() -> None:
    available = Rect(0, 0, 1366, 740)
    fit = clamp_saved(Rect(200, 100, 1760, 1040), available)
    assert fit.rect == available and fit.maximised


def test_a_saved_geometry_that_fits_is_kept() -> None:
    available = Rect(0, 0, 1920, 1040)
    saved = Rect(100, 80, 1200, 700)
    assert clamp_saved(saved, available) == WindowFit(saved, maximised=False)


def test_a_window_saved_off_screen_comes_back_inside() -> None:
    available = Rect(0, 0, 1920, 1040)
    fit = clamp_saved(Rect(3000, -50, 1200, 700), available)
    assert inside(fit.rect, available)
    assert (fit.rect.width, fit.rect.height) == (1200, 700)


def test_a_saved_maximised_window_stays_maximised() -> None:
    available = Rect(0, 0, 1920, 1040)
    assert clamp_saved(Rect(0, 0, 1000, 600), available, maximised=True).maximised

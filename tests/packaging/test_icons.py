"""The app icon: on the accent colour, high contrast, PNGs current with the SVG, all sizes."""

from __future__ import annotations

import tomllib
import xml.etree.ElementTree as ET
from fnmatch import fnmatch

import numpy as np
from PySide6.QtCore import QSize
from PySide6.QtGui import QImage

from opsconsole.ui import theme
from opsconsole.ui.icon import ICON_SIZES, app_icon, icon_dir
from tests.packaging.conftest import ROOT

SVG_NS = "{http://www.w3.org/2000/svg}"


def rgba(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1)
    return rows[:, : image.width() * 4].reshape(image.height(), image.width(), 4).astype(int)


def luminance(hex_colour: str) -> float:
    """WCAG relative luminance of #rrggbb."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def svg_colours() -> tuple[str, str]:
    tree = ET.parse(icon_dir() / "opsconsole.svg")
    rect = tree.getroot().find(f"{SVG_NS}rect")
    line = tree.getroot().find(f"{SVG_NS}polyline")
    assert rect is not None and line is not None
    return rect.get("fill", ""), line.get("stroke", "")


def test_the_icon_is_a_dark_pulse_on_the_accent_colour() -> None:
    fill, stroke = svg_colours()
    assert fill.lower() == theme.ACCENT.lower()
    assert contrast(fill, stroke) >= 4.5  # WCAG AA for the mark against its square


def test_every_png_size_is_current_with_the_svg(qapp, render_icons) -> None:
    assert render_icons.SIZES == ICON_SIZES
    for size in ICON_SIZES:
        committed = QImage(str(icon_dir() / f"opsconsole-{size}.png"))
        assert committed.size() == QSize(size, size), size
        fresh = render_icons.render(size)
        # Rendering may differ by a rounding step between CPUs; a stale PNG differs by far more.
        diff = np.abs(rgba(committed) - rgba(fresh)).max()
        assert diff <= 8, f"opsconsole-{size}.png is stale: run `make icons` (max diff {diff})"


def test_the_16_px_icon_keeps_both_tones(qapp) -> None:
    fill, stroke = svg_colours()
    pixels = rgba(QImage(str(icon_dir() / "opsconsole-16.png")))
    opaque = pixels[pixels[..., 3] == 255][:, :3]

    def near(hex_colour: str) -> float:
        target = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
        return float((np.abs(opaque - target).max(axis=1) <= 40).mean())

    # At 16 px the line must still be a clear mark on a clear square, not a blur.
    assert near(fill) >= 0.4
    assert near(stroke) >= 0.08


def test_app_icon_has_every_size(qapp) -> None:
    icon = app_icon()
    assert not icon.isNull()
    sizes = {(s.width(), s.height()) for s in icon.availableSizes()}
    assert sizes == {(n, n) for n in ICON_SIZES}
    assert icon.pixmap(QSize(16, 16)).size() == QSize(16, 16)


def test_pip_installs_carry_every_icon_file() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["opsconsole"]
    package = ROOT / "src" / "opsconsole"
    files = [p.relative_to(package).as_posix() for p in icon_dir().iterdir() if p.is_file()]
    assert len(files) == len(ICON_SIZES) + 1
    for name in files:
        assert any(fnmatch(name, pattern) for pattern in patterns), name

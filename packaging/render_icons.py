"""Render the app icon's PNG sizes from its SVG with QtSvg: `python packaging/render_icons.py`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ICON_DIR = Path(__file__).resolve().parent.parent / "src" / "opsconsole" / "resources" / "icons"
SVG = ICON_DIR / "opsconsole.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(size: int, svg: Path = SVG):
    """The SVG drawn at `size` x `size` pixels on a transparent background (a QImage)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    # Rendering needs a QGuiApplication (fonts, image plugins) but never a screen.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    for size in SIZES:
        out = ICON_DIR / f"opsconsole-{size}.png"
        if not render(size).save(str(out), "PNG"):
            print(f"could not write {out}", file=sys.stderr)
            return 1
        print(out.relative_to(ICON_DIR.parents[3]))
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())

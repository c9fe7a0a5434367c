"""The application icon: the packaged PNG sizes (rendered from the SVG) in one QIcon."""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

from PySide6.QtGui import QIcon

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICON_NAME = "opsconsole"


def icon_dir() -> Path:
    """The folder holding opsconsole.svg and opsconsole-<size>.png (pip install or bundle)."""
    # A pip install and the PyInstaller bundle both keep the icons as plain files, so the
    # resource path stays a real directory for as long as the process runs.
    with as_file(files("opsconsole") / "resources" / "icons") as path:
        return Path(path)


def app_icon() -> QIcon:
    """All seven PNG sizes, so window managers and taskbars pick pixels drawn for their size."""
    # PNGs only: an SVG added to the same QIcon would switch it to the SVG engine, which keeps
    # one pixmap per mode and would drop the hand-checked 16 and 24 px renderings.
    folder = icon_dir()
    icon = QIcon()
    for size in ICON_SIZES:
        png = folder / f"{ICON_NAME}-{size}.png"
        if png.is_file():
            icon.addFile(str(png))
    return icon

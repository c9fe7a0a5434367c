"""Screenshots for a human to look at, written only when OPSCONSOLE_SHOTS names a directory."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QWidget

SHOTS_VARIABLE = "OPSCONSOLE_SHOTS"


def shots_dir() -> Path | None:
    """The directory OPSCONSOLE_SHOTS names; None when unset (a normal run writes nothing)."""
    target = os.environ.get(SHOTS_VARIABLE)
    return Path(target) if target else None


def save_image(image: QPixmap | QImage, name: str) -> None:
    """Write an image already rendered in memory as `name` in the shots directory, if any."""
    target = shots_dir()
    if target is not None:
        assert image.save(str(target / name)), f"could not write {target / name}"


def save_shot(widget: QWidget, name: str) -> None:
    """Render `widget` and write it as `name` in the shots directory, if any."""
    if shots_dir() is not None:
        save_image(widget.grab(), name)

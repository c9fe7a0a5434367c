"""Saving and restoring the dock arrangement and window geometry between runs."""

from __future__ import annotations

import base64
import json
import logging
import os
from pathlib import Path

from PySide6.QtCore import QByteArray
from PySide6.QtWidgets import QMainWindow

log = logging.getLogger(__name__)

# Bump when the set of docks changes incompatibly: Qt ignores unknown versions on restore.
LAYOUT_VERSION = 1


class LayoutStore:
    """One JSON file of named layouts: {"layouts": {name: {"state": b64, "geometry": b64}}}."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"layouts": {}}
        except (OSError, ValueError) as exc:
            # A corrupt layout file must never stop the console from starting.
            log.warning("ignoring unreadable layout file %s: %s", self.path, exc)
            return {"layouts": {}}
        if not isinstance(data, dict) or not isinstance(data.get("layouts"), dict):
            return {"layouts": {}}
        return data

    def names(self) -> list[str]:
        return sorted(self._read()["layouts"])

    def save(self, window: QMainWindow, name: str = "last") -> None:
        data = self._read()
        data["layouts"][name] = {
            "state": _b64(window.saveState(LAYOUT_VERSION)),
            "geometry": _b64(window.saveGeometry()),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)  # atomic: a crash mid-write leaves the old file

    def restore(self, window: QMainWindow, name: str = "last", geometry: bool = True) -> bool:
        entry = self._read()["layouts"].get(name)
        if not isinstance(entry, dict):
            return False
        try:
            state = QByteArray(base64.b64decode(entry["state"]))
            if geometry and entry.get("geometry"):
                window.restoreGeometry(QByteArray(base64.b64decode(entry["geometry"])))
        except (KeyError, ValueError, TypeError) as exc:
            log.warning("ignoring broken layout %r: %s", name, exc)
            return False
        return bool(window.restoreState(state, LAYOUT_VERSION))


def _b64(data: QByteArray) -> str:
    return base64.b64encode(bytes(data.data())).decode("ascii")

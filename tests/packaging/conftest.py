"""Packaging test helpers: the scripts in packaging/ loaded by path (it is not a package)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"


def load_script(name: str) -> ModuleType:
    """Import packaging/<name>.py; a `packaging` package would shadow PyPI's `packaging`."""
    spec = importlib.util.spec_from_file_location(
        f"opsconsole_packaging_{name}", PACKAGING / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None, f"packaging/{name}.py is missing"
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def render_icons() -> ModuleType:
    return load_script("render_icons")


@pytest.fixture(scope="session")
def install_desktop() -> ModuleType:
    return load_script("install_desktop")

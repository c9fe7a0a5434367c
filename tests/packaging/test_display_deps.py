"""`make run`'s check for the libraries Qt's xcb plugin needs (packaging/display_deps.sh)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "packaging" / "display_deps.sh"
ALL = [
    "libxcb-cursor.so.0",
    "libxcb-icccm.so.4",
    "libxcb-keysyms.so.1",
    "libxcb-shape.so.0",
    "libxkbcommon-x11.so.0",
    "libEGL.so.1",
    "libGL.so.1",
    "libfontconfig.so.1",
    "libdbus-1.so.3",
]


def run_with_libraries(tmp_path: Path, libraries: list[str]) -> subprocess.CompletedProcess[str]:
    """Runs the check with a stand-in `ldconfig -p` that lists only `libraries`."""
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    listing = "".join(f"\\t{lib} (libc6,x86-64) => /usr/lib/{lib}\\n" for lib in libraries)
    (fake / "ldconfig").write_text(f'#!/bin/sh\nprintf "{listing}"\n')
    (fake / "ldconfig").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", str(SCRIPT), "--check"], capture_output=True, text=True, env=env, check=False
    )


def test_all_present_is_silent_and_succeeds(tmp_path: Path) -> None:
    result = run_with_libraries(tmp_path, ALL)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_missing_libraries_name_the_exact_packages_to_install(tmp_path: Path) -> None:
    result = run_with_libraries(tmp_path, [lib for lib in ALL if "cursor" not in lib])
    assert result.returncode == 1
    assert "sudo apt-get install -y --no-install-recommends libxcb-cursor0" in result.stderr
    assert "libxcb-icccm4" not in result.stderr  # only what is missing

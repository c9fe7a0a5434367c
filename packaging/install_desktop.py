"""Install (or remove) the desktop entry and icons for the built bundle, for the current user."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TEMPLATE = HERE / "opsconsole.desktop"
SOURCE_ICONS = ROOT / "src" / "opsconsole" / "resources" / "icons"
APP_ID = "opsconsole"  # = QGuiApplication.desktopFileName(), the Wayland app id
SIZES = (16, 24, 32, 48, 64, 128, 256)
# Characters that make the Desktop Entry spec require a quoted Exec argument.
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def data_home(environ: Mapping[str, str] = os.environ) -> Path:
    """$XDG_DATA_HOME if set to an absolute path (as the XDG spec says), else ~/.local/share."""
    value = environ.get("XDG_DATA_HOME", "")
    if value and Path(value).is_absolute():
        return Path(value)
    return Path.home() / ".local" / "share"


def exec_quote(path: str) -> str:
    """One Exec argument per the Desktop Entry spec, then escaped as a desktop-file string."""
    if any(ch in _RESERVED for ch in path):
        inner = "".join("\\" + ch if ch in '"`$\\' else ch for ch in path)
        path = f'"{inner}"'
    # The value is also a `string`: a backslash is written twice on top of the quoting.
    return path.replace("\\", "\\\\")


def render_entry(executable: Path, template: Path = TEMPLATE) -> str:
    """The template with Exec and TryExec pointing at the bundle's absolute path."""
    exe = exec_quote(str(executable))
    lines = []
    for line in template.read_text(encoding="utf-8").splitlines():
        if line.startswith("Exec="):
            line = f"Exec={exe}"
        elif line.startswith("TryExec="):
            line = f"TryExec={exe}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def icon_source(bundle: Path) -> Path:
    """The icons shipped inside the bundle (what the build used), else the source tree's."""
    inside = bundle / "_internal" / "opsconsole" / "resources" / "icons"
    return inside if (inside / f"{APP_ID}.svg").is_file() else SOURCE_ICONS


def targets(share: Path) -> list[Path]:
    """Every file this installer writes under `share`, for install and removal alike."""
    icons = share / "icons" / "hicolor"
    return [
        share / "applications" / f"{APP_ID}.desktop",
        icons / "scalable" / "apps" / f"{APP_ID}.svg",
        *[icons / f"{size}x{size}" / "apps" / f"{APP_ID}.png" for size in SIZES],
    ]


def _refresh_caches(share: Path) -> None:
    """Menus and docks pick the entry up sooner with fresh caches; none of this is required."""
    if shutil.which("update-desktop-database"):
        subprocess.run(
            ["update-desktop-database", "-q", str(share / "applications")],
            check=False,
            capture_output=True,
        )
    hicolor = share / "icons" / "hicolor"
    # Only refresh an icon cache that exists: starting one in a user's folder would hide icons
    # that other programs add there later without refreshing it.
    if (hicolor / "icon-theme.cache").exists() and shutil.which("gtk-update-icon-cache"):
        subprocess.run(
            ["gtk-update-icon-cache", "-q", "-t", "-f", str(hicolor)],
            check=False,
            capture_output=True,
        )


def install(bundle: Path, share: Path) -> list[Path]:
    executable = (bundle / APP_ID).resolve()
    if not (executable.is_file() and os.access(executable, os.X_OK)):
        raise FileNotFoundError(f"no built bundle at {bundle} (run `make bundle` first)")
    source = icon_source(bundle)
    desktop, svg, *pngs = targets(share)
    desktop.parent.mkdir(parents=True, exist_ok=True)
    desktop.write_text(render_entry(executable), encoding="utf-8")
    svg.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / f"{APP_ID}.svg", svg)
    for size, png in zip(SIZES, pngs, strict=True):
        png.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / f"{APP_ID}-{size}.png", png)
    _refresh_caches(share)
    return [desktop, svg, *pngs]


def uninstall(share: Path) -> list[Path]:
    removed = [path for path in targets(share) if path.exists()]
    for path in removed:
        path.unlink()
    _refresh_caches(share)
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--bundle", type=Path, default=ROOT / "dist" / APP_ID, help="the one-folder build"
    )
    parser.add_argument(
        "--data-home", type=Path, default=None, help="default: $XDG_DATA_HOME or ~/.local/share"
    )
    parser.add_argument("--uninstall", action="store_true", help="remove what install wrote")
    args = parser.parse_args(argv)
    share = args.data_home or data_home()
    try:
        done = uninstall(share) if args.uninstall else install(args.bundle, share)
    except (FileNotFoundError, OSError) as exc:
        print(f"install_desktop: {exc}", file=sys.stderr)
        return 1
    verb = "removed" if args.uninstall else "installed"
    for path in done:
        print(f"{verb} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

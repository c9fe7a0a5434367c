"""The desktop entry and `make install-desktop`: keys, Exec at the bundle, XDG dirs, icons."""

from __future__ import annotations

import configparser
import stat
from pathlib import Path

import pytest

from opsconsole.ui.icon import ICON_SIZES, icon_dir
from tests.packaging.conftest import PACKAGING


def read_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive in desktop files
    parser.read_string(path.read_text(encoding="utf-8"))
    return dict(parser["Desktop Entry"])


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """A stand-in for dist/opsconsole: only an executable `opsconsole` matters here."""
    folder = tmp_path / "dist" / "opsconsole"
    folder.mkdir(parents=True)
    exe = folder / "opsconsole"
    exe.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return folder


def test_the_entry_has_what_menus_and_docks_need() -> None:
    entry = read_entry(PACKAGING / "opsconsole.desktop")
    assert entry["Type"] == "Application"
    assert entry["Name"] == "opsconsole"
    assert entry["Comment"]
    assert entry["Icon"] == "opsconsole"  # a theme name: hicolor holds every size
    assert entry["Terminal"] == "false"
    assert entry["Categories"] == "Utility;Monitor;Network;"
    # Qt's X11 WM_CLASS is the application name (set to "opsconsole" by the app), and on
    # Wayland the app id is the desktop file name: both must lead the dock back to this entry.
    assert entry["StartupWMClass"] == "opsconsole"


def test_install_points_exec_at_the_bundle_and_copies_every_icon(
    install_desktop, bundle: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    share = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(share))
    assert install_desktop.main(["--bundle", str(bundle)]) == 0
    entry = read_entry(share / "applications" / "opsconsole.desktop")
    exe = str((bundle / "opsconsole").resolve())
    assert entry["Exec"] == exe
    assert entry["TryExec"] == exe
    assert entry["StartupWMClass"] == "opsconsole"
    for size in ICON_SIZES:
        png = share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "opsconsole.png"
        assert png.read_bytes() == (icon_dir() / f"opsconsole-{size}.png").read_bytes()
    svg = share / "icons" / "hicolor" / "scalable" / "apps" / "opsconsole.svg"
    assert svg.read_bytes() == (icon_dir() / "opsconsole.svg").read_bytes()
    assert "installed " in capsys.readouterr().out

    assert install_desktop.main(["--uninstall"]) == 0
    assert not (share / "applications" / "opsconsole.desktop").exists()
    assert not svg.exists()


def test_without_xdg_data_home_it_goes_to_local_share(
    install_desktop, bundle: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert install_desktop.main(["--bundle", str(bundle)]) == 0
    assert (
        tmp_path / "home" / ".local" / "share" / "applications" / "opsconsole.desktop"
    ).is_file()
    # A relative XDG_DATA_HOME is invalid by the XDG spec and is ignored the same way.
    assert install_desktop.data_home({"XDG_DATA_HOME": "relative/dir"}) == (
        tmp_path / "home" / ".local" / "share"
    )


@pytest.mark.parametrize(
    ("path", "exec_value"),
    [
        ("/opt/opsconsole/opsconsole", "/opt/opsconsole/opsconsole"),
        ("/home/ann/my apps/opsconsole", '"/home/ann/my apps/opsconsole"'),
        ("/home/ann/$x/opsconsole", '"/home/ann/\\\\$x/opsconsole"'),
    ],
)
def test_exec_is_quoted_as_the_spec_asks(install_desktop, path: str, exec_value: str) -> None:
    assert install_desktop.exec_quote(path) == exec_value


def test_a_missing_bundle_is_refused_and_nothing_is_written(
    install_desktop, tmp_path: Path, capsys
) -> None:
    share = tmp_path / "share"
    code = install_desktop.main(["--bundle", str(tmp_path / "nowhere"), "--data-home", str(share)])
    assert code == 1
    assert "make bundle" in capsys.readouterr().err
    assert not share.exists()

"""The desktop bundle: built by PyInstaller from packaging/opsconsole.spec, then run as shipped."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from opsconsole.ui.icon import ICON_SIZES
from tests.packaging.conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

# The target is 120 MB; the bundle measures ~203 MiB and cannot reach it while Qt
# links ICU (36 MiB of locale data) and numpy links OpenBLAS (27 MiB), and modules are kept as
# plain .pyc for a faster start (+15 MiB). Since issue 16 it also carries psycopg with its
# own libpq and TLS/Kerberos/LDAP libraries (~12.6 MiB, 216 MiB in all), which verifies a
# Patroni cluster's advisory read-only on each member. This budget catches regressions (a
# plugin set or a Qt module creeping back in); README "Desktop app (packaging)" has the figures.
SIZE_BUDGET_MIB = 222
SELF_TEST_TIMEOUT_S = 20.0

# Shared libraries the bundle leaves to the target system (PyInstaller's policy: glibc, the
# GL/EGL stack that must match the machine's drivers, libxcb itself, and Wayland's client
# libraries). README lists the Debian packages; anything else must be inside the bundle.
SYSTEM_LIBRARIES = re.compile(
    r"(ld-linux-x86-64\.so\.2|lib(c|m|dl|pthread|rt|util|resolv)\.so\.\d+"
    r"|lib(GL|EGL|GLX|OpenGL)\.so\.\d+|libxcb\.so\.1|libwayland-(client|cursor|egl)\.so\.\d+)$"
)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/opsconsole built into a temporary folder (the repository's dist/ is left alone)."""
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.fail("PyInstaller is not installed: `make test-slow` installs the [bundle] extra")
    out = tmp_path_factory.mktemp("bundle")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            str(out / "dist"),
            "--workpath",
            str(out / "build"),
            str(ROOT / "packaging" / "opsconsole.spec"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    folder = out / "dist" / "opsconsole"
    assert (folder / "opsconsole").is_file()
    return folder


def internal(bundle: Path) -> Path:
    return bundle / "_internal"


def plugins(bundle: Path, kind: str) -> set[str]:
    folder = internal(bundle) / "PySide6" / "Qt" / "plugins" / kind
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def run_bundle(bundle: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    return subprocess.run(
        [str(bundle / "opsconsole"), *args],
        capture_output=True,
        text=True,
        timeout=SELF_TEST_TIMEOUT_S + 60,
        env=env,
        check=False,
    )


def test_the_bundle_self_test_paints_live_demo_data(bundle: Path, tmp_path: Path) -> None:
    proc = run_bundle(
        bundle, tmp_path, "--self-test", "--demo", "--self-test-timeout", str(SELF_TEST_TIMEOUT_S)
    )
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-4000:])
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, proc.stdout
    report = json.loads(lines[-1])
    assert report["ok"] is True
    assert report["backend_state"] == "live"
    assert 0 < report["startup_s"] <= report["first_data_s"] < SELF_TEST_TIMEOUT_S
    assert "Traceback" not in proc.stderr


def test_the_bundle_stays_within_its_size_budget(bundle: Path) -> None:
    # As `du -sm` counts: allocated blocks, symlinks as links (not their targets).
    blocks = sum(p.lstat().st_blocks for p in bundle.rglob("*")) + bundle.lstat().st_blocks
    size_mib = blocks * 512 / 2**20
    assert size_mib <= SIZE_BUDGET_MIB, f"bundle is {size_mib:.0f} MiB"


def test_the_qt_plugins_the_app_needs_are_inside(bundle: Path) -> None:
    platforms = plugins(bundle, "platforms")
    assert {"libqxcb.so", "libqoffscreen.so"} <= platforms
    assert any(name.startswith("libqwayland") for name in platforms), platforms
    assert "libxdg-shell.so" in plugins(bundle, "wayland-shell-integration")
    assert "libqsvg.so" in plugins(bundle, "imageformats")
    assert "libqsvgicon.so" in plugins(bundle, "iconengines")
    assert "libcomposeplatforminputcontextplugin.so" in plugins(bundle, "platforminputcontexts")


def test_nothing_of_qml_webengine_or_translations_is_inside(bundle: Path) -> None:
    unwanted = re.compile(r"qml|quick|webengine|qtpdf|designer|libqgtk3", re.IGNORECASE)
    found = [p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if unwanted.search(p.name)]
    assert found == []
    qm = [p.name for p in bundle.rglob("*.qm")]
    assert all(name.endswith("_en.qm") for name in qm), qm
    for kind in ("egldeviceintegrations", "sqldrivers", "tls", "networkinformation", "generic"):
        assert plugins(bundle, kind) == set(), kind


def needed(path: Path) -> list[str]:
    """The DT_NEEDED entries of one ELF file (its direct link-time dependencies)."""
    out = subprocess.run(
        ["readelf", "--dynamic", "--wide", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def test_every_library_is_inside_or_a_documented_system_one(bundle: Path) -> None:
    names = {p.name for p in internal(bundle).rglob("*")}
    dangling = [p for p in bundle.rglob("*") if p.is_symlink() and not p.exists()]
    assert dangling == []
    outside: dict[str, str] = {}
    for path in internal(bundle).rglob("*.so*"):
        if path.is_symlink() or not path.is_file():
            continue
        for base in needed(path):
            if base not in names and not SYSTEM_LIBRARIES.match(base):
                outside[base] = path.relative_to(bundle).as_posix()
    # e.g. libxcb-icccm.so.4 missing on the build machine: `make bundle-deps` installs it.
    assert outside == {}


def frozen_modules(bundle: Path) -> set[str]:
    """Every Python module in the bundle: .pyc files under _internal, plus a PYZ archive if any."""
    from PyInstaller.archive.readers import CArchiveReader

    modules = set()
    for pyc in internal(bundle).rglob("*.pyc"):
        parts = list(pyc.relative_to(internal(bundle)).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules.add(".".join(parts))
    archive = CArchiveReader(str(bundle / "opsconsole"))
    if "PYZ.pyz" in archive.toc:
        modules |= set(archive.open_embedded_archive("PYZ.pyz").toc)
    return modules


def test_keyring_backends_survive_freezing(bundle: Path) -> None:
    entry_points = list(internal(bundle).glob("keyring-*.dist-info/entry_points.txt"))
    assert entry_points, "keyring's metadata (its backend entry points) is missing"
    assert "[keyring.backends]" in entry_points[0].read_text(encoding="utf-8")
    modules = frozen_modules(bundle)
    expected = {
        "keyring.backends.SecretService",
        "keyring.backends.kwallet",
        "keyring.backends.chainer",
        "keyring.backends.fail",
    }
    for optional in ("secretstorage", "jeepney"):
        if importlib.util.find_spec(optional) is not None:
            expected.add(optional)
    assert expected <= modules, expected - modules
    assert not {m for m in modules if m.startswith(("PySide6.QtQml", "PySide6.QtWebEngine"))}


def test_the_icons_travel_inside_the_bundle(bundle: Path) -> None:
    icons = internal(bundle) / "opsconsole" / "resources" / "icons"
    assert (icons / "opsconsole.svg").is_file()
    for size in ICON_SIZES:
        assert (icons / f"opsconsole-{size}.png").is_file(), size

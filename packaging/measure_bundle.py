"""Bundle figures for the README: size (as `du -sm`) and self-test medians, bundle vs source."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def du_mib(folder: Path) -> int:
    """Disk usage in MiB rounded up, counted like `du -sm` (blocks; symlinks not followed)."""
    blocks = folder.lstat().st_blocks + sum(p.lstat().st_blocks for p in folder.rglob("*"))
    return -(-blocks * 512 // 2**20)


def self_test(command: list[str], timeout_s: float) -> dict[str, object]:
    """One `--self-test --demo` run offscreen, with throw-away XDG folders."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "XDG_CONFIG_HOME": f"{tmp}/config",
            "XDG_STATE_HOME": f"{tmp}/state",
            "XDG_DATA_HOME": f"{tmp}/data",
        }
        proc = subprocess.run(
            [*command, "--self-test", "--demo", "--self-test-timeout", str(timeout_s)],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout_s + 60,
            check=False,
        )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    report = json.loads(lines[-1]) if lines else {"ok": False}
    report["exit"] = proc.returncode
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / "opsconsole")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument(
        "--no-source", action="store_true", help="skip the same runs from the source tree"
    )
    args = parser.parse_args(argv)
    commands = {"bundle": [str(args.bundle / "opsconsole")]}
    if not args.no_source:
        commands["source"] = [sys.executable, "-m", "opsconsole"]
    runs: dict[str, list[dict[str, object]]] = {name: [] for name in commands}
    # Interleaved, so that a busy moment on the machine hits both alike.
    for _ in range(args.runs):
        for name, command in commands.items():
            runs[name].append(self_test(command, args.timeout))
    result: dict[str, object] = {"bundle_mib": du_mib(args.bundle), "runs": args.runs}
    failed = False
    for name, reports in runs.items():
        ok = [r for r in reports if r.get("ok") and r.get("exit") == 0]
        failed |= len(ok) != len(reports)
        for key in ("startup_s", "first_data_s"):
            values = [float(r[key]) for r in ok]  # type: ignore[arg-type]
            result[f"{name}_{key}_median"] = round(statistics.median(values), 3) if values else None
            result[f"{name}_{key}_all"] = sorted(values)
        result[f"{name}_failed_runs"] = len(reports) - len(ok)
    print(json.dumps(result))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

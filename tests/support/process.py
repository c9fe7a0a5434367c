"""The `opsconsole` command as an operator runs it: a real subprocess with its own XDG folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run_console(
    *args: str, tmp_path: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    return subprocess.run(
        [sys.executable, "-m", "opsconsole", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def last_json(stdout: str) -> dict:
    """The self-test's report: the last JSON line on stdout."""
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    assert lines, f"no JSON line in {stdout!r}"
    return json.loads(lines[-1])

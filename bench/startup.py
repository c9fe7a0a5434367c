"""Startup benchmark: launch to the console's first painted live data, against a bare window.

Each run launches a process (offscreen) and times from just before `Popen` to the wall-clock
moment the process reports: the bare PySide6 + pyqtgraph window's first paint
(`bench/bare_window.py`), and the console's first painted live data (`opsconsole --demo
--self-test`, its `first_data_at`), from source and, when built, from the PyInstaller bundle.
Runs are interleaved (bare, source, bundle, bare, ...) so that a noisy moment hits all alike.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BARE = [sys.executable, str(ROOT / "bench" / "bare_window.py")]
# The console script the package installs beside this interpreter, as an operator starts it.
SOURCE = [str(Path(sys.executable).parent / "opsconsole"), "--demo", "--self-test"]
BUNDLE_EXE = ROOT / "dist" / "opsconsole" / "opsconsole"
TARGET_RATIO = 2.0
TIMEOUT_S = 60.0


def launch_to_stamp(command: list[str], key: str) -> float:
    """Seconds from just before launch to the wall-clock stamp `key` the process prints."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    # Bytecode cached as on an operator's machine (pip compiles on install; a checkout writes
    # __pycache__ on the first run): a box that forbids it would time the compiler instead.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    launched_at = time.time()
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            report = json.loads(line)
            if report.get(key) is not None:
                return float(report[key]) - launched_at
    raise RuntimeError(
        f"{command[0]} exited {done.returncode} without {key}: "
        f"{done.stdout[-500:]!r} {done.stderr[-500:]!r}"
    )


def bench_startup(runs: int) -> dict[str, object]:
    commands: dict[str, tuple[list[str], str]] = {
        "bare": (BARE, "first_paint_at"),
        "source": (SOURCE, "first_data_at"),
    }
    bundle_built = BUNDLE_EXE.is_file()
    if bundle_built:
        commands["bundle"] = ([str(BUNDLE_EXE), "--demo", "--self-test"], "first_data_at")
    for command, key in commands.values():
        launch_to_stamp(command, key)  # warm the page cache: the first launch reads from disk
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (command, key) in commands.items():
            times[name].append(launch_to_stamp(command, key))
    medians = {name: statistics.median(values) for name, values in times.items()}
    result: dict[str, object] = {
        "scenario": "startup",
        "what": "launch to first paint (bare PySide6 + pyqtgraph window) and to first painted "
        "live data (opsconsole --demo --self-test), offscreen, interleaved runs",
        "runs": runs,
        "bare_first_paint_s_median": round(medians["bare"], 3),
        "source_first_data_s_median": round(medians["source"], 3),
        "source_ratio_to_bare": round(medians["source"] / medians["bare"], 2),
        "source_s_all": [round(v, 3) for v in times["source"]],
        "bare_s_all": [round(v, 3) for v in times["bare"]],
        "target_ratio_to_bare": TARGET_RATIO,
    }
    if bundle_built:
        result["bundle_first_data_s_median"] = round(medians["bundle"], 3)
        result["bundle_ratio_to_bare"] = round(medians["bundle"] / medians["bare"], 2)
        result["bundle_s_all"] = [round(v, 3) for v in times["bundle"]]
    else:
        result["bundle"] = f"not built ({BUNDLE_EXE.relative_to(ROOT)} missing; `make bundle`)"
    worst = max(v for k, v in result.items() if k.endswith("_ratio_to_bare"))
    result["meets_target"] = worst <= TARGET_RATIO
    return result


if __name__ == "__main__":
    print(json.dumps(bench_startup(int(sys.argv[1]) if len(sys.argv) > 1 else 7)), flush=True)

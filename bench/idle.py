"""Idle benchmark: the console's CPU while connected to a backend that sends no new data.

The reference backend runs in its own process with a one-day sample period: it sends its
snapshot (and the first sample) at once, then only heartbeats (once a second) and WebSocket
pings, so the link stays LIVE and nothing new arrives. The console window runs offscreen in
another process, started as an operator would (`--url`), with a config, data and state folder
of its own. Once it has subscribed to the stream and had `SETTLE_S` to draw its first data,
its CPU time (utime + stime from /proc) is sampled over `SAMPLE_S`. The same-run baseline is
a bare PySide6 + pyqtgraph window (one plot with one curve) idling for as long.

Run alone: `QT_QPA_PLATFORM=offscreen .venv/bin/python bench/idle.py [--runs N]
[--console-src DIR]` (DIR: another checkout's `src`, e.g. the console before a change).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

SAMPLE_S = 20.0
SETTLE_S = 6.0  # after the subscription: first paint, backfill, the first SLO poll
SUBSCRIBE_TIMEOUT_S = 60.0
TARGET_PERCENT = 1.0
QUIET_TICK_S = 86_400  # the sim's sample period: one sample, then none for a day

BARE_WINDOW = """
import pyqtgraph as pg
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
window = QMainWindow()
plot = pg.PlotWidget()
plot.plot(list(range(100)), [i % 7 for i in range(100)])
window.setCentralWidget(plot)
window.resize(1280, 800)
window.show()
print("shown", flush=True)
app.exec()
"""

CONSOLE = "import sys; from opsconsole.app import main; sys.exit(main())"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (its threads included)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_percent(pid: int, seconds: float) -> float:
    """Percent of one core the process used over the next `seconds`."""
    t0, c0 = time.monotonic(), cpu_seconds(pid)
    time.sleep(seconds)
    t1, c1 = time.monotonic(), cpu_seconds(pid)
    return 100.0 * (c1 - c0) / (t1 - t0)


def isolated_env(home: Path, src: str | None = None) -> dict[str, str]:
    """The environment of a child: offscreen, and folders of its own (no operator's config)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(home))
    for var, sub in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_CACHE_HOME", ".cache"),
    ):
        env[var] = str(home / sub)
    if src is not None:
        env["PYTHONPATH"] = src
    return env


def wait_for_line(stream: IO[str], match: Callable[[str], bool], timeout_s: float) -> str:
    """The first line of a child's pipe that matches; later lines are drained in the background
    (a full pipe would block the child)."""
    found: list[str] = []
    done = threading.Event()

    def read() -> None:
        for line in stream:
            if not done.is_set() and match(line):
                found.append(line.strip())
                done.set()
        done.set()

    threading.Thread(target=read, daemon=True).start()
    if not done.wait(timeout_s) or not found:
        raise RuntimeError(f"no matching line within {timeout_s:.0f} s")
    return found[0]


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def console_idle(sample_s: float, src: str | None) -> float:
    """One run: quiet backend, console connected to it; percent of one core while idle."""
    with tempfile.TemporaryDirectory(prefix="opsconsole-idle-") as tmp:
        home = Path(tmp)
        sim = subprocess.Popen(
            [
                *(sys.executable, "-m", "opsconsole.sim.cli", "--port", "0", "--seed", "1"),
                *("--tick", str(QUIET_TICK_S), "--log-level", "DEBUG"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=isolated_env(home, src),
        )
        console: subprocess.Popen[str] | None = None
        try:
            assert sim.stdout is not None and sim.stderr is not None
            url = sim.stdout.readline().strip()
            if not url.startswith("http"):
                raise RuntimeError(f"the reference backend did not start: {url!r}")
            console = subprocess.Popen(
                [sys.executable, "-c", CONSOLE, "--url", url],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                text=True,
                env=isolated_env(home, src),
            )
            # The backend logs the console's subscription; the snapshot follows at once.
            wait_for_line(sim.stderr, lambda s: "stream subscribe" in s, SUBSCRIBE_TIMEOUT_S)
            time.sleep(SETTLE_S)
            if console.poll() is not None:
                raise RuntimeError(f"the console exited with {console.returncode}")
            return cpu_percent(console.pid, sample_s)
        finally:
            if console is not None:
                stop(console)
            stop(sim)


def bare_window_idle(sample_s: float) -> float:
    """Baseline: a bare PySide6 + pyqtgraph window with one plot, idling as long."""
    with tempfile.TemporaryDirectory(prefix="opsconsole-idle-") as tmp:
        proc = subprocess.Popen(
            [sys.executable, "-c", BARE_WINDOW],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=isolated_env(Path(tmp)),
        )
        try:
            assert proc.stdout is not None
            wait_for_line(proc.stdout, lambda s: s.startswith("shown"), SUBSCRIBE_TIMEOUT_S)
            time.sleep(SETTLE_S)
            return cpu_percent(proc.pid, sample_s)
        finally:
            stop(proc)


def bench_idle(runs: int, sample_s: float = SAMPLE_S, src: str | None = None) -> dict[str, object]:
    runs = max(1, min(runs, 3))  # each run is ~1 min of wall time (console and baseline)
    console = [console_idle(sample_s, src) for _ in range(runs)]
    bare = [bare_window_idle(sample_s) for _ in range(runs)]
    median, floor = statistics.median(console), statistics.median(bare)
    return {
        "scenario": "idle_cpu",
        "what": (
            f"console window connected to the reference backend sending only heartbeats, "
            f"CPU over {sample_s:g} s after first data, percent of one core"
        ),
        "runs": runs,
        "percent_of_core_median": round(median, 2),
        "percent_of_core_runs": [round(c, 2) for c in console],
        "baseline_bare_window_percent_median": round(floor, 2),
        "baseline_bare_window_percent_runs": [round(b, 2) for b in bare],
        "difference_vs_baseline_percent": round(median - floor, 2),
        "target_percent": TARGET_PERCENT,
        "meets_target": median <= TARGET_PERCENT,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=SAMPLE_S)
    parser.add_argument("--console-src", help="run the console from this source folder")
    args = parser.parse_args(argv)
    print(json.dumps(bench_idle(args.runs, args.seconds, args.console_src)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

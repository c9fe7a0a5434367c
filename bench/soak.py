"""`make soak`: the console's and the reference backend's memory over a long run at 1 Hz."""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LIMIT_MB_PER_H = 10.0  # targets.md: growth after the warm-up, console and backend each
OUT_DIR = Path(__file__).resolve().parent.parent / ".soak"
FULL_TAG = "full"  # the `make soak` run whose figures `make bench` reports
HEAP_EVERY_S = 10.0


@dataclass(frozen=True)
class Sample:
    """One reading of both processes."""

    t_s: float
    console_rss_kb: int
    sim_rss_kb: int
    console_cpu_s: float
    sim_cpu_s: float
    console_py_blocks: int


def rss_kb(pid: int) -> int:
    """VmRSS of a live process, in kB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def last_heap_blocks(path: Path) -> int:
    """The console's newest `sys.getallocatedblocks()` reading (written by `--as-console`)."""
    try:
        lines = path.read_text().split()
    except FileNotFoundError:
        return 0
    return int(lines[-1]) if lines else 0


def slope_per_h(ts: list[float], values: list[int]) -> float:
    """Least-squares growth of `values` over `ts` seconds, per hour."""
    if len(ts) < 2:
        return float("nan")
    return float(np.polyfit(np.asarray(ts), np.asarray(values, dtype=float), 1)[0]) * 3600


def summarize(samples: list[Sample], warmup_s: float, tag: str, args: dict[str, object]) -> dict:
    """The `soak_rss` JSON line: RSS at the end of warm-up and at the end, growth after it."""
    after = [s for s in samples if s.t_s >= warmup_s] or samples[-1:]
    ts = [s.t_s for s in after]
    out: dict[str, object] = {
        "scenario": "soak_rss",
        "tag": tag,
        "settings": args,
        "samples": len(samples),
        "duration_s": round(samples[-1].t_s, 1) if samples else 0,
        "warmup_s": warmup_s,
        "limit_mb_per_h": LIMIT_MB_PER_H,
    }
    for who in ("console", "sim"):
        rss = [getattr(s, f"{who}_rss_kb") for s in after]
        growth = slope_per_h(ts, rss) / 1024  # kB (KiB) to MB (MiB)
        out[f"{who}_rss_mb_at_warmup"] = round(rss[0] / 1024, 1)
        out[f"{who}_rss_mb_at_end"] = round(rss[-1] / 1024, 1)
        out[f"{who}_growth_mb_per_h"] = round(growth, 2)
        out[f"{who}_pass"] = bool(growth <= LIMIT_MB_PER_H)
        cpu = [getattr(s, f"{who}_cpu_s") for s in after]
        span = ts[-1] - ts[0]
        out[f"{who}_cpu_pct_after_warmup"] = (
            round(100 * (cpu[-1] - cpu[0]) / span, 1) if span else 0
        )
    blocks = [s.console_py_blocks for s in after]
    # pymalloc blocks only (objects up to 512 bytes): a cheap, honest sign of a Python leak.
    out["console_py_blocks_at_warmup"] = blocks[0]
    out["console_py_blocks_at_end"] = blocks[-1]
    out["console_py_blocks_growth_per_h"] = round(slope_per_h(ts, blocks))
    out["pass"] = bool(out["console_pass"] and out["sim_pass"])
    return out


def start_sim(
    services: int, tick_s: float, env: dict[str, str], log: Path
) -> tuple[subprocess.Popen, str]:
    """The reference backend on a free loopback port; its first stdout line is its URL."""
    command = [str(Path(sys.executable).parent / "opsconsole-sim"), "--port", "0"]
    command += ["--services", str(services), "--tick", str(tick_s), "--log-level", "WARNING"]
    sim = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        env=env,
    )
    assert sim.stdout is not None
    url = sim.stdout.readline().strip()
    if not url.startswith("http"):
        sim.kill()
        raise SystemExit(f"soak: the reference backend did not start (see {log})")
    return sim, url


def parse_env(pairs: list[str]) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in pairs)


def run_soak(args: argparse.Namespace) -> int:
    OUT_DIR.mkdir(exist_ok=True)
    tag = args.tag or (FULL_TAG if args.minutes >= 60 else f"{args.minutes:g}min")
    csv_path, json_path = OUT_DIR / f"soak-{tag}.csv", OUT_DIR / f"soak-{tag}.json"
    home = Path(tempfile.mkdtemp(prefix=f"soak-{tag}-", dir=OUT_DIR))
    heap_path = home / "heap.txt"
    base_env = dict(os.environ)
    # The console's files (settings, audit log, timeline) go to a throwaway folder.
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        base_env[var] = str(home / var.lower())
    sim, url = start_sim(
        args.services, args.tick, base_env | parse_env(args.sim_env), home / "sim.log"
    )
    console_env = base_env | {"QT_QPA_PLATFORM": "offscreen"} | parse_env(args.console_env)
    command = [sys.executable, __file__, "--as-console", str(heap_path), "--", "--url", url]
    console = subprocess.Popen(
        [*command, *args.console_arg],
        stdout=subprocess.DEVNULL,
        stderr=(home / "console.log").open("w"),
        env=console_env,
    )
    print(f"soak {tag}: sim pid {sim.pid} at {url}, console pid {console.pid}, CSV {csv_path}")
    samples: list[Sample] = []
    t0 = time.monotonic()
    try:
        with csv_path.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(Sample.__dataclass_fields__)
            while (elapsed := time.monotonic() - t0) <= args.minutes * 60:
                if console.poll() is not None or sim.poll() is not None:
                    raise SystemExit(f"soak: a process ended early (logs in {home})")
                sample = Sample(
                    round(elapsed, 1),
                    rss_kb(console.pid),
                    rss_kb(sim.pid),
                    round(cpu_s(console.pid), 2),
                    round(cpu_s(sim.pid), 2),
                    last_heap_blocks(heap_path),
                )
                samples.append(sample)
                writer.writerow(sample.__dict__.values())
                f.flush()
                time.sleep(max(0.0, args.interval - (time.monotonic() - t0 - elapsed)))
    finally:
        for proc in (console, sim):
            proc.send_signal(signal.SIGTERM)
        for proc in (console, sim):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    settings = {
        "minutes": args.minutes,
        "services": args.services,
        "tick_s": args.tick,
        "interval_s": args.interval,
        "console_env": args.console_env,
        "console_args": args.console_arg,
        "sim_env": args.sim_env,
    }
    result = summarize(samples, args.warmup_minutes * 60, tag, settings)
    result["csv"] = str(csv_path)
    json_path.write_text(json.dumps(result) + "\n")
    print(json.dumps(result), flush=True)
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)
    return 0 if result["pass"] else 1


def run_as_console(heap_path: str, argv: list[str]) -> int:
    """The console itself, with a thread noting the Python heap's block count every 10 s."""

    def note_heap() -> None:
        with open(heap_path, "a") as f:
            while True:
                f.write(f"{sys.getallocatedblocks()}\n")
                f.flush()
                time.sleep(HEAP_EVERY_S)

    threading.Thread(target=note_heap, name="soak-heap", daemon=True).start()
    from opsconsole.app import main

    return main(argv)


def bench_soak_rss(runs: int) -> dict[str, object]:
    """For `make bench`: the last `make soak` figures (the hour-long run is never part of it)."""
    path = OUT_DIR / f"soak-{FULL_TAG}.json"
    if not path.exists():
        return {"scenario": "soak_rss", "note": "no soak figures yet: run `make soak` (1 h)"}
    result = json.loads(path.read_text())
    result["note"] = f"from the last `make soak`, {path.name}, not re-run by `make bench`"
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--as-console"]:
        return run_as_console(argv[1], argv[3:])
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--minutes", type=float, default=60.0, help="length of the run (default 60)")
    p.add_argument("--warmup-minutes", type=float, default=5.0, help="not counted in the growth")
    p.add_argument("--services", type=int, default=200)
    p.add_argument(
        "--tick",
        type=float,
        default=1.0,
        help="sample period; shorter finds data-driven growth sooner",
    )
    p.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    p.add_argument("--tag", help="names the CSV and JSON in .soak/ (default: full or Nmin)")
    p.add_argument("--console-env", action="append", default=[], metavar="K=V")
    p.add_argument("--console-arg", action="append", default=[], help="e.g. --console-arg=--wall")
    p.add_argument("--sim-env", action="append", default=[], metavar="K=V")
    p.add_argument("--keep", action="store_true", help="keep the logs and the console's files")
    return run_soak(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

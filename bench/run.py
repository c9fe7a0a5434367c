"""`make bench`: each scenario prints one JSON object with medians and a same-run baseline ratio."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from idle import bench_idle  # bench/idle.py: the console's CPU with a backend gone quiet
from investigate import bench_investigate  # bench/investigate.py: one whole investigation
from loadtest import bench_loadtest  # bench/loadtest.py: 20 load-test criteria, 200 services
from opsconsole.backends.session import StreamSession
from opsconsole.backends.sse import SseParser
from opsconsole.core.models import METRIC_FIELDS
from opsconsole.core.protocol import encode
from opsconsole.core.store import Store
from overview import bench_overview  # bench/overview.py: 200 services, panel and wall page
from repaint import bench_repaint  # bench/repaint.py: run as a script, bench/ is on sys.path
from slo import bench_slo  # bench/slo.py: SLO maths of one refresh, 200 services
from soak import bench_soak_rss  # bench/soak.py: the last `make soak` figures, not re-run
from startup import bench_startup  # bench/startup.py: launch to first live data vs bare window


def metrics_frames(n_frames: int, n_services: int, start_seq: int = 1) -> list[bytes]:
    """Realistic metrics frames: one row per service per tick, a few nulls."""
    rng = np.random.default_rng(7)
    names = [f"svc-{i:03d}" for i in range(n_services)]
    frames = []
    t0 = 1_800_000_000.0
    for k in range(n_frames):
        # Latencies and rps in their units; error ratio, CPU and memory are 0..1 ratios.
        vals = rng.random((n_services, len(METRIC_FIELDS))) * np.array([40, 90, 300, 500, 1, 1, 1])
        rows = []
        for i, name in enumerate(names):
            row: list[object] = [name, t0 + k, *map(float, vals[i])]
            if (i + k) % 50 == 0:
                row[2] = None  # no traffic: no latency
            rows.append(row)
        frames.append(encode({"type": "metrics", "seq": start_seq + k, "rows": rows}))
    return frames


def hello_and_snapshot() -> list[bytes]:
    return [
        encode({"type": "hello", "version": "1", "epoch": "bench", "server_time": 1.0, "seq": 0}),
        encode({"type": "snapshot", "seq": 0, "ts": 1.0}),
    ]


def ingest_fast(frames: list[bytes]) -> int:
    store = Store(capacity=3600)
    session = StreamSession("bench")
    for raw in hello_and_snapshot():
        for ev in session.feed(raw).events:
            store.apply(ev)
    for raw in frames:
        for ev in session.feed(raw).events:
            store.apply(ev)
    return store.backend("bench").samples_ingested


def ingest_naive(frames: list[bytes]) -> int:
    """Baseline: stdlib json and a Python loop per field into lists."""
    series: dict[tuple[str, str], list[tuple[float, float]]] = {}
    n = 0
    for raw in frames:
        frame = json.loads(raw)
        for row in frame["rows"]:
            name, ts = row[0], row[1]
            for field, value in zip(METRIC_FIELDS, row[2:], strict=True):
                v = float("nan") if value is None else float(value)
                series.setdefault((name, field), []).append((ts, v))
                n += 1
    return n


def median_rate(fn: Callable[[list[bytes]], int], frames: list[bytes], runs: int) -> float:
    rates = []
    for _ in range(runs):
        t = time.perf_counter()
        n = fn(frames)
        rates.append(n / (time.perf_counter() - t))
    return statistics.median(rates)


def bench_ingest(runs: int) -> dict[str, object]:
    frames = metrics_frames(n_frames=600, n_services=200)
    expected = 600 * 200 * len(METRIC_FIELDS)
    assert ingest_fast(frames) == expected, "fast path lost samples"
    fast = median_rate(ingest_fast, frames, runs)
    naive = median_rate(ingest_naive, frames, runs)
    return {
        "scenario": "ingest_decode_store",
        "what": "200 services x 7 fields per frame, 600 frames: decode + validate + ring store",
        "runs": runs,
        "samples_per_s_median": round(fast),
        "baseline_naive_json_lists_samples_per_s_median": round(naive),
        "ratio_vs_baseline": round(fast / naive, 2),
        "target_samples_per_s": 100_000,
        "meets_target": fast >= 100_000,
    }


SSE_CHUNK_BYTES = 3200 * 1024


def bench_sse_chunk(runs: int) -> dict[str, object]:
    """The SSE parser on one 3.2 MiB chunk of small events (a burst read off a fast link)."""
    event = b'id: 1\ndata: {"type":"heartbeat","seq":1,"ts":1.0}\n\n'
    chunk = event * (SSE_CHUNK_BYTES // len(event))
    expected = SSE_CHUNK_BYTES // len(event)
    times = []
    for _ in range(runs):
        parser = SseParser()
        t = time.perf_counter()
        events = parser.feed(chunk)
        times.append(time.perf_counter() - t)
        assert len(events) == expected, "the parser lost events"
    median = statistics.median(times)
    return {
        "scenario": "sse_parse_large_chunk",
        "what": f"one {len(chunk) // 1024} KiB chunk of {expected} small SSE events",
        "runs": runs,
        "seconds_median": round(median, 4),
        "mib_per_s_median": round(len(chunk) / 2**20 / median, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    for scenario in (
        bench_ingest,
        bench_sse_chunk,
        bench_slo,
        bench_loadtest,
        bench_investigate,
        bench_repaint,
        bench_overview,
        bench_startup,
        bench_idle,
        bench_soak_rss,
    ):
        result = scenario(args.runs)
        # A scenario may give several lines (e.g. the repaint one: smooth and noise).
        for line in result if isinstance(result, list) else [result]:
            print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

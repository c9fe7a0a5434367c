"""The reference backend's memory is bounded: its kept history and its replay ring stop growing."""

from __future__ import annotations

import time
import tracemalloc

import httpx
import msgspec
import pytest

from opsconsole.core.models import METRIC_FIELDS
from opsconsole.core.protocol import HistoricalBody, MetricRows, MetricsFrame, decode_metric_rows
from opsconsole.sim.config import SimConfig
from opsconsole.sim.framelog import REPLAY_BYTES, FrameLog
from opsconsole.sim.world import World
from tests.unit.sim.sim_helpers import StartSim, body

T0 = 1_700_000_000.0


def rps_of(frames: list, service: str) -> float:
    """The service's requests per second in a tick's metrics frame, as a client decodes it."""
    (metrics,) = [f for f in frames if isinstance(f, MetricsFrame)]
    rows = decode_metric_rows(metrics.rows)
    assert isinstance(rows, MetricRows)
    return float(rows.values[rows.services.index(service), METRIC_FIELDS.index("rps")])


async def test_history_stays_at_its_bound_and_answers_with_the_newest_ticks(
    start_sim: StartSim,
) -> None:
    # A tick a minute: six hours are 360 ticks, so twice that many overflow the ring.
    server = await start_sim(SimConfig(tick_s=60.0, seed=3))
    world, history = server.world, server.world.history
    capacity = history.capacity
    assert capacity == 360
    first = time.time() + 120.0  # after any tick of the server's own clock
    sent: dict[float, float] = {}
    for k in range(2 * capacity):
        now = first + 60.0 * k
        sent[now] = rps_of(world.tick(now), "orders")
        assert len(history) == min(k + 1, capacity)
    newest = first + 60.0 * (2 * capacity - 1)
    params = {"service": "orders", "metric": "rps", "step": 60.0}
    async with httpx.AsyncClient(base_url=server.url, timeout=10.0) as client:
        got = await client.get(
            "/api/v1/metrics/historical", params={**params, "start": newest - 600, "end": newest}
        )
        recent = body(got, HistoricalBody).points
        got = await client.get(
            "/api/v1/metrics/historical",
            params={**params, "start": first, "end": first + 600},
        )
        dropped = body(got, HistoricalBody).points
    assert [t for t, _ in recent] == [newest - 600 + 60.0 * i for i in range(11)]
    # Kept as float32: the newest ticks' values, to float32's precision.
    assert [v for _, v in recent] == pytest.approx([sent[t] for t, _ in recent], rel=1e-6)
    assert [v for _, v in dropped] == [None] * 11  # the oldest hours left the ring


def test_replay_ring_of_200_services_stays_within_its_byte_bound() -> None:
    world = World(SimConfig(services=200, seed=5), T0)
    ticks = [world.tick(T0 + k) for k in range(400)]  # ~29 kB a metrics frame: over 8 MiB
    log = FrameLog("ep")
    held_bytes: list[int] = []
    tracemalloc.start()
    try:
        for frames in ticks:
            for frame in frames:
                log.append(frame)
            held = log.after(log.first_seq - 1)
            assert held is not None
            held_bytes.append(sum(map(len, held)))
        # What the ring really holds in memory, not only the frames' lengths.
        allocated, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert allocated < REPLAY_BYTES * 1.05
    assert max(held_bytes) <= REPLAY_BYTES
    assert held_bytes[-1] > REPLAY_BYTES - 64 * 1024  # full, dropping only the oldest
    assert log.first_seq > 1
    newest = log.after(log.last_seq - 1)
    assert newest is not None and msgspec.json.decode(newest[0])["seq"] == log.last_seq

"""The reference backend's shop API against a real SimServer: answers, bad input, and real
requests showing in the golden signals (rps, errors, latency) as a client of the Ops API sees."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections.abc import AsyncIterator

import httpx
import numpy as np
import pytest

from opsconsole.sim.sampling import TickDraw, segmented_quantiles
from opsconsole.sim.server import SimConfig, SimServer
from opsconsole.sim.shop import CATALOG, RealTally, merge_draw
from tests.support.waiting import wait_until
from tests.unit.sim.sim_helpers import StartSim, eventually

# The world at real time, sampled 20 times a second: windows and scenarios last as in production.
REAL_TIME = SimConfig(tick_s=0.05, seed=11, heartbeat_s=0.5)
ORDER = {"customer": "ada", "items": [{"sku": "sku-002", "quantity": 2}]}


async def place_orders(client: httpx.AsyncClient, count: int) -> list[httpx.Response]:
    return list(
        await asyncio.gather(*(client.post("/shop/orders", json=ORDER) for _ in range(count)))
    )


async def mean_signal(
    client: httpx.AsyncClient, service: str, metric: str, start: float, end: float
) -> float:
    """The mean of `metric` of `service` over its samples in [start, end) (server time)."""
    response = await client.get(
        "/api/v1/metrics/historical",
        params={
            "service": service,
            "metric": metric,
            "start": start,
            "end": start,
            "step": end - start,
        },
    )
    response.raise_for_status()
    values = [v for _, v in response.json()["points"] if v is not None]
    assert values, f"no {metric} samples of {service} in [{start}, {end})"
    return statistics.fmean(values)


async def current(client: httpx.AsyncClient, service: str, metric: str) -> float | None:
    realtime = (await client.get("/api/v1/metrics/realtime")).json()
    return realtime["services"][service][metric]


@pytest.fixture
async def shop(start_sim: StartSim) -> AsyncIterator[tuple[SimServer, httpx.AsyncClient]]:
    server = await start_sim(REAL_TIME)
    async with httpx.AsyncClient(base_url=server.url, timeout=10.0) as client:
        yield server, client


async def test_products_and_an_order_need_no_token_while_the_ops_api_still_does(
    start_sim: StartSim,
) -> None:
    server = await start_sim(SimConfig(tick_s=0.05, seed=3, token="s3cret"))
    async with httpx.AsyncClient(base_url=server.url, timeout=10.0) as client:
        products = await client.get("/shop/products")
        assert products.status_code == 200, products.text
        listed = products.json()["products"]
        assert [p["sku"] for p in listed] == [p.sku for p in CATALOG]
        assert all(p["price_cents"] > 0 and p["name"] for p in listed)

        placed = await client.post("/shop/orders", json=ORDER)  # no Idempotency-Key either
        assert placed.status_code == 201, placed.text
        body = placed.json()
        assert body["status"] == "placed" and body["order_id"].startswith("ord-")
        assert body["total_cents"] == 2 * next(p.price_cents for p in CATALOG if p.sku == "sku-002")

        assert (await client.get("/api/v1/services")).status_code == 401
        assert (
            await client.post("/api/v1/sim/scenario", json={"name": "recover"})
        ).status_code == 401
        authorised = {"Authorization": "Bearer s3cret"}
        assert (await client.get("/api/v1/services", headers=authorised)).status_code == 200


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "needs a JSON body"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "Expected `object`"),
        (b"{}", "missing required field `items`"),
        (b'{"items": []}', "at least one item"),
        (b'{"items": [{"sku": "sku-999", "quantity": 1}]}', "no product with sku 'sku-999'"),
        (b'{"items": [{"sku": "sku-001", "quantity": 0}]}', "between 1 and"),
        (b'{"items": [{"sku": "sku-001", "quantity": "two"}]}', "Expected `int`"),
        (b'{"items": [{"quantity": 1}]}', "missing required field `sku`"),
    ],
)
async def test_a_bad_order_gets_a_400_in_plain_words(
    shop: tuple[SimServer, httpx.AsyncClient], body: bytes, words: str
) -> None:
    _, client = shop
    response = await client.post(
        "/shop/orders", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "bad_request"
    assert words in error["message"]
    assert "Traceback" not in response.text and "File " not in response.text


async def test_real_requests_add_to_the_services_rps(
    shop: tuple[SimServer, httpx.AsyncClient],
) -> None:
    server, client = shop
    await wait_until(lambda: _samples_for(server, 1.0), what="a second of samples")
    now = time.time()
    services = ("inventory", "orders", "payments")
    base = {s: await mean_signal(client, s, "rps", now - 1.0, now) for s in services}

    # 300 product views and 150 orders in waves.
    start = time.time()
    for _ in range(6):
        await asyncio.gather(
            *(client.get("/shop/products") for _ in range(50)), place_orders(client, 25)
        )
    sent = time.time()
    await wait_until(
        lambda: server.world.latest_ts is not None and server.world.latest_ts > sent,
        what="a sample after the last request",
    )
    end = time.time()
    loaded = {s: await mean_signal(client, s, "rps", start, end) for s in services}
    # Requests above the usual traffic over the window; every order reserves stock at
    # inventory and charges at payments. The usual traffic is read over one second and has
    # its own noise (±5 % a sample: ±8 requests of payments' over the window), so "most of
    # them", not all: nothing counted would read about 0.
    added = {s: (loaded[s] - base[s]) * (end - start) for s in services}
    assert added["inventory"] > 0.4 * (300 + 150), (base, loaded, end - start)
    assert added["orders"] > 0.4 * 150, (base, loaded, end - start)
    assert added["payments"] > 0.4 * 150, (base, loaded, end - start)


def _samples_for(server: SimServer, seconds: float) -> bool:
    return server.world.history.series(0, 0)[0].size >= seconds / server.config.tick_s


async def test_error_burst_on_payments_fails_orders_and_counts_the_errors(
    shop: tuple[SimServer, httpx.AsyncClient],
) -> None:
    server, client = shop
    started = await client.post(
        "/api/v1/sim/scenario", json={"name": "error_burst", "target": "payments"}
    )
    assert started.status_code < 300, started.text
    await wait_until(lambda: _burst_in_workload(server), what="the burst in the next tick")
    responses = await place_orders(client, 300)
    failed = [r for r in responses if r.status_code >= 500]
    # 15 % of charges fail: ~45 of 300 (binomial, 1 in a million outside 15..90).
    assert 15 <= len(failed) <= 90, [r.status_code for r in responses]
    assert {r.status_code for r in responses} <= {201, 500, 503}
    for response in failed:
        error = response.json()["error"]
        assert error["code"] in ("unavailable", "internal") and "not placed" in error["message"]

    async def orders_errors_show() -> float | None:
        ratio = await current(client, "orders", "error_ratio")
        return ratio if ratio is not None and ratio > 0.01 else None

    await eventually(orders_errors_show, within=5.0, what="orders' error ratio above 1 %")
    ratio = await current(client, "payments", "error_ratio")
    assert ratio is not None and ratio > 0.01  # 20× its usual, while the window fills


def _burst_in_workload(server: SimServer) -> bool:
    w = server.world.workload
    return w is not None and w.error_p[server.world.index["payments"]] >= 0.15


async def test_a_latency_spike_really_slows_the_answers(
    shop: tuple[SimServer, httpx.AsyncClient],
) -> None:
    server, client = shop

    async def timed_views(count: int) -> float:
        async def one() -> float:
            start = time.perf_counter()
            response = await client.get("/shop/products")
            assert response.status_code in (200, 503)
            return time.perf_counter() - start

        return statistics.median(await asyncio.gather(*(one() for _ in range(count))))

    await wait_until(lambda: server.world.workload is not None, what="a first tick")
    usual = await timed_views(30)
    await client.post("/api/v1/sim/scenario", json={"name": "latency_spike", "target": "inventory"})
    await wait_until(
        lambda: (
            server.world.workload.median_ms[server.world.index["inventory"]]
            >= 6 * server.world.median_ms[server.world.index["inventory"]]
        ),
        what="the spike in the next tick",
    )
    spiked = await timed_views(30)
    # inventory's median is ~20 ms; a spike makes it ~6× (plus a long tail): the server holds
    # each answer ~100 ms longer. Compared as a difference, so a busy client adds to both.
    assert spiked - usual > 0.06, (usual, spiked)


def test_merged_draw_counts_real_requests_and_their_latencies() -> None:
    """Real requests join the tick's draw: counts and failures add up, quantiles are those of
    every latency of the service, simulated and real."""
    sim_latencies = [np.array([10.0, 20.0, 30.0]), np.array([5.0])]
    counts = np.array([3, 1])
    draw = TickDraw(
        counts=counts,
        failures=np.array([0, 1]),
        quantiles=segmented_quantiles(np.concatenate(sim_latencies), counts),
        latencies_ms=np.concatenate(sim_latencies),
        segment=np.array([0, 0, 0, 1]),
    )
    tally = RealTally(2, random.Random(1))
    for latency, failed in ((25.0, False), (1_000.0, True), (15.0, False)):
        tally.add(0, latency, failed)
    merged = merge_draw(draw, tally, share=1.0)
    assert merged.counts.tolist() == [6, 1]
    assert merged.failures.tolist() == [1, 1]
    everything = [10.0, 20.0, 30.0, 25.0, 1_000.0, 15.0]
    expected = np.quantile(everything, [0.5, 0.95, 0.99])
    assert np.allclose(merged.quantiles[0], expected)
    assert np.allclose(merged.quantiles[1], [5.0, 5.0, 5.0])
    assert merged.segment.tolist() == [0, 0, 0, 0, 0, 0, 1]
    assert merged.latencies_ms.tolist() == [*sorted(everything), 5.0]
    # A tally spanning two ticks (a stalled loop) counts at its true rate.
    assert merge_draw(draw, tally, share=0.5).counts.tolist() == [3 + 2, 1]

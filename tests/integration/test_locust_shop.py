"""Real Locust (PyPI) loads the reference backend's shop; the Ops API shows the load and the
faults, and Locust's own web API shows what its users saw."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx

from opsconsole.sim.server import SimServer
from tests.support.locust import LocustFactory, LocustRun
from tests.support.waiting import wait_until_async

SHOP_SERVICES = ("inventory", "orders", "payments")
USERS = 20  # × 10 requests a second each ≈ 200 rps: 150 product views and 50 orders
# What that load adds per second: views and stock reservations at inventory, orders, charges.
ADDED_RPS = {"inventory": 150 + 50, "orders": 50, "payments": 50}


async def mean_rps(client: httpx.AsyncClient, service: str, seconds: float) -> float | None:
    """A service's mean rps over the last `seconds` of samples, as the Ops API reports it."""
    now = time.time()
    response = await client.get(
        "/api/v1/metrics/historical",
        params={
            "service": service,
            "metric": "rps",
            "start": now - seconds,
            "end": now - seconds,
            "step": seconds,
        },
    )
    response.raise_for_status()
    values = [v for _, v in response.json()["points"] if v is not None]
    return statistics.fmean(values) if values else None


async def usual_rps(client: httpx.AsyncClient) -> dict[str, float]:
    """Each shop service's rps before any load, once a second of samples exists."""

    async def probe() -> dict[str, float] | None:
        means = {s: await mean_rps(client, s, 1.0) for s in SHOP_SERVICES}
        return means if all(v is not None for v in means.values()) else None  # type: ignore[return-value]

    return await wait_until_async(probe, 10.0, "a second of samples")


def order_stats(stats: dict[str, Any]) -> dict[str, Any]:
    """Locust's row for the orders endpoint; none yet reads as no request (CI saw a moment
    with the load running and no orders row yet)."""
    rows = (s for s in stats["stats"] if s["name"] == "/shop/orders")
    return next(rows, {"num_requests": 0})


async def test_locust_load_shows_in_the_shop_services_rps_and_falls_when_stopped(
    sim_factory: Callable[..., Any], locust_factory: LocustFactory
) -> None:
    sim: SimServer = await sim_factory(seed=5)
    async with httpx.AsyncClient(base_url=sim.url, timeout=5.0) as client:
        usual = await usual_rps(client)
        run = await locust_factory.astart(sim.url, users=USERS)

        async def loaded() -> dict[str, float] | None:
            stats = await run.astats()
            if stats["state"] != "running" or stats["total_rps"] < 100:
                return None
            if order_stats(stats)["num_requests"] == 0:
                return None
            means = {s: await mean_rps(client, s, 1.0) for s in SHOP_SERVICES}
            shown = all(
                (m := means[s]) is not None and m > usual[s] + 0.5 * ADDED_RPS[s]
                for s in SHOP_SERVICES
            )
            return means if shown else None  # type: ignore[return-value]

        means = await wait_until_async(loaded, 15.0, "the load in the shop services' rps")
        stats = await run.astats()
        assert stats["user_count"] == USERS
        assert order_stats(stats)["num_requests"] > 0 and stats["fail_ratio"] < 0.05, stats
        assert means["inventory"] > means["orders"], (usual, means)  # views outnumber orders

        run.stop_test()

        async def fallen() -> bool:
            state = (await run.astats())["state"]
            inventory = await mean_rps(client, "inventory", 0.5)
            return (
                state == "stopped" and inventory is not None and inventory < usual["inventory"] + 50
            )

        await wait_until_async(fallen, 10.0, "Locust stopped and the server's traffic back down")


async def test_error_burst_on_payments_fails_locust_orders_and_raises_orders_error_ratio(
    sim_factory: Callable[..., Any], locust_factory: LocustFactory
) -> None:
    sim: SimServer = await sim_factory(seed=6)
    async with httpx.AsyncClient(base_url=sim.url, timeout=5.0) as client:
        await usual_rps(client)
        run: LocustRun = await locust_factory.astart(sim.url, users=USERS)
        await wait_until_async(lambda: _has_orders(run), 10.0, "Locust's first orders")
        usual_orders = (await client.get("/api/v1/metrics/realtime")).json()["services"]["orders"]
        assert usual_orders["error_ratio"] is not None and usual_orders["error_ratio"] < 0.005

        started = await client.post(
            "/api/v1/sim/scenario", json={"name": "error_burst", "target": "payments"}
        )
        assert started.status_code < 300, started.text

        async def failing() -> dict[str, Any] | None:
            stats = await run.astats()
            orders = order_stats(stats)
            realtime = (await client.get("/api/v1/metrics/realtime")).json()["services"]
            ratio = realtime["orders"]["error_ratio"]
            if orders["num_failures"] >= 10 and ratio is not None and ratio > 0.005:
                return stats
            return None

        stats = await wait_until_async(failing, 15.0, "failed orders in Locust and in the sim")
        assert stats["fail_ratio"] > 0
        # Locust saw the sim's 5xx answers (503: the payment did not go through).
        assert any("503" in e["error"] for e in stats["errors"] if e["name"] == "/shop/orders"), (
            stats["errors"]
        )
        products = next(s for s in stats["stats"] if s["name"] == "/shop/products")
        orders = order_stats(stats)
        # Product views never touch payments: they fail far less often than orders.
        assert products["num_failures"] / max(products["num_requests"], 1) < (
            orders["num_failures"] / orders["num_requests"] / 3
        ), stats


async def _has_orders(run: LocustRun) -> bool:
    stats = await run.astats()
    return any(s["name"] == "/shop/orders" and s["num_requests"] >= 20 for s in stats["stats"])

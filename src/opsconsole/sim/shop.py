"""The reference backend's shop API: real requests served the way the simulation serves them.

`GET /shop/products` is served by inventory; `POST /shop/orders` by orders, which reserves
stock at inventory and then charges at payments. Each real request draws its latency and its
fate from the serving service's workload of the last tick (sampling.draw_tick's model: scenarios,
open breakers, a dead primary and queueing all apply), really takes that long (a bounded
asyncio.sleep), and is tallied for the next tick.

Real requests are ADDED to the simulated traffic, never in place of it: the next sample of a
service counts its simulated requests plus the real ones (rps, error ratio, latency quantiles),
and their rate loads the service (CPU, and queueing above ~70 % of its capacity). A load test
of 200 rps shows as 200 rps above the service's usual traffic. At time scale 1 the SLO ledger
counts them too; at other scales it draws simulated volume only. Malformed requests are refused
(400) before they reach a simulated service and are not counted. The routes need no token: a
shop is public (see middleware.auth_middleware).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
from dataclasses import dataclass

import msgspec
import numpy as np
from aiohttp import web

from opsconsole.sim.errors import ApiError
from opsconsole.sim.middleware import json_response
from opsconsole.sim.sampling import (
    CACHE_SPEEDUP,
    FAST_FAIL_MS,
    TickDraw,
    Workload,
    segmented_quantiles,
)
from opsconsole.sim.world import World

MAX_LATENCY_MS = 5_000.0  # a real request never holds its connection longer than this
SAMPLES_PER_TICK = 4_096  # latencies kept per service per tick (reservoir beyond it)
MAX_ITEMS = 50
MAX_QUANTITY = 1_000


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price_cents: int


CATALOG: tuple[Product, ...] = tuple(
    Product(f"sku-{n:03d}", name, price)
    for n, (name, price) in enumerate(
        (
            ("Espresso beans 1 kg", 2_490),
            ("Burr grinder", 12_900),
            ("Milk jug", 1_590),
            ("Pour-over kettle", 5_400),
            ("Paper filters ×100", 590),
            ("Travel mug", 2_200),
            ("Tamper", 3_100),
            ("Scale with timer", 4_800),
            ("Cold brew bottle", 2_700),
            ("Descaler", 990),
            ("Cup set ×4", 3_600),
            ("Knock box", 2_400),
        ),
        start=1,
    )
)
PRICES = {p.sku: p.price_cents for p in CATALOG}
_PRODUCTS_BODY = msgspec.json.encode({"products": CATALOG})  # the same bytes for every request


class OrderItem(msgspec.Struct, frozen=True):
    sku: str
    quantity: int


class OrderRequest(msgspec.Struct, frozen=True):
    items: list[OrderItem]
    customer: str = "guest"


class RealTally:
    """Real requests per service since the last tick: counts, failures and a bounded sample
    of latencies (preallocated; a reservoir once full, so quantiles stay honest)."""

    def __init__(self, n_services: int, rng: random.Random) -> None:
        self.counts = np.zeros(n_services, dtype=np.int64)
        self.failures = np.zeros(n_services, dtype=np.int64)
        self.samples = np.empty((n_services, SAMPLES_PER_TICK))
        self.kept = [0] * n_services
        self._rng = rng

    def add(self, service: int, latency_ms: float, failed: bool) -> None:
        self.counts[service] += 1
        if failed:
            self.failures[service] += 1
        kept = self.kept[service]
        if kept < SAMPLES_PER_TICK:
            self.samples[service, kept] = latency_ms
            self.kept[service] = kept + 1
        else:  # reservoir: every request of the tick has the same chance to be kept
            slot = self._rng.randrange(int(self.counts[service]))
            if slot < SAMPLES_PER_TICK:
                self.samples[service, slot] = latency_ms

    def clear(self) -> None:
        self.counts[:] = 0
        self.failures[:] = 0
        self.kept = [0] * len(self.kept)


def merge_draw(draw: TickDraw, tally: RealTally, share: float) -> TickDraw:
    """`draw` with the tallied real requests added. `share` (≤ 1) scales the counts down when
    the tally spans more than one tick (a stalled loop), so the rate stays true."""
    real_counts = np.rint(tally.counts * share).astype(np.int64)
    real_failures = np.minimum(np.rint(tally.failures * share).astype(np.int64), real_counts)
    kept = np.array(tally.kept, dtype=np.int64)
    real_latencies = np.concatenate([tally.samples[i, :k] for i, k in enumerate(tally.kept)])
    n = draw.counts.shape[0]
    segment = np.concatenate((draw.segment, np.repeat(np.arange(n), kept)))
    latencies = np.concatenate((draw.latencies_ms, real_latencies))
    order = np.lexsort((latencies, segment))
    sorted_latencies = latencies[order]
    sorted_segment = segment[order]
    return TickDraw(
        counts=draw.counts + real_counts,
        failures=draw.failures + real_failures,
        quantiles=segmented_quantiles(sorted_latencies, draw.counts + kept),
        latencies_ms=sorted_latencies,
        segment=sorted_segment,
    )


@dataclass(frozen=True)
class Served:
    latency_ms: float
    failed: bool


class Shop:
    """The shop's routes on one World; hooks itself into the World's ticks."""

    def __init__(self, world: World, seed: int | None = None) -> None:
        self.world = world
        self._rng = random.Random(None if seed is None else f"shop-{seed}")
        self.tally = RealTally(len(world.names), self._rng)
        self._last_merge: float | None = None
        self._params: list[tuple[float, ...]] = []
        self._params_of: Workload | None = None
        self._order_ids = itertools.count(1)
        world.real_requests = self._merge

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/shop/products", self.products),
            web.post("/shop/orders", self.orders),
        ]

    # ------------------------------------------------------------------ the tick hook

    def _merge(self, draw: TickDraw, now: float) -> TickDraw:
        dt = self.world.config.tick_s
        elapsed = dt if self._last_merge is None else max(dt, now - self._last_merge)
        self._last_merge = now
        share = dt / elapsed
        # The next tick's load: the real rate of this one.
        self.world.real_rps = self.tally.counts / elapsed
        if not self.tally.counts.any():
            return draw
        merged = merge_draw(draw, self.tally, share)
        self.tally.clear()
        return merged

    # ------------------------------------------------------------------ serving

    def _service(self, name: str) -> int:
        i = self.world.index.get(name)
        if i is None:
            raise ApiError(
                "unavailable", f"this backend simulates no {name} service, so the shop is closed"
            )
        return i

    def _parameters(self, service: int) -> tuple[float, ...]:
        """The service's workload of the last tick as plain floats (converted once a tick)."""
        w = self.world.workload
        if w is None:
            raise ApiError("unavailable", "the shop is opening; try again in a moment")
        if w is not self._params_of:
            columns = (
                w.median_ms,
                w.sigma,
                w.slow_p,
                w.slow_factor,
                w.error_p,
                w.p_timeout,
                w.timeout_ms,
                w.p_fast_fail,
                w.p_cached,
            )
            self._params = list(zip(*(c.tolist() for c in columns), strict=True))
            self._params_of = w
        return self._params[service]

    def _serve(self, service: int) -> Served:
        """One request's latency and fate, drawn as sampling.draw_tick draws them."""
        median, sigma, slow_p, slow_factor, error_p, p_timeout, timeout_ms, p_fast, p_cached = (
            self._parameters(service)
        )
        rng = self._rng
        z = rng.gauss(0.0, 1.0)
        latency = median * math.exp(sigma * z)
        if rng.random() < slow_p:
            latency *= slow_factor
        u = rng.random()
        c1 = p_timeout
        c2 = c1 + p_fast
        c3 = c2 + p_cached
        if u < c1:
            latency, failed = timeout_ms * math.exp(0.05 * z), True
        elif u < c2:
            latency, failed = FAST_FAIL_MS * math.exp(0.3 * z), True
        elif u < c3:
            latency, failed = latency * CACHE_SPEEDUP, False
        else:
            failed = (u - c3) < error_p * (1.0 - c3)
        return Served(min(latency, MAX_LATENCY_MS), failed)

    async def _take(self, latency_ms: float) -> None:
        await asyncio.sleep(min(latency_ms, MAX_LATENCY_MS) / 1_000.0)

    async def products(self, request: web.Request) -> web.Response:
        inventory = self._service("inventory")
        served = self._serve(inventory)
        await self._take(served.latency_ms)
        self.tally.add(inventory, served.latency_ms, served.failed)
        if served.failed:
            raise ApiError("unavailable", "the product list could not be loaded; try again")
        return web.Response(body=_PRODUCTS_BODY, content_type="application/json")

    async def orders(self, request: web.Request) -> web.Response:
        order = await _read_order(request)
        orders = self._service("orders")
        inventory = self._service("inventory")
        payments = self._service("payments")
        own = self._serve(orders)
        reserved = self._serve(inventory)
        charged = None if reserved.failed else self._serve(payments)
        latency = own.latency_ms + reserved.latency_ms + (charged.latency_ms if charged else 0.0)
        latency = min(latency, MAX_LATENCY_MS)
        await self._take(latency)
        failed = own.failed or reserved.failed or (charged is not None and charged.failed)
        self.tally.add(inventory, reserved.latency_ms, reserved.failed)
        if charged is not None:
            self.tally.add(payments, charged.latency_ms, charged.failed)
        self.tally.add(orders, latency, failed)
        if reserved.failed:
            raise ApiError("unavailable", "stock could not be reserved; the order was not placed")
        if charged is not None and charged.failed:
            raise ApiError(
                "unavailable", "the payment did not go through; the order was not placed"
            )
        if own.failed:
            raise ApiError("internal", "the order could not be saved; it was not placed")
        total = sum(PRICES[item.sku] * item.quantity for item in order.items)
        return json_response(
            {
                "order_id": f"ord-{next(self._order_ids):08d}",
                "status": "placed",
                "customer": order.customer,
                "items": len(order.items),
                "total_cents": total,
            },
            201,
        )


async def _read_order(request: web.Request) -> OrderRequest:
    """The order in the body, or a 400 that says in plain words what is wrong with it."""
    raw = await request.read()
    if not raw.strip():
        raise ApiError("bad_request", 'an order needs a JSON body such as {"items": [...]}')
    try:
        order = msgspec.json.decode(raw, type=OrderRequest)
    except msgspec.ValidationError as exc:
        raise ApiError("bad_request", f"this order is not valid: {exc}") from None
    except msgspec.DecodeError:
        raise ApiError("bad_request", "the order body is not valid JSON") from None
    if not order.items:
        raise ApiError("bad_request", "an order needs at least one item")
    if len(order.items) > MAX_ITEMS:
        raise ApiError("bad_request", f"an order may hold at most {MAX_ITEMS} items")
    for item in order.items:
        if item.sku not in PRICES:
            raise ApiError("bad_request", f"no product with sku {item.sku!r}")
        if not 1 <= item.quantity <= MAX_QUANTITY:
            raise ApiError(
                "bad_request", f"quantity of {item.sku} must be between 1 and {MAX_QUANTITY}"
            )
    return order

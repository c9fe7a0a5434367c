"""Idempotency-Key middleware on a real aiohttp app whose handler is slow or crashes."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from opsconsole.sim.middleware import Handler, Idempotency, errors_middleware, json_response
from tests.unit.sim.sim_helpers import eventually


class SlowAction:
    """A mutating route that takes its time (first call may crash), counting real actions."""

    def __init__(self) -> None:
        self.acted = 0
        self.arrived = 0  # requests that reached the app, before the Idempotency-Key layer
        self.release = asyncio.Event()
        self.crash_next = False
        self._ids = itertools.count(1)

    async def handle(self, request: web.Request) -> web.Response:
        await self.release.wait()
        if self.crash_next:
            self.crash_next = False
            raise RuntimeError("backend fell over")
        self.acted += 1
        return json_response({"action_id": f"a{next(self._ids)}"}, 202)

    @web.middleware
    async def count_arrivals(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.arrived += 1
        return await handler(request)


@pytest.fixture
async def slow_app() -> AsyncIterator[tuple[SlowAction, str]]:
    action = SlowAction()
    app = web.Application(
        middlewares=[errors_middleware, action.count_arrivals, Idempotency().middleware]
    )
    app.add_routes([web.post("/api/v1/act", action.handle)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield action, f"http://{host}:{port}"
    await runner.cleanup()


async def test_duplicates_in_flight_wait_for_the_first_answer(
    slow_app: tuple[SlowAction, str],
) -> None:
    action, url = slow_app
    async with httpx.AsyncClient(base_url=url, timeout=10.0) as client:
        posts = [
            asyncio.create_task(
                client.post("/api/v1/act", json={"x": 1}, headers={"Idempotency-Key": "same"})
            )
            for _ in range(5)
        ]

        async def all_arrived() -> bool:
            return action.arrived == 5

        await eventually(all_arrived, what="five duplicates inside the server")
        action.release.set()  # only now may the first one finish
        responses = await asyncio.gather(*posts)
    assert action.acted == 1
    assert {r.status_code for r in responses} == {202}
    assert {r.json()["action_id"] for r in responses} == {"a1"}


async def test_a_first_request_that_crashed_does_not_block_a_retry(
    slow_app: tuple[SlowAction, str],
) -> None:
    action, url = slow_app
    action.release.set()
    action.crash_next = True
    async with httpx.AsyncClient(base_url=url, timeout=10.0) as client:
        headers = {"Idempotency-Key": "retry-me"}
        crashed = await client.post("/api/v1/act", json={}, headers=headers)
        assert crashed.status_code == 500 and crashed.json()["error"]["code"] == "internal"
        retried = await client.post("/api/v1/act", json={}, headers=headers)
        assert retried.status_code == 202 and action.acted == 1
        again = await client.post("/api/v1/act", json={}, headers=headers)
        assert again.json() == retried.json() and action.acted == 1

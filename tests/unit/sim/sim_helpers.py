"""Helpers for the sim tests: polling with a deadline, keys, WebSocket and SSE readers."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx
import websockets

from opsconsole.core.protocol import (
    AnyFrame,
    HelloFrame,
    ProtocolError,
    decode_body,
    decode_frame,
)
from opsconsole.sim.server import SimConfig, SimServer
from tests.support.waiting import wait_until_async

T = TypeVar("T")

# Fast but faithful: 20 samples a second, every duration divided by 50.
ACCELERATED_SIM_CONFIG = SimConfig(tick_s=0.05, time_scale=50.0, seed=7, heartbeat_s=0.2)

StartSim = Callable[..., Awaitable[SimServer]]


async def eventually(
    probe: Callable[[], Awaitable[T | None]], within: float = 10.0, what: str = "condition"
) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `within` s."""
    return await wait_until_async(probe, within, what)


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def body(response: httpx.Response, kind: type[T]) -> T:
    """Decode a REST body with the core protocol's types; fail loudly on non-conformance."""
    decoded = decode_body(response.content, kind)
    assert not isinstance(decoded, ProtocolError), (decoded, response.text[:500])
    return decoded


def ws_url(base: str, path: str = "/api/v1/stream") -> str:
    return base.replace("http://", "ws://", 1) + path


def frame(data: str | bytes) -> AnyFrame:
    decoded = decode_frame(data)
    assert not isinstance(decoded, ProtocolError), (decoded, str(data)[:500])
    return decoded


class WsClient:
    """A stream client speaking the contract over the `websockets` library."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.hello: HelloFrame | None = None

    async def recv(self, within: float = 5.0) -> AnyFrame:
        async with asyncio.timeout(within):
            return frame(await self.ws.recv())

    async def subscribe(self, **fields: Any) -> None:
        await self.ws.send(json.dumps({"op": "subscribe", **fields}))

    async def next_of(self, kinds: tuple[type, ...], within: float = 5.0) -> Any:
        """Next frame of the given types (heartbeats and others skipped)."""
        async with asyncio.timeout(within):
            while True:
                f = await self.recv(within)
                if isinstance(f, kinds):
                    return f


class ws_connect:
    """`async with ws_connect(url) as c:` — connects and reads the hello."""

    def __init__(self, base: str, headers: dict[str, str] | None = None) -> None:
        self._cm = websockets.connect(
            ws_url(base), additional_headers=headers or {}, max_size=2**20, open_timeout=5
        )

    async def __aenter__(self) -> WsClient:
        ws = await self._cm.__aenter__()
        client = WsClient(ws)
        hello = await client.recv()
        assert isinstance(hello, HelloFrame)
        client.hello = hello
        return client

    async def __aexit__(self, *exc: object) -> None:
        await self._cm.__aexit__(*exc)


async def sse_frames(
    client: httpx.AsyncClient, params: dict[str, str], headers: dict[str, str] | None = None
) -> AsyncIterator[tuple[int | None, AnyFrame]]:
    """Yield (id, frame) from the SSE transport."""
    async with client.stream(
        "GET", "/api/v1/stream", params={"transport": "sse", **params}, headers=headers or {}
    ) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        event_id: int | None = None
        data: list[str] = []
        async for line in response.aiter_lines():
            if line.startswith("id:"):
                event_id = int(line[3:].strip())
            elif line.startswith("data:"):
                data.append(line[5:].strip())
            elif line == "" and data:
                yield event_id, frame("\n".join(data))
                event_id, data = None, []

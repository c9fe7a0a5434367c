"""A WebSocket man-in-the-middle for the stream endpoint: forges, drops and injects frames."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

# Turns one upstream message into the messages the client gets (drop = [], inject = [x, m]).
Rewrite = Callable[[str], list[str]]


class FrameProxy:
    """Relays `/api/v1/stream` between a client and the real backend through `rewrite`."""

    def __init__(self, upstream_ws: str) -> None:
        self.upstream_ws = upstream_ws
        self.rewrite: Rewrite = lambda m: [m]
        self.connections = 0
        self.client_messages: list[str] = []
        self._server = None
        self.port = 0

    async def start(self) -> int:
        self._server = await serve(
            self._relay, "127.0.0.1", 0, process_request=self._only_stream, max_size=None
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _only_stream(self, connection: ServerConnection, request: Request) -> Response | None:
        if not request.path.startswith("/api/v1/stream"):
            return connection.respond(404, "only the stream is proxied\n")
        return None

    async def _relay(self, client: ServerConnection) -> None:
        self.connections += 1
        headers = {}
        auth = client.request.headers.get("Authorization") if client.request else None
        if auth:
            headers["Authorization"] = auth
        async with connect(
            self.upstream_ws, additional_headers=headers, max_size=None, proxy=None
        ) as upstream:

            async def down() -> None:
                async for message in upstream:
                    text = message if isinstance(message, str) else message.decode()
                    for out in self.rewrite(text):
                        await client.send(out)

            async def up() -> None:
                async for message in client:
                    self.client_messages.append(str(message))
                    await upstream.send(message)

            tasks = [asyncio.ensure_future(down()), asyncio.ensure_future(up())]
            with contextlib.suppress(ConnectionClosed):
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

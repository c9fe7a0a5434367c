"""The live stream: `GET /api/v1/stream` as a WebSocket, or as SSE with `?transport=sse`.

Each connection gets a hello, then (after subscribe) replay or snapshot and live frames from
the Hub, with a heartbeat whenever its queue runs dry for `heartbeat_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import msgspec
from aiohttp import WSMsgType, web

from opsconsole.core.protocol import (
    API_VERSION,
    MAX_FRAME_BYTES,
    TOPICS,
    ClientOp,
    HeartbeatFrame,
    HelloFrame,
    SnapshotFrame,
    SubscribeOp,
    encode,
)
from opsconsole.sim.api import parse_since_seq
from opsconsole.sim.errors import ApiError
from opsconsole.sim.hub import Hub, Subscriber, Subscription

log = logging.getLogger(__name__)

Send = Callable[[int | None, bytes], Awaitable[None]]
WS_PING_S = 5.0
CLOSE_GOING_AWAY = 1001
CLOSE_TRY_AGAIN_LATER = 1013  # too slow: come back and resume with since_seq
STUCK_PEER_GRACE_S = 5.0  # after closing, a peer that still blocks our writes is cut off
_op_decoder = msgspec.json.Decoder(ClientOp)


def make_subscription(topics: tuple[str, ...], services: tuple[str, ...]) -> Subscription:
    unknown = [t for t in topics if t not in TOPICS]
    if unknown:
        log.warning("stream client asked for unknown topics %s; ignored", unknown)
    wanted = frozenset(t for t in topics if t in TOPICS)
    return Subscription(
        topics=wanted,
        services=None if "*" in services else frozenset(services),
    )


class StreamApi:
    def __init__(
        self,
        hub: Hub,
        make_snapshot: Callable[[int, bool], SnapshotFrame],
        heartbeat_s: float,
        clock: Callable[[], float] = time.time,
        max_queue_frames: int = 4_096,
        transports: frozenset[str] = frozenset({"websocket", "sse"}),
    ) -> None:
        self.hub = hub
        self.make_snapshot = make_snapshot
        self.heartbeat_s = heartbeat_s
        self.clock = clock
        self.max_queue_frames = max_queue_frames
        self.transports = transports
        self._pumps: dict[Subscriber, asyncio.Task[None]] = {}
        self._watchdogs: dict[Subscriber, asyncio.TimerHandle] = {}
        self.closing = False

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/api/v1/stream", self.stream)]

    async def stream(self, request: web.Request) -> web.StreamResponse:
        if self.closing:
            raise ApiError("unavailable", "server is shutting down")
        transport = request.query.get("transport", "websocket")
        if transport not in ("websocket", "sse"):
            raise ApiError(
                "bad_request", f"unknown transport {transport!r}", {"valid": ["websocket", "sse"]}
            )
        if transport not in self.transports:
            raise ApiError("not_found", f"the {transport} transport is not offered here")
        if transport == "sse":
            return await self._sse(request)
        ws = web.WebSocketResponse(heartbeat=WS_PING_S, max_msg_size=MAX_FRAME_BYTES, timeout=2.0)
        if not ws.can_prepare(request).ok:
            raise ApiError(
                "bad_request", "expected a WebSocket upgrade (or ?transport=sse for SSE)"
            )
        try:
            await ws.prepare(request)
        except ConnectionResetError:
            # The client left during the handshake (a console quitting as it connects): not
            # the server's error, and no traceback in its log.
            log.info("stream: the client left during the WebSocket handshake")
            # A fresh response: aiohttp writes it to the closing transport and takes the
            # ConnectionError quietly (the half-prepared WebSocket would raise instead).
            return web.Response(status=400, text="the client left")
        return await self._websocket(ws, request)

    def _hello(self) -> bytes:
        return encode(
            HelloFrame(API_VERSION, self.hub.log.epoch, self.clock(), self.hub.log.last_seq)
        )

    # ------------------------------------------------------------------ WebSocket

    async def _websocket(
        self, ws: web.WebSocketResponse, request: web.Request
    ) -> web.WebSocketResponse:
        sub = self._new_subscriber(request)

        async def send(seq: int | None, data: bytes) -> None:
            await ws.send_frame(data, WSMsgType.TEXT)

        async def close() -> None:
            reason = (sub.closed_reason or "").encode()[:120]
            await ws.close(code=sub.close_code, message=reason)

        await send(None, self._hello())
        pump = self._start_pump(sub, send, close)
        try:
            async for msg in ws:
                if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    self._handle_op(sub, msg.data)
        finally:
            await self._finish(sub, pump)
        return ws

    def _handle_op(self, sub: Subscriber, data: str | bytes) -> None:
        """Apply one client op; anything malformed is logged and ignored, never fatal."""
        try:
            op = _op_decoder.decode(data)
            if isinstance(op, SubscribeOp):
                if op.since_seq is not None and op.since_seq < 0:
                    raise ValueError("since_seq must be >= 0")
                mode = self.hub.subscribe(
                    sub,
                    make_subscription(op.topics, op.services),
                    op.since_seq,
                    op.epoch,
                    self.make_snapshot,
                )
                log.debug("stream subscribe: %s", mode)
            elif sub.subscription is not None:
                sub.subscription = Subscription(
                    topics=sub.subscription.topics - frozenset(op.topics),
                    services=sub.subscription.services,
                )
        except (msgspec.DecodeError, ValueError) as exc:
            log.warning("ignored a malformed stream message: %s", exc)

    # ------------------------------------------------------------------ SSE

    async def _sse(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        topics = tuple(t for t in q.get("topics", ",".join(TOPICS)).split(",") if t)
        services = tuple(s for s in q.get("services", "*").split(",") if s) or ("*",)
        since_seq: int | None = None
        epoch = q.get("epoch")
        if "since_seq" in q:
            since_seq = parse_since_seq(q["since_seq"])
        elif (last_id := request.headers.get("Last-Event-ID")) is not None and last_id.strip():
            # EventSource resends the last `id:` it saw; ids are seqs of this run.
            since_seq = parse_since_seq(last_id.strip(), "Last-Event-ID")
            epoch = epoch or self.hub.log.epoch
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        try:
            await response.prepare(request)
        except ConnectionResetError:
            log.info("stream: the client left before the SSE stream started")
            return web.Response(status=400, text="the client left")
        sub = self._new_subscriber(request)

        async def send(seq: int | None, data: bytes) -> None:
            head = b"id: %d\n" % seq if seq is not None else b""
            await response.write(head + b"data: " + data + b"\n\n")

        async def close() -> None:
            return None  # returning from the handler ends the chunked response

        await send(None, self._hello())
        # Subscribe right away (no awaits in between): SSE has no client-to-server channel.
        self.hub.subscribe(
            sub, make_subscription(topics, services), since_seq, epoch, self.make_snapshot
        )
        pump = self._start_pump(sub, send, close)
        await asyncio.wait({pump})
        await self._finish(sub, pump)
        return response

    # ------------------------------------------------------------------ shared

    def _new_subscriber(self, request: web.Request) -> Subscriber:
        sub = Subscriber(max_frames=self.max_queue_frames)
        loop = asyncio.get_running_loop()

        def reap() -> None:
            # A pump still stuck writing to a peer that reads nothing: cut the connection.
            pump = self._pumps.get(sub)
            if pump is not None and not pump.done():
                pump.cancel()
                if request.transport is not None:
                    request.transport.abort()

        def armed() -> None:
            self._watchdogs[sub] = loop.call_later(STUCK_PEER_GRACE_S, reap)

        sub.on_close = armed
        return sub

    def _start_pump(
        self, sub: Subscriber, send: Send, close: Callable[[], Awaitable[None]]
    ) -> asyncio.Task[None]:
        task = asyncio.create_task(self._pump(sub, send, close))
        self._pumps[sub] = task
        return task

    async def _pump(
        self, sub: Subscriber, send: Send, close: Callable[[], Awaitable[None]]
    ) -> None:
        loop = asyncio.get_running_loop()
        next_beat = loop.time() + self.heartbeat_s
        try:
            while sub.closed_reason is None:
                item = sub.pop()
                if item is not None:
                    await send(*item)
                    continue
                now = loop.time()
                if now >= next_beat:
                    # The queue is empty, so every frame up to last_seq has gone out: the
                    # heartbeat's seq is exact, a client missing one of them sees a gap.
                    beat = HeartbeatFrame(ts=self.clock(), seq=self.hub.log.last_seq)
                    await send(None, encode(beat))
                    next_beat = loop.time() + self.heartbeat_s
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(next_beat - now):
                        await sub.wait()
        except (ConnectionError, RuntimeError) as exc:
            # The peer went away mid-write (aiohttp raises ConnectionResetError, or
            # RuntimeError once the transport is closed).
            sub.close(f"send failed: {exc}", 1011)
            return
        except Exception:
            log.exception("stream sender failed")
            sub.close("internal error", 1011)
        if sub.closed_reason and sub.close_code == CLOSE_TRY_AGAIN_LATER:
            log.warning("closing stream client: %s", sub.closed_reason)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await close()

    async def _finish(self, sub: Subscriber, pump: asyncio.Task[None]) -> None:
        self.hub.remove(sub)
        sub.close("connection ended", 1000)
        _, pending = await asyncio.wait({pump}, timeout=3.0)
        for task in pending:  # stuck in a write to a peer that reads nothing
            task.cancel()
            await asyncio.wait({task})
        self._pumps.pop(sub, None)
        if (watchdog := self._watchdogs.pop(sub, None)) is not None:
            watchdog.cancel()

    async def close_all(self, grace_s: float = 2.0) -> None:
        """Server shutdown: tell every client, let pumps close their connections."""
        self.closing = True
        for sub in list(self._pumps):
            self.hub.remove(sub)
            sub.close("server shutting down", CLOSE_GOING_AWAY)
        tasks = set(self._pumps.values())
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace_s)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

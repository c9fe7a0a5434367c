"""`SimServer`: the reference backend as an aiohttp application on one event loop.

One clock task drives the World (a tick every `tick_s`, timers in between) and publishes its
frames through the Hub; REST actions publish the same way. Everything runs on the loop, so a
state change and the frames that describe it are never observed apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import ssl
import time

from aiohttp import web

from opsconsole.sim.actions import Outcome
from opsconsole.sim.api import FEATURES, RestApi
from opsconsole.sim.config import SimConfig
from opsconsole.sim.framelog import FrameLog
from opsconsole.sim.hub import Hub
from opsconsole.sim.middleware import Idempotency, auth_middleware, errors_middleware
from opsconsole.sim.promexport import PrometheusExport
from opsconsole.sim.shop import Shop
from opsconsole.sim.sloapi import SloApi
from opsconsole.sim.stream import StreamApi
from opsconsole.sim.world import World

__all__ = ["SimConfig", "SimServer"]

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024


class SimServer:
    # Live frames a stream client may have queued before it is dropped as too slow.
    client_queue_frames = 4_096

    def __init__(self, config: SimConfig = SimConfig()) -> None:  # noqa: B008 - frozen
        self.config = config
        self._epoch = secrets.token_hex(8)  # random even with a seed: every run is new
        self.world = World(config, self.now())
        self.hub = Hub(FrameLog(self._epoch, config.replay_capacity))
        self._runner: web.AppRunner | None = None
        self._clock_task: asyncio.Task[None] | None = None
        self._stream: StreamApi | None = None
        self._url: str | None = None

    def now(self) -> float:
        """This backend's clock: the machine's, moved by `clock_offset_s`."""
        return time.time() + self.config.clock_offset_s

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("SimServer is not started")
        return self._url

    @property
    def epoch(self) -> str:
        return self._epoch

    # ------------------------------------------------------------------ lifecycle

    def make_app(self) -> web.Application:
        idempotency = Idempotency()
        app = web.Application(
            middlewares=[
                errors_middleware,
                auth_middleware(self.config.token, self.config.readonly_token),
                idempotency.middleware,
            ],
            client_max_size=MAX_BODY_BYTES,
        )
        rest = RestApi(
            self.world,
            self.hub,
            self.publish,
            clock=self.now,
            features=FEATURES if self.config.offer_slo else (),
        )
        self._stream = StreamApi(
            self.hub,
            lambda seq, resync: self.world.snapshot(self.now(), seq, resync, self._epoch),
            self.config.heartbeat_s,
            clock=self.now,
            max_queue_frames=self.client_queue_frames,
            transports=frozenset(
                name
                for name, offered in (
                    ("websocket", self.config.offer_websocket),
                    ("sse", self.config.offer_sse),
                )
                if offered
            ),
        )
        app.add_routes(rest.routes())
        if self.config.offer_slo:
            slo = SloApi(self.world, rest.operator, self.publish, clock=self.now)
            app.add_routes(slo.routes())
        app.add_routes(self._stream.routes())
        app.add_routes(PrometheusExport(self.world).routes())
        app.add_routes(Shop(self.world, self.config.seed).routes())
        return app

    async def start(
        self, host: str = "127.0.0.1", port: int = 0, ssl_context: ssl.SSLContext | None = None
    ) -> str:
        if self._runner is not None:
            raise RuntimeError("SimServer already started")
        runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port, reuse_address=True, ssl_context=ssl_context)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound = runner.addresses[0]
        shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        scheme = "https" if ssl_context is not None else "http"
        self._url = f"{scheme}://{shown}:{bound[1]}"
        self._clock_task = asyncio.create_task(self._clock(), name="opsconsole-sim clock")
        log.info("opsconsole-sim listening on %s (epoch %s)", self._url, self._epoch)
        return self._url

    async def stop(self) -> None:
        """Close every stream promptly, stop the clock, stop listening. Idempotent."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        if self._clock_task is not None:
            self._clock_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._clock_task
            self._clock_task = None
        if self._stream is not None:
            await self._stream.close_all()
        await runner.cleanup()
        log.info("opsconsole-sim stopped")

    # ------------------------------------------------------------------ driving the world

    def publish(self, outcome: Outcome) -> None:
        self.hub.publish(outcome.frames)

    async def _clock(self) -> None:
        tick_s = self.config.tick_s
        next_tick = self.now()  # first sample at once: a fresh console has data immediately
        while True:
            now = self.now()
            try:
                if now >= next_tick:
                    self.hub.publish(self.world.tick(now))
                    next_tick += tick_s
                    if next_tick <= now:  # the loop stalled: skip, do not burst to catch up
                        next_tick = now + tick_s
                elif now >= self.world.next_due():
                    self.hub.publish(self.world.advance(now))
            except Exception:
                log.exception("simulation step failed; continuing")
                next_tick = max(next_tick, now + tick_s)
            wake = min(next_tick, self.world.next_due())
            # Bounded so a wall-clock jump cannot put the clock to sleep for long.
            await asyncio.sleep(min(max(0.0, wake - self.now()), tick_s))

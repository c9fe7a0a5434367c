"""The life of a polled backend link: its tasks, the watchdog that calls a silence STALE."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import ClassVar

import httpx

from opsconsole.backends.linkstatus import UP, LinkReporter
from opsconsole.core.events import StoreEvent
from opsconsole.core.models import ConnectionState, LinkStatus, Transport

log = logging.getLogger(__name__)

STALE_MIN_S = 3.0
STALE_POLLS = 2.5  # polls missed before the data is called STALE
WATCHDOG_TICK_S = 0.25


class PolledLink:
    """Base of the adapters that poll (Alertmanager, Patroni). The subclass polls in `_run`
    and calls `_polled()` after each complete answer; this class starts and stops the tasks,
    keeps the link status, and calls the data STALE once no poll has succeeded for
    `stale_after_s` (a hung answer, not an error, which the subclass says itself)."""

    link_transport: ClassVar[Transport]
    task_prefix: ClassVar[str]
    silence_words: ClassVar[str] = "no answer for {silent:.0f} s"

    name: str
    _http: httpx.AsyncClient

    def _init_link(
        self,
        name: str,
        apply: Callable[[StoreEvent], None],
        clock: Callable[[], float],
        poll_s: float,
    ) -> None:
        if poll_s <= 0:
            raise ValueError(f"poll_s must be positive, got {poll_s}")
        self.name = name
        self.poll_s = poll_s
        self.stale_after_s = max(STALE_MIN_S, STALE_POLLS * poll_s)
        self._link = LinkReporter(name, apply, wall_clock=clock)
        self._last_good: float | None = None  # monotonic time of the last good poll
        self._task: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._closed = False

    async def _run(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        prefix = self.task_prefix
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name=f"{prefix}:{self.name}")
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = loop.create_task(self._watch(), name=f"{prefix}-watchdog:{self.name}")

    async def aclose(self) -> None:
        """Stop polling and close the HTTP client; safe to call twice."""
        self._closed = True
        for task in (self._task, self._watchdog):
            if task is None:
                continue
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception as exc:
                # Cancelled mid-request, the HTTP stack may raise its own error instead of the
                # cancellation (anyio under qasync): said, never a failed close.
                log.info("%s: polling ended while closing: %s", self.name, exc)
        self._task = self._watchdog = None
        await self._http.aclose()
        self._set_status(ConnectionState.STOPPED, "stopped")

    @property
    def status(self) -> LinkStatus:
        return self._link.status

    def _set_status(
        self, state: ConnectionState, detail: str = "", retry_in: float | None = None
    ) -> None:
        transport = self.link_transport if state in UP else None
        self._link.set(state, transport, detail, retry_in)

    def _polled(self) -> None:
        """A complete answer arrived: the link is LIVE from now."""
        self._last_good = time.monotonic()
        if self.status.state is not ConnectionState.LIVE:
            self._set_status(ConnectionState.LIVE, "")

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCHDOG_TICK_S)
            if self._last_good is None or self.status.state is not ConnectionState.LIVE:
                continue
            silent = time.monotonic() - self._last_good
            if silent >= self.stale_after_s:
                self._set_status(ConnectionState.STALE, self.silence_words.format(silent=silent))

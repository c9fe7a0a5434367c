"""Loads an Ops API backend's last hour from `metrics/historical` after its first live rows."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from opsconsole.backends.errors import BackendError
from opsconsole.core.backfill import backfill_range, history_rows, tick_of
from opsconsole.core.events import HistoryLoaded, MetricsBatch, SnapshotLoaded, StoreEvent
from opsconsole.core.models import METRIC_FIELDS
from opsconsole.core.protocol import HistoricalBody
from opsconsole.core.series import DEFAULT_CAPACITY

log = logging.getLogger(__name__)

Fetch = Callable[[str, str, float, float, float], Awaitable[HistoricalBody]]
TICK_SAMPLES = 9  # live sample times for the backend's step (a median over 8 steps)
CONCURRENCY = 6  # requests in flight: enough to finish in well under a second on loopback


class HistoryBackfill:
    """Watches what the link applies; after the first live rows, fetches history once.

    The fetch runs beside the link (never delaying live data) and lands as `HistoryLoaded`
    events that the store puts before the live rows, so live data continues the same series.
    A failure is logged and said on the timeline; the link is never affected.
    """

    def __init__(
        self,
        name: str,
        fetch: Fetch,
        sink: Callable[[StoreEvent], None],
        note: Callable[[str], None],
        *,
        history_s: float = 3600.0,
        max_points: int = DEFAULT_CAPACITY,
    ) -> None:
        self.name = name
        self._fetch = fetch
        self._sink = sink
        self._note = note
        self.history_s = history_s
        self.max_points = max_points
        self._services: tuple[str, ...] = ()
        self._times: list[float] = []
        self._after_snapshot = False
        self._task: asyncio.Task[None] | None = None
        self.loaded: dict[str, int] = {}  # service → rows taken (for tests and the log)
        self.done = asyncio.Event()

    def observe(self, event: StoreEvent) -> None:
        """Called with every event the link applies, in order."""
        if self._task is not None or self.history_s <= 0:
            return
        after_snapshot, self._after_snapshot = self._after_snapshot, False
        if isinstance(event, SnapshotLoaded) and event.services:
            self._services = tuple(s.name for s in event.services)
            self._after_snapshot = True
        elif isinstance(event, MetricsBatch) and self._services and event.ts.size:
            if after_snapshot:
                return  # a snapshot's row is taken at "now", off the backend's tick grid
            self._times.append(float(event.ts.max()))
            tick = tick_of(self._times[-TICK_SAMPLES:])
            if tick is not None and len(self._times) >= TICK_SAMPLES:
                # History runs up to the tick before the first streamed row. The snapshot's
                # own row sits between the two, off the grid: history is not cut short to end
                # before it (that dropped a tick, a hole at the seam), and whatever history
                # is not older than the oldest row held is left out by the store's prepend.
                first = self._times[0]
                plan = backfill_range(first, first, tick, self.history_s, self.max_points)
                self._task = asyncio.get_running_loop().create_task(
                    self._load(self._services, plan.start, plan.end, plan.step),
                    name=f"backfill:{self.name}",
                )

    async def _load(self, services: tuple[str, ...], start: float, end: float, step: float) -> None:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(service: str, metric: str) -> tuple[str, HistoricalBody]:
            async with gate:
                return metric, await self._fetch(service, metric, start, end, step)

        failed: list[str] = []
        try:
            for service in services:
                try:
                    answers = await asyncio.gather(*(one(service, m) for m in METRIC_FIELDS))
                except (BackendError, OSError, TimeoutError) as exc:
                    failed.append(f"{service}: {exc}")
                    continue
                ts, values = history_rows(dict(answers), METRIC_FIELDS)
                if ts.size:
                    self._sink(HistoryLoaded(self.name, service, ts, values, METRIC_FIELDS))
                self.loaded[service] = int(ts.size)
        except Exception:  # never let a backfill bug pass silently, nor touch the link
            log.exception("%s: loading history failed", self.name)
            self._note("History could not be loaded (see the log); live data is unaffected")
        else:
            if failed:
                log.warning("%s: history not loaded for %s", self.name, "; ".join(failed))
                self._note(
                    f"History not loaded for {len(failed)} of {len(services)} services: {failed[0]}"
                )
        finally:
            self.done.set()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

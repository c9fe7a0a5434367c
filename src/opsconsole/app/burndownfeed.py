"""Feeds the budgets panel's burn-down with the selected SLO's per-step counts from its backend."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from opsconsole.app.slocollect import budget_points
from opsconsole.backends.opsapi import OpsApiRest

if TYPE_CHECKING:  # the panel's module brings pyqtgraph: made after the first data is shown
    from opsconsole.ui.panels.budgets import BudgetsPanel

log = logging.getLogger(__name__)

# A burn-down spans weeks in hourly steps: read again at most this often for the same SLO.
REFRESH_S = 60.0


class BurndownFeed:
    """When the operator selects an SLO, read its window's hourly counts once (again after
    `REFRESH_S`) from a backend that serves them (`GET /slo/{service}/budget`); until then,
    and for backends that do not, the panel draws from window totals and says so."""

    def __init__(
        self,
        panel: BudgetsPanel,
        clients: Mapping[str, object],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.panel, self.clients, self._clock = panel, clients, clock
        self._read_at: dict[tuple[str, str], float] = {}
        self._task: asyncio.Task[None] | None = None
        panel.view.selectionModel().currentRowChanged.connect(self._selected)
        panel.ctx.store.slo_changed.connect(lambda _backend: self._selected())

    def _selected(self, *_: object) -> None:
        key = self.panel.selected()
        if key is None or (self._task is not None and not self._task.done()):
            return
        client = self.clients.get(key[0])
        if not isinstance(client, OpsApiRest):
            return  # Prometheus and Alertmanager serve no per-step budget counts
        now = self._clock()
        if now - self._read_at.get(key, -REFRESH_S) < REFRESH_S:
            return
        self._read_at[key] = now
        self._task = asyncio.ensure_future(self._read(client, *key))

    async def _read(self, client: OpsApiRest, backend: str, service: str) -> None:
        state = self.panel.ctx.store.backends.get(backend)
        obs = state.slos.get(service) if state is not None else None
        if obs is None:
            return
        try:
            got = await budget_points(client, obs)
        except Exception:  # never let a defect here pass silently, nor reach the panel
            log.exception("%s: reading %s's budget counts failed", backend, service)
            return
        if isinstance(got, str):
            log.warning("%s: %s", backend, got)  # the panel keeps the window totals, said so
            return
        points, step_s = got
        self.panel.set_burndown_points(backend, service, points, step_s)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()

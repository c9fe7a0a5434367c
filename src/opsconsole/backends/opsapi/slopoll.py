"""Reads an Ops API backend's SLOs and deploys beside its live stream, when it offers them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from opsconsole.backends.errors import BackendError
from opsconsole.backends.opsapi.rest import OpsApiRest, describe_error
from opsconsole.core.events import DeploysSeen, SlosObserved, StoreEvent
from opsconsole.core.slowire import FEATURE_DEPLOYS, FEATURE_SLO, deploy_of, observations_of

log = logging.getLogger(__name__)

SLO_EVERY_S = 10.0  # SLO counts move slowly: every few seconds, never per frame
FEATURES_EVERY_S = 60.0  # health is asked again this often (an upgraded or restarted backend)
DEPLOYS_EVERY_S = 60.0  # deploys come as events; the list is read again to fill any gap
RETRY_S = 2.0  # after a failed turn (a restarting backend): soon, so a stale word goes soon


class SloPoller:
    """Polls `GET /api/v1/slo` into `SlosObserved` and `GET /api/v1/deploys` into `DeploysSeen`,
    only while the backend's health lists the features; a backend without them is never asked.

    It polls while `link_up` is set (the live link is up): a backend that refused our
    credentials or does not answer is not asked again on the side. A failed poll is said
    through `say` (the link's detail) and tried again at the next turn; nothing here ever
    ends the link. `slo_every_s` <= 0 turns polling off.
    """

    def __init__(
        self,
        name: str,
        rest: OpsApiRest,
        sink: Callable[[StoreEvent], None],
        say: Callable[[str | None], None],
        link_up: asyncio.Event,
        *,
        slo_every_s: float = SLO_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._rest = rest
        self._sink = sink
        self._say = say
        self._link_up = link_up
        self.slo_every_s = slo_every_s
        self._clock = clock
        self.features: frozenset[str] | None = None  # None until health answered
        self._features_at = -1e18
        self._epoch: str | None = None
        self._deploys_epoch: str | None = None
        self._deploys_at = -1e18
        self._newest_deploy: float | None = None
        self._logged: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self.polls = 0  # completed turns (tests and the log)

    def start(self) -> None:
        if self.slo_every_s <= 0:
            return
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name=f"slo:{self.name}")

    async def aclose(self) -> None:
        """Stop polling. A poller that had already ended by an error is said in the log, and
        closing goes on: the link's own close must not fail because of it."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("%s: the SLO poller had stopped by an error", self.name)

    async def run(self) -> None:
        """Poll forever; every failure is said and retried, never raised."""
        while True:
            await self._link_up.wait()
            wait = min(self.slo_every_s, RETRY_S)
            try:
                wait = await self.poll_once()
            except asyncio.CancelledError:
                raise
            except (BackendError, OSError, TimeoutError) as exc:
                self._say(f"SLOs not read: {describe_error(exc)}")
            except Exception as exc:  # a defect: said and logged once, the link unaffected
                kind = type(exc).__name__
                if kind not in self._logged:
                    self._logged.add(kind)
                    log.exception("%s: reading SLOs failed", self.name)
                self._say(f"SLOs not read: {kind} (see the log)")
            await asyncio.sleep(wait)

    async def poll_once(self) -> float:
        """One turn; returns how long to wait before the next."""
        now = self._clock()
        if self.features is None or now - self._features_at >= FEATURES_EVERY_S:
            health = await self._rest.health()
            self.features = frozenset(health.features)
            self._features_at = now
            self._epoch = health.epoch
        if not self.features & {FEATURE_SLO, FEATURE_DEPLOYS}:
            return FEATURES_EVERY_S
        problem: str | None = None
        if FEATURE_DEPLOYS in self.features:
            await self._read_deploys(now)
        if FEATURE_SLO in self.features:
            body = await self._rest.slos()
            observations, refused = observations_of(body)
            self._sink(SlosObserved(self.name, observations))
            if refused:
                problem = f"{len(refused)} SLO(s) not understood: {refused[0].reason}"
                if "refused" not in self._logged:
                    self._logged.add("refused")
                    log.warning("%s: %s", self.name, problem)
        self._say(problem)
        self.polls += 1
        return self.slo_every_s

    async def _read_deploys(self, now: float) -> None:
        """All deploys on a new run of the backend, then those since the newest known."""
        new_run = self._epoch != self._deploys_epoch
        if not new_run and now - self._deploys_at < DEPLOYS_EVERY_S:
            return
        body = await self._rest.deploys(None if new_run else self._newest_deploy)
        self._deploys_epoch, self._deploys_at = self._epoch, now
        if body.deploys:
            self._newest_deploy = max(d.ts for d in body.deploys)
            self._sink(DeploysSeen(self.name, tuple(deploy_of(d) for d in body.deploys)))

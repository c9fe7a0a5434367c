"""The SLO side of a Prometheus backend: counts per window, Sloth's rules, deploy markers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx

from opsconsole.backends.errors import AuthFailed
from opsconsole.backends.secrets import redact
from opsconsole.core.config import SloConfig
from opsconsole.core.events import DeploysSeen, SlosObserved, StoreEvent
from opsconsole.core.promdeploys import DEPLOY_LOOKBACK_S, VersionTracker
from opsconsole.core.promql import (
    Matrix,
    PromError,
    Vector,
    backfill_range,
    plain_words,
    refresh_range,
)
from opsconsole.core.slo.model import BURN_WINDOWS, WHOLE, Counts, SloObservation
from opsconsole.core.slopromql import (
    SLO_EVERY_S,
    WHOLE_EVERY_S,
    CountQuery,
    counts_from_vector,
    plan_counts,
)
from opsconsole.core.slosloth import (
    DETECT,
    READ,
    detected,
    from_ratios,
    pick_per_service,
    read_rules,
)

log = logging.getLogger(__name__)

Sink = Callable[[StoreEvent], None]
Instant = Callable[[str, float], Awaitable[Vector | PromError]]
Range = Callable[[str, float, float, float], Awaitable[Matrix | PromError]]


class SloReader:
    """Polls one Prometheus for its SLOs and deploys; hands `SlosObserved`/`DeploysSeen` over.

    Every `every_s`: one instant query per burn window (and, once a minute, per whole window)
    for all configured SLOs at once, or Sloth's recorded ratios when the server has them
    (learned once, at the first refresh), plus the deploy-marker range when configured. A
    failed query leaves out only the windows it would have given, and says so in `problems`
    (the link's detail); a failed refresh keeps the last observations. Nothing here ends the
    link: `run` survives every error but cancellation.
    """

    def __init__(
        self,
        backend: str,
        slos: Sequence[SloConfig],
        service_label: str,
        deploys_promql: str | None,
        step_s: float,
        apply: Sink,
        instant: Instant,
        range_: Range,
        now: Callable[[], float],
        *,
        every_s: float = SLO_EVERY_S,
        whole_every_s: float = WHOLE_EVERY_S,
    ) -> None:
        self.backend = backend
        self.slos = tuple(slos)
        self.service_label = service_label
        self.deploys_promql = deploys_promql
        self.step_s = step_s
        self._apply = apply
        self._instant = instant
        self._range = range_
        self._now = now
        self.every_s = every_s
        self.whole_every_s = whole_every_s
        self.sloth: frozenset[str] | None = None  # services with Sloth rules; None: not asked
        self._counts: dict[str, dict[str, Counts]] = {}
        self._whole_read: float | None = None  # monotonic time of the last whole-window read
        self.whole_at: float | None = None  # server time the whole windows were counted at
        self._deploys = VersionTracker(backend, service_label)
        self._deploys_end: float | None = None
        self.problems = ""  # for the link's detail
        self.refreshes = 0
        self.last_refresh_requests = 0
        self.observations: tuple[SloObservation, ...] = ()

    @property
    def idle(self) -> bool:
        """Nothing to poll: no [[slo]], no Sloth rules on the server, no deploys query."""
        return (
            not self.slos and self.sloth is not None and not self.sloth and not self.deploys_promql
        )

    async def run(self) -> None:
        """Refresh every `every_s` until cancelled; an error is said, never raised."""
        while not self.idle:
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except AuthFailed as exc:
                self.problems = f"SLOs not read: {exc}"
            except (httpx.HTTPError, OSError) as exc:
                self.problems = f"SLOs not read: {redact(str(exc) or type(exc).__name__)}"
            except Exception as exc:  # a bug here must not stop the signals' link
                log.exception("%s: SLO refresh failed", self.backend)
                self.problems = f"SLOs not read: internal error ({type(exc).__name__})"
            await asyncio.sleep(self.every_s)

    async def refresh(self) -> None:
        """One round: (Sloth detection,) counts, Sloth ratios, deploys; then the events."""
        requests = 0
        if self.sloth is None:
            answer = await self._instant(DETECT, self._now())
            requests += 1
            # A refusal is not "no Sloth" for ever: an old server may lack `group`; treat
            # it as none and say nothing (the computed counts still come).
            self.sloth = detected(answer) if isinstance(answer, Vector) else frozenset()
            if self.sloth:
                log.info(
                    "%s: reading Sloth's SLO rules for %d services", self.backend, len(self.sloth)
                )
        at = round(self._now(), 3)
        computed = [s for s in self.slos if s.service not in (self.sloth or ())]
        mono = time.monotonic()
        whole_due = (
            self._whole_read is None
            or mono - self._whole_read >= self.whole_every_s
            # Read too early (fewer than two samples yet): a service with traffic in its
            # shortest window has some in its whole window, so this does not repeat.
            or any(WHOLE not in w and BURN_WINDOWS[0] in w for w in self._counts.values())
        )
        windows = (*BURN_WINDOWS, WHOLE) if whole_due else BURN_WINDOWS
        plan = plan_counts(computed, self.service_label, at, windows) if computed else []
        runnable = [q for q in plan if q.promql]
        jobs: list[Any] = [self._instant(q.promql, at) for q in runnable]
        if self.sloth:
            jobs.append(self._instant(READ, at))
        deploy_range = self._deploy_range(at)
        if deploy_range is not None:
            assert self.deploys_promql is not None
            jobs.append(self._range(self.deploys_promql, *deploy_range))
        requests += len(jobs)
        results = await asyncio.gather(*jobs, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        if whole_due:
            self._whole_read, self.whole_at = mono, at

        problems = [q.error for q in plan if q.error]
        for query in plan:
            if query.error:
                self._forget(query)
        for query, result in zip(runnable, results, strict=False):
            problems += self._take_counts(query, result)
        observations = {
            s.service: SloObservation(s.slo, at, self._counts.get(s.service, {})) for s in computed
        }
        rest = results[len(runnable) :]
        if self.sloth:
            sloth = rest.pop(0)
            problems += self._take_sloth(sloth, at, observations)
        if deploy_range is not None:
            problems += self._take_deploys(rest.pop(0), deploy_range[1])

        self.refreshes += 1
        self.last_refresh_requests = requests
        self.problems = "; ".join(dict.fromkeys(redact(p) for p in problems))
        self.observations = tuple(observations[s] for s in sorted(observations))
        if self.observations or self.slos or self.sloth:
            self._apply(SlosObserved(self.backend, self.observations))

    def current_version(self, service: str) -> str | None:
        """The version the deploys query last saw running, None before its first sight."""
        return self._deploys.current(service)

    # ------------------------------------------------------------------ answers

    def _forget(self, query: CountQuery) -> None:
        for service in query.services:
            self._counts.get(service, {}).pop(query.window, None)

    def _take_counts(self, query: CountQuery, result: Vector | PromError) -> list[str]:
        if isinstance(result, PromError):
            self._forget(query)
            name = f"SLO {query.window} ({', '.join(query.services[:3])}…)"
            if len(query.services) <= 3:
                name = f"SLO {query.window} ({', '.join(query.services)})"
            return [plain_words(result.status, result.error_type, result.message, name)]
        counts = counts_from_vector(result, query, self.service_label)
        for service in query.services:
            windows = self._counts.setdefault(service, {})
            if service in counts:
                windows[query.window] = counts[service]
            else:
                windows.pop(query.window, None)  # no series: no data, never zero
        return []

    def _take_sloth(
        self, answer: Vector | PromError, at: float, into: dict[str, SloObservation]
    ) -> list[str]:
        if isinstance(answer, PromError):
            return [plain_words(answer.status, answer.error_type, answer.message, "Sloth rules")]
        chosen, notes = pick_per_service(read_rules(answer))
        configured = {s.service: s for s in self.slos}
        for rule in chosen:
            observation = from_ratios(rule, at)
            if observation is None:
                notes.append(f"{rule.service}: Sloth SLO {rule.name} has no objective rule")
                continue
            mine = configured.get(rule.service)
            if mine is not None and abs(mine.objective - observation.slo.objective) > 1e-9:
                notes.append(
                    f"{rule.service}: Sloth's objective {observation.slo.objective:.4%} "
                    f"is shown, not the config's {mine.objective:.4%}"
                )
            into[rule.service] = observation
        return notes

    def _deploy_range(self, at: float) -> tuple[float, float, float] | None:
        if not self.deploys_promql:
            return None
        if self._deploys_end is None:
            return backfill_range(at, DEPLOY_LOOKBACK_S, self.step_s)
        rng = refresh_range(at, self.step_s, self._deploys_end)
        return None if rng is None else (rng[0], rng[1], self.step_s)

    def _take_deploys(self, answer: Matrix | PromError, end: float) -> list[str]:
        if isinstance(answer, PromError):
            return [plain_words(answer.status, answer.error_type, answer.message, "deploys")]
        self._deploys_end = end
        deploys = self._deploys.feed(answer)
        if deploys:
            self._apply(DeploysSeen(self.backend, tuple(deploys)))
        return []

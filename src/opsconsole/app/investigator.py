"""Runs the investigation's checks on one service in parallel, each within its own time limit."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from opsconsole.app.baselinehistory import BaselineHistory, read_baseline
from opsconsole.core.incident import default_start
from opsconsole.core.investigate import (
    CHECKS,
    Evidence,
    Finding,
    Inputs,
    Verdict,
    finding_data,
    findings_markdown,
    investigation_entry,
    merge_backends,
    run_check,
)
from opsconsole.core.investigate.inputs import BLIND_STATES
from opsconsole.core.store import BackendState, Store
from opsconsole.core.timeline import TimelineEntry

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 3.0
TOTAL_TIMEOUT_S = 10.0
# Without an incident or an alert to start from, the baseline ends this long before now: a
# deviation that began minutes ago is then measured against the hour before it.
FALLBACK_START_S = 300.0


class UnknownService(ValueError):
    """No backend knows the service asked about."""


@dataclass(frozen=True)
class InvestigationRun:
    """One investigation's result: every finding, in reading order."""

    service: str
    started_ts: float
    finished_ts: float
    incident_start: float
    findings: tuple[Finding, ...]
    backends: tuple[str, ...]

    def markdown(self) -> str:
        return findings_markdown(self.service, self.findings, self.started_ts)

    def entry(self) -> TimelineEntry:
        return investigation_entry(
            self.service, self.findings, self.finished_ts, self.incident_start
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "started_ts": self.started_ts,
            "finished_ts": self.finished_ts,
            "incident_start": self.incident_start,
            "backends": list(self.backends),
            "findings": [finding_data(f) for f in self.findings],
        }


def _knows(state: BackendState, service: str) -> bool:
    """Whether a backend holds anything about `service` (or is blind, so it cannot tell)."""
    if state.link.state in BLIND_STATES:
        return True  # its checks say "could not look" rather than leave it out
    return (
        service in state.services
        or service in state.slos
        or any(a.service == service for a in state.alerts.values())
    )


class Investigator:
    """Investigates one service across the backends that know it and the console's record."""

    def __init__(
        self,
        store: Store,
        clients: Mapping[str, object],
        entries: Callable[[], Sequence[TimelineEntry]],
        *,
        incident_start: Callable[[], float | None] = lambda: None,
        clock: Callable[[], float] = time.time,
        check_timeout_s: float = CHECK_TIMEOUT_S,
        total_timeout_s: float = TOTAL_TIMEOUT_S,
    ) -> None:
        self.store, self.clients, self.entries = store, clients, entries
        self.incident_start, self.clock = incident_start, clock
        self.check_timeout_s, self.total_timeout_s = check_timeout_s, total_timeout_s

    def backends_for(self, service: str) -> list[str]:
        return [n for n, s in self.store.backends.items() if _knows(s, service)]

    def known(self, service: str) -> bool:
        """A service some backend lists, or any service while a backend is blind."""
        states = self.store.backends.values()
        return any(service in s.services or s.link.state in BLIND_STATES for s in states)

    def expected_checks(self, service: str) -> int:
        return len(CHECKS) * max(1, len(self.backends_for(service)))

    def start_for(self, service: str, entries: Sequence[TimelineEntry], now: float) -> float:
        """The open incident's start; else the earliest related alert in the last 2 h; else
        a few minutes ago."""
        given = self.incident_start()
        if given is not None and math.isfinite(given):
            return given
        related = {service}
        for state in self.store.backends.values():
            record = state.services.get(service)
            if record is not None:
                related.update(record.depends_on)
        alerts = [e for e in entries if e.kind == "alert" and e.service in related]
        start = default_start(alerts, now)
        return start if start < now else now - FALLBACK_START_S

    async def run(
        self, service: str, on_finding: Callable[[Finding], None] | None = None
    ) -> InvestigationRun:
        """Every check against every backend that knows `service`, within the time limits.

        A check that does not finish in time is an ERROR finding that says so; nothing is
        ever reported ok because it could not be looked at."""
        if not self.known(service):
            raise UnknownService(f"no backend knows a service named {service!r}")
        backends = self.backends_for(service)
        started = self.clock()
        entries = tuple(self.entries())
        start = self.start_for(service, entries, started)
        deadline = time.monotonic() + self.total_timeout_s
        tasks: dict[asyncio.Task[Finding], tuple[str, str]] = {}
        reads: list[asyncio.Task[BaselineHistory]] = []
        for backend in backends:
            inputs = Inputs(self.store, backend, service, start, entries)
            history = self._history_task(backend, inputs, started)
            if history is not None:
                reads.append(history[0])
            for check_id, _check in CHECKS:
                task = asyncio.create_task(self._one(check_id, inputs, history, started))
                tasks[task] = (backend, check_id)
        place = {task: i for i, task in enumerate(tasks)}
        found: list[tuple[int, Finding]] = []

        def told(task: asyncio.Task[Finding], f: Finding) -> None:
            found.append((place[task], f))
            if on_finding is not None:
                try:
                    on_finding(f)
                except Exception:  # a listener's bug must not end the run
                    log.exception("investigation listener failed")

        pending = set(tasks)
        try:
            while pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                done, pending = await asyncio.wait(
                    pending, timeout=left, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    told(task, task.result())
        finally:
            for task in (*pending, *reads):
                task.cancel()  # a run cancelled or out of time leaves nothing running
        for task in pending:
            backend, check_id = tasks[task]
            told(
                task,
                Finding(
                    check_id,
                    service,
                    Verdict.ERROR,
                    f"timed out: the run's {self.total_timeout_s:g} s were up",
                    Evidence(values={"backend": backend}),
                ),
            )
        # Arrival order is the network's; the catalogue's order breaks the ties instead.
        found.sort(key=lambda placed: placed[0])
        findings = merge_backends([f for _place, f in found])
        return InvestigationRun(service, started, self.clock(), start, findings, tuple(backends))

    def _history_task(
        self, backend: str, inputs: Inputs, now: float
    ) -> tuple[asyncio.Task[BaselineHistory], str] | None:
        client = self.clients.get(backend)
        if client is None or inputs.state.link.state in BLIND_STATES:
            return None
        reading = read_baseline(client, inputs, now)
        if reading is None:
            return None
        return asyncio.ensure_future(reading.read), reading.query

    async def _one(
        self,
        check_id: str,
        inputs: Inputs,
        history: tuple[asyncio.Task[BaselineHistory], str] | None,
        now: float,
    ) -> Finding:
        check = dict(CHECKS)[check_id]
        if check_id == "golden_signals" and history is not None:
            task, query = history
            try:
                got = await asyncio.wait_for(asyncio.shield(task), self.check_timeout_s)
            except TimeoutError:
                task.cancel()
                return Finding(
                    check_id,
                    inputs.service,
                    Verdict.ERROR,
                    f"timed out after {self.check_timeout_s:g} s reading the backend's history",
                    Evidence(values={"backend": inputs.backend}, query=query),
                )
            inputs = replace(
                inputs,
                baseline=got.baseline,
                yesterday=got.yesterday,
                history_query=got.query,
                history_problem=got.problem,
            )
        return run_check(check_id, check, inputs, now)

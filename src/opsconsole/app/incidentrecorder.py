"""The incident's own record: golden-signal samples and SLO snapshots kept while it is open."""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer

from opsconsole.core.incident import Incident, IncidentStore
from opsconsole.core.incident.record import Sample, SloSnapshot
from opsconsole.core.incident.rows import samples_between
from opsconsole.core.store import Store

log = logging.getLogger(__name__)

DEFAULT_STEP_S = 5.0


@dataclass(frozen=True)
class _Backfill:
    """One service's rows to copy from its ring buffer: times in (after, until]."""

    backend: str
    service: str
    after: float
    until: float


class IncidentRecorder(QObject):
    """While an incident is open, every `step_s` each service's ring rows newer than the last
    kept (a frozen backend adds nothing), the rows from the incident's start copied first,
    and each SLO's figures at open and at close. Resumes an incident left open by an earlier
    run."""

    def __init__(
        self,
        store: Store,
        incidents: IncidentStore,
        now: Callable[[], float],
        step_s: float = DEFAULT_STEP_S,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.store, self.incidents, self._now = store, incidents, now
        self.incident_id: int | None = None
        self._covered_from = math.inf  # the earliest start already copied from the rings
        self._last: dict[tuple[str, str], float] = {}  # newest sample time kept per service
        self._snapshotted: set[tuple[str, str]] = set()  # SLOs with their opening figures
        self._backfill: deque[_Backfill] = deque()
        self.samples_written = 0
        self._timer = QTimer(self, timeout=self.sample)
        self._timer.setInterval(int(step_s * 1000))
        # One service's history per turn of the loop: the UI stays responsive while an
        # hour of rows is copied.
        self._copier = QTimer(self, singleShot=True, timeout=self._copy_one)
        self._copier.setInterval(0)
        incidents.changed.connect(self._changed)
        store.slo_changed.connect(self._slos_changed)
        current = incidents.current()
        if current is not None:
            self._begin(current, resumed=True)

    @property
    def step_s(self) -> float:
        return self._timer.interval() / 1000.0

    @step_s.setter
    def step_s(self, seconds: float) -> None:
        self._timer.setInterval(max(1, int(seconds * 1000)))

    @property
    def copying(self) -> bool:
        """Whether rows from before the opening are still being copied."""
        return bool(self._backfill)

    def close(self) -> None:
        self._timer.stop()
        self._copier.stop()
        self.incidents.changed.disconnect(self._changed)
        self.store.slo_changed.disconnect(self._slos_changed)

    # ------------------------------------------------------------ following the incident

    def _changed(self, incident: Incident) -> None:
        if incident.is_open and incident.id != self.incident_id:
            self._begin(incident, resumed=False)
        elif incident.id == self.incident_id and not incident.is_open:
            self._end(incident)
        elif incident.id == self.incident_id and incident.start_ts < self._covered_from:
            self._queue_backfill(incident.start_ts, self._covered_from)  # start moved back

    def _begin(self, incident: Incident, resumed: bool) -> None:
        self.incident_id = incident.id
        self._last.clear()
        self._snapshotted.clear()
        self._backfill.clear()
        if resumed:
            # The opening figures were kept by the run that opened it; the rings hold what
            # came since the last sample kept (after a restart, what the backend replayed).
            kept = self.incidents.slo_snapshots(incident.id)
            self._snapshotted = {(s.backend, s.service) for s in kept}
            last = self.incidents.last_sample_ts(incident.id)
            after = incident.start_ts if last is None else max(incident.start_ts, last)
            self._queue_backfill(after, math.inf)
        else:
            self._queue_backfill(incident.start_ts, math.inf)
        self._covered_from = incident.start_ts
        self._snapshot_slos(incident.id, opening=True)
        self._timer.start()

    def _end(self, incident: Incident) -> None:
        self.sample()  # the last values before the close
        self._snapshot_slos(incident.id, opening=False)
        self._timer.stop()
        self._copier.stop()
        self._backfill.clear()
        self.incident_id = None

    # ------------------------------------------------------------ samples

    def sample(self) -> int:
        """Every service's rows newer than the last kept, as the ring holds them; returns how
        many were kept. The ring's own rows, not one median per step: the post-mortem's sums
        and charts then have the live resolution, and a hole in the data stays a hole."""
        if self.incident_id is None:
            return 0
        batch: list[Sample] = []
        for backend, state in list(self.store.backends.items()):
            for service in list(state.series):
                series = state.series.get(service)
                if series is None or series.last_ts is None:
                    continue
                after = self._last.get((backend, service))
                if after is None:  # a service first seen now: its rows of this step
                    after = series.last_ts - self.step_s
                batch.extend(samples_between(backend, series, after, series.last_ts))
        return self._keep(batch)

    def _keep(self, batch: list[Sample]) -> int:
        if self.incident_id is None or not batch:
            return 0
        written = self.incidents.add_samples(self.incident_id, batch)
        for s in batch:
            key = (s.backend, s.service)
            self._last[key] = max(self._last.get(key, -math.inf), s.ts)
        self.samples_written += written
        return written

    def _queue_backfill(self, start_ts: float, until_console: float) -> None:
        """Copy every service's rows from `start_ts` (the console's clock) up to
        `until_console`, each backend's clock shifted as the store estimates it."""
        console_now = self._now()
        for backend, state in list(self.store.backends.items()):
            offset = self.store.server_now(backend, console_now) - console_now
            after = start_ts + offset - 1e-6  # the start's own row included
            until = until_console + offset
            for service in list(state.series):
                self._backfill.append(_Backfill(backend, service, after, until))
        self._covered_from = min(self._covered_from, start_ts)
        if self._backfill:
            self._copier.start()

    def _copy_one(self) -> None:
        if not self._backfill or self.incident_id is None:
            return
        job = self._backfill.popleft()
        series = self.store.backends[job.backend].series.get(job.service)
        if series is not None:
            rows = samples_between(job.backend, series, job.after, job.until)
            self._keep(rows)
        if self._backfill:
            self._copier.start()

    # ------------------------------------------------------------ SLO snapshots

    def _slos_changed(self, backend: str) -> None:
        # SLO figures that were not known yet at the opening (a console just started).
        if self.incident_id is not None:
            self._snapshot_slos(self.incident_id, opening=True, backends=(backend,))

    def _snapshot_slos(
        self, incident_id: int, opening: bool, backends: tuple[str, ...] | None = None
    ) -> None:
        for backend, snapshot in self._slo_figures(backends):
            key = (backend, snapshot.service)
            if opening and key in self._snapshotted:
                continue
            if self.incidents.add_slo_snapshot(incident_id, snapshot):
                self._snapshotted.add(key)

    def _slo_figures(self, backends: tuple[str, ...] | None) -> Iterator[tuple[str, SloSnapshot]]:
        for backend, state in list(self.store.backends.items()):
            if backends is not None and backend not in backends:
                continue
            for observation in list(state.slos.values()):
                counts = observation.counts("window")
                if counts is None:
                    continue  # the backend did not report the whole window: nothing to keep
                slo = observation.slo
                yield (
                    backend,
                    SloSnapshot(
                        backend=backend,
                        service=slo.service,
                        ts=observation.as_of,
                        objective=slo.objective,
                        window=slo.window.literal,
                        window_total=counts.total,
                        window_bad=counts.bad,
                        ratios_only=observation.ratios_only,
                    ),
                )

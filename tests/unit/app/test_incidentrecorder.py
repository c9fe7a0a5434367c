"""The incident recorder against a real Store fed with real events and a real IncidentStore:
rows copied from the start, every new row each step, SLO figures at open and close, and
a restart that resumes instead of starting over."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from opsconsole.app.incidentrecorder import IncidentRecorder
from opsconsole.core.events import MetricsBatch, SlosObserved
from opsconsole.core.incident import IncidentStore, Severity
from opsconsole.core.models import METRIC_FIELDS
from opsconsole.core.slo import Counts, Slo, SloObservation, SloWindow
from opsconsole.core.store import Store

TS = 1_700_000_000.0
SERVICES = ("orders", "search")


def row(p99: float, errors: float, rps: float, cpu: float) -> list[float]:
    values = dict.fromkeys(METRIC_FIELDS, math.nan)
    values.update(latency_p99_ms=p99, error_ratio=errors, rps=rps, cpu=cpu)
    return [values[f] for f in METRIC_FIELDS]


def feed(store: Store, ts: float, nan_for: tuple[str, ...] = ()) -> None:
    """One row per service at `ts`; the services in `nan_for` report nothing at all."""
    values = [
        [math.nan] * len(METRIC_FIELDS) if name in nan_for else row(100 + i, 0.01, 50.0, 0.3)
        for i, name in enumerate(SERVICES)
    ]
    store.apply(
        MetricsBatch("sim", SERVICES, np.full(len(SERVICES), ts), np.array(values), METRIC_FIELDS)
    )


def observation(service: str, bad: float) -> SloObservation:
    slo = Slo(service, 0.999, SloWindow.rolling(30))
    return SloObservation(slo, TS, {"window": Counts(100_000 - bad, 100_000)})


@pytest.fixture
def store() -> Store:
    # The store's monotonic clock stands still: the backend's clock is its newest row's time.
    return Store(capacity=64, clock=lambda: 1000.0)


def test_rows_from_the_start_then_every_new_row_each_step(qtbot, store: Store) -> None:
    for second in range(10):
        feed(store, TS + second, nan_for=("orders",) if second == 3 else ())
    incidents = IncidentStore(None)
    recorder = IncidentRecorder(store, incidents, now=lambda: TS + 9.5)
    incident = incidents.open("orders slow", Severity.SEV2, TS + 2, TS + 9.5)
    assert incident is not None and recorder.incident_id == incident.id
    qtbot.waitUntil(lambda: not recorder.copying, timeout=2000)

    kept = incidents.samples(incident.id)
    by_service = {name: [s.ts - TS for s in kept if s.service == name] for name in SERVICES}
    # From the start's own row on; orders' row that said nothing is not kept.
    assert by_service == {"orders": [2, 4, 5, 6, 7, 8, 9], "search": [2, 3, 4, 5, 6, 7, 8, 9]}
    # float32 in the rings: the values as stored there, to seven digits.
    values = {(s.latency_p99_ms, round(s.error_ratio, 6), s.rps, round(s.cpu, 6)) for s in kept}
    assert values == {(100.0, 0.01, 50.0, 0.3), (101.0, 0.01, 50.0, 0.3)}

    # Nothing newer: a step keeps nothing (a frozen backend does not repeat itself).
    assert recorder.sample() == 0
    feed(store, TS + 10)
    feed(store, TS + 11, nan_for=("search",))
    assert recorder.sample() == 3  # every row the ring got since, not one median per step
    newest = [(s.ts - TS, s.service) for s in incidents.samples(incident.id) if s.ts > TS + 9]
    assert sorted(newest) == [(10, "orders"), (10, "search"), (11, "orders")]
    assert recorder.sample() == 0
    recorder.close()


def test_slo_figures_at_open_late_ones_too_and_at_close(qtbot, store: Store) -> None:
    feed(store, TS)
    store.apply(SlosObserved("sim", (observation("orders", 40),)))
    incidents = IncidentStore(None)
    recorder = IncidentRecorder(store, incidents, now=lambda: TS + 1)
    incident = incidents.open("errors", Severity.SEV3, TS, TS + 1)
    assert incident is not None
    assert [(s.service, s.window_bad) for s in incidents.slo_snapshots(incident.id)] == [
        ("orders", 40)
    ]
    # search's SLO was not known at the opening: its first figures count as its opening ones;
    # orders already has them.
    store.apply(SlosObserved("sim", (observation("orders", 55), observation("search", 7))))
    opening = incidents.slo_snapshots(incident.id)
    assert sorted((s.service, s.window_bad) for s in opening) == [("orders", 40), ("search", 7)]

    store.apply(SlosObserved("sim", (observation("orders", 90), observation("search", 9))))
    incidents.close_incident(TS + 60)
    assert recorder.incident_id is None
    snaps = incidents.slo_snapshots(incident.id)
    assert sorted((s.service, s.window_bad) for s in snaps) == [
        ("orders", 40),
        ("orders", 90),
        ("search", 7),
        ("search", 9),
    ]
    first = snaps[0]
    assert (first.objective, first.window, first.window_total) == (0.999, "30d", 100_000)
    # Closed: steps keep nothing more.
    feed(store, TS + 61)
    assert recorder.sample() == 0
    recorder.close()


def test_a_restart_resumes_the_open_incident(qtbot, store: Store, tmp_path: Path) -> None:
    path = tmp_path / "incidents.sqlite3"
    for second in range(5):
        feed(store, TS + second)
    store.apply(SlosObserved("sim", (observation("orders", 3),)))
    incidents = IncidentStore(path)
    recorder = IncidentRecorder(store, incidents, now=lambda: TS + 4)
    incident = incidents.open("search down", Severity.SEV1, TS, TS + 4)
    assert incident is not None
    qtbot.waitUntil(lambda: not recorder.copying, timeout=2000)
    assert len(incidents.samples(incident.id)) == 10
    recorder.close()
    incidents.close()

    # A new run: the rows since the last kept sample are copied, nothing twice, and the
    # opening SLO figures are not written again.
    for second in range(5, 8):
        feed(store, TS + second)
    again = IncidentStore(path)
    resumed = IncidentRecorder(store, again, now=lambda: TS + 7)
    assert resumed.incident_id == incident.id
    qtbot.waitUntil(lambda: not resumed.copying, timeout=2000)
    times = sorted({s.ts - TS for s in again.samples(incident.id)})
    assert times == [0, 1, 2, 3, 4, 5, 6, 7]
    assert len(again.samples(incident.id)) == 16
    assert len(again.slo_snapshots(incident.id)) == 1

    # Moving the start back copies what the rings hold from there.
    for second in range(8, 10):
        feed(store, TS + second)
    earlier = IncidentStore(None)
    earlier_recorder = IncidentRecorder(store, earlier, now=lambda: TS + 9)
    opened = earlier.open("late start", Severity.SEV4, TS + 8, TS + 9)
    assert opened is not None
    qtbot.waitUntil(lambda: not earlier_recorder.copying, timeout=2000)
    assert len(earlier.samples(opened.id)) == 4
    earlier.move_start(TS + 6)
    qtbot.waitUntil(lambda: len(earlier.samples(opened.id)) == 8, timeout=2000)
    resumed.close()
    earlier_recorder.close()

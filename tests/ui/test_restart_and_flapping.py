"""An honest screen under stress: a restarted backend is a restart (not a failover) in the
timeline and the clusters panel, and a flapping breaker is one growing timeline line."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from opsconsole.backends.opsapi import OpsApiClient, new_intent_key
from opsconsole.core.events import CircuitChanged, SnapshotLoaded
from opsconsole.core.models import Circuit, DbCluster, DbMember, Service
from opsconsole.core.timeline import TimelineRecorder, TimelineStore
from opsconsole.ui.panels.clusters import ClustersPanel, ClusterTrail, describe_episode
from opsconsole.ui.panels.timeline import TimelinePanel
from tests.support.panels import PanelHarness
from tests.support.waiting import wait_until

CLOCK = r"\d\d:\d\d:\d\d"


class Harness(PanelHarness):
    """The timeline and clusters panels over one store, the timeline kept in memory."""

    def __init__(self, qapp, qtbot) -> None:
        super().__init__(qapp, qtbot)
        self.timeline = TimelineStore(None)
        self.recorder = TimelineRecorder(self.store, self.timeline)
        self.panel = self.show(TimelinePanel(self.ctx, self.timeline), (960, 380))
        self.clusters = self.show(ClustersPanel(self.ctx), (960, 380))

    def close(self) -> None:
        super().close()
        self.recorder.close()

    def rows_matching(self, pattern: str) -> list[str]:
        regex = re.compile(pattern)
        return [r for r in self.panel.rows() if regex.search(r)]

    def cluster_timeline(self) -> int:
        cluster = self.store.backend("sim").clusters.get("orders-db")
        return 0 if cluster is None else max(m.timeline for m in cluster.members)


@pytest.fixture
def ui(qapp, qtbot) -> Iterator[Harness]:
    harness = Harness(qapp, qtbot)
    yield harness
    harness.close()


# ---------------------------------------------------------------------------- restart


def test_a_restart_after_a_failover_reads_as_a_restart(qloop, sim_thread, ui) -> None:
    first = sim_thread(time_scale=20)
    port = int(first.url.rsplit(":", 1)[1])

    async def scenario() -> None:
        client = OpsApiClient("sim", first.url, ui.store.apply)
        client.start()
        ui.scheduler.start()
        try:
            await wait_until(lambda: ui.cluster_timeline() == 1, 10, "orders-db listed")
            await client.failover("orders-db", "replica-1", new_intent_key())
            await wait_until(
                lambda: ui.rows_matching(r"replica-1 promoted to primary \(timeline 2"),
                10,
                "the failover on the timeline",
            )
            first.stop()
            second = sim_thread(port=port, time_scale=20)
            assert second.url == first.url
            await wait_until(
                lambda: ui.rows_matching("restarted"), 15, "the restart on the timeline"
            )
            await wait_until(lambda: ui.cluster_timeline() == 1, 5, "the new run's state")
            await ui.scheduler.frames(2)
        finally:
            await client.aclose()

    qloop.run(scenario(), timeout=60)
    [restart] = ui.rows_matching("restarted")
    # A quick restart may fall within one second: "no data at 12:24:10".
    gap = rf"no data (from {CLOCK} to {CLOCK}|at {CLOCK})"
    assert re.search(rf"○ connection\s+Backend sim restarted; {gap}$", restart), restart
    above = ui.panel.rows()[: ui.panel.rows().index(restart)]
    assert not [r for r in above if "promoted" in r or "timeline 1" in r], ui.panel.rows()
    assert len(ui.rows_matching("promoted")) == 1, "only the real failover"
    # The clusters panel tells the new run's state, with no story leading backwards.
    text = ui.clusters.cluster_text("sim", "orders-db")
    assert text.splitlines()[0] == "● orders-db  HEALTHY  primary: primary-db  timeline 1", text
    assert "timeline 2 → 1" not in text and "replica-1 → primary-db" not in text, text


def cluster(primary: str, timeline: int) -> DbCluster:
    return DbCluster(
        name="orders-db",
        state="healthy",
        read_only=False,
        primary=primary,
        members=tuple(
            DbMember(
                name=n,
                role="primary" if n == primary else "replica",
                healthy=True,
                timeline=timeline,
            )
            for n in ("primary-db", "replica-1")
        ),
    )


def test_the_clusters_story_never_runs_a_timeline_backwards() -> None:
    trail = ClusterTrail()
    trail.add(cluster("primary-db", 1), 0.0)
    trail.add(cluster("replica-1", 2), 10.0)
    trail.add(cluster("primary-db", 3), 20.0)
    assert "timeline 1 → 3" in describe_episode(trail.episode(), 21.0)
    # The backend restarted long after: its cluster is back on timeline 1.
    assert trail.add(cluster("primary-db", 1), 500.0) is False, "a restart is no flash"
    assert trail.episode() == [], "no story: the new run starts here"
    # The new run's own failover is a story again, from its own start.
    assert trail.add(cluster("replica-1", 2), 510.0) is True
    assert describe_episode(trail.episode(), 511.0).endswith(
        "primary primary-db → replica-1 · timeline 1 → 2"
    )


# ---------------------------------------------------------------------------- flapping


def breaker(state: str, ts: float, failures: int = 0) -> Circuit:
    return Circuit(
        name="inventory-service",
        state=state,  # type: ignore[arg-type]
        failure_count=failures,
        failure_threshold=5,
        last_transition_ts=ts,
    )


def test_a_flapping_breaker_is_one_row_growing_in_place(ui) -> None:
    now = time.time() - 600
    closed = breaker("closed", now)
    ui.store.apply(SnapshotLoaded("sim", (Service("orders"),), (closed,), (), (), now))
    ui.store.apply(CircuitChanged("sim", breaker("open", now + 1, failures=5)))
    t = now + 1
    for i in range(3):
        t += 5
        ui.store.apply(CircuitChanged("sim", breaker("half_open" if i % 2 == 0 else "open", t)))
    ui.panel.run_refresh(time.monotonic())
    rows = ui.panel.rows()
    assert len(rows) == 3, rows
    assert re.search(
        rf"inventory-service flapping open ↔ half-open ×3 \({CLOCK}–{CLOCK}\)$", rows[0]
    )
    assert rows[1].endswith("inventory-service open → half-open")
    assert rows[2].endswith("inventory-service closed → open after 5 failures")
    loads = ui.panel.loads
    ui.panel.view.setCurrentIndex(ui.panel.model.index(0, 0))
    for i in range(4):
        t += 5
        ui.store.apply(CircuitChanged("sim", breaker("open" if i % 2 == 0 else "half_open", t)))
    assert ui.panel.dirty
    ui.panel.run_refresh(time.monotonic())
    rows = ui.panel.rows()
    assert len(rows) == 3, rows
    assert "×7 (" in rows[0], rows
    assert ui.panel.loads == loads, "rewritten in place, not reloaded"
    assert ui.panel.view.currentIndex().row() == 0, "the operator's place is kept"
    assert ui.timeline.count() == 3


def test_the_reference_backend_flapping_breaker_is_one_growing_line(qloop, sim_thread, ui) -> None:
    # Breaker open timeout 60 s / 30: a trial call every 2 s, each failing while the
    # dependency is out.
    sim = sim_thread(time_scale=30)
    group = r"inventory-service flapping open ↔ half-open ×(\d+) "

    def flaps() -> int:
        found = ui.rows_matching(group)
        return int(re.search(group, found[0])[1]) if found else 0

    async def scenario() -> None:
        client = OpsApiClient("sim", sim.url, ui.store.apply)
        client.start()
        ui.scheduler.start()
        try:
            await wait_until(lambda: ui.store.backend("sim").circuits, 10, "the first snapshot")
            await client.scenario("dependency_outage", "inventory-service", 3600)
            await wait_until(lambda: flaps() >= 4, 30, "the breaker to flap four times")
        finally:
            await client.aclose()
        await ui.scheduler.frames(2)

    qloop.run(scenario(), timeout=60)
    breaker_rows = ui.rows_matching("◆ breaker")
    assert len(ui.rows_matching(group)) == 1, breaker_rows
    # The cause stays in view: the opening and the first trial, then the one group line.
    assert len(breaker_rows) == 3, breaker_rows
    assert re.search(rf"×\d+ \({CLOCK}–{CLOCK}\)$", breaker_rows[0]), breaker_rows
    assert "closed → open after" in breaker_rows[2], breaker_rows

"""A restarted reference backend on the timeline: one "restarted" line in clock times, no
invented failover, and the recorder's baselines taken again from the new run."""

from __future__ import annotations

import re

from opsconsole.backends.opsapi import new_intent_key
from opsconsole.core.models import ConnectionState
from opsconsole.core.timeline import TimelineRecorder, TimelineStore
from tests.support.waiting import wait_until

CLOCK = r"\d\d:\d\d:\d\d"


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def timeline_of(store, client) -> int:
    cluster = store.backend("sim").clusters.get("orders-db")
    return 0 if cluster is None else max(m.timeline for m in cluster.members)


async def test_a_restart_after_a_failover_is_one_restart_line_and_no_promotion(
    sim_factory, store, client_factory
):
    first = await sim_factory(time_scale=20)
    timeline = TimelineStore(None)
    recorder = TimelineRecorder(store, timeline)
    try:
        client = client_factory(first.url)
        await wait_until(
            lambda: client.status.state is ConnectionState.LIVE and timeline_of(store, client),
            10,
            "LIVE with orders-db",
        )
        await client.failover("orders-db", "replica-1", new_intent_key())
        await wait_until(lambda: timeline_of(store, client) == 2, 10, "replica-1 on timeline 2")
        promoted = [e.message for e in timeline.recent(kinds=["failover"])]
        assert any("replica-1 promoted" in m for m in promoted), promoted

        await first.stop()
        await wait_until(lambda: client.status.state is not ConnectionState.LIVE, 5, "loss")
        second = await sim_factory(port=port_of(first.url), time_scale=20)
        assert second.epoch != first.epoch
        await wait_until(
            lambda: client.status.state is ConnectionState.LIVE and timeline_of(store, client) == 1,
            10,
            "LIVE again on the new run",
        )
        assert store.backend("sim").clusters["orders-db"].primary == "primary-db"

        lines = [e.message for e in timeline.recent()]
        restarted = [m for m in lines if "restarted" in m]
        assert len(restarted) == 1, lines
        # A quick restart may fall within one second: "no data at 12:24:10".
        gap = rf"no data (from {CLOCK} to {CLOCK}|at {CLOCK})"
        assert re.fullmatch(rf"Backend sim restarted; {gap}", restarted[0]), restarted
        [entry] = [e for e in timeline.recent() if e.message == restarted[0]]
        assert entry.kind == "connection"
        # The new run's primary-db on timeline 1 is the new baseline, not a promotion.
        after = timeline.recent(after_id=entry.id)
        assert not [e.message for e in after if "promoted" in e.message], lines
        assert not any("timeline 1" in e.message for e in after), lines
        assert not any(re.search(r"\d{9,}", m) for m in lines), "a raw epoch number shown"
    finally:
        recorder.close()

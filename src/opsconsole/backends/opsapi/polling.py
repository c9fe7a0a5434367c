"""The polling transport of the Ops API stream (the last resort): REST reads that replay frames."""

from __future__ import annotations

import asyncio
import logging

from opsconsole.backends.errors import ApiError
from opsconsole.backends.opsapi.streamlink import StreamLink
from opsconsole.backends.session import Feed, realtime_batch
from opsconsole.core.events import AlertChanged, ClusterChanged, StoreEvent
from opsconsole.core.models import Alert, DbCluster
from opsconsole.core.protocol import (
    AlertsBody,
    CircuitsBody,
    ClustersBody,
    EventsBody,
    HealthBody,
    HelloFrame,
    RealtimeBody,
    ServicesBody,
    SnapshotFrame,
)

log = logging.getLogger(__name__)


class PollingStream:
    """REST snapshot, then replay by `events?since_seq`, else realtime diffs.

    One instance lives as long as the client: what the diffs compare with survives a
    reconnect, so a new link does not announce every cluster and alert again.
    """

    def __init__(self, link: StreamLink) -> None:
        self._link = link
        self._clusters: dict[str, DbCluster] = {}
        self._alerts: dict[str, Alert] = {}

    async def run(self) -> None:
        link = self._link
        health = await link.read("/api/v1/health", HealthBody, auth=False)
        link.opened()
        # The health answer plays the part of the stream's hello: same epoch, same server run.
        hello = HelloFrame(
            version=health.version, epoch=health.epoch, server_time=health.server_time, seq=0
        )
        link.session.feed_frame(hello, at=link.arrival_time())
        replay = link.session.resume_requested
        if not replay:
            replay = await self._snapshot()
        interval = link.timings.poll_interval_s
        while True:
            if replay:
                replay = await self._events()
            if not replay:
                await self._realtime_diff()
            await asyncio.sleep(interval)

    async def _snapshot(self) -> bool:
        """Load the whole state by REST. Returns True when `events` replay can follow it."""
        link = self._link
        position = await self._events_position()
        services = await link.read("/api/v1/services", ServicesBody)
        realtime = await link.read("/api/v1/metrics/realtime", RealtimeBody, allow_partial=True)
        circuits = await link.read("/api/v1/circuits", CircuitsBody)
        clusters = await link.read("/api/v1/db/clusters", ClustersBody)
        alerts = await link.read("/api/v1/alerts", AlertsBody)
        link.frame_arrived()
        snap = SnapshotFrame(
            seq=position[1] if position else 0,
            ts=realtime.ts,
            resync=link.session.epoch_changed,
            services=services.services,
            realtime=realtime,
            circuits=circuits.circuits,
            clusters=clusters.clusters,
            alerts=alerts.alerts,
            epoch=position[0] if position else None,
        )
        link.handle(link.session.feed_frame(snap, at=link.arrival_time()))
        return position is not None

    async def _events_position(self) -> tuple[str, int] | None:
        """Where the server's frame sequence stands now, if it supports `events` replay."""
        try:
            body = await self._link.read("/api/v1/events", EventsBody)
        except ApiError as exc:
            if exc.status in (400, 404, 405, 501):
                return None
            raise
        if body.seq is None:
            return None
        return body.epoch, body.seq

    async def _events(self) -> bool:
        link = self._link
        session = link.session
        resume = session.resume_point()
        if resume is None:
            return False
        try:
            body = await link.read(
                "/api/v1/events", EventsBody, params={"since_seq": str(resume[1])}
            )
        except ApiError as exc:
            if exc.status == 410:
                log.warning("%s: history no longer held; reloading state", link.name)
                session.replay_lost()
                return await self._snapshot()
            raise
        link.frame_arrived()
        if body.epoch != resume[0]:
            session.new_run(body.epoch)
            return await self._snapshot()
        session.caught_up()
        for raw in body.events:
            link.handle(session.feed(bytes(raw), at=link.arrival_time()))
        if not body.events:
            link.handle(Feed())
        return True

    async def _realtime_diff(self) -> None:
        link = self._link
        realtime = await link.read("/api/v1/metrics/realtime", RealtimeBody, allow_partial=True)
        circuits = await link.read("/api/v1/circuits", CircuitsBody)
        clusters = await link.read("/api/v1/db/clusters", ClustersBody)
        alerts = await link.read("/api/v1/alerts", AlertsBody)
        link.frame_arrived()
        events: list[StoreEvent] = [realtime_batch(link.name, realtime)]
        events += link.session.circuits_polled(circuits.circuits)
        for cluster in clusters.clusters:
            if self._clusters.get(cluster.name) != cluster:
                self._clusters[cluster.name] = cluster
                events.append(ClusterChanged(link.name, cluster))
        for alert in alerts.alerts:
            if self._alerts.get(alert.id) != alert:
                self._alerts[alert.id] = alert
                events.append(AlertChanged(link.name, alert))
        link.session.caught_up()
        link.handle(Feed(tuple(events)))

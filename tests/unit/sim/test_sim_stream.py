"""The live stream (WebSocket and SSE) of the reference backend, against a real server."""

from __future__ import annotations

import asyncio
import dataclasses
from contextlib import aclosing

import httpx
import pytest
import websockets

from opsconsole.core.protocol import (
    EventsBody,
    HeartbeatFrame,
    HelloFrame,
    MetricsFrame,
    SnapshotFrame,
    decode_frame,
    decode_metric_rows,
    encode,
    frame_seq,
)
from opsconsole.sim.server import SimServer
from tests.unit.sim.sim_helpers import (
    ACCELERATED_SIM_CONFIG,
    StartSim,
    WsClient,
    body,
    eventually,
    sse_frames,
    ws_connect,
    ws_url,
)


async def state_frames(c: WsClient, count: int) -> list:
    """The next `count` state-bearing frames (heartbeats skipped)."""
    out = []
    while len(out) < count:
        f = await c.recv()
        if frame_seq(f) is not None:
            out.append(f)
    return out


async def test_hello_subscribe_snapshot_then_consecutive_live_frames(
    accelerated_sim: SimServer,
) -> None:
    async with ws_connect(accelerated_sim.url) as c:
        hello = c.hello
        assert isinstance(hello, HelloFrame)
        assert (hello.version, hello.epoch) == ("1", accelerated_sim.epoch)
        assert hello.metric_fields[0] == "latency_p50_ms" and len(hello.metric_fields) == 7
        await c.subscribe(topics=["metrics", "circuits", "db", "alerts", "events"], services=["*"])
        snap = await c.next_of((SnapshotFrame,))
        assert (
            snap.resync is False and snap.epoch == accelerated_sim.epoch and snap.seq >= hello.seq
        )
        assert len(snap.services) == 8 and set(snap.circuits) >= {"inventory-service"}
        assert snap.clusters[0].name == "orders-db" and snap.realtime is not None

        frames = await state_frames(c, 25)
        assert [f.seq for f in frames] == list(range(snap.seq + 1, snap.seq + 26))
        metrics = [f for f in frames if isinstance(f, MetricsFrame)]
        assert len(metrics) >= 5
        rows = decode_metric_rows(metrics[-1].rows, hello.metric_fields)
        assert not isinstance(rows, Exception) and len(rows.services) == 8
        assert rows.values.shape == (8, 7)


async def test_heartbeats_carry_the_last_state_seq(start_sim: StartSim) -> None:
    # A slow tick leaves room for heartbeats between frames.
    sim = await start_sim(dataclasses.replace(ACCELERATED_SIM_CONFIG, tick_s=1.0, heartbeat_s=0.1))
    async with ws_connect(sim.url) as c:
        await c.subscribe()
        last_seq = (await c.next_of((SnapshotFrame,))).seq
        for _ in range(3):
            f = await c.recv(within=2.0)
            if isinstance(f, HeartbeatFrame):
                assert f.seq == last_seq
            else:
                last_seq = frame_seq(f)
                assert last_seq is not None


async def test_resume_with_since_seq_replays_exactly_the_missing_frames(
    accelerated_sim: SimServer,
) -> None:
    async with ws_connect(accelerated_sim.url) as c:
        await c.subscribe()
        await c.next_of((SnapshotFrame,))
        seen = (await state_frames(c, 3))[-1].seq
    resume_at = seen

    async def moved_on() -> bool:
        return accelerated_sim.hub.log.last_seq >= resume_at + 10

    await eventually(moved_on, what="10 more frames")
    async with httpx.AsyncClient(base_url=accelerated_sim.url) as http:
        response = await http.get("/api/v1/events", params={"since_seq": resume_at})
        expected = [bytes(raw) for raw in body(response, EventsBody).events][:10]
    async with ws_connect(accelerated_sim.url) as c:
        await c.subscribe(since_seq=resume_at, epoch=accelerated_sim.epoch)
        got = []
        while len(got) < 10:
            raw = await asyncio.wait_for(c.ws.recv(), 5.0)
            f = decode_frame(raw)
            assert not isinstance(f, SnapshotFrame), "a resumable client must not get a snapshot"
            if frame_seq(f) is not None:
                got.append(raw.encode() if isinstance(raw, str) else raw)
    assert got == expected
    assert [decode_frame(g).seq for g in got] == list(range(resume_at + 1, resume_at + 11))


async def test_unknown_epoch_or_too_old_seq_gets_a_resync_snapshot(start_sim: StartSim) -> None:
    sim = await start_sim(dataclasses.replace(ACCELERATED_SIM_CONFIG, replay_capacity=5))
    async with ws_connect(sim.url) as c:
        await c.subscribe(since_seq=3, epoch="some-older-run")
        snap = await c.next_of((SnapshotFrame,))
        assert snap.resync is True
        (after,) = await state_frames(c, 1)
        assert after.seq == snap.seq + 1

    async def ring_moved() -> bool:
        return sim.hub.log.first_seq > 2

    await eventually(ring_moved, what="the ring to drop seq 1")
    async with ws_connect(sim.url) as c:
        await c.subscribe(since_seq=1, epoch=sim.epoch)
        assert (await c.next_of((SnapshotFrame,))).resync is True


async def test_malformed_client_messages_are_ignored_not_fatal(accelerated_sim: SimServer) -> None:
    async with ws_connect(accelerated_sim.url) as c:
        await c.ws.send("this is not json")
        await c.ws.send('{"op": "dance"}')
        await c.ws.send('{"op": "subscribe", "since_seq": "yesterday"}')
        await c.ws.send(b"\xff\xfe")
        await c.subscribe()
        snap = await c.next_of((SnapshotFrame,))
        assert snap.resync is False


async def test_topic_and_service_filters(accelerated_sim: SimServer) -> None:
    async with ws_connect(accelerated_sim.url) as c:
        await c.subscribe(topics=["metrics"], services=["orders", "payments"])
        snap = await c.next_of((SnapshotFrame,))
        assert {s.name for s in snap.services} == {"orders", "payments"}
        for f in await state_frames(c, 5):
            assert isinstance(f, MetricsFrame)
            rows = decode_metric_rows(f.rows)
            assert set(rows.services) == {"orders", "payments"}  # type: ignore[union-attr]
        await c.ws.send('{"op": "unsubscribe", "topics": ["metrics"]}')
        # Nothing else is subscribed now: only heartbeats keep coming.
        heartbeats = 0
        while heartbeats < 3:
            f = await c.recv()
            if isinstance(f, HeartbeatFrame):
                heartbeats += 1


async def test_ws_handshake_needs_the_token(start_sim: StartSim) -> None:
    sim = await start_sim(
        dataclasses.replace(ACCELERATED_SIM_CONFIG, token="s3cret", readonly_token="look")
    )
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(ws_url(sim.url)):
            pass
    assert refused.value.response.status_code == 401
    with pytest.raises(websockets.InvalidStatus) as wrong:
        async with websockets.connect(
            ws_url(sim.url), additional_headers={"Authorization": "Bearer nope"}
        ):
            pass
    assert wrong.value.response.status_code == 401
    async with ws_connect(sim.url, {"Authorization": "Bearer look"}) as c:  # read-only may watch
        await c.subscribe()
        assert isinstance(await c.next_of((SnapshotFrame,)), SnapshotFrame)


async def test_sse_delivers_the_same_frames_with_ids(accelerated_sim: SimServer) -> None:
    async with httpx.AsyncClient(base_url=accelerated_sim.url, timeout=10.0) as http:
        got: list = []
        async with asyncio.timeout(10):
            async for event_id, f in sse_frames(
                http, {"topics": "metrics,circuits,db,alerts,events"}
            ):
                got.append((event_id, f))
                if len(got) >= 12:
                    break
        assert isinstance(got[0][1], HelloFrame) and got[0][0] is None
        snap_id, snap = got[1]
        assert isinstance(snap, SnapshotFrame) and snap_id == snap.seq and not snap.resync
        live = [(i, f) for i, f in got[2:] if frame_seq(f) is not None]
        assert [i for i, _ in live] == [f.seq for _, f in live]
        assert [f.seq for _, f in live] == list(range(snap.seq + 1, snap.seq + 1 + len(live)))
        resume_at = live[-1][1].seq

        resumed: list = []
        headers = {"Last-Event-ID": str(resume_at)}
        async with asyncio.timeout(10), aclosing(sse_frames(http, {}, headers)) as stream:
            async for event_id, f in stream:
                assert not isinstance(f, SnapshotFrame), "Last-Event-ID must resume, not resync"
                if frame_seq(f) is not None:
                    assert event_id == frame_seq(f)
                    resumed.append(encode(f))
                if len(resumed) >= 3:
                    break
        response = await http.get("/api/v1/events", params={"since_seq": resume_at})
        expected = [bytes(r) for r in body(response, EventsBody).events][:3]
        assert resumed == expected


async def test_sse_needs_the_token_and_rejects_bad_since_seq(start_sim: StartSim) -> None:
    sim = await start_sim(dataclasses.replace(ACCELERATED_SIM_CONFIG, token="s3cret"))
    async with httpx.AsyncClient(base_url=sim.url) as http:
        refused = await http.get("/api/v1/stream", params={"transport": "sse"})
        assert refused.status_code == 401
        bad = await http.get(
            "/api/v1/stream",
            params={"transport": "sse", "since_seq": "soon"},
            headers={"Authorization": "Bearer s3cret"},
        )
        assert bad.status_code == 400
        plain = await http.get("/api/v1/stream", headers={"Authorization": "Bearer s3cret"})
        assert plain.status_code == 400  # neither an upgrade nor SSE


async def test_stop_closes_streams_promptly(start_sim: StartSim) -> None:
    sim = await start_sim()
    async with ws_connect(sim.url) as c:
        await c.subscribe()
        await c.next_of((SnapshotFrame,))
        async with asyncio.timeout(5):
            await sim.stop()
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await c.ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001


async def test_restart_on_the_same_port_gets_a_new_epoch(start_sim: StartSim) -> None:
    first = await start_sim()
    port = int(first.url.rsplit(":", 1)[1])
    async with ws_connect(first.url) as c:
        await c.subscribe()
        await c.next_of((SnapshotFrame,))
        await first.stop()
    second = SimServer(ACCELERATED_SIM_CONFIG)
    try:
        assert await second.start(port=port) == first.url
        assert second.epoch != first.epoch
    finally:
        await second.stop()


async def test_stop_ends_sse_streams_promptly(start_sim: StartSim) -> None:
    sim = await start_sim()
    async with httpx.AsyncClient(base_url=sim.url, timeout=10.0) as http:
        seen: list = []
        async with asyncio.timeout(10), aclosing(sse_frames(http, {})) as stream:
            async for _, f in stream:
                seen.append(f)
                if isinstance(f, SnapshotFrame):
                    async with asyncio.timeout(5):
                        await sim.stop()
            # The loop ends because the server ended the stream, not by the timeout.
        assert isinstance(seen[0], HelloFrame) and any(isinstance(f, SnapshotFrame) for f in seen)


async def test_transports_can_be_turned_off_like_a_proxy_would(start_sim: StartSim) -> None:
    sim = await start_sim(
        dataclasses.replace(ACCELERATED_SIM_CONFIG, offer_websocket=False, offer_sse=False)
    )
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(ws_url(sim.url)):
            pass
    assert refused.value.response.status_code == 404
    async with httpx.AsyncClient(base_url=sim.url) as http:
        sse = await http.get("/api/v1/stream", params={"transport": "sse"})
        assert sse.status_code == 404
        assert (await http.get("/api/v1/events", params={"since_seq": 0})).status_code == 200

"""The Ops API client against the real reference backend on 127.0.0.1, with injected faults."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import Callable

import numpy as np
import pytest

from opsconsole.backends.secrets import Secret, install_log_redaction
from opsconsole.core.models import METRIC_FIELDS, ConnectionState, LinkStatus, Transport
from tests.support.tcpproxy import FaultProxy
from tests.support.waiting import wait_until
from tests.support.wsproxy import FrameProxy

WS_ONLY = (Transport.WEBSOCKET,)


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def live(client) -> bool:
    return client.status.state is ConnectionState.LIVE


def series_len(store, service: str = "orders", backend: str = "sim") -> int:
    ring = store.backend(backend).series.get(service)
    return 0 if ring is None else len(ring)


# Tests of the live stream's continuity load no history: the backfill's 56 requests would
# share the in-process backend's loop and could make it skip a tick on a loaded box
# (the backfill is tested in test_history_backfill.py). Nor do they read SLOs: those polls
# would also add a connection to the ones a proxy counts (tested in test_opsapi_slo.py).
NO_HISTORY = {"history_s": 0, "slo_every_s": 0}


def assert_no_holes(store, tick: float, service: str = "orders") -> None:
    times = store.backend("sim").series.get(service).times()
    steps = np.diff(times)
    assert steps.size > 5
    assert steps.max() < tick * 1.9, f"a hole of {steps.max():.3f} s in {service}"


async def test_live_data_flows_into_the_store(real_time_sim, store, client_factory):
    client = client_factory(real_time_sim.url)
    await wait_until(lambda: live(client), 5, "LIVE")
    state = store.backend("sim")
    assert client.status.transport is Transport.WEBSOCKET
    assert {
        "api-gateway",
        "orders",
        "payments",
        "inventory",
        "users",
        "analytics",
        "notifications",
        "search",
    } <= set(state.services)
    await wait_until(lambda: series_len(store) >= 10, 5, "ten samples of orders")
    orders = state.series.get("orders")
    assert set(orders.latest()) == set(METRIC_FIELDS)
    # Traffic flows. One 50 ms sample of orders' ~6 requests may count none (a Poisson draw:
    # CI saw a 0.0), so over ten samples, not the last alone.
    assert float(np.nanmax(orders.values("rps"))) > 0
    assert "inventory-service" in state.circuits
    assert state.clusters["orders-db"].primary == "primary-db"
    assert state.samples_ingested >= 10 * len(METRIC_FIELDS)
    assert client.stats.invalid.total() == 0


async def test_restart_on_same_port_is_flagged_as_resync(sim_factory, store, client_factory):
    first = await sim_factory()
    port = port_of(first.url)
    client = client_factory(first.url)
    await wait_until(lambda: live(client) and series_len(store) > 5, 5, "first data")
    await first.stop()
    await wait_until(lambda: not live(client), 5, "the loss to be seen")
    second = await sim_factory(port=port)
    assert second.epoch != first.epoch
    await wait_until(
        lambda: live(client) and store.backend("sim").resyncs == 1,
        10,
        "LIVE again with a flagged resync",
    )
    # One resync, counted by the client too, and the data is the new run's.
    assert client.stats.resyncs == 1
    assert client.session.data_epoch == second.epoch
    # The timeline tells it in order: the loss, the restart with its gap, then the link back.
    messages = [e.message for _, e in store.events]

    def first(found: Callable[[str], bool]) -> int:
        return next(i for i, m in enumerate(messages) if found(m))

    lost = first(lambda m: "Lost the link" in m)
    restarted = first(lambda m: m.startswith("Backend sim restarted; no data"))
    restored = first(lambda m: "restored" in m)
    assert lost < restarted < restored, messages


async def test_dropped_connection_resumes_without_gap(real_time_sim, store, client_factory):
    proxy = FaultProxy("127.0.0.1", port_of(real_time_sim.url))
    await proxy.start()
    try:
        client = client_factory(proxy.url, transports=WS_ONLY, **NO_HISTORY)
        await wait_until(lambda: live(client) and series_len(store) > 10, 5, "data")
        proxy.reset_all()
        await wait_until(lambda: client.stats.links_opened == 2 and live(client), 10, "resumed")
        before = series_len(store)
        await wait_until(lambda: series_len(store) > before + 10, 5, "more data")
        assert store.backend("sim").resyncs == 0
        assert client.stats.gaps == 0
        assert_no_holes(store, 0.05)
    finally:
        await proxy.stop()


async def test_silent_peer_goes_stale_after_3s_of_silence_then_is_replaced(
    real_time_sim, store, client_factory
):
    proxy = FaultProxy("127.0.0.1", port_of(real_time_sim.url))
    await proxy.start()
    # How long the link had been silent, on the client's own clock, when it said STALE: the
    # moment is the event itself, not a window of the test's clock around real sockets.
    silent_at_stale: list[float | None] = []

    def on_change(backend: str, status: LinkStatus) -> None:
        if backend == "sim" and status.state is ConnectionState.STALE:
            silent_at_stale.append(client.data_age())

    store.connection_changed.connect(on_change)
    try:
        client = client_factory(proxy.url, transports=WS_ONLY, **NO_HISTORY)
        await wait_until(lambda: live(client), 5, "LIVE")
        proxy.silence_existing()
        await wait_until(lambda: silent_at_stale, 10, "STALE")
        timings = client.timings
        # Never before 3 s of silence, and before the link is given up for dead (6 s).
        silent = silent_at_stale[0]
        assert silent is not None
        assert timings.stale_after_s <= silent < timings.dead_after_s, silent
        assert "no data" in client.status.detail
        await wait_until(lambda: live(client) and client.stats.links_opened == 2, 10, "new link")
        assert proxy.connections == 2
    finally:
        store.connection_changed.disconnect(on_change)
        await proxy.stop()


async def test_wrong_token_gives_auth_failed_and_no_retry_storm(sim_factory, store, client_factory):
    sim = await sim_factory(token="right-token-123")
    proxy = FaultProxy("127.0.0.1", port_of(sim.url))
    await proxy.start()
    try:
        client = client_factory(proxy.url, token=Secret("wrong-token-456"))
        await wait_until(lambda: client.status.state is ConnectionState.AUTH_FAILED, 5, "auth")
        assert "401" in client.status.detail
        attempts = proxy.connections
        # Let the backend run on for a while (a condition, not a sleep): 30 more ticks.
        watcher = client_factory(sim.url, name="watcher", token=Secret("right-token-123"))
        await wait_until(lambda: series_len(store, backend="watcher") > 30, 10, "30 ticks")
        assert proxy.connections == attempts == 1
        assert client.status.state is ConnectionState.AUTH_FAILED
        client.set_token(Secret("right-token-123"))
        await wait_until(lambda: live(client), 5, "LIVE after new credentials")
        assert watcher.status.state is ConnectionState.LIVE
    finally:
        await proxy.stop()


async def test_tokens_never_reach_the_logs(sim_factory, store, client_factory, caplog):
    sim = await sim_factory(token="tok-SECRET-value-1")
    install_log_redaction(logging.getLogger())
    caplog.set_level(logging.DEBUG)
    for logger in ("websockets", "httpx", "httpcore", "opsconsole"):
        logging.getLogger(logger).setLevel(logging.DEBUG)
    bad = client_factory(sim.url, name="bad", token=Secret("tok-WRONG-value-2"))
    good = client_factory(sim.url, name="good", token=Secret("tok-SECRET-value-1"))
    await wait_until(lambda: live(good), 5, "good LIVE")
    await wait_until(lambda: bad.status.state is ConnectionState.AUTH_FAILED, 5, "bad auth")
    with pytest.raises(Exception) as info:
        await bad.circuits()
    text = caplog.text + str(info.value) + repr(bad.status) + repr(good.status)
    assert "tok-SECRET-value-1" not in text
    assert "tok-WRONG-value-2" not in text
    assert repr(Secret("x-y-z")) == "Secret('***')"


async def test_sse_fallback_when_websocket_is_refused(sim_factory, store, client_factory):
    sim = await sim_factory(offer_websocket=False)
    client = client_factory(sim.url, **NO_HISTORY)
    await wait_until(lambda: live(client) and series_len(store) > 10, 10, "data over SSE")
    assert client.transport is Transport.SSE
    assert client.status.transport is Transport.SSE
    assert "inventory-service" in store.backend("sim").circuits
    assert_no_holes(store, 0.05)


async def test_polling_fallback_when_both_streams_are_refused(sim_factory, store, client_factory):
    sim = await sim_factory(offer_websocket=False, offer_sse=False)
    client = client_factory(sim.url, **NO_HISTORY)
    await wait_until(lambda: live(client) and series_len(store) > 10, 10, "data by polling")
    assert client.transport is Transport.POLLING
    assert store.backend("sim").clusters["orders-db"].primary == "primary-db"
    # Polling replays every frame by seq, so even at 20 Hz nothing is missed.
    assert_no_holes(store, 0.05)


async def test_dropped_frame_is_detected_and_repaired_by_replay(
    real_time_sim, store, client_factory
):
    proxy = FrameProxy(real_time_sim.url.replace("http", "ws") + "/api/v1/stream")
    await proxy.start()
    dropped: list[int] = []

    def drop_one_metrics_frame(message: str) -> list[str]:
        frame = json.loads(message)
        if frame.get("type") == "metrics" and not dropped and frame["seq"] > 5:
            dropped.append(frame["seq"])
            return []
        return [message]

    proxy.rewrite = drop_one_metrics_frame
    try:
        client = client_factory(proxy.url, transports=WS_ONLY, **NO_HISTORY)
        await wait_until(lambda: client.stats.gaps == 1, 5, "the gap to be detected")
        await wait_until(lambda: client.stats.links_opened == 2 and live(client), 5, "repaired")
        before = series_len(store)
        await wait_until(lambda: series_len(store) > before + 5, 5, "more data")
        # The resume asked for exactly the frames after the last good one...
        resume = json.loads(proxy.client_messages[-1])
        assert resume["since_seq"] == dropped[0] - 1
        assert resume["epoch"] == real_time_sim.epoch
        # ...and the replay filled the hole: no resync, every sample present.
        assert store.backend("sim").resyncs == 0
        assert_no_holes(store, 0.05)
    finally:
        await proxy.stop()


async def test_forged_epoch_gets_a_flagged_resync(real_time_sim, store, client_factory):
    proxy = FrameProxy(real_time_sim.url.replace("http", "ws") + "/api/v1/stream")
    await proxy.start()
    forged = {"n": 0}

    def forge_gap_then_pass(message: str) -> list[str]:
        frame = json.loads(message)
        if frame.get("type") == "metrics" and forged["n"] == 0 and frame["seq"] > 5:
            forged["n"] = 1
            frame["seq"] += 1000  # a jump no replay can explain
            return [json.dumps(frame)]
        return [message]

    proxy.rewrite = forge_gap_then_pass
    try:
        client = client_factory(proxy.url, transports=WS_ONLY)
        await wait_until(lambda: client.stats.gaps >= 1, 5, "gap")
        await wait_until(lambda: live(client) and client.stats.links_opened >= 2, 5, "relinked")
        assert store.backend("sim").resyncs == 0  # the real server could still replay
    finally:
        await proxy.stop()


async def test_invalid_frames_are_counted_and_dropped_while_the_link_goes_on(
    real_time_sim, store, client_factory
):
    proxy = FrameProxy(real_time_sim.url.replace("http", "ws") + "/api/v1/stream")
    await proxy.start()
    garbage = [
        "{not json",
        json.dumps({"type": "telepathy", "seq": 1}),
        '{"type":"heartbeat","ts":NaN,"seq":1}',
        json.dumps({"type": "heartbeat", "ts": -5, "seq": 1}),
        json.dumps({"type": "heartbeat", "ts": 1e12, "seq": 1}),
        json.dumps({"type": "heartbeat", "ts": None, "seq": 1}),
        json.dumps({"type": "hello"}),
        json.dumps({"type": "heartbeat", "ts": 1.0, "seq": 1, "pad": "x" * (1024 * 1024)}),
    ]
    injected = {"done": False}

    def inject(message: str) -> list[str]:
        if json.loads(message).get("type") == "heartbeat" and not injected["done"]:
            injected["done"] = True
            return [*garbage, message]
        return [message]

    proxy.rewrite = inject
    try:
        client = client_factory(proxy.url, transports=WS_ONLY)
        await wait_until(lambda: client.stats.invalid.total() == len(garbage), 5, "all counted")
        before = series_len(store)
        await wait_until(lambda: series_len(store) > before + 5, 5, "data goes on")
        assert client.stats.links_opened == 1
        invalid = client.stats.invalid
        assert invalid["malformed_json"] == 2
        assert invalid["unknown_type"] == 1
        assert invalid["oversize"] == 1
        assert invalid["invalid_field"] == 4
        assert store.backend("sim").invalid_frames == invalid
        assert live(client)
    finally:
        await proxy.stop()


async def test_a_second_hello_with_a_new_epoch_on_an_open_link_replaces_the_link(
    real_time_sim, store, client_factory
):
    """A forged hello mid-stream once raised a TypeError that ended the link task for good
    while the screen said LIVE; now the link is replaced and data flows again."""
    proxy = FrameProxy(real_time_sim.url.replace("http", "ws") + "/api/v1/stream")
    await proxy.start()
    injected: list[str] = []

    def second_hello(message: str) -> list[str]:
        frame = json.loads(message)
        if frame.get("type") == "metrics" and frame["seq"] > 8 and not injected:
            hello = {
                "type": "hello",
                "version": "1",
                "epoch": "another-run",
                "server_time": time.time(),
                "seq": frame["seq"],
            }
            injected.append(json.dumps(hello))
            return [injected[0], message]
        return [message]

    proxy.rewrite = second_hello
    try:
        client = client_factory(proxy.url, transports=WS_ONLY, **NO_HISTORY)
        await wait_until(lambda: injected, 5, "the forged hello")
        await wait_until(lambda: client.stats.links_opened >= 2 and live(client), 10, "replaced")
        before = series_len(store)
        await wait_until(lambda: series_len(store) > before + 5, 5, "data after the hello")
        assert client.stats.defects == 0
        assert client._task is not None and not client._task.done()
    finally:
        await proxy.stop()


async def test_a_restart_behind_a_proxy_comes_back_on_websocket(sim_factory, store, client_factory):
    """While the backend restarts, the proxy in front accepts and drops each connection, so the
    WebSocket handshake fails; that is a failed attempt, not a refusal of WebSocket."""
    first = await sim_factory()
    port = port_of(first.url)
    proxy = FaultProxy("127.0.0.1", port)
    await proxy.start()
    try:
        client = client_factory(proxy.url, **NO_HISTORY)
        await wait_until(lambda: live(client), 5, "LIVE")
        assert client.transport is Transport.WEBSOCKET
        await first.stop()
        seen = proxy.connections
        await wait_until(lambda: proxy.connections >= seen + 2, 10, "two failed handshakes")
        await sim_factory(port=port)
        await wait_until(lambda: live(client), 10, "LIVE again")
        assert client.transport is Transport.WEBSOCKET
        assert client.status.transport is Transport.WEBSOCKET
    finally:
        await proxy.stop()


async def test_a_silent_peer_on_sse_is_replaced_even_before_its_first_frame(
    sim_factory, store, client_factory
):
    sim = await sim_factory(offer_websocket=False)
    proxy = FaultProxy("127.0.0.1", port_of(sim.url))
    await proxy.start()
    try:
        client = client_factory(proxy.url, **NO_HISTORY)
        await wait_until(lambda: live(client), 10, "LIVE over SSE")
        assert client.transport is Transport.SSE
        proxy.new_links_silent = True
        proxy.silence_existing()
        await wait_until(lambda: client.status.state is ConnectionState.STALE, 4, "STALE")
        opened = client.stats.links_opened
        # The next links are accepted and say nothing: each is given up like a dead one.
        await wait_until(lambda: client.stats.links_opened >= opened + 2, 25, "two replacements")
        proxy.new_links_silent = False
        await wait_until(lambda: live(client), 15, "LIVE once the fault is gone")
        # A silent link is dead, not a refusal of SSE: no fall back to polling for it.
        assert client.transport is Transport.SSE
    finally:
        await proxy.stop()


async def test_late_data_is_never_live(real_time_sim, store, client_factory):
    """5 s of latency on an open link: frames keep arriving, but every sample is 5 s old.
    LIVE must never stand over data older than the stale limit (3 s)."""
    proxy = FaultProxy("127.0.0.1", port_of(real_time_sim.url))
    await proxy.start()
    try:
        client = client_factory(proxy.url, transports=WS_ONLY, **NO_HISTORY)
        await wait_until(lambda: live(client), 5, "LIVE")
        proxy.delay_s = 5.0
        await wait_until(lambda: "arriving late" in client.status.detail, 12, "late data said")
        said = client.status
        # While it stays late, the link says so once: no new status each watchdog tick (each
        # would redraw every panel showing the link); the age shown grows from the store.
        announced: list[LinkStatus] = []
        store.connection_changed.connect(lambda _b, status: announced.append(status))
        end = time.monotonic() + 4.0
        while time.monotonic() < end:
            age = client.session.data_age(time.time())
            assert age is not None and age > 3.0
            assert client.status.state is not ConnectionState.LIVE, (client.status, age)
            assert store.data_age("sim") > 3.0  # the age shown is the samples', not arrival's
            await asyncio.sleep(0.1)  # the probe's sampling period
        # (The 5 s latency may also cost the link itself: a reconnect is news, a new age is not.)
        told = [said, *announced]
        stale = ConnectionState.STALE
        repeats = [b for a, b in itertools.pairwise(told) if a.state is b.state is stale]
        assert repeats == [], told
        proxy.delay_s = 0.0
        proxy.reset_all()  # a fresh link without the queued latency
        await wait_until(lambda: live(client), 10, "LIVE once the latency is gone")
    finally:
        await proxy.stop()


async def test_a_backend_back_on_a_refused_port_is_streaming_again_within_a_second(
    sim_factory, store, client_factory
):
    first = await sim_factory()
    port = port_of(first.url)
    client = client_factory(first.url, **NO_HISTORY)
    await wait_until(lambda: live(client), 5, "LIVE")
    await first.stop()
    # Let the backoff grow past a few refused attempts (its waits now reach several seconds).
    await wait_until(lambda: client._backoff.attempt >= 5, 30, "five refused attempts")
    await sim_factory(port=port)
    back = time.monotonic()
    await wait_until(lambda: live(client), 10, "LIVE again")
    took = time.monotonic() - back
    assert took <= 1.5, f"streaming again {took:.2f} s after the port answered"

"""SLOs and deploys of an Ops API backend reach the store: decoding without sockets, then the
client against the real reference backend (polling, deploy events, rollback, failures)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from opsconsole.backends.errors import ApiError
from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.backends.session import StreamSession
from opsconsole.core.actions import Intent
from opsconsole.core.events import DeploysSeen, EventOccurred, FrameRejected
from opsconsole.core.models import ConnectionState
from opsconsole.core.slo.model import Deploy
from opsconsole.core.slo.tiers import evaluate_tiers
from opsconsole.core.store import Store
from opsconsole.sim.server import SimServer
from tests.support.waiting import wait_until

FAST_BUDGET = {"time_scale": 2000.0, "seed": 7}  # a simulated hour in 1.8 s


def event_frame(seq: int, data: dict[str, object]) -> bytes:
    frame = {"type": "event", "seq": seq, "ts": 1e9, "kind": "deploy", "service": "orders"}
    return json.dumps({**frame, "message": "orders v42 deployed", "data": data}).encode()


def streaming_session() -> StreamSession:
    session = StreamSession("sim")
    session.link_opened()
    session.feed(
        json.dumps({"type": "hello", "version": "1", "epoch": "e", "server_time": 1e9, "seq": 1})
    )
    session.feed(json.dumps({"type": "snapshot", "seq": 1, "ts": 1e9}))
    return session


def test_a_deploy_event_is_a_timeline_line_and_a_deploy() -> None:
    session = streaming_session()
    deploy = {"id": "d1", "service": "orders", "version": "v42", "prev_version": "v41",
              "ts": 1e9, "by": "ci"}  # fmt: skip
    feed = session.feed(event_frame(2, deploy))
    line, seen = feed.events
    assert isinstance(line, EventOccurred) and line.event.kind == "deploy"
    assert isinstance(seen, DeploysSeen)
    assert seen.deploys == (Deploy("d1", "orders", "v42", "v41", 1e9, "ci"),)

    broken = session.feed(event_frame(3, {"version": 42}))  # not a deploy object
    line, rejected = broken.events
    assert isinstance(line, EventOccurred)  # the line still reaches the timeline
    assert isinstance(rejected, FrameRejected) and broken.rejected is not None
    assert broken.resync_reason is None


class PathLog(httpx.AsyncBaseTransport):
    """The real HTTP transport, recording each path asked; `fail` answers some with 500."""

    def __init__(self, fail: Callable[[str], bool] = lambda path: False) -> None:
        self.real = httpx.AsyncHTTPTransport()
        self.paths: list[str] = []
        self.fail = fail

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        if self.fail(request.url.path):
            body = {"error": {"code": "internal", "message": "SLO store offline"}}
            return httpx.Response(500, json=body, request=request)
        return await self.real.handle_async_request(request)

    async def aclose(self) -> None:
        await self.real.aclose()


async def test_slos_and_deploys_reach_the_store(sim_factory, client_factory, store: Store) -> None:
    server: SimServer = await sim_factory(seed=3)
    client_factory(server.url, slo_every_s=0.2)

    def observed() -> bool:
        state = store.backend("sim")
        return len(state.slos) == 8 and any(d.version == "v41" for d in state.deploys)

    await wait_until(observed, what="SLOs and deploys in the store")
    state = store.backend("sim")
    assert state.slos["payments"].slo.window.words == "calendar month"
    assert state.slos["orders"].counts("window").total > 0
    orders = [d for d in state.deploys if d.service == "orders"]
    assert orders[-1].version == "v41" and len(orders) >= 6


async def test_bad_deploy_pages_and_the_rollback_intent_restores_the_version(
    sim_factory, client_factory, store: Store
) -> None:
    server: SimServer = await sim_factory(**FAST_BUDGET)
    client: OpsApiClient = client_factory(server.url, slo_every_s=0.2)
    await wait_until(lambda: "orders" in store.backend("sim").slos, what="SLOs")
    await client.scenario("bad_deploy", "orders")

    def newest_orders() -> Deploy:
        return next(d for d in reversed(store.backend("sim").deploys) if d.service == "orders")

    await wait_until(lambda: newest_orders().version == "v42", what="the deploy event")

    def page_tier_firing() -> bool:
        verdicts = evaluate_tiers(store.backend("sim").slos["orders"])
        return any(v.firing and v.tier.severity == "page" for v in verdicts)

    await wait_until(page_tier_firing, timeout=30.0, what="a page tier firing")
    await client.perform(Intent("deploy.rollback", "sim", "orders"))
    await wait_until(lambda: newest_orders().version == "v41", what="orders back on v41")
    assert newest_orders().prev_version == "v42"
    await wait_until(
        lambda: not page_tier_firing(), timeout=15.0, what="the page tier to stop firing"
    )


async def test_a_rollback_with_nothing_to_roll_back_to_says_why(sim_factory) -> None:
    server: SimServer = await sim_factory(seed=1, services=9)
    client = OpsApiClient("sim", server.url, lambda event: None)
    try:
        with pytest.raises(ApiError) as refused:
            await client.perform(Intent("deploy.rollback", "sim", "svc-009"))
        assert refused.value.status == 412 and "svc-009: only v1 has run" in str(refused.value)
    finally:
        await client.aclose()


async def test_a_backend_without_the_features_is_never_asked(
    sim_factory, client_factory, store: Store
) -> None:
    server: SimServer = await sim_factory(seed=1, offer_slo=False)
    paths = PathLog()
    client: OpsApiClient = client_factory(server.url, transport=paths, slo_every_s=0.05)
    await wait_until(lambda: client.slo_poll.features is not None, what="health read")
    await wait_until(lambda: client.status.state is ConnectionState.LIVE, what="LIVE")
    assert client.slo_poll.features == frozenset()
    assert not [p for p in paths.paths if p.startswith(("/api/v1/slo", "/api/v1/deploys"))]
    assert store.backend("sim").slos == {} and not store.backend("sim").deploys


async def test_a_failing_slo_poll_is_said_on_the_link_and_never_ends_it(
    sim_factory, client_factory, store: Store
) -> None:
    server: SimServer = await sim_factory(seed=1)
    paths = PathLog(fail=lambda path: path == "/api/v1/slo")
    client: OpsApiClient = client_factory(server.url, transport=paths, slo_every_s=0.05)

    def said() -> bool:
        status = client.status
        return status.state is ConnectionState.LIVE and "SLOs not read" in status.detail

    await wait_until(said, what="the problem on the link's detail")
    assert "SLO store offline" in client.status.detail
    ingested = store.backend("sim").samples_ingested
    await wait_until(
        lambda: store.backend("sim").samples_ingested > ingested, what="live data going on"
    )
    assert client._task is not None and not client._task.done()
    assert any(d.version == "v41" for d in store.backend("sim").deploys)  # deploys still read

    paths.fail = lambda path: False
    await wait_until(lambda: client.status.detail == "", what="the problem cleared")
    assert "orders" in store.backend("sim").slos

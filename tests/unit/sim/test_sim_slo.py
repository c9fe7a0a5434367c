"""SLOs, deploys and rollback of the reference backend: the ledger without sockets, then the
contract's routes, the bad_deploy scenario and the error-budget alert rules on a real server."""

from __future__ import annotations

import itertools

import httpx
import numpy as np
import pytest

from opsconsole.core.protocol import (
    ActionResultFrame,
    ErrorBody,
    EventFrame,
    EventsBody,
    HealthBody,
    ServicesBody,
    decode_frame,
)
from opsconsole.core.slo.model import WINDOW_SECONDS, Deploy
from opsconsole.core.slo.tiers import evaluate_tiers
from opsconsole.core.slowire import (
    BudgetBody,
    DeploysBody,
    SlosBody,
    deploy_of_event,
    observations_of,
)
from opsconsole.sim.config import SimConfig
from opsconsole.sim.ledger import HOUR_S, RequestLedger, SimTime
from opsconsole.sim.releases import version_number
from opsconsole.sim.server import SimServer
from opsconsole.sim.world import World
from tests.unit.sim.sim_helpers import StartSim, body, eventually, key

T0 = 1_700_000_000.0
# Every duration ÷ 2000: a simulated hour takes 1.8 s, six of them 10.8 s.
FAST_BUDGET_CONFIG = SimConfig(tick_s=0.05, time_scale=2000.0, seed=7, heartbeat_s=0.2)


# ---------------------------------------------------------------- without sockets


def test_windows_count_requests_in_simulated_time_never_average_ratios() -> None:
    ledger = RequestLedger(2, SimTime(T0, scale=60.0))  # a simulated minute is a wall second
    # A busy minute with 1 % failures, then a quiet one that failed completely.
    ledger.add(T0 - 1.0, np.array([10_000, 5]), np.array([100, 0]))
    ledger.add(T0, np.array([100, 5]), np.array([100, 5]))
    total, bad = ledger.window(T0, 2 * 60.0)
    assert total.tolist() == [10_100, 10] and bad.tolist() == [200, 5]
    ratio = ledger.error_ratio(T0, 2 * 60.0)
    assert ratio[0] == pytest.approx(200 / 10_100)  # not the 50.5 % an average of ratios says
    only_now, _ = ledger.window(T0, 60.0)
    assert only_now.tolist() == [100, 5]
    assert np.isnan(RequestLedger(1, SimTime(T0)).error_ratio(T0, HOUR_S)).all()  # no requests


def test_a_fresh_world_has_lived_in_a_month_of_budgets_and_deploys() -> None:
    world = World(SimConfig(seed=7), T0)
    observations, refused = observations_of(world.slos.body(T0))
    assert refused == () and len(observations) == len(world.names)
    remaining = {}
    for obs in observations:
        assert set(obs.windows) == {*WINDOW_SECONDS, "window"}
        assert all(c.total > 0 for c in obs.windows.values())
        whole = obs.windows["window"]
        remaining[obs.service] = 1.0 - whole.bad / whole.total / obs.slo.budget
    # Real budgets: every one partly spent, none overspent at rest; the past incidents
    # (orders, search, inventory) ate more of theirs than a quiet service of the same
    # objective spent.
    assert all(0.0 < r < 1.0 for r in remaining.values()), remaining
    for hit in ("orders", "search", "inventory"):
        assert remaining[hit] < remaining["api-gateway"] - 0.15, remaining
    kinds = {o.service: (o.slo.window.literal, o.slo.window.kind.value) for o in observations}
    assert kinds["orders"] == ("30d", "rolling") and kinds["payments"] == ("1M", "calendar_month")

    orders = [d for d in world.releases.log if d.service == "orders"]
    assert orders[-1].version == "v41" and world.services[world.index["orders"]].version == "v41"
    assert len(orders) >= 6 and all(a.ts < b.ts for a, b in itertools.pairwise(orders))
    rolled_back = [
        d
        for d in orders
        if d.prev_version and version_number(d.version) < version_number(d.prev_version)
    ]
    assert len(rolled_back) == 1  # the past incident's bad deploy, undone


def test_budget_points_add_up_to_the_slo_window() -> None:
    world = World(SimConfig(seed=3, time_scale=50.0), T0)
    for i in range(40):
        world.tick(T0 + i * 0.05)
    now = T0 + 2.0
    index = world.index["orders"]
    first = world.slos.first_hour(index, now)
    hour_s = world.ledger.hour_s
    points = world.ledger.points(index, first * hour_s, now, hour_s, 720)
    whole = world.slos.body(now).slos[index].windows["window"]
    assert sum(p[2] for p in points if p[2] is not None) == whole.total
    assert sum(p[1] for p in points if p[1] is not None) == whole.good
    assert points[-1][2] is not None  # the hour holding `now`, partly counted


# ---------------------------------------------------------------- the contract's routes


async def test_health_lists_the_features_and_every_service_its_version(
    start_sim: StartSim,
) -> None:
    server = await start_sim()
    async with _client(server) as c:
        assert body(await c.get("/api/v1/health"), HealthBody).features == ("slo", "deploys")
        services = body(await c.get("/api/v1/services"), ServicesBody).services
        assert all(s.version for s in services)
        assert {s.name: s.version for s in services}["orders"] == "v41"

        slos = body(await c.get("/api/v1/slo"), SlosBody)
        assert [s.service for s in slos.slos] == [s.name for s in services]
        deploys = body(await c.get("/api/v1/deploys"), DeploysBody).deploys
        assert all(a.ts <= b.ts for a, b in itertools.pairwise(deploys))
        recent = body(await c.get("/api/v1/deploys", params={"since": deploys[-1].ts}), DeploysBody)
        assert recent.deploys == deploys[-1:]

        budget = body(await c.get("/api/v1/slo/orders/budget"), BudgetBody)
        assert len(budget.points) == 720  # the 30-day window, an hour a point
        too_many = await c.get(
            "/api/v1/slo/orders/budget", params={"start": "0", "end": "20000", "step": "1"}
        )
        assert too_many.status_code == 400 and "11000" in too_many.text
        unknown = await c.get("/api/v1/slo/nope/budget")
        assert unknown.status_code == 404


async def test_a_core_only_backend_offers_no_slo_routes(start_sim: StartSim) -> None:
    server = await start_sim(SimConfig(tick_s=0.05, seed=1, offer_slo=False))
    async with _client(server) as c:
        assert body(await c.get("/api/v1/health"), HealthBody).features == ()
        assert (await c.get("/api/v1/slo")).status_code == 404


async def test_rollback_refusals_follow_the_contract(start_sim: StartSim) -> None:
    # Real time: an accepted rollback is done a second later, so a second one meets it.
    server = await start_sim(SimConfig(tick_s=0.05, seed=2, services=9))
    async with _client(server) as c:
        missing_key = await c.post("/api/v1/deploys/orders/rollback", json={})
        assert missing_key.status_code == 400
        unknown = await c.post("/api/v1/deploys/nope/rollback", json={}, headers=key())
        assert unknown.status_code == 404
        only_one = await c.post("/api/v1/deploys/svc-009/rollback", json={}, headers=key())
        assert only_one.status_code == 412
        reasons = body(only_one, ErrorBody).error.details["reasons"]
        assert "v1" in reasons["svc-009"]

        same = key()
        first = await c.post("/api/v1/deploys/payments/rollback", json={}, headers=same)
        assert first.status_code == 202
        again = await c.post("/api/v1/deploys/payments/rollback", json={}, headers=same)
        assert again.json() == first.json()  # the same intent acts once
        under_way = await c.post("/api/v1/deploys/payments/rollback", json={}, headers=key())
        assert under_way.status_code == 409

        async def back_on_v117() -> bool:
            services = body(await c.get("/api/v1/services"), ServicesBody).services
            return {s.name: s.version for s in services}["payments"] == "v117"

        await eventually(back_on_v117, what="payments back on v117")


async def test_bad_deploy_burns_the_budget_pages_and_rollback_restores_it(
    start_sim: StartSim,
) -> None:
    server = await start_sim(FAST_BUDGET_CONFIG)
    async with _client(server) as c:
        seq = (await c.get("/api/v1/events")).json()["seq"]
        started = await c.post("/api/v1/sim/scenario", json={"name": "bad_deploy"})
        assert started.status_code == 202 and started.json()["target"] == "orders"
        (deployed,) = [d for d in await _deploys_since(c, seq) if d.service == "orders"]
        assert (deployed.version, deployed.prev_version) == ("v42", "v41")

        async def paging() -> bool:
            (orders,) = _orders(body(await c.get("/api/v1/slo"), SlosBody))
            page = [v for v in evaluate_tiers(orders) if v.tier.severity == "page"]
            return any(v.firing for v in page)

        await eventually(paging, within=30.0, what="a page tier of the orders SLO firing")
        (orders,) = _orders(body(await c.get("/api/v1/slo"), SlosBody))
        assert 0.009 < orders.windows["30m"].error_ratio < 0.016  # ~1.2 % since the deploy

        async def alert_fired(rule: str) -> bool:
            alerts = (await c.get("/api/v1/alerts")).json()["alerts"]
            return any(
                a["rule"] == rule and a["service"] == "orders" and a["state"] == "firing"
                for a in alerts
            )

        await eventually(lambda: alert_fired("error_budget_burn"), within=10.0, what="1 h rule")
        await eventually(lambda: alert_fired("error_budget_exhaustion"), within=30.0, what="6 h")

        seq = (await c.get("/api/v1/events")).json()["seq"]
        answer = await c.post("/api/v1/deploys/orders/rollback", json={}, headers=key())
        assert answer.status_code == 202
        action_id = answer.json()["action_id"]

        async def done() -> list | None:
            frames = await _frames_since(c, seq)
            kinds = [
                "result"
                if isinstance(f, ActionResultFrame) and f.action_id == action_id
                else "deploy"
                if isinstance(f, EventFrame) and f.kind == "deploy"
                else None
                for f in frames
            ]
            return [k for k in kinds if k] or None

        assert await eventually(done, what="the rollback's result") == ["result", "deploy"]
        (rolled,) = await _deploys_since(c, seq)
        assert (rolled.version, rolled.prev_version) == ("v41", "v42")

        async def burn_falls() -> bool:
            (orders,) = _orders(body(await c.get("/api/v1/slo"), SlosBody))
            ratio = orders.windows["30m"].error_ratio
            return ratio is not None and ratio < 0.004

        await eventually(burn_falls, within=10.0, what="the 30 min error ratio back to baseline")


# ---------------------------------------------------------------- helpers


def _client(server: SimServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, timeout=10.0)


def _orders(slos: SlosBody):
    observations, _ = observations_of(slos)
    return [o for o in observations if o.service == "orders"]


async def _frames_since(c, seq: int) -> list:
    response = await c.get("/api/v1/events", params={"since_seq": seq})
    return [decode_frame(bytes(r)) for r in body(response, EventsBody).events]


async def _deploys_since(c, seq: int) -> list[Deploy]:
    async def probe() -> list[Deploy] | None:
        frames = await _frames_since(c, seq)
        found = [deploy_of_event(f) for f in frames if isinstance(f, EventFrame)]
        return [d for d in found if isinstance(d, Deploy)] or None

    return await eventually(probe, what="a deploy event")

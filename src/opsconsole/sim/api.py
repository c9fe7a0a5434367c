"""REST routes of Ops API v1 (and the sim's own /api/v1/sim/*), answered from the World.

The SLO, deploy and rollback routes are `sloapi.SloApi`'s.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
from aiohttp import web

from opsconsole.core.models import METRIC_FIELDS
from opsconsole.core.protocol import (
    API_VERSION,
    AlertsBody,
    CircuitsBody,
    ClustersBody,
    EventsBody,
    HealthBody,
    HistoricalBody,
    ServicesBody,
)
from opsconsole.core.slowire import FEATURE_DEPLOYS, FEATURE_SLO
from opsconsole.sim.actions import Operator, Outcome
from opsconsole.sim.errors import ApiError
from opsconsole.sim.history import MAX_POINTS, point_count
from opsconsole.sim.hub import Hub
from opsconsole.sim.middleware import json_response
from opsconsole.sim.scenarios import CATALOG, ScenarioRequest, ScenariosBody
from opsconsole.sim.world import World

T = TypeVar("T")
EVENTS_MAX_BYTES = 16 << 20  # one /events answer; a client pages on from the last seq it got
FEATURES = (FEATURE_SLO, FEATURE_DEPLOYS)  # the optional parts of the contract served here


# Request bodies. Unknown fields are ignored (forward compatible); `by` names the operator.
class CircuitActionBody(msgspec.Struct, frozen=True):
    action: str


class PromotionBody(msgspec.Struct, frozen=True):
    candidate: str | None = None
    by: str = "operator"


class ReadOnlyBody(msgspec.Struct, frozen=True):
    enabled: bool
    by: str = "operator"


class AckBody(msgspec.Struct, frozen=True):
    by: str
    comment: str = ""


async def read_body(request: web.Request, kind: type[T]) -> T:
    raw = await request.read()
    if not raw.strip():
        raw = b"{}"
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        raise ApiError("bad_request", f"invalid request body: {exc}") from None
    except msgspec.DecodeError as exc:
        raise ApiError("bad_request", f"request body is not valid JSON: {exc}") from None


def float_param(request: web.Request, name: str, default: float | None = None) -> float:
    raw = request.query.get(name)
    if raw is None:
        if default is None:
            raise ApiError("bad_request", f"missing query parameter {name!r}")
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ApiError("bad_request", f"query parameter {name!r} must be a number") from None
    if not math.isfinite(value):
        raise ApiError("bad_request", f"query parameter {name!r} must be finite")
    return value


def parse_since_seq(raw: str | None, name: str = "since_seq") -> int:
    if raw is None:
        raise ApiError("bad_request", f"missing query parameter {name!r}")
    try:
        value = int(raw)
    except ValueError:
        raise ApiError("bad_request", f"{name} must be a non-negative integer") from None
    if value < 0:
        raise ApiError("bad_request", f"{name} must be a non-negative integer")
    return value


class RestApi:
    def __init__(
        self,
        world: World,
        hub: Hub,
        publish: Callable[[Outcome], None],
        clock: Callable[[], float] = time.time,
        features: tuple[str, ...] = FEATURES,
    ) -> None:
        self.world = world
        self.features = features
        self.operator = Operator(world)
        self.hub = hub
        self.publish = publish
        self.clock = clock

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/v1/health", self.health),
            web.get("/api/v1/services", self.services),
            web.get("/api/v1/metrics/realtime", self.realtime),
            web.get("/api/v1/metrics/historical", self.historical),
            web.get("/api/v1/circuits", self.circuits),
            web.post("/api/v1/circuits/{name}", self.circuit_action),
            web.get("/api/v1/db/clusters", self.clusters),
            web.post("/api/v1/db/clusters/{name}/switchover", self.switchover),
            web.post("/api/v1/db/clusters/{name}/failover", self.failover),
            web.post("/api/v1/db/clusters/{name}/read-only", self.read_only),
            web.get("/api/v1/alerts", self.alerts),
            web.post("/api/v1/alerts/{id}/ack", self.ack),
            web.get("/api/v1/events", self.events),
            web.post("/api/v1/sim/scenario", self.scenario),
            web.get("/api/v1/sim/scenarios", self.scenarios),
        ]

    def _answer(self, outcome: Outcome) -> web.Response:
        # Publish before answering: the frames exist (with seqs) by the time the client reads
        # the 2xx, so a client that then resumes with since_seq cannot miss them.
        self.publish(outcome)
        return json_response(outcome.body, outcome.status)

    # ------------------------------------------------------------------ reads

    async def health(self, request: web.Request) -> web.Response:
        return json_response(
            HealthBody("ok", API_VERSION, self.clock(), self.hub.log.epoch, self.features)
        )

    async def services(self, request: web.Request) -> web.Response:
        return json_response(ServicesBody(self.world.services))

    async def realtime(self, request: web.Request) -> web.Response:
        body = self.world.realtime(self.clock())
        # 206: with a breaker open some answers come from fallbacks (partial data).
        return json_response(body, 206 if self.world.any_circuit_open() else 200)

    async def historical(self, request: web.Request) -> web.Response:
        service = request.query.get("service")
        metric = request.query.get("metric")
        if not service:
            raise ApiError("bad_request", "missing query parameter 'service'")
        if not metric:
            raise ApiError(
                "bad_request", "missing query parameter 'metric'", {"valid": list(METRIC_FIELDS)}
            )
        if service not in self.world.index:
            raise ApiError("not_found", f"no service named {service!r}")
        if metric not in METRIC_FIELDS:
            raise ApiError(
                "bad_request", f"unknown metric {metric!r}", {"valid": list(METRIC_FIELDS)}
            )
        end = float_param(request, "end", self.clock())
        start = float_param(request, "start", end - 3_600.0)
        step = float_param(
            request, "step", max(self.world.config.tick_s, (end - start) / 1_000.0, 1e-3)
        )
        range_points(start, end, step)  # refuses what the contract does not answer
        values = self.world.history.query(
            self.world.index[service], METRIC_FIELDS.index(metric), start, end, step
        )
        return json_response(HistoricalBody(service, metric, step, values))

    async def circuits(self, request: web.Request) -> web.Response:
        return json_response(CircuitsBody(self.world.circuits(self.clock())))

    async def clusters(self, request: web.Request) -> web.Response:
        return json_response(ClustersBody(self.world.cluster_list(self.clock())))

    async def alerts(self, request: web.Request) -> web.Response:
        return json_response(AlertsBody(self.world.alert_list()))

    async def events(self, request: web.Request) -> web.Response:
        framelog = self.hub.log
        if "since_seq" not in request.query:
            # Extension (EventsBody.seq): without since_seq, only where the sequence stands,
            # so a polling client knows where to resume from.
            return json_response(EventsBody(framelog.epoch, [], framelog.last_seq))
        since = parse_since_seq(request.query["since_seq"])
        epoch = request.query.get("epoch")
        details: dict[str, Any] = {
            "epoch": framelog.epoch,
            "first_seq": framelog.first_seq,
            "last_seq": framelog.last_seq,
        }
        if epoch is not None and epoch != framelog.epoch:
            raise ApiError("gone", "those frames belong to another run of the server", details)
        frames = framelog.after(since, max_bytes=EVENTS_MAX_BYTES)
        if frames is None:
            raise ApiError(
                "gone",
                f"frames after seq {since} are no longer held (oldest is {framelog.first_seq})"
                if since < framelog.first_seq
                else f"seq {since} is ahead of this run (last is {framelog.last_seq})",
                details,
            )
        events = [msgspec.Raw(f) for f in frames]
        return json_response(EventsBody(framelog.epoch, events, framelog.last_seq))

    async def scenarios(self, request: web.Request) -> web.Response:
        return json_response(ScenariosBody(self.world.scenarios.active(), tuple(CATALOG)))

    # ------------------------------------------------------------------ actions

    async def circuit_action(self, request: web.Request) -> web.Response:
        body = await read_body(request, CircuitActionBody)
        name = request.match_info["name"]
        return self._answer(self.operator.circuit_action(name, body.action, self.clock()))

    async def switchover(self, request: web.Request) -> web.Response:
        return await self._promotion(request, planned=True)

    async def failover(self, request: web.Request) -> web.Response:
        return await self._promotion(request, planned=False)

    async def _promotion(self, request: web.Request, *, planned: bool) -> web.Response:
        body = await read_body(request, PromotionBody)
        outcome = self.operator.request_promotion(
            request.match_info["name"],
            body.candidate,
            planned=planned,
            by=body.by,
            now=self.clock(),
        )
        return self._answer(outcome)

    async def read_only(self, request: web.Request) -> web.Response:
        body = await read_body(request, ReadOnlyBody)
        outcome = self.operator.set_read_only(
            request.match_info["name"], body.enabled, body.by, self.clock()
        )
        return self._answer(outcome)

    async def ack(self, request: web.Request) -> web.Response:
        body = await read_body(request, AckBody)
        if not body.by.strip():
            raise ApiError("bad_request", "'by' must name who acknowledges")
        outcome = self.operator.ack_alert(
            request.match_info["id"], body.by.strip(), body.comment, self.clock()
        )
        return self._answer(outcome)

    async def scenario(self, request: web.Request) -> web.Response:
        body = await read_body(request, ScenarioRequest)
        return self._answer(self.operator.start_scenario(body, self.clock()))


def range_points(start: float, end: float, step: float) -> int:
    """The points a range query asks for, or the contract's 400 when it may not be answered."""
    if step <= 0:
        raise ApiError("bad_request", "step must be > 0")
    if end < start:
        raise ApiError("bad_request", "end must not be before start")
    points = point_count(start, end, step)
    if points > MAX_POINTS:
        raise ApiError(
            "bad_request",
            f"query would return {points} points, more than the limit of {MAX_POINTS}; "
            "use a larger step or a shorter range",
            {"points": points, "limit": MAX_POINTS},
        )
    return points

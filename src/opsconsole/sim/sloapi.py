"""REST routes of the contract's SLOs, deploys and rollback, answered from the World."""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web

from opsconsole.core.slowire import (
    BudgetBody,
    DeploysBody,
    RollbackBody,
    wire_deploy,
)
from opsconsole.sim.actions import Operator, Outcome
from opsconsole.sim.api import float_param, range_points, read_body
from opsconsole.sim.errors import ApiError
from opsconsole.sim.middleware import json_response
from opsconsole.sim.world import World


class SloApi:
    def __init__(
        self,
        world: World,
        operator: Operator,
        publish: Callable[[Outcome], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.world = world
        self.operator = operator
        self.publish = publish
        self.clock = clock

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/v1/slo", self.slos),
            web.get("/api/v1/slo/{service}/budget", self.budget),
            web.get("/api/v1/deploys", self.deploys),
            web.post("/api/v1/deploys/{service}/rollback", self.rollback),
        ]

    def _service_index(self, service: str) -> int:
        index = self.world.index.get(service)
        if index is None:
            raise ApiError(
                "not_found", f"no service named {service!r}", {"services": list(self.world.names)}
            )
        return index

    async def slos(self, request: web.Request) -> web.Response:
        return json_response(self.world.slos.body(self.clock()))

    async def budget(self, request: web.Request) -> web.Response:
        """Request counts per step; by default the SLO's whole window, an hour a point."""
        service = request.match_info["service"]
        index = self._service_index(service)
        now = self.clock()
        end = float_param(request, "end", now)
        ledger = self.world.ledger
        # By default the hours the SLO window counts, so the points add up to its counts.
        first_hour = ledger.hour_start(self.world.slos.first_hour(index, end))
        start = float_param(request, "start", first_hour)
        step = float_param(request, "step", ledger.hour_start(1))
        points = range_points(start, end, step)
        values = ledger.points(index, start, end, step, points)
        return json_response(BudgetBody(service, step, values))  # type: ignore[arg-type]

    async def deploys(self, request: web.Request) -> web.Response:
        since = float_param(request, "since", 0.0)
        deploys = tuple(wire_deploy(d) for d in self.world.releases.since(since))
        return json_response(DeploysBody(deploys))

    async def rollback(self, request: web.Request) -> web.Response:
        body = await read_body(request, RollbackBody)
        outcome = self.operator.roll_back(
            request.match_info["service"], body.by.strip() or "operator", self.clock()
        )
        # Publish before answering, as RestApi does: the frames exist when the 202 is read.
        self.publish(outcome)
        return json_response(outcome.body, outcome.status)

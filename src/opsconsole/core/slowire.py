"""Ops API v1 wire bodies of SLOs and deploys, and the core SLO records made of them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from opsconsole.core.models import Name, NonNegative, Timestamp
from opsconsole.core.protocol import EventFrame, ProtocolError
from opsconsole.core.slo.model import WINDOW_KEYS, Counts, Deploy, Slo, SloObservation, SloWindow

FEATURE_SLO = "slo"
FEATURE_DEPLOYS = "deploys"
Objective = Annotated[float, msgspec.Meta(gt=0.0, lt=1.0)]


class WindowCounts(msgspec.Struct, frozen=True):
    """Requests of one window: good and total counts (never a ratio)."""

    good: NonNegative
    total: NonNegative


class SloBody(msgspec.Struct, frozen=True):
    """One SLO object of `GET /api/v1/slo`."""

    service: Name
    objective: Objective
    window: str
    window_kind: Literal["rolling", "calendar_month"] = "rolling"
    indicator: str = "availability"
    windows: dict[str, WindowCounts] = {}


class SlosBody(msgspec.Struct, frozen=True):
    as_of: Timestamp
    slos: tuple[SloBody, ...] = ()


class BudgetBody(msgspec.Struct, frozen=True):
    """`GET /api/v1/slo/{service}/budget`: request counts per step; null where nothing is held."""

    service: str
    step: Annotated[float, msgspec.Meta(gt=0)]
    points: list[tuple[Timestamp, NonNegative | None, NonNegative | None]] = []


class DeployBody(msgspec.Struct, frozen=True):
    """A deploy object: in `GET /api/v1/deploys` and as the data of a deploy event frame."""

    id: Name
    service: Name
    version: Name
    ts: Timestamp
    prev_version: str | None = None
    by: str = ""


class DeploysBody(msgspec.Struct, frozen=True):
    deploys: tuple[DeployBody, ...] = ()


class RollbackBody(msgspec.Struct, frozen=True):
    """Body of `POST /api/v1/deploys/{service}/rollback` (the contract's is `{}`)."""

    by: str = "operator"


def deploy_of(body: DeployBody) -> Deploy:
    return Deploy(body.id, body.service, body.version, body.prev_version, body.ts, body.by)


def wire_deploy(deploy: Deploy) -> DeployBody:
    return DeployBody(
        deploy.id, deploy.service, deploy.version, deploy.ts, deploy.prev_version, deploy.by
    )


def deploy_data(deploy: Deploy) -> dict[str, Any]:
    """The deploy object as an event frame's `data`."""
    return msgspec.structs.asdict(wire_deploy(deploy))


def deploy_of_event(frame: EventFrame) -> Deploy | ProtocolError | None:
    """The deploy a `kind: deploy` event carries; None for other kinds; never raises."""
    if frame.kind != "deploy":
        return None
    data = dict(frame.data)
    if frame.service and "service" not in data:
        data["service"] = frame.service
    data.setdefault("ts", frame.ts)
    try:
        return deploy_of(msgspec.convert(data, DeployBody))
    except msgspec.ValidationError as exc:
        return ProtocolError("invalid_field", f"deploy event data: {exc}", "event")
    except (ValueError, TypeError, RecursionError) as exc:
        return ProtocolError("invalid_field", f"deploy event data: {exc}", "event")


def observation_of(body: SloBody, as_of: float) -> SloObservation | ProtocolError:
    """The core's record of one wire SLO; a window it does not know is left out, not fatal."""
    try:
        window = SloWindow.parse(body.window, body.window_kind)
        slo = Slo(body.service, body.objective, window, body.indicator)
        counts = {
            key: Counts(float(c.good), float(c.total))
            for key, c in body.windows.items()
            if key in WINDOW_KEYS
        }
        return SloObservation(slo, as_of, counts)
    except ValueError as exc:
        return ProtocolError("invalid_field", f"SLO of {body.service!r}: {exc}", "slo")


def observations_of(body: SlosBody) -> tuple[tuple[SloObservation, ...], tuple[ProtocolError, ...]]:
    """Every SLO of the answer that makes sense, and why each of the others was left out."""
    kept: list[SloObservation] = []
    refused: list[ProtocolError] = []
    for slo in body.slos:
        observation = observation_of(slo, body.as_of)
        if isinstance(observation, ProtocolError):
            refused.append(observation)
        else:
            kept.append(observation)
    return tuple(kept), tuple(refused)

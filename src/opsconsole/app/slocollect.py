"""Gathers every backend's SLOs, deploys and per-step budget counts for one headless report."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

import numpy as np

from opsconsole.app.backends import BackendClient, Plan, start_backends
from opsconsole.backends.errors import BackendError
from opsconsole.backends.opsapi.rest import OpsApiRest, describe_error
from opsconsole.backends.secrets import Secret
from opsconsole.core.config import BackendConfig
from opsconsole.core.slo.model import Deploy, SloObservation
from opsconsole.core.store import Store

log = logging.getLogger(__name__)

BUDGET_STEP_S = 3600.0  # one point an hour: 720 for 30 days, far under the 11,000 allowed


def reports_slos(cfg: BackendConfig) -> bool:
    """Whether a backend can report SLOs at all: an Ops API, or a Prometheus with [[slo]]."""
    return cfg.kind == "opsapi" or (cfg.kind == "prometheus" and bool(cfg.slos))


@dataclass(frozen=True)
class BackendSlos:
    """What one backend reported: its SLOs, its deploys, and each SLO's per-step counts."""

    name: str
    kind: str
    url: str
    observations: tuple[SloObservation, ...]
    deploys: tuple[Deploy, ...]
    # service → (k, 3) array of step start, good, total; absent where the backend has none
    points: dict[str, np.ndarray] = field(default_factory=dict)
    step_s: dict[str, float] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Collected:
    """The backends that answered, and the ones that did not (with why)."""

    answered: tuple[BackendSlos, ...]
    silent: tuple[tuple[str, str], ...]  # (backend, why)


async def budget_points(client: OpsApiRest, obs: SloObservation) -> tuple[np.ndarray, float] | str:
    """The SLO's whole window in hourly counts from `GET /api/v1/slo/{service}/budget`."""
    start, _ = obs.slo.window.bounds(obs.as_of)
    try:
        body = await client.budget(obs.service, start, obs.as_of, BUDGET_STEP_S)
    except (BackendError, OSError, TimeoutError) as exc:
        return f"{obs.service}: budget points not read: {describe_error(exc)}"
    rows = [(ts, good, total) for ts, good, total in body.points if good is not None and total]
    return np.array(rows, dtype=np.float64).reshape(-1, 3), body.step


async def collect(plan: Plan, timeout_s: float, url_token: Secret | None = None) -> Collected:
    """Start the plan's adapters, wait until each SLO-reporting backend has reported its SLOs
    (or `timeout_s` passed), read the per-step budget counts, and close everything."""
    store = Store(capacity=60)
    wanted = {cfg.name: cfg for cfg in plan.backends if reports_slos(cfg)}
    silent = [
        (cfg.name, f"a {cfg.kind} backend reports no SLOs")
        for cfg in plan.backends
        if not reports_slos(cfg)
    ]
    reported: set[str] = set()
    everyone = asyncio.Event()

    def on_slos(backend: str) -> None:
        reported.add(backend)
        if reported >= set(wanted):
            everyone.set()

    store.slo_changed.connect(on_slos)
    clients: dict[str, BackendClient] = {}
    running = await start_backends(
        Plan(tuple(wanted.values()), config_path=plan.config_path),
        store.apply,
        clients,
        url_token=url_token,
    )
    answered: list[BackendSlos] = []
    try:
        if wanted:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(everyone.wait(), timeout_s)
        for name, cfg in wanted.items():
            if name not in reported:
                link = store.backend(name).link
                detail = f": {link.detail}" if link.detail else ""
                silent.append(
                    (name, f"no SLOs within {timeout_s:g} s (link {link.state.value}{detail})")
                )
                continue
            answered.append(await _gather(name, cfg, store, clients.get(name)))
    finally:
        await running.aclose()
    return Collected(tuple(answered), tuple(silent))


async def _gather(
    name: str, cfg: BackendConfig, store: Store, client: BackendClient | None
) -> BackendSlos:
    state = store.backend(name)
    observations = tuple(state.slos[s] for s in sorted(state.slos))
    points: dict[str, np.ndarray] = {}
    steps: dict[str, float] = {}
    problems: list[str] = []
    if isinstance(client, OpsApiRest):
        for obs in observations:
            got = await budget_points(client, obs)
            if isinstance(got, str):
                problems.append(got)
            else:
                points[obs.service], steps[obs.service] = got
    elif observations:
        problems.append(f"a {cfg.kind} backend serves no per-step budget counts: no burn-down")
    return BackendSlos(
        name,
        cfg.kind,
        cfg.url,
        observations,
        tuple(state.deploys),
        points,
        steps,
        tuple(problems),
    )

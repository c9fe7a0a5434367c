"""The deploy actions: roll a service back to the version before its latest deploy."""

from __future__ import annotations

import math
from collections.abc import Iterable

from opsconsole.core.actions.declaration import ActionDeclaration
from opsconsole.core.actions.intent import Blocked, Intent, Outcome, OutcomeCheck
from opsconsole.core.arguments import Arg
from opsconsole.core.commands import DangerTier
from opsconsole.core.slo.figure import percent_text
from opsconsole.core.slo.model import Deploy
from opsconsole.core.store import BackendState


def service_deploys(deploys: Iterable[Deploy], service: str) -> list[Deploy]:
    """The service's deploys, oldest first (the store keeps every backend's in time order)."""
    return [d for d in deploys if d.service == service]


def rolled_back_from(history: list[Deploy]) -> Deploy | None:
    """The deploy the newest one of `history` undid, or None when the newest is no rollback.

    A rollback is itself a deploy: it goes back from the version the deploy before it
    brought to the version that one replaced (v42 → v41 after v41 → v42).
    """
    if len(history) < 2:
        return None
    newest, before = history[-1], history[-2]
    if newest.prev_version == before.version and newest.version == before.prev_version:
        return before
    return None


def error_ratio_now(state: BackendState, service: str) -> float | None:
    """The service's error ratio now: its live series' newest sample, else the SLO's 5 min."""
    series = state.series.get(service)
    latest = series.latest() if series is not None else None
    ratio = latest.get("error_ratio") if latest else None
    if ratio is not None and not math.isnan(ratio):
        return ratio
    obs = state.slos.get(service)
    counts = obs.counts("5m") if obs is not None else None
    return counts.error_ratio if counts is not None else None


def _can_roll_back(intent: Intent, state: BackendState) -> Blocked | None:
    """The service exists, its newest deploy replaced a version, and it was not undone yet."""
    service = intent.target
    if service not in state.services and service not in state.slos:
        return Blocked("service-exists", f"no service named {service!r}")
    history = service_deploys(state.deploys, service)
    if not history:
        return Blocked("deploy-known", f"no deploy of {service} is known: nothing to roll back")
    newest = history[-1]
    undone = rolled_back_from(history)
    if undone is not None:
        return Blocked(
            "not-rolled-back",
            f"{service} was already rolled back from {undone.version} to {newest.version}",
        )
    if not newest.prev_version:
        return Blocked(
            "previous-version",
            f"{service} {newest.version} replaced no known version: nothing to roll back to",
        )
    return None


def _back_on_previous(intent: Intent) -> OutcomeCheck:
    """Done once the service's newest deploy is the rollback of the one before it."""
    service = intent.target

    def back(state: BackendState) -> Outcome | None:
        history = service_deploys(state.deploys, service)
        if rolled_back_from(history) is None:
            return None
        running = state.services.get(service)
        version = history[-1].version
        if running is not None and running.version not in (None, version, history[-2].version):
            return None  # the live state says it runs something else altogether
        ratio = error_ratio_now(state, service)
        words = "" if ratio is None else f", error rate {percent_text(ratio)}"
        return Outcome(True, f"{service} back on {version}{words}")

    return back


def _rollback_sentence(intent: Intent) -> str:
    """ "roll back orders to its previous version"."""
    return f"roll back {intent.target} to its previous version"


ROLLBACK = ActionDeclaration(
    "deploy.rollback",
    "Deploy: roll back a service to its previous version",
    DangerTier.CONFIRM,
    "roll back",
    "The service returns to the version it ran before its latest deploy.",
    button="Roll back…",
    hint="Return to the version before the latest deploy",
    word="rollback",
    aliases=("roll-back",),
    args=(Arg.SERVICE,),
    check=_can_roll_back,
    expect=_back_on_previous,
    sentence=_rollback_sentence,
)

DECLARATIONS: tuple[ActionDeclaration, ...] = (ROLLBACK,)


def version_words(state: BackendState, service: str) -> str:
    """ "v42 (was v41)": what the service runs, from its newest deploy or its record."""
    history = service_deploys(state.deploys, service)
    if history:
        newest = history[-1]
        was = f" (was {newest.prev_version})" if newest.prev_version else ""
        return f"{newest.version}{was}"
    running = state.services.get(service)
    return running.version or "" if running is not None else ""

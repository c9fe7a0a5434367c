"""The `:assess SERVICE` command: judge the service's latest deploy, show the card, log it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QWidget

from opsconsole.core.commands import Command, CommandError
from opsconsole.core.timeline import TimelineEntry, TimelineStore
from opsconsole.ui.context import UiContext

# The decision and its card are imported on the first `:assess`: every start registers the
# command, few run it (~5 ms of imports).
if TYPE_CHECKING:
    from opsconsole.core.deploydecision import DeployDecision
    from opsconsole.ui.assess import AssessmentCard

COMMAND_ID = "slo.assess"


def timeline_entry(decision: DeployDecision, ts: float) -> TimelineEntry:
    """The assessment as a line of the incident's history, its inputs in the data."""
    a = decision.assessment
    d = a.deploy
    return TimelineEntry(
        ts=ts,
        backend=decision.backend,
        kind="info",
        service=d.service,
        message=f"assessed {d.service} {d.version}: {a.recommendation.value} — {a.reason}",
        data={
            "deploy": d.id,
            "version": d.version,
            "prev_version": d.prev_version,
            "recommendation": a.recommendation.value,
            "hours_since": a.hours_since.value,
            "baseline": a.baseline.value,
            "current": a.current.value,
            "burned_since": a.burned_since.value,
            "remaining": a.remaining.value,
            "projection": a.projection.value,
        },
    )


def register_assess(
    ctx: UiContext,
    parent: QWidget,
    timeline: TimelineStore,
    on_entry: Callable[[TimelineEntry], None],
) -> None:
    """`slo.assess`: the card for a service's latest deploy (non-modal), on the timeline."""

    def rollback(backend: str, service: str) -> object:
        return ctx.runner.run(
            "deploy.rollback", source="assessment card", backend=backend, service=service
        )

    def run(backend: str, service: str) -> AssessmentCard:
        from opsconsole.core.deploydecision import decide
        from opsconsole.ui.assess import AssessmentCard

        state = ctx.store.backends.get(backend)
        if state is None:
            raise CommandError(f"no backend named {backend!r}")
        decision = decide(state, service)
        if isinstance(decision, str):
            raise CommandError(decision)
        stored = timeline.append(timeline_entry(decision, ctx.wall_clock()))
        if stored is not None:
            on_entry(stored)
        card = AssessmentCard(decision, rollback, parent)
        card.show()  # non-modal: the console and the rollback's confirmation stay usable
        card.raise_()
        card.activateWindow()
        return card

    if COMMAND_ID not in ctx.commands:
        ctx.commands.register(
            Command(
                COMMAND_ID,
                "Assess a service's latest deploy (rollback or keep)",
                run,
                description="the deploy decision from the error budget, with every input",
            )
        )

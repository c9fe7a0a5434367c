"""The `:investigate SERVICE` command: run the investigation, feed the panel, log the run."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from opsconsole.app.investigator import InvestigationRun, Investigator, UnknownService
from opsconsole.core.commands import Command, CommandError
from opsconsole.core.investigate import Finding
from opsconsole.core.timeline import TimelineEntry, TimelineStore
from opsconsole.ui.context import UiContext
from opsconsole.ui.mainwindow import MainWindow

if TYPE_CHECKING:
    from opsconsole.ui.panels.investigation import InvestigationPanel

log = logging.getLogger(__name__)

COMMAND_ID = "investigate.run"
# What the checks read of the console's own record: the last two hours of the timeline.
RECENT_S = 2 * 3600.0
RECENT_LIMIT = 5000


def recent_entries(
    timeline: TimelineStore, now: Callable[[], float]
) -> Callable[[], Sequence[TimelineEntry]]:
    """The timeline's entries of the last two hours, oldest first."""

    def read() -> Sequence[TimelineEntry]:
        since = now() - RECENT_S
        return [e for e in reversed(timeline.recent(RECENT_LIMIT)) if e.ts >= since]

    return read


class Investigations:
    """Runs investigations one per service at a time; the newest run owns the panel."""

    def __init__(
        self,
        ctx: UiContext,
        window: MainWindow,
        investigator: Investigator,
        timeline: TimelineStore,
        on_entry: Callable[[TimelineEntry], None],
    ) -> None:
        self.ctx, self.window, self.investigator = ctx, window, investigator
        self.timeline, self.on_entry = timeline, on_entry
        self.running: dict[str, asyncio.Task[InvestigationRun]] = {}
        self._shown_run = 0  # the run the panel shows; older runs still finish and are logged
        self._runs = 0

    @property
    def panel(self) -> InvestigationPanel:
        # Read on use: the window may make it after the first data is on screen.
        return self.window.investigation

    def run(self, service: str, backend: str | None = None) -> asyncio.Task[InvestigationRun]:
        """Start investigating `service` (all backends that know it); refusals in words."""
        if backend is not None and backend not in self.ctx.store.backends:
            raise CommandError(f"no backend named {backend!r}")
        if not self.investigator.known(service):
            raise CommandError(f"no backend knows a service named {service!r}")
        if service in self.running:
            raise CommandError(
                f"{service} is already being investigated; its findings are arriving in the "
                "Investigation panel"
            )
        self._runs += 1
        run_no = self._shown_run = self._runs
        self.panel.begin(service, self.ctx.wall_clock(), self.investigator.expected_checks(service))
        dock = self.window.docks[self.panel.panel_id]
        dock.show()
        dock.raise_()
        task = asyncio.get_running_loop().create_task(self._run(service, run_no))
        self.running[service] = task
        task.add_done_callback(lambda _t: self.running.pop(service, None))
        return task

    def _feed(self, run_no: int, finding: Finding) -> None:
        if run_no == self._shown_run:
            self.panel.add(finding)

    async def _run(self, service: str, run_no: int) -> InvestigationRun:
        try:
            result = await self.investigator.run(
                service, on_finding=lambda f: self._feed(run_no, f)
            )
        except UnknownService as exc:
            self._fail(run_no, str(exc))
            raise CommandError(str(exc)) from exc
        except asyncio.CancelledError:
            self._fail(run_no, f"the investigation of {service} was stopped")
            raise
        except Exception as exc:
            # The runner logs it with its traceback and says it in the status bar.
            self._fail(run_no, f"could not investigate {service}: {exc} (details in the log)")
            raise
        stored = self.timeline.append(result.entry())
        if stored is not None:
            self.on_entry(stored)
        if run_no == self._shown_run:
            self.panel.finish(result.findings, result.markdown(), result.finished_ts)
        return result

    def _fail(self, run_no: int, message: str) -> None:
        if run_no == self._shown_run:
            self.panel.fail(message)


def register_investigate(
    ctx: UiContext,
    window: MainWindow,
    timeline: TimelineStore,
    on_entry: Callable[[TimelineEntry], None],
    clients: Mapping[str, object],
    *,
    incident_start: Callable[[], float | None] = lambda: None,
) -> Investigations:
    """`investigate.run`: the checks on a service, live in the Investigation panel, logged on
    the timeline as one "investigation" entry. `incident_start` gives the open incident's
    start (the baseline ends there)."""
    investigator = Investigator(
        ctx.store,
        clients,
        recent_entries(timeline, ctx.wall_clock),
        incident_start=incident_start,
        clock=ctx.wall_clock,
    )
    investigations = Investigations(ctx, window, investigator, timeline, on_entry)
    if COMMAND_ID not in ctx.commands:
        ctx.commands.register(
            Command(
                COMMAND_ID,
                "Investigate a service",
                investigations.run,
                description="the triage checks on a service and its dependencies, "
                "likely cause first",
            )
        )
    return investigations

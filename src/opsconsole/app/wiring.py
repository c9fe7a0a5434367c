"""Wiring of one console: window, action pipeline, audit log and timeline over shared state."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsconsole.app.actions import ActionResult, ActionRunner, register_action_commands
from opsconsole.app.assessing import register_assess
from opsconsole.app.backends import BackendClient
from opsconsole.app.burndownfeed import BurndownFeed
from opsconsole.app.incidentrecorder import IncidentRecorder
from opsconsole.app.incidents import install_incidents
from opsconsole.app.investigating import register_investigate
from opsconsole.app.loadtesting import LoadTests, register_loadtest
from opsconsole.app.postmortem import register_postmortem
from opsconsole.backends.errors import BackendError
from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.backends.secrets import Secret
from opsconsole.core.actions import Intent
from opsconsole.core.audit import AuditLog
from opsconsole.core.commands import Command, CommandError
from opsconsole.core.incident import Incident, IncidentStore
from opsconsole.core.keymap import load_keymap
from opsconsole.core.loadtest.spec import LoadTestSpec
from opsconsole.core.models import ConnectionState
from opsconsole.core.paths import data_dir
from opsconsole.core.timeline import TimelineEntry, TimelineRecorder, TimelineStore
from opsconsole.ui.context import UiContext
from opsconsole.ui.keyboard import KeyboardUi, install_keyboard
from opsconsole.ui.layout import LayoutStore
from opsconsole.ui.mainwindow import MainWindow
from opsconsole.ui.tokenprompt import ask_token

if TYPE_CHECKING:  # the wall is imported on use: most consoles never show it
    from opsconsole.ui.layoutwall import LayoutWall
    from opsconsole.ui.wall import WallMode

log = logging.getLogger(__name__)


@dataclass
class Console:
    """Everything one running console holds; tests build the same thing the app does."""

    ctx: UiContext
    window: MainWindow
    runner: ActionRunner
    audit: AuditLog
    timeline: TimelineStore
    recorder: TimelineRecorder
    clients: dict[str, BackendClient]
    keyboard: KeyboardUi
    walls: WallSwitch
    burndown: BurndownFeed | None = None  # the budgets panel's per-step counts
    incidents: IncidentStore | None = None  # the incident record (app/incidents.py)
    incident_recorder: IncidentRecorder | None = None  # its samples and SLO snapshots
    close_incidents: Callable[[], None] | None = None
    loadtests: LoadTests | None = None  # `:loadtest` watches (app/loadtesting.py)

    def close(self) -> None:
        self.runner.close()  # an outcome still unknown gets its last word in the audit log
        if self.burndown is not None:
            self.burndown.close()
        if self.close_incidents is not None:
            self.close_incidents()
        self.recorder.close()
        self.timeline.close()


class WallSwitch:
    """Enters and leaves wall mode; while it is on, the action pipeline refuses everything."""

    def __init__(self, window: MainWindow, runner: ActionRunner) -> None:
        self.window, self.runner = window, runner
        self.mode: WallMode | None = None
        self.layout_wall: LayoutWall | None = None
        self.incident_source: Callable[[], Incident | None] = lambda: None  # the open one

    @property
    def active(self) -> bool:
        return self.mode is not None and self.mode.active

    def enter(
        self, screen: int | None = None, rotate_s: float | None = None, lock: bool = False
    ) -> WallMode:
        if self.active:
            assert self.mode is not None
            return self.mode
        from opsconsole.ui.wall import WallMode

        mode = WallMode(self.window, screen=screen, rotate_s=rotate_s, lock=lock)
        # Belt and braces: the guard refuses mutating commands, the runner refuses intents.
        mode.entered.connect(lambda: setattr(self.runner, "read_only", True))
        mode.left.connect(lambda: setattr(self.runner, "read_only", False))
        self.mode = mode
        mode.enter()
        if mode.view is not None:
            mode.view.header.incident_source = self.incident_source
        return mode

    def enter_layout(self, name: str, screen: int | None = None, lock: bool = False) -> LayoutWall:
        """The wall as one saved layout of the docked window instead of rotating pages."""
        self.window.load_layout(name)
        from opsconsole.ui.layoutwall import LayoutWall

        wall = LayoutWall(self.window, self.window.registry, screen=screen, lock=lock)
        wall.entered.connect(lambda: setattr(self.runner, "read_only", True))
        wall.left.connect(lambda: setattr(self.runner, "read_only", False))
        self.layout_wall = wall
        wall.enter()
        return wall

    def toggle(self) -> None:
        if self.active:
            assert self.mode is not None
            self.mode.leave()
        else:
            self.enter()


def build_console(
    ctx: UiContext,
    clients: dict[str, BackendClient],
    *,
    audit_path: Path,
    timeline_path: Path | None,
    layouts: LayoutStore | None = None,
    outcome_timeout_s: float = 30.0,
    keymap_path: Path | None = None,
    incidents_path: Path | None = None,
    defer_charts: bool = False,
    loadtests: Callable[[], Sequence[LoadTestSpec]] = tuple,
    loadtest_records: Path | None = None,
    loadtest_reports: Path | None = None,
) -> Console:
    timeline = TimelineStore(timeline_path)
    window = MainWindow(ctx, layouts, timeline=timeline, defer_charts=defer_charts)
    recorder = TimelineRecorder(ctx.store, timeline, on_entry=window.timeline_entry_added)

    def audit_notice(text: str) -> None:
        # A torn record set aside, records missing: said once, now and in the history.
        window.statusBar().showMessage(text, 60_000)
        entry = TimelineEntry(ts=time.time(), backend="console", kind="info", message=text)
        stored = timeline.append(entry)
        if stored is not None:
            window.timeline_entry_added(stored)

    audit = AuditLog(audit_path, on_notice=audit_notice)
    try:
        audit.open()  # repairs a crash's torn record before the first action, not during it
    except OSError as exc:
        log.warning("audit log %s cannot be opened: %s", audit_path, exc)

    def report(intent: Intent, result: ActionResult) -> None:
        window.show_action_result(intent, result.status, result.message)
        # Every outcome, blocked and cancelled included: the incident's history shows what
        # the operator tried, not only what went through.
        recorder.record_action(
            intent.backend,
            intent.command_id,
            intent.target,
            result.status,
            result.message,
            {"args": intent.args, "idempotency_key": intent.key},
        )

    runner = ActionRunner(
        ctx.store, clients, audit, window.confirm, report, outcome_timeout_s=outcome_timeout_s
    )
    register_action_commands(ctx.commands, runner)
    register_assess(ctx, window, timeline, window.timeline_entry_added)
    if ctx.demo:
        _register_demo_commands(ctx, clients, window)
    walls = WallSwitch(window, runner)
    incidents = install_incidents(ctx, window, timeline, audit, incidents_path)
    walls.incident_source = lambda: incidents.badge.incident

    def incident_start() -> float | None:
        current = incidents.store.current()  # the baseline is the hour before it began
        return None if current is None else current.start_ts

    register_investigate(
        ctx, window, timeline, window.timeline_entry_added, clients, incident_start=incident_start
    )
    register_postmortem(ctx, window, timeline, audit_path, incidents.store)
    watches = register_loadtest(
        ctx,
        window,
        timeline,
        window.timeline_entry_added,
        audit,
        loadtests,
        loadtest_reports or data_dir() / "loadtest-reports",
        loadtest_records,  # where finished runs are kept (None: not kept)
        wall=lambda: walls.mode,
    )
    if "view.wall" not in ctx.commands:
        ctx.commands.register(
            Command(
                "view.wall",
                "Toggle the NOC wall display",
                walls.toggle,
                description="fullscreen, read-only, rotating pages; Esc leaves",
            )
        )
    _register_credentials(ctx, clients, window, walls)
    # Keys last: unknown ids in the keymap can only be told once every command exists.
    bindings, problems = load_keymap(keymap_path, ctx.commands)
    for problem in problems:
        log.warning("keys: %s", problem)
    keyboard = install_keyboard(window, bindings, problems=problems, layouts=window.layout_names)
    keyboard.command_line.loadtests = watches.names  # `:loadtest watch` completes them
    console = Console(
        ctx,
        window,
        runner,
        audit,
        timeline,
        recorder,
        clients,
        keyboard,
        walls,
        incidents=incidents.store,
        incident_recorder=incidents.recorder,
        close_incidents=incidents.close,
        loadtests=watches,
    )
    # The budgets panel may be made after the first data is on screen (`defer_charts`).
    window.when_built(
        "budgets",
        lambda panel: setattr(console, "burndown", BurndownFeed(panel, clients)),  # type: ignore[arg-type]
    )
    return console


def _register_credentials(
    ctx: UiContext, clients: dict[str, BackendClient], window: MainWindow, walls: WallSwitch
) -> None:
    """After a 401/403, offer a new token and retry at once: no restart, never on the wall."""

    def refused() -> list[str]:
        return [
            name
            for name, state in ctx.store.backends.items()
            if state.link.state is ConnectionState.AUTH_FAILED
        ]

    async def ask(backend: str) -> str:
        client = clients.get(backend)
        if client is None or not hasattr(client, "set_token"):
            return f"{backend}: this backend takes no token"
        reason = ctx.store.backend(backend).link.detail or "authentication failed"
        token = await ask_token(backend, reason, window)
        if token is None:
            return f"{backend}: no new credentials; still waiting"
        client.set_token(Secret(token))  # the link retries at once with it
        return f"{backend}: trying the new credentials"

    def run(backend: str | None = None) -> Any:
        if walls.active:
            raise CommandError("credentials are not asked for on the wall display")
        names = [backend] if backend else refused()
        if not names:
            raise CommandError("no backend refused the console's credentials")
        task = asyncio.get_running_loop().create_task(ask(names[0]))
        task.add_done_callback(
            lambda t: (
                t.cancelled() or t.exception() or window.statusBar().showMessage(t.result(), 15_000)
            )
        )
        return task

    def offer(backend: str, status: object) -> None:
        if getattr(status, "state", None) is ConnectionState.AUTH_FAILED and not walls.active:
            window.statusBar().showMessage(
                f"{backend}: credentials refused — :credentials {backend} (or Ctrl+K, "
                "'Enter credentials') to try a new token without restarting",
                120_000,
            )

    if "backend.credentials" not in ctx.commands:
        ctx.commands.register(
            Command(
                "backend.credentials",
                "Enter credentials for a backend",
                run,
                enabled=lambda: bool(refused()) and not walls.active,
                description="after an authentication failure: a new token, retried at once",
            )
        )
        ctx.store.connection_changed.connect(offer)


SCENARIOS = (
    "primary_down",
    "latency_spike",
    "error_burst",
    "dependency_outage",
    "traffic_surge",
    "bad_deploy",
    "recover",
)


def _register_demo_commands(
    ctx: UiContext, clients: dict[str, BackendClient], window: MainWindow
) -> None:
    """Fault scenarios of the built-in backend, so a newcomer sees every panel at work."""

    async def start(name: str, target: str | None = None, backend: str | None = None) -> str:
        demo = [c for c in clients.values() if isinstance(c, OpsApiClient)]
        client = clients.get(backend or "") or (demo[0] if demo else None)
        if not isinstance(client, OpsApiClient):
            message = f"scenario {name}: no Ops API backend to run it on"
            window.statusBar().showMessage(message, 15_000)
            return message
        try:
            started = await client.scenario(name, target)
        except BackendError as exc:
            message = f"scenario {name}: {exc}"
        else:
            until = (
                f" until {time.strftime('%H:%M:%S', time.localtime(started.until_ts))}"
                if (started.until_ts)
                else ""
            )
            message = f"scenario {started.scenario} started on {started.target or 'all'}{until}"
        window.statusBar().showMessage(message, 15_000)
        return message

    def run(name: str, target: str | None = None, backend: str | None = None) -> Any:
        if name not in SCENARIOS:
            raise CommandError(
                f"unknown scenario {name!r}; expected one of: {', '.join(SCENARIOS)}"
            )
        return asyncio.get_running_loop().create_task(start(name, target, backend))

    if "demo.scenario" not in ctx.commands:
        ctx.commands.register(
            Command(
                "demo.scenario",
                "Demo: start a fault scenario",
                run,
                mutating=True,
                description="primary_down, latency_spike, error_burst, dependency_outage, "
                "traffic_surge, bad_deploy, recover",
            )
        )

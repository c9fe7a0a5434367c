"""The `:loadtest` commands: watch a load test in the window, hold its stop, write its report."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from opsconsole.core.audit import AuditLog
from opsconsole.core.commands import Command, CommandError
from opsconsole.core.config import ConfigError, load_config
from opsconsole.core.loadtest.spec import LoadTestSpec, value_text
from opsconsole.core.loadtest.view import WatchView
from opsconsole.core.timeline import TimelineEntry, TimelineStore
from opsconsole.ui.context import UiContext
from opsconsole.ui.mainwindow import MainWindow

if TYPE_CHECKING:  # the engine and the report are imported on use: most consoles never watch
    from opsconsole.app.loadtestwatch import LoadTestWatch
    from opsconsole.core.loadtest.referee import Transition
    from opsconsole.core.loadtest.result import LoadTestResult
    from opsconsole.ui.panels.loadtest import LoadTestPanel
    from opsconsole.ui.wall import WallMode
    from opsconsole.ui.wall.loadtest import LoadTestWall

log = logging.getLogger(__name__)

WATCH, HOLD, RELEASE, REPORT = (
    "loadtest.watch",
    "loadtest.hold",
    "loadtest.release",
    "loadtest.report",
)
STATUS_MS = 15_000
TIMELINE_KIND = "loadtest"
PHASE_TIMELINE = {"counting down", "held", "stopping"}  # phases worth a timeline line


@dataclass
class Watching:
    """One watch the console runs: its engine and its task."""

    spec: LoadTestSpec
    engine: LoadTestWatch
    task: asyncio.Task[LoadTestResult]
    last_phase: str = "waiting"


class LoadTests:
    """Runs watches (one per load test name at a time); the newest owns the panel and the
    wall page; holds and reports act on the one shown unless a name is given."""

    def __init__(
        self,
        ctx: UiContext,
        window: MainWindow,
        timeline: TimelineStore,
        on_entry: Callable[[TimelineEntry], None],
        audit: AuditLog | None,
        specs: Callable[[], Sequence[LoadTestSpec]],
        reports: Path,
        records: Path | None = None,
        wall: Callable[[], WallMode | None] = lambda: None,
    ) -> None:
        self.ctx, self.window, self.timeline, self.on_entry = ctx, window, timeline, on_entry
        self.audit, self.specs, self.wall = audit, specs, wall
        self.reports = reports  # where `:loadtest report` writes (a folder per run)
        self.records = records  # where finished runs are kept (`opsconsole loadtest report`)
        self.running: dict[str, Watching] = {}
        self.shown: str | None = None  # the watch the panel and the wall page show
        self.last_result: LoadTestResult | None = None
        self.last_report: Path | None = None
        self._wall_page: LoadTestWall | None = None

    @property
    def panel(self) -> LoadTestPanel:
        return self.window.loadtest  # made on first use if the window deferred it

    def names(self) -> list[str]:
        """The config's [[loadtest]] names (what `:loadtest watch` completes)."""
        try:
            return [s.name for s in self.specs()]
        except CommandError as exc:  # a broken config: completion offers nothing
            log.warning("load tests: %s", exc)
            return []

    # ------------------------------------------------------------ the commands

    def watch(self, name: str | None = None) -> asyncio.Task[LoadTestResult]:
        """Start watching a configured load test; refusals in words."""
        specs = {s.name: s for s in self.specs()}
        if not specs:
            raise CommandError("no load test is configured; add a [[loadtest]] to the config")
        if name is None:
            if len(specs) > 1:
                raise CommandError(f"which load test? :loadtest watch NAME ({', '.join(specs)})")
            name = next(iter(specs))
        spec = specs.get(name)
        if spec is None:
            raise CommandError(f"no load test named {name!r}; configured: {', '.join(specs)}")
        if name in self.running:
            raise CommandError(
                f"{name} is already being watched; its criteria are in the Load test panel"
            )
        from opsconsole.app.loadtestwatch import LoadTestWatch
        from opsconsole.backends.loadtools import tool_client

        engine = LoadTestWatch(
            spec,
            self.ctx.store,
            tool_client(spec),
            self.audit,
            on_transition=lambda t, s=spec: self._transition(s, t),
            records=self.records,
        )
        engine.changed.connect(lambda view, n=name: self._changed(n, view))
        task = asyncio.get_running_loop().create_task(self._run(spec, engine))
        self.running[name] = Watching(spec, engine, task)
        self.shown = name
        dock = self.window.docks[self.panel.panel_id]
        dock.show()
        dock.raise_()
        self.window.statusBar().showMessage(f"Watching load test {name} ({spec.url})", STATUS_MS)
        return task

    def hold(self, name: str | None = None) -> str:
        """Hold the countdown of the watch shown (or `name`): the stop waits."""
        engine = self._engine(name, "hold")
        try:
            return self._say(engine.hold())
        except ValueError as exc:  # nothing counting down: the engine says so in words
            raise CommandError(str(exc)) from None

    def release(self, name: str | None = None) -> str:
        """Release a hold: the countdown goes on from where it was."""
        engine = self._engine(name, "release")
        try:
            return self._say(engine.release())
        except ValueError as exc:
            raise CommandError(str(exc)) from None

    def report(self, name: str | None = None) -> Path:
        """Write the report of the last finished watch (or of `name`'s, if it finished)."""
        result = self.last_result
        if name is not None and (result is None or result.name != name):
            raise CommandError(f"no finished watch of {name} in this session to report on")
        if result is None:
            running = ", ".join(self.running)
            raise CommandError(
                "no load test has finished in this session yet"
                + (f" ({running} still running)" if running else "; :loadtest watch NAME first")
            )
        from opsconsole.app.loadtestreport import write_report

        try:
            path = write_report(result, self.ctx.store, self.reports)
        except OSError as exc:
            raise CommandError(f"the report cannot be written in {self.reports}: {exc}") from None
        self.last_report = path
        self._say(f"Load test report of {result.name} written to {path}")
        return path

    # ------------------------------------------------------------ the watch's life

    async def _run(self, spec: LoadTestSpec, engine: LoadTestWatch) -> LoadTestResult:
        try:
            result = await engine.run()  # closes the tool's client at the end
        finally:
            self.running.pop(spec.name, None)
        self.last_result = result
        words = f"Load test {spec.name}: {result.verdict} (exit code {result.exit_code})"
        self._entry(spec, words, {"verdict": result.verdict, "exit_code": result.exit_code})
        self._say(f"{words} — :loadtest report writes its report")
        return result

    def _changed(self, name: str, view: WatchView) -> None:
        if name != self.shown:
            return
        self.panel.show_view(view)
        watching = self.running.get(name)
        if watching is not None and view.phase != watching.last_phase:
            old, watching.last_phase = watching.last_phase, view.phase
            if view.phase in PHASE_TIMELINE:
                reason = view.stop_reason.words if view.stop_reason is not None else ""
                words = f"Load test {name}: {view.phase}" + (f" — {reason}" if reason else "")
                self._entry(watching.spec, words, {"phase": view.phase, "was": old})
        self._show_on_wall(view)

    def _show_on_wall(self, view: WatchView) -> None:
        mode = self.wall()
        if mode is None or not mode.active:
            return
        page = self._wall_page_of(mode)
        page.show_view(view)
        counting = view.phase in ("counting down", "held")
        if counting and mode.current_page != "loadtest":
            mode.show_page("loadtest")  # a countdown takes precedence over the rotation

    def _wall_page_of(self, mode: WallMode) -> LoadTestWall:
        from opsconsole.ui.wall.loadtest import PAGE, LoadTestWall, watch_alarm

        if PAGE in mode.pages:
            page = mode.page_widget(PAGE)
            assert isinstance(page, LoadTestWall)
        else:
            assert mode.wall_theme is not None  # an active wall has its theme
            page = LoadTestWall(self.ctx, mode.wall_theme)
        mode.add_page(PAGE, page, lambda p=page: watch_alarm(p.view_shown))
        self._wall_page = page
        return page

    def _transition(self, spec: LoadTestSpec, t: Transition) -> None:
        criterion = next((c for c in spec.criteria if c.key == t.key), None)
        label = criterion.label if criterion is not None else t.key
        value = f" ({value_text(criterion.signal, t.value)})" if criterion is not None else ""
        self._entry(
            spec,
            f"Load test {spec.name}: {label} {t.old} → {t.new}{value}",
            {"key": t.key, "from": t.old, "state": t.new, "value": t.value},
            ts=t.ts,
        )

    def _entry(
        self, spec: LoadTestSpec, message: str, data: dict[str, object], ts: float | None = None
    ) -> None:
        entry = TimelineEntry(
            ts=self.ctx.wall_clock() if ts is None else ts,
            backend=spec.backend or "console",
            kind=TIMELINE_KIND,
            message=message,
            data={"loadtest": spec.name, **data},
        )
        stored = self.timeline.append(entry)
        if stored is not None:
            self.on_entry(stored)

    def _engine(self, name: str | None, verb: str) -> LoadTestWatch:
        key = name or self.shown
        watching = self.running.get(key or "")
        if watching is None:
            raise CommandError(f"nothing to {verb}: no load test is being watched")
        return watching.engine

    def _say(self, words: str) -> str:
        self.window.statusBar().showMessage(words, STATUS_MS)
        return words


def config_loadtests(path: Path) -> Callable[[], tuple[LoadTestSpec, ...]]:
    """The config file's [[loadtest]] tables, read again when the file changes (a test added
    while the console runs can be watched at once); a broken file is said in words."""
    seen: dict[str, object] = {}

    def read() -> tuple[LoadTestSpec, ...]:
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            return ()  # no config file (the demo): no load tests
        if seen.get("stamp") != stamp:
            try:
                seen["specs"] = load_config(path).loadtests
            except ConfigError as exc:
                raise CommandError(f"the config file cannot be used: {exc}") from None
            seen["stamp"] = stamp
        return seen["specs"]  # type: ignore[return-value]

    return read


def register_loadtest(
    ctx: UiContext,
    window: MainWindow,
    timeline: TimelineStore,
    on_entry: Callable[[TimelineEntry], None],
    audit: AuditLog | None,
    specs: Callable[[], Sequence[LoadTestSpec]],
    reports: Path,
    records: Path | None = None,
    wall: Callable[[], WallMode | None] = lambda: None,
) -> LoadTests:
    """`loadtest.watch|hold|release|report`: the referee of a load test in the window (and on
    the wall), its transitions on the timeline, its stop audited by the engine."""
    tests = LoadTests(ctx, window, timeline, on_entry, audit, specs, reports, records, wall)
    for command in (
        # Watching arms an automatic stop of the tool: a change outside the console.
        Command(
            WATCH,
            "Load test: watch",
            tests.watch,
            mutating=True,
            description="criteria live, stop conditions counted down, :loadtest watch NAME",
        ),
        # Holding and releasing send nothing: the stop waits for the operator (safe, also on
        # the read-only wall).
        Command(
            HOLD,
            "Load test: hold the stop countdown",
            tests.hold,
            description="the stop waits until released (H in the Load test panel)",
        ),
        Command(
            RELEASE,
            "Load test: release the held countdown",
            tests.release,
            description="the countdown goes on from where it was (H again)",
        ),
        Command(
            REPORT,
            "Load test: write the report",
            tests.report,
            description="Markdown of the last finished watch, in the data folder",
        ),
    ):
        if command.id not in ctx.commands:
            ctx.commands.register(command)
    return tests

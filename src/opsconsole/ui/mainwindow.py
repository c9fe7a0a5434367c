"""The main window: docked panels over the store, a status bar, menus built from commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QWidget

from opsconsole.core.actions import Intent, status_lifetime_s
from opsconsole.core.alertsummary import is_loud_page
from opsconsole.core.commands import Command, CommandError, DangerTier
from opsconsole.core.health import Health
from opsconsole.core.runner import Problem
from opsconsole.core.timeline import TimelineStore
from opsconsole.ui.confirm import ask
from opsconsole.ui.context import UiContext
from opsconsole.ui.firstvalues import FirstValuesStamp
from opsconsole.ui.layout import LayoutStore
from opsconsole.ui.panel import Panel
from opsconsole.ui.panels.alerts import AlertsPanel
from opsconsole.ui.panels.breakers import BreakersPanel
from opsconsole.ui.panels.clusters import ClustersPanel
from opsconsole.ui.panels.health import ConsoleHealthPanel
from opsconsole.ui.panels.services import ServicesPanel
from opsconsole.ui.panels.timeline import TimelinePanel
from opsconsole.ui.probes import LoopLagProbe
from opsconsole.ui.repaint import RepaintScheduler
from opsconsole.ui.statusbar import BackendStatusBar
from opsconsole.ui.theme import STATE_COLOURS

if TYPE_CHECKING:  # imported when built (see DEFERRED_PANELS)
    from opsconsole.ui.panels.budgets import BudgetsPanel
    from opsconsole.ui.panels.investigation import InvestigationPanel
    from opsconsole.ui.panels.loadtest import LoadTestPanel
    from opsconsole.ui.panels.overview import FleetOverviewPanel
    from opsconsole.ui.panels.signals import GoldenSignalsPanel

DOCK_FEATURES = (
    QDockWidget.DockWidgetFeature.DockWidgetMovable
    | QDockWidget.DockWidgetFeature.DockWidgetFloatable
    | QDockWidget.DockWidgetFeature.DockWidgetClosable
)

# As long as the keyboard layer's notices: long enough to read after looking up.
PROBLEM_SHOWN_MS = 15_000

#: Every panel's id and title, in the order of the View menu and of Alt+1..Alt+0.
PANEL_ORDER = (
    ("services", "Services"),
    ("golden_signals", "Golden signals"),
    ("breakers", "Circuit breakers"),
    ("clusters", "Database clusters"),
    ("alerts", "Alerts"),
    ("timeline", "Timeline"),
    ("console_health", "Console health"),
    ("budgets", "Error budgets"),
    ("investigation", "Investigation"),
    ("overview", "Fleet overview"),
    ("loadtest", "Load test"),
)
#: The panels whose modules bring pyqtgraph (a third of a second of imports on a 2-core box)
#: or that are costly to build (four plots): with `defer_charts` their docks start with a
#: placeholder and are filled after the first live data is on screen (`finish_build_soon`).
DEFERRED_PANELS = ("golden_signals", "budgets", "investigation", "overview", "loadtest")


class MainWindow(QMainWindow):
    """Owns the panels, their docks, the repaint scheduler and the loop-lag probe."""

    closed = Signal()

    def __init__(
        self,
        ctx: UiContext,
        layouts: LayoutStore | None = None,
        parent: QWidget | None = None,
        *,
        timeline: TimelineStore | None = None,
        defer_charts: bool = False,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.registry = ctx.commands
        self.layouts = layouts
        # "2 FIRING · " goes in front of this while pages fire unmuted (see _show_pages).
        self.base_title = "opsconsole" + (" — DEMO" if ctx.demo else "")
        self.setWindowTitle(self.base_title)
        self.setObjectName("main_window")
        self.resize(1760, 1040)
        self.setDockNestingEnabled(True)
        self.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks
            | QMainWindow.DockOption.AllowNestedDocks
            | QMainWindow.DockOption.AllowTabbedDocks
        )
        # The docks are the whole window; a zero-size central widget keeps Qt's layout happy.
        placeholder = QLabel()
        placeholder.setMaximumSize(0, 0)
        self.setCentralWidget(placeholder)

        self.scheduler = RepaintScheduler(ctx.stats, parent=self)
        self.lag_probe = LoopLagProbe(ctx.stats, parent=self)
        self.services = ServicesPanel(ctx)
        self.health = ConsoleHealthPanel(ctx, probe=self.lag_probe)
        self.breakers = BreakersPanel(ctx)
        self.clusters = ClustersPanel(ctx)
        self.alerts = AlertsPanel(ctx)
        # Without a durable store (tests, self-test) the timeline lives in memory.
        self.timeline_store = timeline if timeline is not None else TimelineStore(None)
        self.timeline = TimelinePanel(ctx, self.timeline_store)
        self.status = BackendStatusBar(ctx)
        self._by_id: dict[str, Panel] = {
            p.panel_id: p
            for p in (
                self.services,
                self.breakers,
                self.clusters,
                self.alerts,
                self.timeline,
                self.health,
            )
        }
        self._when_built: dict[str, list[Callable[[Panel], None]]] = {}
        self._build_step = QTimer(self, singleShot=True, interval=0, timeout=self._build_next)
        if not defer_charts:
            for panel_id in DEFERRED_PANELS:
                self._by_id[panel_id] = self._make_panel(panel_id)
        self.panels: list[Panel] = [self._by_id[i] for i, _ in PANEL_ORDER if i in self._by_id]
        self.docks: dict[str, QDockWidget] = {}
        for panel_id, title in PANEL_ORDER:
            panel = self._by_id.get(panel_id)
            self._dock(panel) if panel is not None else self._placeholder_dock(panel_id, title)
        self._default_arrangement()
        for panel in self.panels:
            self._panel_added(panel)
        self.first_values = FirstValuesStamp(self.services, ctx.stats)
        self.last_action = QLabel("")
        self.last_action.setObjectName("last_action")
        self.statusBar().addPermanentWidget(self.last_action)
        self.statusBar().addPermanentWidget(self.status, 1)
        self.statusBar().setSizeGripEnabled(False)
        self.scheduler.add([*self.panels, self.status])
        # The last action's words leave after a while (status_lifetime_s says how long, why).
        self._last_action_expiry = QTimer(self, singleShot=True, timeout=self.last_action.clear)
        self._register_commands()
        self._build_menus()
        # The one place where every entry point's refusals and errors are said.
        ctx.runner.on_problem(self.show_problem)
        self._restored = bool(layouts and layouts.restore(self))
        if self._restored:
            self._sizes_pending = False
        self._watch_pages()

    def show_problem(self, problem: Problem) -> None:
        """A command that was refused or failed, from any entry point, in plain words."""
        self.statusBar().showMessage(problem.words, PROBLEM_SHOWN_MS)

    # ------------------------------------------------------------ docks

    def _dock(self, panel: Panel) -> QDockWidget:
        dock = QDockWidget(panel.title, self)
        dock.setObjectName(f"dock_{panel.panel_id}")
        dock.setWidget(panel)
        dock.setFeatures(DOCK_FEATURES)
        # A dock that becomes visible again must catch up at once, not at the next datum.
        dock.visibilityChanged.connect(lambda visible, p=panel: visible and p.mark_dirty())
        self.docks[panel.panel_id] = dock
        return dock

    def _placeholder_dock(self, panel_id: str, title: str) -> QDockWidget:
        """A deferred panel's dock, there from the start (arrangement, saved layouts)."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{panel_id}")
        waiting = QLabel("Starting…")
        waiting.setAlignment(Qt.AlignmentFlag.AlignCenter)
        dock.setWidget(waiting)
        dock.setFeatures(DOCK_FEATURES)
        self.docks[panel_id] = dock
        return dock

    # ------------------------------------------------------------ deferred panels

    def _make_panel(self, panel_id: str) -> Panel:
        ctx = self.ctx
        if panel_id == "golden_signals":
            from opsconsole.ui.panels.signals import GoldenSignalsPanel

            return GoldenSignalsPanel(ctx)
        if panel_id == "budgets":
            from opsconsole.ui.panels.budgets import BudgetsPanel

            return BudgetsPanel(ctx)
        if panel_id == "investigation":
            from opsconsole.ui.panels.investigation import InvestigationPanel

            return InvestigationPanel(ctx)
        if panel_id == "loadtest":
            from opsconsole.ui.panels.loadtest import LoadTestPanel

            return LoadTestPanel(ctx)
        from opsconsole.ui.panels.overview import FleetOverviewPanel

        overview = FleetOverviewPanel(ctx)
        # Opening a service from the overview brings its golden signals forward.
        overview.opened.connect(lambda *_: self.bring_forward("golden_signals"))
        return overview

    def _panel_added(self, panel: Panel) -> None:
        for then in self._when_built.pop(panel.panel_id, []):
            then(panel)

    def _build(self, panel_id: str) -> Panel:
        """A deferred panel, made now into its waiting dock if it is not made yet."""
        panel = self._by_id.get(panel_id)
        if panel is not None:
            return panel
        panel = self._by_id[panel_id] = self._make_panel(panel_id)
        dock = self.docks[panel_id]
        waiting = dock.widget()
        dock.setWidget(panel)
        if waiting is not None:
            waiting.deleteLater()
        dock.visibilityChanged.connect(lambda visible, p=panel: visible and p.mark_dirty())
        self.panels = [self._by_id[i] for i, _ in PANEL_ORDER if i in self._by_id]
        self.scheduler.add([panel])
        self._panel_added(panel)
        return panel

    @property
    def complete(self) -> bool:
        """Every panel is made (False while deferred ones wait, see `finish_build_soon`)."""
        return all(i in self._by_id for i in DEFERRED_PANELS)

    def finish_build(self) -> None:
        """Make every panel still waiting, now."""
        for panel_id in DEFERRED_PANELS:
            self._build(panel_id)

    def finish_build_soon(self) -> None:
        """Make the waiting panels one per turn of the loop, so input and data go between."""
        if not self.complete:
            self._build_step.start()

    def _build_next(self) -> None:
        waiting = [i for i in DEFERRED_PANELS if i not in self._by_id]
        if waiting:
            self._build(waiting[0])
        if len(waiting) > 1:
            self._build_step.start()

    def when_built(self, panel_id: str, then: Callable[[Panel], None]) -> None:
        """Call `then(panel)` once the panel exists (at once if it does)."""
        panel = self._by_id.get(panel_id)
        if panel is not None:
            then(panel)
        else:
            self._when_built.setdefault(panel_id, []).append(then)

    def panel(self, panel_id: str) -> Panel:
        """The panel by id, made now if it was still waiting."""
        return self._by_id.get(panel_id) or self._build(panel_id)

    # Reading a deferred panel makes it: callers never see a placeholder.
    @property
    def signals(self) -> GoldenSignalsPanel:
        return self.panel("golden_signals")  # type: ignore[return-value]

    @property
    def budgets(self) -> BudgetsPanel:
        return self.panel("budgets")  # type: ignore[return-value]

    @property
    def investigation(self) -> InvestigationPanel:
        return self.panel("investigation")  # type: ignore[return-value]

    @property
    def loadtest(self) -> LoadTestPanel:
        return self.panel("loadtest")  # type: ignore[return-value]

    @property
    def overview(self) -> FleetOverviewPanel:
        return self.panel("overview")  # type: ignore[return-value]

    def _default_arrangement(self) -> None:
        """Services, clusters and the timeline left; alerts, charts and breakers right.

        Alerts are never behind a tab: they sit on top of the right column, where a page
        is seen at once. Only the console's own health (with the timeline) and the error
        budgets (with the charts) share a tab.
        """
        area = Qt.DockWidgetArea
        d = self.docks
        for dock in d.values():
            dock.setFloating(False)
            dock.show()
        self.addDockWidget(area.LeftDockWidgetArea, d["services"])
        self.addDockWidget(area.RightDockWidgetArea, d["alerts"])
        self.splitDockWidget(d["services"], d["clusters"], Qt.Orientation.Vertical)
        self.splitDockWidget(d["clusters"], d["timeline"], Qt.Orientation.Vertical)
        self.tabifyDockWidget(d["timeline"], d["console_health"])
        self.splitDockWidget(d["alerts"], d["golden_signals"], Qt.Orientation.Vertical)
        self.splitDockWidget(d["golden_signals"], d["breakers"], Qt.Orientation.Vertical)
        # Error budgets share the charts' room (wide, tall enough for the burn-down); the
        # charts stay in front.
        self.tabifyDockWidget(d["golden_signals"], d["budgets"])
        # The investigation's findings also take the charts' room; hidden until the first run.
        self.tabifyDockWidget(d["golden_signals"], d["investigation"])
        investigation = self._by_id.get("investigation")
        d["investigation"].setVisible(investigation is not None and investigation.service != "")
        # A load test's criteria too; hidden until a watch starts.
        self.tabifyDockWidget(d["golden_signals"], d["loadtest"])
        loadtest = self._by_id.get("loadtest")
        d["loadtest"].setVisible(getattr(loadtest, "view_shown", None) is not None)
        # The fleet overview shares the services list's room; the list stays in front.
        self.tabifyDockWidget(d["services"], d["overview"])
        d["golden_signals"].raise_()
        d["timeline"].raise_()
        d["services"].raise_()
        self._sizes_pending = True

    def _default_sizes(self) -> None:
        """Dock sizes only take once the window has its geometry: applied after show."""
        if not getattr(self, "_sizes_pending", False):
            return
        self._sizes_pending = False
        d, h = self.docks, max(600, self.height() - 80)
        self.resizeDocks(
            [d["services"], d["alerts"]],
            [int(self.width() * 0.46), int(self.width() * 0.54)],
            Qt.Orientation.Horizontal,
        )
        self.resizeDocks(
            [d["services"], d["clusters"], d["timeline"]],
            [int(h * 0.40), int(h * 0.26), int(h * 0.34)],
            Qt.Orientation.Vertical,
        )
        # The alerts' headline and a few rows; the charts keep most of the column.
        self.resizeDocks(
            [d["alerts"], d["golden_signals"], d["breakers"]],
            [int(h * 0.22), int(h * 0.53), int(h * 0.25)],
            Qt.Orientation.Vertical,
        )

    BUILT_IN_LAYOUTS = ("Triage", "Database")

    def layout_names(self) -> list[str]:
        saved = self.layouts.names() if self.layouts is not None else []
        return [*self.BUILT_IN_LAYOUTS, *(n for n in saved if n != "last")]

    def load_layout(self, name: str) -> None:
        """A saved layout by name, else a built-in one; an unknown name is said plainly."""
        if self.layouts is not None and name in self.layouts.names():
            self.layouts.restore(self, name, geometry=False)
            return
        key = name.lower()
        if key == "triage":
            self.reset_layout()
            return
        if key == "database":
            self.reset_layout()
            d, h = self.docks, max(600, self.height() - 80)
            # Clusters and the timeline get the room; the charts stay for context.
            self.resizeDocks(
                [d["services"], d["clusters"], d["timeline"]],
                [int(h * 0.2), int(h * 0.45), int(h * 0.35)],
                Qt.Orientation.Vertical,
            )
            return
        raise CommandError(
            f"no layout named {name!r}; expected one of: {', '.join(self.layout_names())}"
        )

    def save_layout(self, name: str) -> None:
        if self.layouts is None:
            raise CommandError("layouts cannot be saved in this run (self-test)")
        self.layouts.save(self, name)

    def reset_layout(self) -> None:
        for dock in self.docks.values():
            self.removeDockWidget(dock)
        self._default_arrangement()
        self._default_sizes()

    # ------------------------------------------------------------ pages firing

    def _watch_pages(self) -> None:
        """The count of pages firing, in the window's and the alerts dock's titles.

        Counted from the store, not the panel: a hidden or tabbed-away dock does no work.
        """
        self._loud_pages: set[tuple[str, str]] = set()
        self.pages_firing = 0
        # Many alert events in one burst (a snapshot) cost one count, on the next loop turn;
        # idle again once the count is shown.
        self.pages_timer = QTimer(self)
        self.pages_timer.setSingleShot(True)
        self.pages_timer.setInterval(0)
        self.pages_timer.timeout.connect(self._show_pages)
        store = self.ctx.store
        for signal in (store.alert_changed, store.silence_changed, store.snapshot_loaded):
            signal.connect(self._pages_changed)
        self._show_pages()

    def _pages_changed(self, *_: object) -> None:
        try:
            if not self.pages_timer.isActive():
                self.pages_timer.start()
        except RuntimeError:
            pass  # the window is deleted and the store outlived it: nothing to show

    def _show_pages(self) -> None:
        loud = {
            (name, alert.id)
            for name, state in self.ctx.store.backends.items()
            for alert in state.alerts.values()
            if is_loud_page(alert)
        }
        new = loud - self._loud_pages
        self._loud_pages = loud
        self.pages_firing = n = len(loud)
        title = f"{n} FIRING · {self.base_title}" if n else self.base_title
        if self.windowTitle() != title:
            self.setWindowTitle(title)
        dock = self.docks["alerts"]
        dock_title = f"{self.alerts.title} · {n} FIRING" if n else self.alerts.title
        if dock.windowTitle() != dock_title:
            dock.setWindowTitle(dock_title)
        if new:
            self.bring_alerts_forward()

    def bring_forward(self, panel_id: str) -> None:
        """Show a panel's dock in front of its tab group, leaving the keys where they are."""
        dock = self.docks[panel_id]
        dock.show()
        dock.raise_()

    def bring_alerts_forward(self) -> None:
        """A new page: the alerts dock comes to the front if a tab or a close hid it.

        Saved layouts from older versions may keep alerts behind another tab.
        """
        dock = self.docks["alerts"]
        if dock.isHidden():
            dock.show()
        if dock.visibleRegion().isEmpty() or self.tabifiedDockWidgets(dock):
            dock.raise_()

    # ------------------------------------------------------------ commands and menus

    def _register_commands(self) -> None:
        reg = self.registry
        for command in (
            Command("app.quit", "Quit", self.close, keys=("Ctrl+Q",)),
            Command("layout.reset", "Reset the panel layout", self.reset_layout),
            Command(
                "layout.load",
                "Load a named layout",
                self.load_layout,
                description="Triage, Database, or one saved with layout.save",
            ),
            Command("layout.save", "Save the layout under a name", self.save_layout),
            Command(
                "charts.window.5m", "Charts: last 5 minutes", lambda: self.signals.set_window(300)
            ),
            Command(
                "charts.window.15m", "Charts: last 15 minutes", lambda: self.signals.set_window(900)
            ),
            Command("charts.window.1h", "Charts: last hour", lambda: self.signals.set_window(3600)),
            Command(
                "charts.window.6h", "Charts: last 6 hours", lambda: self.signals.set_window(21600)
            ),
            Command(
                "charts.window.24h", "Charts: last 24 hours", lambda: self.signals.set_window(86400)
            ),
            Command("charts.live", "Charts: back to live", lambda: self.signals.back_to_live()),
        ):
            if command.id not in reg:
                reg.register(command)
        for i, (panel_id, title) in enumerate(PANEL_ORDER, start=1):
            cid = f"panel.focus.{panel_id}"
            if cid not in reg:
                reg.register(
                    Command(
                        cid,
                        f"Focus {title}",
                        lambda p=panel_id: self.focus_panel(self.panel(p)),
                        keys=(f"Alt+{i % 10}",) if i <= 10 else (),  # Alt+0: the tenth
                        tier=DangerTier.SAFE,
                    )
                )

    def _action(self, command_id: str) -> QAction:
        command = self.registry.get(command_id)
        action = QAction(command.title, self)
        action.setData(command_id)  # the keyboard layer finds a menu action's command by id
        if command.keys:
            action.setShortcuts([QKeySequence(k) for k in command.keys])
        action.triggered.connect(
            lambda _=False, cid=command_id: self.ctx.runner.run(cid, source="menu")
        )
        self.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self._action("app.quit"))
        view = bar.addMenu("&View")
        for panel_id, _title in PANEL_ORDER:
            view.addAction(self._action(f"panel.focus.{panel_id}"))
        view.addSeparator()
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        view.addAction(self._action("layout.reset"))

    # ------------------------------------------------------------ actions

    async def confirm(self, intent: Intent) -> bool:
        """Ask the operator (non-blocking dialog); the dialog is kept for tests to answer."""
        return await ask(intent, self)

    def show_action_result(self, intent: Intent, status: str, message: str) -> None:
        """An action's outcome, in plain words, where the operator is looking."""
        text = f"{intent.describe()} on {intent.backend}: {status.replace('_', ' ')} — {message}"
        self.last_action.setText(text)
        # "unknown" is not a failure: the console could not see; amber until it settles.
        level = {
            "succeeded": Health.HEALTHY,
            "cancelled": Health.UNKNOWN,
            "unknown": Health.WARNING,
        }.get(status, Health.CRITICAL)
        self.last_action.setStyleSheet(f"color: {STATE_COLOURS[level]}; padding: 0 8px;")
        # Shown once, in the label: a temporary message beside it would repeat the same words.
        self._last_action_expiry.start(int(status_lifetime_s(status) * 1000))

    def timeline_entry_added(self, _entry: object) -> None:
        self.timeline.mark_dirty()

    def focus_panel(self, panel: Panel) -> None:
        dock = self.docks[panel.panel_id]
        dock.show()
        dock.raise_()
        target = panel.focusProxy() or panel
        target.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self.scheduler.start()
        self.lag_probe.start()
        QTimer.singleShot(0, self._default_sizes)
        # The first frame should not wait for the first timer tick.
        QTimer.singleShot(0, self.scheduler.tick)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.scheduler.stop()
        self.lag_probe.stop()
        if self.layouts is not None:
            self.layouts.save(self)
        self.closed.emit()
        super().closeEvent(event)

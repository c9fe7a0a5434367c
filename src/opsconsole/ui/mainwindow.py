"""The main window: docked panels over the store, a status bar, menus built from commands."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QWidget

from opsconsole.core.actions import Intent
from opsconsole.core.commands import Command, DangerTier
from opsconsole.core.health import Health
from opsconsole.ui.confirm import ask
from opsconsole.ui.context import UiContext
from opsconsole.ui.layout import LayoutStore
from opsconsole.ui.panel import Panel
from opsconsole.ui.panels.health import ConsoleHealthPanel
from opsconsole.ui.panels.services import ServicesPanel
from opsconsole.ui.panels.signals import GoldenSignalsPanel
from opsconsole.ui.probes import LoopLagProbe
from opsconsole.ui.repaint import RepaintScheduler
from opsconsole.ui.statusbar import BackendStatusBar
from opsconsole.ui.theme import STATE_COLOURS

DOCK_FEATURES = (
    QDockWidget.DockWidgetFeature.DockWidgetMovable
    | QDockWidget.DockWidgetFeature.DockWidgetFloatable
    | QDockWidget.DockWidgetFeature.DockWidgetClosable
)


class MainWindow(QMainWindow):
    """Owns the panels, their docks, the repaint scheduler and the loop-lag probe."""

    closed = Signal()

    def __init__(
        self,
        ctx: UiContext,
        layouts: LayoutStore | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.registry = ctx.commands
        self.layouts = layouts
        self.setWindowTitle("opsconsole" + (" — DEMO" if ctx.demo else ""))
        self.setObjectName("main_window")
        self.resize(1680, 1000)
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
        self.signals = GoldenSignalsPanel(ctx)
        self.health = ConsoleHealthPanel(ctx, probe=self.lag_probe)
        self.status = BackendStatusBar(ctx)
        self.panels: list[Panel] = [self.services, self.signals, self.health]
        self.docks: dict[str, QDockWidget] = {}
        for panel in self.panels:
            self._dock(panel)
        self._default_arrangement()
        self.last_action = QLabel("")
        self.last_action.setObjectName("last_action")
        self.statusBar().addPermanentWidget(self.last_action)
        self.statusBar().addPermanentWidget(self.status, 1)
        self.statusBar().setSizeGripEnabled(False)
        self.scheduler.add([*self.panels, self.status])
        self._register_commands()
        self._build_menus()
        self._restored = bool(layouts and layouts.restore(self))

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

    def _default_arrangement(self) -> None:
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        for dock in self.docks.values():
            dock.setFloating(False)
            dock.show()
        self.addDockWidget(left, self.docks["services"])
        self.addDockWidget(right, self.docks["golden_signals"])
        self.splitDockWidget(
            self.docks["services"], self.docks["console_health"], Qt.Orientation.Vertical
        )
        self.resizeDocks(
            [self.docks["services"], self.docks["golden_signals"]],
            [800, 880],
            Qt.Orientation.Horizontal,
        )
        self.resizeDocks(
            [self.docks["services"], self.docks["console_health"]],
            [620, 300],
            Qt.Orientation.Vertical,
        )

    def reset_layout(self) -> None:
        for dock in self.docks.values():
            self.removeDockWidget(dock)
        self._default_arrangement()

    # ------------------------------------------------------------ commands and menus

    def _register_commands(self) -> None:
        reg = self.registry
        for command in (
            Command("app.quit", "Quit", self.close, keys=("Ctrl+Q",)),
            Command("layout.reset", "Reset the panel layout", self.reset_layout),
        ):
            if command.id not in reg:
                reg.register(command)
        for i, panel in enumerate(self.panels, start=1):
            cid = f"panel.focus.{panel.panel_id}"
            if cid not in reg:
                reg.register(
                    Command(
                        cid,
                        f"Focus {panel.title}",
                        lambda p=panel: self.focus_panel(p),
                        keys=(f"Alt+{i}",),
                        tier=DangerTier.SAFE,
                    )
                )

    def _action(self, command_id: str) -> QAction:
        command = self.registry.get(command_id)
        action = QAction(command.title, self)
        if command.keys:
            action.setShortcuts([QKeySequence(k) for k in command.keys])
        action.triggered.connect(lambda _=False, cid=command_id: self.registry.run(cid))
        self.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self._action("app.quit"))
        view = bar.addMenu("&View")
        for panel in self.panels:
            view.addAction(self._action(f"panel.focus.{panel.panel_id}"))
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
        ok = status == "succeeded"
        level = (
            Health.HEALTHY if ok else Health.UNKNOWN if status == "cancelled" else Health.CRITICAL
        )
        self.last_action.setStyleSheet(f"color: {STATE_COLOURS[level]}; padding: 0 8px;")
        self.statusBar().showMessage(text, 30_000)

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
        # The first frame should not wait for the first timer tick.
        QTimer.singleShot(0, self.scheduler.tick)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.scheduler.stop()
        self.lag_probe.stop()
        if self.layouts is not None:
            self.layouts.save(self)
        self.closed.emit()
        super().closeEvent(event)

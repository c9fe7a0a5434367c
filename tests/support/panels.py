"""The harness panel tests share: a store, its UI context, and the repaint scheduler."""

from __future__ import annotations

import time
from typing import Any, TypeVar

from PySide6.QtWidgets import QApplication

from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.core.store import Store
from opsconsole.ui import theme
from opsconsole.ui.context import Selection, UiContext
from opsconsole.ui.panel import Panel
from opsconsole.ui.repaint import RepaintScheduler

P = TypeVar("P", bound=Panel)


class PanelHarness:
    """Panels under test over one store, refreshed by a scheduler the test starts itself.

    A test file subclasses it to show its panel and add the questions it asks of that panel;
    its fixture yields the harness and calls `close()` afterwards.
    """

    def __init__(self, qapp: QApplication, qtbot: Any, **context: Any) -> None:
        theme.apply_theme(qapp)
        self.qtbot = qtbot
        self.store = Store(capacity=600)
        self.ctx = UiContext(self.store, Selection(), **context)
        self.scheduler = RepaintScheduler(self.ctx.stats)

    def show(self, widget: P, size: tuple[int, int] | None = None) -> P:
        """Show a panel (at `size`) and put it under the scheduler."""
        self.qtbot.addWidget(widget)
        if size is not None:
            widget.resize(*size)
        widget.show()
        self.scheduler.add([widget])
        return widget

    def connect(self, url: str, name: str = "sim", **kwargs: Any) -> OpsApiClient:
        """A started client feeding the store; the test closes it."""
        client = OpsApiClient(name, url, self.store.apply, **kwargs)
        client.start()
        return client

    def refresh(self) -> None:
        """Refresh every shown panel now, as a scheduler tick would."""
        for panel in self.scheduler.panels:
            panel.run_refresh(time.monotonic())

    def close(self) -> None:
        self.scheduler.stop()

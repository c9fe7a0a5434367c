"""The way into `:investigate` from a list row: the `i` key and an "Investigate SERVICE" entry."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractItemView, QMenu

from opsconsole.ui.context import UiContext

COMMAND_ID = "investigate.run"
#: Free in every list (no command's default key, not reserved by the keyboard layer); a bare
#: key, so it only works where the list has the keys, never inside a text field.
INVESTIGATE_KEY = "I"


class RowInvestigate:
    """Runs `investigate.run` for the service of a list's current row, through the runner.

    `service` names the current row's service (None: no row). With `own_menu` the list gets a
    context menu holding the one entry; a list with a menu of its own calls `add_to(menu)`.
    """

    def __init__(
        self,
        view: QAbstractItemView,
        ctx: UiContext,
        source: str,
        service: Callable[[], str | None],
        *,
        own_menu: bool = True,
    ) -> None:
        self.view, self.ctx, self.source, self.service = view, ctx, source, service
        self.shortcut = QShortcut(QKeySequence(INVESTIGATE_KEY), view)
        self.shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
        self.shortcut.activated.connect(self.run)
        if own_menu:
            view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            view.customContextMenuRequested.connect(self._menu)

    def run(self) -> object:
        """Investigate the current row's service; nothing when no row is current."""
        service = self.service()
        if service is None:
            return None
        return self.ctx.runner.run(COMMAND_ID, source=self.source, service=service)

    def add_to(self, menu: QMenu) -> None:
        """The "Investigate SERVICE" entry, with its key shown beside it (none in a console
        without the command, e.g. a panel shown on its own)."""
        if COMMAND_ID not in self.ctx.commands:
            return
        service = self.service()
        text = f"Investigate {service}" if service else "Investigate (select a row first)"
        action = menu.addAction(f"{text}\t{INVESTIGATE_KEY.lower()}")
        action.setObjectName("action_investigate")
        action.setEnabled(service is not None)
        action.triggered.connect(self.run)

    def _menu(self, pos: QPoint) -> None:
        if COMMAND_ID not in self.ctx.commands:
            return
        index = self.view.indexAt(pos)
        if index.isValid():
            self.view.setCurrentIndex(index)
        menu = QMenu(self.view)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.add_to(menu)
        menu.popup(self.view.viewport().mapToGlobal(pos))

"""The command bar under a panel's list: one button and one menu entry per declared action."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Collection, Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QToolButton, QWidget
from shiboken6 import isValid

from opsconsole.core.actions import ACTIONS
from opsconsole.core.runner import Problem
from opsconsole.ui import theme
from opsconsole.ui.context import UiContext

NOT_AVAILABLE = "not available"


class CommandButtons:
    """A panel's actions as a button row and a context menu sharing one QAction each.

    Labels and tooltips come from the action declarations (`ACTIONS[cid].button`, `.hint`).
    An action is enabled only when its command is registered (and enabled) and a target is
    selected; commands run through the one runner (`ctx.runner`), and a problem it reports
    for this bar shows in the bar's notice. The panel never talks to a backend itself.
    """

    def __init__(
        self,
        parent: QWidget,
        ctx: UiContext,
        command_ids: Sequence[str],
        trigger: Callable[[str], None],
        source: str,
    ) -> None:
        self.ctx = ctx
        self.registry = ctx.commands
        self.source = source  # how the runner names this bar in problems and logs
        self.hints = {cid: ACTIONS[cid].hint for cid in command_ids}
        self.actions: dict[str, QAction] = {}
        self.bar = QWidget(parent)
        layout = QHBoxLayout(self.bar)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(6)
        for cid in command_ids:
            label = ACTIONS[cid].button
            action = QAction(label, parent)
            action.setIconText(label)  # a tool button would drop the "…" (a dialog follows)
            action.setObjectName(f"action_{cid}")
            action.triggered.connect(lambda _=False, cid=cid: trigger(cid))
            self.actions[cid] = action
            button = QToolButton(self.bar)
            button.setObjectName(f"button_{cid}")
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            layout.addWidget(button)
        self.notice = QLabel(self.bar)
        self.notice.setObjectName("command_notice")
        self.notice.setStyleSheet(f"color: {theme.TEXT_DIM};")
        layout.addWidget(self.notice, 1)
        self.bar.setStyleSheet(
            f"QToolButton {{ background: {theme.SURFACE_ALT}; border: 1px solid {theme.BORDER};"
            " padding: 3px 10px; border-radius: 3px; }"
            f"QToolButton:disabled {{ color: {theme.TEXT_DIM}; }}"
            f"QToolButton:focus {{ border: 1px solid {theme.ACCENT}; }}"
        )
        # Weakly: the runner outlives panels (the wall makes and drops its own).
        ref = weakref.ref(self)
        ctx.runner.on_problem(lambda problem: _tell(ref(), problem))

    def update(
        self,
        no_target: str | None,
        labels: dict[str, str] | None = None,
        hidden: Collection[str] = (),
    ) -> None:
        """Enable what can run; `no_target` says why nothing can (e.g. nothing selected);
        `hidden` are commands the selected target has no notion of (their button goes)."""
        for cid, action in self.actions.items():
            visible = cid not in hidden
            if action.isVisible() != visible:
                action.setVisible(visible)  # its tool button and menu entry follow
            if labels and cid in labels and action.text() != labels[cid]:
                action.setText(labels[cid])
                action.setIconText(labels[cid])
            available = cid in self.registry and self.registry.get(cid).is_enabled()
            if not available:
                enabled, tip = False, NOT_AVAILABLE
            elif no_target is not None:
                enabled, tip = False, no_target
            else:
                enabled, tip = True, self.hints[cid]
            if action.isEnabled() != enabled:
                action.setEnabled(enabled)
            if action.toolTip() != tip:
                action.setToolTip(tip)

    def menu(self, parent: QWidget) -> QMenu:
        menu = QMenu(parent)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.setToolTipsVisible(True)  # the reason a disabled entry is disabled
        for action in self.actions.values():
            if action.isVisible():  # not what the selected target has no notion of
                menu.addAction(action)
        return menu

    def run(self, cid: str, **kwargs: Any) -> Any:
        """Run a command through the one runner; a refusal or error shows in the notice."""
        self.notice.clear()
        return self.ctx.runner.run(cid, source=self.source, **kwargs)


def _tell(bar: CommandButtons | None, problem: Problem) -> None:
    if bar is not None and problem.source == bar.source and isValid(bar.notice):
        bar.notice.setText(problem.words)

"""Key help (`?`, F1): every binding, generated from the command registry and the key map."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QRect, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from opsconsole.core.commands import CommandRegistry, DangerTier
from opsconsole.ui import theme
from opsconsole.ui.overlay import Overlay, claim_shortcut_override

#: Group titles by the first word of a command id, in the order shown.
GROUPS: dict[str, str] = {
    "keys": "Keyboard",
    "app": "Application",
    "view": "View",
    "layout": "Layout",
    "panel": "Panels",
    "db": "Database clusters",
    "breaker": "Circuit breakers",
    "alert": "Alerts",
    "demo": "Demo",
}
TIERS = {
    DangerTier.SAFE: "runs at once",
    DangerTier.CONFIRM: "confirm with Enter",
    DangerTier.DANGEROUS: "type the target's name",
}
#: Keys that are not commands but work everywhere; shown so the page is the whole story.
FIXED_KEYS: tuple[tuple[str, str], ...] = (
    ("/", "Filter the focused list; Enter goes back to the rows left"),
    ("Esc", "Go back one step, close a popup, clear a filter"),
    ("Up  Down  Enter", "Move and choose in every list"),
    ("i", "Investigate the selected row's service (Services, Alerts, Error budgets)"),
    ("Tab", "Complete a name in the command line; again for the next"),
    ("Ctrl+K  then type", "Any command below, even one without a key"),
)


@dataclass(frozen=True)
class HelpRow:
    group: str
    keys: str  # "" when the command has no key (reach it from the palette or `:`)
    title: str
    tier: str
    command_id: str


def help_rows(registry: CommandRegistry, keys_for: Callable[[str], Sequence[str]]) -> list[HelpRow]:
    """Every command with its keys, grouped; then the fixed keys of the keyboard layer."""
    rows: list[HelpRow] = []
    order = list(GROUPS)
    commands = sorted(
        registry,
        key=lambda c: (
            order.index(c.id.split(".", 1)[0]) if c.id.split(".", 1)[0] in order else len(order),
            c.id.split(".", 1)[0],
            not keys_for(c.id),
            # Keys in their own order (Alt+1 … Alt+9), then the unbound by id.
            [(len(k), k) for k in keys_for(c.id)],
            c.id,
        ),
    )
    for command in commands:
        prefix = command.id.split(".", 1)[0]
        rows.append(
            HelpRow(
                GROUPS.get(prefix, prefix.capitalize()),
                "  ".join(keys_for(command.id)),
                command.title,
                TIERS[command.tier],
                command.id,
            )
        )
    rows.extend(HelpRow("Everywhere", keys, what, "", "") for keys, what in FIXED_KEYS)
    return rows


class _Tree(QTreeWidget):
    def __init__(self, owner: KeyHelp) -> None:
        super().__init__(owner)
        self._owner = owner

    def event(self, event: QEvent) -> bool:
        if claim_shortcut_override(event):
            return True
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Escape
        ):
            self._owner.close_overlay()
            return True
        return super().event(event)


class KeyHelp(Overlay):
    """Every binding, grouped, with titles and confirmation tiers; Esc (or `?`, F1) closes."""

    def __init__(
        self,
        registry: CommandRegistry,
        host: QWidget,
        keys_for: Callable[[str], Sequence[str]] = lambda _cid: (),
        problems: Sequence[str] = (),
    ) -> None:
        super().__init__(host, "key_help")
        self.registry = registry
        self.keys_for = keys_for
        self.problems = list(problems)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        title = QLabel("<b>Keys</b> — Esc closes")
        layout.addWidget(title)
        self.tree = _Tree(self)
        self.tree.setObjectName("key_help_tree")
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["Key", "Command", "Confirmation", "Id"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.tree)
        self.problem_label = QLabel("")
        self.problem_label.setObjectName("key_help_problems")
        self.problem_label.setWordWrap(True)
        layout.addWidget(self.problem_label)
        self.rows: list[HelpRow] = []

    def placement(self, area: QRect) -> QRect:
        width = min(980, max(360, area.width() - 80))
        height = max(240, area.height() - 60)
        return QRect(area.left() + (area.width() - width) // 2, area.top() + 30, width, height)

    def focus_target(self) -> QWidget:
        return self.tree

    def toggle(self) -> None:
        if self.isVisible():
            self.close_overlay()
        else:
            self.open_help()

    def open_help(self) -> None:
        """Rebuilt at every opening: commands registered since (and remaps) always show."""
        self.rows = help_rows(self.registry, self.keys_for)
        self.tree.clear()
        bold = QFont()
        bold.setBold(True)
        group = None
        dim = QBrush(QColor(theme.TEXT_DIM))
        accent = QBrush(QColor(theme.ACCENT))
        for row in self.rows:
            if row.group != group:
                group = row.group
                heading = QTreeWidgetItem([group, "", "", ""])
                heading.setFont(0, bold)
                heading.setFlags(Qt.ItemFlag.ItemIsEnabled)
                heading.setFirstColumnSpanned(True)
                self.tree.addTopLevelItem(heading)
            item = QTreeWidgetItem([row.keys or "—", row.title, row.tier, row.command_id])
            item.setForeground(0, accent if row.keys else dim)
            item.setForeground(2, dim)
            item.setForeground(3, dim)
            if not row.keys and row.command_id:
                item.setToolTip(0, "no key: Ctrl+K and type its name")
            self.tree.addTopLevelItem(item)
        if self.problems:
            warn = theme.STATE_COLOURS[theme.Health.WARNING]
            self.problem_label.setStyleSheet(f"color: {warn};")
            self.problem_label.setText("Key map problems:\n" + "\n".join(self.problems))
        else:
            self.problem_label.setText("")
        self.open_overlay()
        if self.tree.topLevelItemCount() > 1:
            self.tree.setCurrentItem(self.tree.topLevelItem(1))

    def text(self) -> str:
        """Everything shown, as plain text (tests, and pasting into a ticket)."""
        return "\n".join(
            f"{r.group}\t{r.keys or '—'}\t{r.title}\t{r.tier}\t{r.command_id}" for r in self.rows
        )

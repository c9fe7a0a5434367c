"""The deploy assessment card: every input, the recommendation, and the rollback one key away."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from opsconsole.core.decisionmarkdown import assessment_markdown, input_rows
from opsconsole.core.deploydecision import DeployDecision
from opsconsole.core.slo.assess import Recommendation
from opsconsole.core.slo.figure import percent_text
from opsconsole.ui.theme import STATE_COLOURS, Health

#: The recommendation's colour on the card.
RECOMMENDATION_HEALTH = {
    Recommendation.ROLLBACK: Health.CRITICAL,
    Recommendation.ENHANCED_MONITORING: Health.WARNING,
    Recommendation.KEEP_WITH_CONDITIONS: Health.HEALTHY,
}
ROLLBACK_KEY = "R"


class AssessmentCard(QDialog):
    """A non-modal card for one deploy decision; the console keeps running behind it.

    `rollback` runs `deploy.rollback` for the card's service through the command runner (the
    pipeline still asks for confirmation); it is offered only on a ROLLBACK card.
    """

    def __init__(
        self,
        decision: DeployDecision,
        rollback: Callable[[str, str], object],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.decision = decision
        a = decision.assessment
        d, slo = a.deploy, a.obs.slo
        self.setModal(False)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle(f"Assess {d.service} {d.version}")
        self.markdown = assessment_markdown(a)
        layout = QVBoxLayout(self)

        colour = STATE_COLOURS[RECOMMENDATION_HEALTH[a.recommendation]]
        self.headline = QLabel(f"{d.service} {d.version}: {a.recommendation.value}")
        self.headline.setStyleSheet(f"color: {colour}; font-size: 15pt; font-weight: bold;")
        layout.addWidget(self.headline)
        was = f", replacing {d.prev_version}" if d.prev_version else ""
        slo_line = (
            f"SLO {percent_text(slo.objective, 3)} over a {slo.window.words} window · "
            f"deploy {d.id}{was} · on {decision.backend}"
        )
        layout.addWidget(QLabel(slo_line))

        grid = QGridLayout()
        self.values: dict[str, QLabel] = {}
        for row, (name, figure) in enumerate(input_rows(a)):
            grid.addWidget(QLabel(name), row, 0)
            value = QLabel(figure.text)
            value.setToolTip(figure.explanation)
            value.setStyleSheet("font-weight: bold;")
            grid.addWidget(value, row, 1)
            how = QLabel(f"{figure.formula}: {figure.inputs}")
            how.setWordWrap(True)
            how.setStyleSheet("color: gray;")
            grid.addWidget(how, row, 2)
            self.values[name] = value
        counted = QLabel(
            f"Counts since the deploy: {decision.since_how}; before it: {decision.before_how}."
        )
        counted.setWordWrap(True)
        counted.setStyleSheet("color: gray;")
        grid.addWidget(counted, len(self.values), 0, 1, 3)
        layout.addLayout(grid)

        self.reason = QLabel(f"Why: {a.reason}")
        self.reason.setWordWrap(True)
        layout.addWidget(self.reason)
        self.steps = QLabel(
            "Next steps:\n" + "\n".join(f"{i}. {s}" for i, s in enumerate(a.next_steps, 1))
        )
        self.steps.setWordWrap(True)
        layout.addWidget(self.steps)
        self.summary = QLabel("\n".join(a.summary()))
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setStyleSheet("border: 1px solid gray; padding: 6px;")
        layout.addWidget(QLabel("For leadership:"))
        layout.addWidget(self.summary)

        buttons = QDialogButtonBox()
        self.copy_button = QPushButton("Copy as Markdown")
        self.copy_button.clicked.connect(self.copy_markdown)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.rollback_button: QPushButton | None = None
        if a.recommendation is Recommendation.ROLLBACK:
            self.rollback_button = QPushButton(f"&Roll back {d.service}…  ({ROLLBACK_KEY})")
            self.rollback_button.setToolTip(f":rollback {d.service} — still confirmed")
            self.rollback_button.clicked.connect(lambda: rollback(decision.backend, d.service))
            buttons.addButton(self.rollback_button, QDialogButtonBox.ButtonRole.ActionRole)
            shortcut = QShortcut(QKeySequence(ROLLBACK_KEY), self)
            shortcut.activated.connect(self.rollback_button.click)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.close)
        layout.addWidget(buttons)

    def copy_markdown(self) -> None:
        """The card as Markdown on the clipboard, for a chat channel."""
        QGuiApplication.clipboard().setText(self.markdown)
        self.copy_button.setText("Copied")

"""The status bar's badge for the open incident: "⚑ SEV2 · checkout errors · 12 min"."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, QTimer
from PySide6.QtWidgets import QWidget
from shiboken6 import isValid

from opsconsole.core.health import Health
from opsconsole.core.incident import Incident, IncidentStore, Severity, status_words
from opsconsole.ui import theme
from opsconsole.ui.elided import ElidedLabel

FLAG = "⚑"
#: Each severity's colour: the two worst in the critical red and the threshold orange, so
#: a SEV1 on the wall reads as loudly as a critical tile.
SEVERITY_COLOURS: dict[Severity, str] = {
    Severity.SEV1: theme.STATE_COLOURS[Health.CRITICAL],
    Severity.SEV2: theme.THRESHOLD,
    Severity.SEV3: theme.STATE_COLOURS[Health.WARNING],
    Severity.SEV4: theme.ACCENT,
}
MAX_WIDTH_PX = 420  # a long title is elided; the backends' links keep their room
MIN_WIDTH_PX = 220


def incident_words(incident: Incident | None, now: float) -> str:
    """The badge's words for an open incident, "" for none (a closed one is not shown)."""
    if incident is None or not incident.is_open:
        return ""
    return f"{FLAG} {status_words(incident, now)}"


class IncidentBadge(ElidedLabel):
    """Shows the open incident, refreshed on every change and as its age passes a minute;
    hidden while none is open. `incident` is the cached open incident the wall reads too."""

    def __init__(
        self, incidents: IncidentStore, now: Callable[[], float], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("incident_badge")
        self.setMaximumWidth(MAX_WIDTH_PX)
        self.setContentsMargins(6, 0, 12, 0)  # apart from the links on its right
        font = self.font()
        font.setBold(True)  # a font, not a style sheet: the size hint measures it
        self.setFont(font)
        self._incidents = incidents
        self._now = now
        self.incident: Incident | None = None
        self._colour = ""
        # Single-shot, set to the next whole minute of the incident's age.
        self._minute = QTimer(self, singleShot=True, timeout=self.refresh)
        incidents.changed.connect(self._on_change)
        self._changed(incidents.current())

    def minimumSizeHint(self) -> QSize:
        # Squeezed by the links beside it, it still keeps its severity and some of its title.
        hint = super().minimumSizeHint()
        return QSize(min(self.sizeHint().width(), MIN_WIDTH_PX), hint.height())

    def detach(self) -> None:
        """Stop listening to the store (the console is closing; the window may be gone)."""
        self._incidents.changed.disconnect(self._on_change)
        if isValid(self):
            self._minute.stop()

    def _on_change(self, incident: Incident | None) -> None:
        if isValid(self):  # the store outlives a closed window
            self._changed(incident)

    def _changed(self, incident: Incident | None) -> None:
        if incident is not None and incident.is_open:
            self.incident = incident
        elif incident is None or self.incident is None or incident.id == self.incident.id:
            self.incident = None  # closed (or none at start); another's change is not ours
        self.refresh()

    def refresh(self) -> None:
        incident = self.incident
        now = self._now()
        words = incident_words(incident, now)
        if words != self.full_text:
            self.set_full_text(words)
            self.setToolTip(_tooltip(incident) if incident is not None else "")
        if incident is None:
            self._minute.stop()
            self.setVisible(False)
            return
        colour = SEVERITY_COLOURS[incident.severity]
        if colour != self._colour:  # a style sheet is costly: only on a change
            self._colour = colour
            self.setStyleSheet(f"color: {colour};")
        self.setVisible(True)
        age = max(0.0, now - incident.start_ts)
        self._minute.start(int((60.0 - age % 60.0) * 1000) + 50)


def _tooltip(incident: Incident) -> str:
    return (
        f"Incident {incident.id}, {incident.severity.value} ({incident.severity.words}): "
        f"{incident.title}\n:incident note TEXT · :incident star · :incident close"
    )

"""What every panel gets: the store, the shared selection, the console's own counters."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

from opsconsole.core.commands import CommandRegistry
from opsconsole.core.runner import CommandRunner
from opsconsole.core.store import Store


class Selection(QObject):
    """The (backend, service) the charts show: one the operator picked, or, until they pick
    one, the worst service, followed as it changes."""

    changed = Signal(str, str)  # backend, service
    picked_changed = Signal(bool)  # True: the operator's pick; False: following the worst

    def __init__(self) -> None:
        super().__init__()
        self.backend: str | None = None
        self.service: str | None = None
        self.picked = False

    def select(self, backend: str, service: str, picked: bool = True) -> None:
        """Show this service. An operator's choice (click, Enter, a command, an alert) is a
        pick: the charts stay on it until `follow_worst()`. `picked=False` shows it without
        ending the following (e.g. the wall showing the worst service)."""
        self._set_picked(picked)
        self._move(backend, service)

    def follow(self, backend: str, service: str) -> bool:
        """The worst service, chosen automatically: taken only while nobody picked one."""
        if self.picked:
            return False
        self._move(backend, service)
        return True

    def follow_worst(self) -> None:
        """Back to following the worst service (whoever follows it moves the charts)."""
        self._set_picked(False)

    def _move(self, backend: str, service: str) -> None:
        if (backend, service) != (self.backend, self.service):
            self.backend, self.service = backend, service
            self.changed.emit(backend, service)

    def _set_picked(self, picked: bool) -> None:
        if picked != self.picked:
            self.picked = picked
            self.picked_changed.emit(picked)


class ConsoleStats:
    """The console's own golden signals, written by the scheduler and the loop-lag probe."""

    def __init__(self) -> None:
        self.frames_painted = 0  # chart paint events that drew something
        self.repaints = 0  # scheduler ticks that refreshed at least one panel
        self.last_frame_ms = 0.0  # time of the last scheduler refresh
        self.frame_ms_history: list[float] = []
        self.loop_lag_ms = 0.0
        self._first_data_painted_at: float | None = None
        self._listeners: list[Callable[[], None]] = []

    @property
    def first_data_painted_at(self) -> float | None:
        """Monotonic time at which live data first reached the screen, or None."""
        return self._first_data_painted_at

    @first_data_painted_at.setter
    def first_data_painted_at(self, value: float | None) -> None:
        first = self._first_data_painted_at is None and value is not None
        self._first_data_painted_at = value
        if first:
            for listener in self._listeners:
                listener()

    def on_first_data(self, listener: Callable[[], None]) -> None:
        """Call `listener` once live data is first painted (at once if it already was)."""
        if self._first_data_painted_at is not None:
            listener()
        else:
            self._listeners.append(listener)


@dataclass
class UiContext:
    store: Store
    selection: Selection
    commands: CommandRegistry = field(default_factory=CommandRegistry)
    stats: ConsoleStats = field(default_factory=ConsoleStats)
    demo: bool = False
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time
    # The one way every entry point runs a command (see core/runner.py).
    runner: CommandRunner = field(init=False)

    def __post_init__(self) -> None:
        self.runner = CommandRunner(self.commands, schedule=asyncio.ensure_future)

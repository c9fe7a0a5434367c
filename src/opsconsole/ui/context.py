"""What every panel gets: the store, the shared selection, the console's own counters."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

from opsconsole.core.store import Store


class Selection(QObject):
    """The (backend, service) the operator is looking at; charts follow it."""

    changed = Signal(str, str)  # backend, service

    def __init__(self) -> None:
        super().__init__()
        self.backend: str | None = None
        self.service: str | None = None

    def select(self, backend: str, service: str) -> None:
        if (backend, service) != (self.backend, self.service):
            self.backend, self.service = backend, service
            self.changed.emit(backend, service)


@dataclass
class ConsoleStats:
    """The console's own golden signals, written by the scheduler and the loop-lag probe."""

    frames_painted: int = 0  # chart paint events that drew something
    repaints: int = 0  # scheduler ticks that refreshed at least one panel
    last_frame_ms: float = 0.0  # time of the last scheduler refresh + synchronous paint
    frame_ms_history: list[float] = field(default_factory=list)
    loop_lag_ms: float = 0.0
    first_data_painted_at: float | None = None  # monotonic time live data first hit the screen


@dataclass
class UiContext:
    store: Store
    selection: Selection
    stats: ConsoleStats = field(default_factory=ConsoleStats)
    demo: bool = False
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time

"""UI test fixtures: one qasync loop for the QApplication, and real backends in threads."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
import qasync

from opsconsole.sim.embedded import EmbeddedSim, start_in_thread
from opsconsole.sim.server import SimConfig

T = TypeVar("T")
UI_SIM = {"tick_s": 0.1, "heartbeat_s": 0.5}


class LoopRunner:
    """Runs coroutines on the qasync loop; Qt events (paints, timers) are processed meanwhile."""

    def __init__(self, loop: qasync.QEventLoop) -> None:
        self.loop = loop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return self.loop.run_until_complete(asyncio.wait_for(coro, timeout))


@pytest.fixture
def qloop(qapp) -> Iterator[LoopRunner]:
    """pytest-qt does not drive asyncio: this installs qasync's loop for the QApplication."""
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    runner = LoopRunner(loop)
    yield runner
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    asyncio.set_event_loop(None)
    loop.close()
    # qasync's closed loop and its timer QObject form a reference cycle that still holds Qt
    # timers; freed later by the collector on a backend's thread, Qt would fire a timer at a
    # deleted object (a segfault). Collect it here, on the Qt thread.
    gc.collect()


@pytest.fixture
def sim_thread() -> Iterator[Callable[..., EmbeddedSim]]:
    """Start reference backends in their own threads: `sim_thread(port=0, **SimConfig)`."""
    started: list[EmbeddedSim] = []

    def start(port: int = 0, **config: Any) -> EmbeddedSim:
        sim = start_in_thread(SimConfig(**{**UI_SIM, **config}), port=port)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()

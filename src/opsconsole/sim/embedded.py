"""Run a SimServer on its own thread and event loop (behind `opsconsole --demo`)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from concurrent.futures import Future

from opsconsole.sim.server import SimConfig, SimServer


class EmbeddedSim:
    """A SimServer living on a daemon thread; `stop()` is blocking, joins it, idempotent."""

    def __init__(
        self, config: SimConfig, host: str, port: int, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.config = config
        self._ssl = ssl_context
        self._host = host
        self._port = port
        self._started: Future[str] = Future()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._lock = threading.Lock()
        self._stop_requested = False
        self.server: SimServer | None = None
        self._thread = threading.Thread(target=self._run, name="opsconsole-sim", daemon=True)

    @property
    def url(self) -> str:
        return self._started.result(timeout=0)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        # A plain asyncio loop whatever policy the host process installed: under the console,
        # qasync's policy would otherwise hand this thread a Qt loop, which only the main
        # thread may run.
        factory = asyncio.DefaultEventLoopPolicy().new_event_loop
        try:
            with asyncio.Runner(loop_factory=factory) as runner:
                runner.run(self._main())
        except BaseException as exc:  # surfaced to start_in_thread, never lost
            if not self._started.done():
                self._started.set_exception(exc)

    async def _main(self) -> None:
        stop_event = asyncio.Event()
        with self._lock:  # a stop() that came before the loop existed is not lost
            self._loop, self._stop_event = asyncio.get_running_loop(), stop_event
            if self._stop_requested:
                stop_event.set()
        self.server = SimServer(self.config)
        try:
            url = await self.server.start(self._host, self._port, self._ssl)
            self._started.set_result(url)
            await stop_event.wait()
        finally:
            await self.server.stop()

    def start(self, timeout: float) -> None:
        self._thread.start()
        try:
            self._started.result(timeout=timeout)
        except TimeoutError:
            self.stop()
            raise TimeoutError(f"embedded sim did not start within {timeout} s") from None

    def stop(self, timeout: float = 10.0) -> None:
        with self._lock:
            self._stop_requested = True
            loop, event = self._loop, self._stop_event
            if loop is not None and event is not None:
                # RuntimeError: the loop already closed, the thread is ending anyway.
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(event.set)
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def __enter__(self) -> EmbeddedSim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_in_thread(
    config: SimConfig = SimConfig(),  # noqa: B008 - frozen dataclass
    host: str = "127.0.0.1",
    port: int = 0,
    timeout: float = 10.0,
    ssl_context: ssl.SSLContext | None = None,
) -> EmbeddedSim:
    """Start a SimServer on a new thread; returns once it listens (its `.url` is ready)."""
    sim = EmbeddedSim(config, host, port, ssl_context)
    sim.start(timeout)
    return sim

"""An asyncio TCP proxy on 127.0.0.1 that injects link faults between console and backend."""

from __future__ import annotations

import asyncio
import contextlib
import enum


class Mode(enum.Enum):
    PASS = "pass"
    SILENT = "silent"  # hold the sockets open and forward nothing (a hung peer)


class FaultProxy:
    """Forwards bytes to `upstream`; tests flip faults on and off while links are open.

    `silence_existing()` freezes the links already open while new ones still pass, which is
    exactly a half-dead connection behind a NAT or a hung process: no FIN, no RST, no bytes.
    """

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._links: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter, dict]] = []
        self.chunk: int | None = None  # forward in slices of this many bytes (tiny segments)
        self.new_links_silent = False  # accept new links and forward nothing (a hung peer)
        self.delay_s = 0.0  # hold every chunk this long before forwarding it (latency)
        self.rate_bps: float | None = None  # forward at most this many bytes a second (trickle)
        self.cut_after: int | None = None  # abort a link after this many bytes downstream
        self.duplicate_next = False  # send the next downstream chunk twice (corrupt framing)
        self.answer: bytes | None = None  # answer new links with these bytes and close (503…)
        self._late: list[_LatePipe] = []
        self.port = 0

    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self.reset_all()
            await self._server.wait_closed()
            self._server = None

    def silence_existing(self) -> None:
        for _, _, state in self._links:
            state["mode"] = Mode.SILENT

    def reset_all(self) -> None:
        """Abort every open link (RST), as a crashed middlebox would."""
        for late in self._late:
            late.cancel()
        self._late.clear()
        for a, b, _ in self._links:
            for w in (a, b):
                with contextlib.suppress(Exception):
                    w.transport.abort()
        self._links.clear()

    async def close_port(self) -> None:
        """Stop listening (connections are refused) and drop every link, keeping the port."""
        if self._server is not None:
            self._server.close()
            self.reset_all()
            await self._server.wait_closed()
            self._server = None

    async def reopen_port(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.answer is not None:
            with contextlib.suppress(Exception):
                await reader.read(65536)  # the request, unread
                writer.write(self.answer)
                await writer.drain()
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        state = {"mode": Mode.SILENT if self.new_links_silent else Mode.PASS}
        self._links.append((writer, up_writer, state))
        await asyncio.gather(
            self._pipe(reader, up_writer, state),
            self._pipe(up_reader, writer, state, downstream=True),
            return_exceptions=True,
        )
        for w in (writer, up_writer):
            with contextlib.suppress(Exception):
                w.close()

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        state: dict,
        downstream: bool = False,
    ) -> None:
        sent = 0
        while True:
            data = await reader.read(65536)
            if not data:
                with contextlib.suppress(Exception):
                    writer.write_eof()
                return
            if state["mode"] is Mode.SILENT:
                continue  # swallow: the peer hears nothing, and nothing is closed
            if downstream and self.cut_after is not None and sent + len(data) > self.cut_after:
                writer.write(data[: max(0, self.cut_after - sent)])
                await writer.drain()
                writer.transport.abort()  # the frame in flight is cut mid-way
                return
            sent += len(data)
            if downstream and self.duplicate_next:
                self.duplicate_next = False
                data = data + data
            if self.rate_bps:
                for i in range(0, len(data), 256):
                    writer.write(data[i : i + 256])
                    await writer.drain()
                    await asyncio.sleep(256 / self.rate_bps)
                continue
            late_key = ("late", id(writer))
            if self.delay_s > 0 or late_key in state:
                # Latency, not a stall: bytes arrive in order, each `delay_s` after it was sent
                # (and once delayed, a link keeps its queue, so nothing overtakes it).
                due = asyncio.get_running_loop().time() + self.delay_s
                late = state.get(late_key)
                if late is None:
                    late = state[late_key] = _LatePipe(writer)
                    self._late.append(late)
                late.push(due, data, self.chunk)
                continue
            step = self.chunk or len(data)
            for i in range(0, len(data), step):
                writer.write(data[i : i + step])
                await writer.drain()


class _LatePipe:
    """Forwards chunks to `writer` at their due times, in order (one task per direction)."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._queue: asyncio.Queue[tuple[float, bytes, int | None]] = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run())

    def cancel(self) -> None:
        self._task.cancel()

    def push(self, due: float, data: bytes, chunk: int | None) -> None:
        self._queue.put_nowait((due, data, chunk))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(Exception):
            while True:
                due, data, chunk = await self._queue.get()
                await asyncio.sleep(max(0.0, due - loop.time()))
                step = chunk or len(data)
                for i in range(0, len(data), step):
                    self._writer.write(data[i : i + step])
                    await self._writer.drain()

"""Incremental parser for text/event-stream (the WHATWG Server-Sent Events format)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SseEvent:
    data: str
    event: str = "message"
    id: str | None = None


@dataclass
class SseParser:
    """Feed bytes as they arrive; complete events come out. Pure, no I/O."""

    max_event_bytes: int = 2 * 1024 * 1024
    last_event_id: str | None = None
    _buffer: bytes = b""
    _data: list[str] = field(default_factory=list)
    _event: str = ""
    _id: str | None = None
    _size: int = 0
    oversize: int = 0  # events dropped for exceeding max_event_bytes

    def feed(self, chunk: bytes) -> list[SseEvent]:
        self._buffer += chunk
        out: list[SseEvent] = []
        while True:
            cut = _line_end(self._buffer)
            if cut is None:
                if len(self._buffer) > self.max_event_bytes:
                    # A line that never ends: drop it rather than grow without bound.
                    self._buffer = b""
                    self._reset(oversize=True)
                return out
            end, skip = cut
            line = self._buffer[:end].decode("utf-8", errors="replace")
            self._buffer = self._buffer[end + skip :]
            event = self._line(line)
            if event is not None:
                out.append(event)

    def _reset(self, oversize: bool = False) -> None:
        if oversize:
            self.oversize += 1
        self._data, self._event, self._id, self._size = [], "", None, 0

    def _line(self, line: str) -> SseEvent | None:
        if line == "":
            if self._size > self.max_event_bytes:
                self._reset(oversize=True)
                return None
            if not self._data:
                self._reset()
                return None
            event = SseEvent("\n".join(self._data), self._event or "message", self._id)
            if self._id is not None:
                self.last_event_id = self._id
            self._reset()
            return event
        if line.startswith(":"):
            return None  # comment / keep-alive
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._size += len(value)
            if self._size <= self.max_event_bytes:
                self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        return None


def _line_end(buf: bytes) -> tuple[int, int] | None:
    """Position and width of the first line terminator (CRLF, LF or CR)."""
    lf, cr = buf.find(b"\n"), buf.find(b"\r")
    if cr == -1 and lf == -1:
        return None
    if cr == -1 or (lf != -1 and lf < cr):
        return lf, 1
    if cr + 1 < len(buf):
        return cr, 2 if buf[cr + 1 : cr + 2] == b"\n" else 1
    return None  # a lone CR at the end may be half of a CRLF: wait for more

"""What a stream transport may use of the link supervisor: the `StreamLink` protocol."""

from __future__ import annotations

from typing import Protocol, TypeVar

import httpx

from opsconsole.backends.opsapi.timings import LinkTimings
from opsconsole.backends.session import Feed, StreamSession

T = TypeVar("T")

# Handshake answers that mean "this transport is not offered here" rather than "try later".
REFUSAL_STATUSES = frozenset({200, 400, 404, 405, 406, 415, 426, 501})


class StreamLink(Protocol):
    """The supervisor as a transport sees it: it reports a link opened and each frame, hands
    over what the session made of a frame, and lends its HTTP client and REST reads.

    A transport only calls the session's methods; it never writes the session's fields.
    """

    name: str
    timings: LinkTimings
    session: StreamSession
    http: httpx.AsyncClient

    def opened(self) -> tuple[str, int] | None:
        """A link is open; returns the (epoch, seq) to resume from, if any."""
        ...

    def frame_arrived(self) -> None:
        """Something arrived: the link's pulse."""
        ...

    def handle(self, feed: Feed) -> None:
        """Apply what a frame meant; raises to replace the link when frames were lost."""
        ...

    def arrival_time(self) -> float:
        """Now, on the local wall clock: when the frame being fed arrived."""
        ...

    async def read(
        self,
        path: str,
        kind: type[T],
        *,
        params: dict[str, str] | None = None,
        auth: bool = True,
        allow_partial: bool = False,
    ) -> T:
        """GET `path` and decode its body as `kind`."""
        ...

"""The WebSocket transport of the Ops API stream (the preferred one)."""

from __future__ import annotations

import ssl

from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus, InvalidUpgrade

from opsconsole.backends.bearer import BearerAuth
from opsconsole.backends.errors import ApiError, AuthFailed, TransportRefused
from opsconsole.backends.opsapi.rest import AUTH_STATUSES, auth_words
from opsconsole.backends.opsapi.streamlink import REFUSAL_STATUSES, StreamLink
from opsconsole.core.protocol import MAX_FRAME_BYTES, SubscribeOp, encode


class WebSocketStream:
    """Streams frames over `GET /api/v1/stream` upgraded to a WebSocket, until it ends."""

    def __init__(
        self, link: StreamLink, url: str, auth: BearerAuth, tls: ssl.SSLContext | None
    ) -> None:
        self._link = link
        self._url = url
        self._auth = auth  # the handshake is not an httpx request: the header is added here
        self._tls = tls

    async def run(self) -> None:
        link, t = self._link, self._link.timings
        try:
            ws = await ws_connect(
                self._url,
                additional_headers=self._auth.headers(),
                open_timeout=t.open_timeout_s,
                ping_interval=t.ping_interval_s,
                ping_timeout=t.ping_timeout_s,
                close_timeout=1.0,
                # Larger than the contract's limit so an oversize frame is counted and dropped
                # by the decoder instead of killing the link.
                max_size=8 * MAX_FRAME_BYTES,
                max_queue=64,
                proxy=None,
                compression=None,
                ssl=self._tls,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in AUTH_STATUSES:
                raise AuthFailed(auth_words(status)) from None
            if status in REFUSAL_STATUSES:
                raise TransportRefused(f"WebSocket upgrade answered HTTP {status}") from None
            raise ApiError(status, f"http_{status}", "") from None
        except InvalidUpgrade as exc:
            # An answer without a proper upgrade: something in the way does not speak
            # WebSocket. Any other failed handshake (a connection reset or closed while a
            # backend restarts) is a failed attempt, retried, never a refusal: falling back
            # for it left consoles on SSE after every restart.
            raise TransportRefused(f"WebSocket upgrade refused: {exc}") from None
        async with ws:
            resume = link.opened()
            first = True
            async for message in ws:
                link.frame_arrived()
                feed = link.session.feed(message, at=link.arrival_time())
                if first and feed.hello is not None:
                    first = False
                    await ws.send(encode(_subscribe(resume)).decode())
                link.handle(feed)


def _subscribe(resume: tuple[str, int] | None) -> SubscribeOp:
    if resume is None:
        return SubscribeOp()
    return SubscribeOp(epoch=resume[0], since_seq=resume[1])

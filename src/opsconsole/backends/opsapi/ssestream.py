"""The Server-Sent Events transport of the Ops API stream (the first fallback)."""

from __future__ import annotations

import httpx

from opsconsole.backends.errors import ApiError, AuthFailed, TransportRefused
from opsconsole.backends.opsapi.rest import AUTH_STATUSES, auth_words
from opsconsole.backends.opsapi.streamlink import REFUSAL_STATUSES, StreamLink
from opsconsole.backends.sse import SseParser

TOPICS = "metrics,circuits,db,alerts,events"


class SseStream:
    """Streams frames as the events of `GET /api/v1/stream?transport=sse`, until it ends."""

    def __init__(self, link: StreamLink) -> None:
        self._link = link

    async def run(self) -> None:
        link = self._link
        resume = link.opened()
        params: dict[str, str] = {"transport": "sse", "topics": TOPICS, "services": "*"}
        if resume is not None:
            params["epoch"], params["since_seq"] = resume[0], str(resume[1])
        timeout = httpx.Timeout(None, connect=link.timings.open_timeout_s)
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        async with link.http.stream(
            "GET", "/api/v1/stream", params=params, headers=headers, timeout=timeout
        ) as response:
            status = response.status_code
            if status in AUTH_STATUSES:
                raise AuthFailed(auth_words(status))
            ctype = response.headers.get("content-type", "")
            if (status != 200 and status in REFUSAL_STATUSES) or (
                status == 200 and not ctype.startswith("text/event-stream")
            ):
                raise TransportRefused(f"SSE answered HTTP {status} ({ctype or 'no type'})")
            if status != 200:
                raise ApiError.from_response(status, await response.aread())
            parser = SseParser()
            async for chunk in response.aiter_raw():
                for event in parser.feed(chunk):
                    link.frame_arrived()
                    link.handle(link.session.feed(event.data, at=link.arrival_time()))

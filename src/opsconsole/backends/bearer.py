"""Bearer-token authentication for httpx clients, as an `httpx.Auth` that never shows its token."""

from __future__ import annotations

from collections.abc import Generator

import httpx

from opsconsole.backends.secrets import Secret


class BearerAuth(httpx.Auth):
    """Adds `Authorization: Bearer …` to every request while a token is set.

    The token can be replaced at any time (new credentials); its value is revealed only into
    the header, never into `repr()`, `str()` or a log line.
    """

    def __init__(self, token: Secret | None = None) -> None:
        self.token = token

    def headers(self) -> dict[str, str]:
        """The header for a handshake that does not go through httpx (the WebSocket)."""
        if self.token is None:
            return {}
        return {"Authorization": f"Bearer {self.token.reveal()}"}

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(self.headers())
        yield request

    def __repr__(self) -> str:
        return f"BearerAuth({'token set' if self.token is not None else 'no token'})"

    __str__ = __repr__

"""Errors from backends, worded for the operator and free of tokens."""

from __future__ import annotations

from typing import Any

import msgspec

from opsconsole.backends.secrets import redact
from opsconsole.core.protocol import ErrorBody, ProtocolError, decode_body

_PLAIN = {
    400: "the backend refused the request as malformed",
    401: "the backend refused our credentials",
    403: "this token may not do that (read-only?)",
    404: "the backend does not know that name",
    409: "the request conflicts with another one",
    410: "the backend no longer holds that history",
    412: "the backend refused: a precondition failed",
    413: "the request was too large",
    500: "the backend failed internally",
    502: "a proxy could not reach the backend",
    503: "the backend is unavailable right now",
    504: "a proxy timed out waiting for the backend",
}


class BackendError(Exception):
    """Base for every error a backend adapter raises; `str()` is safe to show and log."""


class AuthFailed(BackendError):
    """401/403: retrying with the same credentials cannot help."""


class TransportRefused(BackendError):
    """The server (or a proxy) does not offer this stream transport."""


class LinkDead(BackendError):
    """The link stopped delivering frames (silent peer, ping timeout)."""


class ApiError(BackendError):
    """An HTTP error answer of the Ops API, with its code, message and details."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        self.status = status
        self.code = code
        self.message = redact(message)
        self.details = details or {}
        super().__init__(self.plain())

    def plain(self) -> str:
        text = self.message or _PLAIN.get(self.status, "the backend answered with an error")
        reasons = self.details.get("reasons")
        if isinstance(reasons, dict) and reasons:
            text += " — " + "; ".join(f"{k}: {v}" for k, v in reasons.items())
        return f"{text} (HTTP {self.status})"

    @classmethod
    def from_response(cls, status: int, body: bytes) -> ApiError:
        decoded = decode_body(body, ErrorBody) if body else None
        if isinstance(decoded, ErrorBody):
            e = decoded.error
            return cls(status, e.code, e.message, e.details)
        return cls(status, f"http_{status}", _PLAIN.get(status, ""), {})


class InvalidAnswer(BackendError):
    """A 2xx answer whose body does not match the contract."""

    def __init__(self, what: str, error: ProtocolError) -> None:
        super().__init__(f"{what}: the backend's answer is invalid ({error.reason})")
        self.error = error


def to_builtins(obj: Any) -> Any:
    return msgspec.to_builtins(obj)

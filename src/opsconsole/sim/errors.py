"""The contract's error codes and the exception the sim raises to answer with one (pure)."""

from __future__ import annotations

from typing import Any

from opsconsole.core.protocol import ErrorBody, ErrorDetail

STATUS_OF_CODE: dict[str, int] = {
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "gone": 410,
    "precondition_failed": 412,
    "too_large": 413,
    "internal": 500,
    "unavailable": 503,
}


class ApiError(Exception):
    """Raised anywhere below the HTTP layer; answered as `{"error": {...}}` with its status."""

    def __init__(
        self,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}
        self.status = status if status is not None else STATUS_OF_CODE[code]

    def body(self) -> ErrorBody:
        return ErrorBody(ErrorDetail(code=self.code, message=self.message, details=self.details))

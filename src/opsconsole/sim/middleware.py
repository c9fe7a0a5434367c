"""HTTP plumbing shared by every route: error shape, bearer auth, Idempotency-Key handling."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from aiohttp import web
from aiohttp.typedefs import Middleware

from opsconsole.core.protocol import encode
from opsconsole.sim.errors import ApiError
from opsconsole.sim.idempotency import ClaimKind, IdempotencyCache

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HEALTH_PATH = "/api/v1/health"
SIM_PREFIX = "/api/v1/sim/"
SHOP_PREFIX = "/shop/"  # the reference backend's public shop (sim/shop.py): no token, no key
ROLE_KEY = web.RequestKey("role", str)
MAX_KEY_LENGTH = 255
_canonical = msgspec.json.Encoder(order="sorted")


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=encode(body), status=status, content_type="application/json")


def error_response(err: ApiError) -> web.Response:
    response = json_response(err.body(), err.status)
    if err.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="opsconsole-sim"'
    return response


def _http_error(exc: web.HTTPException) -> ApiError:
    if exc.status == 413:
        return ApiError("too_large", "request body too large")
    if exc.status == 404:
        return ApiError("not_found", "no such route")
    if exc.status == 405:
        return ApiError("bad_request", "method not allowed on this route", status=405)
    code = {401: "unauthorized", 403: "forbidden", 503: "unavailable"}.get(exc.status)
    if code is None:
        code = "internal" if exc.status >= 500 else "bad_request"
    return ApiError(code, exc.reason or "request failed", status=exc.status)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: every failure leaves as {"error": {...}} with the contract's code."""
    try:
        return await handler(request)
    except ApiError as err:
        return error_response(err)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        err = _http_error(exc)
        if exc.status == 405:
            response = error_response(
                ApiError(
                    "bad_request",
                    f"method {request.method} not allowed on {request.path}",
                    status=405,
                )
            )
            if allow := exc.headers.get("Allow"):
                response.headers["Allow"] = allow
            return response
        if exc.status == 404:
            err = ApiError("not_found", f"no route {request.method} {request.path}")
        return error_response(err)
    except (asyncio.CancelledError, ConnectionError):
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(ApiError("internal", "internal error; see the server log"))


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def auth_middleware(token: str | None, readonly_token: str | None) -> Middleware:
    """Bearer auth on everything but health (the stream handshake included, before upgrade);
    the read-only token may read but gets 403 on mutating calls. No token configured: open."""
    enabled = token is not None or readonly_token is not None

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == HEALTH_PATH or request.path.startswith(SHOP_PREFIX):
            request[ROLE_KEY] = "anonymous"
            return await handler(request)
        if enabled:
            presented = _bearer(request)
            if presented is None:
                raise ApiError("unauthorized", "missing bearer token")
            if token is not None and _same(presented, token):
                request[ROLE_KEY] = "operator"
            elif readonly_token is not None and _same(presented, readonly_token):
                request[ROLE_KEY] = "readonly"
            else:
                raise ApiError("unauthorized", "invalid bearer token")
        else:
            request[ROLE_KEY] = "operator"
        if request[ROLE_KEY] == "readonly" and request.method not in ("GET", "HEAD"):
            raise ApiError("forbidden", "this token is read-only; it may not change anything")
        # Unknown routes answer 404 only to authenticated callers.
        if (exc := request.match_info.http_exception) is not None:
            raise exc
        return await handler(request)

    return middleware


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes
    content_type: str


def fingerprint(method: str, path: str, body: bytes) -> str:
    """Same intent ⇔ same method, path and JSON body (key order and spacing ignored)."""
    try:
        canonical = _canonical.encode(msgspec.json.decode(body)) if body.strip() else b""
    except msgspec.DecodeError:
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class Idempotency:
    """Every mutating contract request carries an Idempotency-Key (optional under /sim/). A
    repeated key gets the first answer again, status and body, without acting again; while the
    first is still being answered, duplicates wait for it. Same key, other request: 409."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.cache: IdempotencyCache[StoredResponse] = IdempotencyCache()
        self._clock = clock
        self._inflight: dict[str, asyncio.Event] = {}

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "POST":
            return await handler(request)
        key = request.headers.get("Idempotency-Key")
        if key is None or not key.strip():
            if request.path.startswith((SIM_PREFIX, SHOP_PREFIX)):
                return await handler(request)
            raise ApiError(
                "bad_request",
                "missing Idempotency-Key header: send a UUID made once per operator intent",
            )
        key = key.strip()
        if len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise ApiError(
                "bad_request", f"Idempotency-Key must be 1–{MAX_KEY_LENGTH} printable chars"
            )
        body = await request.read()
        print_ = fingerprint(request.method, request.path_qs, body)
        while True:
            claim = self.cache.claim(key, print_, self._clock())
            if claim.kind is ClaimKind.CONFLICT:
                raise ApiError("conflict", "Idempotency-Key already used for a different request")
            if claim.kind is ClaimKind.DONE:
                assert claim.response is not None
                stored = claim.response
                response = web.Response(
                    body=stored.body, status=stored.status, content_type=stored.content_type
                )
                response.headers["Idempotent-Replayed"] = "true"
                return response
            if claim.kind is ClaimKind.IN_FLIGHT:
                await self._inflight[key].wait()
                continue
            break
        done = self._inflight[key] = asyncio.Event()
        try:
            try:
                response = await handler(request)
            except ApiError as err:
                response = error_response(err)
            if not isinstance(response, web.Response) or response.status >= 500:
                self.cache.abandon(key)
                return response
            self.cache.complete(
                key,
                StoredResponse(response.status, bytes(response.body or b""), response.content_type),
            )
            return response
        except BaseException:
            self.cache.abandon(key)  # no answer was given: a retry with this key may act
            raise
        finally:
            del self._inflight[key]
            done.set()

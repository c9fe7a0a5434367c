"""The Ops API v1 REST client: typed reads, idempotent actions, and operator intents performed."""

from __future__ import annotations

import logging
import ssl
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from opsconsole.backends.bearer import BearerAuth
from opsconsole.backends.errors import ApiError, AuthFailed, BackendError, InvalidAnswer
from opsconsole.backends.secrets import Secret, redact
from opsconsole.backends.tls import client_context
from opsconsole.core.actions import Intent
from opsconsole.core.audit import os_user
from opsconsole.core.protocol import (
    ActionAccepted,
    AlertsBody,
    CircuitsBody,
    ClustersBody,
    HealthBody,
    HistoricalBody,
    ProtocolError,
    RealtimeBody,
    ScenarioRequest,
    ScenariosBody,
    ScenarioStarted,
    ServicesBody,
    decode_body,
    encode,
)
from opsconsole.core.slowire import BudgetBody, DeploysBody, SlosBody

log = logging.getLogger(__name__)
T = TypeVar("T")

AUTH_STATUSES = frozenset({401, 403})


def _plain_http_context() -> ssl.SSLContext:
    """The TLS context of a client for an http:// backend, which never speaks TLS.

    httpx would otherwise build its default context and load certifi's CA bundle (measured
    ~30 ms of every start with the demo backend). This one still requires a verified
    certificate but trusts no authority, so any TLS through it fails: never weaker.
    """
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class OpsApiRest:
    """The REST side of one backend speaking Ops API v1: each call is one HTTP request.

    `transport` replaces httpx's network transport (tests, proxies); the bearer token goes
    through `BearerAuth`, never into a hand-set header.
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        token: Secret | None = None,
        verify_tls: bool = True,
        connect_timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        parts = urlsplit(base_url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"backend URL must be http(s)://host[:port], got {base_url!r}")
        self.name = name
        self.base_url = urlunsplit(parts)
        self._verify = verify_tls
        self._tls = client_context(verify_tls) if parts.scheme == "https" else None
        self._auth = BearerAuth(token)
        self.http = httpx.AsyncClient(
            base_url=self.base_url,
            verify=self._tls or _plain_http_context(),
            timeout=httpx.Timeout(10.0, connect=connect_timeout_s),
            trust_env=False,
            headers={"User-Agent": "opsconsole/0.1"},
            auth=self._auth,
            transport=transport,
        )

    def set_token(self, token: Secret | None) -> None:
        """New credentials, used from the next request on."""
        self._auth.token = token

    async def aclose(self) -> None:
        await self.http.aclose()

    # ------------------------------------------------------------------ requests

    async def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        idempotency_key: str | None = None,
        auth: bool = True,
    ) -> httpx.Response:
        """One request; transport failures, auth refusals and 4xx/5xx raise in plain words."""
        headers: dict[str, str] = {}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        content = encode(json) if json is not None else None
        if content is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = await self.http.request(
                method,
                path,
                content=content,
                params=params,
                headers=headers,
                auth=httpx.USE_CLIENT_DEFAULT if auth else None,
            )
        except httpx.TimeoutException:
            raise BackendError(f"{self.name}: no answer from the backend in time") from None
        except httpx.HTTPError as exc:
            raise BackendError(
                f"{self.name}: cannot reach the backend ({describe_error(exc)})"
            ) from None
        if response.status_code in AUTH_STATUSES and (
            method == "GET" or response.status_code == 401
        ):
            raise AuthFailed(auth_words(response.status_code))
        if response.status_code >= 400:
            raise ApiError.from_response(response.status_code, response.content)
        return response

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
        response = await self.send("GET", path, params=params, auth=auth)
        if response.status_code == 206 and not allow_partial:
            log.info("%s: partial answer for %s", self.name, path)
        body = decode_body(response.content, kind)
        if isinstance(body, ProtocolError):
            raise InvalidAnswer(path, body)
        return body

    # ------------------------------------------------------------------ reads

    async def health(self) -> HealthBody:
        return await self.read("/api/v1/health", HealthBody, auth=False)

    async def services(self) -> ServicesBody:
        return await self.read("/api/v1/services", ServicesBody)

    async def realtime(self) -> tuple[RealtimeBody, bool]:
        """The current golden signals and whether they are partial (HTTP 206)."""
        response = await self.send("GET", "/api/v1/metrics/realtime")
        body = decode_body(response.content, RealtimeBody)
        if isinstance(body, ProtocolError):
            raise InvalidAnswer("metrics/realtime", body)
        return body, response.status_code == 206

    async def historical(
        self, service: str, metric: str, start: float, end: float, step: float
    ) -> HistoricalBody:
        params = {
            "service": service,
            "metric": metric,
            "start": repr(start),
            "end": repr(end),
            "step": repr(step),
        }
        return await self.read("/api/v1/metrics/historical", HistoricalBody, params=params)

    async def circuits(self) -> CircuitsBody:
        return await self.read("/api/v1/circuits", CircuitsBody)

    async def clusters(self) -> ClustersBody:
        return await self.read("/api/v1/db/clusters", ClustersBody)

    async def alerts(self) -> AlertsBody:
        return await self.read("/api/v1/alerts", AlertsBody)

    async def slos(self) -> SlosBody:
        """Every SLO with its request counts per window (backends with feature "slo")."""
        return await self.read("/api/v1/slo", SlosBody)

    async def budget(self, service: str, start: float, end: float, step: float) -> BudgetBody:
        """Request counts per step of one service's SLO (cumulate them for a burn-down)."""
        params = {"start": repr(start), "end": repr(end), "step": repr(step)}
        return await self.read(f"/api/v1/slo/{_seg(service)}/budget", BudgetBody, params=params)

    async def deploys(self, since: float | None = None) -> DeploysBody:
        """Deploys at or after `since` (all the backend holds without it), oldest first."""
        params = None if since is None else {"since": repr(since)}
        return await self.read("/api/v1/deploys", DeploysBody, params=params)

    # ------------------------------------------------------------------ actions

    async def post(self, path: str, body: dict[str, Any], idempotency_key: str) -> ActionAccepted:
        """A mutating call; the key is made once per operator intent by the caller."""
        response = await self.send("POST", path, json=body, idempotency_key=idempotency_key)
        if not response.content:
            return ActionAccepted(status=str(response.status_code))
        decoded = decode_body(response.content, ActionAccepted)
        if isinstance(decoded, ProtocolError):
            return ActionAccepted(status=str(response.status_code))
        return decoded

    async def circuit_action(self, name: str, action: str, key: str) -> ActionAccepted:
        return await self.post(f"/api/v1/circuits/{_seg(name)}", {"action": action}, key)

    async def switchover(self, cluster: str, candidate: str, key: str) -> ActionAccepted:
        return await self.post(
            f"/api/v1/db/clusters/{_seg(cluster)}/switchover", {"candidate": candidate}, key
        )

    async def failover(self, cluster: str, candidate: str, key: str) -> ActionAccepted:
        return await self.post(
            f"/api/v1/db/clusters/{_seg(cluster)}/failover", {"candidate": candidate}, key
        )

    async def read_only(self, cluster: str, enabled: bool, key: str) -> ActionAccepted:
        return await self.post(
            f"/api/v1/db/clusters/{_seg(cluster)}/read-only", {"enabled": enabled}, key
        )

    async def ack(self, alert_id: str, by: str, comment: str, key: str) -> ActionAccepted:
        return await self.post(
            f"/api/v1/alerts/{_seg(alert_id)}/ack", {"by": by, "comment": comment}, key
        )

    async def rollback(self, service: str, key: str) -> ActionAccepted:
        return await self.post(f"/api/v1/deploys/{_seg(service)}/rollback", {}, key)

    # ------------------------------------------------------------------ intents

    async def perform(self, intent: Intent) -> None:
        """Carry out an operator intent: one request, with the intent's idempotency key."""
        action = self._ACTIONS.get(intent.command_id)
        if action is None:
            raise BackendError(f"{self.name} cannot carry out {intent.command_id}")
        await action(self, intent)

    async def _breaker(self, intent: Intent) -> None:
        action = intent.command_id.split(".", 1)[1]  # force_open, close or reset
        await self.circuit_action(intent.target, action, intent.key)

    async def _switchover(self, intent: Intent) -> None:
        await self.switchover(intent.target, intent.args["member"], intent.key)

    async def _failover(self, intent: Intent) -> None:
        await self.failover(intent.target, intent.args["member"], intent.key)

    async def _read_only(self, intent: Intent) -> None:
        await self.read_only(intent.target, bool(intent.args["enabled"]), intent.key)

    async def _ack(self, intent: Intent) -> None:
        by = intent.args.get("by") or os_user()
        await self.ack(intent.target, by, intent.args.get("comment", ""), intent.key)

    async def _rollback(self, intent: Intent) -> None:
        await self.rollback(intent.target, intent.key)

    _ACTIONS: ClassVar[Mapping[str, Callable[[OpsApiRest, Intent], Awaitable[None]]]] = {
        "breaker.force_open": _breaker,
        "breaker.close": _breaker,
        "breaker.reset": _breaker,
        "db.switchover": _switchover,
        "db.failover": _failover,
        "db.read_only": _read_only,
        "alert.ack": _ack,
        "deploy.rollback": _rollback,
    }
    performs: ClassVar[frozenset[str]] = frozenset(_ACTIONS)

    # ------------------------------------------------------------------ demo scenarios

    async def scenario(
        self, name: str, target: str | None = None, duration_s: float | None = None
    ) -> ScenarioStarted:
        """Start a fault scenario (demo backends only)."""
        request = ScenarioRequest(name, target, duration_s)
        response = await self.send(
            "POST", "/api/v1/sim/scenario", json=request, idempotency_key=new_intent_key()
        )
        body = decode_body(response.content, ScenarioStarted)
        if isinstance(body, ProtocolError):
            raise InvalidAnswer("sim/scenario", body)
        return body

    async def scenarios(self) -> ScenariosBody:
        return await self.read("/api/v1/sim/scenarios", ScenariosBody)


def new_intent_key() -> str:
    """An idempotency key: made once per operator intent, reused for every retry of it."""
    return str(uuid.uuid4())


def auth_words(status: int) -> str:
    """A refused credential (401) or a credential without the right (403), in words."""
    if status == 401:
        return "the backend refused the credentials (HTTP 401)"
    return "the credentials are not allowed to read this backend (HTTP 403)"


def describe_error(exc: BaseException) -> str:
    """An exception's text with every token and URL credential masked."""
    text = str(exc) or type(exc).__name__
    return redact(text)


def _seg(name: str) -> str:
    return quote(name, safe="")

"""Alertmanager API v2 client: alerts and silences polled into the store, silences made once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import ClassVar
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import msgspec

from opsconsole.backends.bearer import BearerAuth
from opsconsole.backends.errors import ApiError, AuthFailed, BackendError, InvalidAnswer
from opsconsole.backends.polledlink import PolledLink
from opsconsole.backends.secrets import Secret, redact
from opsconsole.core.actions import Intent, intent_duration_s
from opsconsole.core.alertmanager import (
    DEFAULT_ACK_S,
    AmSilence,
    PostableSilence,
    Refusal,
    ServerClock,
    ack_silence,
    decode_alerts,
    decode_created,
    decode_silences,
    encode_silence,
    error_message,
    intent_of,
    map_alert,
    map_silence,
    not_found,
    plain_error,
    server_time_from_date,
    silence_body,
    silence_for,
)
from opsconsole.core.audit import os_user
from opsconsole.core.backoff import Backoff
from opsconsole.core.config import BackendConfig
from opsconsole.core.events import (
    AlertChanged,
    DataReceived,
    SilenceChanged,
    StoreEvent,
)
from opsconsole.core.models import (
    Alert,
    ConnectionState,
    Matcher,
    Silence,
    Transport,
)
from opsconsole.core.protocol import ProtocolError

log = logging.getLogger(__name__)
Sink = Callable[[StoreEvent], None]

AUTH_RETRY_S = 30.0  # an auth-failed link asks again this often (or at once on new credentials)
_AUTH_STATUSES = frozenset({401, 403})


class SilenceRefused(BackendError):
    """We refused to send this silence (nothing was sent): the words say why."""


class AlertmanagerClient(PolledLink):
    """One Alertmanager. `start()` keeps its alerts and silences in the store; acts by silences.

    An acknowledgement is a silence of exactly the alert's labels, created by the operator,
    with the intent key in its comment: a repeated intent finds it and sends nothing.
    """

    def __init__(
        self,
        name: str,
        url: str,
        apply: Callable[[StoreEvent], None],
        *,
        token: Secret | None = None,
        verify_tls: bool = True,
        service_label: str = "service",
        poll_s: float = 5.0,
        clock: Callable[[], float] = time.time,
        backoff: Backoff | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        parts = urlsplit(url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"Alertmanager URL must be http(s)://host[:port], got {url!r}")
        self._init_link(name, apply, clock, poll_s)
        self.url = urlunsplit(parts)
        self._apply = apply
        self._auth = BearerAuth(token)
        self.service_label = service_label
        self._clock = clock  # the workstation's wall clock; the server's is estimated from it
        self._backoff = backoff or Backoff()
        self._http = httpx.AsyncClient(
            base_url=self.url,
            verify=verify_tls,
            timeout=httpx.Timeout(10.0, connect=5.0),
            trust_env=False,
            headers={"User-Agent": "opsconsole/0.1", "Accept": "application/json"},
            auth=self._auth,
            transport=transport,
        )
        self.server_clock = ServerClock()
        self.polls = 0  # good polls, for tests and the health panel
        self.posts = 0  # silences actually sent (at most one per intent)
        self._alerts: dict[str, Alert] = {}
        self._silences: dict[str, Silence] = {}
        self._posted: dict[str, str] = {}  # intent key → silence id, for this process
        self._poll_lock = asyncio.Lock()
        self._post_lock = asyncio.Lock()
        self._credentials_changed = asyncio.Event()

    link_transport = Transport.ALERTMANAGER
    task_prefix = "alertmanager"

    # ------------------------------------------------------------------ lifecycle

    def set_token(self, token: Secret | None) -> None:
        """New credentials: an auth-failed link asks again at once."""
        self._auth.token = token
        self._credentials_changed.set()

    @property
    def alerts(self) -> dict[str, Alert]:
        """The alerts as last polled (resolved ones kept), by fingerprint."""
        return dict(self._alerts)

    @property
    def silences(self) -> dict[str, Silence]:
        return dict(self._silences)

    def server_now(self) -> float:
        """The server's clock, estimated from the `Date` of its recent answers."""
        return self.server_clock.now(self._clock())

    # ------------------------------------------------------------------ polling

    async def _run(self) -> None:
        while not self._closed:
            try:
                await self._poll()
            except AuthFailed as exc:
                log.warning("%s: %s; asking again on new credentials", self.name, exc)
                self._set_status(ConnectionState.AUTH_FAILED, str(exc))
                self._credentials_changed.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(AUTH_RETRY_S):
                        await self._credentials_changed.wait()
                continue
            except BackendError as exc:
                delay = self._backoff.next_delay()
                log.info("%s: poll failed: %s", self.name, exc)
                self._set_status(ConnectionState.RECONNECTING, str(exc), round(delay, 1))
                await asyncio.sleep(delay)
                continue
            self._backoff.reset()
            await asyncio.sleep(self.poll_s)

    async def refresh(self) -> bool:
        """Poll now (after an action, so its outcome shows at once); False when it failed.

        Failures are not raised: the link status says what went wrong, and the regular
        polling carries on.
        """
        try:
            await self._poll()
        except BackendError as exc:
            log.info("%s: refresh failed: %s", self.name, exc)
            return False
        return True

    async def _poll(self) -> None:
        # One poll at a time: two interleaved ones could emit an older list after a newer.
        async with self._poll_lock:
            raw_silences = await self._get_silences()
            response = await self._request("GET", "/api/v2/alerts")
            alerts = decode_alerts(response.content)
            if isinstance(alerts, ProtocolError):
                raise InvalidAnswer("GET /api/v2/alerts", alerts)
            events: list[StoreEvent] = []
            silences = {s.id: map_silence(s) for s in raw_silences}
            for sid, silence in silences.items():
                if self._silences.get(sid) != silence:
                    events.append(SilenceChanged(self.name, silence))
            for sid, known in self._silences.items():
                # Gone from the list: Alertmanager dropped it after its retention, expired.
                if sid not in silences and known.state != "expired":
                    gone = msgspec.structs.replace(known, state="expired")
                    silences[sid] = gone
                    events.append(SilenceChanged(self.name, gone))
            self._silences = silences
            server_now = self.server_now()
            seen: set[str] = set()
            for raw in alerts:
                alert = map_alert(raw, silences, server_now, self.service_label)
                seen.add(alert.id)
                if self._alerts.get(alert.id) != alert:
                    self._alerts[alert.id] = alert
                    events.append(AlertChanged(self.name, alert))
            for aid, known in list(self._alerts.items()):
                if aid not in seen and known.state == "firing":
                    resolved = msgspec.structs.replace(known, state="resolved")
                    self._alerts[aid] = resolved
                    events.append(AlertChanged(self.name, resolved))
            # The whole list answered is current data even when nothing in it changed.
            events.append(DataReceived(self.name))
            for event in events:
                self._apply(event)
            self.polls += 1
            self._polled()

    async def _get_silences(self) -> list[AmSilence]:
        response = await self._request("GET", "/api/v2/silences")
        silences = decode_silences(response.content)
        if isinstance(silences, ProtocolError):
            raise InvalidAnswer("GET /api/v2/silences", silences)
        return silences

    # ------------------------------------------------------------------ actions

    async def ack(
        self, alert_id: str, by: str, comment: str, key: str, duration_s: float = DEFAULT_ACK_S
    ) -> str:
        """Acknowledge = silence exactly this alert for `duration_s`; returns the silence id."""
        return await self._silence_alert("ack", alert_id, duration_s, comment, by, key)

    async def silence(
        self, alert_id: str, duration_s: float, comment: str, by: str, key: str
    ) -> str:
        """Silence exactly this alert for `duration_s`; returns the silence id."""
        return await self._silence_alert("silence", alert_id, duration_s, comment, by, key)

    async def expire(self, silence_id: str, key: str) -> None:
        """End a silence now (DELETE; Alertmanager keeps it, expired)."""
        log.info("%s: expiring silence %s (intent %s)", self.name, silence_id, key)
        await self._request(
            "DELETE", f"/api/v2/silence/{quote(silence_id, safe='')}", silence_id=silence_id
        )

    async def silence_matchers(
        self,
        matchers: tuple[Matcher, ...],
        duration_s: float,
        comment: str,
        by: str,
        key: str,
    ) -> str:
        """Silence whatever `matchers` select; a set that would mute everything is refused."""

        def build(server_now: float) -> PostableSilence | Refusal:
            return silence_body(
                matchers,
                by=by,
                comment=comment,
                intent_key=key,
                duration_s=duration_s,
                server_now=server_now,
            )

        return await self._post_once(key, build)

    async def _silence_alert(
        self, kind: str, alert_id: str, duration_s: float, comment: str, by: str, key: str
    ) -> str:
        def build(server_now: float) -> PostableSilence | Refusal:
            alert = self._alerts.get(alert_id)
            if alert is None:
                return Refusal("alert-exists", f"{self.name} has no alert {alert_id!r}")
            if kind == "ack":
                return ack_silence(alert, by, comment, key, duration_s, server_now)
            return silence_for(
                alert,
                by=by,
                comment=comment,
                intent_key=key,
                duration_s=duration_s,
                server_now=server_now,
                kind=kind,
            )

        return await self._post_once(key, build)

    async def _post_once(
        self, key: str, build: Callable[[float], PostableSilence | Refusal]
    ) -> str:
        """POST the silence `build` makes, unless this intent already made one; never twice."""
        # One silence request at a time: the intent check and the POST must not interleave.
        async with self._post_lock:
            existing = await self._silence_of_intent(key)  # also refreshes the server's clock
            if existing is not None:
                log.info("%s: intent %s already made silence %s", self.name, key, existing)
                return existing
            body = build(self.server_now())
            if isinstance(body, Refusal):
                raise SilenceRefused(f"{body.message} (nothing sent)")
            # Sent once: a POST that times out is not repeated (it may have landed); the
            # intent's next attempt finds its silence by the key in the comment instead.
            self.posts += 1
            response = await self._request("POST", "/api/v2/silences", content=encode_silence(body))
            created = decode_created(response.content)
            if isinstance(created, ProtocolError):
                raise InvalidAnswer("POST /api/v2/silences", created)
            self._posted[key] = created.silence_id
            return created.silence_id

    async def _silence_of_intent(self, key: str) -> str | None:
        """The silence an earlier attempt of this intent made, by its comment; fresh list."""
        if key in self._posted:
            return self._posted[key]
        for raw in await self._get_silences():
            if intent_of(raw.comment) == key:
                return raw.id
        return None

    # ------------------------------------------------------------------ intents

    async def perform(self, intent: Intent) -> None:
        """Carry out an operator intent by silences, then poll at once so its outcome (a
        silence muting the alert) is seen in milliseconds rather than at the next poll."""
        action = self._ACTIONS.get(intent.command_id)
        if action is None:
            raise BackendError(f"{self.name} (Alertmanager) cannot carry out {intent.command_id}")
        await action(self, intent)
        await self.refresh()

    async def _ack_intent(self, intent: Intent) -> None:
        by, comment = _author(intent)
        await self.ack(intent.target, by, comment, intent.key, intent_duration_s(intent))

    async def _silence_intent(self, intent: Intent) -> None:
        by, comment = _author(intent)
        await self.silence(intent.target, intent_duration_s(intent), comment, by, intent.key)

    async def _expire_intent(self, intent: Intent) -> None:
        await self.expire(intent.target, intent.key)

    _ACTIONS: ClassVar[Mapping[str, Callable[[AlertmanagerClient, Intent], Awaitable[None]]]] = {
        "alert.ack": _ack_intent,
        "alert.silence": _silence_intent,
        "silence.expire": _expire_intent,
    }
    performs: ClassVar[frozenset[str]] = frozenset(_ACTIONS)

    @classmethod
    def from_config(
        cls, cfg: BackendConfig, sink: Sink, token: Secret | None
    ) -> AlertmanagerClient:
        """The adapter for one `kind = "alertmanager"` table of the config file (not started)."""
        return cls(
            cfg.name,
            cfg.url,
            sink,
            token=token,
            verify_tls=cfg.verify_tls,
            service_label=cfg.service_label,
            poll_s=cfg.step_s,
        )

    # ------------------------------------------------------------------ HTTP

    async def _request(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        silence_id: str | None = None,
    ) -> httpx.Response:
        headers: dict[str, str] = {}
        if content is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = await self._http.request(method, path, content=content, headers=headers)
        except httpx.TimeoutException:
            raise BackendError(f"{self.name}: no answer from Alertmanager in time") from None
        except httpx.HTTPError as exc:
            text = redact(str(exc) or type(exc).__name__)
            raise BackendError(f"{self.name}: cannot reach Alertmanager ({text})") from None
        self.server_clock.observe(
            server_time_from_date(response.headers.get("date")), self._clock()
        )
        status = response.status_code
        if status < 400:
            return response
        message = redact(error_message(response.content))
        if status in _AUTH_STATUSES and method == "GET":
            raise AuthFailed(f"{plain_error(status, message)} (HTTP {status})")
        # Alertmanager 0.25 answers an unknown silence with 500 "silence not found": that is
        # a refusal (nothing to expire), not a failure worth watching the state for.
        code = 404 if not_found(status, message) else status
        raise ApiError(code, f"http_{status}", plain_error(status, message, silence_id))


def _author(intent: Intent) -> tuple[str, str]:
    """Who made the silence and what they said: the operator's name unless one is given."""
    return intent.args.get("by") or os_user(), intent.args.get("comment", "")

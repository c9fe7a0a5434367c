"""Ops API v1 client: REST calls and a live stream (WebSocket, SSE, polling) that never gives up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidMessage,
    InvalidStatus,
    InvalidUpgrade,
)

from opsconsole.backends.backfill import HistoryBackfill
from opsconsole.backends.errors import (
    ApiError,
    AuthFailed,
    BackendError,
    InvalidAnswer,
    LinkDead,
    TransportRefused,
)
from opsconsole.backends.linkstatus import UP, LinkReporter
from opsconsole.backends.secrets import Secret, redact
from opsconsole.backends.session import Feed, StreamSession, realtime_batch
from opsconsole.backends.sse import SseParser
from opsconsole.backends.tls import client_context, tls_problem
from opsconsole.core.actions import Intent
from opsconsole.core.audit import os_user
from opsconsole.core.backoff import Backoff
from opsconsole.core.events import (
    AlertChanged,
    CircuitChanged,
    ClusterChanged,
    SnapshotLoaded,
    StoreEvent,
)
from opsconsole.core.models import (
    Alert,
    ConnectionState,
    DbCluster,
    LinkStatus,
    Transport,
)
from opsconsole.core.protocol import (
    MAX_FRAME_BYTES,
    ActionAccepted,
    AlertsBody,
    CircuitsBody,
    ClustersBody,
    EventsBody,
    HealthBody,
    HelloFrame,
    HistoricalBody,
    ProtocolError,
    RealtimeBody,
    ScenarioRequest,
    ScenariosBody,
    ScenarioStarted,
    ServicesBody,
    SnapshotFrame,
    SubscribeOp,
    decode_body,
    encode,
    named_circuits,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
Sink = Callable[[StoreEvent], None]

# Handshake answers that mean "this transport is not offered here" rather than "try later".
_REFUSAL_STATUSES = frozenset({200, 400, 404, 405, 406, 415, 426, 501})
_AUTH_STATUSES = frozenset({401, 403})
# While a backend does not answer at all, it is probed this often during the backoff wait.
PROBE_EVERY_S = 0.25
# A refused transport is retried after this long: the proxy in the way may have been fixed.
REFUSAL_MEMORY_S = 300.0


@dataclass(frozen=True)
class LinkTimings:
    """How the link decides it is stale or dead; defaults follow docs/ops-api.md."""

    stale_after_s: float = 3.0  # no frame this long: data is STALE
    dead_after_s: float = 6.0  # no frame this long (heartbeats are 1 s): replace the link
    open_timeout_s: float = 5.0
    ping_interval_s: float = 5.0
    ping_timeout_s: float = 5.0
    poll_interval_s: float = 1.0
    fallback_reprobe_s: float = REFUSAL_MEMORY_S
    watchdog_tick_s: float = 0.2


@dataclass
class ClientStats:
    frames: int = 0
    invalid: Counter[str] = field(default_factory=Counter)
    links_opened: int = 0
    resyncs: int = 0
    gaps: int = 0
    duplicates: int = 0
    defects: int = 0  # links ended by an unexpected exception (logged, then reconnected)


class _ResyncNeeded(Exception):
    pass


class OpsApiClient:
    """One backend speaking Ops API v1. `run()` keeps a live copy of its state in the sink."""

    def __init__(
        self,
        name: str,
        base_url: str,
        sink: Sink,
        *,
        token: Secret | None = None,
        verify_tls: bool = True,
        timings: LinkTimings = LinkTimings(),
        transports: tuple[Transport, ...] = (Transport.WEBSOCKET, Transport.SSE, Transport.POLLING),
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
        history_s: float = 3600.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        parts = urlsplit(base_url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"backend URL must be http(s)://host[:port], got {base_url!r}")
        self.name = name
        self.base_url = urlunsplit(parts)
        self._ws_base = urlunsplit(
            parts._replace(scheme="wss" if parts.scheme == "https" else "ws")
        )
        self._sink = sink
        self._token = token
        self._verify = verify_tls
        self._tls = client_context(verify_tls) if parts.scheme == "https" else None
        self.timings = timings
        self._transports = transports
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._wall = wall_clock  # arrival times, against the samples' own (backend) times
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            verify=self._tls or True,
            timeout=httpx.Timeout(10.0, connect=timings.open_timeout_s),
            trust_env=False,
            headers={"User-Agent": "opsconsole/0.1"},
        )
        self.session = StreamSession(name)
        self.stats = ClientStats()
        self._link = LinkReporter(name, sink, monotonic=clock)
        # The charts start with the last hour, so a console restarted mid-incident keeps it.
        self.history = HistoryBackfill(
            name, self.historical, sink, self._timeline, history_s=history_s
        )
        self.transport: Transport | None = None
        self._refused: dict[Transport, float] = {}
        self._last_frame: float | None = None
        self._link_started = 0.0
        self._link_live = False
        self._logged_kinds: set[str] = set()
        self._logged_defects: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._credentials_changed = asyncio.Event()
        self._closed = False
        self._opened_at: float | None = None
        self._last_quick_resync = -1e9
        self._polled_clusters: dict[str, DbCluster] = {}
        self._polled_alerts: dict[str, Alert] = {}

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> asyncio.Task[None]:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self.run(), name=f"link:{self.name}"
            )
        return self._task

    async def aclose(self) -> None:
        """Stop the link and close the HTTP client; safe to call twice."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.history.aclose()
        await self._http.aclose()
        self._set_status(ConnectionState.STOPPED, "stopped")

    def set_token(self, token: Secret | None) -> None:
        """New credentials: an auth-failed link tries again."""
        self._token = token
        self._credentials_changed.set()

    def _headers(self) -> dict[str, str]:
        if self._token is None:
            return {}
        return {"Authorization": f"Bearer {self._token.reveal()}"}

    # ------------------------------------------------------------------ status

    def _set_status(
        self, state: ConnectionState, detail: str = "", retry_in: float | None = None
    ) -> None:
        transport = self.transport if state in UP else None
        self._link.set(state, transport, detail, retry_in)

    @property
    def status(self) -> LinkStatus:
        return self._link.status

    def _timeline(self, message: str) -> None:
        self._link.note(message)

    def data_age(self) -> float | None:
        """Seconds since the last frame of any kind (the link's pulse), None before the first."""
        return None if self._last_frame is None else self._clock() - self._last_frame

    # ------------------------------------------------------------------ the run loop

    async def run(self) -> None:
        """Connect, stream, reconnect forever; only auth failures pause until new credentials."""
        while not self._closed:
            transport = self._pick_transport()
            resync = False
            why = "reconnecting"
            unreachable = False
            try:
                await self._run_link(transport)
            except AuthFailed as exc:
                log.warning("%s: %s; not retrying until credentials change", self.name, exc)
                self._set_status(ConnectionState.AUTH_FAILED, str(exc))
                self._credentials_changed.clear()
                await self._credentials_changed.wait()
                self._backoff.reset()
                continue
            except TransportRefused as exc:
                log.warning(
                    "%s: %s transport refused (%s); falling back", self.name, transport.value, exc
                )
                self._refused[transport] = self._clock()
                if self._pick_transport() is not transport:
                    continue
            except _ResyncNeeded:
                resync = True
            except asyncio.CancelledError:
                raise
            except (
                OSError,
                TimeoutError,
                ConnectionClosed,
                InvalidHandshake,
                httpx.HTTPError,
                BackendError,
            ) as exc:
                tls = tls_problem(exc)
                if tls is not None:
                    # Said on screen, not only in the log: retrying will not fix a certificate.
                    why = tls
                    log.warning("%s: %s", self.name, tls)
                else:
                    log.info("%s: link ended: %s", self.name, _describe(exc))
                # Nothing answered (refused, unreachable): worth probing during the wait.
                # A connection dropped before any HTTP answer (a proxy whose backend is
                # restarting) is as unanswered as a refused port.
                unreachable = isinstance(
                    exc, (httpx.ConnectError, httpx.RemoteProtocolError, InvalidMessage)
                ) or (isinstance(exc, OSError) and not isinstance(exc, TimeoutError))
            except Exception as exc:
                # A defect (ours, or a backend answer nothing foresaw) must never end the
                # link for good behind a LIVE word: log it once per kind, show the link as
                # down, reconnect like after any failure.
                kind = type(exc).__name__
                if kind not in self._logged_defects:
                    self._logged_defects.add(kind)
                    log.exception("%s: the link failed on an unexpected error", self.name)
                else:
                    log.info("%s: link ended again on %s: %s", self.name, kind, exc)
                self.stats.defects += 1
            finally:
                self._backoff.disconnected(self._clock())
                self._link_live = False
            now = self._clock()
            # A gap is repaired at once, unless gaps keep coming: then back off like failures.
            quick = resync and now - self._last_quick_resync > 10.0
            if quick:
                self._last_quick_resync = now
            delay = 0.0 if quick else self._backoff.next_delay()
            self._set_status(ConnectionState.RECONNECTING, why, round(delay, 1))
            if unreachable and delay > PROBE_EVERY_S:
                await self._wait_until_reachable(delay)
            else:
                await asyncio.sleep(delay)

    async def _wait_until_reachable(self, delay: float) -> None:
        """Sleep out the backoff, but end it as soon as the backend answers a cheap probe.

        The backoff spares a backend that answers and fails; one that did not answer at all
        (refused port, restarting) costs nothing to probe, so a restart is seen within
        `PROBE_EVERY_S` instead of after the rest of a backoff of up to 10 s.
        """
        end = self._clock() + delay
        while (left := end - self._clock()) > 0:
            await asyncio.sleep(min(PROBE_EVERY_S, left))
            if self._clock() >= end:
                return
            try:
                await self._http.get("/api/v1/health", timeout=PROBE_EVERY_S * 2)
            except httpx.HTTPError:
                continue
            log.info("%s: reachable again; reconnecting now", self.name)
            return

    def _pick_transport(self) -> Transport:
        now = self._clock()
        for t in self._transports:
            refused_at = self._refused.get(t)
            if refused_at is None or now - refused_at > self.timings.fallback_reprobe_s:
                return t
        return self._transports[-1]

    async def _run_link(self, transport: Transport) -> None:
        self.transport = transport
        self._last_frame = None
        self._link_started = self._clock()
        runner = {
            Transport.WEBSOCKET: self._run_websocket,
            Transport.SSE: self._run_sse,
            Transport.POLLING: self._run_polling,
        }[transport]
        link = asyncio.ensure_future(runner())
        watchdog = asyncio.ensure_future(self._watchdog(transport))
        try:
            done, _ = await asyncio.wait({link, watchdog}, return_when=asyncio.FIRST_COMPLETED)
            if link in done:
                link.result()
                raise LinkDead("the backend closed the stream")
            watchdog.result()
        finally:
            for task in (link, watchdog):
                task.cancel()
            await asyncio.gather(link, watchdog, return_exceptions=True)

    async def _watchdog(self, transport: Transport) -> None:
        """STALE after `stale_after_s` without a frame; the link is replaced at `dead_after_s`."""
        t = self.timings
        while True:
            await asyncio.sleep(t.watchdog_tick_s)
            # Counted from the link's start until its first frame: a peer that accepts and
            # then says nothing (on any transport) is as dead as one that stops mid-stream.
            since = self._link_started if self._last_frame is None else self._last_frame
            silent = self._clock() - since
            if silent >= t.dead_after_s:
                raise LinkDead(f"no frame for {silent:.0f} s")
            # Fallback links re-probe the preferred transport now and then, resuming by seq.
            if (
                transport is not self._transports[0]
                and self._opened_at is not None
                and (self._clock() - self._opened_at > t.fallback_reprobe_s)
            ):
                self._refused.pop(self._transports[0], None)
                raise LinkDead("re-trying the preferred transport")
            if silent >= t.stale_after_s and self._link_live:
                self._set_status(ConnectionState.STALE, f"no data for {silent:.0f} s")
            elif self._link_live and (late := self._late_data()) is not None:
                self._set_status(ConnectionState.STALE, late)

    def _link_opened(self) -> tuple[str, int] | None:
        self.stats.links_opened += 1
        self._opened_at = self._clock()
        self._backoff.connected(self._clock())
        return self.session.link_opened()

    def _frame_arrived(self) -> None:
        self._last_frame = self._clock()
        self.stats.frames += 1

    def _handle(self, feed: Feed) -> None:
        """Apply what a frame meant; raise to replace the link when frames were lost."""
        if feed.rejected is not None:
            kind = feed.rejected.kind
            self.stats.invalid[kind] += 1
            if kind not in self._logged_kinds:
                self._logged_kinds.add(kind)
                log.warning(
                    "%s: dropped an invalid frame (%s): %s (further ones counted only)",
                    self.name,
                    kind,
                    feed.rejected.reason,
                )
        if feed.duplicate:
            self.stats.duplicates += 1
        for event in feed.events:
            if isinstance(event, SnapshotLoaded) and event.resync:
                self.stats.resyncs += 1
            self._sink(event)
            self.history.observe(event)
        if feed.resync_reason is not None:
            self.stats.gaps += 1
            log.warning("%s: %s; resuming from the last good frame", self.name, feed.resync_reason)
            raise _ResyncNeeded(feed.resync_reason)
        if not self.session.awaiting_snapshot:
            if not self._link_live:
                self._link_live = True
            # LIVE means fresh samples, not bytes arriving: rows crawling through a slow link
            # (or replayed old ones) leave the link STALE until a fresh sample arrives.
            stale = self._late_data()
            if stale is not None:
                self._set_status(ConnectionState.STALE, stale)
            elif self.status.state is not ConnectionState.LIVE or self.status.transport is not (
                self.transport
            ):
                self._set_status(ConnectionState.LIVE, "")

    def _late_data(self) -> str | None:
        """Why the data is stale although frames arrive, or None while it is fresh."""
        age = self.session.data_age(self._wall())
        if age is None or age < self.timings.stale_after_s:
            return None
        return f"data {age:.0f} s old, arriving late"

    # ------------------------------------------------------------------ WebSocket

    async def _run_websocket(self) -> None:
        t = self.timings
        try:
            ws = await ws_connect(
                f"{self._ws_base}/api/v1/stream",
                additional_headers=self._headers(),
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
            if status in _AUTH_STATUSES:
                raise AuthFailed(_auth_words(status)) from None
            if status in _REFUSAL_STATUSES:
                raise TransportRefused(f"WebSocket upgrade answered HTTP {status}") from None
            raise ApiError(status, f"http_{status}", "") from None
        except InvalidUpgrade as exc:
            # An answer without a proper upgrade: something in the way does not speak
            # WebSocket. Any other failed handshake (a connection reset or closed while a
            # backend restarts) is a failed attempt, retried, never a refusal: falling back
            # for it left consoles on SSE after every restart.
            raise TransportRefused(f"WebSocket upgrade refused: {exc}") from None
        async with ws:
            resume = self._link_opened()
            first = True
            async for message in ws:
                self._frame_arrived()
                feed = self.session.feed(message, at=self._wall())
                if first and feed.hello is not None:
                    first = False
                    await ws.send(encode(_subscribe(resume)).decode())
                self._handle(feed)

    # ------------------------------------------------------------------ SSE

    async def _run_sse(self) -> None:
        resume = self._link_opened()
        params: dict[str, str] = {
            "transport": "sse",
            "topics": "metrics,circuits,db,alerts,events",
            "services": "*",
        }
        if resume is not None:
            params["epoch"], params["since_seq"] = resume[0], str(resume[1])
        timeout = httpx.Timeout(None, connect=self.timings.open_timeout_s)
        headers = {**self._headers(), "Accept": "text/event-stream", "Cache-Control": "no-cache"}
        async with self._http.stream(
            "GET", "/api/v1/stream", params=params, headers=headers, timeout=timeout
        ) as response:
            status = response.status_code
            if status in _AUTH_STATUSES:
                raise AuthFailed(_auth_words(status))
            ctype = response.headers.get("content-type", "")
            if (status != 200 and status in _REFUSAL_STATUSES) or (
                status == 200 and not ctype.startswith("text/event-stream")
            ):
                raise TransportRefused(f"SSE answered HTTP {status} ({ctype or 'no type'})")
            if status != 200:
                raise ApiError.from_response(status, await response.aread())
            parser = SseParser()
            async for chunk in response.aiter_raw():
                for event in parser.feed(chunk):
                    self._frame_arrived()
                    self._handle(self.session.feed(event.data, at=self._wall()))

    # ------------------------------------------------------------------ polling

    async def _run_polling(self) -> None:
        """Last resort: REST snapshot, then replay by `events?since_seq`, else realtime diffs."""
        health = await self._get("/api/v1/health", HealthBody, auth=False)
        self._link_opened()
        # The health answer plays the part of the stream's hello: same epoch, same server run.
        hello = HelloFrame(
            version=health.version, epoch=health.epoch, server_time=health.server_time, seq=0
        )
        self.session.feed_frame(hello, at=self._wall())
        replay = self.session.resume_requested
        if not replay:
            replay = await self._poll_snapshot()
        interval = self.timings.poll_interval_s
        while True:
            if replay:
                replay = await self._poll_events()
            if not replay:
                await self._poll_realtime_diff()
            await asyncio.sleep(interval)

    async def _poll_snapshot(self) -> bool:
        """Load the whole state by REST. Returns True when `events` replay can follow it."""
        position = await self._events_position()
        services = await self._get("/api/v1/services", ServicesBody)
        realtime = await self._get("/api/v1/metrics/realtime", RealtimeBody, allow_partial=True)
        circuits = await self._get("/api/v1/circuits", CircuitsBody)
        clusters = await self._get("/api/v1/db/clusters", ClustersBody)
        alerts = await self._get("/api/v1/alerts", AlertsBody)
        self._frame_arrived()
        snap = SnapshotFrame(
            seq=position[1] if position else 0,
            ts=realtime.ts,
            resync=self.session.epoch_changed,
            services=services.services,
            realtime=realtime,
            circuits=circuits.circuits,
            clusters=clusters.clusters,
            alerts=alerts.alerts,
            epoch=position[0] if position else None,
        )
        self._handle(self.session.feed_frame(snap, at=self._wall()))
        return position is not None

    async def _events_position(self) -> tuple[str, int] | None:
        """Where the server's frame sequence stands now, if it supports `events` replay."""
        try:
            body = await self._get("/api/v1/events", EventsBody)
        except ApiError as exc:
            if exc.status in (400, 404, 405, 501):
                return None
            raise
        if body.seq is None:
            return None
        return body.epoch, body.seq

    async def _poll_events(self) -> bool:
        resume = self.session.tracker.resume_point()
        if resume is None:
            return False
        try:
            body = await self._get(
                "/api/v1/events", EventsBody, params={"since_seq": str(resume[1])}
            )
        except ApiError as exc:
            if exc.status == 410:
                log.warning("%s: history no longer held; reloading state", self.name)
                self.session.epoch_changed = True
                return await self._poll_snapshot()
            raise
        self._frame_arrived()
        if body.epoch != resume[0]:
            self.session.tracker.on_hello(body.epoch)
            self.session.epoch_changed = True
            return await self._poll_snapshot()
        self.session.awaiting_snapshot = False
        for raw in body.events:
            self._handle(self.session.feed(bytes(raw), at=self._wall()))
        if not body.events:
            self._handle(Feed())
        return True

    async def _poll_realtime_diff(self) -> None:
        realtime = await self._get("/api/v1/metrics/realtime", RealtimeBody, allow_partial=True)
        circuits = await self._get("/api/v1/circuits", CircuitsBody)
        clusters = await self._get("/api/v1/db/clusters", ClustersBody)
        alerts = await self._get("/api/v1/alerts", AlertsBody)
        self._frame_arrived()
        events: list[StoreEvent] = [realtime_batch(self.name, realtime)]
        known = self.session.circuits
        for name, circuit in named_circuits(circuits.circuits).items():
            if known.get(name) != circuit:
                known[name] = circuit
                events.append(CircuitChanged(self.name, circuit))
        events += _cluster_diffs(self.name, self._polled_clusters, clusters.clusters)
        for alert in alerts.alerts:
            if self._polled_alerts.get(alert.id) != alert:
                self._polled_alerts[alert.id] = alert
                events.append(AlertChanged(self.name, alert))
        self.session.awaiting_snapshot = False
        self._handle(Feed(tuple(events)))

    # ------------------------------------------------------------------ REST

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        idempotency_key: str | None = None,
        auth: bool = True,
    ) -> httpx.Response:
        headers = self._headers() if auth else {}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        content = encode(json) if json is not None else None
        if content is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = await self._http.request(
                method, path, content=content, params=params, headers=headers
            )
        except httpx.TimeoutException:
            raise BackendError(f"{self.name}: no answer from the backend in time") from None
        except httpx.HTTPError as exc:
            raise BackendError(
                f"{self.name}: cannot reach the backend ({_describe(exc)})"
            ) from None
        if response.status_code in _AUTH_STATUSES and (
            method == "GET" or response.status_code == 401
        ):
            raise AuthFailed(_auth_words(response.status_code))
        if response.status_code >= 400:
            raise ApiError.from_response(response.status_code, response.content)
        return response

    async def _get(
        self,
        path: str,
        kind: type[T],
        *,
        params: dict[str, str] | None = None,
        auth: bool = True,
        allow_partial: bool = False,
    ) -> T:
        response = await self._request("GET", path, params=params, auth=auth)
        if response.status_code == 206 and not allow_partial:
            log.info("%s: partial answer for %s", self.name, path)
        body = decode_body(response.content, kind)
        if isinstance(body, ProtocolError):
            raise InvalidAnswer(path, body)
        return body

    async def health(self) -> HealthBody:
        return await self._get("/api/v1/health", HealthBody, auth=False)

    async def services(self) -> ServicesBody:
        return await self._get("/api/v1/services", ServicesBody)

    async def realtime(self) -> tuple[RealtimeBody, bool]:
        """The current golden signals and whether they are partial (HTTP 206)."""
        response = await self._request("GET", "/api/v1/metrics/realtime")
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
        return await self._get("/api/v1/metrics/historical", HistoricalBody, params=params)

    async def circuits(self) -> CircuitsBody:
        return await self._get("/api/v1/circuits", CircuitsBody)

    async def clusters(self) -> ClustersBody:
        return await self._get("/api/v1/db/clusters", ClustersBody)

    async def alerts(self) -> AlertsBody:
        return await self._get("/api/v1/alerts", AlertsBody)

    async def post(self, path: str, body: dict[str, Any], idempotency_key: str) -> ActionAccepted:
        """A mutating call; the key is made once per operator intent by the caller."""
        response = await self._request("POST", path, json=body, idempotency_key=idempotency_key)
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

    _ACTIONS: ClassVar[Mapping[str, Callable[[OpsApiClient, Intent], Awaitable[None]]]] = {
        "breaker.force_open": _breaker,
        "breaker.close": _breaker,
        "breaker.reset": _breaker,
        "db.switchover": _switchover,
        "db.failover": _failover,
        "db.read_only": _read_only,
        "alert.ack": _ack,
    }
    performs: ClassVar[frozenset[str]] = frozenset(_ACTIONS)

    # ------------------------------------------------------------------ demo scenarios

    async def scenario(
        self, name: str, target: str | None = None, duration_s: float | None = None
    ) -> ScenarioStarted:
        """Start a fault scenario (demo backends only)."""
        request = ScenarioRequest(name, target, duration_s)
        response = await self._request(
            "POST", "/api/v1/sim/scenario", json=request, idempotency_key=new_intent_key()
        )
        body = decode_body(response.content, ScenarioStarted)
        if isinstance(body, ProtocolError):
            raise InvalidAnswer("sim/scenario", body)
        return body

    async def scenarios(self) -> ScenariosBody:
        return await self._get("/api/v1/sim/scenarios", ScenariosBody)


def new_intent_key() -> str:
    """An idempotency key: made once per operator intent, reused for every retry of it."""
    return str(uuid.uuid4())


def _subscribe(resume: tuple[str, int] | None) -> SubscribeOp:
    if resume is None:
        return SubscribeOp()
    return SubscribeOp(epoch=resume[0], since_seq=resume[1])


def _seg(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


def _auth_words(status: int) -> str:
    if status == 401:
        return "the backend refused the credentials (HTTP 401)"
    return "the credentials are not allowed to read this backend (HTTP 403)"


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return redact(text)


def _cluster_diffs(
    backend: str, known: dict[str, DbCluster], clusters: tuple[DbCluster, ...]
) -> list[StoreEvent]:
    out: list[StoreEvent] = []
    for cluster in clusters:
        if known.get(cluster.name) != cluster:
            known[cluster.name] = cluster
            out.append(ClusterChanged(backend, cluster))
    return out

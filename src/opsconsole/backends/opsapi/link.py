"""The Ops API link supervisor: keeps one live stream up (reconnect, watchdog, backoff, probes)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import httpx
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidMessage

from opsconsole.backends.backfill import HistoryBackfill
from opsconsole.backends.errors import AuthFailed, BackendError, LinkDead, TransportRefused
from opsconsole.backends.linkstatus import UP, LinkReporter
from opsconsole.backends.opsapi.polling import PollingStream
from opsconsole.backends.opsapi.rest import OpsApiRest, describe_error
from opsconsole.backends.opsapi.slopoll import SLO_EVERY_S, SloPoller
from opsconsole.backends.opsapi.ssestream import SseStream
from opsconsole.backends.opsapi.timings import DEFAULT_TIMINGS, ClientStats, LinkTimings
from opsconsole.backends.opsapi.watchdog import SAME_LOOK_S, WatchdogAlarm, next_look_s
from opsconsole.backends.opsapi.websocket import WebSocketStream
from opsconsole.backends.secrets import Secret
from opsconsole.backends.session import Feed, StreamSession
from opsconsole.backends.tls import tls_problem
from opsconsole.core.backoff import Backoff
from opsconsole.core.config import BackendConfig
from opsconsole.core.events import SnapshotLoaded, StoreEvent
from opsconsole.core.models import ConnectionState, LinkStatus, Transport

log = logging.getLogger(__name__)
Sink = Callable[[StoreEvent], None]

# While a backend does not answer at all, it is probed this often during the backoff wait.
PROBE_EVERY_S = 0.25
# The STALE link's detail while frames arrive but their samples are old (the age is not in it).
LATE_DATA = "data arriving late"


class _ResyncNeeded(Exception):
    pass


class OpsApiClient(OpsApiRest):
    """One backend speaking Ops API v1. `run()` keeps a live copy of its state in the sink.

    The REST calls are `OpsApiRest`'s; this class supervises the stream: it picks a
    transport (WebSocket, SSE, polling), watches its pulse, and reconnects forever.
    """

    @classmethod
    def from_config(cls, cfg: BackendConfig, sink: Sink, token: Secret | None) -> OpsApiClient:
        """The adapter for one `kind = "opsapi"` table of the config file (not started)."""
        return cls(cfg.name, cfg.url, sink, token=token, verify_tls=cfg.verify_tls)

    def __init__(
        self,
        name: str,
        base_url: str,
        sink: Sink,
        *,
        token: Secret | None = None,
        verify_tls: bool = True,
        timings: LinkTimings = DEFAULT_TIMINGS,
        transports: tuple[Transport, ...] = (Transport.WEBSOCKET, Transport.SSE, Transport.POLLING),
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
        history_s: float = 3600.0,
        wall_clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
        slo_every_s: float = SLO_EVERY_S,
    ) -> None:
        super().__init__(
            name,
            base_url,
            token=token,
            verify_tls=verify_tls,
            connect_timeout_s=timings.open_timeout_s,
            transport=transport,
        )
        parts = urlsplit(self.base_url)
        ws_base = urlunsplit(parts._replace(scheme="wss" if parts.scheme == "https" else "ws"))
        self._sink = sink
        self.timings = timings
        self._transports = transports
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._wall = wall_clock  # arrival times, against the samples' own (backend) times
        self.session = StreamSession(name)
        self.stats = ClientStats()
        self._link = LinkReporter(name, sink, monotonic=clock)
        # The charts start with the last hour, so a console restarted mid-incident keeps it.
        self.history = HistoryBackfill(
            name, self.historical, sink, self._timeline, history_s=history_s
        )
        self._streams = {
            Transport.WEBSOCKET: WebSocketStream(
                self, f"{ws_base}/api/v1/stream", self._auth, self._tls
            ),
            Transport.SSE: SseStream(self),
            Transport.POLLING: PollingStream(self),
        }
        self.transport: Transport | None = None
        self._refused: dict[Transport, float] = {}
        self._last_frame: float | None = None
        self._link_started = 0.0
        self.watchdog_alarm = WatchdogAlarm(clock)  # sleeps until the next deadline
        self._link_live = False
        self._logged_kinds: set[str] = set()
        self._logged_defects: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._credentials_changed = asyncio.Event()
        self._closed = False
        self._opened_at: float | None = None
        self._last_quick_resync = -1e9
        # SLOs and deploys are read beside the stream (if the backend offers them); their
        # problems are said on the link's detail while it is LIVE, never ending it.
        self._side_problem = ""
        self._link_up = asyncio.Event()  # the polls wait for it: no credentials tried twice
        self.slo_poll = SloPoller(
            name, self, sink, self._say_side_problem, self._link_up, slo_every_s=slo_every_s
        )

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> asyncio.Task[None]:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self.run(), name=f"link:{self.name}"
            )
        self.slo_poll.start()
        return self._task

    async def aclose(self) -> None:
        """Stop the link and close the HTTP client; safe to call twice."""
        self._closed = True
        await self.slo_poll.aclose()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            except Exception as exc:
                # Cancelled mid-request, the HTTP stack may raise its own error instead of
                # the cancellation (anyio under qasync: "no running event loop" once in CI).
                # The link is ending on our word: said in the log, never a failed close.
                log.info("%s: link ended while closing: %s", self.name, exc)
            self._task = None
        await self.history.aclose()
        await super().aclose()
        self._set_status(ConnectionState.STOPPED, "stopped")

    @property
    def stale_after_s(self) -> float:
        """How long without a frame before its data is STALE (an action's watch is blind)."""
        return self.timings.stale_after_s

    def set_token(self, token: Secret | None) -> None:
        """New credentials: an auth-failed link tries again."""
        super().set_token(token)
        self._credentials_changed.set()

    # ------------------------------------------------------------------ status

    def _set_status(
        self, state: ConnectionState, detail: str = "", retry_in: float | None = None
    ) -> None:
        transport = self.transport if state in UP else None
        self._link.set(state, transport, detail, retry_in)
        if state in UP:
            self._link_up.set()
        else:
            self._link_up.clear()

    @property
    def status(self) -> LinkStatus:
        return self._link.status

    def _say_side_problem(self, problem: str | None) -> None:
        """What went wrong reading SLOs or deploys (None: nothing), on the LIVE link's detail."""
        self._side_problem = problem or ""
        if self.status.state is ConnectionState.LIVE:
            self._set_status(ConnectionState.LIVE, self._side_problem)

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
                    log.info("%s: link ended: %s", self.name, describe_error(exc))
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
                await self.http.get("/api/v1/health", timeout=PROBE_EVERY_S * 2, auth=None)
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
        link = asyncio.ensure_future(self._streams[transport].run())
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
        """STALE after `stale_after_s` without a frame; the link is replaced at `dead_after_s`.

        It sleeps until the next moment a check can turn (no fixed tick: an idle link wakes
        the loop every two seconds or so, not five times a second)."""
        t = self.timings
        while True:
            await self.watchdog_alarm.sleep(self._next_look_s(transport))
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

    def _next_look_s(self, transport: Transport) -> float:
        now = self._clock()
        since = self._link_started if self._last_frame is None else self._last_frame
        reprobe_in = None
        if transport is not self._transports[0] and self._opened_at is not None:
            reprobe_in = self._opened_at + self.timings.fallback_reprobe_s - now
        return next_look_s(
            self.timings,
            now - since,
            self._link_live,
            self.session.data_age(self._wall()),
            self.status.state is ConnectionState.STALE,
            reprobe_in,
        )

    # ------------------------------------------------------------------ what transports call

    def opened(self) -> tuple[str, int] | None:
        """A link is open; returns the (epoch, seq) to resume from, if any."""
        self.stats.links_opened += 1
        self._opened_at = self._clock()
        self._backoff.connected(self._clock())
        return self.session.link_opened()

    def frame_arrived(self) -> None:
        self._last_frame = self._clock()
        self.stats.frames += 1

    def arrival_time(self) -> float:
        return self._wall()

    def handle(self, feed: Feed) -> None:
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
                self._set_status(ConnectionState.LIVE, self._side_problem)
            age = self.session.data_age(self._wall())
            if stale is None and age is not None and age > SAME_LOOK_S:
                # Data that came already old turns late before the silence limit the
                # watchdog sleeps until (a little before it: said with the silence).
                self.watchdog_alarm.bring_forward(self._clock() + self.timings.stale_after_s - age)

    def _late_data(self) -> str | None:
        """Why the data is stale although frames arrive, or None while it is fresh."""
        age = self.session.data_age(self._wall())
        if age is None or age < self.timings.stale_after_s:
            return None
        # Constant while the state lasts: an age in it would announce a new link status every
        # watchdog tick and redraw every panel that shows the link. The status bar and the
        # panels say the growing age from the store's data age.
        return LATE_DATA

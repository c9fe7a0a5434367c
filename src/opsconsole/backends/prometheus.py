"""Prometheus HTTP API client: golden signals and breaker states by PromQL, every step."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import httpx

from opsconsole.backends.bearer import BearerAuth
from opsconsole.backends.errors import AuthFailed
from opsconsole.backends.linkstatus import UP, LinkReporter
from opsconsole.backends.promslo import SloReader
from opsconsole.backends.secrets import Secret, redact
from opsconsole.core.backoff import Backoff
from opsconsole.core.config import BackendConfig, SloConfig
from opsconsole.core.durations import promql_duration
from opsconsole.core.events import (
    CircuitChanged,
    MetricsBatch,
    SnapshotLoaded,
    StoreEvent,
)
from opsconsole.core.models import (
    Circuit,
    ConnectionState,
    LinkStatus,
    Service,
    Transport,
)
from opsconsole.core.promql import (
    CIRCUITS_QUERY,
    CLOCK_QUERY,
    FRESHNESS_QUERY,
    LAG_RECHECK_S,
    PROBE_RETRY_S,
    Matrix,
    Merged,
    PromError,
    QueryTemplateError,
    ResultKind,
    Scalar,
    SignalQuery,
    Vector,
    backfill_range,
    check_overrides,
    circuits_from_vector,
    clock_from_time,
    clock_offset_from_date,
    decode_answer,
    lag_words,
    merge_signals,
    next_due,
    next_lag,
    plain_words,
    rate_window,
    refresh_range,
    render_queries,
    render_query,
    rewind_for_lag,
    server_lag,
    silence_words,
    stale_after,
)

log = logging.getLogger(__name__)
Sink = Callable[[StoreEvent], None]

_AUTH_STATUSES = frozenset({401, 403})
# The first load reads up to 11,000 points per series: give Prometheus time for it.
BACKFILL_TIMEOUT_S = 30.0
WATCHDOG_TICK_S = 0.25
# When no new step is readable yet, never spin: wait at least this long.
MIN_WAIT_S = 0.01


class PrometheusClient:
    """One Prometheus-compatible backend, queried every `step_s` for every service at once.

    The first load backfills `history_s` with range queries; each refresh then fetches only
    the steps that became readable since. All queries of a refresh run concurrently; their
    number does not depend on how many services Prometheus knows.

    A server that answers late (VictoriaMetrics keeps the last 30 s back by default) is
    measured (`core.promql.server_lag`) and read up to "server now − lag"; the link says
    "server data 30 s behind". The link is LIVE only while new samples arrive.
    """

    performs: ClassVar[frozenset[str]] = frozenset()  # read-only: it carries out no action

    @classmethod
    def from_config(cls, cfg: BackendConfig, sink: Sink, token: Secret | None) -> PrometheusClient:
        """The adapter for one `kind = "prometheus"` table of the config file (not started)."""
        return cls(
            cfg.name,
            cfg.url,
            sink,
            token=token,
            verify_tls=cfg.verify_tls,
            service_label=cfg.service_label,
            step_s=cfg.step_s,
            queries=dict(cfg.queries),
            history_s=cfg.history_s,
            slos=cfg.slos,
            deploys=cfg.deploys,
        )

    def __init__(
        self,
        name: str,
        url: str,
        apply: Sink,
        *,
        token: Secret | None = None,
        verify_tls: bool = True,
        service_label: str = "service",
        step_s: float = 15.0,
        queries: Mapping[str, str] | None = None,
        history_s: float = 900.0,
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
        slos: Sequence[SloConfig] = (),
        deploys: str | None = None,
        slo_every_s: float | None = None,
    ) -> None:
        parts = urlsplit(url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"Prometheus URL must be http(s)://host[:port], got {url!r}")
        if not step_s > 0:
            raise ValueError("step_s must be > 0")
        check_overrides(queries, service_label)
        self.name = name
        self.url = urlunsplit(parts)
        self._apply = apply
        self._auth = BearerAuth(token)
        self.service_label = service_label
        self.step_s = float(step_s)
        self.history_s = max(0.0, float(history_s))
        self._overrides = dict(queries or {})
        # Wall clock only for what the operator reads (`since`, timeline); every interval and
        # the server-clock estimate use the monotonic clock, so a skewed or jumping
        # workstation clock cannot move the query ranges.
        self._clock = clock
        self._rendered: dict[float, list[SignalQuery]] = {}
        self.live_queries = self.queries_for(self.step_s)
        try:
            self._circuits_promql: str | None = render_query(
                CIRCUITS_QUERY, self._overrides, service_label, "1s"
            )
            self._circuits_error: str | None = None
        except QueryTemplateError as exc:
            self._circuits_promql, self._circuits_error = None, str(exc)
        try:
            self._freshness_promql: str | None = render_query(
                FRESHNESS_QUERY, self._overrides, service_label, "1s"
            )
        except QueryTemplateError as exc:
            log.warning("%s: %s; the server's lag is judged by time() alone", name, exc)
            self._freshness_promql = None
        # Per request: long enough for a loaded Prometheus, short enough to notice a hang
        # well before a few refreshes are missed.
        self.timeout_s = min(30.0, max(5.0, 2.0 * self.step_s))
        self._http = httpx.AsyncClient(
            base_url=self.url,
            verify=verify_tls,
            timeout=httpx.Timeout(self.timeout_s, connect=min(5.0, self.timeout_s)),
            trust_env=False,
            headers={"User-Agent": "opsconsole/0.1", "Accept": "application/json"},
            auth=self._auth,
            transport=transport,
        )
        self.requests_sent = 0
        self.last_refresh_requests = 0
        self.refreshes = 0  # completed refreshes, the first load included
        self.unlabelled_series = 0
        self.lag_probes = 0  # lag measurements (two requests each, not part of a refresh)
        self._link = LinkReporter(
            name, apply, wall_clock=clock, initial_transport=Transport.PROMETHEUS
        )
        self._offset: float | None = None  # server clock − time.monotonic()
        self._offset_precise = False  # from time() (ms) rather than the Date header (1 s)
        self._last_end: float | None = None  # newest step fetched (server time)
        self._newest_ts: float | None = None  # newest sample received (server time)
        self._last_new: float | None = None  # monotonic: when a sample newer than any came
        self._last_answer: float | None = None  # monotonic: the newest refresh with answers
        self._last_start: float | None = None  # monotonic start of the newest refresh
        self.lag_s = 0.0  # how far behind its clock the server answers with data
        self._lag_probed: float | None = None  # monotonic time of the last lag measurement
        self._starved = False  # the last refresh answered, but with nothing new
        self._in_refresh = 0
        self._services: frozenset[str] | None = None
        self._circuits: dict[str, Circuit] = {}
        self._problems = ""
        self._backoff = Backoff()
        self._credentials_changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._clock_known = asyncio.Event()  # set once the first load synced the clock
        # SLOs and deploys: their own task and request count, never part of a refresh.
        self.slo = SloReader(
            name,
            slos,
            service_label,
            deploys.format(service_label=service_label) if deploys else None,
            self.step_s,
            apply,
            self._slo_instant,
            self._slo_range,
            self.data_now,
            **({} if slo_every_s is None else {"every_s": slo_every_s}),
        )

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> asyncio.Task[None]:
        """Create the run task on the running loop (once)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self.run(), name=f"prometheus:{self.name}"
            )
        return self._task

    async def aclose(self) -> None:
        """Stop refreshing, close the HTTP client, report STOPPED; safe to call twice."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._http.aclose()
        self._set_status(ConnectionState.STOPPED, "stopped")

    def set_token(self, token: Secret | None) -> None:
        """New credentials: a link that failed authentication tries again."""
        self._auth.token = token
        self._credentials_changed.set()

    def queries_for(self, step: float) -> list[SignalQuery]:
        """The signal queries for range queries at `step` (the rate window follows the step)."""
        if step not in self._rendered:
            window = promql_duration(rate_window(step))
            self._rendered[step] = render_queries(self._overrides, self.service_label, window)
        return self._rendered[step]

    def server_now(self) -> float:
        """Best estimate of Prometheus' clock now."""
        if self._offset is None:
            return self._clock()
        return time.monotonic() + self._offset

    def data_now(self) -> float:
        """The newest moment (server clock) the server answers with data: now − its lag."""
        return self.server_now() - self.lag_s

    # ------------------------------------------------------------------ the run loop

    async def run(self) -> None:
        """Load history, then refresh every step until cancelled; auth failures wait."""
        watchdog = asyncio.ensure_future(self._watchdog())
        slos = asyncio.ensure_future(self._slo_loop())
        try:
            await self._loop()
        finally:
            for task in (watchdog, slos):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _slo_loop(self) -> None:
        """The SLO reader, once the server's clock is known (its queries are in that time)."""
        await self._clock_known.wait()
        await self.slo.run()

    async def _loop(self) -> None:
        while True:
            ran = True
            try:
                if self._last_end is None:
                    await self._first_load()
                else:
                    if self._probe_due():
                        await self._probe_lag()
                    ran = await self._refresh()
            except AuthFailed as exc:
                log.warning("%s: %s; not retrying until credentials change", self.name, exc)
                self._set_status(ConnectionState.AUTH_FAILED, str(exc))
                self._credentials_changed.clear()
                await self._credentials_changed.wait()
                self._backoff.reset()
                continue
            except (httpx.HTTPError, OSError) as exc:
                self._backoff.disconnected(time.monotonic())
                delay = self._backoff.next_delay()
                words = self._describe(exc)
                log.info("%s: refresh failed: %s", self.name, words)
                self._set_status(ConnectionState.RECONNECTING, words, round(delay, 1))
                await asyncio.sleep(delay)
                continue
            await asyncio.sleep(self._wait_s(ran))

    def _wait_s(self, ran: bool) -> float:
        """Seconds until the next step is readable, and never sooner than one step apart."""
        assert self._last_end is not None
        delay = next_due(self._last_end, self.step_s) - self.data_now()
        if self._last_start is not None:
            delay = max(delay, self._last_start + self.step_s - time.monotonic())
        return max(delay, 0.0 if ran else MIN_WAIT_S)

    async def _watchdog(self) -> None:
        """STALE once no new sample came for max(3 s, 2.5 × step)."""
        limit = stale_after(self.step_s)
        while True:
            await asyncio.sleep(WATCHDOG_TICK_S)
            # Before the first sample `_fetch` says "no samples yet"; the watchdog times
            # the silence after one.
            if self.status.state not in UP or self._last_new is None:
                continue
            now = time.monotonic()
            if now - self._last_new >= limit:
                self._set_status(ConnectionState.STALE, self._stale_detail(now))

    def _stale_detail(self, now: float) -> str:
        assert self._last_new is not None
        no_new = now - self._last_new
        # A new sample always comes in an answer, so _last_answer is set too.
        unanswered = now - (self._last_answer or self._last_new)
        words = silence_words(unanswered, no_new, stale_after(self.step_s))
        return _join(words, lag_words(self.lag_s), self._problems)

    async def _first_load(self) -> None:
        self._begin()
        await self._sync_clock()  # the backfill's range is in the server's time
        # Before the backfill: a lagging server would pad its last seconds with copies.
        await self._probe_lag()
        start, end, step = backfill_range(self.data_now(), self.history_s, self.step_s)
        await self._fetch(self.queries_for(step), start, end, step, BACKFILL_TIMEOUT_S, False)
        self._clock_known.set()

    def _probe_due(self) -> bool:
        if self._lag_probed is None:
            return True
        since = time.monotonic() - self._lag_probed
        if self.lag_s > 0.0 and since >= LAG_RECHECK_S:
            return True  # it may have caught up (or fallen further behind)
        return self._starved and since >= max(PROBE_RETRY_S, self.step_s)

    async def _probe_lag(self) -> None:
        """Measure how far behind the server answers; read again what came too early."""
        self._lag_probed = time.monotonic()
        self.lag_probes += 1
        asked = round(self.server_now(), 3)
        jobs: list[Any] = [self._instant(CLOCK_QUERY, "scalar", self.timeout_s, at=asked)]
        if self._freshness_promql is not None:
            jobs.append(self._instant(self._freshness_promql, "vector", self.timeout_s, at=asked))
        results = await asyncio.gather(*jobs, return_exceptions=True)
        _raise_first(results)
        evaluated = results[0].value if isinstance(results[0], Scalar) else None
        newest = None
        if len(results) > 1 and isinstance(results[1], Vector) and results[1].samples:
            newest = max(s.value for s in results[1].samples)
        lag = next_lag(self.lag_s, server_lag(asked, evaluated, newest, self.step_s))
        if lag == self.lag_s:
            return
        log.info(
            "%s: the server's data is %.1f s behind its clock (was %.1f s)",
            self.name,
            lag,
            self.lag_s,
        )
        if self._last_end is not None:
            self._last_end = rewind_for_lag(
                self._last_end, lag - self.lag_s, self._newest_ts, self.step_s
            )
        self.lag_s = lag

    async def _refresh(self) -> bool:
        rng = refresh_range(self.data_now(), self.step_s, self._last_end)
        if rng is None:
            return False
        self._begin()
        await self._fetch(self.live_queries, rng[0], rng[1], self.step_s, self.timeout_s, True)
        return True

    def _begin(self) -> None:
        self._in_refresh = 0
        self._last_start = time.monotonic()

    async def _fetch(
        self,
        queries: list[SignalQuery],
        start: float,
        end: float,
        step: float,
        timeout_s: float,
        sync_clock: bool,
    ) -> None:
        """Run one refresh's queries concurrently and hand what they say to the store."""
        runnable = [q for q in queries if q.promql]
        jobs: list[Any] = [self._range(q.promql, start, end, step, timeout_s) for q in runnable]
        if self._circuits_promql is not None:
            # The breakers as of the newest step read, like the signals beside them.
            jobs.append(self._instant(self._circuits_promql, "vector", timeout_s, at=end))
        if sync_clock:
            # Measured now, used for the next refresh's range: keeps the estimate fresh after
            # a suspend or an NTP step without a request of its own.
            jobs.append(self._sync_clock())
        results = await asyncio.gather(*jobs, return_exceptions=True)
        _raise_first(results)

        problems = [q.error for q in queries if q.error]
        if self.slo.problems:
            problems.append(self.slo.problems)
        answers: list[tuple[SignalQuery, Matrix]] = []
        for query, result in zip(runnable, results, strict=False):
            if isinstance(result, PromError):
                words = plain_words(result.status, result.error_type, result.message, query.signal)
                problems.append(words)
            elif isinstance(result, Matrix):
                answers.append((query, result))
        circuits = results[len(runnable)] if self._circuits_promql is not None else None
        if isinstance(circuits, PromError):
            problems.append(
                plain_words(circuits.status, circuits.error_type, circuits.message, "circuits")
            )
        elif self._circuits_error is not None:
            problems.append(self._circuits_error)

        merged = merge_signals(answers, self.service_label)
        if merged.unlabelled:
            self.unlabelled_series += merged.unlabelled
            problems.append(
                f"{merged.unlabelled} series without the {self.service_label!r} label ignored"
            )
        self._last_end = end
        self.refreshes += 1
        self.last_refresh_requests = self._in_refresh
        self._problems = "; ".join(dict.fromkeys(redact(p) for p in problems))

        if isinstance(circuits, Vector):
            self._update_circuits(circuits)
        if answers and merged.seen != self._services:
            self._services = merged.seen
            self._apply(
                SnapshotLoaded(
                    self.name,
                    services=tuple(Service(name=s, display_name=s) for s in sorted(merged.seen)),
                    circuits=tuple(self._circuits.values()),
                    clusters=(),
                    alerts=(),
                    ts=self.server_now(),
                )
            )
        now = time.monotonic()
        newest = float(merged.ts.max()) if merged.ts.size else None
        fresh = newest is not None and (self._newest_ts is None or newest > self._newest_ts)
        if newest is not None:
            self._apply(
                MetricsBatch(
                    self.name,
                    merged.services,
                    merged.ts,
                    merged.values,
                    merged.fields,
                    # The data age shown is the newest sample's, not the answer's.
                    age_at_arrival=max(0.0, self.server_now() - newest),
                )
            )
        if answers:
            self._last_answer = now
            self._backoff.connected(now)
        self._starved = bool(answers) and not fresh
        lag = lag_words(self.lag_s)
        if fresh:
            self._newest_ts, self._last_new = newest, now
            self._set_status(ConnectionState.LIVE, _join(lag, self._problems))
        elif not answers:
            # Prometheus answers, but not one signal does: the data stops, say why.
            self._set_status(ConnectionState.STALE, self._problems or "no signal answered")
        elif self._last_new is None:
            words = "no samples from Prometheus yet"
            self._set_status(ConnectionState.STALE, _join(words, lag, self._problems))
        elif self.status.state is ConnectionState.LIVE and now - self._last_new < stale_after(
            self.step_s
        ):
            # One step without news is within the limit; the watchdog says STALE after it.
            self._set_status(ConnectionState.LIVE, _join(lag, self._problems))
        else:
            self._set_status(ConnectionState.STALE, self._stale_detail(now))

    def _update_circuits(self, vector: Vector) -> None:
        for circuit in circuits_from_vector(vector):
            known = self._circuits.get(circuit.name)
            if known != circuit:  # the state, or its success rate, moved
                self._circuits[circuit.name] = circuit
                self._apply(CircuitChanged(self.name, circuit))

    # ------------------------------------------------------------------ requests

    async def _get(
        self, path: str, params: dict[str, str], timeout_s: float, in_refresh: bool = True
    ) -> tuple[httpx.Response, float, float]:
        """One HTTP request, counted; auth refusals raise AuthFailed."""
        self.requests_sent += 1
        self._in_refresh += in_refresh
        sent = time.monotonic()
        response = await self._http.get(path, params=params, timeout=timeout_s)
        received = time.monotonic()
        if response.status_code in _AUTH_STATUSES:
            raise AuthFailed(_auth_words(response.status_code))
        if not self._offset_precise and (date := response.headers.get("Date")):
            offset = clock_offset_from_date(date, sent, received)
            if offset is not None:
                self._offset = offset
        return response, sent, received

    def _server_timeout(self, timeout_s: float) -> str:
        # A little below ours, so Prometheus answers "timeout" in words before we give up.
        return promql_duration(max(1.0, timeout_s - 1.0))

    async def _range(
        self,
        promql: str,
        start: float,
        end: float,
        step: float,
        timeout_s: float,
        in_refresh: bool = True,
    ) -> Matrix | PromError:
        params = {
            "query": promql,
            "start": f"{start:.3f}",
            "end": f"{end:.3f}",
            "step": promql_duration(step),
            "timeout": self._server_timeout(timeout_s),
        }
        response, _, _ = await self._get("/api/v1/query_range", params, timeout_s, in_refresh)
        result = decode_answer(response.status_code, response.content, "matrix")
        assert isinstance(result, Matrix | PromError)
        return result

    async def _instant(
        self,
        promql: str,
        expect: ResultKind,
        timeout_s: float,
        at: float | None = None,
        in_refresh: bool = True,
    ) -> Vector | Scalar | PromError:
        params = {"query": promql, "timeout": self._server_timeout(timeout_s)}
        if at is not None:
            params["time"] = f"{at:.3f}"
        response, _, _ = await self._get("/api/v1/query", params, timeout_s, in_refresh)
        result = decode_answer(response.status_code, response.content, expect)
        assert not isinstance(result, Matrix)
        return result

    async def signal_history(
        self, fields: Sequence[str], start: float, end: float, step: float, timeout_s: float
    ) -> tuple[Merged, tuple[str, ...], tuple[str, ...]]:
        """The signals `fields` over a past range (the investigation's baseline): the merged
        rows, the queries sent, and what went wrong, in words. Never touches the link."""
        queries = [q for q in self.queries_for(step) if q.promql and q.field in fields]
        results = await asyncio.gather(
            *(self._range(q.promql, start, end, step, timeout_s, False) for q in queries),
            return_exceptions=True,
        )
        answers: list[tuple[SignalQuery, Matrix]] = []
        problems: list[str] = []
        for query, result in zip(queries, results, strict=True):
            if isinstance(result, Matrix):
                answers.append((query, result))
            elif isinstance(result, PromError):
                problems.append(
                    plain_words(result.status, result.error_type, result.message, query.signal)
                )
            else:
                problems.append(f"{query.signal}: {redact(str(result)) or type(result).__name__}")
        sent = tuple(q.promql for q in queries)
        return merge_signals(answers, self.service_label), sent, tuple(problems)

    async def _slo_instant(self, promql: str, at: float) -> Vector | PromError:
        # A whole window reads a month of samples: the first load's patience, not a step's.
        result = await self._instant(promql, "vector", BACKFILL_TIMEOUT_S, at, in_refresh=False)
        assert not isinstance(result, Scalar)
        return result

    async def _slo_range(
        self, promql: str, start: float, end: float, step: float
    ) -> Matrix | PromError:
        return await self._range(promql, start, end, step, BACKFILL_TIMEOUT_S, in_refresh=False)

    async def _sync_clock(self) -> None:
        """Estimate the server clock from `time()`, to the millisecond, less half the RTT."""
        params = {"query": CLOCK_QUERY}
        response, sent, received = await self._get("/api/v1/query", params, self.timeout_s)
        result = decode_answer(response.status_code, response.content, "scalar")
        clock = clock_from_time(result) if isinstance(result, Scalar) else None
        if clock is not None:
            self._offset = clock - (sent + received) / 2.0
            self._offset_precise = True

    # ------------------------------------------------------------------ status

    def _set_status(
        self, state: ConnectionState, detail: str = "", retry_in: float | None = None
    ) -> None:
        self._link.set(state, Transport.PROMETHEUS, detail, retry_in)

    @property
    def status(self) -> LinkStatus:
        return self._link.status

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, httpx.TimeoutException):
            return f"Prometheus at {self.url} did not answer within {self.timeout_s:g} s"
        if isinstance(exc, httpx.ConnectError | ConnectionRefusedError):
            return f"cannot reach Prometheus at {self.url} ({redact(str(exc) or 'refused')})"
        return f"lost Prometheus at {self.url} ({redact(str(exc) or type(exc).__name__)})"


def _raise_first(results: list[Any]) -> None:
    """Re-raise what stops the whole refresh: auth first, then the first transport error."""
    errors = [r for r in results if isinstance(r, BaseException)]
    for err in errors:
        if isinstance(err, AuthFailed | asyncio.CancelledError):
            raise err
    if errors:
        raise errors[0]


def _auth_words(status: int) -> str:
    if status == 401:
        return "Prometheus refused the credentials (HTTP 401)"
    return "the credentials may not query Prometheus (HTTP 403)"


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)

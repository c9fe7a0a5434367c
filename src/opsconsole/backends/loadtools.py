"""Clients of the load tools' own APIs (Locust's web UI, k6's REST API), read as `ToolStats`."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol

import httpx

from opsconsole.backends.errors import ApiError, AuthFailed, BackendError, InvalidAnswer
from opsconsole.backends.secrets import redact
from opsconsole.core.loadtest.spec import LoadTestSpec
from opsconsole.core.loadtest.toolstats import ToolStats
from opsconsole.core.protocol import ProtocolError

TIMEOUT_S = 2.0  # a tool that takes longer is as good as gone for a 1 s refresh

# k6's `lib.ExecutionStatus` is sent as its number (lib/execution.go, no JSON names).
K6_EXECUTION_STATUS = (
    "created",
    "init_vus",
    "init_executors",
    "init_done",
    "paused_before_run",
    "started",
    "setup",
    "running",
    "teardown",
    "ended",
    "interrupted",
    "marked_as_failed",
)
K6_STOP_BODY = {"data": {"type": "status", "id": "default", "attributes": {"stopped": True}}}
LOCUST_RUNNING = frozenset({"spawning", "running"})
# Locust's `PERCENTILES_TO_CHART` names a percentile by its fraction; these three are ours.
PERCENTILE_FIELDS = {0.5: "p50_ms", 0.95: "p95_ms", 0.99: "p99_ms"}
K6_PERCENTILE_KEYS = {"p50_ms": "med", "p95_ms": "p(95)", "p99_ms": "p(99)"}
K6_FRESH_READING_S = 0.5  # two readings closer than this give no rate of their own


class LoadToolClient(Protocol):
    """What the load-test watch needs of a tool: read it, stop it once, let it go."""

    tool: str
    url: str

    async def status(self) -> ToolStats: ...

    async def stop(self) -> None: ...

    async def aclose(self) -> None: ...


class _ToolApi:
    """The HTTP side every tool client shares: one short-timeout request, errors in words."""

    tool: ClassVar[str]
    looks_for: ClassVar[str]  # what a 404 means: the URL is something other than this

    def __init__(
        self,
        url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url.rstrip("/")
        self._clock = clock
        self.requests_sent = 0  # every request that went out, stops included
        self._http = httpx.AsyncClient(
            base_url=self.url,
            timeout=httpx.Timeout(TIMEOUT_S),
            trust_env=False,
            follow_redirects=False,
            headers={"User-Agent": "opsconsole/0.1", "Accept": "application/json"},
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def where(self, path: str) -> str:
        return f"{self.tool} at {self.url} ({path})"

    async def _send(self, method: str, path: str, body: object = None) -> httpx.Response:
        content = None if body is None else json.dumps(body).encode()
        headers = {} if content is None else {"Content-Type": "application/json"}
        self.requests_sent += 1
        try:
            response = await self._http.request(method, path, content=content, headers=headers)
        except httpx.TimeoutException:
            raise BackendError(
                f"{self.tool} at {self.url} did not answer within {TIMEOUT_S:g} s"
            ) from None
        except httpx.ConnectError as exc:
            words = redact(str(exc) or "connection refused")
            raise BackendError(f"cannot reach {self.tool} at {self.url} ({words})") from None
        except httpx.HTTPError as exc:
            words = redact(str(exc) or type(exc).__name__)
            raise BackendError(f"lost {self.tool} at {self.url} ({words})") from None
        status = response.status_code
        if status in (401, 403):
            raise AuthFailed(
                f"{self.tool} at {self.url} refused the request (HTTP {status}): "
                "is its web login on?"
            )
        if status == 404:
            raise ApiError(404, "not_found", f"{self.url} has no {path}: is it {self.looks_for}?")
        if status >= 300:
            raise ApiError(status, f"http_{status}", f"{self.where(path)} answered with an error")
        return response

    async def _get_json(self, path: str) -> dict[str, Any]:
        response = await self._send("GET", path)
        return self._decode(path, response.content)

    def _decode(self, path: str, content: bytes) -> dict[str, Any]:
        try:
            # The stdlib reader takes NaN and Infinity, so that they are named below.
            body = json.loads(content)
        except (ValueError, UnicodeDecodeError):
            raise self._invalid(path, "not JSON") from None
        if not isinstance(body, dict):
            raise self._invalid(path, "not a JSON object")
        return body

    def _invalid(self, path: str, reason: str) -> InvalidAnswer:
        return InvalidAnswer(self.where(path), ProtocolError("tool_answer", reason))

    def _number(self, path: str, value: object, name: str) -> float | None:
        """A figure of the answer: None if absent or null; a non-number or NaN is refused."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._invalid(path, f"{name} is not a number")
        if not math.isfinite(value):
            raise self._invalid(path, f"{name} is {value}")
        return float(value)


class LocustApi(_ToolApi):
    """Locust's web UI (locust/web.py): `GET /stats/requests` read, `/stop` to stop.

    Throughput and failures are the recent ones (`current_rps`, `current_fail_per_sec`: the
    last ~10 s), the percentiles the current ones Locust charts (`PERCENTILES_TO_CHART`, by
    default 0.5 and 0.95); a percentile it does not chart is None, never 0. Locust memoizes
    `/stats/requests` for up to 2 s, so a stop shows there within that.
    """

    tool = "Locust"
    looks_for = "Locust's web UI"

    async def status(self) -> ToolStats:
        path = "/stats/requests"
        body = await self._get_json(path)
        state = body.get("state")
        if not isinstance(state, str):
            raise self._invalid(path, "no state: not a Locust answer")
        users = self._number(path, body.get("user_count"), "user_count")
        rps = self._number(path, body.get("current_rps"), "current_rps")
        if rps is None:
            rps = self._number(path, body.get("total_rps"), "total_rps")
        return ToolStats(
            ts=self._clock(),
            state=state,
            running=state in LOCUST_RUNNING,
            stopped=state == "stopped",
            users=None if users is None else int(users),
            rps=rps,
            fail_ratio=self._fail_ratio(path, body),
            **self._percentiles(path, body.get("current_response_time_percentiles")),
        )

    def _fail_ratio(self, path: str, body: Mapping[str, Any]) -> float | None:
        rps = self._number(path, body.get("current_rps"), "current_rps")
        fails = self._number(path, body.get("current_fail_per_sec"), "current_fail_per_sec")
        if rps is not None and fails is not None and rps > 0:
            return min(1.0, fails / rps)
        return self._number(path, body.get("fail_ratio"), "fail_ratio")

    def _percentiles(self, path: str, chart: object) -> dict[str, float | None]:
        found: dict[str, float | None] = dict.fromkeys(PERCENTILE_FIELDS.values())
        if chart is None:
            return found
        if not isinstance(chart, dict):
            raise self._invalid(path, "current_response_time_percentiles is not an object")
        for key, value in chart.items():
            fraction = _fraction_of(key)
            if fraction in PERCENTILE_FIELDS:
                found[PERCENTILE_FIELDS[fraction]] = self._number(path, value, key)
        return found

    async def stop(self) -> None:
        """`POST /stop` (Locust 2.47 on); only if that method is refused, `GET /stop`.

        Before 2.47 the route took GET only. A 405 is Flask refusing the method before the
        stop handler runs, so the GET that follows it is the one and only stop that reaches
        Locust; nothing is retried after any other answer (the caller owns at-most-once).
        """
        try:
            response = await self._send("POST", "/stop")
        except ApiError as refused:
            if refused.status != 405:
                raise
            response = await self._send("GET", "/stop")
        body = self._decode("/stop", response.content)
        if body.get("success") is not True:
            message = body.get("message")
            words = f": {redact(message)}" if isinstance(message, str) and message else ""
            raise BackendError(f"{self.tool} at {self.url} did not stop{words}")


def _fraction_of(key: str) -> float | None:
    """0.95 for "response_time_percentile_0.95"; None for any other key."""
    prefix = "response_time_percentile_"
    if not key.startswith(prefix):
        return None
    try:
        return float(key[len(prefix) :])
    except ValueError:
        return None


class K6Api(_ToolApi):
    """k6's REST API (api/v1 in k6): `GET /v1/status`, `GET /v1/metrics`, `PATCH /v1/status`.

    k6's figures are totals over the whole run (`http_reqs.rate` is count / run time), so the
    throughput and failure ratio are taken from the change between two readings (at least
    0.5 s apart); the first reading gives the run's totals. Percentiles stay whole-run ones:
    k6 sends `med`, `p(90)`, `p(95)` (metrics/sink.go, whatever summaryTrendStats says), so
    p50 is `med`, p99 is None unless a k6 sends `p(99)`. Before any request, every figure
    of the requests is None: k6 would say 0 for an empty trend.
    """

    tool = "k6"
    looks_for = "k6's REST API (k6 run --address)"

    def __init__(
        self,
        url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(url, transport=transport, clock=clock)
        # The reading the next one is compared with: ts, requests, failed requests so far.
        self._last: tuple[float, float, float | None] | None = None
        self._recent: tuple[float | None, float | None] = (None, None)  # rps, fail ratio

    async def status(self) -> ToolStats:
        path = "/v1/status"
        attributes = _attributes(await self._get_json(path))
        if attributes is None or not isinstance(attributes.get("stopped"), bool):
            raise self._invalid(path, "no data.attributes.stopped: not a k6 status")
        stopped = attributes["stopped"]
        running = attributes.get("running") is True and not stopped
        users = self._number(path, attributes.get("vus"), "vus")
        metrics = self._metrics(await self._get_json("/v1/metrics"))
        now = self._clock()
        return ToolStats(
            ts=now,
            state=_k6_state(attributes, stopped),
            running=running,
            stopped=stopped,
            users=None if users is None else int(users),
            **self._request_figures(metrics, now),
        )

    def _metrics(self, body: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        path = "/v1/metrics"
        data = body.get("data")
        if not isinstance(data, list):
            raise self._invalid(path, "no data list: not k6 metrics")
        samples: dict[str, dict[str, Any]] = {}
        for entry in data:
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                raise self._invalid(path, "a metric without an id")
            attributes = entry.get("attributes")
            sample = attributes.get("sample") if isinstance(attributes, dict) else None
            if not isinstance(sample, dict):
                raise self._invalid(path, f"{entry['id']} has no sample")
            samples[entry["id"]] = sample
        return samples

    def _request_figures(
        self, metrics: Mapping[str, Mapping[str, Any]], now: float
    ) -> dict[str, float | None]:
        path = "/v1/metrics"
        reqs = metrics.get("http_reqs", {})
        count = self._number(path, reqs.get("count"), "http_reqs count")
        total_rate = self._number(path, reqs.get("rate"), "http_reqs rate")
        fail_rate = self._number(path, metrics.get("http_req_failed", {}).get("rate"), "rate")
        duration = metrics.get("http_req_duration", {})
        figures: dict[str, float | None] = {
            field: self._number(path, duration.get(key), f"http_req_duration {key}")
            for field, key in K6_PERCENTILE_KEYS.items()
        }
        if not count:  # no request yet: an empty trend reads 0 in k6, which is not a figure
            return {"rps": total_rate, "fail_ratio": None, **dict.fromkeys(figures)}
        # Every HTTP request adds one sample to http_reqs and one to http_req_failed.
        failed = None if fail_rate is None else float(round(count * fail_rate))
        last = self._last
        if last is None or count < last[1]:  # the first reading, or a new run: its totals
            self._last = (now, count, failed)
            self._recent = (total_rate, fail_rate)
        elif now - last[0] >= K6_FRESH_READING_S:
            sent = count - last[1]
            ratio = None
            if sent and failed is not None and last[2] is not None:
                ratio = min(1.0, max(0.0, (failed - last[2]) / sent))
            self._last = (now, count, failed)
            self._recent = (sent / (now - last[0]), ratio)
        rps, ratio = self._recent
        return {"rps": rps, "fail_ratio": ratio, **figures}

    async def stop(self) -> None:
        """One `PATCH /v1/status {"stopped": true}`, never repeated here."""
        response = await self._send("PATCH", "/v1/status", K6_STOP_BODY)
        attributes = _attributes(self._decode("/v1/status", response.content))
        if attributes is not None and attributes.get("stopped") is False:
            raise BackendError(f"{self.tool} at {self.url} did not stop")


def _attributes(body: Mapping[str, Any]) -> dict[str, Any] | None:
    data = body.get("data")
    attributes = data.get("attributes") if isinstance(data, dict) else None
    return attributes if isinstance(attributes, dict) else None


def _k6_state(attributes: Mapping[str, Any], stopped: bool) -> str:
    if stopped:
        return "stopped"
    if attributes.get("paused") is True:
        return "paused"
    status = attributes.get("status")
    if isinstance(status, int) and 0 <= status < len(K6_EXECUTION_STATUS):
        return K6_EXECUTION_STATUS[status]
    return "running" if attributes.get("running") is True else "not running"


def tool_client(
    spec: LoadTestSpec, *, transport: httpx.AsyncBaseTransport | None = None
) -> LoadToolClient:
    """The client of the tool a `[[loadtest]]` names."""
    if spec.tool == "k6":
        return K6Api(spec.url, transport=transport)
    return LocustApi(spec.url, transport=transport)

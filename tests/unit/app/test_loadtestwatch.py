"""The load-test watch's own rules: the stop is audited before it is sent, sent at most once,
its outcome watched (unknown while the tool cannot be read), and a blind backend stops nothing.

The tool is the k6 stand-in over real HTTP (k6 itself is not installed: docs/architecture.md);
the store is a real Store fed with live-timed samples, as a link would feed it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from opsconsole.app.loadtestwatch import LoadTestWatch
from opsconsole.backends.loadtools import tool_client
from opsconsole.core.audit import AuditLog, read_records
from opsconsole.core.events import CircuitChanged, ConnectionChanged, MetricsBatch, SnapshotLoaded
from opsconsole.core.loadtest.spec import Criterion, LoadTestSpec
from opsconsole.core.models import METRIC_FIELDS, Circuit, ConnectionState, LinkStatus, Service
from opsconsole.core.store import Store
from tests.support.k6standin import INTERRUPTED, K6StandIn
from tests.support.waiting import wait_until

CALM = {
    "latency_p50_ms": 20.0,
    "latency_p95_ms": 80.0,
    "latency_p99_ms": 150.0,
    "rps": 600.0,
    "error_ratio": 0.001,
    "cpu": 0.3,
    "memory": 0.4,
}


class Feed:
    """Samples of orders at the wall clock's time, every 50 ms, with values the test sets."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.values = dict(CALM)
        self.task: asyncio.Task[None] | None = None

    def live(self, state: ConnectionState = ConnectionState.LIVE) -> None:
        self.store.apply(ConnectionChanged("sim", LinkStatus(state)))

    async def run(self) -> None:
        while True:
            row = np.array([[self.values[f] for f in METRIC_FIELDS]])
            self.store.apply(
                MetricsBatch("sim", ("orders",), np.array([time.time()]), row, METRIC_FIELDS)
            )
            await asyncio.sleep(0.05)  # the feed's own sampling interval, not a wait


def spec(url: str) -> LoadTestSpec:
    return LoadTestSpec(
        name="checkout",
        tool="k6",
        url=url,
        services=("orders",),
        backend="sim",
        countdown_s=0.3,
        success=(Criterion("max_error_ratio", "error_ratio", 0.05, True, 1, 5, "success"),),
        stops=(Criterion("stop:error_ratio>0.1/0.3s", "error_ratio", 0.1, True, 0.5, 0.3, "stop"),),
    )


@pytest.fixture
async def k6() -> AsyncIterator[K6StandIn]:
    stand_in = K6StandIn(vus=5)
    await stand_in.start()
    stand_in.advance(10)
    stand_in.record(100, duration_ms=40)
    yield stand_in
    await stand_in.close()


@pytest.fixture
async def feed() -> AsyncIterator[Feed]:
    store = Store()
    f = Feed(store)
    f.live()
    f.task = asyncio.get_running_loop().create_task(f.run())
    yield f
    f.task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await f.task


def watch_of(k6: K6StandIn, feed: Feed, audit: AuditLog | None, **kw) -> LoadTestWatch:
    return LoadTestWatch(
        spec(k6.url), feed.store, tool_client(spec(k6.url)), audit, period_s=0.05, **kw
    )


def stops(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [r for _n, r in read_records(path) if r is not None and r["command"] == "loadtest.stop"]


async def test_an_unwritable_audit_log_means_the_stop_is_not_sent(
    k6: K6StandIn, feed: Feed, tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")  # the log's folder is a file: every append fails
    watch = watch_of(k6, feed, AuditLog(blocked / "audit.jsonl"), outcome_timeout_s=1.0)
    task = asyncio.get_running_loop().create_task(watch.run())
    try:
        await wait_until(lambda: watch.view.phase == "running", 10, "the test")
        feed.values["error_ratio"] = 0.5
        await wait_until(lambda: watch.view.stop_words is not None, 10, "the stop's words")
        assert watch.view.stop_words.startswith("not sent: the audit log cannot be written")
        assert watch.view.phase == "running"  # nothing was sent: the test still runs
        # It stays unsent: no retry behind the operator's back, whatever happens next.
        k6.stopped, k6.running, k6.status = True, False, INTERRUPTED
        result = await asyncio.wait_for(task, 10)
    finally:
        task.cancel()
    assert k6.stops_asked() == 0
    assert result.stop is None or "not sent" in (result.stop.outcome or "")


async def test_a_failed_stop_request_is_sent_once_and_settled_by_the_tool(
    k6: K6StandIn, feed: Feed, tmp_path: Path
) -> None:
    audit_path = tmp_path / "audit.jsonl"
    k6.override[("PATCH", "/v1/status")] = (500, b'{"errors": [{"detail": "busy"}]}')
    watch = watch_of(k6, feed, AuditLog(audit_path), outcome_timeout_s=20.0)
    task = asyncio.get_running_loop().create_task(watch.run())
    try:
        await wait_until(lambda: watch.view.phase == "running", 10, "the test")
        feed.values["error_ratio"] = 0.5
        await wait_until(lambda: watch.view.phase == "counting down", 10, "the countdown")
        await wait_until(
            lambda: "the stop request failed" in (watch.view.stop_words or ""), 10, "its failure"
        )
        assert [r["phase"] for r in stops(audit_path)] == ["intent"]  # before the request
        assert watch.view.phase == "stopping"  # neither succeeded nor failed: being watched
        # The tool stops after all, and the traffic falls: that settles it.
        k6.stopped, k6.running, k6.status = True, False, INTERRUPTED
        feed.values["rps"] = 100.0
        result = await asyncio.wait_for(task, 15)
    finally:
        task.cancel()
    assert k6.stops_asked() == 1  # once, never again
    records = stops(audit_path)
    assert [r["phase"] for r in records] == ["intent", "result"]
    assert records[1]["outcome"] == "succeeded", records[1]
    assert result.verdict == "stopped" and result.exit_code == 3


async def test_a_tool_that_goes_silent_after_the_stop_leaves_the_outcome_unknown(
    k6: K6StandIn, feed: Feed, tmp_path: Path
) -> None:
    audit_path = tmp_path / "audit.jsonl"
    watch = watch_of(k6, feed, AuditLog(audit_path), outcome_timeout_s=1.0, lost_after_s=1.0)
    task = asyncio.get_running_loop().create_task(watch.run())
    try:
        await wait_until(lambda: watch.view.phase == "running", 10, "the test")
        # From now on k6 answers nothing but its stop, which it takes and then goes quiet.
        k6.override[("GET", "/v1/status")] = (503, b"{}")
        feed.values["error_ratio"] = 0.5
        await asyncio.wait_for(task, 20)
    finally:
        task.cancel()
    assert k6.stops_asked() == 1
    records = stops(audit_path)
    assert [r["phase"] for r in records] == ["intent", "result"]
    assert records[1]["outcome"] == "unknown", records[1]
    assert "whether it stopped is unknown" in records[1]["message"]


async def test_a_blind_backend_neither_judges_nor_stops(k6: K6StandIn, feed: Feed) -> None:
    watch = watch_of(k6, feed, None)
    task = asyncio.get_running_loop().create_task(watch.run())
    try:
        await wait_until(lambda: watch.view.phase == "running", 10, "the test")
        feed.live(ConnectionState.RECONNECTING)
        feed.values["error_ratio"] = 0.9  # what the store holds, but the link is not live
        await wait_until(
            lambda: all(c.state == "no data" for c in watch.view.criteria), 10, "no data"
        )
        looks = 0

        def count(_view: object) -> None:
            nonlocal looks
            looks += 1

        watch.changed.connect(count)
        await wait_until(lambda: looks >= 20, 10, "twenty looks")  # 4× the stop's time
        assert watch.view.phase == "running" and k6.stops_asked() == 0
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_hold_keeps_the_test_running_and_release_resumes_the_countdown(
    k6: K6StandIn, feed: Feed, tmp_path: Path
) -> None:
    audit_path = tmp_path / "audit.jsonl"
    watch = LoadTestWatch(
        dataclasses.replace(spec(k6.url), countdown_s=2.0),
        feed.store,
        tool_client(spec(k6.url)),
        AuditLog(audit_path),
        period_s=0.05,
    )
    task = asyncio.get_running_loop().create_task(watch.run())
    try:
        await wait_until(lambda: watch.view.phase == "running", 10, "the test")
        with pytest.raises(ValueError, match="no stop countdown"):
            watch.hold()
        feed.values["error_ratio"] = 0.5
        await wait_until(lambda: watch.view.phase == "counting down", 10, "the countdown")
        assert "H releases" in watch.hold()
        left = watch.view.countdown_left_s
        looks = 0

        def count(_view: object) -> None:
            nonlocal looks
            looks += 1

        watch.changed.connect(count)
        await wait_until(lambda: looks >= 50, 10, "fifty looks while held")  # > the countdown
        assert watch.view.phase == "held" and k6.stops_asked() == 0
        assert watch.view.countdown_left_s == pytest.approx(left, abs=0.1)  # it kept its time
        watch.release()
        await wait_until(lambda: k6.stops_asked() == 1, 10, "the stop after the release")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    phases = [r["phase"] for _n, r in read_records(audit_path) if r is not None]
    assert phases[:3] == ["hold", "release", "intent"], phases


async def test_a_breaker_the_services_depend_on_opening_stops_the_test(
    k6: K6StandIn, feed: Feed, tmp_path: Path
) -> None:
    """A guard: no criterion is breached, yet orders' payment breaker opening stops the test."""
    audit_path = tmp_path / "audit.jsonl"
    orders = Service(name="orders", depends_on=("payment-service",))
    feed.store.apply(SnapshotLoaded("sim", (orders,), (), (), (), time.time()))
    watch = watch_of(k6, feed, AuditLog(audit_path), outcome_timeout_s=20.0)
    task = asyncio.get_running_loop().create_task(watch.run())
    try:
        await wait_until(lambda: watch.view.phase == "running", 10, "the test")
        assert all(c.state == "pass" for c in watch.view.criteria)
        feed.store.apply(CircuitChanged("sim", Circuit(state="open", name="payment-service")))
        await wait_until(lambda: watch.view.phase == "counting down", 10, "the countdown")
        assert watch.view.stop_reason is not None
        assert watch.view.stop_reason.words == "the breaker payment-service is open"
        await wait_until(lambda: k6.stops_asked() == 1, 10, "the stop")
        k6.stopped, k6.running, k6.status = True, False, INTERRUPTED
        feed.values["rps"] = 100.0
        result = await asyncio.wait_for(task, 15)
    finally:
        task.cancel()
    assert result.verdict == "stopped"
    assert [g.subject for g in result.guard_trips] == ["payment-service"]
    assert all(c.verdict != "held" for c in result.criteria)  # no criterion stopped it

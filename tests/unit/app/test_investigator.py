"""The investigation against the real reference backend: causes first, never ok when blind."""

from __future__ import annotations

import re
import time

import pytest

from opsconsole.app.investigator import Investigator, UnknownService
from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.core.investigate import Finding, Verdict
from opsconsole.core.models import ConnectionState
from opsconsole.core.store import Store
from opsconsole.core.timeline import TimelineEntry
from tests.support.tcpproxy import FaultProxy
from tests.support.waiting import wait_until

CALM_SAMPLES = 60  # a baseline of a few seconds at the test's 50 ms tick


def by_check(findings: tuple[Finding, ...]) -> dict[str, Finding]:
    return {f.check: f for f in findings}


async def live(store: Store, client_factory, url: str) -> object:
    client = client_factory(url)
    await wait_until(lambda: client.status.state is ConnectionState.LIVE, 10, "LIVE")
    series = store.backend("sim").series
    await wait_until(
        lambda: "orders" in series and len(series.get("orders")) >= CALM_SAMPLES, 20, "baseline"
    )
    return client


async def test_a_dependency_outage_names_the_open_breaker_before_the_orders_symptoms(
    sim_factory, store, client_factory
):
    sim = await sim_factory(time_scale=20, seed=3)
    client = await live(store, client_factory, sim.url)
    began = time.time()
    await client.scenario("dependency_outage", "inventory-service")
    state = store.backend("sim")
    await wait_until(lambda: state.circuits["inventory-service"].state == "open", 15, "open")
    p99_limit = state.services["orders"].thresholds.latency_p99_ms
    series = state.series.get("orders")
    await wait_until(
        lambda: float(series.values("latency_p99_ms")[-1]) > p99_limit, 15, "orders' p99 rose"
    )
    seen: list[Finding] = []
    investigator = Investigator(store, {"sim": client}, lambda: (), incident_start=lambda: began)
    run = await investigator.run("orders", seen.append)

    assert run.finished_ts - run.started_ts < 2.0
    checks = by_check(run.findings)
    dependency = checks["dependencies"]
    assert dependency.verdict is Verdict.INTERESTING
    assert "inventory-service breaker open at " in dependency.sentence
    assert "orders'" in dependency.sentence  # when, against the symptom
    golden = checks["golden_signals"]
    assert golden.verdict is Verdict.INTERESTING
    assert "p99 rose" in golden.sentence or "errors rose" in golden.sentence
    order = [f.check for f in run.findings]
    assert order.index("dependencies") < order.index("golden_signals")  # cause above effect
    # The console holds seconds, not the hour: the baseline was asked of the backend.
    assert golden.evidence.query is not None
    assert golden.evidence.query.startswith("GET /api/v1/metrics/historical?service=orders")
    assert sorted(f.check for f in seen) == sorted(f.check for f in run.findings)
    text = run.markdown()
    assert text.index("inventory-service breaker open") < text.index("**golden_signals**")
    entry = run.entry()
    assert entry.kind == "investigation" and entry.message.startswith("investigated orders: ")


async def test_an_error_burst_names_the_error_deviation_and_the_budget_burn(
    sim_factory, store, client_factory
):
    sim = await sim_factory(time_scale=20, seed=5)
    client = await live(store, client_factory, sim.url)
    began = time.time()
    await client.scenario("error_burst", "payments")
    state = store.backend("sim")
    await wait_until(lambda: "payments" in state.slos, 15, "payments' SLO")
    await wait_until(
        lambda: float(state.series.get("payments").values("error_ratio")[-1]) > 0.05,
        15,
        "payments' errors",
    )
    first_obs = state.slos["payments"]
    await wait_until(lambda: state.slos["payments"] is not first_obs, 15, "fresh SLO counts")
    run = await Investigator(store, {"sim": client}, lambda: (), incident_start=lambda: began).run(
        "payments"
    )
    checks = by_check(run.findings)
    assert checks["golden_signals"].verdict is Verdict.INTERESTING
    assert "errors rose" in checks["golden_signals"].sentence
    burn = checks["budget_burn"]
    assert burn.verdict is Verdict.INTERESTING, burn.sentence
    assert burn.sentence.startswith("payments burning its error budget: ")


async def test_a_backend_that_cannot_answer_is_could_not_look_never_ok(
    sim_factory, store, client_factory
):
    sim = await sim_factory(time_scale=20)
    proxy = FaultProxy("127.0.0.1", int(sim.url.rsplit(":", 1)[1]))
    await proxy.start()
    try:
        await live(store, client_factory, proxy.url)
        proxy.new_links_silent = True  # a hung backend: no bytes, no FIN, no RST
        proxy.silence_existing()
        state = store.backend("sim")
        await wait_until(lambda: state.link.state is not ConnectionState.LIVE, 15, "not live")
        run = await Investigator(store, {}, lambda: ()).run("orders")
        assert run.findings, "nothing reported"
        assert all(f.verdict is not Verdict.OK for f in run.findings)
        live_state = [f for f in run.findings if f.check not in ("telemetry", "recent_changes")]
        assert all(f.sentence.startswith("could not look: backend ") for f in live_state)
        changes = by_check(run.findings)["recent_changes"]  # what was seen before stays
        assert changes.sentence.startswith("could not look") or "later changes unseen" in (
            changes.sentence
        )
        telemetry = by_check(run.findings)["telemetry"]
        assert telemetry.verdict is Verdict.INTERESTING and "sim is" in telemetry.sentence
        assert re.search(r"newest sample \d+ s old", telemetry.sentence), telemetry.sentence
    finally:
        await proxy.stop()


async def test_a_history_read_that_hangs_is_timed_out_not_ok(sim_factory, store, client_factory):
    sim = await sim_factory(time_scale=20)
    client = await live(store, client_factory, sim.url)
    hung = FaultProxy("127.0.0.1", int(sim.url.rsplit(":", 1)[1]))
    await hung.start()
    try:
        hung.new_links_silent = True  # the history read goes through a link that never answers
        history_client = OpsApiClient("sim", hung.url, lambda event: None)  # REST only
        started = time.monotonic()
        run = await Investigator(
            store,
            {"sim": history_client},
            lambda: (),
            incident_start=lambda: time.time() - 1,
            check_timeout_s=0.5,
        ).run("orders")
        assert time.monotonic() - started < 5
        golden = by_check(run.findings)["golden_signals"]
        assert golden.verdict is Verdict.ERROR
        assert golden.sentence == "timed out after 0.5 s reading the backend's history"
        assert golden.evidence.query and "metrics/historical" in golden.evidence.query
        assert by_check(run.findings)["dependencies"].verdict is not Verdict.ERROR
        assert client.status.state is ConnectionState.LIVE  # the live link was never touched
    finally:
        await history_client.aclose()
        await hung.stop()


async def test_an_unknown_service_is_said_plainly(sim_factory, store, client_factory):
    sim = await sim_factory(time_scale=20)
    await live(store, client_factory, sim.url)
    with pytest.raises(UnknownService, match="no backend knows a service named 'nope'"):
        await Investigator(store, {}, lambda: ()).run("nope")


def test_the_start_is_the_earliest_related_alert_or_a_few_minutes_ago() -> None:
    store = Store(capacity=10)
    now = 1_700_000_000.0
    alert = TimelineEntry(
        ts=now - 900,
        backend="sim",
        kind="alert",
        service="orders",
        message="fired",
        data={"change": "fired"},
    )
    other = TimelineEntry(
        ts=now - 1800,
        backend="sim",
        kind="alert",
        service="search",
        message="fired",
        data={"change": "fired"},
    )
    investigator = Investigator(store, {}, lambda: ())
    assert investigator.start_for("orders", [alert, other], now) == now - 900
    assert investigator.start_for("orders", [], now) == now - 300
    opened = Investigator(store, {}, lambda: (), incident_start=lambda: now - 60)
    assert opened.start_for("orders", [alert], now) == now - 60

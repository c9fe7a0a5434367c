"""The investigation's checks on a real Store fed with events, and the order of their findings."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from opsconsole.core.events import (
    AlertChanged,
    CircuitChanged,
    ConnectionChanged,
    DeploysSeen,
    EventOccurred,
    MetricsBatch,
    SlosObserved,
    SnapshotLoaded,
)
from opsconsole.core.investigate import (
    CHECKS,
    Evidence,
    Finding,
    Inputs,
    Verdict,
    entry_findings,
    findings_markdown,
    investigation_entry,
    order_findings,
    run_check,
    run_checks,
)
from opsconsole.core.models import (
    METRIC_FIELDS,
    Alert,
    Circuit,
    ConnectionState,
    DbCluster,
    DbMember,
    Event,
    LinkStatus,
    Service,
)
from opsconsole.core.slo import Counts, Deploy, Slo, SloObservation, SloWindow
from opsconsole.core.store import Store
from opsconsole.core.timeline.entry import TimelineEntry

TS = 1_700_000_000.0  # 22:13:20 UTC: the incident's start
NOW = TS + 120.0
STEP = 5.0
CALM = {
    "latency_p50_ms": 10.0,
    "latency_p95_ms": 20.0,
    "latency_p99_ms": 100.0,
    "rps": 100.0,
    "error_ratio": 0.001,
    "cpu": 0.2,
    "memory": 0.3,
}
ORDERS = Service(
    name="orders",
    depends_on=("inventory", "inventory-service", "orders-db"),
)
INVENTORY = Service(name="inventory")
CLUSTER = DbCluster(
    name="orders-db",
    state="healthy",
    read_only=False,
    primary="db-1",
    members=(DbMember(name="db-1", role="primary", healthy=True),),
)


def feed(store: Store, service: str, change: dict[str, tuple[float, float]] | None = None) -> None:
    """An hour of calm rows before TS up to NOW; `change` = {field: (from_ts, value)}."""
    ts = np.arange(TS - 3600.0, NOW + STEP / 2, STEP)
    values = np.array([[CALM[f] for f in METRIC_FIELDS]] * len(ts))
    for field, (start, value) in (change or {}).items():
        values[ts >= start, METRIC_FIELDS.index(field)] = value
    store.apply(MetricsBatch("sim", (service,) * len(ts), ts, values, METRIC_FIELDS))


@pytest.fixture
def store() -> Store:
    s = Store(capacity=2000, clock=lambda: 1000.0)
    s.apply(SnapshotLoaded("sim", (ORDERS, INVENTORY), (), (CLUSTER,), (), ts=TS))
    s.apply(ConnectionChanged("sim", LinkStatus(ConnectionState.LIVE)))
    return s


def inputs(store: Store, timeline: tuple[TimelineEntry, ...] = ()) -> Inputs:
    return Inputs(store, "sim", "orders", TS, timeline)


def by_check(findings: tuple[Finding, ...]) -> dict[str, Finding]:
    return {f.check: f for f in findings}


def test_order_puts_interesting_first_earliest_start_first_then_ok_skipped_error() -> None:
    f = [
        Finding("e", "s", Verdict.ERROR, "e"),
        Finding("k", "s", Verdict.OK, "k"),
        Finding("late", "s", Verdict.INTERESTING, "late", started_ts=TS + 60),
        Finding("s", "s", Verdict.SKIPPED, "s"),
        Finding("nostart", "s", Verdict.INTERESTING, "n"),
        Finding("early", "s", Verdict.INTERESTING, "early", started_ts=TS + 19),
    ]
    assert [x.check for x in order_findings(f)] == ["early", "late", "nostart", "k", "s", "e"]


def test_an_open_breaker_that_started_before_the_error_rise_is_ordered_first(
    store: Store,
) -> None:
    feed(store, "orders", {"error_ratio": (TS + 60, 0.05)})
    feed(store, "inventory")
    breaker = Circuit(name="inventory-service", state="open", last_transition_ts=TS + 19)
    store.apply(CircuitChanged("sim", breaker))

    findings = run_checks(inputs(store), NOW)

    first = findings[0]
    assert first.check == "dependencies"
    assert first.verdict is Verdict.INTERESTING
    assert first.started_ts == TS + 19
    assert first.sentence == (
        "inventory-service breaker open at 22:13:39, 41 s before orders' errors rose"
    )
    golden = by_check(findings)["golden_signals"]
    assert golden.verdict is Verdict.INTERESTING
    assert golden.started_ts == TS + 60
    assert "errors rose from 22:14:20" in golden.sentence
    assert findings.index(golden) > 0
    assert golden.evidence.values["error_ratio baseline"] == pytest.approx(0.001)


def test_a_stale_backend_gives_could_not_look_and_never_ok(store: Store) -> None:
    feed(store, "orders")
    feed(store, "inventory")
    store.apply(ConnectionChanged("sim", LinkStatus(ConnectionState.STALE)))

    findings = run_checks(inputs(store), NOW)

    assert len(findings) == len(CHECKS)
    assert all(f.verdict is not Verdict.OK for f in findings)
    looked = by_check(findings)
    for check in ("golden_signals", "saturation", "dependencies", "database", "alerts"):
        assert looked[check].verdict is Verdict.SKIPPED
        assert looked[check].sentence == "could not look: backend STALE"
    assert looked["telemetry"].verdict is Verdict.INTERESTING
    assert "backend sim is STALE" in looked["telemetry"].sentence


def test_a_calm_live_service_is_ok_and_missing_sources_are_skipped(store: Store) -> None:
    feed(store, "orders")
    feed(store, "inventory")
    looked = by_check(run_checks(inputs(store), NOW))
    for check in ("golden_signals", "saturation", "dependencies", "database", "alerts"):
        assert looked[check].verdict is Verdict.OK, looked[check]
    assert looked["recent_changes"].verdict is Verdict.OK
    assert looked["telemetry"].verdict is Verdict.OK
    assert looked["budget_burn"].verdict is Verdict.SKIPPED
    assert looked["budget_burn"].sentence.startswith("skipped: no data source")


def test_no_series_is_skipped_not_ok(store: Store) -> None:
    looked = by_check(run_checks(inputs(store), NOW))
    assert looked["golden_signals"].verdict is Verdict.SKIPPED
    assert looked["saturation"].verdict is Verdict.SKIPPED
    assert looked["telemetry"].verdict is Verdict.INTERESTING
    assert "no series for orders" in looked["telemetry"].sentence


def test_saturation_names_cpu_over_its_limit_with_its_start(store: Store) -> None:
    feed(store, "orders", {"cpu": (TS + 30, 0.93)})
    finding = by_check(run_checks(inputs(store), NOW))["saturation"]
    assert finding.verdict is Verdict.INTERESTING
    assert finding.started_ts == TS + 30
    assert "cpu 93% > 80% since 22:13:50" in finding.sentence


def test_database_read_only_and_a_recent_failover_entry(store: Store) -> None:
    feed(store, "orders")
    store.apply(
        SnapshotLoaded(
            "sim",
            (ORDERS, INVENTORY),
            (),
            (DbCluster(name="orders-db", state="degraded", read_only=True, primary=None),),
            (),
            ts=TS,
        )
    )
    failover = TimelineEntry(
        ts=TS + 10, backend="sim", kind="failover", message="db-2 promoted", id=7
    )
    finding = by_check(run_checks(inputs(store, (failover,)), NOW))["database"]
    assert finding.verdict is Verdict.INTERESTING
    assert "orders-db is degraded" in finding.sentence
    assert "orders-db is read-only" in finding.sentence
    assert "role change at 22:13:30: db-2 promoted" in finding.sentence
    assert finding.evidence.entry_ids == (7,)
    assert finding.started_ts == TS + 10


def test_recent_changes_hold_deploys_and_restarts_from_the_timeline(store: Store) -> None:
    feed(store, "orders")
    store.apply(DeploysSeen("sim", (Deploy("d1", "orders", "v2", "v1", TS - 600, "ci"),)))
    old = Deploy("d0", "orders", "v1", "v0", TS - 3 * 3600, "ci")
    store.apply(DeploysSeen("sim", (old,)))
    restart = TimelineEntry(
        ts=TS + 5, backend="sim", kind="connection", message="Backend sim restarted", id=3
    )
    finding = by_check(run_checks(inputs(store, (restart,)), NOW))["recent_changes"]
    assert finding.verdict is Verdict.INTERESTING
    assert finding.sentence.startswith("2 change(s) in the last 2 h")
    assert "deploy orders v2 at 22:03:20" in finding.sentence
    assert "Backend sim restarted" in finding.sentence
    assert finding.evidence.entry_ids == (3,)


def test_alerts_on_the_service_and_its_dependencies_say_when_silenced(store: Store) -> None:
    feed(store, "orders")
    alert = Alert(
        id="a1",
        service="inventory",
        rule="HighErrorRate",
        severity="page",
        state="firing",
        since_ts=TS + 15,
        silenced_by=("s1",),
    )
    store.apply(AlertChanged("sim", alert))
    finding = by_check(run_checks(inputs(store), NOW))["alerts"]
    assert finding.verdict is Verdict.INTERESTING
    assert finding.sentence == "firing: HighErrorRate on inventory since 22:13:35 (silenced)"


def test_budget_burn_names_the_firing_tier(store: Store) -> None:
    feed(store, "orders")
    slo = Slo("orders", 0.999, SloWindow.rolling(30))
    burning = Counts(950.0, 1000.0)  # 5 % errors: burn 50
    windows = {w: burning for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d")}
    windows["window"] = Counts(99_000.0, 100_000.0)
    store.apply(SlosObserved("sim", (SloObservation(slo, NOW, windows),)))
    finding = by_check(run_checks(inputs(store), NOW))["budget_burn"]
    assert finding.verdict is Verdict.INTERESTING
    assert "page 1h/5m fires" in finding.sentence


def test_a_check_that_raises_is_an_error_finding(store: Store) -> None:
    def broken(_inputs: Inputs, _now: float) -> Finding:
        raise RuntimeError("boom")

    finding = run_check("broken", broken, inputs(store), NOW)
    assert finding.verdict is Verdict.ERROR
    assert finding.sentence == "error: RuntimeError: boom"


def test_markdown_lists_each_finding_with_the_evidence_of_interesting_ones() -> None:
    findings = (
        Finding(
            "dependencies",
            "orders",
            Verdict.INTERESTING,
            "inventory-service breaker open",
            Evidence(values={"x": 1.5}, thresholds={"y": 2.0}, query="up", entry_ids=(4, 5)),
        ),
        Finding("saturation", "orders", Verdict.OK, "no saturation"),
    )
    text = findings_markdown("orders", findings, TS)
    assert text.startswith("### Investigation: orders at 22:13:20 UTC\n")
    assert "- ❗ **dependencies** (interesting): inventory-service breaker open" in text
    assert "  - values: x = 1.5" in text
    assert "  - thresholds: y = 2" in text
    assert "  - query: `up`" in text
    assert "  - timeline entries: 4, 5" in text
    assert "- ✅ **saturation** (ok): no saturation" in text


def test_a_slow_dependency_that_started_after_the_service_says_after(store: Store) -> None:
    feed(store, "orders", {"error_ratio": (TS + 20, 0.05)})
    feed(store, "inventory", {"latency_p99_ms": (TS + 50, 1500.0)})
    finding = by_check(run_checks(inputs(store), NOW))["dependencies"]
    assert finding.verdict is Verdict.INTERESTING
    assert finding.sentence == "inventory p99 rose at 22:14:10, 30 s after orders' errors rose"
    assert finding.started_ts == TS + 50


def test_a_dependency_p99_under_one_second_is_not_slow(store: Store) -> None:
    feed(store, "orders")
    feed(store, "inventory", {"latency_p99_ms": (TS + 50, 900.0)})
    finding = by_check(run_checks(inputs(store), NOW))["dependencies"]
    assert finding.verdict is Verdict.OK


def test_replica_lag_over_its_limit_and_a_failover_event_in_the_store(store: Store) -> None:
    feed(store, "orders")
    lagging = DbCluster(
        name="orders-db",
        state="healthy",
        read_only=False,
        primary="db-1",
        members=(
            DbMember(name="db-1", role="primary", healthy=True),
            DbMember(name="db-2", role="replica", healthy=True, lag_bytes=5 * 1024 * 1024),
        ),
    )
    store.apply(SnapshotLoaded("sim", (ORDERS, INVENTORY), (), (lagging,), (), ts=TS))
    event = Event(ts=TS - 60, kind="failover", message="db-1 promoted")
    store.apply(EventOccurred("sim", event))
    finding = by_check(run_checks(inputs(store), NOW))["database"]
    assert finding.verdict is Verdict.INTERESTING
    assert "db-2 lags 5.0 MiB > 1.0 MiB limit" in finding.sentence
    assert "role change at 22:12:20: db-1 promoted" in finding.sentence
    assert finding.evidence.entry_ids == ()


def test_a_traffic_drop_is_a_deviation_and_yesterday_is_compared_where_held() -> None:
    store = Store(capacity=20_000, clock=lambda: 1000.0)
    store.apply(SnapshotLoaded("sim", (ORDERS, INVENTORY), (), (CLUSTER,), (), ts=TS))
    store.apply(ConnectionChanged("sim", LinkStatus(ConnectionState.LIVE)))
    ts = np.arange(NOW - 86_400.0 - 600.0, NOW + STEP / 2, 60.0)
    values = np.array([[CALM[f] for f in METRIC_FIELDS]] * len(ts))
    values[ts >= TS + 60, METRIC_FIELDS.index("rps")] = 10.0
    store.apply(MetricsBatch("sim", ("orders",) * len(ts), ts, values, METRIC_FIELDS))
    finding = by_check(run_checks(inputs(store), NOW))["golden_signals"]
    assert finding.verdict is Verdict.INTERESTING
    assert "traffic moved from 22:14:20" in finding.sentence
    assert "and the same time yesterday" in finding.sentence
    assert finding.evidence.values["rps yesterday"] == pytest.approx(100.0)
    assert finding.evidence.thresholds["rps low"] == pytest.approx(50.0)


def test_an_investigation_kept_on_the_timeline_gives_back_its_findings() -> None:
    findings = (
        Finding(
            "dependencies",
            "orders",
            Verdict.INTERESTING,
            "inventory-service breaker opened at 22:13:00, 20 s before orders' errors rose",
            Evidence(
                values={"state": "open", "lag": float("nan")},
                thresholds={"error_ratio": 0.01},
                time_range=(TS, NOW),
                query="GET /api/v1/circuits",
                entry_ids=(4, 9),
            ),
            TS - 20,
        ),
        Finding("saturation", "orders", Verdict.OK, "no saturation"),
        Finding("alerts", "orders", Verdict.SKIPPED, "could not look: backend STALE"),
    )
    entry = investigation_entry("orders", findings, NOW, TS)
    assert entry.kind == "investigation" and entry.service == "orders"
    assert entry.message == (
        "investigated orders: inventory-service breaker opened at 22:13:00, 20 s before "
        "orders' errors rose; 1 could not look"
    )
    stored = msgspec.json.decode(msgspec.json.encode(entry), type=TimelineEntry)
    back = entry_findings(stored)
    assert [f.sentence for f in back] == [f.sentence for f in findings]
    assert back[0].evidence.values["lag"] != back[0].evidence.values["lag"]  # NaN survives
    assert back[0].evidence.entry_ids == (4, 9) and back[0].started_ts == TS - 20
    assert back[1:] == findings[1:]
    assert entry_findings(TimelineEntry(ts=NOW, backend="sim", kind="info", message="x")) == ()


def test_a_burst_read_in_few_requests_per_sample_is_still_a_deviation_from_its_first_sample() -> (
    None
):
    # At a fast tick one sample holds three or four requests: a 15 % burst reads 0 % in most
    # samples and 25–33 % in the rest. The newest sample alone says "calm" half the time.
    ts = np.arange(TS - 600.0, NOW + 0.05 / 2, 0.05)
    values = np.array([[CALM[f] for f in METRIC_FIELDS]] * len(ts), dtype=np.float64)
    col = METRIC_FIELDS.index("error_ratio")
    values[:, col] = 0.0
    burst = np.flatnonzero(ts >= TS + 30)
    values[burst[::3], col] = 0.33  # every third sample has one failure in three
    values[-1, col] = 0.0  # and the newest happens to have none
    store = Store(capacity=20_000, clock=lambda: 1000.0)
    store.apply(SnapshotLoaded("sim", (ORDERS, INVENTORY), (), (CLUSTER,), (), ts=TS))
    store.apply(ConnectionChanged("sim", LinkStatus(ConnectionState.LIVE)))
    store.apply(MetricsBatch("sim", ("orders",) * len(ts), ts, values, METRIC_FIELDS))
    finding = by_check(run_checks(inputs(store), NOW))["golden_signals"]
    assert finding.verdict is Verdict.INTERESTING
    assert finding.started_ts == pytest.approx(ts[burst[0]])  # its first failing sample
    assert "errors rose from 22:13:50" in finding.sentence


def test_a_patroni_cluster_is_judged_by_its_own_limit_pause_and_unknown_lag(store: Store) -> None:
    feed(store, "orders")
    patroni = DbCluster(
        name="orders-db",
        state="healthy",
        read_only=False,
        primary="db-1",
        paused=True,
        max_lag_bytes=64 * 1024,
        members=(
            DbMember(name="db-1", role="primary", healthy=True),
            DbMember(name="db-2", role="replica", healthy=True, lag_bytes=100 * 1024),
            DbMember(name="db-3", role="replica", healthy=True, lag_known=False),
        ),
    )
    store.apply(SnapshotLoaded("sim", (ORDERS, INVENTORY), (), (patroni,), (), ts=TS))
    finding = by_check(run_checks(inputs(store), NOW))["database"]
    assert finding.verdict is Verdict.INTERESTING
    assert "db-2 lags 100.0 KiB > 64.0 KiB limit" in finding.sentence
    assert "db-3's lag is unknown" in finding.sentence
    assert "orders-db is in maintenance mode (no automatic failover)" in finding.sentence
    assert finding.evidence.values["db-3 lag bytes"] == "unknown"

"""The wall's alarm rules on a real store fed with events: what is critical, the worst, the link."""

from __future__ import annotations

import math

import numpy as np
import pytest

from opsconsole.core.alarms import (
    BUDGET_CRITICAL_WITHIN_S,
    alerts_alarm,
    breakers_alarm,
    budget_verdict,
    budgets_alarm,
    clusters_alarm,
    link_words,
    pressure,
    service_alarm,
    services_alarm,
    worst_service,
)
from opsconsole.core.events import ConnectionChanged, MetricsBatch, SlosObserved, SnapshotLoaded
from opsconsole.core.health import Health
from opsconsole.core.models import (
    METRIC_FIELDS,
    Alert,
    Circuit,
    ConnectionState,
    DbCluster,
    LinkStatus,
    Service,
    Thresholds,
)
from opsconsole.core.slo import Counts, Slo, SloObservation, SloWindow
from opsconsole.core.slo.budget import remaining_fraction
from opsconsole.core.store import Store

TS = 1_700_000_000.0
CALM = {
    "latency_p50_ms": 10.0,
    "latency_p95_ms": 20.0,
    "latency_p99_ms": 100.0,  # limit 500 ms
    "rps": 100.0,
    "error_ratio": 0.0,  # limit 1 %
    "cpu": 0.2,  # limit 80 %
    "memory": 0.3,  # limit 85 %
}


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> Store:
    return Store(capacity=32, clock=clock)


def snapshot(
    store: Store,
    backend: str = "sim",
    *,
    services: tuple[Service, ...] = (),
    circuits: tuple[Circuit, ...] = (),
    clusters: tuple[DbCluster, ...] = (),
    alerts: tuple[Alert, ...] = (),
) -> None:
    store.apply(SnapshotLoaded(backend, services, circuits, clusters, alerts, ts=TS))


def link(store: Store, state: ConnectionState, backend: str = "sim") -> None:
    store.apply(ConnectionChanged(backend, LinkStatus(state)))


def samples(
    store: Store,
    rows: dict[str, dict[str, float]],
    n: int = 4,
    backend: str = "sim",
    start: float = TS,
) -> None:
    """`n` one-second ticks of the same values per service (the newest at start + n - 1)."""
    names = tuple(rows)
    values = np.array([[{**CALM, **rows[s]}[f] for f in METRIC_FIELDS] for s in names])
    for i in range(n):
        ts = np.full(len(names), start + i)
        store.apply(MetricsBatch(backend, names, ts, values, METRIC_FIELDS))


def alert(id: str, since: float, *, severity: str = "page", state: str = "firing") -> Alert:
    return Alert(
        id=id,
        service="orders",
        rule=f"rule_{id}",
        severity=severity,  # type: ignore[arg-type]
        state=state,  # type: ignore[arg-type]
        since_ts=since,
    )


# ------------------------------------------------------------------ stale data proves nothing


def test_nothing_is_an_alarm_until_the_backend_is_live(store: Store) -> None:
    snapshot(
        store,
        services=(Service("orders", display_name="Orders"),),
        circuits=(Circuit(state="open", name="inventory-service"),),
        clusters=(DbCluster(name="orders-db", state="failed", read_only=False, primary=None),),
        alerts=(alert("a1", TS),),
    )
    samples(store, {"orders": {"latency_p99_ms": 700.0}})
    for state in (ConnectionState.CONNECTING, ConnectionState.STALE):
        link(store, state)
        assert services_alarm(store) is None
        assert service_alarm(store, "sim", "orders") is None
        assert breakers_alarm(store) is None
        assert clusters_alarm(store) is None
        assert alerts_alarm(store) is None
        assert worst_service(store) is None

    link(store, ConnectionState.LIVE)
    assert services_alarm(store) == "Orders CRITICAL — p99 700 ms > 500 ms"
    assert service_alarm(store, "sim", "orders") == "Orders CRITICAL — p99 700 ms > 500 ms"
    assert breakers_alarm(store) == "inventory-service circuit OPEN"
    assert clusters_alarm(store) == "orders-db FAILED"
    assert alerts_alarm(store) == "orders rule_a1 paging"
    assert worst_service(store) == ("sim", "orders")


# ------------------------------------------------------------------ services


def test_the_service_furthest_past_its_limit_comes_first(store: Store) -> None:
    snapshot(store, services=(Service("orders"), Service("search"), Service("users")))
    link(store, ConnectionState.LIVE)
    samples(
        store,
        {
            "orders": {"latency_p99_ms": 600.0},  # 1.2 × its limit
            "search": {"error_ratio": 0.05},  # 5 × its limit
            "users": {},
        },
    )
    assert services_alarm(store) == "search CRITICAL — errors 5.00 % > 1 % (+1 more)"
    assert worst_service(store) == ("sim", "search")


def test_services_are_judged_on_the_settled_median_not_one_sample(store: Store) -> None:
    snapshot(store, services=(Service("orders"),))
    link(store, ConnectionState.LIVE)
    samples(store, {"orders": {}}, n=4)
    # One slow tick among calm ones: the median of the last 3 s stays calm.
    spike = np.array([[{**CALM, "latency_p99_ms": 900.0}[f] for f in METRIC_FIELDS]])
    store.apply(MetricsBatch("sim", ("orders",), np.array([TS + 4]), spike, METRIC_FIELDS))
    assert services_alarm(store) is None
    assert service_alarm(store, "sim", "orders") is None


def test_one_service_alarm_needs_a_known_live_critical_service(store: Store) -> None:
    snapshot(store, services=(Service("orders"), Service("search")))
    link(store, ConnectionState.LIVE)
    samples(store, {"orders": {"cpu": 0.95}, "search": {}})
    assert service_alarm(store, "sim", "orders") == "orders CRITICAL — CPU 95 % > 80 %"
    assert service_alarm(store, "sim", "search") is None  # healthy
    assert service_alarm(store, "sim", "nothing") is None  # unknown service
    assert service_alarm(store, "other", "orders") is None  # unknown backend
    assert service_alarm(store, None, None) is None  # nothing selected
    assert service_alarm(store, "sim", None) is None


# ------------------------------------------------------------------ breakers, clusters, alerts


def test_only_open_breakers_are_an_alarm_by_name(store: Store) -> None:
    snapshot(
        store,
        circuits=(
            Circuit(state="open", name="search"),
            Circuit(state="half_open", name="payments"),
            Circuit(state="forced_open", name="billing"),  # an operator's choice, not news
            Circuit(state="open", name="inventory"),
            Circuit(state="closed", name="users"),
        ),
    )
    link(store, ConnectionState.LIVE)
    assert breakers_alarm(store) == "inventory circuit OPEN (+1 more)"


def test_failed_and_degraded_clusters_are_an_alarm_with_their_message(store: Store) -> None:
    snapshot(
        store,
        clusters=(
            DbCluster(name="users-db", state="healthy", read_only=False, primary="a"),
            DbCluster(
                name="orders-db",
                state="degraded",
                read_only=True,
                primary="primary-db",
                message="replica lagging",
            ),
        ),
    )
    link(store, ConnectionState.LIVE)
    assert clusters_alarm(store) == "orders-db DEGRADED — replica lagging"


def test_firing_pages_are_an_alarm_newest_first(store: Store) -> None:
    snapshot(
        store,
        alerts=(
            alert("old", TS - 600),
            alert("new", TS),
            alert("ticket", TS + 5, severity="ticket"),
            alert("gone", TS + 5, state="resolved"),
        ),
    )
    link(store, ConnectionState.LIVE)
    assert alerts_alarm(store) == "orders rule_new paging (+1 more)"


def test_a_calm_live_store_has_no_alarm(store: Store) -> None:
    snapshot(
        store,
        services=(Service("orders"),),
        circuits=(Circuit(state="closed", name="search"),),
        clusters=(DbCluster(name="orders-db", state="healthy", read_only=False, primary="p"),),
        alerts=(alert("a1", TS, state="resolved"),),
    )
    link(store, ConnectionState.LIVE)
    samples(store, {"orders": {}})
    assert [services_alarm(store), breakers_alarm(store)] == [None, None]
    assert [clusters_alarm(store), alerts_alarm(store)] == [None, None]


# ------------------------------------------------------------------ the worst service


def test_the_worst_service_goes_by_level_then_pressure(store: Store) -> None:
    snapshot(store, services=(Service("busy"), Service("blind"), Service("slow"), Service("idle")))
    link(store, ConnectionState.LIVE)
    no_data = dict.fromkeys(METRIC_FIELDS, math.nan)
    # Healthy at 75 % of a limit, yet one whose signals say nothing ranks first: the Services
    # table puts a service without data above the healthy ones, and so does the wall.
    samples(store, {"busy": {"cpu": 0.6}, "blind": no_data})
    assert worst_service(store) == ("sim", "blind")
    # A warning (≥ 80 % of a limit) goes before it, a critical one before that.
    samples(store, {"slow": {"latency_p99_ms": 450.0}}, start=TS + 4)
    assert worst_service(store) == ("sim", "slow")
    samples(store, {"busy": {"cpu": 0.9}}, start=TS + 4)
    assert worst_service(store) == ("sim", "busy")
    # "idle" never had a sample: never picked, there is nothing to chart.


def test_of_two_alike_the_name_decides_so_the_pick_never_flips(store: Store) -> None:
    snapshot(store, services=(Service("b"), Service("a"), Service("c")))
    link(store, ConnectionState.LIVE)
    samples(store, {"b": {"cpu": 0.4}, "a": {"cpu": 0.4}, "c": {"cpu": 0.2}})
    assert worst_service(store) == ("sim", "a")
    assert services_alarm(store) is None


def test_the_worst_service_is_looked_for_across_live_backends_only(store: Store) -> None:
    snapshot(store, "east", services=(Service("orders"),))
    snapshot(store, "west", services=(Service("orders"),))
    link(store, ConnectionState.LIVE, "east")
    link(store, ConnectionState.LIVE, "west")
    samples(store, {"orders": {"cpu": 0.5}}, backend="east")
    samples(store, {"orders": {"cpu": 0.9}}, backend="west")
    assert worst_service(store) == ("west", "orders")
    assert services_alarm(store) == "orders CRITICAL — CPU 90 % > 80 %"
    link(store, ConnectionState.STALE, "west")
    assert worst_service(store) == ("east", "orders")
    assert services_alarm(store) is None


def test_pressure_is_the_largest_signal_to_limit_ratio() -> None:
    limits = Thresholds(latency_p99_ms=500.0, error_ratio=0.01, cpu=0.8, memory=0.0)
    assert pressure({"latency_p99_ms": 250.0, "cpu": 0.6}, limits) == pytest.approx(0.75)
    # No data (NaN), a missing signal and a zero limit (none set) say nothing.
    assert pressure({"latency_p99_ms": math.nan, "memory": 0.99}, limits) == 0.0
    assert pressure({}, limits) == 0.0


# ------------------------------------------------------------------ the link in words


def test_link_words_say_live_and_how_old_the_data_is(store: Store, clock: FakeClock) -> None:
    assert link_words(store) == ("NO DATA", Health.UNKNOWN)
    snapshot(store, services=(Service("orders"),))
    link(store, ConnectionState.CONNECTING)
    assert link_words(store) == ("CONNECTING · no data yet", Health.UNKNOWN)
    link(store, ConnectionState.LIVE)
    assert link_words(store) == ("LIVE · no data yet", Health.UNKNOWN)
    samples(store, {"orders": {}})
    assert link_words(store) == ("LIVE · data < 1 s old", Health.HEALTHY)
    clock.now += 75
    assert link_words(store) == ("LIVE · data 1 min 15 s old", Health.HEALTHY)
    assert link_words(store, now=clock.now + 5) == ("LIVE · data 1 min 20 s old", Health.HEALTHY)


def test_link_words_name_the_first_link_down(store: Store, clock: FakeClock) -> None:
    for backend in ("east", "west"):
        snapshot(store, backend, services=(Service("orders"),))
        link(store, ConnectionState.LIVE, backend)
        samples(store, {"orders": {}}, backend=backend)
    clock.now += 12
    samples(store, {"orders": {}}, n=5, backend="east")  # east has newer data
    link(store, ConnectionState.STALE, "west")
    # The down link's word and its data's age, not the fresh backend's.
    assert link_words(store) == ("STALE · data 12 s old", Health.UNKNOWN)
    link(store, ConnectionState.RECONNECTING, "east")
    assert link_words(store) == ("RECONNECTING · data 12 s old", Health.UNKNOWN)


# ------------------------------------------------------------------ error budgets

DAY = 86_400.0
MONTH = 30 * DAY


def slo_obs(
    service: str,
    *,
    left: float | None = 0.9,
    burns: dict[str, float] | None = None,
    requests: float = 100_000.0,
) -> SloObservation:
    """A 99.9 % / rolling 30 d SLO with `left` of its budget and the given burn per window
    (each window `requests` requests; the whole window ten million)."""
    budget = 0.001
    windows: dict[str, Counts] = {}
    if left is not None:
        total = 10_000_000.0
        bad = (1.0 - left) * budget * total
        windows["window"] = Counts(total - bad, total)
    for window, burn in (burns or {}).items():
        bad = burn * budget * requests
        windows[window] = Counts(requests - bad, requests)
    return SloObservation(Slo(service, 0.999, SloWindow.rolling(30)), TS, windows)


def observe(store: Store, *observations: SloObservation, backend: str = "sim") -> None:
    store.apply(SlosObserved(backend, tuple(observations)))


def test_a_page_tier_firing_is_a_critical_burn_that_holds_the_wall(store: Store) -> None:
    snapshot(store)
    link(store, ConnectionState.LIVE)
    # 20× on both the hour and the last 5 minutes: the workbook's first page tier (14.4).
    observe(
        store,
        slo_obs("orders", burns={"5m": 20.0, "1h": 20.0, "6h": 3.0}),
        slo_obs("search", burns={"5m": 0.5, "1h": 0.5, "6h": 0.5}),
    )
    verdict = budget_verdict(store.backend("sim").slos["orders"])
    assert verdict.level is Health.CRITICAL and verdict.paging
    assert verdict.firing is not None and verdict.firing.tier.name == "page 1h/5m"
    assert budgets_alarm(store) == "orders error budget — page 1h/5m burning 20×"
    # Stale data proves nothing, here as on every other page.
    link(store, ConnectionState.STALE)
    assert budgets_alarm(store) is None


def test_tiles_are_coloured_by_when_the_budget_runs_out(store: Store) -> None:
    snapshot(store)
    link(store, ConnectionState.LIVE)
    cases = {
        # 90 % left at 2×: 0.9 × 30 d ÷ 2 = 13.5 d, before the window ends: warning.
        "warn": (slo_obs("warn", burns={"1h": 2.0}), Health.WARNING, 0.9 * MONTH / 2.0),
        # 5 % left at 2×: 0.05 × 30 d ÷ 2 = 18 h, within a day: critical (no tier pages).
        "soon": (slo_obs("soon", left=0.05, burns={"1h": 2.0}), Health.CRITICAL, 0.75 * DAY),
        # 90 % left at 0.5×: 54 d, after the window: it lasts.
        "calm": (slo_obs("calm", burns={"1h": 0.5}), Health.HEALTHY, 0.9 * MONTH / 0.5),
    }
    observe(store, *(obs for obs, _, _ in cases.values()))
    for name, (obs, level, seconds) in cases.items():
        verdict = budget_verdict(obs)
        assert verdict.level is level, name
        assert verdict.runs_out is not None and verdict.runs_out.window == "1h"
        assert verdict.runs_out.seconds == pytest.approx(seconds), name
        assert not verdict.paging
    assert budget_verdict(cases["soon"][0]).runs_out.seconds < BUDGET_CRITICAL_WITHIN_S  # type: ignore[union-attr]
    assert budget_verdict(cases["warn"][0]).words.startswith("runs out in 13 d")
    assert budget_verdict(cases["calm"][0]).words == "lasts the window"
    assert budgets_alarm(store) is None  # running out is a colour; only a page tier holds


def test_the_sooner_of_the_1h_and_6h_projections_counts(store: Store) -> None:
    # The hour is calm, the six hours burned at 4×: 0.9 × 30 d ÷ 4 = 6.75 d.
    verdict = budget_verdict(slo_obs("orders", burns={"1h": 0.2, "6h": 4.0}))
    assert verdict.runs_out is not None and verdict.runs_out.window == "6h"
    assert verdict.runs_out.seconds == pytest.approx(6.75 * DAY)
    assert verdict.level is Health.WARNING


def test_used_up_overspent_and_unknown_budgets(store: Store) -> None:
    used = budget_verdict(slo_obs("a", left=0.0, burns={"1h": 0.0}))
    assert used.budget.fraction == 0.0 and used.level is Health.CRITICAL
    assert used.words == "used up"
    over = budget_verdict(slo_obs("b", left=-0.12))
    assert over.level is Health.CRITICAL and over.words == "overspent by 12 %"
    # The tile reads the same remaining budget as the maths from counts.
    counts = over.obs.counts("window")
    assert counts is not None
    assert over.budget.fraction == pytest.approx(
        remaining_fraction(counts.bad, counts.total, 0.001)
    )
    assert budget_verdict(slo_obs("c", left=None, burns={"1h": 1.0})).level is Health.UNKNOWN
    quiet = budget_verdict(slo_obs("d", burns={"1h": 1.0}, requests=20.0))
    assert quiet.level is Health.UNKNOWN and quiet.words == "too little traffic"

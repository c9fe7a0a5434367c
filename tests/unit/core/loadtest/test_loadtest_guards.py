"""Guard rails from a real Store (SLO page tiers, breakers, db lag) and the tool/server warnings."""

from __future__ import annotations

from opsconsole.core.events import CircuitChanged, ClusterChanged, SlosObserved, SnapshotLoaded
from opsconsole.core.loadtest.budget import budget_consumed, budget_left
from opsconsole.core.loadtest.guards import guard_trips
from opsconsole.core.loadtest.spec import Guards
from opsconsole.core.loadtest.toolstats import ToolStats
from opsconsole.core.models import Circuit, DbCluster, DbMember, Service
from opsconsole.core.slo import Counts, Slo, SloObservation, SloWindow
from opsconsole.core.store import Store
from tests.unit.core.loadtest.feeding import BACKEND, T0, Run, spec, stop

SERVICES = ("orders", "payments")


def slo_obs(service: str, burn: float, left: float = 0.9) -> SloObservation:
    """A 99.9 % / 30 d SLO burning at `burn` on every short window, with `left` of its budget."""
    budget, requests, total = 0.001, 100_000.0, 10_000_000.0
    windows = {"window": Counts(total - (1 - left) * budget * total, total)}
    for window in ("5m", "30m", "1h", "2h", "6h", "1d", "3d"):
        bad = burn * budget * requests
        windows[window] = Counts(requests - bad, requests)
    return SloObservation(Slo(service, 0.999, SloWindow.rolling(30)), T0, windows)


def cluster(lag: int, limit: int | None = None) -> DbCluster:
    return DbCluster(
        name="main",
        state="healthy",
        read_only=False,
        primary="pg1",
        members=(
            DbMember(name="pg1", role="primary", healthy=True),
            DbMember(name="pg2", role="replica", healthy=True, lag_bytes=lag),
        ),
        max_lag_bytes=limit,
    )


def test_each_guard_trips_on_its_own_alarm_for_the_services_under_test() -> None:
    store = Store()
    assert guard_trips(store, BACKEND, SERVICES, Guards()) == ()
    store.apply(SlosObserved(BACKEND, (slo_obs("orders", 20.0), slo_obs("search", 50.0))))
    store.apply(CircuitChanged(BACKEND, Circuit(state="open", name="orders->payments")))
    store.apply(CircuitChanged(BACKEND, Circuit(state="open", name="search->ads")))
    store.apply(CircuitChanged(BACKEND, Circuit(state="half_open", name="payments")))
    store.apply(ClusterChanged(BACKEND, cluster(lag=5 * 2**20)))
    trips = guard_trips(store, BACKEND, SERVICES, Guards())
    assert [(t.kind, t.subject) for t in trips] == [
        ("budget_page", "orders"),
        ("breaker_open", "orders->payments"),
        ("db_lag", "main/pg2"),
    ]
    assert trips[0].words == "orders: the error-budget page tier page 1h/5m fires"
    assert trips[1].words == "the breaker orders->payments is open"
    assert trips[2].words == "database main: pg2 lags 5.0 MiB, over its 1.0 MiB limit"
    off = Guards(budget_page=False, breaker_open=False, db_lag=False)
    assert guard_trips(store, BACKEND, SERVICES, off) == ()


def test_quiet_guards_do_not_trip() -> None:
    store = Store()
    store.apply(SlosObserved(BACKEND, (slo_obs("orders", 2.0),)))  # a ticket burn, not a page
    store.apply(CircuitChanged(BACKEND, Circuit(state="closed", name="orders->payments")))
    store.apply(ClusterChanged(BACKEND, cluster(lag=5 * 2**20, limit=10 * 2**20)))
    assert guard_trips(store, BACKEND, SERVICES, Guards()) == ()
    store.apply(CircuitChanged(BACKEND, Circuit(state="forced_open", name="payments")))
    (trip,) = guard_trips(store, BACKEND, SERVICES, Guards())
    assert trip.words == "the breaker payments is forced open"


def test_breakers_and_clusters_the_services_depend_on_are_theirs() -> None:
    """The Ops API names a service's breakers and database in its `depends_on`."""
    store = Store()
    services = (
        Service(name="orders", depends_on=("payments", "payment-service", "main")),
        Service(name="search", depends_on=("search-service", "other")),
    )
    other = DbCluster(
        name="other",
        state="healthy",
        read_only=False,
        primary="o1",
        members=(DbMember(name="o2", role="replica", healthy=True, lag_bytes=50 * 2**20),),
    )
    lagging_main = cluster(lag=5 * 2**20)
    store.apply(SnapshotLoaded(BACKEND, services, (), (lagging_main, other), (), T0))
    store.apply(CircuitChanged(BACKEND, Circuit(state="open", name="payment-service")))
    store.apply(CircuitChanged(BACKEND, Circuit(state="open", name="search-service")))
    trips = guard_trips(store, BACKEND, ("orders",), Guards())
    assert [(t.kind, t.subject) for t in trips] == [
        ("breaker_open", "payment-service"),
        ("db_lag", "main/pg2"),  # not other/o2: orders does not depend on it
    ]


def test_a_guard_trip_stops_at_once_and_only_when_its_guard_is_on() -> None:
    store = Store()
    store.apply(CircuitChanged(BACKEND, Circuit(state="open", name="orders->payments")))
    run = Run(spec(stop("error_ratio", 0.01)), store)
    run.tick(0)
    trips = guard_trips(store, BACKEND, SERVICES, run.spec.guards)
    run.tick(1)
    run.observe(1, trips=trips)
    due = run.referee.stop_due
    assert due is not None
    assert (due.key, due.words, due.since) == (
        "guard:breaker_open:orders->payments",
        "the breaker orders->payments is open",
        T0 + 1,
    )
    result = run.referee.finish(T0 + 2, due)
    assert (result.verdict, result.exit_code) == ("stopped", 3)
    assert [g.subject for g in result.guard_trips] == ["orders->payments"]

    switched_off = Run(spec(stop("error_ratio", 0.01), guards=Guards(breaker_open=False)), store)
    switched_off.tick(0)
    switched_off.observe(0, trips=trips)
    assert switched_off.referee.stop_due is None


def test_budget_consumed_is_what_the_test_spent_never_negative() -> None:
    store = Store()
    store.apply(SlosObserved(BACKEND, (slo_obs("orders", 1.0, left=0.9),)))
    before = budget_left(store, BACKEND, SERVICES)
    store.apply(SlosObserved(BACKEND, (slo_obs("orders", 1.0, left=0.75),)))
    after = budget_left(store, BACKEND, SERVICES)
    spent = budget_consumed(before, after)
    assert spent["payments"] is None
    assert abs(spent["orders"] - 0.15) < 1e-9  # type: ignore[operator]
    assert budget_consumed(after, before)["orders"] == 0.0


def running(**figures: float) -> ToolStats:
    return ToolStats(ts=T0, state="running", running=True, stopped=False, **figures)  # type: ignore[arg-type]


def test_client_failures_the_server_never_saw_are_a_warning_once_they_last() -> None:
    run = Run(spec(stop("error_ratio", 0.5)))
    tool = running(rps=1200.0, fail_ratio=0.2)
    for t in range(10):
        run.tick(t, tool=tool)
    assert run.referee.warnings == ()  # a disagreement must last 10 s
    run.tick(10, tool=tool)
    (words,) = run.referee.warnings
    assert words.startswith("The load tool counts 20 % of its requests as failed")
    assert "services report 0 % errors" in words
    run.tick(11, tool=running(rps=1200.0, fail_ratio=0.0))
    assert run.referee.warnings == ()
    result = run.referee.finish(T0 + 12, None)
    assert result.warnings == (words,)


def test_a_tool_sending_far_more_than_the_services_count_is_a_warning() -> None:
    run = Run(spec(stop("error_ratio", 0.5)))
    tool = running(rps=5000.0, fail_ratio=0.0)
    for t in range(11):
        run.tick(t, tool=tool)  # the services count 1,200 rps
    (words,) = run.referee.warnings
    assert words == (
        "The load tool sends 5,000 requests per second, but these services count 1,200: "
        "check that the test targets them."
    )
    agree = Run(spec(stop("error_ratio", 0.5)))
    for t in range(20):
        agree.tick(t, tool=running(rps=1000.0, fail_ratio=0.001))
    assert agree.referee.warnings == ()

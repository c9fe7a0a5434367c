"""The store: applies core events, keeps per-backend state, announces changes via signals."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from opsconsole.core.events import (
    ActionFinished,
    AlertChanged,
    CircuitChanged,
    ClusterChanged,
    ConnectionChanged,
    DataReceived,
    EventOccurred,
    FrameRejected,
    HistoryLoaded,
    MetricsBatch,
    SnapshotLoaded,
    StoreEvent,
)
from opsconsole.core.models import (
    METRIC_FIELDS,
    Alert,
    Circuit,
    ConnectionState,
    DbCluster,
    Event,
    LinkStatus,
    Service,
    Transport,
)
from opsconsole.core.store import EVENT_HISTORY, Store

TS = 1_700_000_000.0
SIGNALS = (
    "services_changed",
    "metrics_appended",
    "circuit_changed",
    "cluster_changed",
    "alert_changed",
    "event_added",
    "action_finished",
    "connection_changed",
    "frame_rejected",
    "resynced",
)


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Recorder:
    """Every signal of a store connected to a plain callable; calls kept in order."""

    def __init__(self, store: Store) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        for name in SIGNALS:
            getattr(store, name).connect(self._slot(name))

    def _slot(self, name: str) -> Callable[..., None]:
        def slot(*args: Any) -> None:
            self.calls.append((name, args))

        return slot

    def of(self, name: str) -> list[tuple[Any, ...]]:
        return [args for n, args in self.calls if n == name]

    def names(self) -> list[str]:
        return [n for n, _ in self.calls]

    def clear(self) -> None:
        self.calls.clear()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> Store:
    return Store(capacity=16, clock=clock)


@pytest.fixture
def rec(store: Store) -> Recorder:
    return Recorder(store)


def circuit(name: str, state: str = "closed", **kw: Any) -> Circuit:
    return Circuit(state=state, name=name, **kw)  # type: ignore[arg-type]


def cluster(name: str = "orders-db", state: str = "healthy") -> DbCluster:
    return DbCluster(name=name, state=state, read_only=False, primary="primary-db")  # type: ignore[arg-type]


def alert(id: str = "a-1", state: str = "firing") -> Alert:
    return Alert(
        id=id,
        service="checkout",
        rule="latency_p99_high",
        severity="page",
        state=state,  # type: ignore[arg-type]
        since_ts=TS,
    )


def snapshot(backend: str = "sim", resync: bool = False, **kw: Any) -> SnapshotLoaded:
    fields: dict[str, Any] = {
        "services": (Service("checkout"), Service("payments")),
        "circuits": (circuit("payments", "open"), circuit("search")),
        "clusters": (cluster(),),
        "alerts": (alert(),),
        "ts": TS,
        "resync": resync,
    }
    fields.update(kw)
    return SnapshotLoaded(backend, **fields)


def metrics(
    rows: list[tuple[str, float]],
    backend: str = "sim",
    fields: tuple[str, ...] = METRIC_FIELDS,
    values: np.ndarray | None = None,
) -> MetricsBatch:
    ts = np.array([t for _, t in rows], dtype=np.float64)
    if values is None:
        values = np.tile(np.arange(len(fields), dtype=np.float64), (len(rows), 1))
    return MetricsBatch(backend, tuple(n for n, _ in rows), ts, values, fields)


# ------------------------------------------------------------------ snapshot


def test_snapshot_sets_state_and_announces_everything(store: Store, rec: Recorder) -> None:
    ev = snapshot()
    store.apply(ev)
    state = store.backend("sim")
    assert set(state.services) == {"checkout", "payments"}
    assert set(state.circuits) == {"payments", "search"}
    assert state.clusters["orders-db"] == cluster()
    assert state.alerts["a-1"] == alert()
    assert rec.of("services_changed") == [("sim",)]
    assert sorted(c.name for _, c in rec.of("circuit_changed")) == ["payments", "search"]
    assert rec.of("cluster_changed") == [("sim", cluster())]
    assert rec.of("alert_changed") == [("sim", alert())]
    assert rec.of("resynced") == []
    assert state.resyncs == 0


def test_snapshot_replaces_previous_state(store: Store) -> None:
    store.apply(snapshot())
    store.apply(
        snapshot(
            services=(Service("search"),),
            circuits=(circuit("search", "forced_open"),),
            clusters=(),
            alerts=(alert("a-2"),),
        )
    )
    state = store.backend("sim")
    assert list(state.services) == ["search"]
    assert list(state.circuits) == ["search"]
    assert state.circuits["search"].state == "forced_open"
    assert state.clusters == {}
    assert list(state.alerts) == ["a-2"]


def test_resync_snapshot_counts_and_emits_resynced(store: Store, rec: Recorder) -> None:
    store.apply(snapshot())
    resync = snapshot(resync=True, gap_from_ts=TS - 30)
    store.apply(resync)
    store.apply(snapshot(resync=True))
    assert store.backend("sim").resyncs == 2
    assert rec.of("resynced")[0] == ("sim", resync)
    assert len(rec.of("resynced")) == 2
    # resynced comes after the state signals, so listeners see the new state.
    first_resync = rec.names().index("resynced")
    assert rec.names()[first_resync - 1] == "alert_changed"


def test_snapshot_without_samples_is_not_data(store: Store, clock: FakeClock) -> None:
    # A reconnect's snapshot restates what is known; only samples prove the data is fresh.
    store.apply(snapshot())
    assert store.data_age("sim") is None


# ------------------------------------------------------------------ metrics


def test_metrics_batch_goes_into_the_series(store: Store, rec: Recorder, clock: FakeClock) -> None:
    store.apply(snapshot())
    rec.clear()
    store.apply(metrics([("checkout", TS + 1), ("payments", TS + 1)]))
    store.apply(metrics([("checkout", TS + 2)]))
    state = store.backend("sim")
    series = state.series.get("checkout")
    assert series is not None
    assert series.times().tolist() == [TS + 1, TS + 2]
    assert series.values("rps").tolist() == [3.0, 3.0]
    assert rec.of("metrics_appended") == [("sim", {"checkout", "payments"}), ("sim", {"checkout"})]
    assert rec.of("services_changed") == []  # both services were known
    assert state.samples_ingested == 3 * len(METRIC_FIELDS)
    assert state.newest_data_ts == TS + 2
    assert state.data_mono == clock.now


def test_metrics_keep_nan_for_no_data(store: Store) -> None:
    values = np.full((1, len(METRIC_FIELDS)), np.nan)
    values[0, METRIC_FIELDS.index("rps")] = 0.0
    store.apply(metrics([("checkout", TS)], values=values))
    series = store.backend("sim").series.get("checkout")
    assert series is not None
    latest = series.latest()
    assert latest is not None
    assert latest["rps"] == 0.0
    assert math.isnan(latest["cpu"])


def test_metrics_for_an_unknown_service_add_it(store: Store, rec: Recorder) -> None:
    store.apply(snapshot())
    rec.clear()
    store.apply(metrics([("checkout", TS), ("newcomer", TS)]))
    services = store.backend("sim").services
    assert services["newcomer"] == Service(name="newcomer", display_name="newcomer")
    assert services["checkout"] == Service("checkout")  # the known record is untouched
    assert rec.names() == ["services_changed", "metrics_appended"]
    assert rec.of("metrics_appended") == [("sim", {"checkout", "newcomer"})]


def test_metrics_before_any_snapshot_create_the_backend(store: Store, rec: Recorder) -> None:
    store.apply(metrics([("checkout", TS)], backend="prom"))
    assert "prom" in store.backends
    assert set(store.backend("prom").services) == {"checkout"}
    assert rec.of("services_changed") == [("prom",)]


def test_stale_metrics_emit_nothing(store: Store, rec: Recorder) -> None:
    store.apply(metrics([("checkout", TS + 5)]))
    rec.clear()
    store.apply(metrics([("checkout", TS + 5), ("checkout", TS + 1)]))
    assert rec.calls == []
    state = store.backend("sim")
    assert state.series.dropped == 2
    assert state.newest_data_ts == TS + 5


def test_empty_metrics_batch_emits_nothing(store: Store, rec: Recorder) -> None:
    store.apply(metrics([]))
    assert rec.calls == []


def test_metrics_in_another_field_order_are_reordered(store: Store) -> None:
    fields = ("cpu", "rps")
    store.apply(metrics([("checkout", TS)], fields=fields, values=np.array([[0.5, 120.0]])))
    series = store.backend("sim").series.get("checkout")
    assert series is not None
    assert series.values("cpu").tolist() == [0.5]
    assert series.values("rps").tolist() == [120.0]
    # Fields the batch did not carry are "no data", never 0.
    assert np.isnan(series.values("latency_p99_ms")).all()
    assert np.isnan(series.values("memory")).all()


def test_metrics_with_unknown_fields_ignore_them(store: Store) -> None:
    fields = ("rps", "queue_depth")
    store.apply(metrics([("checkout", TS)], fields=fields, values=np.array([[7.0, 99.0]])))
    series = store.backend("sim").series.get("checkout")
    assert series is not None
    assert series.values("rps").tolist() == [7.0]


# ------------------------------------------------------------------ single records


def test_circuit_change(store: Store, rec: Recorder) -> None:
    store.apply(snapshot())
    rec.clear()
    changed = circuit("payments", "half_open", failure_count=5)
    store.apply(CircuitChanged("sim", changed))
    assert store.backend("sim").circuits["payments"] == changed
    assert rec.calls == [("circuit_changed", ("sim", changed))]


def test_new_circuit_is_added(store: Store) -> None:
    store.apply(CircuitChanged("sim", circuit("ledger", "open")))
    assert store.backend("sim").circuits["ledger"].state == "open"


def test_cluster_change(store: Store, rec: Recorder) -> None:
    degraded = cluster(state="degraded")
    store.apply(ClusterChanged("sim", degraded))
    assert store.backend("sim").clusters == {"orders-db": degraded}
    assert rec.calls == [("cluster_changed", ("sim", degraded))]


def test_alert_change(store: Store, rec: Recorder) -> None:
    store.apply(AlertChanged("sim", alert()))
    resolved = alert(state="resolved")
    store.apply(AlertChanged("sim", resolved))
    assert store.backend("sim").alerts == {"a-1": resolved}
    assert rec.of("alert_changed") == [("sim", alert()), ("sim", resolved)]


def test_event_is_kept_in_history_and_emitted(store: Store, rec: Recorder) -> None:
    event = Event(ts=TS, kind="deploy", message="checkout v2 rolled out", service="checkout")
    store.apply(EventOccurred("sim", event))
    assert list(store.events) == [("sim", event)]
    assert rec.calls == [("event_added", ("sim", event))]


def test_event_history_is_bounded(store: Store) -> None:
    for i in range(EVENT_HISTORY + 5):
        store.apply(EventOccurred("sim", Event(ts=TS + i, kind="info", message=str(i))))
    assert len(store.events) == EVENT_HISTORY
    assert store.events[0][1].message == "5"
    assert store.events[-1][1].message == str(EVENT_HISTORY + 4)


def test_action_finished_is_emitted(store: Store, rec: Recorder, clock: FakeClock) -> None:
    done = ActionFinished("sim", action_id="act-1", status="succeeded", message="ok", ts=TS)
    store.apply(done)
    assert rec.calls == [("action_finished", ("sim", done))]
    assert store.data_age("sim") is None


# ------------------------------------------------------------------ connection and rejects


def test_connection_change_is_emitted_once_for_repeated_equal_status(
    store: Store, rec: Recorder
) -> None:
    live = LinkStatus(ConnectionState.LIVE, Transport.WEBSOCKET, since=5.0)
    for _ in range(3):
        store.apply(ConnectionChanged("sim", live))
    assert rec.of("connection_changed") == [("sim", live)]
    assert store.backend("sim").link == live


def test_connection_change_is_emitted_for_each_different_status(
    store: Store, rec: Recorder
) -> None:
    statuses = [
        LinkStatus(ConnectionState.LIVE, Transport.WEBSOCKET),
        LinkStatus(ConnectionState.STALE, Transport.WEBSOCKET, detail="no frame for 3 s"),
        LinkStatus(ConnectionState.RECONNECTING, retry_in_s=0.5),
        LinkStatus(ConnectionState.RECONNECTING, retry_in_s=1.0),
        LinkStatus(ConnectionState.LIVE, Transport.SSE),
    ]
    for status in statuses:
        store.apply(ConnectionChanged("sim", status))
    assert [args[1] for args in rec.of("connection_changed")] == statuses


def test_connection_change_does_not_count_as_data(store: Store) -> None:
    store.apply(ConnectionChanged("sim", LinkStatus(ConnectionState.LIVE)))
    assert store.data_age("sim") is None


def test_rejected_frames_are_counted_per_kind(store: Store, rec: Recorder) -> None:
    for kind in ("oversize", "invalid_field", "invalid_field", "unknown_type", "invalid_field"):
        store.apply(FrameRejected("sim", kind, f"bad: {kind}"))
    assert dict(store.backend("sim").invalid_frames) == {
        "oversize": 1,
        "invalid_field": 3,
        "unknown_type": 1,
    }
    assert rec.of("frame_rejected")[0] == ("sim", "oversize", "bad: oversize")
    assert len(rec.of("frame_rejected")) == 5
    assert store.data_age("sim") is None  # a rejected frame is not fresh data


# ------------------------------------------------------------------ data age and misc


def test_data_age_uses_the_injected_clock(store: Store, clock: FakeClock) -> None:
    assert store.data_age("sim") is None  # unknown backend
    store.backend("sim")
    assert store.data_age("sim") is None  # known, nothing arrived yet
    clock.now = 100.0
    store.apply(metrics([("checkout", TS)]))
    clock.now = 103.5
    assert store.data_age("sim") == pytest.approx(3.5)
    assert store.data_age("sim", now=110.0) == pytest.approx(10.0)
    clock.now = 104.0
    store.apply(CircuitChanged("sim", circuit("payments")))
    assert store.data_age("sim") == pytest.approx(4.0)  # a state change is not a new sample
    store.apply(metrics([("checkout", TS + 1)]))
    assert store.data_age("sim") == 0.0


def test_data_age_is_never_negative(store: Store, clock: FakeClock) -> None:
    store.apply(metrics([("checkout", TS)]))
    assert store.data_age("sim", now=clock.now - 50) == 0.0


def test_backends_are_kept_apart(store: Store, rec: Recorder) -> None:
    store.apply(snapshot("a"))
    store.apply(CircuitChanged("b", circuit("ledger", "open")))
    store.apply(FrameRejected("b", "oversize", "big"))
    assert set(store.backends) == {"a", "b"}
    assert "ledger" not in store.backend("a").circuits
    assert set(store.backend("b").circuits) == {"ledger"}
    assert not store.backend("a").invalid_frames


def test_unknown_event_type_is_refused(store: Store) -> None:
    class Mystery(StoreEvent, frozen=True):
        pass

    with pytest.raises(TypeError, match="Mystery"):
        store.apply(Mystery("sim"))


def test_new_backend_starts_connecting() -> None:
    state = Store().backend("fresh")
    assert state.link.state is ConnectionState.CONNECTING
    assert state.resyncs == 0 and state.samples_ingested == 0
    assert state.newest_data_ts is None


# ------------------------------------------------------------------ data age


def test_data_age_only_grows_while_no_new_sample_arrives(store: Store, clock: FakeClock) -> None:
    """A hung backend: lost-link lines, status changes, a reconnect's snapshot, a replayed old
    row and a circuit restated by the snapshot all arrive, but no new sample; the age must
    grow with the clock at every step."""
    store.apply(snapshot())
    store.apply(metrics([("checkout", TS + 1)]))
    ages = [store.data_age("sim")]
    noise: list[Any] = [
        EventOccurred("sim", Event(ts=TS + 2, kind="info", message="Lost the link to sim")),
        ConnectionChanged("sim", LinkStatus(ConnectionState.RECONNECTING, None)),
        snapshot(resync=True),
        metrics([("checkout", TS + 1)]),  # the same sample again (a replay)
        metrics([("payments", TS)]),  # an older sample of another service
        ActionFinished("sim", action_id="a", status="succeeded", message="", ts=TS),
        ConnectionChanged("sim", LinkStatus(ConnectionState.LIVE, None)),
    ]
    for event in noise:
        clock.now += 1.5
        store.apply(event)
        ages.append(store.data_age("sim"))
    assert ages == [0.0, 1.5, 3.0, 4.5, 6.0, 7.5, 9.0, 10.5]
    clock.now += 1.0
    store.apply(metrics([("checkout", TS + 2)]))  # a real new sample
    assert store.data_age("sim") == 0.0


def test_data_received_is_data_for_a_backend_without_samples(
    store: Store, clock: FakeClock
) -> None:
    store.apply(DataReceived("am"))
    clock.now += 2.0
    assert store.data_age("am") == 2.0
    store.apply(DataReceived("am"))
    assert store.data_age("am") == 0.0


def test_history_goes_before_live_rows_and_is_not_fresh_data(
    store: Store, rec: Recorder, clock: FakeClock
) -> None:
    store.apply(metrics([("checkout", TS + 10)]))
    clock.now += 5.0
    rec.clear()
    ts = np.array([TS + 7.0, TS + 8.0, TS + 9.0])
    values = np.ones((3, len(METRIC_FIELDS)))
    store.apply(
        HistoryLoaded("sim", service="checkout", ts=ts, values=values, fields=METRIC_FIELDS)
    )
    series = store.backend("sim").series.get("checkout")
    assert series.times().tolist() == [TS + 7, TS + 8, TS + 9, TS + 10]
    assert rec.of("metrics_appended") == [("sim", {"checkout"})]
    assert store.data_age("sim") == 5.0  # old samples say nothing about freshness

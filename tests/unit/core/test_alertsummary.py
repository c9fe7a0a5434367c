"""What the alerts add up to: loud pages, sources that are not live, breaches with no alert."""

from __future__ import annotations

import numpy as np

from opsconsole.core.alertsummary import (
    Breach,
    UnknownAlerts,
    breaches_without_alert,
    firing_pages,
    unknown_alerts,
)
from opsconsole.core.events import (
    AlertChanged,
    BackendDescribed,
    ConnectionChanged,
    MetricsBatch,
    SnapshotLoaded,
)
from opsconsole.core.models import (
    METRIC_FIELDS,
    Alert,
    BackendInfo,
    ConnectionState,
    LinkStatus,
    Service,
)
from opsconsole.core.store import Store

T0 = 1_800_000_000.0
HEALTHY = {"latency_p99_ms": 120.0, "rps": 50.0, "error_ratio": 0.001, "cpu": 0.3, "memory": 0.4}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def page(alert_id: str, service: str = "orders", **kw: object) -> Alert:
    base: dict[str, object] = {
        "id": alert_id,
        "service": service,
        "rule": "latency",
        "severity": "page",
        "state": "firing",
        "since_ts": T0,
    }
    return Alert(**{**base, **kw})  # type: ignore[arg-type]


def live(store: Store, backend: str, state: ConnectionState = ConnectionState.LIVE) -> None:
    store.apply(ConnectionChanged(backend, LinkStatus(state)))


def samples(store: Store, backend: str, rows: dict[str, dict[str, float]], ts: float) -> None:
    names = tuple(rows)
    values = np.array([[rows[n].get(f, np.nan) for f in METRIC_FIELDS] for n in names])
    store.apply(MetricsBatch(backend, names, np.full(len(names), ts), values, METRIC_FIELDS))


def test_only_loud_pages_are_counted() -> None:
    store = Store()
    for alert in (
        page("loud"),
        page("other-loud", service="payments"),
        page("ticket", severity="ticket"),
        page("silenced", silenced_by=("s-1",)),
        page("inhibited", inhibited_by=("f00d",)),
        page("over", state="resolved"),
    ):
        store.apply(AlertChanged("sim", alert))
    store.apply(AlertChanged("am", page("elsewhere")))
    assert firing_pages(store) == 3


def test_alert_sources_that_are_not_live_are_unknown_with_their_data_age() -> None:
    clock = Clock()
    store = Store(clock=clock)
    live(store, "sim")
    samples(store, "sim", {"orders": HEALTHY}, T0)
    live(store, "prom")  # metrics only: its link says nothing about alerts
    store.apply(BackendDescribed("prom", BackendInfo("prom", "prometheus", "http://p")))
    live(store, "am", ConnectionState.CONNECTING)  # never had any data
    assert unknown_alerts(store) == (UnknownAlerts("am", ConnectionState.CONNECTING, None),)

    clock.now += 12
    live(store, "sim", ConnectionState.STALE)
    live(store, "prom", ConnectionState.STALE)
    assert unknown_alerts(store) == (
        UnknownAlerts("am", ConnectionState.CONNECTING, None),
        UnknownAlerts("sim", ConnectionState.STALE, 12.0),
    )
    assert unknown_alerts(store, now=clock.now + 3)[1].data_age_s == 15.0


def test_a_service_over_its_limit_with_no_alert_is_a_breach() -> None:
    clock = Clock()
    store = Store(clock=clock)
    services = (Service(name="orders"), Service(name="payments"), Service(name="search"))
    store.apply(SnapshotLoaded("sim", services, (), (), (), ts=T0))
    live(store, "sim")
    slow = {**HEALTHY, "latency_p99_ms": 900.0}
    failing = {**HEALTHY, "error_ratio": 0.2}
    for k in range(4):
        samples(store, "sim", {"orders": slow, "payments": failing, "search": HEALTHY}, T0 + k)
    assert breaches_without_alert(store) == (
        Breach("sim", "orders", "p99 900 ms > 500 ms"),
        Breach("sim", "payments", "errors 20.00 % > 1 %"),
    )

    # An alert for the service, from any backend (Alertmanager beside Prometheus), covers it;
    # a resolved one does not.
    store.apply(AlertChanged("am", page("lat", service="orders")))
    store.apply(AlertChanged("sim", page("old", service="payments", state="resolved")))
    assert [b.service for b in breaches_without_alert(store)] == ["payments"]

    # Stale numbers prove nothing.
    live(store, "sim", ConnectionState.STALE)
    assert breaches_without_alert(store) == ()


def test_a_breach_is_judged_on_the_settled_window_not_one_sample() -> None:
    store = Store()
    store.apply(SnapshotLoaded("sim", (Service(name="orders"),), (), (), (), ts=T0))
    live(store, "sim")
    slow = {**HEALTHY, "latency_p99_ms": 900.0}
    gap = {"rps": 50.0}  # a tick with no latency answer (NaN): no data, not healthy
    for k, row in enumerate((HEALTHY, HEALTHY, slow, HEALTHY)):
        samples(store, "sim", {"orders": row}, T0 + k)
    assert breaches_without_alert(store) == ()  # one slow tick is no incident
    for k, row in enumerate((slow, gap, slow, slow), start=4):
        samples(store, "sim", {"orders": row}, T0 + k)
    assert [b.service for b in breaches_without_alert(store)] == ["orders"]

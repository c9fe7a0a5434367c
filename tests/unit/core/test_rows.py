"""Row building without Qt: what the breakers, clusters, alerts and services rows say."""

from __future__ import annotations

from opsconsole.core.alertsummary import UnknownAlerts
from opsconsole.core.health import Health
from opsconsole.core.models import (
    Alert,
    Circuit,
    ConnectionState,
    DbCluster,
    DbMember,
    Service,
)
from opsconsole.core.rows import alerts, breakers, clusters, services

NOW = 1_700_000_000.0


# ------------------------------------------------------------------ breakers


def test_an_open_breaker_counts_down_and_sorts_first() -> None:
    circuit = Circuit(
        state="open",
        failure_count=5,
        failure_threshold=5,
        timeout_s=30.0,
        success_rate=0.25,
        total_requests_5min=120,
        last_transition_ts=NOW - 12.0,
        name="payments",
    )
    row = breakers.build_row("sim", circuit, NOW, None, False, ())
    assert row.texts["state"] == "open"
    assert row.texts["failures"] == "5 / 5"
    assert row.texts["success"] == "25.0"
    assert row.texts["since"] == "12 s"
    assert row.texts["half_open_in"] == "18 s"  # tenths only under 10 s
    assert row.health is Health.CRITICAL
    closed = breakers.build_row("sim", Circuit(state="closed", name="a"), NOW, None, False, ())
    assert row.sort_key < closed.sort_key
    assert "tries again 30 s after opening" in row.tooltip


def test_a_stale_breaker_says_the_data_age_not_a_countdown() -> None:
    circuit = Circuit(state="open", failure_threshold=5, timeout_s=30.0, name="payments")
    row = breakers.build_row("sim", circuit, NOW, 65.0, True, ())
    assert row.texts["half_open_in"] == "STALE 1 min 05 s"
    assert row.texts["since"] == "—"
    assert row.health is Health.UNKNOWN
    uncounted = breakers.build_row("p", Circuit(state="closed", name="x"), NOW, None, False, ())
    assert uncounted.texts["failures"] == uncounted.texts["requests"] == "—"


def test_error_history_is_scaled_to_its_peak_of_at_least_one_percent() -> None:
    history = breakers.ErrorHistory()
    for rate in (1.0, 0.998, 0.998, 0.99):
        history.add(rate)
    history.add(None)
    shape = history.shape()
    assert [x for x, _ in shape] == [0.0, 0.5, 1.0]
    assert shape[-1][1] == 1.0 and shape[0][1] == 0.0


# ------------------------------------------------------------------ clusters

MEMBERS = (
    DbMember("primary-db", "primary", True),
    DbMember("replica-1", "replica", True, lag_bytes=100),
    DbMember("replica-2", "replica", False, lag_bytes=50_000_000, consecutive_failures=3),
)
CLUSTER = DbCluster("orders-db", "healthy", False, "primary-db", members=MEMBERS)


def test_member_cells_carry_tones_not_colours() -> None:
    cells = clusters.member_cells(CLUSTER, MEMBERS[2], stale=False)
    assert cells["healthy"] == clusters.Cell("✗ unhealthy", Health.CRITICAL)
    assert cells["lag"].tone is Health.WARNING
    assert cells["checks"].tone is Health.CRITICAL
    assert clusters.member_cells(CLUSTER, MEMBERS[0], False)["candidate"].tone == clusters.DIM
    stale = clusters.member_cells(CLUSTER, MEMBERS[1], stale=True)
    assert {c.tone for c in stale.values()} == {clusters.DIM}


def test_a_stale_cluster_says_stale_with_its_age_and_what_it_was() -> None:
    view = clusters.build_cluster("sim", CLUSTER, None, 0.0, True, 12.4)
    assert view.state_word == "STALE"
    assert view.header_text.startswith("? orders-db  STALE 12 s (was HEALTHY)  primary: primary-db")
    live = clusters.build_cluster("sim", CLUSTER, None, 0.0, False, None)
    assert live.header_text.startswith("● orders-db  HEALTHY")
    assert clusters.ordered_members(CLUSTER)[0].name == "primary-db"


def test_a_failover_is_told_as_one_story() -> None:
    trail = clusters.ClusterTrail()
    assert not trail.add(CLUSTER, 0.0)
    failed = DbCluster("orders-db", "failed", False, "primary-db", members=MEMBERS)
    promoted = DbCluster(
        "orders-db",
        "healthy",
        False,
        "replica-1",
        members=(DbMember("replica-1", "primary", True, timeline=2),),
    )
    assert trail.add(failed, 1.0)
    assert trail.add(promoted, 2.0)
    story = clusters.describe_episode(trail.episode(), 5.0)
    assert story == (
        "changed 3 s ago: HEALTHY → FAILED → HEALTHY · primary primary-db → replica-1 · "
        "timeline 1 → 2"
    )


# ------------------------------------------------------------------ alerts


def _alert(**kw: object) -> Alert:
    base: dict[str, object] = {
        "id": "a1",
        "service": "orders",
        "rule": "latency",
        "severity": "page",
        "state": "firing",
        "since_ts": NOW - 250,
        "value": 612.0,
        "threshold": 500.0,
    }
    return Alert(**(base | kw))  # type: ignore[arg-type]


def test_an_alert_row_says_minutes_as_min() -> None:
    row = alerts.build_row("sim", _alert(acked_by="alice", acked_ts=NOW - 125), None, NOW, False)
    assert row.texts["age"] == "4 min 10 s"
    assert row.texts["acked"] == "alice 2 min ago"
    assert row.texts["value"] == "p99 612 ms > 500 ms"
    assert row.health is Health.CRITICAL
    resolved = alerts.build_row("sim", _alert(id="a2", state="resolved"), None, NOW, False)
    assert row.sort_key < resolved.sort_key
    assert "orders" in row.filter_text and "FIRING" in row.filter_text


def test_the_headline_never_says_quiet_while_unknown() -> None:
    counts = alerts.Counts()
    unknown = [UnknownAlerts("sim", ConnectionState.STALE, 65.0)]
    words = alerts.headline_words(counts, unknown, [])
    assert words.plain == "Alerts unknown — sim STALE, data 1 min 05 s old"
    assert words.parts[0].tone is Health.UNKNOWN and words.parts[0].bold
    counts.add(_alert())
    counts.add(_alert(id="r", state="resolved"))
    loud = alerts.headline_words(counts, [], [])
    assert loud.plain == "1 FIRING (1 page) · 1 resolved"
    assert loud.parts[1].tone is None  # dim


def test_only_web_links_are_offered() -> None:
    alert = _alert(
        annotations={
            "runbook_url": "https://runbooks.example/orders",
            "dashboard": "javascript:alert(1)",
            "grafana": "http://grafana.example/d/x",
        }
    )
    assert alerts.alert_links(alert) == (
        ("Runbook", "https://runbooks.example/orders"),
        ("Dashboard", "http://grafana.example/d/x"),
    )


# ------------------------------------------------------------------ services


def test_a_service_row_is_judged_once_and_stale_says_its_age() -> None:
    service = Service("orders", display_name="Orders")
    latest = {
        "latency_p50_ms": 80.0,
        "latency_p95_ms": 300.0,
        "latency_p99_ms": 612.0,
        "rps": 42.0,
        "error_ratio": 0.001,
        "cpu": 0.3,
        "memory": 0.4,
    }
    row = services.build_row("sim", service, latest, None, False)
    assert row.texts["service"] == "Orders"
    assert row.texts["health"] == "CRIT"
    assert row.texts["p99"] == "612"
    assert row.texts["why"].startswith("p99 612 ms > 500 ms")
    assert row.signal_column == "p99"
    stale = services.build_row("sim", service, latest, 12.0, True)
    assert (stale.texts["health"], stale.texts["why"]) == ("STALE", "STALE 12 s")
    assert services.build_row("sim", service, None, None, True).texts["why"] == (
        "STALE — no data yet"
    )
    assert services.SORT_RANK[row.health] < services.SORT_RANK[Health.HEALTHY]

"""Cluster rows for a Patroni cluster: its words, unknown lag, unreachable members, banners."""

from __future__ import annotations

import msgspec

from opsconsole.core.health import Health
from opsconsole.core.models import DbCluster, DbMember
from opsconsole.core.patroni import PatroniClusterBody, PatroniConfigBody
from opsconsole.core.patronimap import MemberFacts, cluster_of
from opsconsole.core.rows import clusters
from opsconsole.core.rows.clusters import DIM, Cell

MiB = 1024 * 1024
NOFAILOVER = "it is tagged nofailover"
TOO_FAR = "it lags 3.0 MiB, more than maximum_lag_on_failover (1.0 MiB)"

# As core/patronimap maps `GET /cluster`: the leader is the primary, the rest replicas that
# carry Patroni's words and, where its rules refuse them, its reason.
MEMBERS = (
    DbMember("pg1", "primary", True, timeline=3, role_words="leader", state_words="running"),
    DbMember("pg2", "replica", True, 0, 3, role_words="replica", state_words="streaming"),
    DbMember(
        "pg3",
        "replica",
        True,
        0,
        3,
        role_words="sync standby",
        state_words="streaming",
        refusal=NOFAILOVER,
    ),
    DbMember(
        "pg4",
        "replica",
        True,
        0,
        3,
        role_words="replica",
        state_words="streaming",
        lag_known=False,
        refusal="its lag is unknown",
    ),
    DbMember(
        "pg5",
        "replica",
        True,
        0,
        3,
        role_words="replica",
        state_words="running",
        reachable=False,
        refusal="its REST API does not answer",
    ),
    DbMember(
        "pg6",
        "replica",
        True,
        3 * MiB,
        3,
        role_words="replica",
        state_words="streaming",
        refusal=TOO_FAR,
        pending_restart=True,
    ),
    DbMember("pg7", "replica", False, 0, 0, role_words="replica", state_words="stopped"),
)
PATRONI = DbCluster(
    "pg-main",
    "healthy",
    False,
    "pg1",
    health_check_interval_s=10.0,
    failure_threshold=0,
    members=MEMBERS,
    max_lag_bytes=MiB,
    read_only_advisory=True,
)


def cells(cluster: DbCluster, name: str) -> dict[str, Cell]:
    member = next(m for m in cluster.members if m.name == name)
    return clusters.member_cells(cluster, member, stale=False)


def texts(cluster: DbCluster, name: str) -> dict[str, str]:
    return {k: c.text for k, c in cells(cluster, name).items()}


def test_the_leader_row_reads_as_patronictl_says_it() -> None:
    assert texts(PATRONI, "pg1") == {
        "member": "pg1",
        "role": "leader",
        "healthy": "✓ running",
        "lag": "—",
        "timeline": "3",
        "checks": "—",
        "candidate": "— current primary",
    }
    leader = cells(PATRONI, "pg1")
    assert leader["role"].bold and leader["member"].bold
    assert leader["healthy"].tone is Health.HEALTHY
    assert leader["checks"].tone == DIM  # Patroni counts no failed checks: receded, not "0 / 0"


def test_a_streaming_replica_may_take_over_both_ways() -> None:
    assert texts(PATRONI, "pg2") == {
        "member": "pg2",
        "role": "replica",
        "healthy": "✓ streaming",
        "lag": "0 B",
        "timeline": "3",
        "checks": "—",
        "candidate": "switchover ✓ / failover ✓",
    }
    candidate = cells(PATRONI, "pg2")["candidate"]
    assert candidate.tone is Health.HEALTHY
    assert candidate.tooltip == "switchover: eligible\nfailover: eligible"
    assert not cells(PATRONI, "pg2")["role"].bold


def test_a_refused_candidate_says_patronis_rule_for_both_promotions() -> None:
    refused = cells(PATRONI, "pg3")
    assert refused["role"].text == "sync standby"
    assert refused["candidate"] == Cell(
        f"✗ {NOFAILOVER}",
        Health.WARNING,
        tooltip=f"switchover: {NOFAILOVER}\nfailover: {NOFAILOVER}",
    )
    lagging = cells(PATRONI, "pg6")
    assert lagging["candidate"].text == f"✗ {TOO_FAR}"
    assert lagging["candidate"].tooltip == f"switchover: {TOO_FAR}\nfailover: {TOO_FAR}"
    # Amber against Patroni's own limit (1 MiB here), with the limit named.
    assert lagging["lag"].text == "3.0 MiB"
    assert lagging["lag"].tone is Health.WARNING
    assert "maximum_lag_on_failover (1.0 MiB)" in (lagging["lag"].tooltip or "")


def test_an_unknown_lag_is_said_unknown_never_zero() -> None:
    lag = cells(PATRONI, "pg4")["lag"]
    assert lag == Cell(
        "unknown", Health.WARNING, tooltip="Patroni cannot tell how far behind it is"
    )
    assert cells(PATRONI, "pg4")["candidate"].text == "✗ its lag is unknown"
    # Without the backend's refusal the generic rule still refuses an unknown lag.
    bare = DbMember("pg4", "replica", True, 0, 3, state_words="streaming", lag_known=False)
    cluster = msgspec.structs.replace(PATRONI, members=(MEMBERS[0], bare))
    assert texts(cluster, "pg4")["lag"] == "unknown"
    assert texts(cluster, "pg4")["candidate"] == "✗ its lag is unknown"


def test_an_unreachable_member_is_red_with_why_and_no_candidate() -> None:
    row = cells(PATRONI, "pg5")
    assert row["healthy"] == Cell(
        "✗ unreachable",
        Health.CRITICAL,
        tooltip="its REST API does not answer; the other members' view of it is shown",
    )
    assert row["lag"].text == "0 B"  # the leader's view of it, which the DCS still holds
    assert row["candidate"].text == "✗ its REST API does not answer"


def test_a_stopped_member_and_a_pending_restart() -> None:
    stopped = cells(PATRONI, "pg7")
    assert stopped["healthy"] == Cell("✗ stopped", Health.CRITICAL)
    assert stopped["timeline"] == Cell("—", DIM, tooltip="Patroni does not say its timeline")
    assert stopped["candidate"].text == "✗ unhealthy"
    restart = cells(PATRONI, "pg6")["checks"]
    assert restart.text == "⟳ restart pending"
    assert restart.tone is Health.WARNING


def test_maintenance_mode_is_a_badge_and_a_banner() -> None:
    paused = msgspec.structs.replace(PATRONI, paused=True)
    view = clusters.build_cluster("patroni", paused, None, 0.0, False, None)
    badges = [s for s in view.header if s.badge]
    assert badges == [clusters.Segment("MAINTENANCE", Health.WARNING, True, True)]
    assert view.header_text == ("● pg-main  HEALTHY  primary: pg1  timeline 3  MAINTENANCE")
    assert view.banners == (
        "❚❚ maintenance mode: Patroni will not fail over by itself (:resume pg-main to end it)",
    )
    assert "maintenance mode: Patroni will not fail over by itself" in view.tooltip
    resumed = clusters.build_cluster("patroni", PATRONI, None, 0.0, False, None)
    assert resumed.banners == () and resumed.banner is None
    assert not [s for s in resumed.header if s.badge]
    assert "Patroni fails over by itself" in resumed.tooltip
    assert "a candidate may lag at most 1.0 MiB (maximum_lag_on_failover)" in resumed.tooltip


def test_advisory_read_only_says_sessions_can_override_and_where_it_is_not_yet() -> None:
    members = tuple(
        msgspec.structs.replace(m, read_only=m.name != "pg2") for m in MEMBERS if m.reachable
    )
    cluster = msgspec.structs.replace(PATRONI, read_only=True, members=members)
    view = clusters.build_cluster("patroni", cluster, None, 0.0, False, None)
    assert [s.text for s in view.header if s.badge] == ["READ-ONLY (advisory)"]
    words = (
        "read-only is advisory: default_transaction_read_only is on, and sessions can "
        "override it; not yet in effect on pg2"
    )
    assert view.banners == (f"⚠ {words}",)
    assert words in view.tooltip
    # Turned off, but one member still has it: said, not hidden.
    members = tuple(msgspec.structs.replace(m, read_only=m.name == "pg3") for m in members)
    cleared = msgspec.structs.replace(PATRONI, members=members)
    view = clusters.build_cluster("patroni", cleared, None, 0.0, False, None)
    assert view.banners == ("⚠ read-only turned off, still in effect on pg3",)
    assert not [s for s in view.header if s.badge]


def test_every_banner_line_shows_most_urgent_first() -> None:
    cluster = msgspec.structs.replace(
        PATRONI,
        state="degraded",
        message="pg7 is stopped",
        paused=True,
        read_only=True,
        scheduled_switchover="at 2026-12-06T22:00:00+00:00 from pg1 to pg2",
    )
    view = clusters.build_cluster("patroni", cluster, None, 0.0, False, None)
    assert [line[0] for line in view.banners] == ["⚠", "❚", "⚠", "◷"]
    assert view.banners[0] == "⚠ pg7 is stopped"
    assert view.banners[-1] == "◷ switchover scheduled at 2026-12-06T22:00:00+00:00 from pg1 to pg2"
    assert view.banner == " — ".join(view.banners)
    assert [s.text for s in view.header if s.badge] == ["READ-ONLY (advisory)", "MAINTENANCE"]


def test_a_leader_in_trouble_is_named_in_the_header_in_patronis_words() -> None:
    down = msgspec.structs.replace(MEMBERS[0], reachable=False)
    cluster = msgspec.structs.replace(PATRONI, members=(down, *MEMBERS[1:]))
    view = clusters.build_cluster("patroni", cluster, None, 0.0, False, None)
    assert view.header_text.endswith("timeline 3  leader unreachable")
    assert "failing checks" not in view.header_text


def test_the_change_story_tells_maintenance_mode_on_and_off() -> None:
    trail = clusters.ClusterTrail()
    assert not trail.add(PATRONI, 0.0)
    assert trail.add(msgspec.structs.replace(PATRONI, paused=True), 1.0)
    assert clusters.describe_episode(trail.episode(), 4.0) == (
        "changed 3 s ago: maintenance mode on"
    )
    assert not trail.add(msgspec.structs.replace(PATRONI, paused=True), 2.0)  # no news
    assert trail.add(PATRONI, 100.0)
    assert clusters.describe_episode(trail.episode(), 100.0).endswith("ago: maintenance mode off")
    # Paused and resumed within one story: both said, not "changed and back".
    assert trail.add(msgspec.structs.replace(PATRONI, paused=True), 200.0)
    assert trail.add(PATRONI, 210.0)
    assert clusters.describe_episode(trail.episode(), 211.0).endswith(
        "ago: maintenance mode on → off"
    )


def test_a_stale_patroni_cluster_greys_every_cell_but_keeps_the_words() -> None:
    view = clusters.build_cluster("patroni", PATRONI, None, 0.0, True, 12.0)
    assert view.state_word == "STALE"
    row = view.members["pg4"]
    assert row["lag"].text == "unknown"
    assert {c.tone for c in row.values()} == {DIM}


def test_the_reference_backend_cluster_reads_as_before() -> None:
    members = (
        DbMember("primary-db", "primary", True),
        DbMember("replica-1", "replica", True, lag_bytes=100),
        DbMember("replica-2", "replica", False, lag_bytes=50_000_000, consecutive_failures=3),
    )
    cluster = DbCluster("orders-db", "healthy", False, "primary-db", members=members)
    assert texts(cluster, "primary-db") == {
        "member": "primary-db",
        "role": "primary",
        "healthy": "✓ healthy",
        "lag": "—",
        "timeline": "1",
        "checks": "0 / 3",
        "candidate": "— current primary",
    }
    assert texts(cluster, "replica-2") == {
        "member": "replica-2",
        "role": "replica",
        "healthy": "✗ unhealthy",
        "lag": "47.7 MiB",
        "timeline": "1",
        "checks": "3 / 3",
        "candidate": "✗ unhealthy",
    }
    assert cells(cluster, "replica-2")["lag"] == Cell("47.7 MiB", Health.WARNING)
    view = clusters.build_cluster("sim", cluster, None, 0.0, False, None)
    assert view.banners == ()
    assert view.tooltip == (
        "orders-db on sim: HEALTHY\nhealth check every 5.0 s; failover after 3 failed checks "
        "of the primary"
    )
    read_only = msgspec.structs.replace(cluster, read_only=True, message="no eligible replica")
    view = clusters.build_cluster("sim", read_only, None, 0.0, False, None)
    assert [s.text for s in view.header if s.badge] == ["READ-ONLY"]
    assert view.banners == ("⚠ no eligible replica",)


def test_patronis_own_answers_mapped_and_shown() -> None:
    """Through the adapter's own pure mapping: `GET /cluster` as Patroni 3 writes it."""
    body = msgspec.json.decode(
        b"""{"members": [
          {"name": "pg1", "role": "leader", "state": "running", "timeline": 4},
          {"name": "pg2", "role": "sync_standby", "state": "streaming", "timeline": 4,
           "lag": 0},
          {"name": "pg3", "role": "replica", "state": "streaming", "timeline": 4, "lag": 0,
           "tags": {"nofailover": true}},
          {"name": "pg4", "role": "replica", "state": "streaming", "timeline": 4,
           "lag": "unknown"}],
          "pause": true}""",
        type=PatroniClusterBody,
    )
    config = PatroniConfigBody(synchronous_mode=True)
    cluster = cluster_of("pg-main", body, config, {"pg4": MemberFacts(reachable=False)})
    view = clusters.build_cluster("patroni", cluster, None, 0.0, False, None)
    assert view.members["pg2"]["role"].text == "sync standby"
    assert view.members["pg3"]["candidate"].text == f"✗ {NOFAILOVER}"
    assert view.members["pg4"]["lag"].text == "unknown"
    assert view.members["pg4"]["healthy"].text == "✗ unreachable"
    assert "MAINTENANCE" in view.header_text
    assert any(line.startswith("❚❚ maintenance mode") for line in view.banners)
    assert "synchronous mode: only the sync standby may take over" in view.tooltip

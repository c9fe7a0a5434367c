"""Patroni's answers as the console's cluster and timeline: states, words, causes, requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest

from opsconsole.core.config import ConfigError, parse_config
from opsconsole.core.patroni import PatroniClusterBody, PatroniConfigBody, TimelineChange
from opsconsole.core.patronimap import (
    MemberFacts,
    PatroniStatus,
    cluster_of,
    history_event,
    lsn_text,
    promotion_request,
    read_only_patch,
    refusal_words,
    takeover_cause,
)
from opsconsole.core.rows.clusters import member_cells
from opsconsole.core.schedule import schedule_at

BODY = {
    "members": [
        {"name": "pg1", "role": "leader", "state": "running", "timeline": 4},
        {"name": "pg2", "role": "replica", "state": "streaming", "timeline": 4, "lag": 0},
        {
            "name": "pg3",
            "role": "replica",
            "state": "running",
            "timeline": 4,
            "lag": 0,
            "tags": {"nofailover": True},
        },
        {"name": "pg4", "role": "replica", "state": "running", "lag": "unknown"},
    ]
}


def body(**changes) -> PatroniClusterBody:
    return msgspec.convert({**BODY, **changes}, PatroniClusterBody)


def test_a_cluster_maps_with_patronis_words_and_verdicts() -> None:
    cluster = cluster_of("orders", body(), PatroniConfigBody(), {})
    assert cluster.primary == "pg1" and cluster.read_only_advisory and not cluster.paused
    assert cluster.max_lag_bytes == 1_048_576
    members = {m.name: m for m in cluster.members}
    assert members["pg1"].role == "primary" and members["pg1"].role_words == "leader"
    assert members["pg1"].refusal is None  # the leader is judged by the generic rule
    assert members["pg2"].refusal is None and members["pg2"].lag_known
    assert members["pg3"].refusal == "it is tagged nofailover"
    assert not members["pg4"].lag_known and members["pg4"].refusal == "its lag is unknown"
    assert members["pg4"].timeline == 0  # Patroni gave none: never made up


def test_states_say_what_is_wrong() -> None:
    stopped = dict(BODY["members"][1], state="stopped")
    degraded = cluster_of(
        "orders", body(members=[BODY["members"][0], stopped]), PatroniConfigBody(), {}
    )
    assert degraded.state == "degraded" and degraded.message == "pg2 is stopped"
    silent = cluster_of(
        "orders", body(), PatroniConfigBody(), {"pg2": MemberFacts(reachable=False)}
    )
    assert silent.state == "degraded" and "pg2's REST API does not answer" in (silent.message or "")
    pg2 = next(m for m in silent.members if m.name == "pg2")
    assert not pg2.reachable and pg2.refusal == "its REST API does not answer"
    headless = cluster_of(
        "orders", body(members=BODY["members"][1:], pause=True), PatroniConfigBody(), {}
    )
    assert headless.state == "failed" and headless.primary is None and headless.paused
    assert "maintenance mode" in (headless.message or "")


def test_a_history_line_says_who_leads_now_and_why() -> None:
    change = TimelineChange(
        3, 0x3000060, "no recovery target specified", "2026-12-06T21:00:00.5+00:00", "pg2"
    )
    event = history_event("orders", change, "automatic failover after pg1 was stopped", 0.0)
    assert event.kind == "failover" and event.service == "orders"
    assert event.message == (
        "orders: pg2 promoted, timeline 3 → 4 — automatic failover after pg1 was stopped; "
        "Patroni: no recovery target specified"
    )
    assert event.ts == datetime(2026, 12, 6, 21, 0, 0, 500000, tzinfo=UTC).timestamp()
    assert event.data["lsn"] == "0/3000060" and lsn_text(1 << 32) == "1/0"
    undated = TimelineChange(3, 1, "x", None, None)
    assert history_event("orders", undated, None, 42.0).ts == 42.0


def test_the_cause_is_the_request_or_the_old_leader_seen_down() -> None:
    asked = "switchover to pg2 requested"
    assert takeover_cause("pg1", {"pg1": "stopped"}, asked) == asked
    assert takeover_cause("pg1", {}, None) == "leader changed (not requested from this console)"
    assert takeover_cause("pg1", {"pg3": "stopped"}, None) == (
        "leader changed (not requested from this console)"
    )
    assert takeover_cause("pg1", {"pg1": "stopped"}, None) == (
        "automatic failover after pg1 was stopped"
    )
    assert takeover_cause("pg1", {"pg1": "unreachable"}, None) == (
        "automatic failover: pg1's REST API did not answer"
    )
    assert takeover_cause(None, {"pg1": "stopped"}, None) is None  # no leader known before


def test_requests_and_refusals_in_patronis_terms() -> None:
    assert msgspec.json.decode(promotion_request("switchover", "pg1", "pg2")) == {
        "candidate": "pg2",
        "leader": "pg1",
    }
    assert msgspec.json.decode(promotion_request("failover", "pg1", "pg2")) == {"candidate": "pg2"}
    at = "2026-12-06T22:00:00+01:00"
    assert (
        msgspec.json.decode(promotion_request("switchover", "pg1", "pg2", at))["scheduled_at"] == at
    )
    patch = msgspec.json.decode(read_only_patch(False))
    assert patch == {"postgresql": {"parameters": {"default_transaction_read_only": None}}}
    assert refusal_words(412, '"candidate name does not match with sync_standby"') == (
        "Patroni refused: candidate name does not match with sync_standby"
    )
    assert "user name or password" in refusal_words(401, "no auth header received")


def test_schedules_carry_their_zone() -> None:
    zone = timezone(timedelta(hours=1))
    now = datetime(2026, 12, 6, 21, 30, tzinfo=zone)
    assert schedule_at("22:00", now) == "2026-12-06T22:00:00+01:00"
    assert schedule_at("21:00", now) == "2026-12-07T21:00:00+01:00"  # passed today: tomorrow
    assert schedule_at("+15m", now) == "2026-12-06T21:45:00+01:00"
    assert schedule_at("2026-12-07T03:00+00:00", now) == "2026-12-07T03:00:00+00:00"
    for bad in ("25:00", "yesterday", "2026-01-01T00:00+00:00", "+0s", ""):
        with pytest.raises(ValueError):
            schedule_at(bad, now)


def test_config_takes_patroni_keys_only_on_patroni() -> None:
    config = parse_config(
        '[[backend]]\nname = "pg"\nkind = "patroni"\nurl = "http://127.0.0.1:8008"\n'
        'username = "patroni"\ntoken_key = "pg"\npg_user = "monitor"\n'
    )
    backend = config.backends[0]
    assert (backend.kind, backend.step_s, backend.username, backend.pg_user) == (
        "patroni",
        2.0,
        "patroni",
        "monitor",
    )
    assert backend.pg_database == "postgres"
    with pytest.raises(ConfigError, match="only patroni backends take username"):
        parse_config(
            '[[backend]]\nname = "p"\nkind = "prometheus"\nurl = "http://h:9090"\nusername = "x"\n'
        )
    with pytest.raises(ConfigError, match="cafile"):
        parse_config(
            '[[backend]]\nname = "p"\nkind = "patroni"\nurl = "http://h:8008"\n'
            'cafile = "/nonexistent.pem"\n'
        )


def test_what_patroni_adds_per_member_reaches_its_tooltip() -> None:
    leader = PatroniStatus(xlog={"location": 0x3000060}, dcs_last_seen=1_796_592_229)
    replica = PatroniStatus(
        xlog={"received_location": 0x3000060, "replayed_location": 0x3000000, "paused": True}
    )
    facts = {"pg1": MemberFacts(status=leader), "pg2": MemberFacts(status=replica)}
    cluster = cluster_of("orders", body(), PatroniConfigBody(), facts)
    pg1, pg2 = cluster.members[0], cluster.members[1]
    assert pg1.wal_words == "WAL at 0/3000060" and pg1.dcs_seen_ts == 1_796_592_229
    assert pg2.wal_words == "WAL received 0/3000060, replayed 0/3000000, replay paused"
    tooltip = member_cells(cluster, pg1, stale=False)["member"].tooltip
    assert tooltip is not None and tooltip.startswith("WAL at 0/3000060\nlast reached the DCS at ")
    assert member_cells(cluster, cluster.members[3], stale=False)["member"].tooltip is None

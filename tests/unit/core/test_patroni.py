"""Patroni's answers decoded as Patroni writes them, and its takeover rules, without I/O."""

from __future__ import annotations

import msgspec
import pytest

from opsconsole.core.patroni import (
    PatroniClusterBody,
    PatroniConfigBody,
    candidacies,
    decode_history,
    lag_bytes,
    lag_words,
    leader_of,
    role_words,
)

# As Patroni 3.0 writes it (Debian's), with the shapes later versions add.
CLUSTER = b"""{
  "members": [
    {"name": "pg1", "role": "leader", "state": "running", "api_url": "http://127.0.0.1:8008/patroni",
     "host": "127.0.0.1", "port": 5432, "timeline": 3},
    {"name": "pg2", "role": "sync_standby", "state": "streaming", "api_url": "http://127.0.0.1:8009/patroni",
     "host": "127.0.0.1", "port": 5433, "timeline": 3, "lag": 0},
    {"name": "pg3", "role": "replica", "state": "running", "host": "127.0.0.1", "port": 5434,
     "timeline": 3, "lag": 2097152, "tags": {"nofailover": true}},
    {"name": "pg4", "role": "replica", "state": "running", "timeline": 3, "lag": "unknown"},
    {"name": "pg5", "role": "replica", "state": "starting", "timeline": 2, "lag": 0},
    {"name": "pg6", "role": "replica", "state": "streaming", "timeline": 3,
     "receive_lag": 1024, "replay_lag": 4096}
  ],
  "pause": true,
  "scheduled_switchover": {"at": "2026-12-06T20:00:00+00:00", "from": "pg1", "to": "pg2"}
}"""


def cluster() -> PatroniClusterBody:
    return msgspec.json.decode(CLUSTER, type=PatroniClusterBody)


def test_members_roles_and_lag_as_patroni_says_them_and_unknown_is_never_zero() -> None:
    body = cluster()
    by_name = {m.name: m for m in body.members}
    assert body.pause and body.scheduled_switchover == {
        "at": "2026-12-06T20:00:00+00:00",
        "from": "pg1",
        "to": "pg2",
    }
    assert leader_of(body) is by_name["pg1"]
    assert [role_words(m) for m in body.members] == [
        "leader",
        "sync standby",
        "replica",
        "replica",
        "replica",
        "replica",
    ]
    assert lag_bytes(by_name["pg4"]) is None and lag_words(by_name["pg4"]) == "unknown"
    assert lag_bytes(by_name["pg2"]) == 0 and lag_words(by_name["pg2"]) == "0 B"
    assert lag_words(by_name["pg3"]) == "2.0 MiB"
    assert lag_bytes(by_name["pg6"]) == 4096  # the larger of receive and replay
    assert lag_words(by_name["pg1"]) == "—"  # the leader lags nobody


def test_who_may_take_over_by_patronis_own_rules() -> None:
    body = cluster()
    config = PatroniConfigBody(maximum_lag_on_failover=1_048_576)
    found = candidacies(body, config, unreachable=("pg6",))
    assert {n: c.allowed for n, c in found.items()} == {
        "pg1": False,
        "pg2": True,
        "pg3": False,
        "pg4": False,
        "pg5": False,
        "pg6": False,
    }
    assert found["pg1"].reason == "it is the leader"
    assert found["pg3"].reason == "it is tagged nofailover"
    assert found["pg4"].reason == "its lag is unknown"
    assert found["pg5"].reason == "it is starting, not running or streaming"
    assert found["pg6"].reason == "its REST API does not answer"
    assert found["pg2"].reason == "can take over (lag 0 B)"

    untagged = msgspec.structs.replace(body.members[2], tags={})
    lagging = candidacies(PatroniClusterBody(members=(untagged,)), config)["pg3"]
    assert lagging.reason == ("it lags 2.0 MiB, more than maximum_lag_on_failover (1.0 MiB)")
    # In synchronous mode only the sync standby may take over.
    sync = PatroniConfigBody(synchronous_mode=True)
    fine_replica = msgspec.structs.replace(body.members[5], receive_lag=0, replay_lag=0)
    verdicts = candidacies(PatroniClusterBody(members=(body.members[1], fine_replica)), sync)
    assert verdicts["pg2"].allowed
    assert verdicts["pg6"].reason == "synchronous mode is on and it is not the sync standby"


def test_config_and_history() -> None:
    config = msgspec.json.decode(
        b'{"ttl": 30, "loop_wait": 10, "maximum_lag_on_failover": 33554432, "pause": true,'
        b' "postgresql": {"parameters": {"default_transaction_read_only": "on"}}}',
        type=PatroniConfigBody,
    )
    assert config.maximum_lag_on_failover == 33_554_432 and config.pause
    assert config.advisory_read_only
    assert not PatroniConfigBody().advisory_read_only
    history = decode_history(
        b'[[1, 25623960, "no recovery target specified", "2026-12-06T19:00:01+00:00"],'
        b' [2, 50331808, "no recovery target specified", "2026-12-06T19:05:00+00:00", "pg2"],'
        b' ["bad row"]]'
    )
    assert [(h.timeline, h.new_leader) for h in history] == [(1, None), (2, "pg2")]
    assert history[1].timestamp == "2026-12-06T19:05:00+00:00"
    with pytest.raises(msgspec.DecodeError):
        decode_history(b"{not json")

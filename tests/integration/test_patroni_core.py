"""The console's reading of Patroni (core/patroni.py) against a real Patroni 3.0.2 cluster:
what it decodes is what `patronictl list` shows, and its takeover verdicts are Patroni's."""

from __future__ import annotations

import httpx
import msgspec

from opsconsole.core.patroni import (
    PatroniClusterBody,
    PatroniConfigBody,
    candidacies,
    decode_history,
    lag_bytes,
    leader_of,
    role_words,
)
from tests.integration.patroni_conftest import NOFAILOVER_MEMBER
from tests.support.patronilab import PatroniLab

CTL_ROLES = {"Leader": "leader", "Replica": "replica", "Sync Standby": "sync standby"}


def get(lab: PatroniLab, path: str) -> bytes:
    leader = lab.leader()
    assert leader is not None
    response = httpx.get(f"{lab.member(leader).url}{path}", timeout=5)
    response.raise_for_status()
    return response.content


def test_the_decoded_cluster_is_what_patronictl_lists(patroni_lab: PatroniLab) -> None:
    patroni_lab.wait_healthy(max_lag=0)
    body = msgspec.json.decode(get(patroni_lab, "/cluster"), type=PatroniClusterBody)
    ctl = {row["Member"]: row for row in patroni_lab.patronictl_list()}
    assert sorted(m.name for m in body.members) == sorted(ctl)
    for member in body.members:
        row = ctl[member.name]
        assert role_words(member) == CTL_ROLES[row["Role"]]
        assert member.state == row["State"] and member.timeline == row["TL"]
        if role_words(member) != "leader":
            assert lag_bytes(member) is not None  # a streaming replica's lag is known
    leader = leader_of(body)
    assert leader is not None and leader.name == patroni_lab.leader()
    assert not body.pause


def test_takeover_verdicts_are_patronis_own(patroni_lab: PatroniLab) -> None:
    patroni_lab.wait_healthy(max_lag=0)
    body = msgspec.json.decode(get(patroni_lab, "/cluster"), type=PatroniClusterBody)
    config = msgspec.json.decode(get(patroni_lab, "/config"), type=PatroniConfigBody)
    assert config.maximum_lag_on_failover == 1_048_576 and not config.advisory_read_only
    verdicts = candidacies(body, config)
    leader = patroni_lab.leader()
    assert verdicts[leader].reason == "it is the leader"
    assert verdicts[NOFAILOVER_MEMBER].reason == "it is tagged nofailover"
    others = [n for n in verdicts if n not in (leader, NOFAILOVER_MEMBER)]
    assert others and all(verdicts[n].allowed for n in others)
    # Patroni agrees: the member the console refuses is refused by Patroni too (412).
    refused = httpx.post(
        f"{patroni_lab.member(leader).url}/switchover",
        json={"leader": leader, "candidate": NOFAILOVER_MEMBER},
        auth=(patroni_lab.username, patroni_lab.password),
        timeout=30,
    )
    assert refused.status_code == 412, refused.text
    assert patroni_lab.leader() == leader
    # Its history decodes (empty on a cluster that never changed leader).
    assert all(h.timeline >= 1 for h in decode_history(get(patroni_lab, "/history")))

"""Smoke tests of the Patroni lab: a real etcd, PostgreSQL 15 and Patroni cluster on loopback.

The tests share one module-scoped cluster; the last one stops it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from tests.integration.patroni_conftest import NOFAILOVER_MEMBER
from tests.support.patronilab import PatroniLab
from tests.support.waiting import poll_until

# patronictl's words for a role, as `GET /cluster` says them
CTL_ROLES = {"Leader": "leader", "Replica": "replica", "Sync Standby": "sync_standby"}
MIB = 1024 * 1024


def by_name(cluster: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in cluster["members"]}


def post(lab: PatroniLab, path: str, body: dict[str, Any], auth: Any) -> httpx.Response:
    """An unsafe call (it needs the REST API's password) to the leader's REST API."""
    leader = lab.leader()
    assert leader is not None
    return httpx.post(f"{lab.member(leader).url}{path}", json=body, auth=auth, timeout=60)


def wait_new_leader(lab: PatroniLab, old: str, timeout_s: float = 60) -> str:
    """Until `GET /cluster` names a leader other than `old`; returns it."""
    return poll_until(
        lambda: (leader := lab.leader()) not in (None, old) and leader,
        timeout_s,
        f"a leader other than {old}",
        0.1,
    )


def history(lab: PatroniLab) -> list[Any]:
    leader = lab.leader()
    assert leader is not None
    return httpx.get(f"{lab.member(leader).url}/history", timeout=5).json()


def test_cluster_has_one_leader_and_two_streaming_replicas(patroni_lab: PatroniLab) -> None:
    cluster = patroni_lab.wait_healthy()
    print(f"\npatroni lab started in {patroni_lab.start_s:.1f} s")
    roles = sorted(m["role"] for m in cluster["members"])
    assert roles == ["leader", "replica", "replica"], cluster
    leader = patroni_lab.leader()
    assert leader is not None and leader != NOFAILOVER_MEMBER  # a nofailover member never leads
    status = patroni_lab.patroni_status(leader)
    assert status is not None and status["role"] == "master"
    streaming = {r["application_name"]: r["state"] for r in status["replication"]}
    replicas = {m["name"] for m in cluster["members"] if m["role"] == "replica"}
    assert streaming == dict.fromkeys(replicas, "streaming")
    assert by_name(cluster)[NOFAILOVER_MEMBER]["tags"] == {"nofailover": True}


def test_patronictl_list_and_rest_api_agree(patroni_lab: PatroniLab) -> None:
    cluster = patroni_lab.wait_healthy(max_lag=0)  # idle and caught up: both reads are stable
    ctl = patroni_lab.patronictl_list()
    again = patroni_lab.cluster()
    assert again == cluster, "the cluster changed between the two reads"

    rest = by_name(cluster)
    assert sorted(row["Member"] for row in ctl) == sorted(rest) == patroni_lab.member_names
    for row in ctl:
        member = rest[row["Member"]]
        assert row["Cluster"] == patroni_lab.scope
        assert CTL_ROLES[row["Role"]] == member["role"]
        assert row["State"] == member["state"]
        assert row["TL"] == member["timeline"]
        assert row["Host"] == f"{member['host']}:{member['port']}"
        assert row.get("Tags") == member.get("tags")
        if member["role"] == "leader":
            assert "Lag in MB" not in row or row["Lag in MB"] in ("", None)
        else:
            assert row["Lag in MB"] == round(member["lag"] / MIB)


def test_wrong_password_is_401_and_nothing_changes(patroni_lab: PatroniLab) -> None:
    before = patroni_lab.wait_healthy()
    leader = patroni_lab.leader()
    candidate = next(n for n in patroni_lab.member_names if n not in (leader, NOFAILOVER_MEMBER))
    body = {"leader": leader, "candidate": candidate}
    wrong = post(patroni_lab, "/switchover", body, auth=(patroni_lab.username, "not-the-password"))
    assert wrong.status_code == 401, wrong.text
    nobody = post(patroni_lab, "/switchover", body, auth=None)
    assert nobody.status_code == 401, nobody.text
    after = patroni_lab.wait_healthy()
    assert patroni_lab.leader() == leader
    assert by_name(after)[leader]["timeline"] == by_name(before)[leader]["timeline"]


def test_switchover_to_a_nofailover_member_is_refused(patroni_lab: PatroniLab) -> None:
    before = patroni_lab.wait_healthy()
    leader = patroni_lab.leader()
    body = {"leader": leader, "candidate": NOFAILOVER_MEMBER}
    auth = (patroni_lab.username, patroni_lab.password)
    refused = post(patroni_lab, "/switchover", body, auth=auth)
    assert refused.status_code == 412, refused.text
    assert "no good candidates" in refused.text
    after = patroni_lab.wait_healthy()
    assert patroni_lab.leader() == leader
    assert by_name(after)[leader]["timeline"] == by_name(before)[leader]["timeline"]


def test_switchover_moves_the_leader_and_the_timeline_up_by_one(patroni_lab: PatroniLab) -> None:
    before = patroni_lab.wait_healthy()
    old = patroni_lab.leader()
    assert old is not None
    timeline = by_name(before)[old]["timeline"]
    changes = len(history(patroni_lab))
    candidate = next(n for n in patroni_lab.member_names if n not in (old, NOFAILOVER_MEMBER))

    began = time.monotonic()
    auth = (patroni_lab.username, patroni_lab.password)
    answer = post(patroni_lab, "/switchover", {"leader": old, "candidate": candidate}, auth=auth)
    answered = time.monotonic() - began  # Patroni answers once it sees the new leader
    assert answer.status_code == 200, answer.text
    after = patroni_lab.wait_healthy(leader_not=old, min_timeline=timeline + 1)
    took = time.monotonic() - began
    print(
        f"\nswitchover {old} -> {candidate}: answered in {answered:.1f} s ({answer.text}), "
        f"all healthy in {took:.1f} s"
    )

    assert patroni_lab.leader() == candidate
    assert by_name(after)[candidate]["timeline"] == timeline + 1
    assert by_name(after)[old]["role"] == "replica"  # the old leader follows the new one
    assert len(history(patroni_lab)) == changes + 1


def test_killing_the_leaders_postgres_makes_patroni_fail_over(patroni_lab: PatroniLab) -> None:
    before = patroni_lab.wait_healthy()
    old = patroni_lab.leader()
    assert old is not None
    timeline = by_name(before)[old]["timeline"]

    began = time.monotonic()
    pid = patroni_lab.kill_postgres(old)
    new = wait_new_leader(patroni_lab, old)
    led = time.monotonic() - began
    after = patroni_lab.wait_healthy(timeout_s=90, leader_not=old, min_timeline=timeline + 1)
    took = time.monotonic() - began
    print(
        f"\nkilled postmaster {pid} of {old}: {new} leads after {led:.1f} s, "
        f"all healthy in {took:.1f} s"
    )
    assert patroni_lab.leader() == new

    assert new not in (old, NOFAILOVER_MEMBER)
    assert by_name(after)[new]["timeline"] == timeline + 1
    assert by_name(after)[old]["role"] == "replica"  # rejoined (pg_rewind when it diverged)


def test_stop_leaves_no_process_and_no_folder(patroni_lab: PatroniLab) -> None:
    patroni_lab.wait_healthy()
    running = patroni_lab.lab_processes()
    started = patroni_lab.started_pids
    assert set(started) <= set(running)
    assert len(running) >= len(started) + 3 * 5  # each postmaster and its children counted
    before = {pid: _identity(pid) for pid in running}
    folder = Path(patroni_lab.folder)

    patroni_lab.stop()

    assert patroni_lab.lab_processes() == []
    survivors = [pid for pid, ident in before.items() if _identity(pid) == ident]
    assert survivors == [], "processes of the lab still run after stop()"
    assert not folder.exists()


def _identity(pid: int) -> tuple[str, str] | None:
    """A live process's start time and command, so a reused pid is not taken for it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return None
    return None if stat[0] == "Z" else (stat[19], cmd)

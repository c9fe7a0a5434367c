"""The Patroni client on answers a real Patroni gives only by chance: a 503 "switchover status
unknown", a malformed /cluster, a member that stops answering mid-poll.

Patroni itself is tested for real in tests/ui/test_patroni_console.py; here its REST API is
stood in for by `httpx.MockTransport` (answers shaped as Patroni 3.0.2 writes them), because
these answers cannot be provoked on demand from a real cluster."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from opsconsole.backends.errors import ApiError
from opsconsole.backends.patroni import PatroniClient
from opsconsole.backends.secrets import Secret
from opsconsole.core.actions import Intent
from opsconsole.core.events import ClusterChanged, EventOccurred, StoreEvent
from opsconsole.core.models import ConnectionState
from opsconsole.core.store import Store
from tests.support.waiting import wait_until

PG1, PG2 = "http://127.0.0.1:18008", "http://127.0.0.1:18009"


class FakePatroni:
    """Two members' REST APIs: pg1 leads, pg2 follows; answers can be swapped per path."""

    def __init__(self) -> None:
        self.leader = "pg1"
        self.requests: list[tuple[str, str, bytes]] = []
        self.override: dict[tuple[str, str], Callable[[httpx.Request], httpx.Response]] = {}
        self.silent: set[str] = set()  # hosts whose REST API does not answer
        self.states: dict[str, str] = {}  # a member's state other than "running"

    def cluster(self) -> dict[str, object]:
        def member(name: str, url: str) -> dict[str, object]:
            lead = name == self.leader
            row: dict[str, object] = {
                "name": name,
                "role": "leader" if lead else "replica",
                "state": self.states.get(name, "running"),
                "api_url": f"{url}/patroni",
                "host": "127.0.0.1",
                "port": 5432,
                "timeline": 1,
            }
            if not lead:
                row["lag"] = 0
            return row

        return {"members": [member("pg1", PG1), member("pg2", PG2)]}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        host = f"{request.url.scheme}://{request.url.host}:{request.url.port}"
        self.requests.append((request.method, request.url.path, request.content))
        if host in self.silent:
            raise httpx.ConnectTimeout("timed out", request=request)
        special = self.override.get((request.method, request.url.path))
        if special is not None:
            return special(request)
        if request.url.path == "/cluster":
            return httpx.Response(200, json=self.cluster())
        if request.url.path == "/config":
            return httpx.Response(200, json={"loop_wait": 1, "maximum_lag_on_failover": 1048576})
        if request.url.path == "/history":
            return httpx.Response(200, json=[])
        if request.url.path == "/patroni":
            return httpx.Response(200, json={"state": "running", "patroni": {"scope": "demo"}})
        return httpx.Response(404, text="not found")

    def posts(self) -> list[tuple[str, str, bytes]]:
        return [r for r in self.requests if r[0] != "GET"]


@pytest.fixture
async def patroni():
    fake = FakePatroni()
    events: list[StoreEvent] = []
    store = Store()

    def sink(event: StoreEvent) -> None:
        events.append(event)
        store.apply(event)

    client = PatroniClient(
        "pg",
        PG1,
        sink,
        username="patroni",
        password=Secret("s3cret-pass"),
        poll_s=0.05,
        transport=httpx.MockTransport(fake),
    )
    yield fake, client, store, events
    await client.aclose()


def switchover(member: str = "pg2") -> Intent:
    return Intent("db.switchover", "pg", "demo", {"member": member})


async def test_a_503_is_not_a_refusal_and_the_intent_is_never_sent_twice(patroni) -> None:
    fake, client, _store, _events = patroni
    await client.refresh()
    fake.override[("POST", "/switchover")] = lambda r: httpx.Response(
        503, text="Switchover status unknown"
    )
    intent = switchover()
    with pytest.raises(ApiError) as info:
        await client.perform(intent)
    # 5xx: the pipeline watches the live state instead of calling it refused
    assert info.value.status == 503 and "Switchover status unknown" in str(info.value)
    assert json.loads(fake.posts()[0][2]) == {"candidate": "pg2", "leader": "pg1"}
    await client.perform(intent)  # the same intent again (a retry): nothing is sent
    assert len(fake.posts()) == 1 and client.posts == 1
    fake.leader = "pg2"  # it happened after all
    await client.perform(switchover())  # a new intent for the member that now leads
    assert len(fake.posts()) == 1


async def test_patronis_refusals_keep_its_words_and_hide_the_password(patroni) -> None:
    fake, client, _store, _events = patroni
    await client.refresh()
    fake.override[("POST", "/switchover")] = lambda r: httpx.Response(
        412, text="candidate name does not match with sync_standby"
    )
    with pytest.raises(ApiError) as info:
        await client.perform(switchover())
    assert str(info.value) == (
        "Patroni refused: candidate name does not match with sync_standby (HTTP 412)"
    )
    fake.override[("PATCH", "/config")] = lambda r: httpx.Response(401, text="no auth header")
    with pytest.raises(ApiError) as info:
        await client.perform(Intent("db.pause", "pg", "demo", {}))
    assert info.value.status == 401 and "s3cret" not in str(info.value)
    assert "user name or password" in str(info.value)


async def test_bad_answers_and_silent_members_are_said_and_polling_goes_on(patroni) -> None:
    fake, client, store, _events = patroni
    client.start()
    await wait_until(lambda: client.status.state is ConnectionState.LIVE, 5, "LIVE")
    fake.silent.add(PG2)
    await wait_until(
        lambda: any(
            m.name == "pg2" and not m.reachable
            for m in store.backend("pg").clusters["demo"].members
        ),
        5,
        "pg2 unreachable",
    )
    assert client.status.state is ConnectionState.LIVE
    fake.silent.discard(PG2)
    fake.override[("GET", "/cluster")] = lambda r: httpx.Response(200, text='{"members": 7}')
    await wait_until(
        lambda: client.status.state is ConnectionState.RECONNECTING, 5, "the bad answer said"
    )
    assert "answered something else" in client.status.detail
    del fake.override[("GET", "/cluster")]
    await wait_until(lambda: client.status.state is ConnectionState.LIVE, 5, "LIVE again")


async def test_history_is_merged_once_with_the_cause_the_console_saw(patroni) -> None:
    fake, client, _store, events = patroni
    await client.refresh()
    fake.leader = "pg2"  # Patroni lists the new leader while the old one still says running
    fake.override[("GET", "/history")] = lambda r: httpx.Response(
        200,
        json=[[1, 50331744, "no recovery target specified", "2026-12-06T21:00:00+00:00", "pg2"]],
    )
    await client.refresh()

    def lines() -> list[str]:
        return [e.event.message for e in events if isinstance(e, EventOccurred)]

    assert lines() == []  # held: why it happened is not seen yet
    fake.states["pg1"] = "stopped"
    await client.refresh()
    await client.refresh()
    assert lines() == [
        "demo: pg2 promoted, timeline 1 → 2 — automatic failover after pg1 was stopped; "
        "Patroni: no recovery target specified"
    ]
    clusters = [e.cluster for e in events if isinstance(e, ClusterChanged)]
    assert clusters[-1].primary == "pg2"


async def test_a_change_nobody_here_asked_for_is_told_so_once_the_wait_is_over(
    patroni, monkeypatch
) -> None:
    fake, client, _store, events = patroni
    monkeypatch.setattr("opsconsole.backends.patroni.HISTORY_HOLD_S", 0.0)
    await client.refresh()
    fake.leader = "pg2"
    fake.override[("GET", "/history")] = lambda r: httpx.Response(
        200, json=[[1, 50331744, "no recovery target specified", None, "pg2"]]
    )
    await client.refresh()
    [line] = [e.event for e in events if isinstance(e, EventOccurred)]
    assert "leader changed (not requested from this console)" in line.message

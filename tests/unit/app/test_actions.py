"""The action pipeline against the real reference backend: once per intent, audited, verified."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import subprocess
import sys

import pytest

from opsconsole.app.actions import ActionResult, ActionRunner, register_action_commands
from opsconsole.backends.opsapi import OpsApiClient
from opsconsole.backends.secrets import Secret
from opsconsole.core.actions import Intent, Stakes
from opsconsole.core.audit import AuditLog, verify
from opsconsole.core.commands import CommandRegistry
from opsconsole.core.eligibility import human_bytes
from opsconsole.core.models import ConnectionState, Transport
from tests.support.tcpproxy import FaultProxy
from tests.support.waiting import wait_until, wait_until_async
from tests.support.wsproxy import FrameProxy


class Operator:
    """Stands in for the person at the keyboard: answers every confirmation as told."""

    def __init__(self, answer: bool = True) -> None:
        self.answer = answer
        self.asked: list[Intent] = []

    async def __call__(self, intent: Intent) -> bool:
        self.asked.append(intent)
        return self.answer


@pytest.fixture
async def console(sim_factory, store, client_factory, tmp_path):
    """A live backend, a client feeding the store, and the action commands wired up."""

    async def make(operator: Operator | None = None, url: str | None = None, **sim_config):
        sim = await sim_factory(time_scale=20, **sim_config) if url is None else None
        client = client_factory(url or sim.url)
        await wait_until(lambda: client.status.state is ConnectionState.LIVE, 10, "LIVE")
        await wait_until(lambda: "orders-db" in store.backend("sim").clusters, 5, "clusters")
        audit = AuditLog(tmp_path / "audit.jsonl")
        results = []
        runner = ActionRunner(
            store,
            {"sim": client},
            audit,
            operator or Operator(),
            report=lambda intent, r: results.append(r),
            outcome_timeout_s=15,
        )
        registry = CommandRegistry()
        register_action_commands(registry, runner)
        return sim, client, registry, audit, results

    return make


def audit_lines(audit: AuditLog) -> list[dict]:
    if not audit.path.exists():
        return []
    return [json.loads(line) for line in audit.path.read_text().splitlines()]


async def test_switchover_fired_twice_with_one_intent_acts_once(console, store, tmp_path):
    _sim, client, registry, audit, _ = await console()
    first = registry.run(
        "db.switchover",
        backend="sim",
        cluster="orders-db",
        member="replica-2",
        intent_key="intent-1",
    )
    again = registry.run(
        "db.switchover",
        backend="sim",
        cluster="orders-db",
        member="replica-2",
        intent_key="intent-1",
    )
    assert again is first  # double Enter joins the running intent
    result = await first
    assert result.ok, result.message
    assert result.message == "replica-2 is primary, timeline 2"
    cluster = (await client.clusters()).clusters[0]
    assert cluster.primary == "replica-2"
    assert {m.timeline for m in cluster.members if m.name == "replica-2"} == {2}
    # Fired again with the same intent after it finished: the state says it is done already.
    late = await registry.run(
        "db.switchover",
        backend="sim",
        cluster="orders-db",
        member="replica-2",
        intent_key="intent-1",
    )
    assert late.status == "blocked" and "already primary" in late.message
    records = audit_lines(audit)
    # The late try sent nothing, and is on record as a refused intent with its rule.
    assert [r["phase"] for r in records] == ["intent", "result", "refused"]
    assert records[0]["idempotency_key"] == "intent-1" and records[0]["user"]
    assert records[0]["at_stake"]["member"] == "replica-2"
    assert records[1]["outcome"] == "succeeded"
    assert records[2]["outcome"] == "refused"
    assert records[2]["rules"] == ["candidate-eligible"]
    assert records[2]["message"] == "replica-2 cannot take over: is already primary"
    assert verify(audit.path).ok  # a chain with refused records verifies like any other

    cli = [sys.executable, "-m", "opsconsole", "audit", "verify", str(audit.path)]
    ok = await asyncio.to_thread(subprocess.run, cli, capture_output=True, check=False)
    assert ok.returncode == 0
    data = bytearray(audit.path.read_bytes())
    data[data.index(b"replica-2")] = ord("X")  # one byte edited
    audit.path.write_bytes(bytes(data))
    proc = await asyncio.to_thread(subprocess.run, cli, capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "line 1" in proc.stderr and "altered" in proc.stderr


async def test_failover_promotes_the_chosen_replica(console):
    _, _client, registry, audit, _ = await console()
    result = await registry.run(
        "db.failover", backend="sim", cluster="orders-db", member="replica-3"
    )
    assert result.ok and result.message == "replica-3 is primary, timeline 2"
    assert verify(audit.path).ok and len(audit_lines(audit)) == 2


async def test_ineligible_candidate_is_refused_before_sending(console, store):
    _, client, registry, audit, _ = await console()
    await client.scenario("replica_lag", "replica-2")
    await wait_until(
        lambda: (
            next(
                m
                for m in store.backend("sim").clusters["orders-db"].members
                if m.name == "replica-2"
            ).lag_bytes
            > 1024 * 1024
        ),
        10,
        "replica-2 lagging",
    )
    result = await registry.run(
        "db.switchover", backend="sim", cluster="orders-db", member="replica-2"
    )
    assert result.status == "blocked"
    # Said once: the status is "blocked", the words say why (no "blocked (rule):" prefix).
    assert result.message.startswith("replica-2 cannot take over: lagging")
    assert result.rules == ("candidate-eligible",)
    # Nothing was sent, and the attempt is on record for the post-mortem.
    [record] = audit_lines(audit)
    assert record["phase"] == "refused" and record["outcome"] == "refused"
    assert record["command"] == "db.switchover" and record["target"] == "orders-db"
    assert record["args"] == {"member": "replica-2"}
    assert record["rules"] == ["candidate-eligible"]
    assert record["message"] == result.message
    assert verify(audit.path).ok
    assert (await client.clusters()).clusters[0].primary == "primary-db"


async def test_a_412_from_the_backend_is_shown_with_its_reasons(
    sim_factory, store, client_factory, tmp_path
):
    sim = await sim_factory(time_scale=20)
    # The console's view is forged to say replica-3 is not lagging; the backend knows better.
    proxy = FrameProxy(sim.url.replace("http", "ws") + "/api/v1/stream")

    def hide_lag(message: str) -> list[str]:
        frame = json.loads(message)
        clusters = frame.get("clusters") or ([frame["cluster"]] if "cluster" in frame else [])
        for cluster in clusters:
            for member in cluster["members"]:
                member["lag_bytes"] = 0
        return [json.dumps(frame)]

    proxy.rewrite = hide_lag
    await proxy.start()
    rest = OpsApiClient("sim", sim.url, lambda e: None)  # actions go straight to the backend
    try:
        await rest.scenario("replica_lag", "replica-3")
        client_factory(proxy.url, transports=(Transport.WEBSOCKET,))
        await wait_until(lambda: "orders-db" in store.backend("sim").clusters, 10, "clusters")

        async def backend_sees_lag() -> bool:
            members = (await rest.clusters()).clusters[0].members
            return next(m for m in members if m.name == "replica-3").lag_bytes > 1024 * 1024

        await wait_until_async(backend_sees_lag, 10, "the backend to see replica-3 lagging")
        audit = AuditLog(tmp_path / "audit.jsonl")
        runner = ActionRunner(store, {"sim": rest}, audit, Operator(), outcome_timeout_s=5)
        intent = Intent("db.switchover", "sim", "orders-db", {"member": "replica-3"})
        result = await runner.submit(intent)
        assert result.status == "refused"
        assert "(HTTP 412)" in result.message
        assert "replica-3: lagging" in result.message
        assert [r["outcome"] for r in audit_lines(audit) if r["phase"] == "result"] == ["refused"]
    finally:
        await rest.aclose()
        await proxy.stop()


async def test_breaker_close_after_a_dependency_outage(console, store):
    _, client, registry, _audit, _ = await console()
    await client.scenario("dependency_outage", "inventory-service")
    circuits = store.backend("sim").circuits
    await wait_until(lambda: circuits["inventory-service"].state == "open", 10, "open")
    await client.scenario("recover")
    result = await registry.run("breaker.close", backend="sim", name="inventory-service")
    assert result.ok and result.message == "inventory-service is closed"


async def test_cancelled_confirmation_sends_nothing(console):
    _, client, registry, audit, results = await console(Operator(answer=False))
    result = await registry.run("breaker.force_open", backend="sim", name="payment-service")
    assert result.status == "cancelled" and "nothing sent" in result.message
    assert audit_lines(audit) == []
    assert (await client.circuits()).circuits["payment-service"].state == "closed"
    assert results == [result]


async def test_forbidden_token_is_refused_in_plain_words(sim_factory, store, tmp_path):
    # Tokens as long as real ones: a secret is masked wherever it occurs in any text of this
    # process, so a two-letter one would mask "ro" inside every later "Prometheus".
    sim = await sim_factory(time_scale=20, token="rw-token-7c1f", readonly_token="ro-token-3a9e")
    client = OpsApiClient("sim", sim.url, store.apply, token=Secret("ro-token-3a9e"))
    client.start()
    try:
        await wait_until(lambda: client.status.state is ConnectionState.LIVE, 10, "LIVE")
        audit = AuditLog(tmp_path / "ro.jsonl")
        runner = ActionRunner(store, {"sim": client}, audit, Operator(), outcome_timeout_s=5)
        result = await runner.submit(Intent("db.read_only", "sim", "orders-db", {"enabled": True}))
        assert result.status == "refused"
        assert "403" in result.message and "Traceback" not in result.message
        assert [r["phase"] for r in audit_lines(audit)] == ["intent", "result"]
    finally:
        await client.aclose()


class LagReader(Operator):
    """An operator who reads the chosen member's lag in the live state as the question comes."""

    def __init__(self, store, member: str) -> None:
        super().__init__()
        self.store, self.member = store, member
        self.lag_seen: list[int] = []

    async def __call__(self, intent: Intent) -> bool:
        members = self.store.backend(intent.backend).clusters[intent.target].members
        self.lag_seen.append(next(m.lag_bytes for m in members if m.name == self.member))
        return await super().__call__(intent)


async def test_the_failover_question_names_the_member_and_what_may_be_lost(console, store):
    operator = LagReader(store, "replica-3")
    _, _client, registry, audit, _ = await console(operator)
    result = await registry.run(
        "db.failover", backend="sim", cluster="orders-db", member="replica-3"
    )
    assert result.ok, result.message
    [asked] = operator.asked
    [lag] = operator.lag_seen
    assert lag > 0  # the reference backend's replicas always trail by a few KiB
    size = human_bytes(lag)
    assert asked.stakes is not None
    assert asked.stakes == Stakes("replica-3", lag, may_lose=True, timeline=asked.stakes.timeline)
    assert asked.stakes.timeline == 1  # the timeline shown: the promotion must lead a later one
    assert asked.headline() == (
        f"Fail over orders-db to replica-3 (lag {size}: up to {size} of committed writes "
        "may be lost) on sim."
    )
    assert asked.typed_name == "replica-3"  # the member, not the cluster
    intent_record = audit_lines(audit)[0]
    assert intent_record["at_stake"] == {"member": "replica-3", "lag_bytes": lag}


async def test_the_switchover_question_shows_the_lag_too(console, store):
    operator = LagReader(store, "replica-1")
    _, _client, registry, _audit, _ = await console(operator)
    result = await registry.run(
        "db.switchover", backend="sim", cluster="orders-db", member="replica-1"
    )
    assert result.ok, result.message
    [lag] = operator.lag_seen
    assert operator.asked[0].headline() == (
        f"Switch over orders-db to replica-1 (lag {human_bytes(lag)}; a switchover waits for "
        "it, no writes are lost) on sim."
    )


async def test_a_refusal_is_on_record_before_the_operator_hears_of_it(console, store):
    on_record_when_told: list[list[str]] = []
    _, client, _registry, audit, _ = await console()

    def report(intent: Intent, result: ActionResult) -> None:
        on_record_when_told.append([r["phase"] for r in audit_lines(audit)])

    runner = ActionRunner(store, {"sim": client}, audit, Operator(), report, read_only=True)
    result = await runner.submit(Intent("breaker.force_open", "sim", "payment-service"))
    assert result.status == "blocked"
    assert result.message == "this is a read-only display: actions are off"
    assert on_record_when_told == [["refused"]]
    [record] = audit_lines(audit)
    assert record["rules"] == ["read-only-display"] and record["target"] == "payment-service"
    assert (await client.circuits()).circuits["payment-service"].state == "closed"


async def test_an_unwritable_audit_log_means_nothing_is_sent(console, store, tmp_path):
    _, client, _registry, _audit, _ = await console()
    # A folder where the log should be: every write fails, as on a full or read-only disk.
    blocked_path = tmp_path / "not-a-file"
    blocked_path.mkdir()
    runner = ActionRunner(store, {"sim": client}, AuditLog(blocked_path), Operator())
    result = await runner.submit(Intent("breaker.force_open", "sim", "payment-service"))
    assert result.status == "blocked"
    assert result.message.startswith("not sent: the audit log cannot be written")
    assert result.rules == ("audit-written",)
    assert (await client.circuits()).circuits["payment-service"].state == "closed"
    # A refusal that cannot be recorded is still told, and says it is not on record.
    refused = await runner.submit(
        Intent("db.switchover", "sim", "orders-db", {"member": "primary-db"})
    )
    assert refused.status == "blocked"
    assert refused.message.startswith("primary-db cannot take over: is already primary")
    assert "(not in the audit log:" in refused.message


class CutsTheLinkOnYes(Operator):
    """Says yes, and at that moment the console's link goes silent (no FIN, no RST): the
    request still reaches the backend, the console sees nothing of what it did."""

    def __init__(self, proxy: FaultProxy) -> None:
        super().__init__()
        self.proxy = proxy

    async def __call__(self, intent: Intent) -> bool:
        self.proxy.silence_existing()
        self.proxy.new_links_silent = True
        return await super().__call__(intent)


@pytest.fixture
async def blind_console(sim_factory, store, client_factory, tmp_path):
    """The console's view goes through a fault proxy; its requests go to the backend (so a
    cut link hides what the request did instead of stopping it)."""
    opened: list[object] = []

    async def make(send_to: str | None = None):
        sim = await sim_factory(time_scale=20)
        proxy = FaultProxy("127.0.0.1", int(sim.url.rsplit(":", 1)[1]))
        await proxy.start()
        opened.append(proxy)
        client = client_factory(proxy.url)
        rest = OpsApiClient("sim", send_to or sim.url, lambda e: None)
        opened.append(rest)
        await wait_until(lambda: client.status.state is ConnectionState.LIVE, 10, "LIVE")
        await wait_until(lambda: "orders-db" in store.backend("sim").clusters, 5, "clusters")
        results: list[ActionResult] = []
        runner = ActionRunner(
            store,
            {"sim": rest},
            AuditLog(tmp_path / "audit.jsonl"),
            CutsTheLinkOnYes(proxy),
            report=lambda intent, r: results.append(r),
            outcome_timeout_s=6,  # the link reads STALE after 3 s without a frame
        )
        return sim, proxy, runner, results

    yield make
    for thing in reversed(opened):
        await (thing.stop() if isinstance(thing, FaultProxy) else thing.aclose())


CLOCK = r"\d\d:\d\d:\d\d"


async def test_a_failover_watched_while_blind_is_unknown_then_settled(blind_console, store):
    sim, proxy, runner, results = await blind_console()
    intent = Intent("db.failover", "sim", "orders-db", {"member": "replica-2"})
    result = await runner.submit(intent)
    # The backend failed over; the console could not see it, and does not claim "no change".
    assert result.status == "unknown", result.message
    assert re.fullmatch(
        rf"the link to sim has been down since {CLOCK}; will settle when it is back",
        result.message,
    )
    assert store.backend("sim").clusters["orders-db"].primary == "primary-db"
    direct = OpsApiClient("sim", sim.url, lambda e: None)
    try:
        assert (await direct.clusters()).clusters[0].primary == "replica-2"
    finally:
        await direct.aclose()
    records = audit_lines(runner.audit)
    assert [(r["phase"], r.get("outcome")) for r in records] == [
        ("intent", None),
        ("result", "unknown"),
    ]
    [span] = records[1]["blind"]
    assert span["to"] is None and span["from"] > records[0]["ts"]
    assert runner.in_flight == (intent,)  # still watched: quitting now asks first
    settling = runner.settling(intent)
    assert settling is not None and not settling.done()

    proxy.new_links_silent = False
    proxy.reset_all()  # the link comes back
    final = await asyncio.wait_for(settling, 20)
    assert final.status == "succeeded", final.message
    assert re.fullmatch(
        rf"replica-2 is primary, timeline 2 \(seen after the link came back at {CLOCK}\)",
        final.message,
    )
    assert [r.status for r in results] == ["unknown", "succeeded"]
    records = audit_lines(runner.audit)
    assert [(r["phase"], r.get("outcome")) for r in records] == [
        ("intent", None),
        ("result", "unknown"),
        ("settled", "succeeded"),
    ]
    # Appended, never rewritten: it names the intent and the record it settles.
    assert records[2]["idempotency_key"] == intent.key == records[0]["idempotency_key"]
    assert records[2]["settles"] == records[1]["seq"]
    assert records[2]["message"] == final.message
    [span] = records[2]["blind"]
    assert span["to"] is not None and span["to"] > span["from"]
    assert verify(runner.audit.path).ok
    assert runner.in_flight == () and runner.settling(intent) is None


async def test_an_unknown_settles_as_no_change_when_the_state_never_shows_it(blind_console, store):
    # The request is sent to a port nobody listens on: it never arrives, the link is cut.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{s.getsockname()[1]}"
    _sim, proxy, runner, results = await blind_console(send_to=nowhere)
    intent = Intent("breaker.force_open", "sim", "payment-service")
    result = await runner.submit(intent)
    assert result.status == "unknown", result.message
    settling = runner.settling(intent)
    assert settling is not None
    proxy.new_links_silent = False
    proxy.reset_all()
    final = await asyncio.wait_for(settling, 20)
    assert (final.status, re.sub(CLOCK, "T", final.message)) == (
        "no_change",
        "not seen after the link came back at T",
    )
    assert store.backend("sim").circuits["payment-service"].state == "closed"
    assert [r.status for r in results] == ["unknown", "no_change"]
    phases = [(r["phase"], r.get("outcome")) for r in audit_lines(runner.audit)]
    assert phases == [("intent", None), ("result", "unknown"), ("settled", "no_change")]


async def test_an_unknown_the_link_never_comes_back_to_ends_in_words_on_record(
    blind_console,
):
    _sim, _proxy, runner, results = await blind_console()
    runner.settle_limit_s = 1.0  # ten minutes in the console
    intent = Intent("breaker.force_open", "sim", "payment-service")
    assert (await runner.submit(intent)).status == "unknown"
    final = await asyncio.wait_for(runner.settling(intent), 10)
    assert final.status == "unknown"
    assert re.fullmatch(
        rf"still unknown after 1 s: the link to sim has been down since {CLOCK}; "
        "check the state by hand",
        final.message,
    )
    assert [r.status for r in results] == ["unknown", "unknown"]
    records = audit_lines(runner.audit)
    assert [(r["phase"], r.get("outcome")) for r in records][-1] == ("settled", "unknown")
    assert runner.in_flight == ()


async def test_closing_the_console_while_unknown_leaves_the_last_word_on_record(
    blind_console,
):
    _sim, _proxy, runner, results = await blind_console()
    intent = Intent("breaker.force_open", "sim", "payment-service")
    assert (await runner.submit(intent)).status == "unknown"
    settling = runner.settling(intent)
    runner.close()
    with contextlib.suppress(asyncio.CancelledError):
        await settling
    records = audit_lines(runner.audit)
    assert [(r["phase"], r.get("outcome")) for r in records][-1] == ("settled", "unknown")
    assert re.fullmatch(
        rf"not settled: the console stopped watching at {CLOCK}; check the state by hand",
        records[-1]["message"],
    )
    assert verify(runner.audit.path).ok
    assert [r.status for r in results] == ["unknown"]

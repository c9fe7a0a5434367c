"""The Alertmanager client and silence actions against Debian's real Alertmanager (and stack)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsconsole.app.actions import ActionRunner, register_action_commands
from opsconsole.backends.alertmanager import AlertmanagerClient, SilenceRefused
from opsconsole.backends.errors import ApiError, BackendError
from opsconsole.backends.secrets import Secret
from opsconsole.core.actions import Intent
from opsconsole.core.alertmanager import intent_of
from opsconsole.core.audit import AuditLog, os_user, verify
from opsconsole.core.commands import CommandRegistry
from opsconsole.core.events import AlertChanged, BackendDescribed
from opsconsole.core.models import Alert, BackendInfo, ConnectionState, Matcher, Transport
from opsconsole.core.store import Store
from tests.support.promstack import ALERTMANAGER, Daemon, alert_rules, free_port, require
from tests.support.tcpproxy import FaultProxy
from tests.support.waiting import wait_until, wait_until_async

AM_ACTIONS = frozenset({"alert.ack", "alert.silence", "silence.expire"})
POLL_S = 0.2
LATENCY_LABELS = {"alertname": "LatencyHigh", "service": "orders", "severity": "page"}


class Operator:
    """Stands in for the person at the keyboard: confirms every action."""

    def __init__(self) -> None:
        self.asked: list[Intent] = []

    async def __call__(self, intent: Intent) -> bool:
        self.asked.append(intent)
        return True


async def post_alert(am: Daemon, labels: dict[str, str], **annotations: str) -> None:
    """What Prometheus does when a rule fires (the full path is tested at the end)."""
    body = [{"labels": labels, "annotations": annotations}]
    async with httpx.AsyncClient(timeout=5) as http:
        response = await http.post(f"{am.url}/api/v2/alerts", json=body)
    assert response.status_code == 200, response.text


async def am_silences(am: Daemon) -> list[dict[str, Any]]:
    """Alertmanager's own list, read past our client."""
    async with httpx.AsyncClient(timeout=5) as http:
        response = await http.get(f"{am.url}/api/v2/silences")
    assert response.status_code == 200
    return response.json()


def iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def alert_named(store: Store, backend: str, rule: str, service: str) -> Alert | None:
    return next(
        (
            a
            for a in store.backend(backend).alerts.values()
            if a.rule == rule and a.service == service
        ),
        None,
    )


@pytest.fixture
async def connect(store: Store) -> AsyncIterator[Callable[..., AlertmanagerClient]]:
    """Started clients feeding `store` (described as the app's configuration would)."""
    made: list[AlertmanagerClient] = []

    def make(url: str, name: str = "am", **kw: Any) -> AlertmanagerClient:
        client = AlertmanagerClient(name, url, store.apply, poll_s=kw.pop("poll_s", POLL_S), **kw)
        store.apply(
            BackendDescribed(name, BackendInfo(name, "alertmanager", url, False, AM_ACTIONS))
        )
        client.start()
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


async def live_with(store: Store, client: AlertmanagerClient, labels: dict[str, str]) -> Alert:
    await wait_until(lambda: client.status.state is ConnectionState.LIVE, 10, "LIVE")
    found: list[Alert] = []

    def seen() -> bool:
        found[:] = [a for a in store.backend(client.name).alerts.values() if a.labels == labels]
        return bool(found)

    await wait_until(seen, 10, f"the alert {labels}")
    return found[0]


# ---------------------------------------------------------------- reading


async def test_the_client_sees_alerts_and_their_status(alertmanager, store, connect) -> None:
    await post_alert(
        alertmanager, LATENCY_LABELS, summary="p99 of orders high", value="0.7", threshold="0.5"
    )
    client = connect(alertmanager.url)
    alert = await live_with(store, client, LATENCY_LABELS)
    assert client.status.transport is Transport.ALERTMANAGER
    assert (alert.service, alert.rule, alert.severity, alert.state) == (
        "orders",
        "LatencyHigh",
        "page",
        "firing",
    )
    assert (alert.value, alert.threshold, alert.summary) == (0.7, 0.5, "p99 of orders high")
    assert alert.annotations["summary"] == "p99 of orders high"
    assert alert.acked_by is None and alert.silenced_by == ()
    assert len(alert.id) >= 8  # Alertmanager's fingerprint
    # The server's clock was read from its answers.
    assert client.server_clock.known
    assert abs(client.server_now() - time.time()) < 3


# ---------------------------------------------------------------- ack = silence


async def test_an_ack_is_one_silence_of_the_alerts_labels_made_once(
    alertmanager, store, connect
) -> None:
    await post_alert(alertmanager, LATENCY_LABELS, summary="p99 high")
    # The workstation's clock is two hours behind: the silence must still be timed by the
    # server's clock (an end two hours in the past would be refused by Alertmanager).
    client = connect(alertmanager.url, clock=lambda: time.time() - 7200)
    alert = await live_with(store, client, LATENCY_LABELS)

    before = time.time()
    silence_id = await client.ack(alert.id, "alice", "looking at the orders DB", "intent-ack-1")
    listed = await am_silences(alertmanager)
    assert [s["id"] for s in listed] == [silence_id]
    made = listed[0]
    assert made["status"]["state"] == "active"
    assert sorted(
        (m["name"], m["value"], m["isRegex"], m["isEqual"]) for m in made["matchers"]
    ) == [
        ("alertname", "LatencyHigh", False, True),
        ("service", "orders", False, True),
        ("severity", "page", False, True),
    ]
    assert made["createdBy"] == "alice"
    assert made["comment"] == "opsconsole ack: looking at the orders DB [intent intent-ack-1]"
    assert intent_of(made["comment"]) == "intent-ack-1"
    # From the server's clock (its `Date` has 1 s resolution), not the skewed workstation's.
    assert before - 2 <= iso(made["startsAt"]) <= time.time() + 1
    assert iso(made["endsAt"]) - iso(made["startsAt"]) == pytest.approx(3600, abs=2)

    await wait_until(
        lambda: store.backend("am").alerts[alert.id].silenced_by == (silence_id,),
        5,
        "the alert silenced in the store",
    )
    shown = store.backend("am").alerts[alert.id]
    assert shown.state == "firing" and shown.acked_by == "alice"
    assert shown.acked_ts == pytest.approx(iso(made["startsAt"]), abs=0.01)
    assert store.backend("am").silences[silence_id].state == "active"

    # The same intent again (a retry after a lost answer): found by its key, nothing sent.
    again = await client.ack(alert.id, "alice", "looking at the orders DB", "intent-ack-1")
    assert again == silence_id
    assert client.posts == 1
    assert [s["id"] for s in await am_silences(alertmanager)] == [silence_id]
    # Even from a fresh client (another console, or after a restart): the comment says so.
    other = connect(alertmanager.url, name="am2")
    await live_with(store, other, LATENCY_LABELS)
    assert await other.ack(alert.id, "alice", "again", "intent-ack-1") == silence_id
    assert other.posts == 0
    assert len(await am_silences(alertmanager)) == 1

    await client.expire(silence_id, "intent-expire-1")
    assert [s["status"]["state"] for s in await am_silences(alertmanager)] == ["expired"]
    await client.refresh()
    assert store.backend("am").silences[silence_id].state == "expired"
    unmuted = store.backend("am").alerts[alert.id]
    assert unmuted.silenced_by == () and unmuted.acked_by is None


async def test_silences_that_would_mute_everything_are_refused_before_sending(
    alertmanager, store, connect
) -> None:
    client = connect(alertmanager.url)
    await wait_until(lambda: client.status.state is ConnectionState.LIVE, 10, "LIVE")
    everything = (Matcher("alertname", ".*", is_regex=True),)
    with pytest.raises(SilenceRefused, match="would mute every alert"):
        await client.silence_matchers(everything, 3600, "maintenance", "bob", "intent-all")
    assert client.posts == 0
    assert await am_silences(alertmanager) == []
    # Alertmanager itself refuses the same silence: our rule is its rule, checked first.
    now = datetime.now().astimezone().isoformat()
    body = {
        "matchers": [{"name": "alertname", "value": ".*", "isRegex": True, "isEqual": True}],
        "startsAt": now,
        "endsAt": datetime.fromtimestamp(time.time() + 60).astimezone().isoformat(),
        "createdBy": "bob",
        "comment": "x",
    }
    async with httpx.AsyncClient(timeout=5) as http:
        refused = await http.post(f"{alertmanager.url}/api/v2/silences", json=body)
    assert refused.status_code == 400
    assert "must not match the empty string" in refused.text
    assert await am_silences(alertmanager) == []
    # An unknown alert is refused by name, also without sending.
    with pytest.raises(SilenceRefused, match="no alert 'nope'"):
        await client.silence("nope", 60, "", "bob", "intent-nope")
    assert client.posts == 0


async def test_alertmanager_errors_are_told_in_plain_words(alertmanager, store, connect) -> None:
    client = connect(alertmanager.url)
    await wait_until(lambda: client.status.state is ConnectionState.LIVE, 10, "LIVE")
    with pytest.raises(ApiError) as missing:
        await client.expire("00000000-0000-4000-8000-000000000000", "intent-x")
    # Alertmanager 0.25 says 500 "silence not found"; it is told (and treated) as a 404.
    assert missing.value.status == 404
    assert "silence 00000000-0000-4000-8000-000000000000 was not found" in str(missing.value)
    with pytest.raises(ApiError) as malformed:
        await client.expire("not-a-uuid", "intent-y")
    assert malformed.value.status == 422
    assert "Alertmanager refused the request" in str(malformed.value)
    assert "uuid" in str(malformed.value)


# ---------------------------------------------------------------- performing intents


async def test_intents_are_performed_and_their_outcome_is_in_the_store_at_once(
    alertmanager, store, connect
) -> None:
    errors = {"alertname": "ErrorRatioHigh", "service": "payments", "severity": "page"}
    await post_alert(alertmanager, LATENCY_LABELS, summary="p99 high")
    await post_alert(alertmanager, errors, summary="errors high")
    # Polled once a minute: only the refresh that follows each intent can show its outcome.
    client = connect(alertmanager.url, poll_s=60)
    latency = await live_with(store, client, LATENCY_LABELS)
    error = await live_with(store, client, errors)
    assert AlertmanagerClient.performs == AM_ACTIONS

    ack = Intent("alert.ack", "am", latency.id, {"comment": "on it"})
    await client.perform(ack)
    shown = store.backend("am").alerts[latency.id]
    assert shown.acked_by == os_user() and len(shown.silenced_by) == 1
    acked = {s["id"]: s for s in await am_silences(alertmanager)}[shown.silenced_by[0]]
    assert acked["comment"] == f"opsconsole ack: on it [intent {ack.key}]"
    assert iso(acked["endsAt"]) - iso(acked["startsAt"]) == pytest.approx(3600, abs=2)

    silence = Intent(
        "alert.silence", "am", error.id, {"duration": "2h", "by": "bob", "comment": "deploy"}
    )
    await client.perform(silence)
    (silence_id,) = store.backend("am").alerts[error.id].silenced_by
    made = {s["id"]: s for s in await am_silences(alertmanager)}[silence_id]
    assert made["createdBy"] == "bob"
    assert made["comment"] == f"opsconsole silence: deploy [intent {silence.key}]"
    assert iso(made["endsAt"]) - iso(made["startsAt"]) == pytest.approx(7200, abs=2)

    await client.perform(Intent("silence.expire", "am", silence_id))
    assert store.backend("am").silences[silence_id].state == "expired"
    assert store.backend("am").alerts[error.id].silenced_by == ()
    assert client.posts == 2

    with pytest.raises(BackendError) as refused:
        await client.perform(Intent("db.failover", "am", "orders-db", {"member": "replica-1"}))
    assert str(refused.value) == "am (Alertmanager) cannot carry out db.failover"
    assert client.posts == 2


# ---------------------------------------------------------------- the link


async def test_link_states_live_stale_reconnecting(alertmanager, store, connect) -> None:
    proxy = FaultProxy("127.0.0.1", int(alertmanager.url.rsplit(":", 1)[1]))
    await proxy.start()
    try:
        client = connect(proxy.url, poll_s=0.5)
        assert client.stale_after_s == 3.0  # max(3 s, 2.5 polls)
        await wait_until(lambda: client.status.state is ConnectionState.LIVE, 10, "LIVE")
        # A hung server: the open connection answers nothing; no error, just silence.
        proxy.silence_existing()
        await wait_until(lambda: client.status.state is ConnectionState.STALE, 10, "STALE")
        assert client.status.detail.startswith("no answer for")
        assert store.backend("am").link.state is ConnectionState.STALE
        # Gone: connections refused; the client backs off and says why.
        await proxy.stop()
        await wait_until(
            lambda: client.status.state is ConnectionState.RECONNECTING, 15, "RECONNECTING"
        )
        assert "cannot reach Alertmanager" in client.status.detail or "in time" in (
            client.status.detail
        )
        assert client.status.retry_in_s is not None
        messages = [e.message for _, e in store.events]
        assert any(m.startswith("Lost the link to am") for m in messages)
    finally:
        await proxy.stop()


async def test_a_refused_credential_is_auth_failed(tmp_path: Path, store, connect) -> None:
    binary = require(ALERTMANAGER)
    port = free_port()
    (tmp_path / "am.yml").write_text("route:\n  receiver: nobody\nreceivers:\n- name: nobody\n")
    # Basic auth on Alertmanager's own web server: our bearer token is refused with a 401.
    # The hash is never checked: a request without basic credentials is refused before.
    (tmp_path / "web.yml").write_text(
        "basic_auth_users:\n  ops: $2b$04$5QfA8vY0m5WcQ0wJm8cF5eP3C2k5Y1Zk6y0p6Qm4Q7yQ8mGm6cQ9K\n"
    )
    argv = [
        binary,
        f"--config.file={tmp_path / 'am.yml'}",
        f"--storage.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--web.config.file={tmp_path / 'web.yml'}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    url = f"http://127.0.0.1:{port}"
    with (tmp_path / "am.log").open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:

        async def refusing() -> bool:
            try:
                async with httpx.AsyncClient(timeout=1) as http:
                    return (await http.get(f"{url}/-/ready")).status_code == 401
            except httpx.TransportError:
                return False

        await wait_until_async(refusing, 20, "Alertmanager with basic auth")
        client = connect(url, token=Secret("not-the-password"))
        await wait_until(
            lambda: client.status.state is ConnectionState.AUTH_FAILED, 10, "AUTH_FAILED"
        )
        assert client.status.detail == "Alertmanager refused our credentials (HTTP 401)"
        assert store.backend("am").link.state is ConnectionState.AUTH_FAILED
        assert "not-the-password" not in repr(store.backend("am").link)
    finally:
        proc.terminate()
        await proc.wait()


# ---------------------------------------------------------------- the action pipeline


@pytest.fixture
async def pipeline(store: Store, connect, tmp_path: Path):
    """An Alertmanager client, the action runner with a real audit log, and the commands."""

    def make(url: str) -> tuple[AlertmanagerClient, CommandRegistry, AuditLog, Operator]:
        client = connect(url)
        audit = AuditLog(tmp_path / "audit.jsonl")
        operator = Operator()
        runner = ActionRunner(store, {"am": client}, audit, operator, outcome_timeout_s=15)
        registry = CommandRegistry()
        register_action_commands(registry, runner)
        return client, registry, audit, operator

    return make


def audit_records(audit: AuditLog) -> list[dict[str, Any]]:
    return [json.loads(line) for line in audit.path.read_text().splitlines()]


async def test_the_pipeline_acks_silences_and_expires_from_live_state(
    alertmanager, store, pipeline
) -> None:
    errors = {"alertname": "ErrorRatioHigh", "service": "payments", "severity": "page"}
    await post_alert(alertmanager, LATENCY_LABELS, summary="p99 high")
    await post_alert(alertmanager, errors, summary="errors high")
    client, registry, audit, operator = pipeline(alertmanager.url)
    latency = await live_with(store, client, LATENCY_LABELS)
    error = await live_with(store, client, errors)

    acked = await registry.run("alert.ack", backend="am", alert=latency.id, comment="on it")
    assert acked.status == "succeeded", acked.message
    assert acked.message == f"alert {latency.id} acknowledged by {os_user()}"
    assert len(operator.asked) == 1

    silenced = await registry.run(
        "alert.silence", backend="am", alert=error.id, duration="2h", comment="deploy"
    )
    assert silenced.status == "succeeded", silenced.message
    listed = {s["comment"]: s for s in await am_silences(alertmanager)}
    assert len(listed) == 2
    made = listed[f"opsconsole silence: deploy [intent {silenced.intent.key}]"]
    assert iso(made["endsAt"]) - iso(made["startsAt"]) == pytest.approx(7200, abs=2)
    assert made["createdBy"] == os_user()
    assert silenced.message.startswith(f"alert {error.id} silenced by {made['id']} until ")

    # Silenced already: blocked in words before anything is sent.
    again = await registry.run("alert.silence", backend="am", alert=error.id, duration="1h")
    assert again.status == "blocked"
    assert f"already silenced by {made['id']} until" in again.message
    assert len(await am_silences(alertmanager)) == 2

    expired = await registry.run("silence.expire", backend="am", silence=made["id"])
    assert expired.status == "succeeded", expired.message
    assert expired.message.startswith(f"silence {made['id']} expired at ")
    states = {s["id"]: s["status"]["state"] for s in await am_silences(alertmanager)}
    assert states[made["id"]] == "expired"

    records = audit_records(audit)
    # Audited before each send, and the result after; the blocked try sent nothing and is
    # on record as a refused intent.
    phases = [(r["command"], r["phase"], r.get("outcome")) for r in records]
    assert phases == [
        ("alert.ack", "intent", None),
        ("alert.ack", "result", "succeeded"),
        ("alert.silence", "intent", None),
        ("alert.silence", "result", "succeeded"),
        ("alert.silence", "refused", "refused"),
        ("silence.expire", "intent", None),
        ("silence.expire", "result", "succeeded"),
    ]
    assert verify(audit.path).ok
    assert client.posts == 2


async def test_the_pipeline_refuses_an_empty_matching_silence_before_sending(
    alertmanager, store, pipeline
) -> None:
    client, registry, audit, operator = pipeline(alertmanager.url)
    await wait_until(lambda: client.status.state is ConnectionState.LIVE, 10, "LIVE")
    # An alert whose only label is empty (as another integration might report it): its
    # silence would match every alert.
    store.apply(
        AlertChanged(
            "am",
            Alert(
                id="odd",
                service="—",
                rule="—",
                severity="info",
                state="firing",
                since_ts=time.time(),
                labels={"service": ""},
            ),
        )
    )
    result = await registry.run("alert.silence", backend="am", alert="odd", duration="1h")
    assert result.status == "blocked" and result.rules == ("matchers-safe",)
    assert result.message.startswith("every matcher")
    assert operator.asked == []  # not even asked to confirm
    assert client.posts == 0 and await am_silences(alertmanager) == []
    assert [(r["phase"], r.get("rules")) for r in audit_records(audit)] == [
        ("refused", ["matchers-safe"])
    ]


# ---------------------------------------------------------------- the whole chain


@pytest.mark.slow
async def test_a_latency_spike_fires_through_prometheus_and_is_acked(
    alertmanager, prometheus_factory, sim_factory, store, pipeline
) -> None:
    """sim latency_spike → Prometheus rule → Alertmanager → console → ack → silenced."""
    sim = await sim_factory()
    rules = alert_rules(window="5s", for_latency="0s", for_errors="1h", for_saturation="1h")
    await prometheus_factory(
        targets=[sim.url.removeprefix("http://")],
        rules=rules,
        alertmanager_url=alertmanager.url,
    )
    client, registry, _audit, _ = pipeline(alertmanager.url)
    await wait_until(lambda: client.status.state is ConnectionState.LIVE, 10, "LIVE")
    async with httpx.AsyncClient(timeout=5) as http:
        started = await http.post(
            f"{sim.url}/api/v1/sim/scenario", json={"name": "latency_spike", "target": "orders"}
        )
    assert started.status_code == 202, started.text

    await wait_until(
        lambda: alert_named(store, "am", "LatencyHigh", "orders") is not None,
        60,
        "LatencyHigh for orders from Prometheus",
    )
    fired = alert_named(store, "am", "LatencyHigh", "orders")
    assert fired is not None and fired.severity == "page" and fired.state == "firing"
    assert fired.threshold == 0.5 and fired.value is not None and fired.value > 0.5
    assert fired.summary == "p99 latency of orders above 500 ms"

    result = await registry.run("alert.ack", backend="am", alert=fired.id, comment="spike")
    assert result.status == "succeeded", result.message
    shown = store.backend("am").alerts[fired.id]
    assert shown.silenced_by and shown.acked_by == os_user()

"""Adding an action is its declaration plus the adapter that performs it: a made-up one runs
through the whole pipeline (command, confirmation, audit, perform, live outcome)."""

from __future__ import annotations

import json

import pytest

from opsconsole.app.actions import ActionRunner, register_action_commands
from opsconsole.core.actions import ACTIONS, Intent
from opsconsole.core.audit import AuditLog
from opsconsole.core.commands import CommandRegistry
from opsconsole.core.events import BackendDescribed, CircuitChanged, ConnectionChanged
from opsconsole.core.models import BackendInfo, Circuit, ConnectionState, LinkStatus
from opsconsole.core.store import Store
from tests.support.madeup_action import HALF_OPEN, PROBE_ID


class HalfOpeningAdapter:
    """A test-only adapter: it performs the made-up action by changing the live state,
    as a backend's next frame would."""

    performs = frozenset({PROBE_ID})

    def __init__(self, store: Store) -> None:
        self.store = store
        self.performed: list[Intent] = []

    async def perform(self, intent: Intent) -> None:
        self.performed.append(intent)
        circuit = Circuit(state="half_open", name=intent.target)
        self.store.apply(CircuitChanged(intent.backend, circuit))


@pytest.fixture
def store() -> Store:
    s = Store(capacity=8)
    info = BackendInfo("lab", "opsapi", "http://lab.example", actions=HalfOpeningAdapter.performs)
    s.apply(BackendDescribed("lab", info))
    s.apply(ConnectionChanged("lab", LinkStatus(ConnectionState.LIVE)))
    s.apply(CircuitChanged("lab", Circuit(state="open", name="payment-service")))
    return s


async def test_a_declared_action_runs_through_the_pipeline(monkeypatch, store, tmp_path) -> None:
    monkeypatch.setitem(ACTIONS, PROBE_ID, HALF_OPEN)
    adapter = HalfOpeningAdapter(store)
    asked: list[Intent] = []

    async def confirm(intent: Intent) -> bool:
        asked.append(intent)
        return True

    audit = AuditLog(tmp_path / "audit.jsonl")
    runner = ActionRunner(store, {"lab": adapter}, audit, confirm, outcome_timeout_s=5)
    registry = CommandRegistry()
    register_action_commands(registry, runner)
    command = registry.get(PROBE_ID)
    assert command.title == HALF_OPEN.title and command.mutating

    result = await registry.run(PROBE_ID, backend="lab", name="payment-service")
    assert result.ok, result.message
    assert result.message == "payment-service is half-open"
    assert [i.target for i in asked] == ["payment-service"]
    assert [i.key for i in adapter.performed] == [asked[0].key]  # once, with the intent's key
    records = [json.loads(line) for line in audit.path.read_text().splitlines()]
    assert [(r["phase"], r["command"]) for r in records] == [
        ("intent", PROBE_ID),
        ("result", PROBE_ID),
    ]

    again = await registry.run(PROBE_ID, backend="lab", name="payment-service")
    assert again.status == "blocked" and again.rules == ("state-differs",)
    assert len(adapter.performed) == 1


async def test_an_adapter_that_does_not_perform_it_sends_nothing(
    monkeypatch, store, tmp_path
) -> None:
    """Described as able but its adapter lacks the action: nothing is sent, and the live
    state decides, as after any failed send (here: nothing changes)."""
    monkeypatch.setitem(ACTIONS, PROBE_ID, HALF_OPEN)
    adapter = HalfOpeningAdapter(store)
    adapter.performs = frozenset()  # type: ignore[misc]

    async def confirm(intent: Intent) -> bool:
        return True

    audit = AuditLog(tmp_path / "audit.jsonl")
    runner = ActionRunner(store, {"lab": adapter}, audit, confirm, outcome_timeout_s=0.3)
    registry = CommandRegistry()
    register_action_commands(registry, runner)
    result = await registry.run(PROBE_ID, backend="lab", name="payment-service")
    assert adapter.performed == []
    assert (result.status, result.message) == ("no_change", "no change after 0.3 s")

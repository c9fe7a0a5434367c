"""One declaration per action: a new one is offered by `:` and Ctrl+K and judged by the
generic rules without any other table knowing it; both entry points offer the same names."""

from __future__ import annotations

import dataclasses

import pytest

from opsconsole.core.actions import (
    ACTIONS,
    ActionDeclaration,
    Blocked,
    Intent,
    build_intent,
    check_preconditions,
    expected_outcome,
)
from opsconsole.core.arguments import Arg
from opsconsole.core.choices import argument_choices, command_choices, command_reason, steps
from opsconsole.core.cmdline import COMMAND_ARGS, Names, complete, parse
from opsconsole.core.commands import Command, CommandRegistry
from opsconsole.core.events import (
    AlertChanged,
    BackendDescribed,
    CircuitChanged,
    ClusterChanged,
    ConnectionChanged,
    SilenceChanged,
)
from opsconsole.core.models import (
    Alert,
    BackendInfo,
    Circuit,
    ConnectionState,
    DbCluster,
    DbMember,
    LinkStatus,
    Matcher,
    Silence,
)
from opsconsole.core.store import Store
from tests.support.madeup_action import HALF_OPEN, OPS_API_ACTIONS, PROBE_ID


@pytest.fixture
def declared(monkeypatch: pytest.MonkeyPatch) -> ActionDeclaration:
    """The made-up action declared, for this test only."""
    assert PROBE_ID not in ACTIONS
    monkeypatch.setitem(ACTIONS, PROBE_ID, HALF_OPEN)
    return HALF_OPEN


def describe(store: Store, name: str, kind: str, actions: frozenset[str], live: bool = True):
    info = BackendInfo(name, kind, f"http://{name}.example", actions=actions)  # type: ignore[arg-type]
    store.apply(BackendDescribed(name, info))
    state = ConnectionState.LIVE if live else ConnectionState.STALE
    store.apply(ConnectionChanged(name, LinkStatus(state)))


@pytest.fixture
def store() -> Store:
    s = Store(capacity=8)
    describe(s, "sim", "opsapi", OPS_API_ACTIONS | {PROBE_ID})
    for name, state in (("payment-service", "open"), ("user-service", "half_open")):
        s.apply(CircuitChanged("sim", Circuit(state=state, name=name)))  # type: ignore[arg-type]
    return s


def test_a_declared_action_is_offered_by_the_command_line(declared, store) -> None:
    names = Names.from_store(store)
    assert "halfopen" in complete("", names).candidates
    assert complete("half", names).candidates == ("halfopen",)
    assert set(complete("halfopen ", names).candidates) == {"payment-service", "user-service"}
    invocation = parse("halfopen pay", names)
    assert invocation.command_id == PROBE_ID
    assert invocation.kwargs == {"backend": "sim", "name": "payment-service"}
    assert parse("half-open pay", names).command_id == PROBE_ID  # its declared alias
    assert COMMAND_ARGS[PROBE_ID] == (Arg.CIRCUIT,)


def test_a_declared_action_is_offered_by_the_palette_greyed_by_its_own_rule(
    declared, store
) -> None:
    registry = CommandRegistry()
    registry.register(Command(PROBE_ID, declared.title, lambda **_: None, tier=declared.tier))
    rows = command_choices(registry, store, lambda _cid: ())
    assert [(r.value, r.label, r.enabled) for r in rows] == [
        (PROBE_ID, "Half-open a circuit (test only)", True)
    ]
    assert steps(PROBE_ID) == (Arg.BACKEND, Arg.CIRCUIT)
    circuits = argument_choices(PROBE_ID, Arg.CIRCUIT, {Arg.BACKEND: "sim"}, store)
    verdicts = {r.value: (r.enabled, r.reason) for r in circuits}
    assert verdicts == {
        "payment-service": (True, ""),
        "user-service": (False, "user-service is already half-open"),
    }


def test_a_declared_action_is_judged_by_the_generic_rules(declared, store) -> None:
    intent = build_intent(PROBE_ID, "sim", name="payment-service")
    assert intent == Intent(PROBE_ID, "sim", "payment-service", {}, intent.key)
    assert intent.describe() == "half-open payment-service"
    assert check_preconditions(intent, store) is None
    assert expected_outcome(intent)(store.backend("sim")) is None  # not half-open yet
    # backend-known, backend-can (its adapter does not perform it), live-data: no code of
    # the action's own decides these.
    elsewhere = build_intent(PROBE_ID, "nowhere", name="payment-service")
    assert check_preconditions(elsewhere, store) == Blocked(
        "backend-known", "no backend named 'nowhere'"
    )
    describe(store, "old", "opsapi", OPS_API_ACTIONS)
    store.apply(CircuitChanged("old", Circuit(state="open", name="orders-service")))
    assert check_preconditions(build_intent(PROBE_ID, "old", name="orders-service"), store) == (
        Blocked("backend-can", "old (opsapi) cannot half-open")
    )
    describe(store, "sim", "opsapi", OPS_API_ACTIONS | {PROBE_ID}, live=False)
    blocked = check_preconditions(intent, store)
    assert blocked is not None and blocked.rule == "live-data"


def test_a_kind_restriction_in_the_declaration_reaches_both_entry_points(
    monkeypatch, store
) -> None:
    """Declared for Alertmanager backends only: refused elsewhere, not offered elsewhere."""
    only_am = dataclasses.replace(HALF_OPEN, kinds=frozenset({"alertmanager"}))
    monkeypatch.setitem(ACTIONS, PROBE_ID, only_am)
    blocked = check_preconditions(build_intent(PROBE_ID, "sim", name="payment-service"), store)
    assert blocked == Blocked("backend-can", "sim (opsapi) cannot half-open")
    command = Command(PROBE_ID, only_am.title, lambda **_: None)
    assert command_reason(command, store) == "no Alertmanager backend is configured"
    assert argument_choices(PROBE_ID, Arg.BACKEND, {}, store) == []


def test_no_shipped_action_is_the_made_up_one() -> None:
    assert PROBE_ID not in ACTIONS
    assert "halfopen" not in complete("", Names()).candidates


# ---------------------------------------------------------------- the same names


@pytest.fixture
def full_store() -> Store:
    s = Store(capacity=8)
    describe(s, "am", "alertmanager", frozenset({"alert.ack", "alert.silence", "silence.expire"}))
    s.apply(
        AlertChanged(
            "am",
            Alert(
                id="fp1",
                service="orders",
                rule="LatencyHigh",
                severity="page",
                state="firing",
                since_ts=1_795_830_000.0,
                labels={"alertname": "LatencyHigh"},
            ),
        )
    )
    s.apply(
        SilenceChanged(
            "am",
            Silence(
                id="s-1",
                matchers=(Matcher("alertname", "LatencyHigh"),),
                starts_ts=1_795_830_495.0,
                ends_ts=1_795_834_095.0,
                created_by="alice",
                comment="",
                state="active",
            ),
        )
    )
    return s


def _sim_store() -> Store:
    s = Store(capacity=8)
    describe(s, "sim", "opsapi", OPS_API_ACTIONS)
    s.apply(CircuitChanged("sim", Circuit(state="open", name="payment-service")))
    members = (
        DbMember("primary-db", "primary", True, 0, 1),
        DbMember("replica-1", "replica", True, 0, 1),
        DbMember("replica-2", "replica", True, 2048, 1),
    )
    cluster = DbCluster("orders-db", "healthy", False, "primary-db", members=members)
    s.apply(ClusterChanged("sim", cluster))
    return s


def _patroni_store() -> Store:
    s = Store(capacity=8)
    describe(s, "pg", "patroni", frozenset({"db.switchover", "db.pause", "db.resume"}))
    members = (DbMember("pg1", "primary", True, 0, 2), DbMember("pg2", "replica", True, 0, 2))
    s.apply(ClusterChanged("pg", DbCluster("orders-pg", "healthy", False, "pg1", members=members)))
    return s


@pytest.mark.parametrize("command_id", sorted(ACTIONS))
def test_the_command_line_and_the_palette_offer_the_same_names(command_id, full_store) -> None:
    """For every shipped action and every argument naming something a backend holds, Tab
    on the command line and the palette's rows list the same names."""
    action = ACTIONS[command_id]
    store = full_store if action.kinds or command_id.startswith("alert.") else _sim_store()
    if action.kinds == frozenset({"patroni"}):
        store = _patroni_store()
    backend = next(iter(store.backends))
    names = Names.from_store(store)
    line, answers = action.word, {Arg.BACKEND: backend}
    for arg in action.args:
        if arg not in (Arg.CLUSTER, Arg.CIRCUIT, Arg.ALERT, Arg.SILENCE, Arg.MEMBER):
            break
        offered = set(complete(line + " ", names).candidates)
        rows = argument_choices(command_id, arg, answers, store)
        listed = {r.value for r in rows}
        if arg is Arg.MEMBER:
            listed -= {store.backend(backend).clusters[answers[Arg.CLUSTER]].primary}
        assert offered == listed, (command_id, arg)
        assert offered, (command_id, arg)
        first = sorted(offered)[0]
        line += f" {first}"
        answers[arg] = first

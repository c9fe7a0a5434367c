"""The `:` grammar: commands to ids and keywords, names from live state, refusals, completion."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsconsole.core.cmdline import (
    BackendNames,
    CmdlineError,
    Names,
    complete,
    parse,
)
from opsconsole.core.events import SilenceChanged, SnapshotLoaded
from opsconsole.core.models import Alert, Circuit, DbCluster, DbMember, Matcher, Silence
from opsconsole.core.store import Store

MEMBERS = ("primary-db", "replica-1", "replica-2", "replica-3")
SIM = BackendNames(
    clusters={"orders-db": MEMBERS},
    circuits=("analytics-service", "inventory-service", "payment-service", "user-service"),
    alerts=("orders.latency_p99.1700000000000", "payments.error_ratio.1700000000000"),
    services=("orders", "payments"),
)
NAMES = Names({"sim": SIM}, layouts=("Triage", "Database", "Wall"))
EVERY_ID = {
    "db.failover",
    "db.switchover",
    "db.read_only",
    "breaker.force_open",
    "breaker.close",
    "breaker.reset",
    "alert.ack",
    "alert.silence",
    "silence.expire",
    "layout.load",
    "view.wall",
    "demo.scenario",
    "backend.credentials",
    "app.quit",
}


def run(text: str, names: Names = NAMES, available: set[str] | None = None):
    return parse(text, names, EVERY_ID if available is None else available)


def refusal(text: str, names: Names = NAMES, available: set[str] | None = None) -> CmdlineError:
    with pytest.raises(CmdlineError) as info:
        run(text, names, available)
    return info.value


# ---------------------------------------------------------------- the grammar


@pytest.mark.parametrize(
    ("line", "command_id", "kwargs"),
    [
        (
            "failover orders-db replica-2",
            "db.failover",
            {"backend": "sim", "cluster": "orders-db", "member": "replica-2"},
        ),
        (
            ":switchover orders-db replica-1",
            "db.switchover",
            {"backend": "sim", "cluster": "orders-db", "member": "replica-1"},
        ),
        (
            "readonly orders-db on",
            "db.read_only",
            {"backend": "sim", "cluster": "orders-db", "enabled": True},
        ),
        (
            "readonly orders-db OFF",
            "db.read_only",
            {"backend": "sim", "cluster": "orders-db", "enabled": False},
        ),
        (
            "breaker inventory-service open",
            "breaker.force_open",
            {"backend": "sim", "name": "inventory-service"},
        ),
        (
            "breaker payment-service close",
            "breaker.close",
            {"backend": "sim", "name": "payment-service"},
        ),
        ("breaker user-service reset", "breaker.reset", {"backend": "sim", "name": "user-service"}),
        (
            "ack orders.latency_p99.1700000000000",
            "alert.ack",
            {"backend": "sim", "alert": "orders.latency_p99.1700000000000", "comment": ""},
        ),
        ("layout Wall", "layout.load", {"name": "Wall"}),
        ("wall", "view.wall", {}),
        ("scenario primary_down", "demo.scenario", {"name": "primary_down"}),
        (
            "scenario latency_spike orders",
            "demo.scenario",
            {"name": "latency_spike", "target": "orders"},
        ),
        ("quit", "app.quit", {}),
        ("q", "app.quit", {}),
    ],
)
def test_each_command_maps_to_its_id_and_keywords(line: str, command_id: str, kwargs: dict) -> None:
    invocation = run(line)
    assert invocation.command_id == command_id
    assert invocation.kwargs == kwargs


def test_the_ack_comment_is_the_rest_of_the_line_as_typed() -> None:
    invocation = run("ack payments.error_ratio.1700000000000  on it,   paging  DB team ")
    assert invocation.kwargs["comment"] == "on it,   paging  DB team"


def test_a_unique_prefix_names_the_thing_as_in_the_ux_example() -> None:
    # ux.md: ":breaker inventory open"; the confirmation still shows the full name.
    assert run("breaker inventory open").kwargs["name"] == "inventory-service"
    assert run("failover orders replica-2").kwargs["cluster"] == "orders-db"


# ---------------------------------------------------------------- refusals


def test_an_unknown_member_is_refused_with_every_member_named() -> None:
    error = refusal("failover orders-db replica-9")
    assert error.message == (
        "orders-db has no member 'replica-9'; expected one of: "
        "primary-db, replica-1, replica-2, replica-3"
    )
    assert error.expected == MEMBERS


def test_an_unknown_cluster_circuit_or_alert_names_what_exists() -> None:
    assert refusal("failover users-db replica-1").message == (
        "no cluster named 'users-db'; expected one of: orders-db"
    )
    assert (
        "expected one of: analytics-service, inventory-service"
        in refusal("breaker nothing open").message
    )
    assert "no alert named 'zzz'" in refusal("ack zzz").message


def test_an_ambiguous_prefix_lists_the_candidates() -> None:
    error = refusal("failover orders-db replica")
    assert "could be replica-1, replica-2, replica-3" in error.message


def test_an_unknown_command_lists_the_commands() -> None:
    error = refusal("explode orders-db")
    assert error.message.startswith("unknown command 'explode'; expected one of: failover,")
    assert "quit" in error.expected


def test_a_command_this_console_lacks_is_not_available_here() -> None:
    without_wall = EVERY_ID - {"view.wall", "demo.scenario"}
    assert refusal("wall", available=without_wall).message == "wall is not available here"
    assert refusal("scenario recover", available=without_wall).message == (
        "scenario is not available here"
    )
    only_close = {"breaker.close"}
    assert refusal("breaker payment-service open", available=only_close).message == (
        "breaker open is not available here"
    )


def test_missing_and_extra_words_say_the_usage() -> None:
    error = refusal("failover orders-db")
    assert "needs a member" in error.message and "failover CLUSTER MEMBER" in error.message
    assert "replica-2" in error.message
    assert "too many words ('now')" in refusal("failover orders-db replica-2 now").message
    assert "expected on or off, not 'maybe'" in refusal("readonly orders-db maybe").message
    assert "expected open, close or reset" in refusal("breaker payment-service explode").message
    assert "no scenario named 'meteor'" in refusal("scenario meteor").message
    assert "no layout named 'Nope'" in refusal("layout Nope").message


def test_no_backend_and_no_names_are_explained() -> None:
    assert "no backend is connected yet" in refusal("failover orders-db replica-1", Names()).message
    empty = Names({"sim": BackendNames()})
    assert "no database clusters are known yet" in refusal("failover x y", empty).message


def test_credentials_name_a_known_backend_or_none() -> None:
    assert run("credentials sim").command_id == "backend.credentials"
    assert run("credentials sim").kwargs == {"backend": "sim"}
    assert run("credentials").kwargs == {}  # the backend that refused, found by the handler
    assert "no backend named 'nope'" in refusal("credentials nope").message


def test_layouts_are_passed_through_when_none_are_listed() -> None:
    assert run("layout Anything", Names({"sim": SIM})).kwargs == {"name": "Anything"}


# ---------------------------------------------------------------- several backends

TWO = Names(
    {
        "eu": SIM,
        "us": BackendNames(
            clusters={"orders-db": MEMBERS, "users-db": ("pg-a", "pg-b")},
            circuits=("payment-service",),
        ),
    }
)


def test_a_name_on_one_backend_resolves_to_it() -> None:
    invocation = run("switchover users-db pg-b", TWO)
    assert invocation.kwargs == {"backend": "us", "cluster": "users-db", "member": "pg-b"}
    assert run("breaker inventory open", TWO).kwargs["backend"] == "eu"


def test_a_name_on_several_backends_is_ambiguous_until_qualified() -> None:
    error = refusal("failover orders-db replica-2", TWO)
    assert error.message == (
        "orders-db is on several backends (eu, us); write eu/orders-db or us/orders-db"
    )
    assert run("failover us/orders-db replica-2", TWO).kwargs == {
        "backend": "us",
        "cluster": "orders-db",
        "member": "replica-2",
    }


# ---------------------------------------------------------------- completion


def test_tab_completes_the_command_word() -> None:
    completion = complete("fa", NAMES, EVERY_ID)
    assert completion.candidates == ("failover",)
    assert completion.apply(0) == "failover "
    assert complete(":", NAMES, EVERY_ID).candidates[0] == "failover"
    # Only commands this console has are offered.
    assert "wall" not in complete("", NAMES, EVERY_ID - {"view.wall"}).candidates


def test_tab_completes_the_cluster_then_cycles_its_members() -> None:
    assert complete(":failover ord", NAMES, EVERY_ID).apply(0) == ":failover orders-db "
    completion = complete(":failover orders-db rep", NAMES, EVERY_ID)
    assert completion.candidates == ("replica-1", "replica-2", "replica-3")
    assert [completion.apply(i) for i in range(4)] == [
        ":failover orders-db replica-1",
        ":failover orders-db replica-2",
        ":failover orders-db replica-3",
        ":failover orders-db replica-1",
    ]
    assert complete("failover orders-db ", NAMES, EVERY_ID).candidates == MEMBERS


def test_tab_completes_every_kind_of_name() -> None:
    assert complete("readonly orders-db o", NAMES, EVERY_ID).candidates == ("on", "off")
    assert complete("breaker inv", NAMES, EVERY_ID).apply(0) == "breaker inventory-service "
    assert complete("breaker inventory-service ", NAMES, EVERY_ID).candidates == (
        "open",
        "close",
        "reset",
    )
    assert complete("ack pay", NAMES, EVERY_ID).candidates == (
        "payments.error_ratio.1700000000000",
    )
    assert "dependency_outage" in complete("scenario ", NAMES, EVERY_ID).candidates
    assert complete("layout W", NAMES, EVERY_ID).candidates == ("Wall",)
    # No prefix match: a substring still finds it ("2" → replica-2).
    assert complete("failover orders-db 2", NAMES, EVERY_ID).candidates == ("replica-2",)


def test_completion_qualifies_names_shared_by_backends() -> None:
    assert complete("failover ord", TWO, EVERY_ID).candidates == ("eu/orders-db", "us/orders-db")
    # "us" is both a backend and the start of a cluster: both readings are offered.
    assert complete("failover us", TWO, EVERY_ID).candidates == ("us/orders-db", "users-db")
    assert complete("failover us/orders-db rep", TWO, EVERY_ID).candidates == (
        "replica-1",
        "replica-2",
        "replica-3",
    )


def test_nothing_to_complete_after_an_unknown_word() -> None:
    assert complete("explode ", NAMES, EVERY_ID).candidates == ()
    assert complete("failover nowhere-db ", NAMES, EVERY_ID).candidates == ()


# ---------------------------------------------------------------- live names from the store


def test_names_come_from_the_live_store() -> None:
    store = Store(capacity=8)
    members = tuple(
        DbMember(name=n, role="primary" if n == "primary-db" else "replica", healthy=True)
        for n in MEMBERS
    )
    store.apply(
        SnapshotLoaded(
            "sim",
            services=(),
            circuits=(Circuit(state="closed", name="payment-service"),),
            clusters=(
                DbCluster(
                    name="orders-db",
                    state="healthy",
                    read_only=False,
                    primary="primary-db",
                    members=members,
                ),
            ),
            alerts=(
                Alert(
                    id="old",
                    service="orders",
                    rule="r",
                    severity="page",
                    state="firing",
                    since_ts=1.0,
                    acked_by="ann",
                ),
                Alert(
                    id="new",
                    service="orders",
                    rule="r",
                    severity="page",
                    state="firing",
                    since_ts=2.0,
                ),
            ),
            ts=3.0,
        )
    )
    names = Names.from_store(store)
    assert names.backends["sim"].clusters == {"orders-db": MEMBERS}
    assert names.backends["sim"].circuits == ("payment-service",)
    # The unacknowledged alert is offered first: that is the one to ack.
    assert names.backends["sim"].alerts == ("new", "old")
    assert run("failover orders-db replica-3", names).kwargs["member"] == "replica-3"


# ---------------------------------------------------------------- silences (Alertmanager)

SILENCE_A = "447ca188-e6b9-49dd-a765-dd93a1b75411"
SILENCE_B = "0b5cbb1c-0000-4000-8000-000000000000"
AM = Names(
    {
        "sim": SIM,
        "am": BackendNames(alerts=("9b141fd52701cabe",), silences=(SILENCE_A, SILENCE_B)),
    }
)


def test_silence_takes_an_alert_a_duration_and_the_rest_as_comment() -> None:
    invocation = run("silence 9b14 2h deploy of orders, back at 3", AM)
    assert invocation.command_id == "alert.silence"
    assert invocation.kwargs == {
        "backend": "am",
        "alert": "9b141fd52701cabe",
        "duration": "2h",
        "comment": "deploy of orders, back at 3",
    }
    assert run("silence 9b14 1h30m", AM).kwargs["comment"] == ""


def test_a_silence_needs_a_real_duration() -> None:
    error = refusal("silence 9b14", AM)
    assert "needs a duration (e.g. 2h)" in error.message
    assert "silence ALERT_ID DURATION [comment…]" in error.message
    assert "15m" in error.expected
    assert "expected a duration such as 30m, 2h or 1d, not 'soon'" in (
        refusal("silence 9b14 soon", AM).message
    )
    assert "longer than zero" in refusal("silence 9b14 0s", AM).message


def test_expire_names_a_silence_by_a_prefix_of_its_id() -> None:
    invocation = run("expire 447c", AM)
    assert invocation.command_id == "silence.expire"
    assert invocation.kwargs == {"backend": "am", "silence": SILENCE_A}
    assert run("unsilence 0b5c", AM).kwargs["silence"] == SILENCE_B
    assert "no silence named 'ffff'" in refusal("expire ffff", AM).message
    assert "no silences are known yet" in refusal("expire 447c", NAMES).message


def test_tab_completes_durations_and_silence_ids() -> None:
    assert complete("silence 9b141fd52701cabe ", AM, EVERY_ID).candidates[:3] == (
        "15m",
        "30m",
        "1h",
    )
    assert complete("silence 9b141fd52701cabe 2", AM, EVERY_ID).candidates == ("2h",)
    assert complete("expire 4", AM, EVERY_ID).apply(0) == f"expire {SILENCE_A} "
    assert complete("exp", AM, EVERY_ID).candidates == ("expire",)


def test_silences_come_from_the_live_store_active_first() -> None:
    store = Store(capacity=8)
    for sid, state, ends in ((SILENCE_B, "expired", 50.0), (SILENCE_A, "active", 100.0)):
        store.apply(
            SilenceChanged(
                "am",
                Silence(
                    id=sid,
                    matchers=(Matcher("alertname", "X"),),
                    starts_ts=1.0,
                    ends_ts=ends,
                    created_by="ann",
                    comment="",
                    state=state,
                ),
            )
        )
    names = Names.from_store(store)
    assert names.backends["am"].silences == (SILENCE_A, SILENCE_B)


# ---------------------------------------------------------------- Tab over live records


def live_names(
    *,
    lags: dict[str, int],
    primary: str = "primary-db",
    primary_healthy: bool = True,
    unhealthy: tuple[str, ...] = (),
    alerts: tuple[Alert, ...] = (),
) -> Names:
    store = Store(capacity=8)
    members = tuple(
        DbMember(
            name=n,
            role="primary" if n == primary else "replica",
            healthy=(primary_healthy if n == primary else n not in unhealthy),
            lag_bytes=0 if n == primary else lags.get(n, 0),
        )
        for n in MEMBERS
    )
    cluster = DbCluster(
        name="orders-db", state="healthy", read_only=False, primary=primary, members=members
    )
    store.apply(
        SnapshotLoaded("sim", services=(), circuits=(), clusters=(cluster,), alerts=alerts, ts=3.0)
    )
    return Names.from_store(store)


def test_failover_offers_replicas_least_lag_first_and_never_the_primary() -> None:
    names = live_names(lags={"replica-1": 200_000, "replica-2": 4_096, "replica-3": 3 * 1024**2})
    completion = complete("failover orders-db ", names, EVERY_ID)
    assert completion.candidates == ("replica-2", "replica-1", "replica-3")
    assert [completion.detail(i) for i in range(3)] == [
        "lag 4.0 KiB",
        "lag 195.3 KiB",
        "not eligible: lagging 3.0 MiB > 1.0 MiB limit",
    ]
    assert completion.apply(0) == "failover orders-db replica-2"
    # Typed from its first letters, the primary is still not offered.
    assert complete("failover orders-db prim", names, EVERY_ID).candidates == ()
    # After a failover the new primary is the one left out.
    moved = live_names(lags={"primary-db": 0, "replica-1": 10, "replica-3": 5}, primary="replica-2")
    assert complete("failover orders-db ", moved, EVERY_ID).candidates == (
        "primary-db",
        "replica-3",
        "replica-1",
    )


def test_switchover_with_the_primary_down_offers_no_eligible_member() -> None:
    names = live_names(
        lags={"replica-1": 10, "replica-2": 20, "replica-3": 30},
        primary_healthy=False,
        unhealthy=("replica-1",),
    )
    switch = complete("switchover orders-db ", names, EVERY_ID)
    assert switch.candidates == ("replica-1", "replica-2", "replica-3")
    assert {switch.detail(i) for i in (1, 2)} == {"not eligible: primary is down: use failover"}
    failover = complete("failover orders-db ", names, EVERY_ID)
    assert failover.candidates == ("replica-2", "replica-3", "replica-1")
    assert failover.detail(2) == "not eligible: unhealthy"


def test_tab_after_a_trailing_space_never_makes_a_double_space() -> None:
    names = live_names(lags={"replica-1": 1, "replica-2": 2, "replica-3": 3})
    assert complete("failover orders-db  ", names, EVERY_ID).apply(0) == (
        "failover orders-db replica-1"
    )
    assert complete(":failover   ord", names, EVERY_ID).apply(0) == ":failover orders-db "
    assert complete("breaker  inv", NAMES, EVERY_ID).apply(0) == "breaker inventory-service "


@given(
    st.lists(
        st.sampled_from(["failover", "orders-db", "ord", "replica-2", "rep", "2", "ack", "pay"]),
        max_size=3,
    ),
    st.lists(st.sampled_from([" ", "  ", "   "]), min_size=3, max_size=3),
    st.booleans(),
)
def test_no_completion_inserts_a_double_space(words: list[str], gaps: list[str], end: bool):
    text = "".join(w + g for w, g in zip(words, gaps, strict=False))
    text = text if end or not words else text.rstrip()
    completion = complete(text, NAMES, EVERY_ID)
    for i in range(len(completion.candidates)):
        done = completion.apply(i)
        assert "  " not in done[len(text.rstrip()) :], (text, done)


def firing(alert_id: str, name: str, service: str, **kw) -> Alert:
    return Alert(
        id=alert_id,
        service=service,
        rule=name,
        severity="page",
        state=kw.pop("state", "firing"),
        since_ts=kw.pop("since_ts", 2.0),
        **kw,
    )


ALERTS = (
    firing("9b141fd52701cabe", "LatencyHigh", "orders"),
    firing("0c2e7a9f11d3b5aa", "ErrorRatioHigh", "payments", acked_by="ann"),
    firing("5d5d5d5d5d5d5d5d", "LatencyHigh", "payments", state="resolved", since_ts=1.0),
)


def test_ack_completes_alert_names_with_their_state_and_inserts_the_id() -> None:
    names = live_names(lags={"replica-1": 1, "replica-2": 2, "replica-3": 3}, alerts=ALERTS)
    offered = complete("ack ", names, EVERY_ID)
    # Resolved alerts are not offered; the one nobody handles comes first.
    assert offered.candidates == ("9b141fd52701cabe", "0c2e7a9f11d3b5aa")
    assert offered.details == ("LatencyHigh firing · orders", "ErrorRatioHigh acked · payments")
    # The name (or the service) finds the alert; the line gets the id `ack` takes.
    by_name = complete("ack lat", names, EVERY_ID)
    assert by_name.candidates == ("9b141fd52701cabe",)
    assert by_name.apply(0) == "ack 9b141fd52701cabe "
    assert complete("silence pay", names, EVERY_ID).candidates == ("0c2e7a9f11d3b5aa",)
    assert run("ack 9b141fd52701cabe on it", names).kwargs["alert"] == "9b141fd52701cabe"


def test_ack_takes_an_alert_name_when_one_alert_of_that_name_is_open() -> None:
    names = live_names(lags={"replica-1": 1, "replica-2": 2, "replica-3": 3}, alerts=ALERTS)
    # The resolved LatencyHigh of payments does not make the name ambiguous.
    assert run("ack LatencyHigh looking", names).kwargs == {
        "backend": "sim",
        "alert": "9b141fd52701cabe",
        "comment": "looking",
    }
    twice = (*ALERTS, firing("77aa77aa77aa77aa", "LatencyHigh", "users"))
    error = refusal("ack latencyhigh", live_names(lags={}, alerts=twice))
    assert error.message == (
        "LatencyHigh fires for users, orders; Tab lists them, or write the id: "
        "77aa77aa77aa77aa, 9b141fd52701cabe"
    )
    assert "no alert named 'Nothing'" in refusal("ack Nothing", names).message


def test_a_switchover_takes_a_time_with_its_zone_anywhere_after_the_verb() -> None:
    ids = EVERY_ID | {"db.pause", "db.resume"}
    at = run("switchover orders-db replica-1 --at +15m", available=ids).kwargs["at"]
    assert at[-6] in "+-" and at[-3] == ":"  # ISO 8601 with its offset, as Patroni requires
    moved = run("switchover --at=+15m orders-db replica-1", available=ids)
    assert moved.kwargs["member"] == "replica-1" and moved.kwargs["at"][-3] == ":"
    assert "at" not in run("switchover orders-db replica-1", available=ids).kwargs
    assert (
        "not a time" in refusal("switchover orders-db replica-1 --at soon", available=ids).message
    )
    paused = run("pause orders-db", available=ids)
    assert (paused.command_id, paused.kwargs["cluster"]) == ("db.pause", "orders-db")
    assert run("resume orders-db", available=ids).command_id == "db.resume"

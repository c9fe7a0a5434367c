"""Silence actions without I/O: which backend may, preconditions in words, outcomes from state."""

from __future__ import annotations

import time

import pytest

from opsconsole.core.actions import (
    SPECS,
    Intent,
    build_intent,
    check_preconditions,
    expected_outcome,
    intent_duration_s,
)
from opsconsole.core.commands import DangerTier
from opsconsole.core.events import (
    AlertChanged,
    BackendDescribed,
    ConnectionChanged,
    SilenceChanged,
)
from opsconsole.core.models import (
    Alert,
    BackendInfo,
    ConnectionState,
    LinkStatus,
    Matcher,
    Silence,
)
from opsconsole.core.store import Store

AM_ACTIONS = frozenset({"alert.ack", "alert.silence", "silence.expire"})
ENDS = 1_795_834_095.0  # 02:48:15 UTC
SID = "447ca188-e6b9-49dd-a765-dd93a1b75411"


def make_alert(**kw: object) -> Alert:
    base: dict[str, object] = {
        "id": "fp1",
        "service": "orders",
        "rule": "LatencyHigh",
        "severity": "page",
        "state": "firing",
        "since_ts": 1_795_830_000.0,
        "labels": {"alertname": "LatencyHigh", "service": "orders"},
    }
    return Alert(**{**base, **kw})  # type: ignore[arg-type]


def make_silence(state: str = "active", **kw: object) -> Silence:
    base: dict[str, object] = {
        "id": SID,
        "matchers": (Matcher("alertname", "LatencyHigh"),),
        "starts_ts": 1_795_830_495.0,
        "ends_ts": ENDS,
        "created_by": "alice",
        "comment": "opsconsole ack [intent k]",
        "state": state,
    }
    return Silence(**{**base, **kw})  # type: ignore[arg-type]


def backend(
    store: Store,
    name: str = "am",
    kind: str = "alertmanager",
    actions: frozenset[str] = AM_ACTIONS,
    *,
    describe: bool = True,
    live: bool = True,
) -> None:
    if describe:
        info = BackendInfo(name, kind, "http://127.0.0.1:9093", actions=actions)  # type: ignore[arg-type]
        store.apply(BackendDescribed(name, info))
    state = ConnectionState.LIVE if live else ConnectionState.STALE
    store.apply(ConnectionChanged(name, LinkStatus(state)))


@pytest.fixture
def store() -> Store:
    s = Store(capacity=8)
    backend(s)
    s.apply(AlertChanged("am", make_alert()))
    return s


def blocked(store: Store, command_id: str, backend_name: str = "am", **kw: object) -> str:
    result = check_preconditions(build_intent(command_id, backend_name, **kw), store)
    assert result is not None, "expected the action to be blocked"
    return f"{result.rule}: {result.message}"


def allowed(store: Store, command_id: str, backend_name: str = "am", **kw: object) -> bool:
    return check_preconditions(build_intent(command_id, backend_name, **kw), store) is None


# ---------------------------------------------------------------- the specs


def test_the_new_actions_ask_for_a_confirmation() -> None:
    assert SPECS["alert.silence"].tier is DangerTier.CONFIRM
    assert SPECS["silence.expire"].tier is DangerTier.CONFIRM
    assert SPECS["alert.silence"].verb == "silence"


def test_intents_carry_the_typed_arguments() -> None:
    silence = build_intent("alert.silence", "am", "k1", alert="fp1", duration="2h", comment="x")
    assert (silence.target, silence.key) == ("fp1", "k1")
    assert silence.args == {"duration": "2h", "comment": "x", "by": None}
    assert silence.describe() == "silence fp1 (duration 2h, comment x)"
    assert intent_duration_s(silence) == 7200.0
    ack = build_intent("alert.ack", "am", alert="fp1")
    assert "duration" not in ack.args and intent_duration_s(ack) == 3600.0
    assert ack.describe() == "acknowledge fp1"
    longer = build_intent("alert.ack", "am", alert="fp1", duration="4h")
    assert intent_duration_s(longer) == 4 * 3600.0
    expire = build_intent("silence.expire", "am", silence=SID)
    assert (expire.target, expire.args) == (SID, {})


# ---------------------------------------------------------------- which backend may


def test_a_backend_that_cannot_do_it_is_named_with_its_kind(store: Store) -> None:
    backend(store, "prom", "prometheus", frozenset())
    store.apply(AlertChanged("prom", make_alert()))
    assert blocked(store, "alert.ack", "prom", alert="fp1") == (
        "backend-can: prom (prometheus) cannot acknowledge"
    )
    # "*" means every action an Ops API has; silences are not among them.
    backend(store, "demo", "opsapi", frozenset({"*"}))
    store.apply(AlertChanged("demo", make_alert()))
    assert blocked(store, "alert.silence", "demo", alert="fp1", duration="1h") == (
        "backend-can: demo (opsapi) cannot silence"
    )
    assert allowed(store, "alert.ack", "demo", alert="fp1")
    assert blocked(store, "alert.ack", "demo", alert="fp1", duration="2h") == (
        "duration-valid: demo (opsapi) acknowledgements do not expire; leave out the duration"
    )
    # Never described (an Ops API given by --url): the same words.
    backend(store, "url", describe=False)
    assert blocked(store, "silence.expire", "url", silence=SID) == (
        "backend-can: url (opsapi) cannot expire"
    )


def test_the_ability_is_checked_before_the_link(store: Store) -> None:
    backend(store, "prom", "prometheus", frozenset(), live=False)
    assert blocked(store, "alert.ack", "prom", alert="x").startswith("backend-can")
    backend(store, "am", live=False)
    assert blocked(store, "alert.ack", alert="fp1").startswith("live-data")


# ---------------------------------------------------------------- alert.silence


def test_a_firing_unsilenced_alert_may_be_silenced(store: Store) -> None:
    assert allowed(store, "alert.silence", alert="fp1", duration="2h")


def test_silence_preconditions_say_which_rule_blocks(store: Store) -> None:
    assert blocked(store, "alert.silence", alert="nope", duration="1h") == (
        "alert-exists: no alert with id 'nope'"
    )
    store.apply(AlertChanged("am", make_alert(id="gone", state="resolved")))
    assert blocked(store, "alert.silence", alert="gone", duration="1h") == (
        "alert-firing: alert gone is resolved: nothing to silence"
    )
    assert blocked(store, "alert.silence", alert="fp1") == (
        "duration-valid: a silence needs a duration, e.g. 2h"
    )
    assert blocked(store, "alert.silence", alert="fp1", duration="soon") == (
        "duration-valid: 'soon' is not a duration; write e.g. 30m, 2h, 1d"
    )
    assert blocked(store, "alert.silence", alert="fp1", duration="0s").startswith(
        "duration-valid: a silence must last longer than zero"
    )
    assert "30 days" in blocked(store, "alert.silence", alert="fp1", duration="90d")


def test_an_alert_already_silenced_names_the_silence_and_its_end_in_utc(store: Store) -> None:
    store.apply(SilenceChanged("am", make_silence()))
    store.apply(AlertChanged("am", make_alert(silenced_by=(SID,))))
    until = time.strftime("%H:%M UTC", time.gmtime(ENDS))
    assert blocked(store, "alert.silence", alert="fp1", duration="1h") == (
        f"not-silenced: already silenced by {SID} until {until}"
    )
    assert until == "02:48 UTC"


def test_matchers_that_would_mute_everything_are_refused_before_sending(store: Store) -> None:
    store.apply(AlertChanged("am", make_alert(id="bare", labels={})))
    assert blocked(store, "alert.silence", alert="bare", duration="1h") == (
        "matchers-safe: alert bare has no labels to match a silence on"
    )
    store.apply(AlertChanged("am", make_alert(id="empty", labels={"service": ""})))
    assert blocked(store, "alert.silence", alert="empty", duration="1h").startswith(
        "matchers-safe: every matcher"
    )
    assert blocked(store, "alert.ack", alert="empty").startswith("matchers-safe:")


# ---------------------------------------------------------------- alert.ack on Alertmanager


def test_ack_on_alertmanager_checks_the_silence_rules_too(store: Store) -> None:
    assert allowed(store, "alert.ack", alert="fp1")
    assert allowed(store, "alert.ack", alert="fp1", duration="15m")
    assert blocked(store, "alert.ack", alert="fp1", duration="later").startswith("duration-valid")
    store.apply(AlertChanged("am", make_alert(acked_by="alice", silenced_by=(SID,))))
    assert blocked(store, "alert.ack", alert="fp1") == ("not-acked: already acknowledged by alice")


# ---------------------------------------------------------------- silence.expire


def test_expire_needs_a_silence_that_has_not_ended(store: Store) -> None:
    assert blocked(store, "silence.expire", silence=SID) == (
        f"silence-exists: no silence with id {SID!r}"
    )
    store.apply(SilenceChanged("am", make_silence()))
    assert allowed(store, "silence.expire", silence=SID)
    store.apply(SilenceChanged("am", make_silence("pending")))
    assert allowed(store, "silence.expire", silence=SID)
    store.apply(SilenceChanged("am", make_silence("expired")))
    assert blocked(store, "silence.expire", silence=SID) == (
        f"not-expired: silence {SID} has already expired"
    )


# ---------------------------------------------------------------- outcomes from live state


def test_outcomes_are_read_from_the_live_state(store: Store) -> None:
    state = store.backend("am")
    silence = expected_outcome(build_intent("alert.silence", "am", alert="fp1", duration="1h"))
    ack = expected_outcome(build_intent("alert.ack", "am", alert="fp1"))
    expire = expected_outcome(build_intent("silence.expire", "am", silence=SID))
    assert silence(state) is None and ack(state) is None and expire(state) is None
    store.apply(SilenceChanged("am", make_silence()))
    store.apply(AlertChanged("am", make_alert(silenced_by=(SID,), acked_by="alice")))
    done = silence(state)
    assert done is not None and done.succeeded
    assert done.message == f"alert fp1 silenced by {SID} until 02:48 UTC"
    acked = ack(state)
    assert acked is not None and acked.message == "alert fp1 acknowledged by alice"
    assert expire(state) is None
    store.apply(SilenceChanged("am", make_silence("expired", ends_ts=ENDS - 3600)))
    ended = expire(state)
    assert ended is not None and ended.message == f"silence {SID} expired at 01:48 UTC"


def test_an_intent_is_the_same_on_a_second_enter() -> None:
    first = build_intent("alert.silence", "am", alert="fp1", duration="2h", comment="x")
    again = build_intent("alert.silence", "am", alert="fp1", duration="2h", comment="x")
    other = build_intent("alert.silence", "am", alert="fp1", duration="4h", comment="x")
    assert first.identity == again.identity != other.identity
    assert isinstance(first, Intent) and first.key != again.key

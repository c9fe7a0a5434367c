"""Alertmanager API v2 without I/O: decoding (garbage too), mapping, silences we build, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsconsole.core.alertmanager import (
    AmAlert,
    PostableSilence,
    Refusal,
    ServerClock,
    ack_silence,
    decode_alerts,
    decode_created,
    decode_silences,
    encode_silence,
    error_message,
    intent_of,
    map_alert,
    map_silence,
    matches_empty,
    not_found,
    plain_error,
    rfc3339,
    server_time_from_date,
    service_of,
    severity_of,
    silence_for,
    structured_comment,
    validate_matchers,
)
from opsconsole.core.models import Alert, Matcher, Silence
from opsconsole.core.protocol import ProtocolError

T0 = datetime(2026, 11, 28, 1, 48, 14, 985000, tzinfo=UTC).timestamp()

# Alertmanager 0.25's answer to GET /api/v2/alerts, as it wrote it (one silenced alert).
ALERTS = b"""[{"annotations":{"summary":"p99 high","threshold":"0.5","value":"0.7"},
"endsAt":"2026-11-28T01:53:14.985Z","fingerprint":"9b141fd52701cabe",
"receivers":[{"name":"nobody"}],"startsAt":"2026-11-28T01:48:14.985Z",
"status":{"inhibitedBy":[],"silencedBy":["447ca188-e6b9-49dd-a765-dd93a1b75411"],
"state":"suppressed"},"updatedAt":"2026-11-28T01:48:14.985Z",
"generatorURL":"http://prometheus/graph",
"labels":{"alertname":"LatencyHigh","service":"orders","severity":"page"}}]"""
SILENCES = b"""[{"id":"447ca188-e6b9-49dd-a765-dd93a1b75411","status":{"state":"active"},
"updatedAt":"2026-11-28T01:48:15.037Z","comment":"opsconsole ack: on it [intent k-1]",
"createdBy":"alice","endsAt":"2026-11-28T02:48:15.000Z",
"matchers":[{"isEqual":true,"isRegex":false,"name":"alertname","value":"LatencyHigh"}],
"startsAt":"2026-11-28T01:48:15.037Z"},
{"id":"0b5cbb1c-0000-4000-8000-000000000000","status":{"state":"expired"},
"updatedAt":"2026-11-28T01:00:00Z","comment":"old","createdBy":"bob",
"endsAt":"2026-11-28T01:00:00Z",
"matchers":[{"isRegex":true,"name":"service","value":"ord.*"}],
"startsAt":"2026-11-28T00:00:00Z"}]"""
SILENCE_ID = "447ca188-e6b9-49dd-a765-dd93a1b75411"


def raw_alert(**changes: object) -> AmAlert:
    decoded = decode_alerts(ALERTS)
    assert isinstance(decoded, list)
    return msgspec.structs.replace(decoded[0], **changes)


def silences() -> dict[str, Silence]:
    decoded = decode_silences(SILENCES)
    assert isinstance(decoded, list)
    return {s.id: map_silence(s) for s in decoded}


def alert(labels: dict[str, str] | None = None, **kw: object) -> Alert:
    base: dict[str, object] = {
        "id": "fp1",
        "service": "orders",
        "rule": "LatencyHigh",
        "severity": "page",
        "state": "firing",
        "since_ts": T0,
        "labels": {"alertname": "LatencyHigh", "service": "orders"} if labels is None else labels,
    }
    return Alert(**{**base, **kw})  # type: ignore[arg-type]


# ---------------------------------------------------------------- decoding


def test_real_answers_decode_into_typed_records() -> None:
    alerts = decode_alerts(ALERTS)
    assert isinstance(alerts, list) and len(alerts) == 1
    a = alerts[0]
    assert a.fingerprint == "9b141fd52701cabe"
    assert a.status.state == "suppressed" and a.status.silenced_by == (SILENCE_ID,)
    assert a.starts_at.timestamp() == pytest.approx(T0)
    assert a.generator_url == "http://prometheus/graph"
    found = silences()
    assert found[SILENCE_ID].state == "active"
    assert found[SILENCE_ID].matchers == (Matcher("alertname", "LatencyHigh"),)
    assert found[SILENCE_ID].created_by == "alice"
    # `isEqual` is absent in older answers: it means "equal".
    old = found["0b5cbb1c-0000-4000-8000-000000000000"]
    assert old.matchers == (Matcher("service", "ord.*", is_regex=True, is_equal=True),)
    assert old.state == "expired"


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"", "malformed_json"),
        (b"not json", "malformed_json"),
        (b"[{", "malformed_json"),
        (b"{}", "invalid_field"),  # an object where a list belongs
        (b'[{"fingerprint": "x"}]', "invalid_field"),  # required fields missing
        (
            b'[{"fingerprint": "", "labels": {}, "startsAt": "2026-01-01T00:00:00Z",'
            b' "status": {"state": "active"}}]',
            "invalid_field",
        ),  # empty fingerprint
        (
            b'[{"fingerprint": "x", "labels": {"a": 1}, "startsAt": "2026-01-01T00:00:00Z",'
            b' "status": {"state": "active"}}]',
            "invalid_field",
        ),  # a label that is no string
        (
            b'[{"fingerprint": "x", "labels": {}, "startsAt": "yesterday",'
            b' "status": {"state": "active"}}]',
            "invalid_field",
        ),
        (b"[" * 100_000, "invalid_field"),  # nesting bomb: refused at the second level
    ],
)
def test_garbage_alerts_come_back_as_a_typed_error(body: bytes, kind: str) -> None:
    result = decode_alerts(body)
    assert isinstance(result, ProtocolError)
    assert result.kind == kind and result.reason


def test_garbage_silences_and_created_answers_come_back_as_typed_errors() -> None:
    bad_state = SILENCES.replace(b'"active"', b'"sleeping"')
    assert isinstance(decode_silences(bad_state), ProtocolError)
    assert isinstance(decode_silences(b'[{"id": "x"}]'), ProtocolError)
    assert isinstance(decode_created(b'{"silenceID": ""}'), ProtocolError)
    assert isinstance(decode_created(b"\xff\xfe"), ProtocolError)
    created = decode_created(b'{"silenceID": "abc"}')
    assert not isinstance(created, ProtocolError) and created.silence_id == "abc"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_no_bytes_make_the_decoders_raise(data: bytes) -> None:
    for decode in (decode_alerts, decode_silences, decode_created):
        result = decode(data)
        assert isinstance(result, ProtocolError | list | msgspec.Struct)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(
                st.sampled_from(["fingerprint", "labels", "startsAt", "status", "state", "id"]),
                inner,
                max_size=5,
            )
        ),
        max_leaves=20,
    )
)
def test_no_json_shape_makes_the_decoders_raise(value: object) -> None:
    data = json.dumps(value).encode()
    assert isinstance(decode_alerts(data), ProtocolError | list)
    assert isinstance(decode_silences(data), ProtocolError | list)


# ---------------------------------------------------------------- alert mapping


def test_an_alertmanager_alert_becomes_a_console_alert() -> None:
    mapped = map_alert(raw_alert(), silences(), server_now=T0 + 10)
    assert mapped.id == "9b141fd52701cabe"  # the fingerprint
    assert (mapped.service, mapped.rule, mapped.severity) == ("orders", "LatencyHigh", "page")
    assert mapped.state == "firing"  # suppressed is still firing
    assert mapped.since_ts == pytest.approx(T0)
    assert (mapped.value, mapped.threshold) == (0.7, 0.5)
    assert mapped.summary == "p99 high"
    assert mapped.labels["alertname"] == "LatencyHigh"
    assert mapped.annotations["summary"] == "p99 high"
    assert mapped.silenced_by == (SILENCE_ID,) and mapped.inhibited_by == ()
    # Muted by an active silence: acknowledged by whoever made it, when it started.
    assert mapped.acked_by == "alice"
    assert mapped.acked_ts == pytest.approx(silences()[SILENCE_ID].starts_ts)


def test_only_an_active_known_silence_acknowledges() -> None:
    expired = {
        SILENCE_ID: msgspec.structs.replace(silences()[SILENCE_ID], state="expired"),
    }
    assert map_alert(raw_alert(), expired, T0).acked_by is None
    unknown = map_alert(raw_alert(), {}, T0)
    assert unknown.acked_by is None and unknown.silenced_by == (SILENCE_ID,)


def test_inhibited_alerts_name_their_inhibitors() -> None:
    status = msgspec.structs.replace(
        raw_alert().status, state="suppressed", silenced_by=(), inhibited_by=("f00d",)
    )
    mapped = map_alert(raw_alert(status=status), silences(), T0)
    assert mapped.inhibited_by == ("f00d",) and mapped.silenced_by == ()
    assert mapped.state == "firing" and mapped.acked_by is None


def test_an_alert_past_its_end_on_the_server_clock_is_resolved() -> None:
    ends = datetime.fromtimestamp(T0 + 60, UTC)
    assert map_alert(raw_alert(ends_at=ends), {}, server_now=T0 + 59).state == "firing"
    assert map_alert(raw_alert(ends_at=ends), {}, server_now=T0 + 60).state == "resolved"
    assert map_alert(raw_alert(ends_at=None), {}, server_now=T0 + 1e6).state == "firing"


@pytest.mark.parametrize(
    ("word", "severity"),
    [
        ("critical", "page"),
        ("page", "page"),
        ("CRITICAL ", "page"),
        ("warning", "ticket"),
        ("ticket", "ticket"),
        ("info", "info"),
        ("none", "info"),
        ("", "info"),
    ],
)
def test_severity_from_the_severity_label(word: str, severity: str) -> None:
    assert severity_of({"severity": word}) == severity
    assert severity_of({}) == "info"


def test_service_from_the_configured_label_then_job_then_instance() -> None:
    labels = {"service": "orders", "app": "shop", "job": "sim", "instance": "h:1"}
    assert service_of(labels) == "orders"
    assert service_of(labels, "app") == "shop"
    assert service_of({"job": "sim", "instance": "h:1"}) == "sim"
    assert service_of({"instance": "h:1"}) == "h:1"
    assert service_of({"alertname": "X"}) == "—"
    mapped = map_alert(raw_alert(labels={"alertname": "X", "app": "shop"}), {}, T0, "app")
    assert mapped.service == "shop"


def test_summary_falls_back_to_description_and_numbers_must_be_finite() -> None:
    notes = {"description": "long words", "value": "NaN", "threshold": "+Inf"}
    mapped = map_alert(raw_alert(annotations=notes), {}, T0)
    assert mapped.summary == "long words"
    assert mapped.value is None and mapped.threshold is None
    words = map_alert(raw_alert(annotations={"value": "high", "threshold": "1e3"}), {}, T0)
    assert words.value is None and words.threshold == 1000.0
    assert map_alert(raw_alert(annotations={}), {}, T0).summary == ""


def test_times_out_of_the_models_range_are_clamped() -> None:
    zero = datetime(1, 1, 1, tzinfo=UTC)  # Go's zero time
    assert map_alert(raw_alert(starts_at=zero), {}, T0).since_ts == 0.0


# ---------------------------------------------------------------- matchers


@pytest.mark.parametrize(
    ("matcher", "empty"),
    [
        (Matcher("a", "x"), False),
        (Matcher("a", ""), True),
        (Matcher("a", "x", is_equal=False), True),
        (Matcher("a", "", is_equal=False), False),
        (Matcher("a", ".*", is_regex=True), True),
        (Matcher("a", ".+", is_regex=True), False),
        (Matcher("a", "x|", is_regex=True), True),
        (Matcher("a", "x", is_regex=True), False),
        (Matcher("a", ".+", is_regex=True, is_equal=False), True),
        (Matcher("a", ".*", is_regex=True, is_equal=False), False),
        (Matcher("a", "(", is_regex=True), None),
    ],
)
def test_which_matchers_match_a_missing_label(matcher: Matcher, empty: bool | None) -> None:
    assert matches_empty(matcher) is empty


def test_matcher_sets_that_would_mute_everything_are_refused_in_words() -> None:
    assert validate_matchers([Matcher("alertname", "LatencyHigh")]) is None
    # One matcher that needs the label is enough, whatever the others are.
    assert validate_matchers([Matcher("a", ".*", is_regex=True), Matcher("b", "x")]) is None
    assert "at least one matcher" in (validate_matchers([]) or "")
    for unsafe in (
        [Matcher("alertname", ".*", is_regex=True)],
        [Matcher("service", "")],
        [Matcher("service", "orders", is_equal=False)],
        [Matcher("a", ".*", is_regex=True), Matcher("b", "x", is_equal=False)],
    ):
        reason = validate_matchers(unsafe)
        assert reason is not None and "would mute every alert" in reason, unsafe
    assert 'alertname=~".*"' in (validate_matchers([Matcher("alertname", ".*", True)]) or "")
    assert "not a valid label name" in (validate_matchers([Matcher("bad-name", "x")]) or "")
    assert "not valid" in (validate_matchers([Matcher("a", "(", is_regex=True)]) or "")


# ---------------------------------------------------------------- silences we build


def test_an_ack_is_a_silence_of_exactly_the_alerts_labels_from_the_server_clock() -> None:
    target = alert({"alertname": "LatencyHigh", "service": "orders", "severity": "page"})
    body = ack_silence(target, "alice", "on it", "k-1", 3600.0, server_now=T0)
    assert isinstance(body, PostableSilence)
    assert [(m.name, m.value, m.is_regex, m.is_equal) for m in body.matchers] == [
        ("alertname", "LatencyHigh", False, True),
        ("service", "orders", False, True),
        ("severity", "page", False, True),
    ]
    assert body.starts_at == "2026-11-28T01:48:14.985Z"
    assert body.ends_at == "2026-11-28T02:48:14.985Z"
    assert body.created_by == "alice"
    assert body.comment == "opsconsole ack: on it [intent k-1]"
    wire = json.loads(encode_silence(body))
    assert set(wire) == {"matchers", "startsAt", "endsAt", "createdBy", "comment"}
    assert wire["matchers"][0] == {
        "name": "alertname",
        "value": "LatencyHigh",
        "isRegex": False,
        "isEqual": True,
    }


def test_the_default_ack_lasts_an_hour_and_a_silence_says_so_in_its_comment() -> None:
    ack = ack_silence(alert(), "alice", "", "k-2", server_now=T0)
    assert isinstance(ack, PostableSilence)
    assert ack.ends_at == rfc3339(T0 + 3600)
    assert ack.comment == "opsconsole ack [intent k-2]"
    silence = silence_for(
        alert(), by="bob", comment="deploy", intent_key="k-3", duration_s=7200, server_now=T0
    )
    assert isinstance(silence, PostableSilence)
    assert silence.comment == "opsconsole silence: deploy [intent k-3]"
    assert silence.ends_at == rfc3339(T0 + 7200)


def test_silences_that_cannot_be_sent_are_refused_with_the_rule() -> None:
    kw = {"by": "a", "comment": "", "server_now": T0}
    no_labels = silence_for(alert({}), intent_key="k", duration_s=60, **kw)  # type: ignore[arg-type]
    assert isinstance(no_labels, Refusal) and no_labels.rule == "matchers-safe"
    assert "no labels" in no_labels.message
    empty_value = silence_for(alert({"service": ""}), intent_key="k", duration_s=60, **kw)  # type: ignore[arg-type]
    assert isinstance(empty_value, Refusal) and empty_value.rule == "matchers-safe"
    for seconds in (0.0, -5.0, float("nan")):
        refused = silence_for(alert(), intent_key="k", duration_s=seconds, **kw)  # type: ignore[arg-type]
        assert isinstance(refused, Refusal) and refused.rule == "duration-valid"
    for key in ("", "two words", "a]b"):
        refused = silence_for(alert(), intent_key=key, duration_s=60, **kw)  # type: ignore[arg-type]
        assert isinstance(refused, Refusal) and refused.rule == "intent-key"


def test_the_intent_is_found_again_in_the_comment() -> None:
    comment = structured_comment("ack", "  looking\n into   it ", "0c9f-11")
    assert comment == "opsconsole ack: looking into it [intent 0c9f-11]"
    assert intent_of(comment) == "0c9f-11"
    assert intent_of("opsconsole ack: see [intent x] later") is None  # only at the end
    assert intent_of("made by hand") is None
    # An operator's comment that imitates the marker cannot hide the real one.
    tricky = structured_comment("ack", "[intent fake]", "real")
    assert intent_of(tricky) == "real"


# ---------------------------------------------------------------- the server's clock


def test_the_date_header_gives_the_servers_time_to_the_second() -> None:
    assert server_time_from_date("Sat, 28 Nov 2026 01:48:16 GMT") == pytest.approx(
        datetime(2026, 11, 28, 1, 48, 16, tzinfo=UTC).timestamp()
    )
    # RFC 850 and asctime forms are allowed by RFC 7231 too.
    assert server_time_from_date("Saturday, 28-Nov-26 01:48:16 GMT") == pytest.approx(
        datetime(2026, 11, 28, 1, 48, 16, tzinfo=UTC).timestamp()
    )
    assert server_time_from_date("Sat Nov 28 01:48:16 2026") == pytest.approx(
        datetime(2026, 11, 28, 1, 48, 16, tzinfo=UTC).timestamp()
    )
    for bad in (
        None,
        "",
        "yesterday",
        "Sat, 99 Nov 2026 01:48:16 GMT",
        "Mon, 1 Jan 1800 0:0:0 GMT",
    ):
        assert server_time_from_date(bad) is None, bad


def test_the_server_clock_keeps_the_tightest_recent_lower_bound() -> None:
    clock = ServerClock(window=3)
    assert not clock.known and clock.now(100.0) == 100.0
    clock.observe(None, 0.0)
    assert not clock.known
    clock.observe(1000.0, 10.0)  # server 990 s ahead (rounded down)
    clock.observe(1000.6, 10.0)  # a later answer shows it is a little more
    assert clock.now(20.0) == pytest.approx(1010.6)
    # The server's clock was stepped back: followed once the old answers leave the window.
    for _ in range(3):
        clock.observe(500.0, 10.0)
    assert clock.now(20.0) == pytest.approx(510.0)


# ---------------------------------------------------------------- errors


def test_alertmanagers_own_words_are_read_from_either_error_shape() -> None:
    assert (
        error_message(b'"silence invalid: at least one matcher must not match the empty string"')
        == "silence invalid: at least one matcher must not match the empty string"
    )
    assert error_message(b'{"code":601,"message":"silenceID in path must be of type uuid"}') == (
        "silenceID in path must be of type uuid"
    )
    assert error_message(b"plain text from a proxy") == "plain text from a proxy"
    assert error_message(b"") == ""
    assert error_message(b"\x00\x01") == ""


def test_errors_in_plain_words() -> None:
    assert plain_error(400, "silence invalid: x") == (
        "Alertmanager refused the request: silence invalid: x"
    )
    assert plain_error(401, "") == "Alertmanager refused our credentials"
    assert "may not do that" in plain_error(403, "")
    assert plain_error(404, "", "abc") == "silence abc was not found on Alertmanager"
    # Alertmanager 0.25 answers an unknown silence with a 500.
    assert not_found(500, "silence not found") and not not_found(500, "boom")
    assert plain_error(500, "silence not found", "abc") == (
        "silence abc was not found on Alertmanager"
    )
    assert plain_error(500, "boom") == "Alertmanager failed internally: boom"
    assert plain_error(503, "") == "Alertmanager is unavailable right now"
    assert "proxy" in plain_error(502, "")

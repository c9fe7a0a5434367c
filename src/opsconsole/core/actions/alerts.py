"""The alert actions: acknowledge, silence and expire a silence, each declared once."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from opsconsole.core.actions.declaration import (
    ALERTMANAGER,
    ActionDeclaration,
    Check,
    backend_kind,
)
from opsconsole.core.actions.intent import Blocked, Intent, Outcome, OutcomeCheck
from opsconsole.core.alertmanager import DEFAULT_ACK_S, matchers_for, validate_matchers
from opsconsole.core.arguments import Arg
from opsconsole.core.commands import DangerTier
from opsconsole.core.durations import parse_duration
from opsconsole.core.models import Alert
from opsconsole.core.store import BackendState

# Longer silences are almost always a typo ("90d" for "90m"); Alertmanager itself has no cap.
MAX_SILENCE_S = 30 * 86_400.0
#: A silence's length assumed while judging alerts, before the operator picks one.
JUDGE_DURATION = "1h"


def utc_clock(ts: float) -> str:
    """ "14:05 UTC": silences end at server times, shown the same on every workstation."""
    return time.strftime("%H:%M UTC", time.gmtime(ts))


def duration_s(value: object) -> float | None:
    """Seconds from a typed duration ("2h", "90m") or a number; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = parse_duration(value)
        except ValueError:
            return None
    else:
        return None
    return seconds if math.isfinite(seconds) else None


def intent_duration_s(intent: Intent) -> float:
    """How long the silence of this intent lasts; an ack without one lasts an hour."""
    raw = intent.args.get("duration")
    if raw is None or raw == "":
        return DEFAULT_ACK_S
    seconds = duration_s(raw)
    return math.nan if seconds is None else seconds


def _duration_ok(intent: Intent, required: bool) -> Blocked | None:
    raw = intent.args.get("duration")
    if required and (raw is None or raw == ""):
        return Blocked("duration-valid", "a silence needs a duration, e.g. 2h")
    seconds = intent_duration_s(intent)
    if math.isnan(seconds):
        return Blocked("duration-valid", f"{raw!r} is not a duration; write e.g. 30m, 2h, 1d")
    if seconds <= 0:
        return Blocked("duration-valid", "a silence must last longer than zero")
    if seconds > MAX_SILENCE_S:
        return Blocked("duration-valid", f"{raw} is longer than the 30 days a silence may last")
    return None


def silenced_words(alert: Alert, state: BackendState) -> str:
    """ "s-1 until 14:05 UTC, s-2": the silences muting an alert."""
    parts = []
    for sid in alert.silenced_by:
        silence = state.silences.get(sid)
        until = f" until {utc_clock(silence.ends_ts)}" if silence is not None else ""
        parts.append(f"{sid}{until}")
    return ", ".join(parts)


def _alert_check(*, refuse_acked: bool, needs_duration: bool) -> Check:
    """The alert exists and needs this; on Alertmanager (where both are silences) it fires,
    is not yet silenced, the duration is sane and its labels make a safe silence."""

    def check(intent: Intent, state: BackendState) -> Blocked | None:
        alert = state.alerts.get(intent.target)
        if alert is None:
            return Blocked("alert-exists", f"no alert with id {intent.target!r}")
        if refuse_acked and alert.acked_by:
            return Blocked("not-acked", f"already acknowledged by {alert.acked_by}")
        if backend_kind(state) != ALERTMANAGER:
            if intent.args.get("duration") not in (None, ""):
                # Said rather than ignored: the operator expects the ack to end by itself.
                return Blocked(
                    "duration-valid",
                    f"{intent.backend} ({backend_kind(state)}) acknowledgements do not expire; "
                    "leave out the duration",
                )
            return None
        # In Alertmanager both are silences: only a firing, not yet silenced alert needs one.
        if alert.state != "firing":
            return Blocked("alert-firing", f"alert {alert.id} is {alert.state}: nothing to silence")
        if alert.silenced_by:
            return Blocked("not-silenced", f"already silenced by {silenced_words(alert, state)}")
        if (blocked := _duration_ok(intent, needs_duration)) is not None:
            return blocked
        if not alert.labels:
            return Blocked("matchers-safe", f"alert {alert.id} has no labels to match a silence on")
        reason = validate_matchers(matchers_for(alert))
        if reason is not None:
            return Blocked("matchers-safe", reason)
        return None

    return check


def _acked(intent: Intent) -> OutcomeCheck:
    target = intent.target

    def acked(state: BackendState) -> Outcome | None:
        alert = state.alerts.get(target)
        if alert is None or not alert.acked_by:
            return None
        return Outcome(True, f"alert {target} acknowledged by {alert.acked_by}")

    return acked


def _silenced(intent: Intent) -> OutcomeCheck:
    target = intent.target

    def silenced(state: BackendState) -> Outcome | None:
        alert = state.alerts.get(target)
        if alert is None or not alert.silenced_by:
            return None
        return Outcome(True, f"alert {target} silenced by {silenced_words(alert, state)}")

    return silenced


def _ack_parts(kw: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    args = {"comment": kw.get("comment", ""), "by": kw.get("by")}
    if kw.get("duration") not in (None, ""):
        args["duration"] = kw["duration"]  # Alertmanager only: how long the ack mutes
    return kw["alert"], args


def _silence_parts(kw: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    args = {"duration": kw.get("duration"), "comment": kw.get("comment", ""), "by": kw.get("by")}
    return kw["alert"], args


def _silence_live(intent: Intent, state: BackendState) -> Blocked | None:
    silence = state.silences.get(intent.target)
    if silence is None:
        return Blocked("silence-exists", f"no silence with id {intent.target!r}")
    if silence.state == "expired":
        return Blocked("not-expired", f"silence {silence.id} has already expired")
    return None


def _expired(intent: Intent) -> OutcomeCheck:
    target = intent.target

    def expired(state: BackendState) -> Outcome | None:
        silence = state.silences.get(target)
        if silence is None or silence.state != "expired":
            return None
        return Outcome(True, f"silence {target} expired at {utc_clock(silence.ends_ts)}")

    return expired


ACK = ActionDeclaration(
    "alert.ack",
    "Acknowledge an alert",
    DangerTier.CONFIRM,
    "acknowledge",
    "Marks the alert as being handled by you.",
    button="Acknowledge…",
    hint="Mark the alert as being handled by you",
    word="ack",
    args=(Arg.ALERT, Arg.COMMENT),
    build=_ack_parts,
    check=_alert_check(refuse_acked=True, needs_duration=False),
    expect=_acked,
)
SILENCE = ActionDeclaration(
    "alert.silence",
    "Silence an alert",
    DangerTier.CONFIRM,
    "silence",
    "Alertmanager stops notifying about this alert until the silence ends.",
    button="Silence…",
    hint="Stop notifications about this alert for a while",
    word="silence",
    args=(Arg.ALERT, Arg.DURATION, Arg.COMMENT),
    build=_silence_parts,
    check=_alert_check(refuse_acked=False, needs_duration=True),
    expect=_silenced,
    kinds=frozenset({ALERTMANAGER}),
    judge_with={"duration": JUDGE_DURATION},
)
EXPIRE = ActionDeclaration(
    "silence.expire",
    "Expire a silence",
    DangerTier.CONFIRM,
    "expire",
    "The silence ends now: the alerts it muted notify again.",
    button="Expire…",
    hint="End this silence now",
    word="expire",
    aliases=("unsilence",),
    args=(Arg.SILENCE,),
    check=_silence_live,
    expect=_expired,
    kinds=frozenset({ALERTMANAGER}),
)

DECLARATIONS: tuple[ActionDeclaration, ...] = (ACK, SILENCE, EXPIRE)

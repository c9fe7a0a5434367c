"""Alertmanager API v2 without I/O: decoding, alert and silence mapping, silence bodies, errors."""

from __future__ import annotations

import json
import math
import re
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Annotated, Literal

import msgspec

from opsconsole.core.models import MAX_TS, Alert, Matcher, Severity, Silence
from opsconsole.core.protocol import ProtocolError

# Alertmanager answers are small (hundreds of alerts at most); anything far larger is not one.
MAX_BODY_BYTES = 64 * 1024 * 1024
DEFAULT_ACK_S = 3600.0
NO_SERVICE = "—"
SERVICE_FALLBACKS = ("job", "instance")
COMMENT_PREFIX = "opsconsole"
# Alertmanager 0.25 accepts only classic Prometheus label names in matchers.
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_INTENT = re.compile(r"\[intent ([^\]\s]+)\]\s*$")

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


# ---------------------------------------------------------------- the wire (API v2)


class AmMatcher(msgspec.Struct, frozen=True, rename="camel"):
    """A silence matcher as Alertmanager spells it (`isEqual` is absent before 0.22)."""

    name: str
    value: str
    is_regex: bool
    is_equal: bool = True


class AmAlertStatus(msgspec.Struct, frozen=True, rename="camel"):
    state: str  # active | suppressed | unprocessed; unknown words are kept, not refused
    silenced_by: tuple[str, ...] = ()
    inhibited_by: tuple[str, ...] = ()


class AmAlert(msgspec.Struct, frozen=True, rename="camel"):
    """One entry of GET /api/v2/alerts (gettableAlert)."""

    fingerprint: NonEmpty
    labels: dict[str, str]
    starts_at: datetime
    status: AmAlertStatus
    ends_at: datetime | None = None
    updated_at: datetime | None = None
    annotations: dict[str, str] = {}
    generator_url: str = msgspec.field(default="", name="generatorURL")


class AmSilenceStatus(msgspec.Struct, frozen=True):
    state: Literal["active", "pending", "expired"]


class AmSilence(msgspec.Struct, frozen=True, rename="camel"):
    """One entry of GET /api/v2/silences (gettableSilence)."""

    id: NonEmpty
    status: AmSilenceStatus
    matchers: tuple[AmMatcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str = ""
    comment: str = ""
    updated_at: datetime | None = None


class PostableSilence(msgspec.Struct, frozen=True, rename="camel"):
    """The body of POST /api/v2/silences; times are RFC 3339 in UTC."""

    matchers: tuple[AmMatcher, ...]
    starts_at: str
    ends_at: str
    created_by: str
    comment: str


class SilenceCreated(msgspec.Struct, frozen=True, rename={"silence_id": "silenceID"}):
    silence_id: NonEmpty


_ALERTS = msgspec.json.Decoder(list[AmAlert])
_SILENCES = msgspec.json.Decoder(list[AmSilence])
_CREATED = msgspec.json.Decoder(SilenceCreated)


def _decode(decoder: msgspec.json.Decoder, data: bytes | str) -> object:
    if len(data) > MAX_BODY_BYTES:
        return ProtocolError("oversize", f"answer of {len(data)} bytes is too large")
    try:
        return decoder.decode(data)
    except msgspec.ValidationError as exc:
        return ProtocolError("invalid_field", str(exc))
    except msgspec.DecodeError as exc:
        return ProtocolError("malformed_json", str(exc))
    except (RecursionError, UnicodeDecodeError, ValueError) as exc:
        return ProtocolError("malformed_json", str(exc))


def decode_alerts(data: bytes | str) -> list[AmAlert] | ProtocolError:
    """GET /api/v2/alerts; a defect anywhere comes back as a ProtocolError, never raised."""
    return _decode(_ALERTS, data)  # type: ignore[return-value]


def decode_silences(data: bytes | str) -> list[AmSilence] | ProtocolError:
    """GET /api/v2/silences; a defect anywhere comes back as a ProtocolError, never raised."""
    return _decode(_SILENCES, data)  # type: ignore[return-value]


def decode_created(data: bytes | str) -> SilenceCreated | ProtocolError:
    """The answer to POST /api/v2/silences: `{"silenceID": "…"}`."""
    return _decode(_CREATED, data)  # type: ignore[return-value]


# ---------------------------------------------------------------- times


def epoch(value: datetime | None, default: float = 0.0) -> float:
    """Seconds since the epoch, clamped to what the models accept (Go's zero time is year 1)."""
    if value is None:
        return default
    try:
        ts = value.timestamp()
    except (OverflowError, OSError, ValueError):
        return default
    return min(max(ts, 0.0), MAX_TS)


def rfc3339(ts: float) -> str:
    """UTC with milliseconds, as Alertmanager writes its own times."""
    text = datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def server_time_from_date(header: str | None) -> float | None:
    """The server's clock from an RFC 7231 `Date` header, or None when absent or malformed.

    The header has a resolution of one second and is written when the answer is made, so the
    value is the server's time rounded *down* by up to 1 s plus the answer's transit time: a
    lower bound of the server's clock. Silences built from it start at most about a second
    in the past, which Alertmanager moves up to its own "now" (never into the future, where
    the silence would be pending instead of muting at once).
    """
    if not header:
        return None
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # RFC 7231 dates are GMT; "-0000" parses as naive
        when = when.replace(tzinfo=UTC)
    ts = when.timestamp()
    return ts if 0.0 < ts <= MAX_TS else None


@dataclass
class ServerClock:
    """The server's clock as an offset from ours, kept from the `Date` of recent answers.

    Every observation is a lower bound (see `server_time_from_date`), so the largest offset
    of the last few answers is the tightest; only the last `window` count, so a server whose
    clock was stepped back is followed within a few polls.
    """

    window: int = 8
    _offsets: deque[float] = field(default_factory=deque, repr=False)

    def observe(self, server_ts: float | None, local_ts: float) -> None:
        if server_ts is None:
            return
        self._offsets.append(server_ts - local_ts)
        while len(self._offsets) > self.window:
            self._offsets.popleft()

    @property
    def known(self) -> bool:
        return bool(self._offsets)

    def now(self, local_ts: float) -> float:
        """Best estimate of the server's time; our own clock until a `Date` was seen."""
        return local_ts + (max(self._offsets) if self._offsets else 0.0)


# ---------------------------------------------------------------- mapping


def map_silence(raw: AmSilence) -> Silence:
    return Silence(
        id=raw.id,
        matchers=tuple(
            Matcher(name=m.name or "?", value=m.value, is_regex=m.is_regex, is_equal=m.is_equal)
            for m in raw.matchers
        ),
        starts_ts=epoch(raw.starts_at),
        ends_ts=epoch(raw.ends_at),
        created_by=raw.created_by,
        comment=raw.comment,
        state=raw.status.state,
    )


def severity_of(labels: Mapping[str, str]) -> Severity:
    word = labels.get("severity", "").strip().casefold()
    if word in ("critical", "page"):
        return "page"
    if word in ("warning", "ticket"):
        return "ticket"
    return "info"


def service_of(labels: Mapping[str, str], service_label: str = "service") -> str:
    for name in (service_label, *SERVICE_FALLBACKS):
        value = labels.get(name)
        if value:
            return value
    return NO_SERVICE


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None
    # `{{ $value }}` can render NaN or +Inf; the models refuse them, and so do we.
    return value if math.isfinite(value) and abs(value) <= 1e300 else None


def muting_silence(silenced_by: Sequence[str], silences: Mapping[str, Silence]) -> Silence | None:
    """The active silence that mutes longest among those Alertmanager names, if we know it."""
    active = [s for sid in silenced_by if (s := silences.get(sid)) and s.state == "active"]
    return max(active, key=lambda s: (s.ends_ts, s.id), default=None)


def map_alert(
    raw: AmAlert,
    silences: Mapping[str, Silence],
    server_now: float,
    service_label: str = "service",
) -> Alert:
    """Alertmanager's alert as the console's: id = fingerprint, acked = muted by a silence.

    Listed means firing (active, suppressed or unprocessed) unless its `endsAt` has passed on
    the server's clock; an alert that leaves the list is resolved by the client.
    """
    labels, notes = raw.labels, raw.annotations
    ends = epoch(raw.ends_at, default=math.inf) if raw.ends_at is not None else math.inf
    muter = muting_silence(raw.status.silenced_by, silences)
    return Alert(
        id=raw.fingerprint,
        service=service_of(labels, service_label),
        rule=labels.get("alertname", "") or NO_SERVICE,
        severity=severity_of(labels),
        state="resolved" if 0.0 < ends <= server_now else "firing",
        since_ts=epoch(raw.starts_at),
        value=_number(notes.get("value")),
        threshold=_number(notes.get("threshold")),
        summary=notes.get("summary") or notes.get("description") or "",
        acked_by=None if muter is None else (muter.created_by or "?"),
        acked_ts=None if muter is None else muter.starts_ts,
        labels=dict(labels),
        annotations=dict(notes),
        silenced_by=tuple(raw.status.silenced_by),
        inhibited_by=tuple(raw.status.inhibited_by),
    )


# ---------------------------------------------------------------- matchers


def matchers_for(alert: Alert) -> tuple[Matcher, ...]:
    """Every label of the alert as an exact equality matcher: this alert and no other."""
    return tuple(Matcher(name=k, value=v) for k, v in sorted(alert.labels.items()))


def matches_empty(matcher: Matcher) -> bool | None:
    """Whether the matcher matches a missing label (the empty string); None: invalid regex.

    Alertmanager anchors regexes (`^(?:re)$`) and uses RE2; Python's `re` agrees on the
    common syntax, and an expression it cannot compile is refused rather than guessed.
    """
    if matcher.is_regex:
        try:
            hit = re.fullmatch(f"(?:{matcher.value})", "") is not None
        except re.error:
            return None
    else:
        hit = matcher.value == ""
    return hit if matcher.is_equal else not hit


def _spell(m: Matcher) -> str:
    op = ("=~" if m.is_regex else "=") if m.is_equal else ("!~" if m.is_regex else "!=")
    return f"{m.name}{op}{json.dumps(m.value)}"


def validate_matchers(matchers: Sequence[Matcher]) -> str | None:
    """Why this matcher set may not become a silence, in plain words; None when it may.

    Alertmanager refuses a silence whose every matcher matches the empty string, because
    such a silence would mute every alert; we refuse it here, before anything is sent.
    """
    if not matchers:
        return "a silence needs at least one matcher (it would mute every alert)"
    for m in matchers:
        if not _LABEL_NAME.match(m.name):
            return f"{m.name!r} is not a valid label name"
    verdicts = [matches_empty(m) for m in matchers]
    for m, verdict in zip(matchers, verdicts, strict=True):
        if verdict is None:
            return f"the regex in {_spell(m)} is not valid"
    if all(verdicts):
        spelled = ", ".join(_spell(m) for m in matchers)
        return (
            f"every matcher ({spelled}) also matches alerts without that label, so the "
            "silence would mute every alert; add a matcher with a value that must be present"
        )
    return None


# ---------------------------------------------------------------- silences we make


@dataclass(frozen=True)
class Refusal:
    """A silence we will not send, and why (`rule` names the check)."""

    rule: str
    message: str


def structured_comment(kind: str, comment: str, intent_key: str) -> str:
    """`opsconsole ack: <comment> [intent <key>]`: people read it, we find the intent in it."""
    text = " ".join(comment.split())
    body = f"{COMMENT_PREFIX} {kind}: {text}" if text else f"{COMMENT_PREFIX} {kind}"
    return f"{body} [intent {intent_key}]"


def intent_of(comment: str) -> str | None:
    """The intent key a silence made by opsconsole carries, or None."""
    found = _INTENT.search(comment)
    return found.group(1) if found else None


def silence_body(
    matchers: Sequence[Matcher],
    *,
    by: str,
    comment: str,
    intent_key: str,
    duration_s: float,
    server_now: float,
    kind: str = "silence",
) -> PostableSilence | Refusal:
    """The POST body muting what `matchers` select from `server_now` for `duration_s`."""
    if not math.isfinite(duration_s) or duration_s <= 0:
        return Refusal("duration-valid", "a silence must last a positive time")
    if not intent_key or any(c.isspace() or c == "]" for c in intent_key):
        return Refusal("intent-key", f"unusable intent key {intent_key!r}")
    if (reason := validate_matchers(matchers)) is not None:
        return Refusal("matchers-safe", reason)
    return PostableSilence(
        matchers=tuple(AmMatcher(m.name, m.value, m.is_regex, m.is_equal) for m in matchers),
        starts_at=rfc3339(server_now),
        ends_at=rfc3339(server_now + duration_s),
        created_by=by,
        comment=structured_comment(kind, comment, intent_key),
    )


def silence_for(
    alert: Alert,
    *,
    by: str,
    comment: str,
    intent_key: str,
    duration_s: float,
    server_now: float,
    kind: str = "silence",
) -> PostableSilence | Refusal:
    """The POST body that mutes exactly this alert (all its labels, equal)."""
    if not alert.labels:
        return Refusal("matchers-safe", f"alert {alert.id} has no labels to match a silence on")
    return silence_body(
        matchers_for(alert),
        by=by,
        comment=comment,
        intent_key=intent_key,
        duration_s=duration_s,
        server_now=server_now,
        kind=kind,
    )


def ack_silence(
    alert: Alert,
    by: str,
    comment: str,
    intent_key: str,
    duration_s: float = DEFAULT_ACK_S,
    server_now: float = 0.0,
) -> PostableSilence | Refusal:
    """An acknowledgement is a silence of the alert (1 h by default) made by the operator."""
    return silence_for(
        alert,
        by=by,
        comment=comment,
        intent_key=intent_key,
        duration_s=duration_s,
        server_now=server_now,
        kind="ack",
    )


def encode_silence(body: PostableSilence) -> bytes:
    return msgspec.json.encode(body)


# ---------------------------------------------------------------- errors in plain words


class _ErrorObject(msgspec.Struct, frozen=True):
    message: str = ""
    error: str = ""


def error_message(body: bytes) -> str:
    """Alertmanager's own words from an error answer: a JSON string, or `{"message": …}`."""
    if not body:
        return ""
    try:
        decoded = msgspec.json.decode(body, type=str | _ErrorObject)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError, ValueError):
        text = body[:300].decode("utf-8", "replace").strip()
        return text if text.isprintable() else ""
    if isinstance(decoded, str):
        return decoded.strip()[:300]
    return (decoded.message or decoded.error).strip()[:300]


def not_found(status: int, message: str) -> bool:
    """404, or Alertmanager 0.25's 500 "silence not found" (its spec promises a 404)."""
    return status == 404 or "not found" in message.casefold()


def plain_error(status: int, message: str, silence_id: str | None = None) -> str:
    """An error answer in words for the operator (the HTTP code is added by the caller)."""
    said = f": {message}" if message else ""
    if not_found(status, message):
        return (
            f"silence {silence_id} was not found on Alertmanager"
            if silence_id
            else f"Alertmanager does not know that{said}"
        )
    if status == 400 or status == 422:
        return f"Alertmanager refused the request{said}"
    if status == 401:
        return "Alertmanager refused our credentials"
    if status == 403:
        return "these credentials may not do that on Alertmanager"
    if status in (502, 504):
        return "a proxy could not get an answer from Alertmanager"
    if status == 503:
        return "Alertmanager is unavailable right now"
    if status >= 500:
        return f"Alertmanager failed internally{said}"
    return f"Alertmanager answered with an error{said}"

"""Alert rows: each alert's words, sort order, tooltip and links, and what they add up to."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from opsconsole.core.alertsummary import Breach, UnknownAlerts, is_muted
from opsconsole.core.clocktext import clock_text
from opsconsole.core.health import Health
from opsconsole.core.models import Alert, Service, Silence
from opsconsole.core.words import NO_DATA, age_text, rough_age_text

Key = tuple[str, str]  # (backend, alert id)

# Sort order of the brief: firing before resolved, then page, ticket, info.
SEVERITY_RANK: dict[str, int] = {"page": 0, "ticket": 1, "info": 2}


def state_word(alert: Alert) -> str:
    if alert.state != "firing":
        return "RESOLVED"
    if alert.silenced_by:
        return "SILENCED"
    if alert.inhibited_by:
        return "INHIBITED"
    return "FIRING"


def alert_health(alert: Alert) -> Health:
    """The state colour: page red, ticket amber; info, muted and resolved grey (with the word)."""
    if alert.state != "firing" or is_muted(alert):
        return Health.UNKNOWN
    if alert.severity == "page":
        return Health.CRITICAL
    if alert.severity == "ticket":
        return Health.WARNING
    return Health.UNKNOWN


# ------------------------------------------------------------------ words


def _pct(ratio: float) -> str:
    """3.4 %, 1 %, 0.25 %: as many decimals as the number needs, at most two."""
    value = ratio * 100
    text = f"{value:.2f}" if abs(value) < 1 else f"{value:.1f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _compare(value: float, threshold: float) -> str:
    # A resolved alert carries its value at resolution, under the limit: say so truthfully.
    return ">" if value > threshold else "≤"


def _is_memory(alert: Alert, service: Service | None) -> bool:
    """A saturation alert is about CPU or memory; the wire does not say which, so infer it."""
    if service is not None and alert.threshold is not None:
        t = service.thresholds
        if math.isclose(alert.threshold, t.memory) and not math.isclose(t.memory, t.cpu):
            return True
        if math.isclose(alert.threshold, t.cpu):
            return False
    summary = alert.summary.casefold()
    return "memory" in summary and "cpu" not in summary


# The error-budget alert rules (the domain's two) and the window each error ratio is over.
BUDGET_RULE_WINDOWS: dict[str, str] = {
    "error_budget_burn": "1 h",
    "error_budget_exhaustion": "6 h",
}


def format_value(alert: Alert, service: Service | None = None) -> str:
    """Value against threshold in the rule's units: "p99 612 ms > 500 ms", "+62 % vs baseline"."""
    value, threshold = alert.value, alert.threshold
    rule = alert.rule
    if rule == "traffic":
        if value is None:
            return f"traffic {NO_DATA} vs baseline"
        sign = "+" if value >= 0 else "−"
        return f"{sign}{abs(value) * 100:.0f} % vs baseline"
    if rule == "latency":
        label, fmt = "p99", lambda v: f"{v:.0f} ms"
    elif rule == "errors":
        label, fmt = "errors", lambda v: f"{_pct(v)} %"
    elif rule in BUDGET_RULE_WINDOWS:
        # The error-budget rules judge an error ratio over their own window.
        label, fmt = f"errors {BUDGET_RULE_WINDOWS[rule]}", lambda v: f"{_pct(v)} %"
    elif rule == "saturation":
        label = "memory" if _is_memory(alert, service) else "CPU"
        fmt = lambda v: f"{v * 100:.0f} %"  # noqa: E731 - one of four formatters
    else:
        # A rule of another system (Alertmanager): its units are unknown, and its name has
        # its own column, so the bare value against the threshold, to 3 significant digits.
        label, fmt = "value", lambda v: f"{v:.3g}"
    if value is None:
        limit = "" if threshold is None else f" (limit {fmt(threshold)})"
        return f"{label} {NO_DATA}{limit}"
    if threshold is None:
        return f"{label} {fmt(value)}"
    return f"{label} {fmt(value)} {_compare(value, threshold)} {fmt(threshold)}"


def format_hm(ts: float) -> str:
    """ "14:05": the local time of day to the minute (a silence's end)."""
    return time.strftime("%H:%M", time.localtime(ts))


def _muting(alert: Alert, silences: Mapping[str, Silence]) -> list[Silence]:
    return [s for sid in alert.silenced_by if (s := silences.get(sid)) is not None]


def _silenced_text(alert: Alert, silences: Mapping[str, Silence]) -> str:
    """ "by alice until 14:05" from the silence that mutes longest (local time, as elsewhere)."""
    known = _muting(alert, silences)
    if not known:
        return "silenced"
    longest = max(known, key=lambda s: (s.ends_ts, s.id))
    return f"by {longest.created_by or '?'} until {format_hm(longest.ends_ts)}"


def _tooltip(backend: str, alert: Alert, silences: Mapping[str, Silence], stale: bool) -> str:
    lines = [
        alert.summary or alert.rule,
        f"alert {alert.id} on {backend}",
        f"fired {clock_text(alert.since_ts)}",
    ]
    for sid in alert.silenced_by:
        s = silences.get(sid)
        if s is None:
            lines.append(f"silenced by {sid}")
            continue
        until = time.strftime("%H:%M UTC", time.gmtime(s.ends_ts))
        lines.append(
            f"silenced by {s.created_by or '?'} until {format_hm(s.ends_ts)} ({until})"
            + (f": {s.comment}" if s.comment else "")
            + f" [silence {sid}]"
        )
    if alert.inhibited_by:
        lines.append("inhibited by " + ", ".join(alert.inhibited_by))
    if alert.acked_by and not alert.silenced_by:
        lines.append(f"acknowledged by {alert.acked_by}")
    elif not alert.acked_by:
        lines.append("not acknowledged")
    if alert.labels:
        lines.append("labels: " + ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items())))
    for k, v in sorted(alert.annotations.items()):
        lines.append(f"{k}: {v}")
    if stale:
        lines.append("(last known: the backend is STALE)")
    return "\n".join(lines)


# ------------------------------------------------------------------ rows


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    tooltip: str
    widest: str = ""  # the widest text the column can show, for its width


# One meaning for every row, resolved ones included: how long ago it started firing.
AGE_TOOLTIP = (
    "Time since the alert started firing (its start time on the backend's clock), for "
    "resolved alerts too; the row's tooltip gives the clock time it fired"
)
BACKEND_COLUMN = Column("backend", "Backend", "Which backend reports this alert")
COLUMNS: tuple[Column, ...] = (
    Column(
        "state",
        "State",
        "FIRING: the rule's condition holds now · SILENCED / INHIBITED: firing, nobody is "
        "notified · RESOLVED: it ended",
        "INHIBITED",
    ),
    Column("severity", "Severity", "page: wake someone · ticket: next working day", "ticket"),
    Column("service", "Service", "The service the rule watches", "notifications"),
    Column("rule", "Rule", "Which alert rule fired", "saturation"),
    Column(
        "value",
        "Value",
        "The value that fired it, against the rule's threshold",
        "p99 8888 ms > 888 ms",
    ),
    Column("age", "Age", AGE_TOOLTIP, "88 min 88 s"),
    Column(
        "acked",
        "Acked by",
        "Who acknowledged it, and when; for a silenced alert who silenced it, and until when",
        "by operator until 88:88",
    ),
    Column("summary", "Summary", "What the backend says about it"),
)


@dataclass(frozen=True)
class RowView:
    """Everything one row shows, computed in refresh; the model only reads it."""

    backend: str
    alert_id: str
    texts: dict[str, str]
    health: Health
    firing: bool
    stale: bool
    tooltip: str
    sort_key: tuple[int, int, float, str, str]
    muted: bool = False  # silenced or inhibited: firing, but drawn grey

    @property
    def key(self) -> Key:
        return (self.backend, self.alert_id)

    @property
    def filter_text(self) -> str:
        """What "/" searches: the words of the row and its key."""
        t = self.texts
        words = ("state", "severity", "service", "rule", "summary", "acked")
        return " ".join([*(t[w] for w in words), *self.key])


def build_row(
    backend: str,
    alert: Alert,
    service: Service | None,
    server_now: float,
    stale: bool,
    silences: Mapping[str, Silence] | None = None,
) -> RowView:
    silences = silences or {}
    firing = alert.state == "firing"
    muted = firing and is_muted(alert)
    age = age_text(server_now - alert.since_ts, precise=False)
    if firing and alert.silenced_by:
        acked = _silenced_text(alert, silences)
    elif not alert.acked_by:
        acked = NO_DATA
    elif alert.acked_ts is None:
        acked = alert.acked_by
    elif firing:
        acked = f"{alert.acked_by} {rough_age_text(server_now - alert.acked_ts)} ago"
    else:
        acked = f"{alert.acked_by} at {clock_text(alert.acked_ts)}"
    texts = {
        "backend": backend,
        "state": state_word(alert),
        "severity": alert.severity,
        "service": alert.service,
        "rule": alert.rule,
        "value": format_value(alert, service),
        "age": age,
        "acked": acked,
        "summary": alert.summary or NO_DATA,
    }
    return RowView(
        backend=backend,
        alert_id=alert.id,
        texts=texts,
        health=alert_health(alert),
        firing=firing,
        stale=stale,
        tooltip=_tooltip(backend, alert, silences, stale),
        muted=muted,
        sort_key=(
            # Firing and notifying first; muted ones are being handled; resolved last.
            (1 if muted else 0) if firing else 2,
            SEVERITY_RANK.get(alert.severity, len(SEVERITY_RANK)),
            # Newest first within a severity: a fresh page is the news; older ones are known.
            -alert.since_ts,
            alert.id,
            backend,
        ),
    )


# ------------------------------------------------------------------ the headline


@dataclass
class Counts:
    """Alerts by what they mean to the operator: loud (by severity), muted, resolved."""

    firing: dict[str, int] = field(default_factory=lambda: {"page": 0, "ticket": 0, "info": 0})
    muted: int = 0
    resolved: int = 0

    def add(self, alert: Alert) -> None:
        if alert.state != "firing":
            self.resolved += 1
        elif is_muted(alert):
            self.muted += 1  # nobody is paged for it: not counted as firing
        else:
            self.firing[alert.severity] = self.firing.get(alert.severity, 0) + 1

    @property
    def loud(self) -> int:
        return sum(self.firing.values())


@dataclass(frozen=True)
class HeadlinePart:
    """One phrase of the headline: its words, its tone (a state level; None: dim), bold."""

    text: str
    tone: Health | None
    bold: bool = False


@dataclass(frozen=True)
class HeadlineWords:
    """The line over the table as phrases (drawn in their tones), plain words and a tooltip."""

    parts: tuple[HeadlinePart, ...]
    tooltip: str = ""

    @property
    def plain(self) -> str:
        return " · ".join(p.text for p in self.parts)


def _unknown_words(source: UnknownAlerts) -> str:
    """ "sim STALE, data 12 s old" or "sim CONNECTING, no data yet"."""
    link = source.link.value.upper()
    if source.data_age_s is None:
        return f"{source.backend} {link}, no data yet"
    return f"{source.backend} {link}, data {age_text(source.data_age_s, precise=False)} old"


def _breach_words(breaches: Sequence[Breach]) -> str:
    n = len(breaches)
    return f"{n} service{'s' if n != 1 else ''} breaching, no alert yet"


def headline_words(
    counts: Counts, unknown: Sequence[UnknownAlerts], breaches: Sequence[Breach]
) -> HeadlineWords:
    """What the alerts add up to, never a green "No alert firing" unless that is known.

    Firing pages lead; a backend whose link is not LIVE makes the alerts unknown (with the
    age of what is known); services over a limit whose rule's `for` has not elapsed yet are
    said before any alert fires for them.
    """
    grey = Health.UNKNOWN
    unknown_text = "; ".join(_unknown_words(u) for u in unknown)
    parts: list[HeadlinePart] = []

    def part(text: str, tone: Health | None, bold: bool = False) -> None:
        parts.append(HeadlinePart(text, tone, bold))

    breach_said = False
    if counts.loud:
        severities = ", ".join(f"{n} {sev}" for sev, n in counts.firing.items() if n)
        tone = Health.CRITICAL if counts.firing.get("page") else Health.WARNING
        part(f"{counts.loud} FIRING ({severities})", tone, bold=True)
    elif unknown:
        # The last known list may be empty or quiet: that proves nothing while stale.
        part(f"Alerts unknown — {unknown_text}", grey, bold=True)
    elif breaches:
        part(_breach_words(breaches), Health.WARNING, bold=True)
        breach_said = True
    elif counts.muted:
        # Still firing, only muted: "no alert firing" in green would be a lie.
        part("Nothing firing unmuted", grey, bold=True)
    else:
        part("No alert firing", Health.HEALTHY, bold=True)
    if breaches and not breach_said:
        part(_breach_words(breaches), Health.WARNING, bold=True)
    if counts.muted:
        part(f"{counts.muted} silenced/inhibited", None)
    if counts.resolved:
        part(f"{counts.resolved} resolved", None)
    if unknown and counts.loud:
        part(f"alerts unknown — {unknown_text}", grey, bold=True)
    tooltip = "\n".join(
        [f"{b.service} on {b.backend}: {b.reason}" for b in breaches]
        + ([f"alerts unknown: {unknown_text}"] if unknown else [])
    )
    return HeadlineWords(tuple(parts), tooltip)


# ------------------------------------------------------------------ links


LINK_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Runbook", ("runbook",)),
    ("Dashboard", ("dashboard", "grafana")),
)


def web_url(text: str) -> str | None:
    """The text as an http(s) URL with a host, or None: nothing else is ever opened."""
    text = text.strip()
    if not text or any(c.isspace() for c in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return text


def alert_links(alert: Alert) -> tuple[tuple[str, str], ...]:
    """(label, url) of the alert's runbook and dashboard annotations, runbook first."""
    found: list[tuple[str, str]] = []
    for label, words in LINK_KINDS:
        for key, value in sorted(alert.annotations.items()):
            url = web_url(value)
            if url is None or not any(w in key.casefold() for w in words):
                continue
            if all(url != seen for _, seen in found):
                found.append((label, url))
    return tuple(found)

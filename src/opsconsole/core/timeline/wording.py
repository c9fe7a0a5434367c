"""The sentences timeline entries say, in the words an operator reads them."""

from __future__ import annotations

import re
from datetime import tzinfo

from opsconsole.core.clocktext import span_text
from opsconsole.core.flapping import FlapRun
from opsconsole.core.models import Alert, Circuit, DbCluster, DbMember

# The client's words for link changes ("Lost the link to …", "Link to … restored",
# "Resynchronised …", "Backend … restarted"); they arrive as "info" events and belong to kind
# "connection".
_LINK_MESSAGE = re.compile(
    r"^(Lost the link to |Link to .* restored|Resynchronised\b|Backend .* restarted\b)"
)


def is_link_message(message: str) -> bool:
    """True for the client's own words about the link (lost, restored, resynced, restarted)."""
    return _LINK_MESSAGE.match(message) is not None


def state_word(state: str) -> str:
    """Circuit states as words: half_open → half-open, forced_open → forced open."""
    return state.replace("forced_", "forced ").replace("_", "-")


def breaker_change_text(old: str, circuit: Circuit) -> str:
    """ "inventory-service closed → open after 5 failures"."""
    text = f"{circuit.name} {state_word(old)} → {state_word(circuit.state)}"
    if circuit.state == "open" and circuit.failure_count > 0:
        text += f" after {circuit.failure_count} failures"
    elif circuit.state == "forced_open":
        text += " (forced by an operator)"
    return text


def flapping_text(name: str, run: FlapRun, tz: tzinfo | None) -> str:
    """ "inventory-service flapping open ↔ half-open ×7 (12:01:10–12:03:40)"."""
    span = span_text(run.start_ts, run.last_ts, tz)
    return (
        f"{name} flapping {state_word(run.first)} ↔ {state_word(run.second)} ×{run.count} ({span})"
    )


def cluster_restart_text(cluster: DbCluster, timeline: int) -> str:
    """A cluster whose timeline went down: its state now, never a promotion."""
    text = f"{cluster.name}: state after a restart: {cluster.primary or 'no'} primary, "
    text += f"timeline {timeline}"
    if cluster.state != "healthy":
        text += f", {cluster.state}"
    return text


def cluster_state_text(old_state: str, cluster: DbCluster, failing: DbMember | None) -> str:
    """ "orders-db healthy → failed (primary primary-db failed 3 checks)"; `failing` is the
    member that was primary before the change."""
    text = f"{cluster.name} {old_state} → {cluster.state}"
    if cluster.state == "failed" and failing and failing.consecutive_failures:
        text += f" (primary {failing.name} failed {failing.consecutive_failures} checks)"
    elif cluster.state == "degraded" and cluster.message:
        text += f": {cluster.message}"
    return text


def read_only_text(name: str, read_only: bool) -> str:
    return f"{name} read-only {'ON' if read_only else 'OFF'}"


def promotion_text(
    name: str, old_primary: str | None, new_primary: str | None, timeline: int | None
) -> str:
    """ "orders-db: replica-1 promoted to primary (timeline 2, was primary-db)"."""
    if new_primary is None:
        return f"{name}: no primary (was {old_primary})"
    text = f"{name}: {new_primary} promoted to primary"
    parts = [f"timeline {timeline}"] if timeline is not None else []
    if old_primary:
        parts.append(f"was {old_primary}")
    if parts:
        text += f" ({', '.join(parts)})"
    return text


def _alert_label(alert: Alert) -> str:
    return f"{alert.severity} {alert.service} {alert.rule}"


def alert_fired_text(alert: Alert) -> str:
    """ "ALERT critical orders latency: p99 612 ms > 500 ms"."""
    return f"ALERT {_alert_label(alert)}: {_alert_detail(alert, True)}"


def alert_resolved_text(alert: Alert) -> str:
    detail = _alert_detail(alert, False)
    return f"RESOLVED {_alert_label(alert)}" + (f": {detail}" if detail else "")


def alert_acked_text(alert: Alert) -> str:
    return f"ACKED {_alert_label(alert)} by {alert.acked_by}"


def action_text(command_id: str, target: str | None, outcome: str, message: str) -> str:
    """ "db.failover orders-db: succeeded — replica-2 is primary, timeline 2"."""
    what = f"{command_id} {target}" if target else command_id
    return f"{what}: {outcome}" + (f" — {message}" if message else "")


def auth_failed_text(backend: str, detail: str | None) -> str:
    return f"Authentication to {backend} failed" + (f": {detail}" if detail else "")


def _pct(x: float) -> str:
    return f"{x * 100:.1f} %" if abs(x) < 0.1 else f"{x * 100:.0f} %"


def _alert_detail(alert: Alert, with_threshold: bool) -> str:
    """ "p99 612 ms > 500 ms" for the known rules; the summary for anything else."""
    v, t = alert.value, alert.threshold
    if v is None:
        return alert.summary if with_threshold else ""
    if alert.rule == "latency":
        now, limit = f"p99 {v:.0f} ms", f"{t:.0f} ms" if t is not None else None
    elif alert.rule == "errors":
        now, limit = f"errors {_pct(v)}", _pct(t) if t is not None else None
    elif alert.rule == "saturation":
        now, limit = f"saturation {_pct(v)}", _pct(t) if t is not None else None
    elif alert.rule == "traffic":
        now = f"traffic {v * 100:+.0f} % vs baseline"
        limit = f"±{t * 100:.0f} %" if t is not None else None
    else:
        return alert.summary if with_threshold and alert.summary else f"{alert.rule} {v:g}"
    if with_threshold and limit is not None:
        sign = "outside" if alert.rule == "traffic" else ">"
        return f"{now} {sign} {limit}"
    return now

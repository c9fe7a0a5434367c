"""The checks on what a service relies on: dependencies, its database, alerts."""

from __future__ import annotations

import numpy as np

from opsconsole.core.eligibility import DEFAULT_LAG_LIMIT, human_bytes
from opsconsole.core.investigate.finding import Evidence, Finding, Verdict
from opsconsole.core.investigate.inputs import Inputs, cannot_look, clock_text, no_source
from opsconsole.core.investigate.signals import run_start

TROUBLED_BREAKERS = ("open", "half_open", "forced_open")
ROLE_CHANGE_S = 7200.0
SLOW_DEPENDENCY_MS = 1000.0  # the triage list's slow dependency: p99 above 1 s


def possessive(name: str) -> str:
    """orders' / inventory's."""
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def trouble_start(
    inputs: Inputs, service: str, slow_ms: float | None = None
) -> tuple[float, str] | None:
    """When `service`'s errors or p99 went above its thresholds (p99 above `slow_ms` when
    given) in their newest run, and which of them: the earlier one."""
    state = inputs.state
    series = state.series.get(service)
    record = state.services.get(service)
    if series is None or len(series) == 0 or record is None:
        return None
    limits = (
        ("error_ratio", record.thresholds.error_ratio, "errors rose"),
        ("latency_p99_ms", slow_ms or record.thresholds.latency_p99_ms, "p99 rose"),
    )
    found: list[tuple[float, str]] = []
    for field, limit, words in limits:
        values = np.asarray(series.values(field))
        began = run_start(series.times(), values, lambda v, lim=limit: v > lim)
        if began is not None:
            found.append((began, words))
    return min(found) if found else None


def dependencies(inputs: Inputs, now: float) -> Finding:
    """3: open breakers and failing dependencies, and whether their trouble came first."""
    check = "dependencies"
    blind = cannot_look(check, inputs)
    if blind:
        return blind
    record = inputs.service_record
    if record is None or not record.depends_on:
        return no_source(check, inputs, f"{inputs.service} names no dependencies")
    state = inputs.state
    own = trouble_start(inputs, inputs.service)
    troubles: list[tuple[float, str]] = []
    values: dict[str, float | str] = {}
    for dep in record.depends_on:
        circuit = state.circuits.get(dep)
        if circuit is not None:
            values[f"{dep} breaker"] = circuit.state
            if circuit.state in TROUBLED_BREAKERS:
                at = circuit.last_transition_ts if circuit.last_transition_ts else now
                words = circuit.state.replace("_", "-")
                troubles.append((at, f"{dep} breaker {words} at {clock_text(at)}"))
        if dep in state.services:
            trouble = trouble_start(inputs, dep, SLOW_DEPENDENCY_MS)
            if trouble is not None:
                began, words = trouble
                troubles.append((began, f"{dep} {words} at {clock_text(began)}"))
                values[f"{dep} trouble since"] = clock_text(began)  # a time, read as one
    if not troubles:
        return Finding(
            check, inputs.service, Verdict.OK, "dependencies healthy", Evidence(values=values)
        )
    troubles.sort()
    first_at, first_words = troubles[0]
    whose = possessive(inputs.service)
    if own is None:
        tail = f"; {whose} errors and p99 are within their thresholds"
    elif abs(first_at - own[0]) < 1.0:
        tail = f", as {whose} {own[1]}"
    elif first_at <= own[0]:
        tail = f", {own[0] - first_at:.0f} s before {whose} {own[1]}"
    else:
        tail = f", {first_at - own[0]:.0f} s after {whose} {own[1]}"
    rest = "; ".join(w for _t, w in troubles[1:])
    sentence = first_words + tail + (f"; also {rest}" if rest else "")
    if own is not None:
        values[f"{inputs.service} trouble since"] = clock_text(own[0])
    return Finding(
        check,
        inputs.service,
        Verdict.INTERESTING,
        sentence,
        Evidence(values=values, time_range=(first_at, now)),
        first_at,
    )


def database(inputs: Inputs, now: float) -> Finding:
    """4: the clusters the service depends on: state, replication lag, role change, read-only."""
    check = "database"
    blind = cannot_look(check, inputs)
    if blind:
        return blind
    record = inputs.service_record
    state = inputs.state
    names = [d for d in (record.depends_on if record else ()) if d in state.clusters]
    if not names:
        return no_source(check, inputs, f"{inputs.service} depends on no database cluster")
    problems: list[str] = []
    values: dict[str, float | str] = {}
    thresholds: dict[str, float] = {}
    entry_ids: list[int] = []
    started: float | None = None
    for name in names:
        cluster = state.clusters[name]
        values[f"{name} state"] = cluster.state
        values[f"{name} primary"] = cluster.primary or "none"
        if cluster.state != "healthy":
            problems.append(f"{name} is {cluster.state}")
        if cluster.read_only:
            problems.append(f"{name} is read-only")
        if cluster.paused:
            problems.append(f"{name} is in maintenance mode (no automatic failover)")
        limit = cluster.max_lag_bytes if cluster.max_lag_bytes is not None else DEFAULT_LAG_LIMIT
        thresholds["lag bytes"] = limit
        for member in cluster.members:
            if member.role == "replica" and not member.lag_known:
                values[f"{member.name} lag bytes"] = "unknown"
                problems.append(f"{member.name}'s lag is unknown")
                continue
            values[f"{member.name} lag bytes"] = member.lag_bytes
            if member.role == "replica" and member.lag_bytes > limit:
                problems.append(
                    f"{member.name} lags {human_bytes(member.lag_bytes)} > "
                    f"{human_bytes(limit)} limit"
                )
    thresholds.setdefault("lag bytes", DEFAULT_LAG_LIMIT)
    # Role changes: the timeline's failover lines (with their ids), then the store's failover
    # events the timeline does not hold (a console without a timeline still sees them).
    changes: dict[tuple[float, str], int | None] = {}
    for entry in inputs.timeline:
        if entry.kind == "failover" and now - ROLE_CHANGE_S <= entry.ts <= now:
            changes[(entry.ts, entry.message)] = entry.id
    for backend, event in inputs.store.events:
        recent = now - ROLE_CHANGE_S <= event.ts <= now
        if backend == inputs.backend and event.kind == "failover" and recent:
            changes.setdefault((event.ts, event.message), None)
    for (ts, message), entry_id in sorted(changes.items()):
        problems.append(f"role change at {clock_text(ts)}: {message}")
        if entry_id:
            entry_ids.append(entry_id)
        started = ts if started is None else min(started, ts)
    evidence = Evidence(values=values, thresholds=thresholds, entry_ids=tuple(entry_ids))
    if not problems:
        return Finding(check, inputs.service, Verdict.OK, "database healthy", evidence)
    return Finding(
        check, inputs.service, Verdict.INTERESTING, "; ".join(problems), evidence, started
    )


def alerts(inputs: Inputs, now: float) -> Finding:
    """6: alerts firing or silenced for the service and its dependencies."""
    check = "alerts"
    blind = cannot_look(check, inputs)
    if blind:
        return blind
    record = inputs.service_record
    wanted = {inputs.service, *(record.depends_on if record else ())}
    found = [a for a in inputs.state.alerts.values() if a.service in wanted and a.state == "firing"]
    found.sort(key=lambda a: a.since_ts)
    values: dict[str, float | str] = {a.id: a.rule for a in found}
    if not found:
        return Finding(
            check, inputs.service, Verdict.OK, "no alerts firing", Evidence(values=values)
        )
    parts = []
    for a in found:
        muted = " (silenced)" if a.silenced_by else ""
        parts.append(f"{a.rule} on {a.service} since {clock_text(a.since_ts)}{muted}")
    return Finding(
        check,
        inputs.service,
        Verdict.INTERESTING,
        "firing: " + "; ".join(parts),
        Evidence(values=values, time_range=(found[0].since_ts, now)),
        found[0].since_ts,
    )

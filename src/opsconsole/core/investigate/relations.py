"""The checks on what a service relies on: dependencies, its database, alerts."""

from __future__ import annotations

import numpy as np

from opsconsole.core.investigate.finding import Evidence, Finding, Verdict
from opsconsole.core.investigate.inputs import Inputs, cannot_look, clock_text, no_source
from opsconsole.core.investigate.signals import run_start

TROUBLED_BREAKERS = ("open", "half_open", "forced_open")
ROLE_CHANGE_S = 7200.0


def error_rise(inputs: Inputs, service: str) -> float | None:
    """When `service`'s error ratio went above its threshold in its newest run, if it is."""
    state = inputs.state
    series = state.series.get(service)
    record = state.services.get(service)
    if series is None or len(series) == 0 or record is None:
        return None
    limit = record.thresholds.error_ratio
    values = np.asarray(series.values("error_ratio"))
    return run_start(series.times(), values, lambda v: v > limit)


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
    own = error_rise(inputs, inputs.service)
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
            began = error_rise(inputs, dep)
            if began is not None:
                troubles.append((began, f"{dep} errors rose at {clock_text(began)}"))
                values[f"{dep} errors since"] = began
    if not troubles:
        return Finding(
            check, inputs.service, Verdict.OK, "dependencies healthy", Evidence(values=values)
        )
    troubles.sort()
    first_at, first_words = troubles[0]
    if own is None:
        tail = f"; {inputs.service}' errors have not risen"
    elif first_at <= own:
        tail = f", {own - first_at:.0f} s before {inputs.service}' errors rose"
    else:
        tail = f", {first_at - own:.0f} s after {inputs.service}' errors rose"
    rest = "; ".join(w for _t, w in troubles[1:])
    sentence = first_words + tail + (f"; also {rest}" if rest else "")
    if own is not None:
        values[f"{inputs.service} errors since"] = own
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
        for member in cluster.members:
            values[f"{member.name} lag bytes"] = member.lag_bytes
        for entry in inputs.timeline:
            if entry.kind == "failover" and now - ROLE_CHANGE_S <= entry.ts <= now:
                problems.append(f"role change at {clock_text(entry.ts)}: {entry.message}")
                entry_ids.append(entry.id)
                started = entry.ts if started is None else min(started, entry.ts)
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

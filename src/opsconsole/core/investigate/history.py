"""The checks on what changed around the incident: recent changes and error-budget burn."""

from __future__ import annotations

from opsconsole.core.investigate.finding import Evidence, Finding, Verdict
from opsconsole.core.investigate.inputs import Inputs, cannot_look, clock_text, no_source
from opsconsole.core.slo.exhaustion import exhaustion, soonest
from opsconsole.core.slo.figure import span_text
from opsconsole.core.slo.tiers import evaluate_tiers, worst_firing

RECENT_S = 7200.0
CHANGE_KINDS = ("deploy", "action", "failover", "scenario", "connection")
STORE_CHANGE_KINDS = ("action", "failover", "scenario")
STALE_SLO_S = 10.0


def recent_changes(inputs: Inputs, now: float) -> Finding:
    """5: deploys, operator actions, failovers, scenario starts and restarts in the last 2 h."""
    check = "recent_changes"
    since = now - RECENT_S
    changes: list[tuple[float, str, int | None]] = []
    record = inputs.service_record
    related = {inputs.service, *(record.depends_on if record else ())}
    for d in inputs.state.deploys:
        if since <= d.ts <= now and d.service in related:
            changes.append((d.ts, f"deploy {d.service} {d.version} at {clock_text(d.ts)}", None))
    seen: set[tuple[str, float]] = set()
    for entry in inputs.timeline:
        if entry.kind in CHANGE_KINDS and since <= entry.ts <= now:
            if entry.kind == "connection" and "restarted" not in entry.message:
                continue
            changes.append((entry.ts, f"{entry.kind}: {entry.message}", entry.id))
            seen.add((entry.kind, round(entry.ts, 3)))
    # The store's own events, for a console without a timeline; each change once.
    for backend, event in inputs.store.events:
        if backend != inputs.backend or not since <= event.ts <= now:
            continue
        if event.kind in STORE_CHANGE_KINDS and (event.kind, round(event.ts, 3)) not in seen:
            changes.append((event.ts, f"{event.kind}: {event.message}", None))
    blind = cannot_look(check, inputs)
    if blind and not changes:
        return blind  # nothing seen may only mean nothing could be seen
    changes.sort(key=lambda c: c[0])
    evidence = Evidence(
        values={f"change {i + 1}": words for i, (_t, words, _id) in enumerate(changes)},
        time_range=(since, now),
        entry_ids=tuple(i for _t, _w, i in changes if i),
    )
    if not changes:
        return Finding(check, inputs.service, Verdict.OK, "no changes in the last 2 h", evidence)
    # Ranked by the newest change: a deploy an hour before a breaker that opened seconds
    # ago is listed, but it is not the likelier cause.
    words = "; ".join(w for _t, w, _i in changes[-3:])
    unseen = f" (backend {inputs.backend} not current: later changes unseen)" if blind else ""
    return Finding(
        check,
        inputs.service,
        Verdict.INTERESTING,
        f"{len(changes)} change(s) in the last 2 h: {words}{unseen}",
        evidence,
        changes[-1][0],
    )


def budget_burn(inputs: Inputs, now: float) -> Finding:
    """7: the error-budget burn tier that fires and when the budget runs out at this rate."""
    check = "budget_burn"
    blind = cannot_look(check, inputs)
    if blind:
        return blind
    obs = inputs.state.slos.get(inputs.service)
    if obs is None:
        return no_source(check, inputs, f"no SLO observed for {inputs.service}")
    tier = worst_firing(evaluate_tiers(obs))
    projection = soonest(exhaustion(obs))
    values: dict[str, float | str] = {"objective": obs.slo.objective}
    if projection is not None and projection.seconds is not None:
        values["exhaustion s"] = projection.seconds
    when = ""
    if projection is not None and projection.before_end:
        when = f"; budget runs out in {span_text(projection.seconds or 0.0)}"
    values["as of"] = clock_text(obs.as_of)
    # SLO counts are polled, not streamed: say how old they are when it matters.
    dated = f" (SLO figures as of {clock_text(obs.as_of)})" if now - obs.as_of > STALE_SLO_S else ""
    evidence = Evidence(values=values, time_range=(obs.as_of, obs.as_of))
    if tier is None and not when:
        return Finding(check, inputs.service, Verdict.OK, f"no burn tier firing{dated}", evidence)
    if tier is None:
        # No alerting tier yet, but at this rate the budget is gone before the window ends.
        return Finding(
            check,
            inputs.service,
            Verdict.INTERESTING,
            f"{inputs.service} burning its error budget: no tier fires yet{when}{dated}",
            evidence,
        )
    values["tier"] = tier.tier.name
    return Finding(
        check,
        inputs.service,
        Verdict.INTERESTING,
        f"{inputs.service} burning its error budget: {tier.tier.name} fires "
        f"({tier.figure.inputs}){when}{dated}",
        evidence,
    )

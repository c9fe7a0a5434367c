"""The SLO report's Markdown: a table per SLO with every figure's formula and inputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from opsconsole.app.slocollect import BackendSlos, Collected
from opsconsole.core.slo.budget import observed_budget
from opsconsole.core.slo.burn import DEFAULT_MIN_REQUESTS, burn_rates
from opsconsole.core.slo.exhaustion import exhaustion
from opsconsole.core.slo.figure import Figure, count_text, percent_text, span_text
from opsconsole.core.slo.model import Deploy, SloObservation
from opsconsole.core.slo.tiers import evaluate_tiers


def utc_text(ts: float) -> str:
    """ "2025-03-14 09:26 UTC": a report is read elsewhere, so never a local time."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row(name: str, figure: Figure) -> str:
    cells = (name, figure.text, figure.formula, figure.inputs)
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def last_deploy(deploys: Sequence[Deploy], service: str) -> Deploy | None:
    """The newest deploy of `service` (deploys are oldest first)."""
    return next((d for d in reversed(deploys) if d.service == service), None)


def slo_section(obs: SloObservation, backend: BackendSlos, image: str | None) -> list[str]:
    """The lines of one SLO's section: heading, burn-down image, the table."""
    slo = obs.slo
    status = observed_budget(obs)
    start, end = slo.window.bounds(obs.as_of)
    lines = [
        f"## {obs.service} — {percent_text(slo.objective, 3)} over {slo.window.words}",
        "",
        f"Backend `{backend.name}` ({backend.kind}), counted at {utc_text(obs.as_of)}; "
        f"window {utc_text(start)} to {utc_text(end)}; {slo.indicator}. "
        f"Budget = 1 − objective = {percent_text(slo.budget, 3)} of requests. "
        f"**{status.words}**.",
        "",
    ]
    if image is not None:
        lines += [f"![Budget burn-down of {obs.service}]({image})", ""]
    lines += ["| figure | value | formula | inputs |", "|---|---|---|---|"]
    objective = Figure(slo.objective, percent_text(slo.objective, 3), "objective", "")
    lines.append(_row("objective", objective))
    window = Figure(
        None,
        slo.window.words,
        "the calendar month: the budget is renewed at its end"
        if slo.window.days == 0
        else "rolling: always the last days of this length",
        f"{slo.window.length_s(obs.as_of) / 86_400:g} d",
    )
    lines.append(_row("window", window))
    lines.append(_row("allowed failures", status.allowed))
    lines.append(_row("remaining", status.remaining))
    lines.append(_row("failed requests still allowed", status.remaining_requests))
    lines.append(_row("full-outage minutes left", status.outage_minutes))
    for name, burn in burn_rates(obs).items():
        lines.append(_row(f"burn {name}", burn.figure))
    for verdict in evaluate_tiers(obs):
        lines.append(_row(f"tier {verdict.tier.name} ×{verdict.tier.factor:g}", verdict.figure))
    for projection in exhaustion(obs, budget=status):
        lines.append(_row(f"exhaustion at burn {projection.window}", projection.figure))
    deploy = last_deploy(backend.deploys, obs.service)
    if deploy is None:
        deployed = Figure(None, "none known", "newest deploy the backend reported", "")
    else:
        ago = span_text(max(0.0, obs.as_of - deploy.ts))
        deployed = Figure(
            deploy.ts,
            f"{deploy.version} at {utc_text(deploy.ts)} ({ago} before)",
            "newest deploy the backend reported",
            f"{deploy.prev_version or '?'} → {deploy.version}"
            + (f" by {deploy.by}" if deploy.by else ""),
        )
    lines.append(_row("last deploy", deployed))
    lines.append("")
    return lines


def report_markdown(
    collected: Collected, images: Mapping[tuple[str, str], str], made_at: float
) -> str:
    """The whole report; `images` maps (backend, service) to the PNG's file name."""
    lines = [
        "# Error budget report",
        "",
        f"Made {utc_text(made_at)} by `opsconsole slo report`. Counts are requests (good and "
        "total) per window, never averaged ratios; every figure names its formula and inputs.",
        "",
        "Formulas: budget = 1 − objective; remaining = 1 − failed ÷ (budget × requests); "
        "burn rate = (failed ÷ total in the window) ÷ budget; a tier fires when both its "
        "windows burn above its factor; time to exhaustion = remaining × window length ÷ burn "
        f"rate (1 h and 6 h). Windows with fewer than {count_text(DEFAULT_MIN_REQUESTS)} "
        'requests read "low traffic", not as a burn.',
        "",
    ]
    if collected.silent:
        lines += ["**Not in this report:**", ""]
        lines += [f"- `{name}`: {why}" for name, why in collected.silent]
        lines.append("")
    summary = ["| service | backend | objective | window | remaining |", "|---|---|---|---|---|"]
    for backend in collected.answered:
        for obs in backend.observations:
            status = observed_budget(obs)
            summary.append(
                f"| {obs.service} | {backend.name} | {percent_text(obs.slo.objective, 3)} | "
                f"{obs.slo.window.words} | {status.words} |"
            )
    lines += [*summary, ""]
    for backend in collected.answered:
        for problem in backend.problems:
            lines.append(f"- `{backend.name}`: {_cell(problem)}")
        if backend.problems:
            lines.append("")
        for obs in backend.observations:
            lines += slo_section(obs, backend, images.get((backend.name, obs.service)))
    return "\n".join(lines).rstrip() + "\n"

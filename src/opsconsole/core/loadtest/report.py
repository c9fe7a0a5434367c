"""A finished load test as Markdown: verdict, criteria, stop, budget spent, timeline, charts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import cast

from opsconsole.core.durations import age_text
from opsconsole.core.loadtest.result import LoadTestResult
from opsconsole.core.loadtest.spec import Signal, value_text

_VERDICT_WORDS = {
    "passed": "passed: every success criterion held",
    "failed": "failed: at least one success criterion was breached for its time",
    "stopped": "stopped: a stop condition held, and the test was stopped",
}
_CRITERION_WORDS = {
    "passed": "pass",
    "failed": "**FAILED**",
    "held": "**held: stopped the test**",
    "did not hold": "did not hold",
    "no data": "no data",
}


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _offset(ts: float, started: float) -> str:
    """A moment as time into the test: "+1 min 05 s"."""
    return "+" + age_text(ts - started, precise=False)


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def report_markdown(result: LoadTestResult, chart_names: Sequence[str] = ()) -> str:
    """The report; `chart_names` are image files written beside it (relative paths)."""
    lines = [
        f"# Load test {result.name!r}: {result.verdict}",
        "",
        f"**Verdict:** {_VERDICT_WORDS[result.verdict]} (exit code {result.exit_code}).",
        "",
        f"- Tool: {result.tool}",
        f"- Services under test: {', '.join(result.services)}",
        f"- From {_when(result.started)} to {_when(result.ended)} "
        f"({age_text(result.duration_s, precise=False)})",
        "",
        "## Criteria",
        "",
        "| Criterion | Verdict | Time in violation | Worst value |",
        "|---|---|---|---|",
    ]
    for c in result.criteria:
        worst = value_text(cast(Signal, c.signal), c.worst)
        violation = age_text(c.violation_s, precise=False) if c.violation_s > 0 else "none"
        verdict = _CRITERION_WORDS.get(c.verdict, c.verdict)
        lines.append(f"| {_cell(c.label)} | {verdict} | {violation} | {worst} |")
    lines.append("")

    lines += ["## Stop", ""]
    if result.stop is None:
        lines.append("Nothing stopped the test.")
    else:
        stop = result.stop
        lines.append(f"- Why: {stop.words}")
        lines.append(f"- When: {_when(stop.ts)} ({_offset(stop.ts, result.started)})")
        if stop.outcome:
            lines.append(f"- Outcome: {stop.outcome}")
    if result.guard_trips:
        lines += ["", "Guards that tripped:", ""]
        lines += [f"- {g.words}" for g in result.guard_trips]
    lines.append("")

    lines += ["## Error budget consumed during the test", ""]
    if not result.budget_consumed:
        lines.append("No SLO covers these services on this backend.")
    else:
        lines += ["| Service | Budget consumed |", "|---|---|"]
        for service, spent in result.budget_consumed.items():
            shown = "no SLO data" if spent is None else f"{spent * 100:.3g} % of the budget"
            lines.append(f"| {_cell(service)} | {shown} |")
    lines.append("")

    if result.warnings:
        lines += ["## Warnings", ""]
        lines += [f"- {w}" for w in result.warnings]
        lines.append("")

    lines += ["## Timeline", ""]
    if not result.transitions:
        lines.append("No criterion changed state.")
    else:
        labels = {c.key: c.label for c in result.criteria}
        lines += ["| When | What | From | To |", "|---|---|---|---|"]
        for t in result.transitions:
            what = _cell(labels.get(t.key, t.key))
            lines.append(f"| {_offset(t.ts, result.started)} | {what} | {t.old} | {t.new} |")
    lines.append("")

    if chart_names:
        lines += ["## Charts of the test window", ""]
        for name in chart_names:
            lines += [f"![{PurePosixPath(name).stem}]({name})", ""]
    return "\n".join(lines)

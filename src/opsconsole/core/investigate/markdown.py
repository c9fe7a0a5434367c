"""An investigation's findings as Markdown for a chat channel."""

from __future__ import annotations

from collections.abc import Sequence

from opsconsole.core.investigate.finding import Finding, Verdict
from opsconsole.core.investigate.inputs import clock_text

_MARK = {
    Verdict.INTERESTING: "❗",
    Verdict.OK: "✅",
    Verdict.SKIPPED: "⏭",
    Verdict.ERROR: "⚠",
}


def _value_text(value: float | str) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def findings_markdown(service: str, findings: Sequence[Finding], now: float) -> str:
    """A heading, then one bullet per finding (verdict, check, sentence) with its evidence."""
    lines = [f"### Investigation: {service} at {clock_text(now)} UTC", ""]
    for f in findings:
        lines.append(f"- {_MARK[f.verdict]} **{f.check}** ({f.verdict.value}): {f.sentence}")
        ev = f.evidence
        if f.verdict is not Verdict.INTERESTING:
            continue
        if ev.values:
            shown = ", ".join(f"{k} = {_value_text(v)}" for k, v in ev.values.items())
            lines.append(f"  - values: {shown}")
        if ev.thresholds:
            shown = ", ".join(f"{k} = {v:g}" for k, v in ev.thresholds.items())
            lines.append(f"  - thresholds: {shown}")
        if ev.time_range:
            lo, hi = ev.time_range
            lines.append(f"  - time range: {clock_text(lo)}–{clock_text(hi)} UTC")
        if ev.query:
            lines.append(f"  - query: `{ev.query}`")
        if ev.entry_ids:
            lines.append(f"  - timeline entries: {', '.join(map(str, ev.entry_ids))}")
    return "\n".join(lines) + "\n"

"""The deploy decision written as Markdown for a chat channel, every input with its formula."""

from __future__ import annotations

from opsconsole.core.slo.assess import Assessment
from opsconsole.core.slo.figure import Figure, percent_text


def input_rows(a: Assessment) -> tuple[tuple[str, Figure], ...]:
    """The decision's inputs in the order the card and the Markdown list them."""
    return (
        ("Hours since deploy", a.hours_since),
        ("Baseline error rate (before)", a.baseline),
        ("Current error rate (since)", a.current),
        ("Budget burned since deploy", a.burned_since),
        ("Budget remaining", a.remaining),
        ("Projected budget use", a.projection),
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def assessment_markdown(a: Assessment) -> str:
    """The card as Markdown: headline, summary, inputs table, reason and next steps."""
    d, slo = a.deploy, a.obs.slo
    was = f" (was {d.prev_version})" if d.prev_version else ""
    lines = [
        f"### Deploy assessment: {d.service} {d.version}{was} — **{a.recommendation.value}**",
        "",
        f"SLO {percent_text(slo.objective, 3)} over a {slo.window.words} window "
        f"(error budget {percent_text(slo.budget, 3)}).",
        "",
        *(f"> {line}" for line in a.summary()),
        "",
        "| Input | Value | How |",
        "|---|---|---|",
        *(
            f"| {name} | {_cell(fig.text)} | {_cell(fig.formula)}: {_cell(fig.inputs)} |"
            for name, fig in input_rows(a)
        ),
        "",
        f"**Why:** {a.reason}",
        "",
        "**Next steps:**",
        *(f"{i}. {step}" for i, step in enumerate(a.next_steps, start=1)),
    ]
    return "\n".join(lines) + "\n"
